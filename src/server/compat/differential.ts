/**
 * Differential testing of ZooKeeper servers: one sequence of operations from several sessions is
 * run against two servers (a real ZooKeeper 3.8 and statekeeper) through the raw jute client, and
 * what each session received (replies and watch notifications, in arrival order) plus the final
 * tree are recorded and normalized so that two correct servers give equal observations.
 *
 * Determinism. Operations run one at a time, each awaited before the next. Before an operation of
 * a session other than the previous one's, that session sends `sync`: on a server it is connected
 * to that lags the leader (statekeeper spreads sessions over its three servers), the sync reply
 * comes only after the server applied every earlier write, so watch notifications those writes
 * caused have reached the session before it acts, as they have on a standalone ZooKeeper.
 * Both servers receive the same syncs, so they appear in both observations.
 *
 * Normalized away: zxids (replaced by their rank among the stat zxids the run observed: order and
 * equality survive, absolute numbers do not, since each server counts different internal
 * transactions such as session creation), reply-header zxids, times, session ids (replaced by the
 * session's label), the order of child lists and of getEphemerals (ZooKeeper: hash order), and the
 * order of ACL entries (an `auth` ACL expands to the session's ids in the iteration order of
 * ZooKeeper's authInfo, a ConcurrentHashMap-backed set: hash order again), and the order of the
 * notifications one session's close causes (ZooKeeper deletes its ephemerals in hash order,
 * statekeeper in path order: see AFTER_CLOSE_BARRIER).
 *
 * Deliberate statekeeper differences (src/tree/README.md) and how the driver keeps them out:
 * - a session may hold a one-shot and a persistent watch on one path (ZooKeeper 3.9's rule,
 *   ZOOKEEPER-4466); in 3.8 a later registration replaced the mode of the earlier one. Once a
 *   session has added a persistent watch on a path, its reads of that path that would set a
 *   one-shot watch on the same table are sent without the watch flag (on both servers); an
 *   addWatch on a path where the session asked a one-shot watch, or holds the other persistent
 *   mode, and a removeWatches on a path where it holds a persistent watch, are not sent at all.
 * - data over jute.maxbuffer: the generator stays far below it.
 * - child order: normalized (sorted).
 * - containers are reaped on statekeeper's tick but on ZooKeeper's 60 s container check: the
 *   generator creates containers only where no child can ever be created, so none is ever a candidate.
 */
import { createHash } from 'node:crypto';
import type { Acl, Stat } from '../../protocol/zookeeper.js';
import { ErrorCode, errorName } from '../../protocol/zookeeper.js';
import type { KnownRequest, MultiResult, MultiWriteOp, ResponseBody } from '../jute/index.js';
import { RawZkClient } from './raw-client.js';
import type { RawLogEntry, RawReply } from './raw-client.js';

// ---------------------------------------------------------------------------------------------
// The operation model (plain data, so fast-check can generate, shrink and print it)
// ---------------------------------------------------------------------------------------------

/** Named ACL lists the generator picks from. */
export type AclChoice = 'open' | 'readOnly' | 'creator' | 'alice' | 'bobRead' | 'mixed' | 'noRead' | 'empty' | 'ipLocal' | 'badScheme';

/** Credentials a session may add (user:password for digest). */
export const CREDENTIALS = { alice: 'alice:pa', bob: 'bob:pb' } as const;

/** ZooKeeper's digest id for "user:password": user:base64(sha1(user:password)). */
export function digestId(credentials: string): string {
  const user = credentials.split(':', 1)[0]!;
  return `${user}:${createHash('sha1').update(credentials).digest('base64')}`;
}

export function aclOf(choice: AclChoice): Acl[] {
  const world = { scheme: 'world', id: 'anyone' };
  switch (choice) {
    case 'open':
      return [{ perms: 31, id: world }];
    case 'readOnly':
      return [{ perms: 1, id: world }];
    case 'creator':
      return [{ perms: 31, id: { scheme: 'auth', id: '' } }];
    case 'alice':
      return [{ perms: 31, id: { scheme: 'digest', id: digestId(CREDENTIALS.alice) } }];
    case 'bobRead':
      return [{ perms: 1, id: { scheme: 'digest', id: digestId(CREDENTIALS.bob) } }];
    case 'mixed':
      return [
        { perms: 31, id: { scheme: 'digest', id: digestId(CREDENTIALS.alice) } },
        { perms: 1, id: world },
      ];
    case 'noRead':
      return [{ perms: 30, id: world }];
    case 'empty':
      return [];
    case 'ipLocal':
      return [{ perms: 31, id: { scheme: 'ip', id: '127.0.0.1' } }];
    case 'badScheme':
      return [{ perms: 31, id: { scheme: 'foo', id: 'x' } }];
  }
}

