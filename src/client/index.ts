/** statekeeper/client — the embedded ensemble, the promise-based client, and recipes. */
export { EmbeddedEnsemble } from './ensemble.js';
export type { EmbeddedEnsembleOptions, EmbeddedServer } from './ensemble.js';
export { ZooKeeperClient, MultiError, op } from './client.js';
export type { ConnectOptions, CreateModeName, CreateOptions, Op, SessionState, WatchedEvent, Watcher } from './client.js';
export * from './errors.js';
export { OPEN_ACL_UNSAFE, CREATOR_ALL_ACL, READ_ACL_UNSAFE, Perms, ErrorCode, EventType } from '../protocol/zookeeper.js';
export type { Acl, AclId, Stat } from '../protocol/zookeeper.js';
export { digestId } from '../tree/index.js';
export * from './recipes/index.js';
