/** Typed errors for ZooKeeper's error codes, so callers can `instanceof` what they handle. */
import { ErrorCode, errorName } from '../protocol/zookeeper.js';

export class KeeperError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly path: string | undefined;
  constructor(code: number, path?: string) {
    const name = errorName.get(code) ?? `UNKNOWN(${code})`;
    super(path === undefined ? `${name} (${code})` : `${name} (${code}) for ${path}`);
    this.name = 'KeeperError';
    this.code = code;
    this.codeName = name;
    this.path = path;
  }
}

export class NoNodeError extends KeeperError {}
export class NodeExistsError extends KeeperError {}
export class BadVersionError extends KeeperError {}
export class NotEmptyError extends KeeperError {}
export class NoAuthError extends KeeperError {}
export class NoChildrenForEphemeralsError extends KeeperError {}
export class BadArgumentsError extends KeeperError {}
export class InvalidAclError extends KeeperError {}
/** The session is gone: its ephemerals are deleted and its watches will not fire again. */
export class SessionExpiredError extends KeeperError {}
/** The connection to a server was lost; the session may still be alive (the request may or may not have happened). */
export class ConnectionLossError extends KeeperError {}

const classes = new Map<number, new (code: number, path?: string) => KeeperError>([
  [ErrorCode.NONODE, NoNodeError],
  [ErrorCode.NODEEXISTS, NodeExistsError],
  [ErrorCode.BADVERSION, BadVersionError],
  [ErrorCode.NOTEMPTY, NotEmptyError],
  [ErrorCode.NOAUTH, NoAuthError],
  [ErrorCode.NOCHILDRENFOREPHEMERALS, NoChildrenForEphemeralsError],
  [ErrorCode.BADARGUMENTS, BadArgumentsError],
  [ErrorCode.INVALIDACL, InvalidAclError],
  [ErrorCode.SESSIONEXPIRED, SessionExpiredError],
  [ErrorCode.CONNECTIONLOSS, ConnectionLossError],
]);

export function keeperError(code: number, path?: string): KeeperError {
  const Class = classes.get(code) ?? KeeperError;
  return new Class(code, path);
}
