import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, OpCode, OPEN_ACL_UNSAFE } from '../../../src/protocol/zookeeper.js';
import { JuteDecodeError, JuteEncodeError, JuteReader, JuteWriter, LENGTH_PREFIX_BYTES } from '../../../src/server/jute/buffer.js';
import {
  decodeConnectRequest,
  decodeConnectResponse,
  decodeReplyHeader,
  decodeRequest,
  decodeRequestFrame,
  decodeRequestHeader,
  decodeResponseBody,
  decodeWatcherEvent,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeNotification,
  encodeRequest,
  encodeResponse,
  REQUEST_OPS,
  requestOpOf,
  RESPONSE_RECORDS,
  STAT_BYTES,
  StatCodec,
  SUCCESS_RESPONSE_RECORD,
} from '../../../src/server/jute/records.js';
import type { ResponseBody, ZkRequest } from '../../../src/server/jute/records.js';
import { connectRequest, connectResponse, int32, int64, request, responseBody, stat, watcherEvent } from './arbitraries.js';

/** Checks the length prefix and returns the frame without it. */
function payloadOf(packet: Buffer): Buffer {
  expect(packet.readInt32BE(0)).toBe(packet.length - LENGTH_PREFIX_BYTES);
  return packet.subarray(LENGTH_PREFIX_BYTES);
}

function catchDecode(run: () => unknown): JuteDecodeError {
  try {
    run();
  } catch (error) {
    if (error instanceof JuteDecodeError) return error;
    throw error;
  }
  throw new Error('expected a JuteDecodeError');
}

/** A hand-built request frame: header then raw body bytes. */
function requestFrame(type: number, body: Buffer, xid = 1): Buffer {
  const header = Buffer.alloc(8);
  header.writeInt32BE(xid, 0);
  header.writeInt32BE(type, 4);
  return Buffer.concat([header, body]);
}

function int(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value, 0);
  return b;
}

function str(value: string): Buffer {
  const b = Buffer.from(value, 'utf8');
  return Buffer.concat([int(b.length), b]);
}

describe('request round trips', () => {
  it('decodes every request op exactly as it was encoded', () => {
    fc.assert(
      fc.property(int32, request, (xid, req) => {
        const { header, request: decoded } = decodeRequestFrame(payloadOf(encodeRequest(xid, req)));
        expect(header.xid).toBe(xid);
        expect(header.type).toBe(req.op === 'unknown' ? req.type : OpCode[req.op]);
        expect(decoded).toEqual(req);
      }),
      { numRuns: 400 },
    );
  });

  it('generates every op the codec knows (the round trip above covers them all)', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(request, (req) => {
        seen.add(req.op);
      }),
      { numRuns: 2000 },
    );
    expect([...seen].sort()).toEqual([...REQUEST_OPS, 'unknown'].sort());
  });

  it('decodeRequestHeader plus decodeRequest agree with decodeRequestFrame', () => {
    fc.assert(
      fc.property(int32, request, (xid, req) => {
        const frame = payloadOf(encodeRequest(xid, req));
        const { header, body } = decodeRequestHeader(frame);
        expect(decodeRequest(header, body)).toEqual(decodeRequestFrame(frame).request);
      }),
    );
  });

  it('round-trips ConnectRequest with and without the trailing readOnly flag', () => {
    fc.assert(
      fc.property(connectRequest, (req) => {
        const frame = payloadOf(encodeConnectRequest(req));
        expect(decodeConnectRequest(frame)).toEqual(req);
        expect(frame.length).toBe(4 + 8 + 4 + 8 + 4 + (req.passwd?.length ?? 0) + (req.readOnly === undefined ? 0 : 1));
      }),
    );
  });
});