/** Which create request carries the mode: ZooKeeper's client uses createContainer/createTTL for those modes. */
export type CreateOpcode = 'create' | 'create2' | 'createContainer' | 'createTTL';

/** A sub-operation of a multi. Paths are relative to the run's root ('' is the root itself). */
export type MultiSubOp =
  | { readonly op: 'create'; readonly path: string; readonly data: string | null; readonly acl: AclChoice; readonly mode: number }
  | { readonly op: 'delete'; readonly path: string; readonly version: number }
  | { readonly op: 'setData'; readonly path: string; readonly data: string | null; readonly version: number }
  | { readonly op: 'check'; readonly path: string; readonly version: number };

/** One step of a sequence; `s` is the session slot. */
export type DiffOp =
  | { readonly kind: 'create'; readonly s: number; readonly path: string; readonly data: string | null; readonly acl: AclChoice; readonly mode: number; readonly opcode: CreateOpcode; readonly ttl: number }
  | { readonly kind: 'delete'; readonly s: number; readonly path: string; readonly version: number }
  | { readonly kind: 'setData'; readonly s: number; readonly path: string; readonly data: string | null; readonly version: number }
  | { readonly kind: 'getData' | 'exists' | 'getChildren' | 'getChildren2'; readonly s: number; readonly path: string; readonly watch: boolean }
  | { readonly kind: 'getACL'; readonly s: number; readonly path: string }
  | { readonly kind: 'setACL'; readonly s: number; readonly path: string; readonly acl: AclChoice; readonly version: number }
  | { readonly kind: 'multi'; readonly s: number; readonly ops: readonly MultiSubOp[] }
  | { readonly kind: 'multiRead'; readonly s: number; readonly ops: readonly { readonly op: 'getData' | 'getChildren'; readonly path: string }[] }
  | { readonly kind: 'addWatch'; readonly s: number; readonly path: string; readonly mode: 0 | 1 }
  /** WatcherType: 1 children, 2 data, 3 any. */
  | { readonly kind: 'removeWatches' | 'checkWatches'; readonly s: number; readonly path: string; readonly type: 1 | 2 | 3 }
  | { readonly kind: 'addAuth'; readonly s: number; readonly scheme: string; readonly auth: string }
  | { readonly kind: 'sync'; readonly s: number; readonly path: string }
  | { readonly kind: 'getAllChildrenNumber'; readonly s: number; readonly path: string }
  | { readonly kind: 'getEphemerals'; readonly s: number; readonly prefix: string }
  /** Opcode 20 sent by a client (ZooKeeper 3.8 answers BADARGUMENTS: it reads the header into the path). */
  | { readonly kind: 'deleteContainer'; readonly s: number; readonly path: string }
  | { readonly kind: 'whoAmI'; readonly s: number }
  | { readonly kind: 'close'; readonly s: number }
  | { readonly kind: 'open'; readonly s: number };

// ---------------------------------------------------------------------------------------------
// Targets and observations
// ---------------------------------------------------------------------------------------------

/** A server (or ensemble) to run sequences against. */
export interface DiffTarget {
  readonly name: string;
  /** host:port the session in `slot` (and the admin session, slot -1) connects to. */
  endpoint(slot: number): { host: string; port: number };
  /** "super:password" whose digest the server was configured with as superDigest. */
  readonly superCredentials: string;
}

/** A normalized Stat: zxids as ranks, times dropped, owner as a session label. */
export interface NormalStat {
  readonly czxid: string;
  readonly mzxid: string;
  readonly pzxid: string;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: string;
  readonly dataLength: number;
  readonly numChildren: number;
}

/** A node of the final tree. */
export interface NormalNode {
  readonly path: string;
  readonly data: string | null;
  readonly stat: NormalStat;
  readonly acl: readonly Acl[];
  readonly children: readonly string[];
}

