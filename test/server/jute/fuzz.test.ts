/**
 * Malformed input: truncated, corrupted and random bytes must fail with JuteDecodeError (or decode),
 * never with anything else, and never by reading past the end.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JuteDecodeError, LENGTH_PREFIX_BYTES } from '../../../src/server/jute/buffer.js';
import {
  decodeConnectRequest,
  decodeConnectResponse,
  decodeReplyHeader,
  decodeRequestFrame,
  decodeResponseBody,
  decodeWatcherEvent,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeRequest,
  encodeResponse,
  RESPONSE_RECORDS,
} from '../../../src/server/jute/records.js';
import { connectRequest, connectResponse, int32, request, responseBody } from './arbitraries.js';

/** Runs a decoder and reports how it ended; anything but success or JuteDecodeError fails the test. */
function outcome(frame: Buffer, decode: (frame: Buffer) => unknown): 'ok' | JuteDecodeError {
  try {
    decode(frame);
    return 'ok';
  } catch (error) {
    if (!(error instanceof JuteDecodeError)) throw error;
    expect(error.offset).toBeGreaterThanOrEqual(0);
    expect(error.offset).toBeLessThanOrEqual(frame.length);
    return error;
  }
}

type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'setInt'; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  // Lengths and counts are where decoders go wrong: overwrite 4 bytes with an interesting int.
  fc.record({
    kind: fc.constant('setInt' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(-1, -2, 0, 1, 0x7fff_ffff, -0x8000_0000, 0xfffff, 0x200000), int32),
  }),
);

function mutate(frame: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(frame);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    switch (m.kind) {
      case 'set':
        if (at < out.length) out[at] = m.value;
        break;
      case 'truncate':
        out = out.subarray(0, at);
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
        break;
      case 'setInt':
        if (at + 4 <= out.length) out.writeInt32BE(m.value, at);
        break;
    }
  }
  return out;
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });
const randomBytes = fc.uint8Array({ maxLength: 96 }).map((a) => Buffer.from(a));

describe('corrupted input raises JuteDecodeError and nothing else', () => {
  it('mutated request frames', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(int32, request, mutations, (xid, req, ms) => {
        const frame = encodeRequest(xid, req).subarray(LENGTH_PREFIX_BYTES);
        const result = outcome(mutate(frame, ms), decodeRequestFrame);
        seen.add(result === 'ok' ? 'ok' : result.code);
      }),
      { numRuns: 1500 },
    );
    // The mutations reach several failure paths (each is pinned by a unit test too) and leave some frames decodable.
    expect(seen.has('ok')).toBe(true);
    expect(seen.has('truncated')).toBe(true);
    expect(seen.size).toBeGreaterThanOrEqual(4);
  });

  it('mutated ConnectRequest and ConnectResponse frames', () => {
    fc.assert(
      fc.property(connectRequest, connectResponse, mutations, (req, res, ms) => {
        outcome(mutate(encodeConnectRequest(req).subarray(LENGTH_PREFIX_BYTES), ms), decodeConnectRequest);
        outcome(mutate(encodeConnectResponse(res).subarray(LENGTH_PREFIX_BYTES), ms), decodeConnectResponse);
      }),
      { numRuns: 500 },
    );
  });

  it('mutated response bodies, decoded as the record they were and as every other record', () => {
    fc.assert(
      fc.property(responseBody, mutations, fc.constantFrom(...RESPONSE_RECORDS), (body, ms, other) => {
        const { body: payload } = decodeReplyHeader(encodeResponse({ xid: 1, zxid: 1n, err: 0 }, body).subarray(LENGTH_PREFIX_BYTES));
        const mutated = mutate(payload, ms);
        outcome(mutated, (b) => decodeResponseBody(body.record, b));
        outcome(mutated, (b) => decodeResponseBody(other, b));
      }),
      { numRuns: 1000 },
    );
  });

  it('random bytes through every decoder', () => {
    fc.assert(
      fc.property(randomBytes, (bytes) => {
        outcome(bytes, decodeRequestFrame);
        outcome(bytes, decodeConnectRequest);
        outcome(bytes, decodeConnectResponse);
        outcome(bytes, decodeReplyHeader);
        outcome(bytes, decodeWatcherEvent);
        for (const record of RESPONSE_RECORDS) outcome(bytes, (b) => decodeResponseBody(record, b));
      }),
      { numRuns: 500 },
    );
  });

  it('every strict prefix of a request frame is truncated (all fields are required)', () => {
    fc.assert(
      fc.property(
        int32,
        // Raw-body ops (unknown types, deleteContainer) decode any prefix by design.
        request.filter((r) => r.op !== 'unknown' && r.op !== 'deleteContainer'),
        fc.nat(),
        (xid, req, cut) => {
          const frame = encodeRequest(xid, req).subarray(LENGTH_PREFIX_BYTES);
          const prefix = frame.subarray(0, cut % frame.length);
          const result = outcome(prefix, decodeRequestFrame);
          expect(result).toBeInstanceOf(JuteDecodeError);
          expect((result as JuteDecodeError).code).toBe('truncated');
        },
      ),
      { numRuns: 800 },
    );
  });

  it('huge declared lengths fail without allocating them', () => {
    const frame = Buffer.alloc(8 + 4 + 4);
    frame.writeInt32BE(1, 0);
    frame.writeInt32BE(4, 4); // getData
    frame.writeInt32BE(0x7fff_ffff, 8); // path length: 2 GiB
    const error = outcome(frame, decodeRequestFrame) as JuteDecodeError;
    expect(error.code).toBe('lengthOverLimit');
    expect(error.offset).toBe(8);

    const setAcl = Buffer.alloc(8 + 4 + 4 + 4);
    setAcl.writeInt32BE(1, 0);
    setAcl.writeInt32BE(7, 4); // setACL: path, vector<ACL>, version
    setAcl.writeInt32BE(0, 8); // empty path
    setAcl.writeInt32BE(0x7fff_ffff, 12); // ACL count, with 4 bytes left
    const vectorError = outcome(setAcl, decodeRequestFrame) as JuteDecodeError;
    expect(vectorError.code).toBe('truncated');
    expect(vectorError.offset).toBe(12);
  });
});
