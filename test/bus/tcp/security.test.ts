import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { TcpBus, TcpBusEvent } from '../../../src/bus/tcp/bus.js';
import { encodeMessage } from '../../../src/bus/tcp/codec.js';
import type { DisconnectReason } from '../../../src/bus/tcp/connection.js';
import { FrameDecoder, encodeFrame } from '../../../src/bus/tcp/frames.js';
import { PEER_PROTOCOL_VERSION, PROOF_BYTES, decodeHello, encodeChallenge, encodeHello, encodeProof, newNonce } from '../../../src/bus/tcp/handshake.js';
import {
  FAST_LIMITS,
  HOST,
  InboxRecorder,
  RecordingLogger,
  closeAll,
  newBus,
  nextEvent,
  rawConnect,
  rawHandshake,
  startCluster,
  within,
  WAIT_MS,
} from './helpers.js';
import type { TestMessage } from './helpers.js';

const open: TcpBus<any>[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await closeAll(open.splice(0));
  for (const s of servers.splice(0)) s.close();
});

/** Node 1, which only listens (its one peer, node 2, has the higher id and dials it). */
async function listenerBus(handshakeTimeoutMs = 200): Promise<{ bus: TcpBus<TestMessage>; logger: RecordingLogger; inbox: InboxRecorder<TestMessage> }> {
  const logger = new RecordingLogger();
  const bus = newBus(1, { peers: new Map([[2, null]]), logger, limits: { ...FAST_LIMITS, handshakeTimeoutMs } });
  open.push(bus);
  const inbox = new InboxRecorder<TestMessage>(bus.inbox(1));
  await bus.start();
  return { bus, logger, inbox };
}

function refused(reason: DisconnectReason) {
  return (e: TcpBusEvent): e is Extract<TcpBusEvent, { type: 'refused' }> => e.type === 'refused' && e.reason === reason;
}

function linkDown(peer: number, reason: DisconnectReason) {
  return (e: TcpBusEvent): e is Extract<TcpBusEvent, { type: 'linkDown' }> => e.type === 'linkDown' && e.peer === peer && e.reason === reason;
}

function hello(dialer: number, listener: number): Buffer {
  return encodeFrame(encodeHello({ version: PEER_PROTOCOL_VERSION, dialer, listener, nonce: newNonce() }));
}

