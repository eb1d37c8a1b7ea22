/** Real-time plumbing for nodes outside the simulator: timers, clocks, an in-process network. */
import type { NetworkScheduler } from '../bus/memory.js';
import type { NodeTimings } from './node.js';

/** Timings for real clocks: fast enough for in-process ensembles, tolerant of GC pauses. */
export const REALTIME_TIMINGS: NodeTimings = Object.freeze({
  electionTimeoutMinMs: 300,
  electionTimeoutMaxMs: 600,
  heartbeatIntervalMs: 75,
  retransmitMs: 150,
  maxInflightEntries: 16,
  maxBatchCommands: 256,
  learnRetryMs: 150,
  maxLearnBatchEntries: 512,
});

export const realClock = {
  setTimeout: (fn: (...args: any[]) => void, ms: number): unknown => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (id: unknown): void => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** Delivery on the event loop: a zero delay is the next turn (setImmediate), never reentrant. */
export const realtimeNetwork: NetworkScheduler = {
  schedule: (delayMs, fn) => (delayMs <= 0 ? setImmediate(fn) : setTimeout(fn, delayMs)),
};
