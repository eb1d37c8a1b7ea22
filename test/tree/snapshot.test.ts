import { describe, expect, it } from 'vitest';
import { CreateMode, ErrorCode, Perms } from '../../src/protocol/zookeeper.js';
import { digestId } from '../../src/tree/acl.js';
import { ByteReader, ByteWriter } from '../../src/tree/codec.js';
import { SNAPSHOT_FORMAT_VERSION } from '../../src/tree/snapshot.js';
import { DataTree } from '../../src/tree/tree.js';
import { Harness, S1, S2, bytes } from './harness.js';

/** Byte comparison through Buffer: vitest's element-wise toEqual is slow on large arrays. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function dataOf(r: ReturnType<DataTree['getData']>): Uint8Array {
  return r.err === ErrorCode.OK ? r.data : new Uint8Array(0);
}

const bob = { scheme: 'digest', id: digestId('bob', 'pw') };

/** A tree with one of everything: sessions, ephemerals, sequential, container, TTL, ACLs, binary data. */
function richHarness(): Harness {
  const h = new Harness({ superDigest: digestId('super', 's') });
  h.apply({ type: 'createSession', sessionId: 0x7fff_ffff_ffff_ffffn, timeoutMs: 5000, passwordHex: '00ff' });
  h.create('/app', { data: 'config' });
  h.create('/app/lock-', { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
  h.create('/app/lock-', { mode: CreateMode.EPHEMERAL_SEQUENTIAL, sessionId: S2 });
  h.create('/c', { mode: CreateMode.CONTAINER });
  h.create('/c/x');
  h.delete('/c/x');
  h.create('/t', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 1234 });
  h.create('/secret', { acl: [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }], auth: [bob] });
  h.create('/ü-ñ', { data: '\u0000\u00ff' });
  h.apply({ type: 'setData', sessionId: S1, auth: [], path: '/app', data: new Uint8Array(300_000).fill(7), version: -1 });
  return h;
}

describe('snapshots', () => {
  it('round-trip to the same digest, bytes, reads and future behaviour', () => {
    const h = richHarness();
    const snap = h.tree.serialize();
    const copy = DataTree.deserialize(snap, { superDigest: digestId('super', 's') });
    expect(copy.digest()).toBe(h.tree.digest());
    expect(sameBytes(copy.serialize(), snap)).toBe(true);
    expect(copy.lastZxid).toBe(h.tree.lastZxid);
    const big = (t: DataTree) => t.getData('/app', []);
    expect(sameBytes(dataOf(big(copy)), dataOf(big(h.tree)))).toBe(true);
    for (const path of ['/', '/c', '/t', '/secret', '/ü-ñ', '/zookeeper/config']) {
      expect(copy.getData(path, [bob])).toEqual(h.tree.getData(path, [bob]));
      expect(copy.getACL(path, [])).toEqual(h.tree.getACL(path, []));
      expect(copy.getChildren(path, [bob])).toEqual(h.tree.getChildren(path, [bob]));
    }
    expect(copy.sessionIds()).toEqual(h.tree.sessionIds());
    expect(copy.getSession(0x7fff_ffff_ffff_ffffn)?.passwordHex).toBe('00ff');
    expect(copy.getSession(S1)?.passwordHex).toBeUndefined();
    expect(copy.containerCandidates()).toEqual(['/c']);
    expect(copy.expiredTtlNodes(h.timeMs + 2000)).toEqual(['/t']);

    const next = { zxid: h.zxid + 1n, timeMs: h.timeMs + 1 };
    const seq = { type: 'create', sessionId: S1, auth: [], path: '/app/lock-', data: bytes(''), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], mode: CreateMode.EPHEMERAL_SEQUENTIAL } as const;
    expect(copy.apply(seq, next)).toEqual(h.tree.apply(seq, next));
    const close = { zxid: h.zxid + 2n, timeMs: h.timeMs + 2 };
    expect(copy.apply({ type: 'closeSession', sessionId: S1 }, close)).toEqual(h.tree.apply({ type: 'closeSession', sessionId: S1 }, close));
    expect(copy.digest()).toBe(h.tree.digest());
  });

  it('differ in digest when any replicated detail differs', () => {
    const a = richHarness();
    const b = richHarness();
    expect(a.tree.digest()).toBe(b.tree.digest());
    b.setAcl('/app', [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }]);
    a.apply({ type: 'noop' });
    expect(a.tree.digest()).not.toBe(b.tree.digest());
    const c = richHarness();
    const d = richHarness();
    c.apply({ type: 'createSession', sessionId: 99n, timeoutMs: 1 });
    d.apply({ type: 'createSession', sessionId: 99n, timeoutMs: 2 });
    expect(c.tree.digest()).not.toBe(d.tree.digest());
  });

  it('refuse corrupt, truncated, foreign and future-version input', () => {
    const snap = richHarness().tree.serialize();
    const flipped = snap.slice();
    const at = snap.length - 40;
    flipped[at] = (flipped[at] ?? 0) ^ 0x01;
    expect(() => DataTree.deserialize(flipped)).toThrow(RangeError);
    expect(() => DataTree.deserialize(snap.slice(0, snap.length - 3))).toThrow(RangeError);
    expect(() => DataTree.deserialize(new Uint8Array([...snap, 0]))).toThrow(RangeError);
    expect(() => DataTree.deserialize(bytes('JUNK'))).toThrow(/not a statekeeper/);
    const future = snap.slice();
    new DataView(future.buffer).setUint16(4, SNAPSHOT_FORMAT_VERSION + 1);
    expect(() => DataTree.deserialize(future)).toThrow(/version/);
  });

  it('start from the state a fresh tree has', () => {
    const fresh = new DataTree();
    const copy = DataTree.deserialize(fresh.serialize());
    expect(copy.digest()).toBe(fresh.digest());
    expect(copy.exists('/zookeeper/config')?.aversion).toBe(-1);
    expect(copy.getChildren('/zookeeper', [])).toEqual({ err: ErrorCode.OK, children: ['config', 'quota'] });
  });
});

