import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CreateMode, ErrorCode, OPEN_ACL_UNSAFE, Perms, READ_ACL_UNSAFE, type Acl, type AclId } from '../../src/protocol/zookeeper.js';
import { SUPER_ID, digestId } from '../../src/tree/acl.js';
import { DataTree, type ApplyResult } from '../../src/tree/tree.js';
import type { MultiOp, TreeTxn } from '../../src/tree/txn.js';

const PATHS = ['/a', '/b', '/a/x', '/a/y', '/b/x', '/a/x/z', '/zookeeper/q', '/'];
const SESSIONS = [1n, 2n, 3n];
const bob: AclId = { scheme: 'digest', id: digestId('bob', 'pw') };
const AUTHS: readonly (readonly AclId[])[] = [[], [bob], [SUPER_ID]];
const ACLS: readonly (readonly Acl[])[] = [OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, [{ perms: Perms.ALL, id: bob }], [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }], []];
const SNAPSHOT_HEADER_BYTES = 14; // magic, format version, lastZxid

const path = fc.oneof({ weight: 2, arbitrary: fc.constantFrom('/a', '/b') }, fc.constantFrom(...PATHS));
const version = fc.integer({ min: -1, max: 2 });
const data = fc.uint8Array({ maxLength: 4 });
const mode = fc.integer({ min: 0, max: 6 }) as fc.Arbitrary<CreateMode>;

const acl = fc.oneof({ weight: 4, arbitrary: fc.constant(OPEN_ACL_UNSAFE) }, fc.constantFrom(...ACLS));
const isTtlMode = (m: number): boolean => m === CreateMode.PERSISTENT_WITH_TTL || m === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
/** Mostly well-formed creates: a TTL only with TTL modes, except for one case in ten each way. */
const createOp = fc
  .tuple(path, data, acl, mode, fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 40 }))
  .map(([p, d, a, m, misuse, ttl]) => {
    const op = { type: 'create' as const, path: p, data: d, acl: a, mode: m };
    if (isTtlMode(m)) return { ...op, ttlMs: misuse === 0 ? 0 : ttl };
    return misuse === 0 ? { ...op, ttlMs: ttl } : op;
  });
const deleteOp = fc.record({ type: fc.constant('delete' as const), path, version });
const setDataOp = fc.record({ type: fc.constant('setData' as const), path, data, version });
const checkOp = fc.record({ type: fc.constant('check' as const), path, version });
const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(createOp, deleteOp, setDataOp, checkOp);

const auth = fc.oneof({ weight: 3, arbitrary: fc.constant(AUTHS[0] ?? []) }, fc.constantFrom(...AUTHS));
const requester = fc.record({ sessionId: fc.constantFrom(...SESSIONS), auth });

/** A step: a transaction (or "reap", resolved against the tree at that point) and how far the clock moves. */
type Step = { txn: TreeTxn | 'reap'; advanceMs: number };

const txn: fc.Arbitrary<TreeTxn | 'reap'> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(requester, createOp).map(([r, op]) => ({ ...r, ...op })) },
  { weight: 3, arbitrary: fc.tuple(requester, deleteOp).map(([r, op]) => ({ ...r, ...op })) },
  { weight: 3, arbitrary: fc.tuple(requester, setDataOp).map(([r, op]) => ({ ...r, ...op })) },
  { weight: 1, arbitrary: fc.tuple(requester, checkOp).map(([r, op]) => ({ ...r, ...op })) },
  {
    weight: 1,
    arbitrary: fc.tuple(requester, path, fc.constantFrom(...ACLS), version).map(([r, p, acl, v]) => ({ ...r, type: 'setACL' as const, path: p, acl, version: v })),
  },
  { weight: 3, arbitrary: fc.tuple(requester, fc.array(multiOp, { maxLength: 4 })).map(([r, ops]) => ({ ...r, type: 'multi' as const, ops })) },
  { weight: 1, arbitrary: fc.constantFrom(...SESSIONS).map((sessionId) => ({ type: 'createSession' as const, sessionId, timeoutMs: 1000 })) },
  { weight: 1, arbitrary: fc.constantFrom(...SESSIONS).map((sessionId) => ({ type: 'closeSession' as const, sessionId })) },
  { weight: 1, arbitrary: fc.constant('reap' as const) },
);
const steps = fc.array(fc.record({ txn, advanceMs: fc.integer({ min: 0, max: 30 }) }), { minLength: 1, maxLength: 60, size: '+1' });

