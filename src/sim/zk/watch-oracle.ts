/**
 * The watch oracle: from the transactions a server applied and the watches one of its sessions
 * registered, the notifications ZooKeeper promises that session, in order — written from ZooKeeper's
 * documented semantics, independently of WatchManager:
 *
 * - a one-shot watch (getData / exists: the data table; getChildren: the child table) fires once, for
 *   the first matching change applied after it was registered, and is then gone;
 * - getData and getChildren register only when they succeed, exists always;
 * - data-table watches match NodeCreated, NodeDataChanged and NodeDeleted of their path; child-table
 *   watches match NodeChildrenChanged and NodeDeleted of their path;
 * - a persistent watch (addWatch PERSISTENT) matches everything on its path and stays; a recursive
 *   one (PERSISTENT_RECURSIVE) matches all but NodeChildrenChanged on its path and every descendant;
 * - one change notifies a session at most once, however many of its watches match it.
 *
 * A registration takes effect at the zxid its response carries: the server registers the watch in the
 * same step as it reads, and answers with the last zxid it applied, so changes at or below that zxid
 * are before the registration and changes above it after.
 */
import { AddWatchMode, ErrorCode, EventType } from '../../protocol/zookeeper.js';
import { DataTree } from '../../tree/index.js';
import type { WatchTrigger } from '../../tree/index.js';
import type { JournalEntry } from './client.js';
import type { AppliedTxn } from './cluster.js';

/** A notification with the zxid of the change that caused it. */
export interface ExpectedNotification {
  readonly type: number;
  readonly path: string;
  readonly zxid: bigint;
}

/** A watch a session registered, effective after `zxid`. */
export interface WatchRegistration {
  readonly kind: 'data' | 'child' | 'persistent' | 'recursive';
  readonly path: string;
  readonly zxid: bigint;
}

/** Every change a server made, as the triggers of each applied transaction (replayed on a fresh tree). */
export function triggersOf(applied: readonly AppliedTxn[]): { zxid: bigint; triggers: readonly WatchTrigger[] }[] {
  const tree = new DataTree();
  return applied.map((a) => ({ zxid: a.zxid, triggers: tree.apply(a.txn, { zxid: a.zxid, timeMs: a.entryTimeMs }).triggers }));
}

/** The watches a session registered, from its journal (responses of its own session only). */
export function registrationsOf(journal: readonly JournalEntry[], sessionId: bigint): WatchRegistration[] {
  const out: WatchRegistration[] = [];
  for (const e of journal) {
    if (e.kind !== 'response' || e.sessionId !== sessionId) continue;
    const { request: r, response } = e;
    const at = response.zxid;
    switch (r.op) {
      case 'exists':
        if (r.watch && (response.err === ErrorCode.OK || response.err === ErrorCode.NONODE)) out.push({ kind: 'data', path: r.path, zxid: at });
        break;
      case 'getData':
        if (r.watch && response.err === ErrorCode.OK) out.push({ kind: 'data', path: r.path, zxid: at });
        break;
      case 'getChildren':
        if (r.watch && response.err === ErrorCode.OK) out.push({ kind: 'child', path: r.path, zxid: at });
        break;
      case 'addWatch':
        if (response.err === ErrorCode.OK) out.push({ kind: r.mode === AddWatchMode.PERSISTENT_RECURSIVE ? 'recursive' : 'persistent', path: r.path, zxid: at });
        break;
      default:
        break;
    }
  }
  return out;
}

function isAncestorOrSelf(ancestor: string, path: string): boolean {
  if (ancestor === path) return true;
  return ancestor === '/' ? path.startsWith('/') : path.startsWith(`${ancestor}/`);
}

/** The notifications one session must receive, in order. */
export function expectedNotifications(
  changes: readonly { zxid: bigint; triggers: readonly WatchTrigger[] }[],
  registrations: readonly WatchRegistration[],
): ExpectedNotification[] {
  const pending = [...registrations].sort((a, b) => (a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0));
  const data = new Set<string>();
  const child = new Set<string>();
  const persistent = new Set<string>();
  const recursive = new Set<string>();
  const out: ExpectedNotification[] = [];
  let next = 0;
  const registerUpTo = (zxid: bigint) => {
    for (; next < pending.length && pending[next]!.zxid <= zxid; next++) {
      const r = pending[next]!;
      ({ data, child, persistent, recursive })[r.kind].add(r.path);
    }
  };
  for (const change of changes) {
    // Registrations answered before this change was applied see it as a later change.
    registerUpTo(change.zxid - 1n);
    for (const { path, type } of change.triggers) {
      let fires = false;
      if (type === EventType.NodeChildrenChanged) {
        fires = child.delete(path) || persistent.has(path);
      } else {
        if (data.delete(path)) fires = true;
        if (type === EventType.NodeDeleted && child.delete(path)) fires = true;
        if (persistent.has(path)) fires = true;
        for (const root of recursive) if (isAncestorOrSelf(root, path)) fires = true;
      }
      if (fires) out.push({ type, path, zxid: change.zxid });
    }
  }
  return out;
}

/**
 * Judge one session's notifications against the oracle: the same notifications in the same order,
 * and each one delivered before any response whose zxid shows its change. Returns null or the problem.
 */
export function checkWatchDelivery(applied: readonly AppliedTxn[], journal: readonly JournalEntry[], sessionId: bigint): string | null {
  const expected = expectedNotifications(triggersOf(applied), registrationsOf(journal, sessionId));
  const received = journal.filter((e): e is Extract<JournalEntry, { kind: 'event' }> => e.kind === 'event' && e.sessionId === sessionId);
  const show = (n: { type: number; path: string }) => `${n.type}:${n.path}`;
  const n = Math.max(expected.length, received.length);
  for (let i = 0; i < n; i++) {
    const want = expected[i];
    const got = received[i];
    if (want === undefined || got === undefined || want.type !== got.type || want.path !== got.path) {
      return `notification ${i} of session 0x${sessionId.toString(16)}: expected ${want === undefined ? 'none' : `${show(want)} (zxid 0x${want.zxid.toString(16)})`}, received ${got === undefined ? 'none' : `${show(got)} at ${got.atMs.toFixed(1)} ms`}`;
    }
  }
  // Order against responses: by the time a response shows zxid z, every notification for a change
  // at or below z has been delivered.
  let delivered = 0;
  for (const e of journal) {
    if (e.sessionId !== sessionId) continue;
    if (e.kind === 'event') delivered++;
    if (e.kind !== 'response') continue;
    let due = 0;
    while (due < expected.length && expected[due]!.zxid <= e.response.zxid) due++;
    if (delivered < due) {
      const late = expected[delivered]!;
      return `session 0x${sessionId.toString(16)}: the ${e.request.op} answer with zxid 0x${e.response.zxid.toString(16)} at ${e.atMs.toFixed(1)} ms came before the notification ${show(late)} of zxid 0x${late.zxid.toString(16)}`;
    }
  }
  return null;
}