describe('request semantics', () => {
  it('treats a ConnectRequest without readOnly as an old client, and any non-zero byte as true', () => {
    const base = { protocolVersion: 0, lastZxidSeen: 5n, timeoutMs: 30_000, sessionId: 0n, passwd: Buffer.alloc(16) };
    const old = payloadOf(encodeConnectRequest(base));
    expect(decodeConnectRequest(old).readOnly).toBeUndefined();
    const withFlag = Buffer.concat([old, Buffer.from([7])]);
    expect(decodeConnectRequest(withFlag).readOnly).toBe(true);
  });

  it('keeps null znode data distinct from empty data', () => {
    const nullData: ZkRequest = { op: 'create', path: '/n', data: null, acl: OPEN_ACL_UNSAFE, flags: 0 };
    const emptyData: ZkRequest = { ...nullData, data: Buffer.alloc(0) };
    const decodedNull = decodeRequestFrame(payloadOf(encodeRequest(1, nullData))).request;
    const decodedEmpty = decodeRequestFrame(payloadOf(encodeRequest(1, emptyData))).request;
    expect(decodedNull).toMatchObject({ op: 'create', data: null });
    expect(decodedEmpty).toMatchObject({ op: 'create', data: Buffer.alloc(0) });
  });

  it('returns unknown for op types ZooKeeper does not serve, with the body copied', () => {
    for (const type of [OpCode.notification, OpCode.error, OpCode.createSession, 10, 12345]) {
      const frame = requestFrame(type, Buffer.from([1, 2, 3]));
      const { request: decoded } = decodeRequestFrame(frame);
      expect(decoded).toEqual({ op: 'unknown', type, body: Buffer.from([1, 2, 3]) });
      frame[8] = 9;
      expect(decoded.op === 'unknown' && decoded.body[0]).toBe(1);
    }
    expect(requestOpOf(OpCode.createSession)).toBeUndefined();
    expect(requestOpOf(OpCode.whoAmI)).toBe('whoAmI');
  });

  it('reads deleteContainer as the raw path bytes, as PrepRequestProcessor does', () => {
    const frame = requestFrame(OpCode.deleteContainer, Buffer.from('/containers/c1', 'utf8'));
    expect(decodeRequestFrame(frame).request).toEqual({ op: 'deleteContainer', path: '/containers/c1' });
  });

  it('applies the maxFieldBytes option to paths and data', () => {
    const frame = payloadOf(encodeRequest(1, { op: 'sync', path: '/abcd' }));
    expect(decodeRequestFrame(frame).request).toEqual({ op: 'sync', path: '/abcd' });
    expect(catchDecode(() => decodeRequestFrame(frame, { maxFieldBytes: 4 })).code).toBe('lengthOverLimit');
  });

  it('rejects a null path with unexpectedNull at the offset of the path', () => {
    const frame = requestFrame(OpCode.getData, Buffer.concat([int(-1), Buffer.from([0])]));
    const error = catchDecode(() => decodeRequestFrame(frame));
    expect(error.code).toBe('unexpectedNull');
    expect(error.offset).toBe(8);
  });

  it('keeps null where ZooKeeper gives it a meaning (getEphemerals prefix, reconfig lists)', () => {
    const ephemerals = decodeRequestFrame(requestFrame(OpCode.getEphemerals, int(-1))).request;
    expect(ephemerals).toEqual({ op: 'getEphemerals', prefixPath: null });
    const reconfig = decodeRequestFrame(
      requestFrame(OpCode.reconfig, Buffer.concat([int(-1), str('server.4=h:2888:3888'), int(-1), Buffer.alloc(8, 0xff)])),
    ).request;
    expect(reconfig).toEqual({ op: 'reconfig', joiningServers: null, leavingServers: 'server.4=h:2888:3888', newMembers: null, curConfigId: -1n });
  });

  it('decodes a null or negative-count vector as empty, as BinaryInputArchive does', () => {
    // SetWatches: relativeZxid then three vectors: null, count -7, and empty.
    const setWatches = Buffer.concat([Buffer.alloc(8), int(-1), int(-7), int(0)]);
    expect(decodeRequestFrame(requestFrame(OpCode.setWatches, setWatches)).request).toEqual({
      op: 'setWatches',
      relativeZxid: 0n,
      dataWatches: [],
      existWatches: [],
      childWatches: [],
    });
    const setAcl = decodeRequestFrame(requestFrame(OpCode.setACL, Buffer.concat([str('/p'), int(-1), int(3)]))).request;
    expect(setAcl).toEqual({ op: 'setACL', path: '/p', acl: [], version: 3 });
  });

  it('rejects multi ops that mix reads and writes, and op types a multi cannot hold', () => {
    const getDataOp = Buffer.concat([int(OpCode.getData), Buffer.from([0]), int(-1), str('/a'), Buffer.from([0])]);
    const end = Buffer.concat([int(-1), Buffer.from([1]), int(-1)]);
    const mixed = catchDecode(() => decodeRequestFrame(requestFrame(OpCode.multi, Buffer.concat([getDataOp, end]))));
    expect(mixed.code).toBe('invalidValue');
    expect(mixed.message).toMatch(/mix/);
    expect(mixed.offset).toBe(8);

    const pingOp = Buffer.concat([int(OpCode.ping), Buffer.from([0]), int(-1)]);
    const invalid = catchDecode(() => decodeRequestFrame(requestFrame(OpCode.multiRead, Buffer.concat([pingOp, end]))));
    expect(invalid.code).toBe('invalidValue');
    expect(invalid.message).toMatch(/invalid op type 11/);

    // A read op in multiRead is fine.
    expect(decodeRequestFrame(requestFrame(OpCode.multiRead, Buffer.concat([getDataOp, end]))).request).toEqual({
      op: 'multiRead',
      ops: [{ op: 'getData', path: '/a', watch: false }],
    });
  });

  it('ends a multi at the first header with done set, whatever its type', () => {
    const end = Buffer.concat([int(OpCode.create), Buffer.from([1]), int(0)]);
    expect(decodeRequestFrame(requestFrame(OpCode.multi, end)).request).toEqual({ op: 'multi', ops: [] });
  });

  it('refuses to encode a multi that mixes kinds', () => {
    const bad = { op: 'multi', ops: [{ op: 'getData', path: '/a', watch: false }] } as unknown as ZkRequest;
    expect(() => encodeRequest(1, bad)).toThrow(JuteEncodeError);
  });

  it('refuses to encode values outside their wire range', () => {
    expect(() => encodeRequest(2 ** 31, { op: 'ping' })).toThrow(JuteEncodeError);
    expect(() => encodeRequest(1, { op: 'delete', path: '/a', version: 1.5 })).toThrow(JuteEncodeError);
    expect(() => encodeRequest(1, { op: 'createTTL', path: '/a', data: null, acl: [], flags: 5, ttl: 2n ** 63n })).toThrow(JuteEncodeError);
  });

  it('maps every request op to the record its success answers with', () => {
    expect(Object.keys(SUCCESS_RESPONSE_RECORD).sort()).toEqual([...REQUEST_OPS].sort());
    for (const record of Object.values(SUCCESS_RESPONSE_RECORD)) {
      if (record !== null) expect(RESPONSE_RECORDS).toContain(record);
    }
    expect(SUCCESS_RESPONSE_RECORD.create).toBe('CreateResponse');
    expect(SUCCESS_RESPONSE_RECORD.createTTL).toBe('Create2Response');
    expect(SUCCESS_RESPONSE_RECORD.addWatch).toBe('ErrorResponse');
    expect(SUCCESS_RESPONSE_RECORD.delete).toBeNull();
  });
});

