/**
 * Leader election that runs a task while leader (Curator's LeaderSelector): participants take a
 * Lock in turn; the holder runs `lead(signal)`, and leadership is relinquished when that returns.
 * The signal aborts when leadership is in doubt or gone: the connection is lost, the session
 * ends, the lock node vanishes, `relinquish()` or `close()` is called. The task should then stop
 * promptly (Curator's CancelLeadershipException); with `autoRequeue` the participant queues up again.
 */
import type { ZooKeeperClient } from '../client.js';
import { isSessionEnd, isSessionGone } from './internal.js';
import { Lock } from './lock.js';

export interface LeaderElectionOptions {
  /** Queue up again after each term (default false: lead at most once). */
  readonly autoRequeue?: boolean;
  /** Errors thrown by `lead` or met while contending (other than the session ending). */
  readonly onError?: (err: unknown) => void;
}

/** The task a leader runs; `signal` aborts when it must stop. `fencingToken` is its lock's. */
export type LeadTask = (signal: AbortSignal, fencingToken: bigint) => Promise<void>;

export class LeaderElection {
  private readonly lock: Lock;
  private term: AbortController | undefined;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    private readonly lead: LeadTask,
    private readonly options: LeaderElectionOptions = {},
  ) {
    this.lock = new Lock(client, path, { onLost: () => this.term?.abort(new Error('leadership lost')) });
  }

  get hasLeadership(): boolean {
    return this.term !== undefined && !this.term.signal.aborted;
  }

  /** Start contending in the background. */
  start(): void {
    if (this.running !== undefined) throw new Error(`leader election ${this.path} already started`);
    this.running = this.run();
  }

  /** End the current term (abort its signal); with autoRequeue the participant contends again. */
  relinquish(): void {
    this.term?.abort(new Error('leadership relinquished'));
  }

  /** Stop contending: aborts the current term and resolves once its task returned and the lock is released. */
  async close(): Promise<void> {
    this.stopping.abort(new Error('leader election closed'));
    this.term?.abort(this.stopping.signal.reason);
    await this.running;
  }

  private async run(): Promise<void> {
    do {
      try {
        const { fencingToken } = await this.lock.acquire({ signal: this.stopping.signal });
        await this.serveTerm(fencingToken);
      } catch (err) {
        // The server may say the session is gone before the client does (expired by its leader).
        if (isSessionGone(err)) return;
        if (!this.stopping.signal.aborted && !isSessionEnd(this.client.state)) this.options.onError?.(err);
      }
    } while (this.options.autoRequeue === true && !this.stopping.signal.aborted && !isSessionEnd(this.client.state));
  }

  private async serveTerm(fencingToken: bigint): Promise<void> {
    const term = new AbortController();
    this.term = term;
    const offState = this.client.onStateChange((state) => {
      if (state !== 'connected') term.abort(new Error(`leadership in doubt: session ${state}`));
    });
    try {
      if (this.stopping.signal.aborted) term.abort(this.stopping.signal.reason);
      await this.lead(term.signal, fencingToken);
    } catch (err) {
      if (!term.signal.aborted) this.options.onError?.(err);
    } finally {
      term.abort(new Error('term over'));
      offState();
      this.term = undefined;
      await this.lock.release();
    }
  }
}
