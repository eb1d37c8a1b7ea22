/**
 * Plumbing shared by the recipes (not exported from the package): retries after a lost
 * connection, Curator's "protected" sequential nodes, ordering by sequence number, and waits that
 * end on a wake-up, a deadline, an abort signal or the end of the session.
 */
import { randomUUID } from 'node:crypto';
import type { Stat } from '../../protocol/zookeeper.js';
import { ErrorCode } from '../../protocol/zookeeper.js';
import type { CreateModeName, SessionState, ZooKeeperClient } from '../client.js';
import { ConnectionLossError, KeeperError, NodeExistsError, NoNodeError, SessionExpiredError } from '../errors.js';

/**
 * Attempts of one recipe step that failed with ConnectionLoss. The client waits for its
 * reconnection before it sends again, so each retry follows a move to another server.
 */
export const MAX_CONNECTION_LOSS_RETRIES = 8;
/** Digits of the suffix ZooKeeper appends to a sequential node (String.format("%010d")). */
export const SEQUENCE_DIGITS = 10;
/** Curator's protection marker `_c_<uuid>-`: finds our own node again after a lost create response. */
const PROTECTED_PREFIX = '_c_';
const MARKER_LENGTH = PROTECTED_PREFIX.length + 36 + 1;

/** A recipe's wait (acquire, take, enter, await leadership) ran past its `timeoutMs`. */
export class RecipeTimeoutError extends Error {
  constructor(what: string, timeoutMs: number | undefined) {
    super(`${what}: timed out after ${timeoutMs ?? '?'} ms`);
    this.name = 'RecipeTimeoutError';
  }
}

/** Options of every blocking recipe call. */
export interface WaitOptions {
  /** Give up after this long: the call rejects with RecipeTimeoutError. */
  readonly timeoutMs?: number;
  /** Give up when aborted: the call rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export const isSessionEnd = (state: SessionState): boolean => state === 'expired' || state === 'closed';

export function sessionEndError(path?: string): SessionExpiredError {
  return new SessionExpiredError(ErrorCode.SESSIONEXPIRED, path);
}

/** A request whose answer says the session is gone (a closed client's calls say so too). */
export const isSessionGone = (err: unknown): boolean => err instanceof KeeperError && err.code === ErrorCode.SESSIONEXPIRED;

export async function retryOnConnectionLoss<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof ConnectionLossError) || attempt >= MAX_CONNECTION_LOSS_RETRIES) throw err;
    }
  }
}

export const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
export const join = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** Create `path` and its missing ancestors as persistent nodes (Curator's creatingParentsIfNeeded). */
export async function ensurePath(client: ZooKeeperClient, path: string): Promise<void> {
  if ((await retryOnConnectionLoss(() => client.exists(path))) !== null) return;
  let prefix = '';
  for (const part of path.split('/').slice(1)) {
    prefix += `/${part}`;
    try {
      await retryOnConnectionLoss(() => client.create(prefix));
    } catch (err) {
      if (!(err instanceof NodeExistsError)) throw err;
    }
  }
}

/** The sequence number of a sequential node's name. */
export const sequenceOf = (name: string): number => Number(name.slice(-SEQUENCE_DIGITS));

/** Sequential children in sequence order (names of other shapes are left out). */
export function sortBySequence(names: readonly string[]): string[] {
  return names.filter((n) => /^(-\d{9}|\d{10})$/.test(n.slice(-SEQUENCE_DIGITS))).sort((a, b) => sequenceOf(a) - sequenceOf(b));
}

/** The protection marker of a name made by createProtected. */
export const markerOf = (name: string): string => name.slice(0, MARKER_LENGTH);

/**
 * Create `dir/_c_<uuid>-<prefix><sequence>`. If the response is lost (ConnectionLoss) the node
 * may exist anyway: after a sync, the marker finds it, so a retry never leaves a second node.
 */
export async function createProtected(
  client: ZooKeeperClient,
  dir: string,
  prefix: string,
  data: Uint8Array | string,
  mode: CreateModeName,
): Promise<{ path: string; stat: Stat }> {
  const marker = `${PROTECTED_PREFIX}${randomUUID()}-`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.create2(join(dir, marker + prefix), data, { mode });
    } catch (err) {
      if (err instanceof NoNodeError && attempt < MAX_CONNECTION_LOSS_RETRIES) {
        await ensurePath(client, dir);
        continue;
      }
      if (!(err instanceof ConnectionLossError) || attempt >= MAX_CONNECTION_LOSS_RETRIES) throw err;
      // The new server may lag the one that took the create: catch it up before looking.
      await retryOnConnectionLoss(() => client.sync(dir));
      const siblings = await retryOnConnectionLoss(() => client.getChildren(dir)).catch((e: unknown) => (e instanceof NoNodeError ? [] : Promise.reject(e)));
      const mine = siblings.find((n) => n.startsWith(marker));
      const stat = mine === undefined ? null : await retryOnConnectionLoss(() => client.exists(join(dir, mine)));
      if (mine !== undefined && stat !== null) return { path: join(dir, mine), stat };
    }
  }
}

/** Delete, treating "already gone" and "session gone" (ephemerals went with it) as done. */
export async function deleteQuietly(client: ZooKeeperClient, path: string, version = -1): Promise<void> {
  try {
    await retryOnConnectionLoss(() => client.delete(path, version));
  } catch (err) {
    if (!(err instanceof NoNodeError) && !isSessionGone(err)) throw err;
  }
}

/** A one-shot wake-up a watcher can fire. */
export interface Signal {
  readonly promise: Promise<void>;
  readonly fire: () => void;
}
export function signal(): Signal {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

export const deadlineOf = (timeoutMs: number | undefined): number | undefined => (timeoutMs === undefined ? undefined : Date.now() + timeoutMs);

/**
 * Wait for `wake`. Resolves true when woken, false once `deadlineMs` passes; rejects when the
 * session ends (SessionExpiredError) or `abort` fires (its reason). Cleans up after itself.
 */
export function waitFor(client: ZooKeeperClient, wake: Promise<unknown>, deadlineMs: number | undefined, abort?: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      offState();
      abort?.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = (): void => finish(() => reject(abort?.reason));
    const offState = client.onStateChange((state) => {
      if (isSessionEnd(state)) finish(() => reject(sessionEndError()));
    });
    if (isSessionEnd(client.state)) return finish(() => reject(sessionEndError()));
    if (abort?.aborted) return onAbort();
    abort?.addEventListener('abort', onAbort);
    if (deadlineMs !== undefined) timer = setTimeout(() => finish(() => resolve(false)), Math.max(0, deadlineMs - Date.now()));
    wake.then(() => finish(() => resolve(true)), (err: unknown) => finish(() => reject(err)));
  });
}

/** Watch a node of ours until it is deleted (a one-shot data watch, re-armed on data changes). */
export function watchUntilDeleted(client: ZooKeeperClient, path: string): Promise<void> {
  const gone = signal();
  const arm = (attempt: number): void => {
    client
      .exists(path, (event) => (event.name === 'NodeDeleted' ? gone.fire() : arm(1)))
      .then((stat) => (stat === null ? gone.fire() : undefined))
      .catch((err: unknown) => {
        // Session gone: the node went with it. Connection lost before the watch was set: set it again.
        if (isSessionGone(err)) gone.fire();
        else if (err instanceof ConnectionLossError && attempt < MAX_CONNECTION_LOSS_RETRIES) arm(attempt + 1);
      });
  };
  arm(1);
  return gone.promise;
}