describe('response round trips', () => {
  it('decodes every response body exactly as it was encoded, header included', () => {
    fc.assert(
      fc.property(int32, int64, int32, responseBody, (xid, zxid, err, body) => {
        const { header, body: rest } = decodeReplyHeader(payloadOf(encodeResponse({ xid, zxid, err }, body)));
        expect(header).toEqual({ xid, zxid, err });
        expect(decodeResponseBody(body.record, rest)).toEqual(body);
      }),
      { numRuns: 300 },
    );
  });

  it('generates every response record (the round trip above covers them all)', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(responseBody, (body) => {
        seen.add(body.record);
      }),
      { numRuns: 1000 },
    );
    expect([...seen].sort()).toEqual([...RESPONSE_RECORDS].sort());
  });

  it('encodes a header-only reply as 16 bytes plus the prefix', () => {
    const packet = encodeResponse({ xid: 9, zxid: 0x100000002n, err: ErrorCode.NONODE });
    expect(packet.toString('hex')).toBe('00000010' + '00000009' + '0000000100000002' + 'ffffff9b');
    expect(decodeReplyHeader(payloadOf(packet)).body.length).toBe(0);
  });

  it('round-trips ConnectResponse with and without readOnly', () => {
    fc.assert(
      fc.property(connectResponse, (res) => {
        expect(decodeConnectResponse(payloadOf(encodeConnectResponse(res)))).toEqual(res);
      }),
    );
  });

  it('writes notifications with xid -1 and zxid -1, as NIOServerCnxn.process does', () => {
    fc.assert(
      fc.property(watcherEvent, (event) => {
        const { header, body } = decodeReplyHeader(payloadOf(encodeNotification(event)));
        expect(header).toEqual({ xid: -1, zxid: -1n, err: 0 });
        expect(decodeWatcherEvent(body)).toEqual(event);
      }),
    );
  });

  it('writes a multi result header with the error code for errors and 0 otherwise', () => {
    const body: ResponseBody = {
      record: 'MultiResponse',
      results: [
        { op: 'error', err: 0 },
        { op: 'error', err: ErrorCode.NODEEXISTS },
      ],
    };
    const payload = decodeReplyHeader(payloadOf(encodeResponse({ xid: 1, zxid: 1n, err: 0 }, body))).body;
    // MultiHeader(type -1, done false, err 0) ErrorResponse(0) MultiHeader(-1, false, -110) ErrorResponse(-110) MultiHeader(-1, true, -1)
    expect(payload.toString('hex')).toBe(
      'ffffffff' + '00' + '00000000' + '00000000' + 'ffffffff' + '00' + 'ffffff92' + 'ffffff92' + 'ffffffff' + '01' + 'ffffffff',
    );
  });

  it('sizes a Stat at 68 bytes and round-trips it', () => {
    fc.assert(
      fc.property(stat, (s) => {
        const buf = Buffer.alloc(STAT_BYTES);
        StatCodec.write(new JuteWriter(buf), s);
        expect(StatCodec.read(new JuteReader(buf))).toEqual(s);
      }),
    );
    expect(STAT_BYTES).toBe(68);
  });
});