/** Turn the steps into concrete log entries, resolving "reap" with the leader's view (tree `leader`). */
function* entries(leader: DataTree, list: readonly Step[]): Generator<{ txn: TreeTxn; zxid: bigint; timeMs: number }> {
  let timeMs = 1_000;
  let zxid = 0n;
  // Open every session first so that most requests get past the session check.
  const opening: Step[] = SESSIONS.map((sessionId) => ({ txn: { type: 'createSession', sessionId, timeoutMs: 1000 }, advanceMs: 0 }));
  for (const step of [...opening, ...list]) {
    timeMs += step.advanceMs;
    zxid += 1n;
    const txn: TreeTxn =
      step.txn === 'reap' ? { type: 'reapExpired', paths: [...leader.containerCandidates(), ...leader.expiredTtlNodes(timeMs)] } : step.txn;
    yield { txn, zxid, timeMs };
  }
}

/** The snapshot without its header, i.e. without lastZxid: what a failed transaction must leave alone. */
function stateBytes(tree: DataTree): Buffer {
  return Buffer.from(tree.serialize().subarray(SNAPSHOT_HEADER_BYTES));
}

describe('DataTree properties', () => {
  it('is deterministic: two replicas fed the same log agree on every result and digest', () => {
    fc.assert(
      fc.property(steps, (list) => {
        const a = new DataTree();
        const b = new DataTree();
        for (const { txn, zxid, timeMs } of entries(a, list)) {
          const ra = a.apply(txn, { zxid, timeMs });
          const rb = b.apply(txn, { zxid, timeMs });
          expect(rb).toEqual(ra);
          expect(b.digest()).toBe(a.digest());
        }
        a.checkInvariants();
        expect(Buffer.from(b.serialize()).equals(Buffer.from(a.serialize()))).toBe(true);
      }),
    );
  });

  it('changes nothing on a failed transaction and keeps its invariants after every step', () => {
    fc.assert(
      fc.property(steps, (list) => {
        const tree = new DataTree();
        for (const { txn, zxid, timeMs } of entries(tree, list)) {
          const before = stateBytes(tree);
          const result: ApplyResult = tree.apply(txn, { zxid, timeMs });
          if (result.err !== ErrorCode.OK) {
            // Buffer.equals rather than toEqual: element-wise deep equality is slow over thousands of steps.
            expect(stateBytes(tree).equals(before)).toBe(true);
            expect(result.triggers).toHaveLength(0);
          }
          tree.checkInvariants();
        }
      }),
    );
  });

  it('gives the same state from a snapshot taken midway plus the rest of the log', () => {
    fc.assert(
      fc.property(steps, fc.nat(), (list, cut) => {
        const log: Array<{ txn: TreeTxn; zxid: bigint; timeMs: number }> = [];
        const full = new DataTree();
        for (const e of entries(full, list)) log.push(e), full.apply(e.txn, e);
        const at = cut % (log.length + 1);
        const head = new DataTree();
        for (const e of log.slice(0, at)) head.apply(e.txn, e);
        const restored = DataTree.deserialize(head.serialize());
        for (const e of log.slice(at)) restored.apply(e.txn, e);
        expect(restored.digest()).toBe(full.digest());
        expect(Buffer.from(restored.serialize()).equals(Buffer.from(full.serialize()))).toBe(true);
      }),
    );
  });

  it('encodes a snapshot a slice at a time, while the log goes on, to the bytes serialize gave at its start', () => {
    const slices = fc.array(fc.record({ steps: fc.integer({ min: 0, max: 2 }), budget: fc.integer({ min: 1, max: 3 }) }), { maxLength: 80 });
    fc.assert(
      fc.property(steps, fc.nat(), slices, (list, cut, interleaving) => {
        const log: Array<{ txn: TreeTxn; zxid: bigint; timeMs: number }> = [];
        const full = new DataTree();
        for (const e of entries(full, list)) log.push(e), full.apply(e.txn, e);
        const tree = new DataTree();
        const at = cut % (log.length + 1);
        for (const e of log.slice(0, at)) tree.apply(e.txn, e);
        const expected = Buffer.from(tree.serialize());
        const encoder = tree.beginSnapshot();
        let chunks: readonly Uint8Array[] | null = null;
        let i = 0;
        for (const e of log.slice(at)) {
          tree.apply(e.txn, e);
          const slice = interleaving[i++ % Math.max(1, interleaving.length)] ?? { steps: 1, budget: 1 };
          for (let k = 0; k < slice.steps && chunks === null; k++) chunks = encoder.step(slice.budget);
        }
        while (chunks === null) chunks = encoder.step(1);
        expect(Buffer.concat(chunks).equals(expected)).toBe(true);
        // The tree itself was not disturbed, and it no longer keeps records for the encoder.
        tree.checkInvariants();
        expect(DataTree.deserialize(tree.serialize()).digest()).toBe(tree.digest());
      }),
    );
  });
});

