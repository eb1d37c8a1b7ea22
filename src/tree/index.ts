/**
 * The znode tree: ZooKeeper 3.8's data tree, sessions table and watch manager.
 *
 * - {@link DataTree}: the replicated state machine (`apply`), reads with ACL checks, snapshots, digest.
 * - {@link WatchManager}: per-server watches, fed with the `triggers` that `apply` returns.
 * - ACL helpers (`digestId`, `digestAuthIds`, `checkAcl`, ...) and path rules (`pathError`, ...).
 */
export {
  DataTree,
  type ApplyContext,
  type ApplyResult,
  type DataTreeOptions,
  type OpResult,
  type ReadResult,
  type SessionInfo,
  type WatchTrigger,
} from './tree.js';
export { MAX_TTL_MS } from './ops.js';
export { WatchManager, type NodeLookup, type WatchNotification, type WatchSet } from './watches.js';
export {
  BUILTIN_AUTH_PROVIDERS,
  checkAcl,
  digestAuthIds,
  digestId,
  fixupAcl,
  generateDigest,
  ipMatches,
  isSuperUser,
  isValidSaslId,
  redactDigests,
  Scheme,
  SUPER_ID,
  WORLD_ANYONE,
  zooKeeperAuthInfoOrder,
  type AuthProviders,
  type FixupResult,
} from './acl.js';
export {
  ancestorsOf,
  CONFIG_PATH,
  isValidPath,
  pathError,
  QUOTA_PATH,
  ROOT_PATH,
  SEQUENTIAL_SUFFIX_DIGITS,
  sequenceSuffix,
  SPECIAL_PATHS,
  splitPath,
  ZOOKEEPER_PATH,
} from './path.js';
export { SNAPSHOT_FORMAT_VERSION, SNAPSHOT_STEP_NODES, SnapshotEncoder } from './snapshot.js';
export type * from './txn.js';