/** What a run observed, normalized: per session label, its entries; then the final tree. */
export interface Observation {
  readonly sessions: Readonly<Record<string, readonly unknown[]>>;
  readonly tree: readonly NormalNode[];
  /** Anything the driver itself could not do (e.g. cleanup failed), for the failure message. */
  readonly driverErrors: readonly string[];
}

/** Raw stat as the jute codec returns it. */
type RawStat = Stat;

interface SessionSlot {
  label: string;
  client: RawZkClient | null;
  /** Paths this session added a persistent (0) or recursive (1) watch on, by the sequence alone. */
  readonly persistent: Map<string, Set<0 | 1>>;
  /** Paths this session asked a one-shot watch on (fired or not), by the sequence alone. */
  readonly oneShot: Set<string>;
}

/**
 * Path suffix of the sync that follows a session's close on every other session. ZooKeeper
 * deletes a closing session's ephemerals in the order of a hash set, statekeeper in path order
 * (src/tree/README.md): the events between that sync and the one before the close are compared
 * as a sorted list.
 */
export const AFTER_CLOSE_BARRIER = '/.after-close';

/** Bound on nodes walked when reading the final tree (the generator's path space is far smaller). */
export const MAX_TREE_NODES = 500;

function abs(root: string, rel: string): string {
  return rel === '' ? root : `${root}/${rel}`;
}

function bytes(data: string | null): Buffer | null {
  return data === null ? null : Buffer.from(data, 'utf8');
}

function multiOp(root: string, op: MultiSubOp): MultiWriteOp {
  switch (op.op) {
    case 'create':
      return { op: 'create', path: abs(root, op.path), data: bytes(op.data), acl: aclOf(op.acl), flags: op.mode };
    case 'delete':
      return { op: 'delete', path: abs(root, op.path), version: op.version };
    case 'setData':
      return { op: 'setData', path: abs(root, op.path), data: bytes(op.data), version: op.version };
    case 'check':
      return { op: 'check', path: abs(root, op.path), version: op.version };
  }
}

/** The request a step sends, or null for steps that are not requests (open/close). */
export function requestOf(root: string, op: DiffOp, watchAllowed: (path: string, table: 'data' | 'child') => boolean): KnownRequest | null {
  switch (op.kind) {
    case 'create': {
      const body = { path: abs(root, op.path), data: bytes(op.data), acl: aclOf(op.acl), flags: op.mode };
      return op.opcode === 'createTTL' ? { op: 'createTTL', ...body, ttl: BigInt(op.ttl) } : { op: op.opcode, ...body };
    }
    case 'delete':
      return { op: 'delete', path: abs(root, op.path), version: op.version };
    case 'setData':
      return { op: 'setData', path: abs(root, op.path), data: bytes(op.data), version: op.version };
    case 'getData':
    case 'exists':
      return { op: op.kind, path: abs(root, op.path), watch: op.watch && watchAllowed(op.path, 'data') };
    case 'getChildren':
    case 'getChildren2':
      return { op: op.kind, path: abs(root, op.path), watch: op.watch && watchAllowed(op.path, 'child') };
    case 'getACL':
      return { op: 'getACL', path: abs(root, op.path) };
    case 'setACL':
      return { op: 'setACL', path: abs(root, op.path), acl: aclOf(op.acl), version: op.version };
    case 'multi':
      return { op: 'multi', ops: op.ops.map((o) => multiOp(root, o)) };
    case 'multiRead':
      return { op: 'multiRead', ops: op.ops.map((o) => ({ op: o.op, path: abs(root, o.path), watch: false })) };
    case 'addWatch':
      return { op: 'addWatch', path: abs(root, op.path), mode: op.mode };
    case 'removeWatches':
    case 'checkWatches':
      return { op: op.kind, path: abs(root, op.path), type: op.type };
    case 'addAuth':
      return { op: 'auth', type: 0, scheme: op.scheme, auth: Buffer.from(op.auth, 'utf8') };
    case 'sync':
      return { op: 'sync', path: abs(root, op.path) };
    case 'getAllChildrenNumber':
      return { op: 'getAllChildrenNumber', path: abs(root, op.path) };
    case 'getEphemerals':
      return { op: 'getEphemerals', prefixPath: abs(root, op.prefix) };
    case 'deleteContainer':
      return { op: 'deleteContainer', path: abs(root, op.path) };
    case 'whoAmI':
      return { op: 'whoAmI' };
    case 'close':
    case 'open':
      return null;
  }
}