describe('TcpBus refuses peers that cannot authenticate', () => {
  it('refuses a node with the wrong secret, logs it, and the others keep working', async () => {
    const logger1 = new RecordingLogger();
    const buses = await startCluster([1, 2, 3], (id) => (id === 1 ? { logger: logger1 } : {}));
    for (const b of buses.values()) open.push(b);
    const b1 = buses.get(1)!;
    const inbox1 = new InboxRecorder<TestMessage>(b1.inbox(1));

    // An impostor claiming to be node 3 (which really is connected) without the secret.
    const intruderLogger = new RecordingLogger();
    const intruder = newBus(3, { secret: 'not the cluster secret', logger: intruderLogger, peers: new Map([[1, b1.address]]) });
    open.push(intruder);
    const refusedAt1 = nextEvent(b1, refused('bad-proof'));
    const failedAtIntruder = nextEvent(intruder, (e) => e.type === 'dialFailed');
    intruder.send({ from: 3, to: 1, msg: { type: 'Intrusion' } });
    await intruder.start();
    const event = await refusedAt1;
    expect(event.peer).toBe(3);
    await failedAtIntruder;
    intruder.close();

    expect(logger1.warnings().some((r) => r.details['peer'] === 3 && r.details['reason'] === 'bad-proof')).toBe(true);
    // The real node 3's link was not disturbed by the impostor.
    expect(b1.stats().peers.map((p) => [p.peer, p.connected, p.reconnects])).toEqual([
      [2, true, 0],
      [3, true, 0],
    ]);
    buses.get(3)!.send({ from: 3, to: 1, msg: { type: 'Genuine' } });
    buses.get(2)!.send({ from: 2, to: 1, msg: { type: 'Genuine' } });
    const got = await inbox1.until(2);
    expect(got.map((e) => [e.from, e.msg.type]).sort()).toEqual([
      [2, 'Genuine'],
      [3, 'Genuine'],
    ]);
    expect(intruder.stats().peers[0]!.sent).toBe(0);
  });

  it('a dialer refuses a listener that cannot prove it knows the secret', async () => {
    // A fake node 1 that answers the handshake with a made-up proof.
    const server = createServer((socket: Socket) => {
      const frames = new FrameDecoder(1024);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) =>
        frames.push(chunk, (body) => {
          if (typeof decodeHello(body) !== 'string') socket.write(encodeFrame(encodeChallenge(newNonce())));
          else socket.write(encodeFrame(encodeProof(Buffer.alloc(PROOF_BYTES, 7))));
          return true;
        }),
      );
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    const logger = new RecordingLogger();
    const b2 = newBus(2, { logger, peers: new Map([[1, { host: HOST, port: (server.address() as AddressInfo).port }]]) });
    open.push(b2);
    const failed = nextEvent(b2, (e) => e.type === 'dialFailed' && e.reason === 'bad-proof');
    await b2.start();
    await failed;
    expect(b2.stats().peers[0]!.connected).toBe(false);
    expect(logger.warnings().some((r) => r.details['peer'] === 1 && r.details['reason'] === 'bad-proof')).toBe(true);
  });

  const preAuthCases: { name: string; bytes: () => Buffer; reason: DisconnectReason }[] = [
    { name: 'an HTTP request', bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), reason: 'frame-too-large' },
    { name: 'an oversized length prefix', bytes: () => Buffer.from([0xff, 0xff, 0xff, 0xff]), reason: 'frame-too-large' },
    { name: 'a small frame that is not a Hello', bytes: () => encodeFrame(Buffer.from('hello there')), reason: 'bad-handshake' },
    { name: 'a Hello with a bad magic', bytes: () => { const f = hello(2, 1); f[5] = 0x58; return f; }, reason: 'bad-handshake' },
    { name: 'a Hello of another protocol version', bytes: () => encodeFrame(encodeHello({ version: 9, dialer: 2, listener: 1, nonce: newNonce() })), reason: 'bad-version' },
    { name: 'a Hello from an unknown node id', bytes: () => hello(99, 1), reason: 'unknown-peer' },
    { name: 'a Hello from the node itself', bytes: () => hello(1, 1), reason: 'unknown-peer' },
    { name: 'a Hello meant for another node', bytes: () => hello(2, 5), reason: 'wrong-listener' },
    {
      name: 'a Hello, a made-up proof and a message in one write',
      bytes: () => Buffer.concat([hello(2, 1), encodeFrame(encodeProof(Buffer.alloc(PROOF_BYTES))), encodeFrame(encodeMessage({ type: 'Smuggled' }))]),
      reason: 'bad-proof',
    },
  ];

  for (const c of preAuthCases) {
    it(`disconnects a raw socket sending ${c.name} (${c.reason}), and delivers nothing`, async () => {
      const { bus, logger, inbox } = await listenerBus(WAIT_MS);
      const event = nextEvent(bus, refused(c.reason));
      const raw = await rawConnect(bus.address.port);
      raw.socket.write(c.bytes());
      await event;
      await within(raw.closed, WAIT_MS, 'the bus to close the socket');
      expect(inbox.received).toEqual([]);
      expect(logger.warnings().some((r) => r.details['reason'] === c.reason && r.message === 'peer connection refused')).toBe(true);
      expect(bus.stats().refusedConnections).toBe(1);
    });
  }

  it('refuses a dialer with a lower id (only the higher id dials)', async () => {
    const logger = new RecordingLogger();
    const b2 = newBus(2, { peers: new Map([[1, null]]), logger });
    open.push(b2);
    await b2.start();
    const event = nextEvent(b2, refused('wrong-direction'));
    const raw = await rawConnect(b2.address.port);
    raw.socket.write(hello(1, 2));
    expect((await event).peer).toBe(1);
    await within(raw.closed, WAIT_MS, 'close');
  });

  it('cuts a handshake that stalls, before and after the Hello', async () => {
    const { bus, logger, inbox } = await listenerBus(150);
    const silent = await rawConnect(bus.address.port);
    await within(silent.closed, WAIT_MS, 'the silent socket to be cut');
    const halfway = await rawConnect(bus.address.port);
    halfway.socket.write(hello(2, 1));
    await halfway.nextFrame(); // the challenge, never answered
    await within(halfway.closed, WAIT_MS, 'the stalled socket to be cut');
    const timeouts = logger.warnings().filter((r) => r.details['reason'] === 'handshake-timeout');
    expect(timeouts.map((r) => r.details['peer'])).toEqual([null, 2]);
    expect(inbox.received).toEqual([]);
  });

  it('refuses sockets beyond the limit of handshakes in progress, and serves the others', async () => {
    const bus = newBus(1, { peers: new Map([[2, null]]), limits: { ...FAST_LIMITS, maxPendingHandshakes: 2, handshakeTimeoutMs: WAIT_MS } });
    open.push(bus);
    await bus.start();
    const event = nextEvent(bus, refused('too-many-handshakes'));
    const first = await rawConnect(bus.address.port);
    const second = await rawConnect(bus.address.port);
    const third = await rawConnect(bus.address.port);
    await event;
    await within(third.closed, WAIT_MS, 'the third socket to be refused');
    first.socket.write(hello(2, 1));
    expect((await first.nextFrame())[0]).toBe(2); // a Challenge: the first is still being served
    second.socket.destroy();
  });

  it('never delivers anything from a socket sending random bytes', async () => {
    const { bus, inbox } = await listenerBus(100);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        const raw = await rawConnect(bus.address.port);
        raw.socket.write(bytes);
        await within(raw.closed, WAIT_MS, 'the bus to close the socket');
        expect(inbox.received).toEqual([]);
      }),
      { numRuns: 25 },
    );
    expect(bus.stats().refusedConnections).toBe(25);
  });
});

