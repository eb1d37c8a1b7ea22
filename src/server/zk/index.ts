/**
 * The ZooKeeper 3.8 client port: existing ZooKeeper clients talk to statekeeper unchanged.
 * See README.md in this folder for what is mirrored from ZooKeeper and what is not.
 */
export { ZkServer, type ZkServerOptions, type ZkStatsProvider } from './server.js';
export type { ZkSaslOptions } from './connection.js';
export {
  DigestMd5Server,
  SaslError,
  digestMd5ClientResponse,
  digestResponseValue,
  parseDirectives,
  ZOOKEEPER_SASL_PROTOCOL,
  ZOOKEEPER_SASL_SERVER_NAME,
  type DigestMd5Step,
} from './digest-md5.js';
export { DEFAULT_SERVER_SECTION, DIGEST_LOGIN_MODULE, JaasError, jaasServerUsers, parseJaasConfig, type LoginModuleEntry } from './jaas.js';
export { consensusStatsProvider, type ConsensusStatsOptions } from './provider.js';
export { silentZkLogger, stderrZkLogger, type ZkServerLogger } from './logger.js';
export {
  IMPLEMENTED_FOUR_LETTER_WORDS,
  ZK_NOT_SERVING,
  notWhitelistedReply,
  parseFourLetterWhitelist,
  type StatEntry,
} from './fourletter.js';
export { planRequest, replyOf, LAST_OP_NAME, type RequestPlan, type ServicePlan } from './requests.js';
export * from './limits.js';