/** A naive model of persistent nodes (existence, data version, children) for a single open-ACL session. */
class Model {
  readonly nodes = new Map<string, number>([['/', 0], ['/zookeeper', 0], ['/zookeeper/quota', 0], ['/zookeeper/config', 0]]);

  private parent(p: string): string {
    const i = p.lastIndexOf('/');
    return i === 0 ? '/' : p.slice(0, i);
  }

  private hasChildren(p: string): boolean {
    return [...this.nodes.keys()].some((q) => q !== p && this.parent(q) === p);
  }

  apply(op: MultiOp): ErrorCode {
    const exists = this.nodes.has(op.path);
    const versionOk = (v: number) => v === -1 || v === this.nodes.get(op.path);
    if (op.type === 'create') {
      if (!this.nodes.has(this.parent(op.path))) return ErrorCode.NONODE;
      if (exists) return ErrorCode.NODEEXISTS;
      this.nodes.set(op.path, 0);
    } else if (op.type === 'delete') {
      if (['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config'].includes(op.path)) return ErrorCode.BADARGUMENTS;
      if (!this.nodes.has(this.parent(op.path)) || !exists) return ErrorCode.NONODE;
      if (!versionOk(op.version)) return ErrorCode.BADVERSION;
      if (this.hasChildren(op.path)) return ErrorCode.NOTEMPTY;
      this.nodes.delete(op.path);
    } else if (op.type === 'setData') {
      if (!exists) return ErrorCode.NONODE;
      if (op.path === '/zookeeper/config') return ErrorCode.NOAUTH;
      if (!versionOk(op.version)) return ErrorCode.BADVERSION;
      this.nodes.set(op.path, (this.nodes.get(op.path) ?? 0) + 1);
    }
    return ErrorCode.OK;
  }
}

describe('DataTree against a naive model', () => {
  const simpleOp: fc.Arbitrary<MultiOp> = fc.oneof(
    fc.record({ type: fc.constant('create' as const), path, data, acl: fc.constant(OPEN_ACL_UNSAFE), mode: fc.constant(CreateMode.PERSISTENT) }),
    deleteOp,
    setDataOp,
  ).filter((op) => op.path !== '/' || op.type !== 'create');

  it('agrees on error codes, existence and versions for plain create/delete/setData', () => {
    fc.assert(
      fc.property(fc.array(simpleOp, { maxLength: 80 }), (ops) => {
        const tree = new DataTree();
        const model = new Model();
        tree.apply({ type: 'createSession', sessionId: 1n, timeoutMs: 1000 }, { zxid: 1n, timeMs: 0 });
        ops.forEach((op, i) => {
          const result = tree.apply({ ...op, sessionId: 1n, auth: [] }, { zxid: BigInt(i + 2), timeMs: i });
          expect(result.err).toBe(model.apply(op));
        });
        for (const p of PATHS) expect(tree.exists(p)?.version).toBe(model.nodes.get(p));
      }),
    );
  });
});
