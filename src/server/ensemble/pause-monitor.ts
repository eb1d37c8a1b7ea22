/**
 * Notices when the event loop was held long enough to matter to the protocol, and says how much of
 * it was garbage collection: ZooKeeper's JvmPauseMonitor for a Node.js server. A server's heartbeat
 * is at most 75 ms and its election timeout 300–600 ms (timings.ts), so a pause of a few hundred ms
 * on a leader can cost an election; the log line tells an operator whether the heap (GC) or the
 * work done on the loop held it.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import type { Logger } from 'pino';

/** How often the monitor looks at the clock. */
export const PAUSE_CHECK_INTERVAL_MS = 100;
/** Pauses from this long on are logged. */
export const PAUSE_LOG_THRESHOLD_MS = 200;

export class PauseMonitor {
  private readonly timer: NodeJS.Timeout;
  private readonly gc: PerformanceObserver;
  private gcMsSinceCheck = 0;
  private longestGcMs = 0;
  private lastCheckMs = performance.now();

  constructor(
    private readonly logger: Logger,
    private readonly onPause?: (pauseMs: number, gcMs: number) => void,
  ) {
    this.gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.gcMsSinceCheck += entry.duration;
        this.longestGcMs = Math.max(this.longestGcMs, entry.duration);
      }
    });
    this.gc.observe({ entryTypes: ['gc'] });
    this.timer = setInterval(() => this.check(), PAUSE_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** A pause seen at the last check, logged at this one: GC entries reach the observer late. */
  private pendingPauseMs = 0;

  private check(): void {
    const now = performance.now();
    const pauseMs = now - this.lastCheckMs - PAUSE_CHECK_INTERVAL_MS;
    this.lastCheckMs = now;
    if (this.pendingPauseMs > 0) {
      const gcMs = Math.round(this.gcMsSinceCheck);
      const paused = Math.round(this.pendingPauseMs);
      this.logger.warn(
        { event: 'event-loop-pause', pauseMs: paused, gcMs, longestGcMs: Math.round(this.longestGcMs) },
        `event loop held for about ${paused} ms (${gcMs} ms of garbage collection around it, longest ${Math.round(this.longestGcMs)} ms)`,
      );
      this.onPause?.(paused, gcMs);
      this.pendingPauseMs = 0;
      this.gcMsSinceCheck = 0;
      this.longestGcMs = 0;
    }
    if (pauseMs >= PAUSE_LOG_THRESHOLD_MS) this.pendingPauseMs = pauseMs;
    else {
      this.gcMsSinceCheck = 0;
      this.longestGcMs = 0;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.gc.disconnect();
  }
}
