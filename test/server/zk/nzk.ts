/**
 * node-zookeeper-client (CommonJS, untyped) seen through the parts these tests use, with promise
 * wrappers that resolve to `{ error, value }` so a test can assert on the library's own error codes.
 */
import { createRequire } from 'node:module';

export interface NzkStat {
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: Buffer;
  dataLength: number;
  numChildren: number;
  czxid: Buffer;
  mzxid: Buffer;
  pzxid: Buffer;
}

export interface NzkException extends Error {
  getCode(): number;
  getName(): string;
  code: number;
}

export interface NzkEvent {
  getType(): number;
  getName(): string;
  getPath(): string;
}

export interface NzkState {
  getName(): string;
  getCode(): number;
}

export interface NzkAclEntry {
  permission: number;
  id: { scheme: string; id: string };
}

export interface NzkTransaction {
  create(path: string, data?: Buffer | null, acls?: unknown[], mode?: number): NzkTransaction;
  setData(path: string, data: Buffer | null, version?: number): NzkTransaction;
  check(path: string, version?: number): NzkTransaction;
  remove(path: string, version?: number): NzkTransaction;
  commit(cb: (error: NzkException | null, results: Array<{ type: number; path?: string; stat?: NzkStat; err?: number }>) => void): void;
}

type Watcher = (event: NzkEvent) => void;

export interface NzkClient {
  connect(): void;
  close(): void;
  on(event: 'state', listener: (state: NzkState) => void): void;
  once(event: 'connected' | 'disconnected' | 'expired' | 'authenticationFailed', listener: () => void): void;
  getState(): NzkState;
  getSessionId(): Buffer;
  getSessionPassword(): Buffer;
  getSessionTimeout(): number;
  addAuthInfo(scheme: string, auth: Buffer): void;
  create(path: string, data: Buffer | null, acls: unknown[], mode: number, cb: (error: NzkException | null, path: string) => void): void;
  remove(path: string, version: number, cb: (error: NzkException | null) => void): void;
  removeRecursive(path: string, version: number, cb: (error: NzkException | null) => void): void;
  exists(path: string, watcher: Watcher | undefined, cb: (error: NzkException | null, stat: NzkStat | null) => void): void;
  getData(path: string, watcher: Watcher | undefined, cb: (error: NzkException | null, data: Buffer | null, stat: NzkStat) => void): void;
  setData(path: string, data: Buffer | null, version: number, cb: (error: NzkException | null, stat: NzkStat) => void): void;
  getChildren(path: string, watcher: Watcher | undefined, cb: (error: NzkException | null, children: string[], stat: NzkStat) => void): void;
  getACL(path: string, cb: (error: NzkException | null, acls: NzkAclEntry[], stat: NzkStat) => void): void;
  setACL(path: string, acls: unknown[], version: number, cb: (error: NzkException | null, stat: NzkStat) => void): void;
  listSubTreeBFS(path: string, cb: (error: NzkException | null, children: string[]) => void): void;
  mkdirp(path: string, data: Buffer | null, acls: unknown[], mode: number, cb: (error: NzkException | null, path: string) => void): void;
  transaction(): NzkTransaction;
}

export interface NzkModule {
  createClient(connectionString: string, options?: { sessionTimeout?: number; spinDelay?: number; retries?: number }): NzkClient;
  ACL: (new (permission: number, id: unknown) => unknown) & { OPEN_ACL_UNSAFE: unknown[]; CREATOR_ALL_ACL: unknown[]; READ_ACL_UNSAFE: unknown[] };
  Id: new (scheme: string, id: string) => unknown;
  Permission: { READ: number; WRITE: number; CREATE: number; DELETE: number; ADMIN: number; ALL: number };
  CreateMode: { PERSISTENT: number; PERSISTENT_SEQUENTIAL: number; EPHEMERAL: number; EPHEMERAL_SEQUENTIAL: number };
  Event: { NODE_CREATED: number; NODE_DELETED: number; NODE_DATA_CHANGED: number; NODE_CHILDREN_CHANGED: number };
  State: Record<'DISCONNECTED' | 'SYNC_CONNECTED' | 'AUTH_FAILED' | 'EXPIRED', NzkState>;
  Exception: Record<
    | 'OK'
    | 'NO_NODE'
    | 'NODE_EXISTS'
    | 'BAD_VERSION'
    | 'NOT_EMPTY'
    | 'NO_AUTH'
    | 'NO_CHILDREN_FOR_EPHEMERALS'
    | 'BAD_ARGUMENTS'
    | 'INVALID_ACL'
    | 'SESSION_EXPIRED'
    | 'CONNECTION_LOSS'
    | 'AUTH_FAILED'
    | 'RUNTIME_INCONSISTENCY'
    | 'UNIMPLEMENTED',
    number
  >;
}

const require = createRequire(import.meta.url);
export const nzk = require('node-zookeeper-client') as NzkModule;

/** An outcome: the library's error (null on success) and the callback's values. */
export interface Outcome<T> {
  readonly error: NzkException | null;
  readonly value: T;
}

/** Calls a callback-style method and resolves with its error and first value. */
export function call<T>(fn: (cb: (error: NzkException | null, value: T) => void) => void): Promise<Outcome<T>> {
  return new Promise((resolve) => fn((error, value) => resolve({ error, value })));
}

/** Like {@link call}, for callbacks with two values. */
export function call2<A, B>(fn: (cb: (error: NzkException | null, a: A, b: B) => void) => void): Promise<Outcome<[A, B]>> {
  return new Promise((resolve) => fn((error, a, b) => resolve({ error, value: [a, b] })));
}

/** Resolves with the value or throws the library's error (for steps that must succeed). */
export async function ok<T>(outcome: Promise<Outcome<T>>): Promise<T> {
  const { error, value } = await outcome;
  if (error !== null) throw new Error(`unexpected ZooKeeper error ${error.getName?.() ?? error.message} (${error.code})`);
  return value;
}

/** Connects a client and resolves once it is connected (rejects if it expires or fails auth first). */
export function connectClient(connectionString: string, options: { sessionTimeout?: number; spinDelay?: number } = {}): Promise<NzkClient> {
  const client = nzk.createClient(connectionString, { spinDelay: 50, retries: 0, ...options });
  return new Promise((resolve, reject) => {
    client.once('connected', () => resolve(client));
    client.once('expired', () => reject(new Error('session expired while connecting')));
    client.connect();
  });
}

/** The session id as a bigint (the library keeps it as an 8-byte Buffer). */
export function sessionIdOf(client: NzkClient): bigint {
  return client.getSessionId().readBigInt64BE(0);
}

/** Resolves with the next state the client enters that satisfies `accept`. */
export function nextState(client: NzkClient, accept: (state: NzkState) => boolean): Promise<NzkState> {
  return new Promise((resolve) => {
    const listener = (state: NzkState): void => {
      if (accept(state)) resolve(state);
    };
    client.on('state', listener);
  });
}

/** A one-shot watcher that resolves with the event it receives, and counts how often it fired. */
export function watcher(): { fn: Watcher; fired: Promise<NzkEvent>; count: () => number } {
  let resolve: (event: NzkEvent) => void = () => undefined;
  let count = 0;
  const fired = new Promise<NzkEvent>((r) => (resolve = r));
  return {
    fn: (event) => {
      count++;
      resolve(event);
    },
    fired,
    count: () => count,
  };
}
