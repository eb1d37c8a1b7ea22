import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageDecoder, encodeMessage, isMessageLike } from '../../../src/bus/tcp/codec.js';
import { FRAME_HEADER_BYTES, FrameDecoder, encodeFrame } from '../../../src/bus/tcp/frames.js';
import {
  CHALLENGE_BYTES,
  HELLO_BYTES,
  PEER_PROTOCOL_VERSION,
  PROOF_FRAME_BYTES,
  computeProof,
  decodeChallenge,
  decodeHello,
  decodeProof,
  encodeChallenge,
  encodeHello,
  encodeProof,
  newNonce,
  secretKey,
  verifyProof,
} from '../../../src/bus/tcp/handshake.js';
import type { ProofInput } from '../../../src/bus/tcp/handshake.js';
import {
  DEFAULT_TCP_BUS_LIMITS,
  MAX_HANDSHAKE_FRAME_BYTES,
  MAX_PEER_FRAME_BYTES,
  MAX_QUEUED_BYTES_PER_PEER,
  RECONNECT_MAX_MS,
  RECONNECT_MIN_MS,
  limitsProblem,
  reconnectDelayMs,
} from '../../../src/bus/tcp/limits.js';
import { FrameQueue } from '../../../src/bus/tcp/queue.js';

/** Values a command payload may hold: everything msgpackr must carry exactly. */
const payloadValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.integer(),
    // -0 is the one number that does not survive: MessagePack writes it as the integer 0.
    fc.double().filter((x) => !Object.is(x, -0)),
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
    fc.string(),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

describe('message codec', () => {
  it('round-trips any message with bigint, Uint8Array and nested payloads exactly', () => {
    const decoder = new MessageDecoder<{ type: string }>();
    fc.assert(
      fc.property(fc.string(), fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== 'type'), payloadValue, { maxKeys: 5, noNullPrototype: true }), (type, fields) => {
        const msg = { type, ...fields };
        const decoded = decoder.decode(encodeMessage(msg));
        expect(decoded.ok).toBe(true);
        if (decoded.ok) expect(decoded.msg).toStrictEqual(msg);
      }),
    );
  });

  it('gives back Uint8Array (not Buffer) and bigint (not number)', () => {
    const decoded = new MessageDecoder<{ type: string; data: unknown; z: unknown; small: unknown }>().decode(
      encodeMessage({ type: 'T', data: new Uint8Array([1, 2]), z: 5n, small: 5 }),
    );
    expect(decoded.ok && Object.getPrototypeOf(decoded.msg.data)).toBe(Uint8Array.prototype);
    expect(decoded.ok && typeof decoded.msg.z).toBe('bigint');
    expect(decoded.ok && typeof decoded.msg.small).toBe('number');
  });

  it('does not let a payload pin or alias the receive buffer', () => {
    const body = Buffer.from(encodeMessage({ type: 'T', data: new Uint8Array([9, 9, 9]) }));
    const decoded = new MessageDecoder<{ type: string; data: Uint8Array }>().decode(body);
    body.fill(0);
    expect(decoded.ok && [...decoded.msg.data]).toEqual([9, 9, 9]);
  });

  it('keeps __proto__ keys from reaching the prototype', () => {
    // {"__proto__": {"polluted": true}, "type": "T"} written by hand.
    const body = Buffer.from('82a95f5f70726f746f5f5f81a8706f6c6c75746564c3a474797065a154', 'hex');
    const decoded = new MessageDecoder<{ type: string }>().decode(body);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(decoded.ok && Object.getPrototypeOf(decoded.msg)).toBe(Object.prototype);
  });

  it('accepts only plain objects with a string type', () => {
    expect(isMessageLike({ type: 'A' })).toBe(true);
    expect(isMessageLike(Object.assign(Object.create(null), { type: 'A' }))).toBe(true);
    for (const v of [null, 1, 'A', [{ type: 'A' }], { type: 1 }, {}, new Date(), new (class Foo { type = 'A'; })()]) expect(isMessageLike(v)).toBe(false);
  });
});

describe('framing', () => {
  it('reassembles frames however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }), fc.array(fc.nat({ max: 50 }), { maxLength: 30 }), (bodies, cuts) => {
        const stream = Buffer.concat(bodies.map((b) => encodeFrame(b)));
        const decoder = new FrameDecoder(1024);
        const out: Buffer[] = [];
        let at = 0;
        for (const cut of [...cuts, stream.length]) {
          const end = Math.min(stream.length, at + cut);
          expect(decoder.push(stream.subarray(at, end), (b) => (out.push(Buffer.from(b)), true))).toBeUndefined();
          at = end;
        }
        expect(out.map((b) => [...b])).toEqual(bodies.map((b) => [...b]));
        expect(decoder.pendingBytes).toBe(0);
      }),
    );
  });

  it('refuses an oversized length prefix as soon as it arrives, without the body', () => {
    const decoder = new FrameDecoder(100);
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32BE(101);
    expect(decoder.push(header, () => true)).toEqual({ reason: 'frame-too-large', lengthBytes: 101, maxFrameBytes: 100 });
    header.writeUInt32BE(100);
    expect(new FrameDecoder(100).push(header, () => true)).toBeUndefined();
  });

  it('stops at once when the consumer says so', () => {
    const decoder = new FrameDecoder(100);
    const seen: number[] = [];
    decoder.push(Buffer.concat([encodeFrame(Buffer.from([1])), encodeFrame(Buffer.from([2]))]), (b) => (seen.push(b[0]!), false));
    expect(seen).toEqual([1]);
    expect(decoder.pendingBytes).toBe(0);
  });
});

