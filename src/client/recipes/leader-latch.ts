/**
 * Leader election as a latch (ZooKeeper's election recipe, Curator's LeaderLatch): every
 * participant keeps an ephemeral sequential node under the latch path; the lowest is the leader,
 * and each other participant watches only its predecessor.
 *
 * As in Curator's default error policy, leadership is dropped as soon as the connection is lost
 * (the session may be expiring unseen) and re-checked on reconnection; when the session ends the
 * latch stops for good. `onLeadershipChange` hears every change of `hasLeadership`.
 */
import type { ZooKeeperClient } from '../client.js';
import { NoNodeError } from '../errors.js';
import {
  basename,
  createProtected,
  deadlineOf,
  deleteQuietly,
  isSessionEnd,
  isSessionGone,
  join,
  RecipeTimeoutError,
  retryOnConnectionLoss,
  signal,
  sortBySequence,
  waitFor,
  watchUntilDeleted,
} from './internal.js';
import type { Signal, WaitOptions } from './internal.js';

export const LATCH_NODE_PREFIX = 'latch-';

export interface LeaderLatchOptions {
  /** Stored in our node: what `leaderId()` reports when we lead (default: the session id in hex). */
  readonly id?: string;
  readonly onLeadershipChange?: (hasLeadership: boolean) => void;
  /** Errors of the background checks (other than the session ending). */
  readonly onError?: (err: unknown) => void;
}

export type LatchState = 'latent' | 'started' | 'closed';

export class LeaderLatch {
  private leading = false;
  private stateValue: LatchState = 'latent';
  private ourPath: string | undefined;
  private checks: Promise<void> = Promise.resolve();
  private leadershipChanged: Signal = signal();
  private offState: (() => void) | undefined;
  private wasDisconnected = false;

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    private readonly options: LeaderLatchOptions = {},
  ) {}

  get hasLeadership(): boolean {
    return this.leading;
  }
  get state(): LatchState {
    return this.stateValue;
  }
  get id(): string {
    return this.options.id ?? this.client.sessionId.toString(16);
  }

  /** Join the election; resolves once our node exists and leadership has been checked. */
  async start(): Promise<void> {
    if (this.stateValue !== 'latent') throw new Error(`leader latch ${this.path} already ${this.stateValue}`);
    this.stateValue = 'started';
    this.offState = this.client.onStateChange((state) => {
      if (isSessionEnd(state)) void this.stop();
      else if (state === 'disconnected') {
        this.wasDisconnected = true;
        this.setLeadership(false);
      } else if (state === 'connected' && this.wasDisconnected) {
        this.wasDisconnected = false;
        this.schedule();
      }
    });
    this.schedule();
    await this.checks;
  }

  /** Resolve once we lead (RecipeTimeoutError after `timeoutMs`; SessionExpiredError if the session ends). */
  async awaitLeadership(options: WaitOptions = {}): Promise<void> {
    const deadline = deadlineOf(options.timeoutMs);
    while (!this.leading) {
      if (this.stateValue === 'closed') throw new Error(`leader latch ${this.path} is closed`);
      if (!(await waitFor(this.client, this.leadershipChanged.promise, deadline, options.signal))) {
        throw new RecipeTimeoutError(`await leadership ${this.path}`, options.timeoutMs);
      }
    }
  }

  /** The current leader's id (the data of the lowest node), or undefined if nobody participates. */
  async leaderId(): Promise<string | undefined> {
    for (const name of sortBySequence(await retryOnConnectionLoss(() => this.client.getChildren(this.path)))) {
      try {
        return new TextDecoder().decode((await retryOnConnectionLoss(() => this.client.getData(join(this.path, name)))).data);
      } catch (err) {
        if (!(err instanceof NoNodeError)) throw err;
      }
    }
    return undefined;
  }

  /** Leave the election: leadership ends before our node is deleted. */
  async close(): Promise<void> {
    const path = await this.stop();
    if (path !== undefined && !isSessionEnd(this.client.state)) await deleteQuietly(this.client, path);
  }

  private async stop(): Promise<string | undefined> {
    if (this.stateValue === 'closed') return undefined;
    this.stateValue = 'closed';
    this.offState?.();
    this.setLeadership(false);
    this.leadershipChanged.fire();
    await this.checks;
    const path = this.ourPath;
    this.ourPath = undefined;
    return path;
  }

  /** Checks run one at a time, in the order they were asked for. */
  private schedule(): void {
    this.checks = this.checks
      .then(() => this.check())
      .catch((err: unknown) => {
        // The server may say the session is gone before the client does (expired by its leader).
        if (isSessionGone(err)) void this.stop();
        else if (!isSessionEnd(this.client.state)) this.options.onError?.(err);
      });
  }

  private async check(): Promise<void> {
    if (this.stateValue !== 'started') return;
    const ours = this.ourPath === undefined ? undefined : basename(this.ourPath);
    let children = await this.children();
    if (ours !== undefined && !children.includes(ours)) {
      // After a move, the new server may lag the one that took our create: catch it up first.
      await retryOnConnectionLoss(() => this.client.sync(this.path));
      children = await this.children();
    }
    if (ours === undefined || !children.includes(ours)) return this.join();
    const sorted = sortBySequence(children);
    const index = sorted.indexOf(ours);
    if (index === 0) return this.setLeadership(this.client.state === 'connected');
    this.setLeadership(false);
    try {
      await retryOnConnectionLoss(() => this.client.getData(join(this.path, sorted[index - 1]!), () => this.schedule()));
    } catch (err) {
      if (!(err instanceof NoNodeError)) throw err;
      this.schedule(); // the predecessor went meanwhile: look again
    }
  }

  /** First start, or our node is gone while the session lives on (Curator's reset): join (again). */
  private async join(): Promise<void> {
    this.setLeadership(false);
    const created = await createProtected(this.client, this.path, LATCH_NODE_PREFIX, this.id, 'ephemeralSequential');
    this.ourPath = created.path;
    void watchUntilDeleted(this.client, created.path).then(() => {
      if (this.ourPath !== created.path) return;
      this.setLeadership(false);
      this.schedule();
    });
    return this.check();
  }

  private async children(): Promise<string[]> {
    try {
      return await retryOnConnectionLoss(() => this.client.getChildren(this.path));
    } catch (err) {
      if (err instanceof NoNodeError) return [];
      throw err;
    }
  }

  private setLeadership(leading: boolean): void {
    if (leading && this.stateValue !== 'started') return;
    if (this.leading === leading) return;
    this.leading = leading;
    const changed = this.leadershipChanged;
    this.leadershipChanged = signal();
    changed.fire();
    try {
      this.options.onLeadershipChange?.(leading);
    } catch (err) {
      this.options.onError?.(err);
    }
  }
}