describe('snapshots encoded a slice at a time', () => {
  it('describe the tree at their start across thousands of nodes changed, removed and added meanwhile', () => {
    const h = new Harness();
    for (let i = 0; i < 5000; i++) h.create(`/n${i}`, { data: `v${i}` });
    const expected = h.tree.serialize();
    const encoder = h.tree.beginSnapshot();
    let encoded: readonly Uint8Array[] | null = null;
    let i = 0;
    while (encoded === null) {
      encoded = encoder.step(100);
      // Every step: change one node, remove one and re-create it, and add a new one.
      h.apply({ type: 'setData', sessionId: S1, auth: [], path: `/n${i % 5000}`, data: bytes('changed'), version: -1 });
      h.delete(`/n${(i * 7) % 5000}`);
      h.create(`/n${(i * 7) % 5000}`, { data: 'again' });
      h.create(`/new${i}`);
      i++;
    }
    expect(i).toBeGreaterThan(100);
    expect(sameBytes(Buffer.concat(encoded), expected)).toBe(true);
    h.tree.checkInvariants();
  });

  it('take one call with an unbounded budget', () => {
    const h = richHarness();
    const encoded = h.tree.beginSnapshot().step(Number.POSITIVE_INFINITY);
    expect(encoded).not.toBeNull();
    expect(sameBytes(Buffer.concat(encoded!), h.tree.serialize())).toBe(true);
  });

  it('end when another starts or when cancelled, and the tree forgets them', () => {
    const h = new Harness();
    for (let i = 0; i < 10; i++) h.create(`/n${i}`);
    const first = h.tree.beginSnapshot();
    expect(first.step(1)).toBeNull();
    const second = h.tree.beginSnapshot();
    expect(() => first.step(1)).toThrow(/superseded/);
    h.create('/later');
    second.cancel();
    expect(() => second.step(1)).toThrow(/cancelled/);
    const third = h.tree.beginSnapshot();
    let chunks: readonly Uint8Array[] | null = null;
    while (chunks === null) chunks = third.step();
    expect(sameBytes(Buffer.concat(chunks), h.tree.serialize())).toBe(true);
  });
});

describe('ByteWriter / ByteReader', () => {
  it('round-trip every field type across buffer growth', () => {
    const w = new ByteWriter();
    for (let i = 0; i < 200; i++) w.u8(i).u16(i * 300).u32(i * 70_000).i32(-i).f64(i / 3).i64(BigInt(-i) << 40n).string(`s${i}`).bytes(new Uint8Array(i));
    const r = new ByteReader(w.finish());
    for (let i = 0; i < 200; i++) {
      expect([r.u8(), r.u16(), r.u32(), r.i32(), r.f64(), r.i64(), r.string(), r.bytes().length]).toEqual([
        i, i * 300, i * 70_000, 0 - i, i / 3, BigInt(-i) << 40n, `s${i}`, i,
      ]);
    }
    r.expectEnd();
  });

  it('refuses values outside signed 64 bits', () => {
    expect(() => new ByteWriter().i64(1n << 63n)).toThrow(RangeError);
    expect(() => new ByteWriter().i64(-(1n << 63n))).not.toThrow();
  });
});

describe('snapshot format 2: null data', () => {
  it('keeps null data apart from empty data across a round trip', () => {
    const h = new Harness();
    h.apply({ type: 'create', sessionId: S1, auth: [], path: '/null', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], mode: CreateMode.PERSISTENT });
    h.create('/empty');
    const copy = DataTree.deserialize(h.tree.serialize());
    expect(copy.readData('/null', [])).toMatchObject({ err: ErrorCode.OK, data: null });
    expect(copy.readData('/empty', [])).toMatchObject({ err: ErrorCode.OK, data: new Uint8Array(0) });
    expect(copy.digest()).toBe(h.tree.digest());
  });

  it('still loads format 1 (the same bytes without null data, under version 1)', () => {
    const h = richHarness();
    const v2 = h.tree.serialize();
    expect(new DataView(v2.buffer, v2.byteOffset).getUint16(4)).toBe(SNAPSHOT_FORMAT_VERSION);
    const v1 = v2.slice();
    new DataView(v1.buffer, v1.byteOffset).setUint16(4, 1);
    expect(DataTree.deserialize(v1, { superDigest: digestId('super', 's') }).digest()).toBe(h.tree.digest());
    const v3 = v2.slice();
    new DataView(v3.buffer, v3.byteOffset).setUint16(4, 3);
    expect(() => DataTree.deserialize(v3)).toThrow('unsupported snapshot format version 3');
  });
});