describe('TcpBus disconnects an authenticated peer that breaks the framing', () => {
  const postAuthCases: { name: string; frame: () => Buffer; reason: DisconnectReason }[] = [
    { name: 'truncated msgpack', frame: () => encodeFrame(Buffer.from([0x82, 0xa4, 0x74, 0x79])), reason: 'malformed-frame' },
    { name: 'an empty frame', frame: () => encodeFrame(Buffer.alloc(0)), reason: 'malformed-frame' },
    { name: 'trailing bytes after a message', frame: () => encodeFrame(Buffer.concat([encodeMessage({ type: 'A' }), Buffer.from([1])])), reason: 'malformed-frame' },
    { name: 'a msgpack array', frame: () => encodeFrame(encodeMessage([1, 2, 3])), reason: 'not-a-message' },
    { name: 'a map without a type', frame: () => encodeFrame(encodeMessage({ epoch: 3 })), reason: 'not-a-message' },
    { name: 'a map with a numeric type', frame: () => encodeFrame(encodeMessage({ type: 7 })), reason: 'not-a-message' },
    { name: 'a bare string', frame: () => encodeFrame(encodeMessage('Heartbeat')), reason: 'not-a-message' },
    { name: 'the reserved byte 0xc1', frame: () => encodeFrame(Buffer.from([0xc1])), reason: 'not-a-message' },
    { name: 'an oversized length prefix', frame: () => Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]), reason: 'frame-too-large' },
  ];

  for (const c of postAuthCases) {
    it(`after a valid handshake and message, ${c.name} disconnects (${c.reason}) and is not delivered`, async () => {
      const { bus, logger, inbox } = await listenerBus(WAIT_MS);
      const up = nextEvent(bus, (e) => e.type === 'linkUp' && e.peer === 2);
      const raw = await rawConnect(bus.address.port);
      await rawHandshake(raw, 2, 1);
      await up;
      // Control: a well-formed message on the same connection is delivered, attributed to node 2.
      raw.socket.write(encodeFrame(encodeMessage({ type: 'Fine', n: 1n })));
      expect(await inbox.until(1)).toEqual([{ from: 2, to: 1, msg: { type: 'Fine', n: 1n } }]);

      const down = nextEvent(bus, linkDown(2, c.reason));
      raw.socket.write(Buffer.concat([c.frame(), encodeFrame(encodeMessage({ type: 'AfterTheBadFrame' }))]));
      await down;
      await within(raw.closed, WAIT_MS, 'the bus to close the socket');
      expect(inbox.received).toHaveLength(1);
      expect(logger.warnings().some((r) => r.details['peer'] === 2 && r.details['reason'] === c.reason)).toBe(true);
      expect(bus.stats().peers[0]!.connected).toBe(false);
    });
  }

  it('takes a message whose from is forged as coming from the authenticated peer', async () => {
    const { bus, inbox } = await listenerBus(WAIT_MS);
    const raw = await rawConnect(bus.address.port);
    await rawHandshake(raw, 2, 1);
    raw.socket.write(encodeFrame(encodeMessage({ type: 'Vote', from: 3 })));
    const [env] = await inbox.until(1);
    expect(env!.from).toBe(2);
  });
});
