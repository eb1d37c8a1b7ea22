/**
 * Taking a turn among ephemeral sequential nodes, as ZooKeeper's lock recipe and Curator's
 * LockInternals do: create a node, and until `decide` says it holds, watch only the one node it
 * names (a predecessor), so a release wakes one waiter instead of the whole herd. Locks, the
 * read-write lock and the semaphore differ only in their `decide`.
 */
import { ErrorCode } from '../../protocol/zookeeper.js';
import type { ZooKeeperClient } from '../client.js';
import { NoNodeError } from '../errors.js';
import {
  basename,
  createProtected,
  deadlineOf,
  deleteQuietly,
  isSessionEnd,
  join,
  markerOf,
  RecipeTimeoutError,
  retryOnConnectionLoss,
  sessionEndError,
  signal,
  sortBySequence,
  waitFor,
  watchUntilDeleted,
} from './internal.js';
import type { WaitOptions } from './internal.js';

export type Decision = { readonly holds: true } | { readonly holds: false; readonly watch: string };
/** Given the children in sequence order and our node's name: do we hold, or whom do we watch? */
export type Decide = (sorted: readonly string[], ours: string) => Decision;

/** Curator's StandardLockInternalsDriver: the first `leases` nodes hold; a waiter watches the node `leases` places ahead. */
export const firstN =
  (leases: number): Decide =>
  (sorted, ours) => {
    const index = sorted.indexOf(ours);
    return index < leases ? { holds: true } : { holds: false, watch: sorted[index - leases]! };
  };

/** A turn taken: our node, its fencing token, and a promise that resolves when the node is gone. */
export interface Turn {
  readonly path: string;
  /** The czxid of our node: a zxid, so every later turn gets a larger one. */
  readonly token: bigint;
  /** Resolves when our node is deleted: released, its session ended, or removed by someone else. */
  readonly gone: Promise<void>;
}

/** Create our node under `dir` and wait for our turn; on timeout, abort or error the node is deleted. */
export async function takeTurn(
  client: ZooKeeperClient,
  dir: string,
  prefix: string,
  decide: Decide,
  data: Uint8Array | string,
  options: WaitOptions,
  what: string,
): Promise<Turn> {
  options.signal?.throwIfAborted();
  const deadline = deadlineOf(options.timeoutMs);
  const created = await createProtected(client, dir, prefix, data, 'ephemeralSequential');
  const gone = watchUntilDeleted(client, created.path);
  let holds: boolean;
  try {
    holds = await awaitTurn(client, dir, basename(created.path), decide, gone, deadline, options.signal);
  } catch (err) {
    await deleteQuietly(client, created.path).catch(() => undefined);
    throw err;
  }
  if (holds) return { path: created.path, token: created.stat.czxid, gone };
  await deleteQuietly(client, created.path);
  throw new RecipeTimeoutError(what, options.timeoutMs);
}

async function awaitTurn(
  client: ZooKeeperClient,
  dir: string,
  ours: string,
  decide: Decide,
  gone: Promise<void>,
  deadline: number | undefined,
  abort: AbortSignal | undefined,
): Promise<boolean> {
  for (;;) {
    let children = await retryOnConnectionLoss(() => client.getChildren(dir));
    if (!children.includes(ours)) {
      // After a move, the new server may lag the one that took our create: catch it up first.
      await retryOnConnectionLoss(() => client.sync(dir));
      children = await retryOnConnectionLoss(() => client.getChildren(dir));
      if (!children.includes(ours)) throw isSessionEnd(client.state) ? sessionEndError(dir) : new NoNodeError(ErrorCode.NONODE, join(dir, ours));
    }
    // A second node of ours (a create retried after a lost response) would block us forever.
    for (const name of children) if (name !== ours && markerOf(name) === markerOf(ours)) await deleteQuietly(client, join(dir, name));
    const decision = decide(sortBySequence(children), ours);
    if (decision.holds) return true;
    const changed = signal();
    try {
      // getData, not exists: a watch must not be left on a node that is already gone (Curator does the same).
      await retryOnConnectionLoss(() => client.getData(join(dir, decision.watch), changed.fire));
    } catch (err) {
      if (err instanceof NoNodeError) continue;
      throw err;
    }
    if (!(await waitFor(client, Promise.race([changed.promise, gone]), deadline, abort))) return false;
  }
}