/**
 * Runs `ops` against `target` under the fresh root `root` (which must not exist), records every
 * session's entries and the final tree, then deletes everything under `root` and `root` itself.
 * Resolves with the raw material for {@link normalizeObservation}.
 */
export async function runSequence(target: DiffTarget, root: string, ops: readonly DiffOp[], slots = 3): Promise<RawObservation> {
  const driverErrors: string[] = [];
  const connectTo = async (at: { host: string; port: number }): Promise<RawZkClient> => {
    try {
      return await RawZkClient.connect(at);
    } catch (err) {
      throw new Error(`${target.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const admin = await connectTo(target.endpoint(-1));
  const sessions: SessionSlot[] = [];
  const closedLogs: Array<{ label: string; id: bigint; log: RawLogEntry[] }> = [];
  const ids = new Map<bigint, string>();
  let labels = 0;
  const open = async (slot: number): Promise<SessionSlot> => {
    const client = await connectTo(target.endpoint(slot));
    const label = `s${labels++}`;
    ids.set(client.sessionId, label);
    return { label, client, persistent: new Map(), oneShot: new Set() };
  };
  try {
    const auth = await admin.request({ op: 'auth', type: 0, scheme: 'digest', auth: Buffer.from(target.superCredentials) });
    if (auth?.err !== 0) throw new Error(`${target.name}: super auth failed (${auth?.err})`);
    const made = await admin.request({ op: 'create', path: root, data: Buffer.from('root'), acl: aclOf('open'), flags: 0 });
    if (made?.err !== 0) throw new Error(`${target.name}: could not create the run root ${root} (${made === null ? 'no reply' : errorName.get(made.err)})`);
    for (let i = 0; i < slots; i++) sessions.push(await open(i));

    let previous = -1;
    for (const op of ops) {
      const slot = sessions[op.s];
      if (slot === undefined) throw new Error(`op for slot ${op.s} of ${slots}`);
      if (op.kind === 'open') {
        if (slot.client === null) sessions[op.s] = await open(op.s);
        continue;
      }
      const client = slot.client;
      if (client === null || client.closed) continue;
      if (op.kind === 'close') {
        // Barriers around the close on every other session: the notifications the close causes
        // (its ephemerals' deletion) then sit alone between two sync replies, where
        // normalizeObservation may sort them (see AFTER_CLOSE_BARRIER).
        const others = sessions.filter((o) => o !== slot && o.client !== null && !o.client.closed);
        for (const o of others) await o.client!.request({ op: 'sync', path: root });
        await client.close();
        for (const o of others) await o.client!.request({ op: 'sync', path: `${root}${AFTER_CLOSE_BARRIER}` });
        closedLogs.push({ label: slot.label, id: client.sessionId, log: client.log });
        slot.client = null;
        continue;
      }
      if (previous !== op.s) await client.request({ op: 'sync', path: root });
      previous = op.s;
      const request = requestOf(root, op, (path, table) => {
        const modes = slot.persistent.get(path);
        const allowed = modes === undefined || !(modes.has(0) || (modes.has(1) && table === 'data'));
        if (allowed) slot.oneShot.add(path);
        return allowed;
      });
      // removeWatches on a path with a persistent watch: 3.8 and 3.9 disagree on which table a
      // persistent or recursive watch is removed from (statekeeper follows 3.9). Not sent.
      if (op.kind === 'removeWatches' && slot.persistent.has(op.path)) continue;
      if (op.kind === 'addWatch') {
        const modes = slot.persistent.get(op.path) ?? new Set<0 | 1>();
        // Another mode on a path that already has one (a second persistent mode, or a one-shot
        // watch that may still be pending) is the 3.8/3.9 difference again: in 3.8 the later mode
        // replaces the earlier one for that session and path in both watch tables. Not sent.
        if ((modes.size > 0 && !modes.has(op.mode)) || slot.oneShot.has(op.path)) continue;
        modes.add(op.mode);
        slot.persistent.set(op.path, modes);
      }
      if (request !== null) await client.request(request);
    }
    // Barrier: every notification the last writes caused reaches its session before the snapshot.
    for (const slot of sessions) if (slot.client !== null && !slot.client.closed) await slot.client.request({ op: 'sync', path: root });
    const tree = await readTree(admin, root, driverErrors);
    const logs = [
      ...closedLogs,
      ...sessions.filter((s) => s.client !== null).map((s) => ({ label: s.label, id: s.client!.sessionId, log: [...s.client!.log] })),
    ];
    return { logs, tree, ids, driverErrors };
  } finally {
    for (const slot of sessions) if (slot.client !== null) await slot.client.close().catch(() => null);
    await deleteTree(admin, root, driverErrors).catch((err: unknown) => driverErrors.push(`cleanup: ${String(err)}`));
    await admin.close().catch(() => null);
  }
}

/** Unnormalized material of a run. */
export interface RawObservation {
  readonly logs: ReadonlyArray<{ readonly label: string; readonly id: bigint; readonly log: readonly RawLogEntry[] }>;
  readonly tree: ReadonlyArray<{ path: string; data: Buffer | null; stat: RawStat; acl: readonly Acl[]; children: readonly string[] }>;
  readonly ids: ReadonlyMap<bigint, string>;
  readonly driverErrors: string[];
}

async function readTree(admin: RawZkClient, root: string, errors: string[]): Promise<RawObservation['tree']> {
  const out: Array<{ path: string; data: Buffer | null; stat: RawStat; acl: readonly Acl[]; children: readonly string[] }> = [];
  const queue = [root];
  while (queue.length > 0 && out.length < MAX_TREE_NODES) {
    const path = queue.shift()!;
    const data = await admin.request({ op: 'getData', path, watch: false });
    if (data === null || data.err !== 0) {
      if (data?.err !== ErrorCode.NONODE) errors.push(`read ${path}: ${data === null ? 'no reply' : errorName.get(data.err)}`);
      continue;
    }
    const children = await admin.request({ op: 'getChildren', path, watch: false });
    const acl = await admin.request({ op: 'getACL', path });
    const body = data.body as Extract<ResponseBody, { record: 'GetDataResponse' }>;
    const names = children?.body?.record === 'GetChildrenResponse' ? [...children.body.children].sort() : [];
    out.push({ path, data: body.data, stat: body.stat, acl: acl?.body?.record === 'GetACLResponse' ? acl.body.acl : [], children: names });
    for (const name of names) queue.push(`${path}/${name}`);
  }
  return out;
}

/** Deletes `root` and everything below it (as the super user), deepest first. */
async function deleteTree(admin: RawZkClient, root: string, errors: string[]): Promise<void> {
  const order: string[] = [];
  const queue = [root];
  while (queue.length > 0 && order.length < MAX_TREE_NODES) {
    const path = queue.shift()!;
    const children = await admin.request({ op: 'getChildren', path, watch: false });
    if (children === null || children.err !== 0 || children.body?.record !== 'GetChildrenResponse') continue;
    order.push(path);
    for (const name of children.body.children) queue.push(`${path}/${name}`);
  }
  for (const path of order.reverse()) {
    const reply = await admin.request({ op: 'delete', path, version: -1 });
    if (reply === null || (reply.err !== 0 && reply.err !== ErrorCode.NONODE)) errors.push(`delete ${path}: ${reply === null ? 'no reply' : errorName.get(reply.err)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------------

function statsOfBody(body: ResponseBody | undefined, into: RawStat[]): void {
  if (body === undefined) return;
  if ('stat' in body) into.push(body.stat);
  if (body.record === 'MultiResponse') for (const r of body.results) if ('stat' in r) into.push(r.stat);
}

/** Normalizes a run (see the module comment). */
export function normalizeObservation(raw: RawObservation): Observation {
  const stats: RawStat[] = raw.tree.map((n) => n.stat);
  for (const { log } of raw.logs) for (const e of log) if (e.kind === 'reply') statsOfBody(e.reply.body, stats);
  const zxids = new Set<bigint>();
  for (const s of stats) {
    zxids.add(s.czxid);
    zxids.add(s.mzxid);
    zxids.add(s.pzxid);
  }
  const rank = new Map([...zxids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((z, i) => [z, `z${i + 1}`]));
  const owner = (id: bigint): string => (id === 0n ? '0' : (raw.ids.get(id) ?? `unknown session 0x${id.toString(16)}`));
  const stat = (s: RawStat): NormalStat => ({
    czxid: rank.get(s.czxid)!,
    mzxid: rank.get(s.mzxid)!,
    pzxid: rank.get(s.pzxid)!,
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: owner(s.ephemeralOwner),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  });
  const data = (d: Buffer | null): string | null => (d === null ? null : d.toString('utf8'));
  const aclKey = (a: Acl): string => `${a.id.scheme}\u0000${a.id.id}\u0000${a.perms}`;
  const acls = (list: readonly Acl[]): Acl[] => [...list].sort((x, y) => (aclKey(x) < aclKey(y) ? -1 : aclKey(x) > aclKey(y) ? 1 : 0));
  const multiResult = (r: MultiResult): unknown => {
    switch (r.op) {
      case 'create':
        return { op: r.op, path: r.path };
      case 'create2':
        return { op: r.op, path: r.path, stat: stat(r.stat) };
      case 'setData':
        return { op: r.op, stat: stat(r.stat) };
      case 'getChildren':
        return { op: r.op, children: [...r.children].sort() };
      case 'getData':
        return { op: r.op, data: data(r.data), stat: stat(r.stat) };
      case 'error':
        return { op: r.op, err: errorName.get(r.err) ?? r.err };
      default:
        return { op: r.op };
    }
  };
  const body = (b: ResponseBody): unknown => {
    switch (b.record) {
      case 'CreateResponse':
      case 'SyncResponse':
        return { path: b.path };
      case 'Create2Response':
        return { path: b.path, stat: stat(b.stat) };
      case 'ExistsResponse':
      case 'SetDataResponse':
      case 'SetACLResponse':
        return { stat: stat(b.stat) };
      case 'GetDataResponse':
        return { data: data(b.data), stat: stat(b.stat) };
      case 'GetACLResponse':
        return { acl: acls(b.acl), stat: stat(b.stat) };
      case 'GetChildrenResponse':
        return { children: [...b.children].sort() };
      case 'GetChildren2Response':
        return { children: [...b.children].sort(), stat: stat(b.stat) };
      case 'GetAllChildrenNumberResponse':
        return { totalNumber: b.totalNumber };
      case 'GetEphemeralsResponse':
        return { ephemerals: [...b.ephemerals].sort() };
      case 'ErrorResponse':
        return { err: b.err };
      case 'SetSASLResponse':
        return { token: b.token === null ? null : b.token.toString('hex') };
      case 'WhoAmIResponse':
        return { clientInfo: b.clientInfo };
      case 'MultiResponse':
        return { results: b.results.map(multiResult) };
    }
  };
  const entry = (e: RawLogEntry): unknown => {
    switch (e.kind) {
      case 'event':
        return { event: e.event.type, state: e.event.state, path: e.event.path };
      case 'closed':
        return { closed: true };
      case 'reply': {
        const r: RawReply = e.reply;
        return { op: e.op, err: errorName.get(r.err) ?? r.err, ...(r.body === undefined ? {} : { body: body(r.body) }) };
      }
    }
  };
  const sessions: Record<string, unknown[]> = {};
  for (const { label, log } of raw.logs) sessions[label] = sortCloseEvents(log).map(entry);
  const tree = raw.tree.map((n) => ({ path: n.path, data: data(n.data), stat: stat(n.stat), acl: acls(n.acl), children: n.children }));
  return { sessions, tree, driverErrors: raw.driverErrors };
}

/** Sorts (by path, then type) each run of events right before an after-close barrier reply. */
function sortCloseEvents(log: readonly RawLogEntry[]): RawLogEntry[] {
  const out = [...log];
  for (let i = 0; i < out.length; i++) {
    const e = out[i]!;
    if (e.kind !== 'reply' || e.op !== 'sync' || e.reply.body?.record !== 'SyncResponse' || !e.reply.body.path.endsWith(AFTER_CLOSE_BARRIER)) continue;
    let start = i;
    while (start > 0 && out[start - 1]!.kind === 'event') start--;
    const run = out.slice(start, i) as Array<Extract<RawLogEntry, { kind: 'event' }>>;
    run.sort((a, b) => (a.event.path < b.event.path ? -1 : a.event.path > b.event.path ? 1 : a.event.type - b.event.type));
    out.splice(start, run.length, ...run);
  }
  return out;
}
