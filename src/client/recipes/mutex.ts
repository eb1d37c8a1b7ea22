/**
 * The mutex behind Lock and both halves of ReadWriteLock (Curator's InterProcessMutex): a turn
 * among ephemeral sequential nodes, reentrant for the same instance, with a fencing token and
 * loss detection.
 */
import type { ZooKeeperClient } from '../client.js';
import { deadlineOf, deleteQuietly, isSessionEnd, isSessionGone, RecipeTimeoutError, retryOnConnectionLoss, sessionEndError, waitFor } from './internal.js';
import type { WaitOptions } from './internal.js';
import { takeTurn } from './turn.js';
import type { Decide } from './turn.js';

/** Why a held lock was lost: its session expired or was closed, or its node was deleted under a live session. */
export type LockLossReason = 'expired' | 'closed' | 'deleted';

export interface LockOptions {
  /**
   * Called once, asynchronously, when the lock is lost while held (not on release). `isHeld` turns
   * false first, at the moment the loss is seen; the reason may take one round trip to establish.
   */
  readonly onLost?: (reason: LockLossReason) => void;
  /** Stored in the lock node, for whoever inspects the contenders. */
  readonly data?: Uint8Array | string;
}

export interface LockGrant {
  /**
   * The czxid of this holder's lock node: strictly larger for every later holder, so a protected
   * resource that remembers the largest token it has seen can refuse a stale holder.
   */
  readonly fencingToken: bigint;
}

export class SequentialMutex {
  private holds = 0;
  private held: { path: string; token: bigint } | undefined;
  private lostSinceAcquire = false;
  private attempt: Promise<unknown> | undefined;
  private stopLossWatch: (() => void) | undefined;

  constructor(
    readonly client: ZooKeeperClient,
    /** The parent of the contenders' nodes. */
    readonly path: string,
    private readonly prefix: string,
    private readonly decide: Decide,
    private readonly options: LockOptions = {},
  ) {}

  /** True from a successful acquire until the matching release, or until the lock is lost. */
  get isHeld(): boolean {
    return this.holds > 0;
  }
  /** The current holder's fencing token, while held. */
  get fencingToken(): bigint | undefined {
    return this.held?.token;
  }
  /** This holder's node, while held. */
  get nodePath(): string | undefined {
    return this.held?.path;
  }

  /**
   * Wait until this instance holds the lock. Reentrant: an instance that holds it counts one more
   * hold (release once per acquire). Rejects with RecipeTimeoutError after `timeoutMs`, with
   * SessionExpiredError if the session ends first.
   */
  async acquire(options: WaitOptions = {}): Promise<LockGrant> {
    const deadline = deadlineOf(options.timeoutMs);
    // One attempt per instance at a time: a concurrent acquire joins it as a reentrant hold.
    while (this.attempt !== undefined) {
      if (!(await waitFor(this.client, this.attempt.catch(() => undefined), deadline, options.signal))) {
        throw new RecipeTimeoutError(`acquire ${this.path}`, options.timeoutMs);
      }
    }
    if (this.held !== undefined) {
      this.holds++;
      return { fencingToken: this.held.token };
    }
    const remainingMs = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
    const attempt = this.takeTurn({ ...options, ...(remainingMs === undefined ? {} : { timeoutMs: remainingMs }) });
    this.attempt = attempt;
    try {
      return await attempt;
    } finally {
      this.attempt = undefined;
    }
  }

  /** Give back one hold; the last one deletes the node. A lock already lost resolves quietly. */
  async release(): Promise<void> {
    if (this.held === undefined) {
      if (this.lostSinceAcquire) return;
      throw new Error(`lock ${this.path} is not held by this instance`);
    }
    if (--this.holds > 0) return;
    const { path } = this.held;
    this.held = undefined;
    this.stopLossWatch?.();
    await deleteQuietly(this.client, path);
  }

  private async takeTurn(options: WaitOptions): Promise<LockGrant> {
    const turn = await takeTurn(this.client, this.path, this.prefix, this.decide, this.options.data ?? '', options, `acquire ${this.path}`);
    if (isSessionEnd(this.client.state)) throw sessionEndError(this.path);
    this.held = { path: turn.path, token: turn.token };
    this.holds = 1;
    this.lostSinceAcquire = false;
    let notified = false;
    const notify = (reason: LockLossReason): void => {
      if (notified) return;
      notified = true;
      // Out of the client's state-change loop: a throwing callback must not starve other listeners.
      queueMicrotask(() => this.options.onLost?.(reason));
    };
    /** Drop the hold at once; false if it was released (or dropped) already. */
    const drop = (): boolean => {
      if (this.held?.path !== turn.path) return false;
      this.stopLossWatch?.();
      this.held = undefined;
      this.holds = 0;
      this.lostSinceAcquire = true;
      return true;
    };
    this.stopLossWatch = this.client.onStateChange((state) => {
      if (isSessionEnd(state) && drop()) notify(state === 'closed' ? 'closed' : 'expired');
    });
    // The node is watched as well: it can vanish before the client hears its session ended (the
    // node goes in the same transaction), or be deleted by someone else under a live session. The
    // reason comes from asking the server whether the session still lives.
    void turn.gone.then(async () => {
      if (drop()) notify(await lossReason(this.client));
    });
    return { fencingToken: turn.token };
  }
}

/** Why our node vanished: the session ended (closed or expired), or it was deleted under a live session. */
async function lossReason(client: ZooKeeperClient): Promise<LockLossReason> {
  if (!isSessionEnd(client.state)) {
    try {
      await retryOnConnectionLoss(() => client.exists('/'));
      return 'deleted';
    } catch (err) {
      if (!isSessionGone(err)) return 'deleted';
    }
  }
  // The client may not have moved to 'expired' itself: the server saying so is enough.
  return client.state === 'closed' ? 'closed' : 'expired';
}
