/**
 * ZooKeeper's quota bookkeeping (DataTree's pTrie, getMaxPrefixWithQuota, updateQuotaStat and
 * updateQuotaForPath in 3.8). `setquota` (a client-side command) creates
 * `/zookeeper/quota<path>/zookeeper_limits` and `.../zookeeper_stats`; from then on the server keeps
 * the stats node's data, `count=N,bytes=M`, equal to the number of nodes and data bytes in the
 * subtree at `<path>` (the innermost quota above a node is the one that counts). It changes the
 * data only: the stats node's version, mzxid and mtime stay, and no watch fires, as in ZooKeeper.
 * Quotas are not enforced (ZooKeeper enforces them only with zookeeper.enforceQuota=true).
 *
 * Every replica derives the same stats from the same log, so they are part of the replicated state
 * (and of the digest) like any other data.
 */
import { ROOT_PATH, QUOTA_PATH, splitPath } from './path.js';
import { patchRecord } from './node.js';
import type { NodeStore } from './store.js';

export const QUOTA_LIMIT_NODE = 'zookeeper_limits';
export const QUOTA_STAT_NODE = 'zookeeper_stats';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** For a limits node `/zookeeper/quota<root>/zookeeper_limits`, `<root>`; else null. */
export function quotaRootOfLimitNode(path: string): string | null {
  if (!path.endsWith(`/${QUOTA_LIMIT_NODE}`)) return null;
  const parent = path.slice(0, path.length - QUOTA_LIMIT_NODE.length - 1);
  // ZooKeeper compares the parent with startsWith, as a string.
  if (!parent.startsWith(QUOTA_PATH)) return null;
  const root = parent.slice(QUOTA_PATH.length);
  return root.startsWith('/') ? root : null;
}

/** The innermost quota root at or above `path` (never the root), as getMaxPrefixWithQuota. */
export function quotaRootOf(store: NodeStore, path: string): string | null {
  if (store.quotaRoots.size === 0) return null;
  let candidate: string | null = path;
  while (candidate !== null && candidate !== ROOT_PATH) {
    if (store.quotaRoots.has(candidate)) return candidate;
    candidate = splitPath(candidate)?.parent ?? null;
  }
  return null;
}

/** ZooKeeper's StatsTrack: `key=value` pairs; `count` and `bytes` are -1 when absent. */
function parseStats(data: Uint8Array | null): Map<string, number> | null {
  const stats = new Map<string, number>();
  const text = data === null ? '' : decoder.decode(data);
  if (text === '') return stats;
  for (const pair of text.split(',')) {
    const [key, value] = pair.split('=');
    if (key === undefined || value === undefined || !/^-?\d+$/.test(value)) return null;
    stats.set(key, Number(value));
  }
  return stats;
}

/** StatsTrack.toString: count first, then bytes, then any other keys. */
function formatStats(stats: ReadonlyMap<string, number>): Uint8Array {
  const parts: string[] = [];
  for (const key of ['count', 'bytes']) if (stats.has(key)) parts.push(`${key}=${stats.get(key)}`);
  for (const [key, value] of stats) if (key !== 'count' && key !== 'bytes') parts.push(`${key}=${value}`);
  return encoder.encode(parts.join(','));
}

function statsPathOf(root: string): string {
  return `${QUOTA_PATH}${root}/${QUOTA_STAT_NODE}`;
}

function setStatsData(store: NodeStore, statsPath: string, data: Uint8Array): void {
  const node = store.get(statsPath);
  if (node !== undefined) store.replaceRecord(statsPath, patchRecord(node.rec, { data }));
}

/** updateQuotaStat: add to the counts of the quota at `root`. */
export function updateQuotaStat(store: NodeStore, root: string, bytesDiff: number, countDiff: number): void {
  const statsPath = statsPathOf(root);
  const node = store.get(statsPath);
  if (node === undefined) return; // ZooKeeper logs "Missing count node" and goes on
  const stats = parseStats(node.rec.data);
  if (stats === null) return; // not a StatsTrack: ZooKeeper would fail the transaction (not mirrored)
  stats.set('count', (stats.get('count') ?? -1) + countDiff);
  stats.set('bytes', (stats.get('bytes') ?? -1) + bytesDiff);
  setStatsData(store, statsPath, formatStats(stats));
}

/** updateQuotaForPath: a stats node was created under `/zookeeper/quota<root>`: count the subtree. */
export function initQuotaStats(store: NodeStore, root: string): void {
  let count = 0;
  let bytes = 0;
  const pending = store.get(root) === undefined ? [] : [root];
  while (pending.length > 0) {
    const path = pending.pop()!;
    const node = store.get(path);
    if (node === undefined) continue;
    count++;
    bytes += node.rec.data?.length ?? 0;
    for (const child of node.children) pending.push(path === ROOT_PATH ? `/${child}` : `${path}/${child}`);
  }
  setStatsData(store, statsPathOf(root), formatStats(new Map([['count', count], ['bytes', bytes]])));
}
