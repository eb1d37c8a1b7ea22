/**
 * How a server's protocol timings follow from ZooKeeper's tickTime.
 *
 * ZooKeeper notices a dead leader in two ways: at once when the leader's TCP connections close (a
 * killed process), and after syncLimit ticks of silence otherwise. statekeeper's election only has
 * the second kind — heartbeats and a randomized election timeout — so the timeout must be short in
 * absolute terms whatever tickTime says, or a kill -9 of the leader would cost syncLimit × tickTime
 * (10 s with ZooKeeper's sample config) instead of ZooKeeper's sub-second failover.
 *
 * | timing | value | tickTime 2000 (sample) / 3000 (default) | tickTime 1000 | tickTime ≤ 500 |
 * | --- | --- | --- | --- | --- |
 * | heartbeat | tickTime / 25, clamped to [20, 75] ms | 75 ms | 40 ms | 20 ms |
 * | election timeout | uniform in [4, 8) heartbeats | 300–600 ms | 160–320 ms | 80–160 ms |
 * | retransmit (prepare, accept, commit notice) | 2 heartbeats | 150 ms | 80 ms | 40 ms |
 * | learner retry | 2 heartbeats | 150 ms | 80 ms | 40 ms |
 *
 * So with the defaults a leader killed with SIGKILL is replaced after one election timeout plus
 * two round trips (pre-vote, vote) and phase 1: well under the 2 s budget. The 75 ms ceiling keeps
 * four missed heartbeats above a long GC pause or a busy two-core machine. initLimit is validated
 * but drives nothing: catching up is paced by the learner retry, and a lagging follower never blocks
 * the leader (it is simply not in the quorum that chooses). syncLimit drives no protocol timing
 * either; it bounds only how long a server in a pre-vote goes on serving clients for a leader it
 * has not heard from (KnownLeader in node-process.ts), as a ZooKeeper follower serves until
 * syncLimit ticks of silence.
 *
 * Session timeouts keep ZooKeeper's meaning exactly: negotiated into [2, 20] ticks unless
 * minSessionTimeout / maxSessionTimeout say otherwise.
 */
import type { NodeTimings } from '../../node/node.js';

/** Below this, timer and scheduling jitter on a busy machine would start needless elections. */
export const MIN_HEARTBEAT_MS = 20;
export const MAX_HEARTBEAT_MS = 75;
/** Heartbeats per tick (before clamping). */
export const HEARTBEATS_PER_TICK = 25;
export const ELECTION_TIMEOUT_MIN_HEARTBEATS = 4;
export const ELECTION_TIMEOUT_MAX_HEARTBEATS = 8;
export const RETRANSMIT_HEARTBEATS = 2;
/** Pipelined accepts in flight per leader (the realtime default). */
export const MAX_INFLIGHT_ENTRIES = 16;
/** Client commands batched into one log entry. */
export const MAX_BATCH_COMMANDS = 256;
/** Entries one LearnReply carries to a lagging node. */
export const MAX_LEARN_BATCH_ENTRIES = 512;

/** The node timings a server with this tickTime runs with (see the table above). */
export function deriveTimings(tickTimeMs: number): NodeTimings {
  if (!(tickTimeMs > 0)) throw new RangeError(`tickTime must be positive, got ${tickTimeMs}`);
  const heartbeatIntervalMs = Math.min(MAX_HEARTBEAT_MS, Math.max(MIN_HEARTBEAT_MS, Math.round(tickTimeMs / HEARTBEATS_PER_TICK)));
  return Object.freeze({
    heartbeatIntervalMs,
    electionTimeoutMinMs: ELECTION_TIMEOUT_MIN_HEARTBEATS * heartbeatIntervalMs,
    electionTimeoutMaxMs: ELECTION_TIMEOUT_MAX_HEARTBEATS * heartbeatIntervalMs,
    retransmitMs: RETRANSMIT_HEARTBEATS * heartbeatIntervalMs,
    learnRetryMs: RETRANSMIT_HEARTBEATS * heartbeatIntervalMs,
    maxInflightEntries: MAX_INFLIGHT_ENTRIES,
    maxBatchCommands: MAX_BATCH_COMMANDS,
    maxLearnBatchEntries: MAX_LEARN_BATCH_ENTRIES,
  });
}