describe('handshake', () => {
  const secret = secretKey('s3cret');
  const base: ProofInput = { role: 'dialer', dialer: 3, listener: 1, dialerNonce: newNonce(), listenerNonce: newNonce() };

  it('encodes fixed-size frames that decode back, and fit the pre-authentication limit', () => {
    const hello = { version: PEER_PROTOCOL_VERSION, dialer: 3, listener: 1, nonce: newNonce() };
    expect(decodeHello(encodeHello(hello))).toEqual(hello);
    const nonce = newNonce();
    expect(decodeChallenge(encodeChallenge(nonce))).toEqual(nonce);
    expect(decodeProof(encodeProof(computeProof(secret, base)))).toEqual(computeProof(secret, base));
    expect(Math.max(HELLO_BYTES, CHALLENGE_BYTES, PROOF_FRAME_BYTES)).toBeLessThanOrEqual(MAX_HANDSHAKE_FRAME_BYTES);
    expect(decodeHello(encodeChallenge(nonce))).toBeTypeOf('string');
    expect(decodeChallenge(encodeHello(hello))).toBeUndefined();
  });

  it('binds the proof to the secret, the role, both ids and both nonces', () => {
    const proof = computeProof(secret, base);
    expect(verifyProof(secret, base, proof)).toBe(true);
    const variants: ProofInput[] = [
      { ...base, role: 'listener' },
      { ...base, dialer: 2 },
      { ...base, listener: 2 },
      { ...base, dialerNonce: newNonce() },
      { ...base, listenerNonce: newNonce() },
      // Swapping the nonces must not give the same proof.
      { ...base, dialerNonce: base.listenerNonce, listenerNonce: base.dialerNonce },
    ];
    for (const v of variants) expect(verifyProof(secret, v, proof)).toBe(false);
    expect(verifyProof(secretKey('other'), base, proof)).toBe(false);
    expect(verifyProof(secret, base, proof.subarray(1))).toBe(false);
  });

  it('refuses an empty secret', () => {
    expect(() => secretKey('')).toThrow(RangeError);
    expect(secretKey(new Uint8Array([1]))).toEqual(Buffer.from([1]));
  });
});

describe('limits and backoff', () => {
  it('has coherent defaults', () => {
    expect(limitsProblem(DEFAULT_TCP_BUS_LIMITS)).toBeUndefined();
    expect(MAX_HANDSHAKE_FRAME_BYTES).toBeLessThan(MAX_PEER_FRAME_BYTES);
    expect(MAX_QUEUED_BYTES_PER_PEER).toBeGreaterThanOrEqual(MAX_PEER_FRAME_BYTES + FRAME_HEADER_BYTES);
    expect(RECONNECT_MIN_MS).toBeLessThanOrEqual(RECONNECT_MAX_MS);
  });

  it('names the problem of incoherent limits', () => {
    expect(limitsProblem({ ...DEFAULT_TCP_BUS_LIMITS, reconnectMinMs: 0 })).toMatch(/reconnectMinMs/);
    expect(limitsProblem({ ...DEFAULT_TCP_BUS_LIMITS, maxFrameBytes: 2 ** 33 })).toMatch(/maxFrameBytes/);
    expect(limitsProblem({ ...DEFAULT_TCP_BUS_LIMITS, maxFrameBytes: 8 })).toMatch(/MAX_HANDSHAKE_FRAME_BYTES/);
    expect(limitsProblem({ ...DEFAULT_TCP_BUS_LIMITS, maxQueuedMessagesPerPeer: 1.5 })).toMatch(/maxQueuedMessagesPerPeer/);
  });

  it('backs off exponentially with jitter, within [min/2, max]', () => {
    const limits = { reconnectMinMs: 100, reconnectMaxMs: 5_000 };
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const d = reconnectDelayMs(attempt, limits, () => r);
        const base = Math.min(5_000, 100 * 2 ** attempt);
        expect(d).toBeGreaterThanOrEqual(base / 2);
        expect(d).toBeLessThan(base + 1e-9);
      }),
    );
    expect(reconnectDelayMs(0, limits, () => 0)).toBe(50);
    expect(reconnectDelayMs(3, limits, () => 0)).toBe(400);
    expect(reconnectDelayMs(50, limits, () => 0)).toBe(2_500);
  });
});

describe('frame queue', () => {
  it('is a FIFO that counts its bytes, across compactions', () => {
    const q = new FrameQueue();
    let next = 0;
    let expected = 0;
    let outOfOrder = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 1500; i++) q.push(Buffer.alloc((next++ % 7) + 1, next % 256));
      for (let i = 0; i < 1200; i++) {
        const f = q.shift()!;
        if (f.length !== (expected % 7) + 1 || f[0] !== (expected + 1) % 256) outOfOrder++;
        expected++;
      }
    }
    expect(outOfOrder).toBe(0);
    expect(q.length).toBe(next - expected);
    let bytes = 0;
    for (let i = expected; i < next; i++) bytes += (i % 7) + 1;
    expect(q.bytes).toBe(bytes);
  });
});
