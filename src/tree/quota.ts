/**
 * ZooKeeper's quota bookkeeping (DataTree's pTrie, getMaxPrefixWithQuota, updateQuotaStat and
 * updateQuotaForPath in 3.8). `setquota` (a client-side command) creates
 * `/zookeeper/quota<path>/zookeeper_limits` and `.../zookeeper_stats`; from then on the server keeps
 * the stats node's data, `count=N,bytes=M`, equal to the number of nodes and data bytes in the
 * subtree at `<path>` (the innermost quota above a node is the one that counts). It changes the
 * data only: the stats node's version, mzxid and mtime stay, and no watch fires, as in ZooKeeper.
 * With `enforceQuota` (ZooKeeper's zookeeper.enforceQuota, off by default) a create or setData
 * that would take the innermost quota past a hard limit (`countHardLimit`, `byteHardLimit`, set by
 * `setquota -N` / `-B`) fails with QUOTAEXCEEDED; soft limits (`-n` / `-b`) never refuse anything.
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

/**
 * ZooKeeper's StatsTrack text: `count=N,bytes=M`, and since 3.7 the hard limits after a `=`, as in
 * `count=-1,bytes=-1=;byteHardLimit=10;countHardLimit=3` (the `=` keeps older parsers working).
 * Null when it is not that shape.
 */
function parseStats(data: Uint8Array | null): Map<string, number> | null {
  const stats = new Map<string, number>();
  const text = data === null ? '' : decoder.decode(data);
  if (text === '') return stats;
  const pairs: string[] = [];
  for (const part of text.split(',')) {
    const extra = part.indexOf('=;');
    if (extra < 0) pairs.push(part);
    else pairs.push(part.slice(0, extra), ...part.slice(extra + 2).split(';'));
  }
  for (const pair of pairs) {
    if (pair === '') continue;
    const [key, value, ...rest] = pair.split('=');
    if (key === undefined || value === undefined || rest.length > 0 || !/^-?\d+$/.test(value)) return null;
    stats.set(key, Number(value));
  }
  return stats;
}

/** StatsTrack.toString: count, then bytes, then any other keys after a `=`. */
function formatStats(stats: ReadonlyMap<string, number>): Uint8Array {
  let text = '';
  if (stats.has('count')) text += `count=${stats.get('count')},`;
  if (stats.has('bytes')) text += `bytes=${stats.get('bytes')}`;
  const extra = [...stats].filter(([key]) => key !== 'count' && key !== 'bytes');
  if (extra.length > 0) text += `=${extra.map(([key, value]) => `;${key}=${value}`).join('')}`;
  return encoder.encode(text);
}

/** A StatsTrack value: -1 when absent, as getCount() and friends. */
function statOf(stats: ReadonlyMap<string, number>, key: string): number {
  return stats.get(key) ?? -1;
}

/**
 * ZooKeeperServer.checkQuota: whether a change of `countDiff` nodes and `bytesDiff` bytes at `path`
 * takes its innermost quota past a hard limit. Soft limits only warn in ZooKeeper (nothing here).
 */
export function quotaExceeded(
  store: NodeStore,
  path: string,
  bytesDiff: number,
  countDiff: number,
  nodesBefore?: ReadonlyMap<string, Uint8Array | null>,
): boolean {
  const root = quotaRootOf(store, path);
  if (root === null) return false;
  // The data of a quota node as the check sees it: from before the multi, when in one.
  const dataOf = (nodePath: string): Uint8Array | null | undefined =>
    nodesBefore?.has(nodePath) === true ? nodesBefore.get(nodePath) : store.get(nodePath)?.rec.data;
  const limitData = dataOf(`${QUOTA_PATH}${root}/${QUOTA_LIMIT_NODE}`);
  const limits = limitData === undefined ? null : parseStats(limitData);
  if (limits === null) return false;
  const countHard = statOf(limits, 'countHardLimit');
  const byteHard = statOf(limits, 'byteHardLimit');
  if ((countDiff === 0 || countHard < 0) && (bytesDiff === 0 || byteHard < 0)) return false;
  const statsData = dataOf(statsPathOf(root));
  const current = statsData === undefined ? null : parseStats(statsData);
  if (current === null) return false;
  if (countDiff !== 0 && countHard > -1 && statOf(current, 'count') + countDiff > countHard) return true;
  return bytesDiff !== 0 && byteHard > -1 && statOf(current, 'bytes') + bytesDiff > byteHard;
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

/** The data of every quota's limits and stats nodes now, for the checks of a multi's ops. */
export function quotaNodesNow(store: NodeStore): Map<string, Uint8Array | null> {
  const nodes = new Map<string, Uint8Array | null>();
  for (const root of store.quotaRoots) {
    for (const nodePath of [`${QUOTA_PATH}${root}/${QUOTA_LIMIT_NODE}`, statsPathOf(root)]) {
      const node = store.get(nodePath);
      if (node !== undefined) nodes.set(nodePath, node.rec.data);
    }
  }
  return nodes;
}
