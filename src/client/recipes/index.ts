/**
 * Coordination recipes on the embedded client, after ZooKeeper's recipes page and Apache
 * Curator: locks with fencing tokens, leader election, barriers, queue, counter, semaphore,
 * group membership and caches. Every blocking call takes `{ timeoutMs, signal }` and rejects with
 * RecipeTimeoutError, the signal's reason, or SessionExpiredError when the session ends.
 */
export { Lock, LOCK_NODE_PREFIX } from './lock.js';
export { SequentialMutex } from './mutex.js';
export type { LockGrant, LockLossReason, LockOptions } from './mutex.js';
export { ReadWriteLock, READ_NODE_PREFIX, WRITE_NODE_PREFIX } from './read-write-lock.js';
export { LeaderLatch, LATCH_NODE_PREFIX } from './leader-latch.js';
export type { LatchState, LeaderLatchOptions } from './leader-latch.js';
export { LeaderElection } from './leader-election.js';
export type { LeadTask, LeaderElectionOptions } from './leader-election.js';
export { Barrier } from './barrier.js';
export { DoubleBarrier, READY_NODE } from './double-barrier.js';
export { Queue, ITEM_NODE_PREFIX } from './queue.js';
export { Counter, MAX_CAS_ATTEMPTS } from './counter.js';
export { Semaphore, LEASE_NODE_PREFIX } from './semaphore.js';
export type { Lease } from './semaphore.js';
export { GroupMembership } from './group-membership.js';
export type { Members } from './group-membership.js';
export { NodeCache } from './node-cache.js';
export type { CachedNode, NodeListener } from './node-cache.js';
export { TreeCache } from './tree-cache.js';
export type { TreeCacheEvent, TreeListener } from './tree-cache.js';
export { RecipeTimeoutError, MAX_CONNECTION_LOSS_RETRIES } from './internal.js';
export type { WaitOptions } from './internal.js';
