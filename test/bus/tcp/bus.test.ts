import { afterEach, describe, expect, it } from 'vitest';
import type { TcpBus } from '../../../src/bus/tcp/bus.js';
import type { NodeId } from '../../../src/protocol/ids.js';
import {
  HOST,
  InboxRecorder,
  allConnected,
  closeAll,
  newBus,
  nextEvent,
  startCluster,
  within,
  WAIT_MS,
} from './helpers.js';
import type { TestMessage } from './helpers.js';

const open: TcpBus<any>[] = [];
afterEach(async () => {
  await closeAll(open.splice(0));
});

function track<B extends TcpBus<any>>(bus: B): B {
  open.push(bus);
  return bus;
}

/** A payload exercising what MessagePack must carry exactly. */
function payloadFrom(from: NodeId, to: NodeId): unknown {
  return {
    zxid: (BigInt(from) << 32n) | BigInt(to),
    huge: 2n ** 100n + BigInt(from),
    negative: -(2n ** 63n),
    data: new Uint8Array([from, to, 0, 255]),
    nested: [{ path: `/n${from}`, version: -1, ephemeral: true, note: null }, 'x', 1.5],
    absent: undefined,
  };
}

describe('TcpBus between three nodes on loopback', () => {
  it('delivers all-to-all with exact payloads, and to self asynchronously', async () => {
    const ids = [1, 2, 3];
    const buses = await startCluster(ids);
    for (const b of buses.values()) track(b);
    const inboxes = new Map(ids.map((id) => [id, new InboxRecorder<TestMessage>(buses.get(id)!.inbox(id))]));

    for (const from of ids) {
      for (const to of ids) {
        buses.get(from)!.send({ from, to, msg: { type: 'Probe', from, to, payload: payloadFrom(from, to) } });
      }
    }
    // Self-delivery is never synchronous: nothing has arrived yet, not even a node's own message.
    for (const inbox of inboxes.values()) expect(inbox.received).toHaveLength(0);

    for (const to of ids) {
      const got = await inboxes.get(to)!.until(ids.length);
      expect(got.map((e) => e.from).sort()).toEqual(ids);
      for (const env of got) {
        expect(env.to).toBe(to);
        expect(env.msg).toEqual({ type: 'Probe', from: env.from, to, payload: payloadFrom(env.from, to) });
        const payload = env.msg['payload'] as { data: unknown; zxid: unknown; huge: unknown };
        expect(payload.data).toBeInstanceOf(Uint8Array);
        expect(Buffer.isBuffer(payload.data)).toBe(false);
        expect(typeof payload.zxid).toBe('bigint');
        expect(payload.huge).toBe(2n ** 100n + BigInt(env.from));
      }
    }
    const stats = buses.get(1)!.stats();
    expect(stats.peers.map((p) => [p.peer, p.connected, p.sent, p.received, p.dropped])).toEqual([
      [2, true, 1, 1, 0],
      [3, true, 1, 1, 0],
    ]);
    // The higher id dials: node 1 only waits, node 3 dials both others.
    expect(stats.peers.every((p) => !p.dials)).toBe(true);
    expect(buses.get(3)!.stats().peers.every((p) => p.dials)).toBe(true);
  });

  it('keeps per-link order for a burst', async () => {
    const buses = await startCluster([1, 2]);
    for (const b of buses.values()) track(b);
    const inbox = new InboxRecorder<TestMessage>(buses.get(1)!.inbox(1));
    const count = 500;
    for (let i = 0; i < count; i++) buses.get(2)!.send({ from: 2, to: 1, msg: { type: 'Seq', i } });
    const got = await inbox.until(count);
    expect(got.map((e) => e.msg['i'])).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it('offers only the local inbox and refuses to send as another node', async () => {
    const bus = track(newBus(1));
    expect(() => bus.inbox(2)).toThrow(/no inbox for node 2/);
    expect(() => bus.send({ from: 2, to: 1, msg: { type: 'X' } })).toThrow(/cannot send as node 2/);
  });

  it('drops (and counts) messages to a node that is not a peer', async () => {
    const bus = track(newBus(1, { peers: new Map([[2, null]]) }));
    await bus.start();
    bus.send({ from: 1, to: 7, msg: { type: 'X' } });
    bus.send({ from: 1, to: 7, msg: { type: 'X' } });
    expect(bus.stats().unroutable).toBe(2);
  });

  it('reconnects after a peer restarts, in both dialing directions, and messages flow again', async () => {
    const buses = await startCluster([1, 2, 3]);
    for (const b of buses.values()) track(b);
    const b1 = buses.get(1)!;
    const b3 = buses.get(3)!;
    const old2 = buses.get(2)!;
    const port2 = old2.address.port;

    // Node 3 dials node 2: when 2 goes away, 3 sees the link drop and keeps retrying.
    const down = nextEvent(b3, (e) => e.type === 'linkDown' && e.peer === 2);
    old2.close();
    await old2.whenClosed();
    await within(down, WAIT_MS, 'node 3 to notice node 2 went down');

    // While 2 is down, messages for it wait in the queue.
    b1.send({ from: 1, to: 2, msg: { type: 'WhileDown', from: 1 } });
    b3.send({ from: 3, to: 2, msg: { type: 'WhileDown', from: 3 } });

    const reconnected1 = nextEvent(b1, (e) => e.type === 'linkUp' && e.peer === 2);
    const reconnected3 = nextEvent(b3, (e) => e.type === 'linkUp' && e.peer === 2);
    const new2 = track(
      newBus(2, {
        listen: { host: HOST, port: port2 },
        peers: new Map([
          [1, b1.address],
          [3, b3.address],
        ]),
      }),
    );
    const inbox2 = new InboxRecorder<TestMessage>(new2.inbox(2));
    await new2.start();
    // Node 2 dials node 1 itself; node 3 finds the restarted node 2 at the same port.
    await within(Promise.all([reconnected1, reconnected3]), WAIT_MS, 'links to the restarted node');
    await allConnected(new2, [1, 3]);

    const queued = await inbox2.until(2);
    expect(queued.map((e) => e.from).sort()).toEqual([1, 3]);
    expect(queued.every((e) => e.msg.type === 'WhileDown')).toBe(true);

    const inbox1 = new InboxRecorder<TestMessage>(b1.inbox(1));
    const inbox3 = new InboxRecorder<TestMessage>(b3.inbox(3));
    new2.send({ from: 2, to: 1, msg: { type: 'Back' } });
    new2.send({ from: 2, to: 3, msg: { type: 'Back' } });
    expect((await inbox1.until(1))[0]).toEqual({ from: 2, to: 1, msg: { type: 'Back' } });
    expect((await inbox3.until(1))[0]).toEqual({ from: 2, to: 3, msg: { type: 'Back' } });
    expect(b1.stats().peers.find((p) => p.peer === 2)!.reconnects).toBe(1);
    expect(b3.stats().peers.find((p) => p.peer === 2)!.reconnects).toBe(1);
  });

  it('bounds the queue of an unreachable peer: the oldest are dropped and counted', async () => {
    const limit = 5;
    const b1 = track(newBus(1, { peers: new Map([[2, null]]), limits: { maxQueuedMessagesPerPeer: limit, reconnectMinMs: 10, reconnectMaxMs: 100 } }));
    // Node 2 dials node 1, but does not know where node 1 is yet.
    const b2 = track(newBus(2, { peers: new Map([[1, null]]) }));
    await b1.start();
    await b2.start();
    const total = 8;
    for (let i = 0; i < total; i++) b1.send({ from: 1, to: 2, msg: { type: 'Seq', i } });
    const before = b1.stats().peers[0]!;
    expect([before.connected, before.queued, before.dropped, before.sent]).toEqual([false, limit, total - limit, 0]);

    const inbox2 = new InboxRecorder<TestMessage>(b2.inbox(2));
    b2.setPeers(new Map([[1, b1.address]]));
    const got = await inbox2.until(limit);
    // The newest `limit` messages survive, in order.
    expect(got.map((e) => e.msg['i'])).toEqual([3, 4, 5, 6, 7]);
    const after = b1.stats().peers[0]!;
    expect([after.connected, after.queued, after.dropped, after.sent]).toEqual([true, 0, total - limit, limit]);
  });

  it('drops a message larger than the frame limit at the sender, and the link stays up', async () => {
    const buses = await startCluster([1, 2], () => ({ limits: { maxFrameBytes: 1024, maxQueuedBytesPerPeer: 4096 } }));
    for (const b of buses.values()) track(b);
    const inbox = new InboxRecorder<TestMessage>(buses.get(1)!.inbox(1));
    buses.get(2)!.send({ from: 2, to: 1, msg: { type: 'Big', data: new Uint8Array(2048) } });
    buses.get(2)!.send({ from: 2, to: 1, msg: { type: 'Small' } });
    const got = await inbox.until(1);
    expect(got.map((e) => e.msg.type)).toEqual(['Small']);
    expect(buses.get(2)!.stats().peers[0]!.dropped).toBe(1);
    expect(buses.get(2)!.stats().peers[0]!.connected).toBe(true);
  });

  it('completes its streams and ignores sends after close', async () => {
    const bus = newBus(1, { peers: new Map([[2, null]]) });
    await bus.start();
    let completed = false;
    bus.inbox(1).subscribe({ complete: () => (completed = true) });
    bus.close();
    await within(bus.whenClosed(), WAIT_MS, 'close');
    expect(completed).toBe(true);
    bus.send({ from: 1, to: 2, msg: { type: 'Late' } });
    expect(bus.stats().peers[0]!.queued).toBe(0);
  });

  it('rejects incoherent limits', () => {
    expect(() => newBus(1, { limits: { reconnectMinMs: 500, reconnectMaxMs: 100 } })).toThrow(/reconnectMinMs/);
    expect(() => newBus(1, { limits: { maxFrameBytes: 1024, maxQueuedBytesPerPeer: 512 } })).toThrow(/maxQueuedBytesPerPeer/);
    expect(() => newBus(1, { secret: '' })).toThrow(/secret/);
  });
});
