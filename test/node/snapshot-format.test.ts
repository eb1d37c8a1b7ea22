/**
 * Snapshot formats of the node and of the coordination service: format 2 (a small MessagePack
 * header in front of the raw application bytes) round-trips, format 1 snapshots written before it
 * still load, and damage is refused with a reason.
 */
import { clearTimeout, setTimeout } from 'node:timers';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory.js';
import { ConsensusNode } from '../../src/node/node.js';
import { REALTIME_TIMINGS, realtimeNetwork } from '../../src/node/realtime.js';
import { CoordinationService } from '../../src/node/service.js';
import { decodeNodeSnapshot, encodeNodeSnapshot } from '../../src/node/snapshot.js';
import { MemoryStorage } from '../../src/node/storage.js';
import type { PeerMessage } from '../../src/protocol/messages.js';
import { SeededRandom } from '../../src/protocol/random.js';
import { CreateMode, OPEN_ACL_UNSAFE } from '../../src/protocol/zookeeper.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true });
const position = { slot: 42, lastEpoch: 3, zxidEpoch: 3, zxidCounter: 17 };

/** A service on a node that is never started: enough to snapshot and restore its tree. */
function idleService(): CoordinationService {
  const node = new ConsensusNode({
    id: 1,
    voters: [1],
    members: [1],
    bus: new MemoryBus<PeerMessage>(realtimeNetwork, new SeededRandom(1)),
    clock: { setTimeout, clearTimeout },
    now: () => 0,
    storage: new MemoryStorage(),
    timings: REALTIME_TIMINGS,
    seed: 1,
  });
  return new CoordinationService({ node, serverId: 1, clock: { setTimeout, clearTimeout }, now: () => 0, tickMs: 2000 });
}

describe('node snapshot format', () => {
  it('round-trips format 2 with the application bytes untouched', () => {
    const app = new Uint8Array(100_000).map((_, i) => i % 251);
    const decoded = decodeNodeSnapshot(encodeNodeSnapshot({ ...position, app }));
    expect({ ...decoded, app: undefined }).toEqual({ ...position, app: undefined });
    expect(Buffer.from(decoded.app).equals(Buffer.from(app))).toBe(true);
  });

  it('still loads format 1 (one MessagePack map, written before format 2)', () => {
    const app = new Uint8Array([1, 2, 3]);
    const decoded = decodeNodeSnapshot(packr.pack({ v: 1, ...position, app }));
    expect(decoded.slot).toBe(42);
    expect([...decoded.app]).toEqual([1, 2, 3]);
  });

  it('refuses a header that runs past the end, a bad field and an unknown version', () => {
    const good = encodeNodeSnapshot({ ...position, app: new Uint8Array(10) });
    const longHeader = good.slice();
    new DataView(longHeader.buffer).setUint32(4, 1_000_000);
    expect(() => decodeNodeSnapshot(longHeader)).toThrow(/runs past/);
    expect(() => decodeNodeSnapshot(encodeNodeSnapshot({ ...position, slot: -1, app: new Uint8Array(0) }))).toThrow(/slot is not a count/);
    expect(() => decodeNodeSnapshot(packr.pack({ v: 7, ...position, app: new Uint8Array(0) }))).toThrow(/unknown snapshot version 7/);
    expect(() => decodeNodeSnapshot(new Uint8Array([0x85, 0xa1]))).toThrow(/not MessagePack/);
  });
});

describe('service snapshot format', () => {
  function serviceWithNodes(): CoordinationService {
    const service = idleService();
    let zxid = 1n;
    service.tree.apply({ type: 'createSession', sessionId: 5n, timeoutMs: 4000 }, { zxid: zxid++, timeMs: 0 });
    for (const path of ['/a', '/a/b', '/c']) {
      service.tree.apply({ type: 'create', sessionId: 5n, auth: [], path, data: new Uint8Array([7]), acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT }, { zxid: zxid++, timeMs: 0 });
    }
    return service;
  }

  it('restores format 2, encoded in steps, to the same tree', () => {
    const source = serviceWithNodes();
    const encoding = source.snapshot();
    let chunks = encoding.step();
    while (chunks === null) chunks = encoding.step();
    const copy = idleService();
    copy.restore(Buffer.concat(chunks));
    expect(copy.tree.digest()).toBe(source.tree.digest());
  });

  it('still restores format 1 (the tree inside one MessagePack map)', () => {
    const source = serviceWithNodes();
    const copy = idleService();
    copy.restore(packr.pack({ v: 1, tree: source.tree.serialize(), order: [] }));
    expect(copy.tree.digest()).toBe(source.tree.digest());
    expect(() => copy.restore(packr.pack({ v: 9, tree: source.tree.serialize(), order: [] }))).toThrow(/unknown service snapshot version 9/);
  });
});
