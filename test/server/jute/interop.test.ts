/**
 * Interoperability with a real client's own jute code: node-zookeeper-client's lib/jute encodes
 * requests that our decoder must read, and decodes our responses. Where both sides can write the same
 * packet, the bytes must be identical. A few packets are also pinned as literal hex.
 */

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ErrorCode, EventType, KeeperState, OpCode, Perms, Xid } from '../../../src/protocol/zookeeper.js';
import type { Stat } from '../../../src/protocol/zookeeper.js';
import {
  decodeConnectRequest,
  decodeRequestFrame,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeNotification,
  encodeRequest,
  encodeResponse,
} from '../../../src/server/jute/records.js';
import type { ConnectRequest, ResponseBody, ZkRequest } from '../../../src/server/jute/records.js';

// node-zookeeper-client is CommonJS without types: describe the parts used here.
interface ZkRecord {
  byteLength(): number;
  serialize(buffer: Buffer, offset: number): number;
  deserialize(buffer: Buffer, offset: number): number;
  [field: string]: unknown;
}
type RecordClass = new (...args: unknown[]) => ZkRecord;
interface ZkJute {
  protocol: Record<string, RecordClass>;
  data: Record<string, RecordClass>;
  Request: new (header: ZkRecord | null, payload: ZkRecord | TransactionRequest | null) => { toBuffer(): Buffer };
  TransactionRequest: new (ops: unknown[]) => TransactionRequest;
  TransactionResponse: new () => { results: Array<Record<string, unknown>>; deserialize(buffer: Buffer, offset: number): number };
}
interface TransactionRequest {
  byteLength(): number;
  serialize(buffer: Buffer, offset: number): number;
}
interface ZkAclClass {
  new (permission: number, id: unknown): unknown;
  OPEN_ACL_UNSAFE: unknown[];
}

const require = createRequire(import.meta.url);
const jute = require('node-zookeeper-client/lib/jute/index.js') as ZkJute;
const ZkACL = require('node-zookeeper-client/lib/ACL.js') as ZkAclClass;
const ZkId = require('node-zookeeper-client/lib/Id.js') as new (scheme: string, id: string) => unknown;

const P = jute.protocol;
const D = jute.data;

/** node-zookeeper-client represents longs as 8-byte big-endian Buffers. */
function long(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(value, 0);
  return b;
}

function fromLong(value: unknown): bigint {
  return (value as Buffer).readBigInt64BE(0);
}

function theirRequest(xid: number, type: number, payload: ZkRecord | TransactionRequest | null): Buffer {
  return new jute.Request(new P.RequestHeader!(xid, type), payload).toBuffer();
}

function theirAcl(perms: number, scheme: string, id: string): ZkRecord {
  return new D.ACL!(perms, new D.Id!(scheme, id));
}

const stat: Stat = {
  czxid: 0x1_0000_0002n,
  mzxid: 0x1_0000_0007n,
  ctime: 1_700_000_000_123,
  mtime: 1_700_000_000_999,
  version: 3,
  cversion: 2,
  aversion: 1,
  ephemeralOwner: 0x1234_5678_9abc_def0n,
  dataLength: 5,
  numChildren: 2,
  pzxid: 0x1_0000_0006n,
};

function theirStat(s: Stat): ZkRecord {
  return new D.Stat!(
    long(s.czxid),
    long(s.mzxid),
    long(BigInt(s.ctime)),
    long(BigInt(s.mtime)),
    s.version,
    s.cversion,
    s.aversion,
    long(s.ephemeralOwner),
    s.dataLength,
    s.numChildren,
    long(s.pzxid),
  );
}

function expectSameStat(theirs: unknown, ours: Stat): void {
  const t = theirs as Record<string, unknown>;
  expect({
    czxid: fromLong(t.czxid),
    mzxid: fromLong(t.mzxid),
    ctime: Number(fromLong(t.ctime)),
    mtime: Number(fromLong(t.mtime)),
    version: t.version,
    cversion: t.cversion,
    aversion: t.aversion,
    ephemeralOwner: fromLong(t.ephemeralOwner),
    dataLength: t.dataLength,
    numChildren: t.numChildren,
    pzxid: fromLong(t.pzxid),
  }).toEqual(ours);
}

/** Decodes a packet of theirs (length prefix included) with our decoder. */
function decodeTheirs(packet: Buffer): ReturnType<typeof decodeRequestFrame> {
  expect(packet.readInt32BE(0)).toBe(packet.length - 4);
  return decodeRequestFrame(packet.subarray(4));
}

describe('requests written by node-zookeeper-client decode with ours, and ours write the same bytes', () => {
  it('ConnectRequest (node-zookeeper-client is an old client: no readOnly byte)', () => {
    const passwd = Buffer.from('0123456789abcdef');
    const theirs = new jute.Request(null, new P.ConnectRequest!(0, long(0x5_0000_0003n), 30_000, long(0x1_86a0_0000_0001n), passwd)).toBuffer();
    const expected: ConnectRequest = {
      protocolVersion: 0,
      lastZxidSeen: 0x5_0000_0003n,
      timeoutMs: 30_000,
      sessionId: 0x1_86a0_0000_0001n,
      passwd,
      readOnly: undefined,
    };
    expect(decodeConnectRequest(theirs.subarray(4))).toEqual(expected);
    expect(encodeConnectRequest(expected).equals(theirs)).toBe(true);
  });

  it('CreateRequest with ACLs', () => {
    const data = Buffer.from('hello');
    const payload = new P.CreateRequest!(
      '/app/lock-',
      data,
      [theirAcl(Perms.ALL, 'world', 'anyone'), theirAcl(Perms.READ | Perms.WRITE, 'digest', 'bob:X3v8n0CqYVDvh5ZtUc0hVw3rUNU=')],
      3,
    );
    const theirs = theirRequest(7, OpCode.create, payload);
    const expected: ZkRequest = {
      op: 'create',
      path: '/app/lock-',
      data,
      acl: [
        { perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } },
        { perms: Perms.READ | Perms.WRITE, id: { scheme: 'digest', id: 'bob:X3v8n0CqYVDvh5ZtUc0hVw3rUNU=' } },
      ],
      flags: 3,
    };
    const { header, request } = decodeTheirs(theirs);
    expect(header).toEqual({ xid: 7, type: OpCode.create });
    expect(request).toEqual(expected);
    expect(encodeRequest(7, expected).equals(theirs)).toBe(true);
  });

  it('multi with create, setData, check and delete (TransactionRequest)', () => {
    const tx = new jute.TransactionRequest([
      { type: OpCode.create, path: '/tx/a', data: Buffer.from('A'), acls: ZkACL.OPEN_ACL_UNSAFE, mode: 1 },
      { type: OpCode.create, path: '/tx/b', data: undefined, acls: [new ZkACL(Perms.READ, new ZkId('ip', '10.0.0.1'))], mode: 0 },
      { type: OpCode.setData, path: '/tx', data: Buffer.from('xyz'), version: 4 },
      { type: OpCode.check, path: '/tx/c', version: -1 },
      { type: OpCode.delete, path: '/tx/d', version: 2 },
    ]);
    const theirs = theirRequest(42, OpCode.multi, tx);
    const expected: ZkRequest = {
      op: 'multi',
      ops: [
        { op: 'create', path: '/tx/a', data: Buffer.from('A'), acl: [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }], flags: 1 },
        { op: 'create', path: '/tx/b', data: null, acl: [{ perms: Perms.READ, id: { scheme: 'ip', id: '10.0.0.1' } }], flags: 0 },
        { op: 'setData', path: '/tx', data: Buffer.from('xyz'), version: 4 },
        { op: 'check', path: '/tx/c', version: -1 },
        { op: 'delete', path: '/tx/d', version: 2 },
      ],
    };
    const { header, request } = decodeTheirs(theirs);
    expect(header).toEqual({ xid: 42, type: OpCode.multi });
    expect(request).toEqual(expected);
    expect(encodeRequest(42, expected).equals(theirs)).toBe(true);
  });

  const cases: Array<{ name: string; xid: number; type: number; payload: ZkRecord | null; ours: ZkRequest }> = [
    { name: 'delete', xid: 3, type: OpCode.delete, payload: new P.DeleteRequest!('/a/b', 5), ours: { op: 'delete', path: '/a/b', version: 5 } },
    { name: 'exists', xid: 4, type: OpCode.exists, payload: new P.ExistsRequest!('/e', true), ours: { op: 'exists', path: '/e', watch: true } },
    { name: 'getData', xid: 5, type: OpCode.getData, payload: new P.GetDataRequest!('/d', false), ours: { op: 'getData', path: '/d', watch: false } },
    {
      name: 'setData with null data',
      xid: 6,
      type: OpCode.setData,
      payload: new P.SetDataRequest!('/s', undefined, -1),
      ours: { op: 'setData', path: '/s', data: null, version: -1 },
    },
    { name: 'getACL', xid: 7, type: OpCode.getACL, payload: new P.GetACLRequest!('/acl'), ours: { op: 'getACL', path: '/acl' } },
    {
      name: 'setACL',
      xid: 8,
      type: OpCode.setACL,
      payload: new P.SetACLRequest!('/acl', [theirAcl(Perms.ADMIN, 'auth', '')], 0),
      ours: { op: 'setACL', path: '/acl', acl: [{ perms: Perms.ADMIN, id: { scheme: 'auth', id: '' } }], version: 0 },
    },
    {
      name: 'getChildren2',
      xid: 9,
      type: OpCode.getChildren2,
      payload: new P.GetChildren2Request!('/kids', true),
      ours: { op: 'getChildren2', path: '/kids', watch: true },
    },
    {
      name: 'auth',
      xid: Xid.auth,
      type: OpCode.auth,
      payload: new P.AuthPacket!(0, 'digest', Buffer.from('bob:secret')),
      ours: { op: 'auth', type: 0, scheme: 'digest', auth: Buffer.from('bob:secret') },
    },
    {
      name: 'setWatches',
      xid: Xid.setWatches,
      type: OpCode.setWatches,
      payload: new P.SetWatches!(long(0x2_0000_0010n), ['/d1', '/d2'], ['/e1'], []),
      ours: { op: 'setWatches', relativeZxid: 0x2_0000_0010n, dataWatches: ['/d1', '/d2'], existWatches: ['/e1'], childWatches: [] },
    },
    { name: 'ping', xid: Xid.ping, type: OpCode.ping, payload: null, ours: { op: 'ping' } },
    { name: 'closeSession', xid: 11, type: OpCode.closeSession, payload: null, ours: { op: 'closeSession' } },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const theirs = theirRequest(c.xid, c.type, c.payload);
      const { header, request } = decodeTheirs(theirs);
      expect(header).toEqual({ xid: c.xid, type: c.type });
      expect(request).toEqual(c.ours);
      expect(encodeRequest(c.xid, c.ours).equals(theirs)).toBe(true);
    });
  }
});

describe('responses written by ours decode with node-zookeeper-client, byte for byte as theirs would write them', () => {
  function theirReply(xid: number, zxid: bigint, err: number, payload: ZkRecord | null): Buffer {
    return new jute.Request(new P.ReplyHeader!(xid, long(zxid), err), payload).toBuffer();
  }

  /** Reads our packet's ReplyHeader with their class and returns the offset of the body. */
  function readTheirHeader(packet: Buffer, xid: number, zxid: bigint, err: number): number {
    const header = new P.ReplyHeader!();
    const offset = 4 + header.deserialize(packet, 4);
    expect({ xid: header.xid, zxid: fromLong(header.zxid), err: header.err }).toEqual({ xid, zxid, err });
    return offset;
  }

  it('ConnectResponse, with the readOnly byte an old client ignores', () => {
    const passwd = Buffer.from('fedcba9876543210');
    const withReadOnly = encodeConnectResponse({ protocolVersion: 0, timeoutMs: 4_000, sessionId: 0x1_0000_00abn, passwd, readOnly: false });
    const res = new P.ConnectResponse!();
    res.deserialize(withReadOnly, 4);
    expect([res.protocolVersion, res.timeOut, fromLong(res.sessionId), res.passwd]).toEqual([0, 4_000, 0x1_0000_00abn, passwd]);

    const withoutReadOnly = encodeConnectResponse({ protocolVersion: 0, timeoutMs: 4_000, sessionId: 0x1_0000_00abn, passwd });
    const theirs = new jute.Request(null, new P.ConnectResponse!(0, 4_000, long(0x1_0000_00abn), passwd)).toBuffer();
    expect(withoutReadOnly.equals(theirs)).toBe(true);
    expect(withReadOnly.length).toBe(theirs.length + 1);
  });

  it('an expired-session ConnectResponse reads as timeOut 0 (their SESSION_EXPIRED trigger)', () => {
    const packet = encodeConnectResponse({ protocolVersion: 0, timeoutMs: 0, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
    const res = new P.ConnectResponse!();
    res.deserialize(packet, 4);
    expect(res.timeOut).toBe(0);
  });

  const cases: Array<{ name: string; body: ResponseBody; theirs: () => ZkRecord; check: (record: ZkRecord) => void }> = [
    {
      name: 'CreateResponse',
      body: { record: 'CreateResponse', path: '/app/lock-0000000007' },
      theirs: () => new P.CreateResponse!('/app/lock-0000000007'),
      check: (r) => expect(r.path).toBe('/app/lock-0000000007'),
    },
    {
      name: 'ExistsResponse',
      body: { record: 'ExistsResponse', stat },
      theirs: () => new P.ExistsResponse!(theirStat(stat)),
      check: (r) => expectSameStat(r.stat, stat),
    },
    {
      name: 'GetDataResponse',
      body: { record: 'GetDataResponse', data: Buffer.from('hello'), stat },
      theirs: () => new P.GetDataResponse!(Buffer.from('hello'), theirStat(stat)),
      check: (r) => {
        expect(r.data).toEqual(Buffer.from('hello'));
        expectSameStat(r.stat, stat);
      },
    },
    {
      name: 'GetDataResponse with null data',
      body: { record: 'GetDataResponse', data: null, stat },
      theirs: () => new P.GetDataResponse!(undefined, theirStat(stat)),
      check: (r) => expect(r.data).toBeUndefined(),
    },
    {
      name: 'SetDataResponse',
      body: { record: 'SetDataResponse', stat },
      theirs: () => new P.SetDataResponse!(theirStat(stat)),
      check: (r) => expectSameStat(r.stat, stat),
    },
    {
      name: 'GetACLResponse',
      body: {
        record: 'GetACLResponse',
        acl: [
          { perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } },
          { perms: Perms.READ, id: { scheme: 'digest', id: 'bob:x' } },
        ],
        stat,
      },
      theirs: () => new P.GetACLResponse!([theirAcl(Perms.ALL, 'world', 'anyone'), theirAcl(Perms.READ, 'digest', 'bob:x')], theirStat(stat)),
      check: (r) => {
        const acl = r.acl as Array<{ perms: number; id: { scheme: string; id: string } }>;
        expect(acl.map((a) => [a.perms, a.id.scheme, a.id.id])).toEqual([
          [Perms.ALL, 'world', 'anyone'],
          [Perms.READ, 'digest', 'bob:x'],
        ]);
        expectSameStat(r.stat, stat);
      },
    },
    {
      name: 'SetACLResponse',
      body: { record: 'SetACLResponse', stat },
      theirs: () => new P.SetACLResponse!(theirStat(stat)),
      check: (r) => expectSameStat(r.stat, stat),
    },
    {
      name: 'GetChildren2Response',
      body: { record: 'GetChildren2Response', children: ['a', 'b', 'ünïcødé'], stat },
      theirs: () => new P.GetChildren2Response!(['a', 'b', 'ünïcødé'], theirStat(stat)),
      check: (r) => {
        expect(r.children).toEqual(['a', 'b', 'ünïcødé']);
        expectSameStat(r.stat, stat);
      },
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const ours = encodeResponse({ xid: 17, zxid: 0x1_0000_0009n, err: 0 }, c.body);
      expect(ours.equals(theirReply(17, 0x1_0000_0009n, 0, c.theirs()))).toBe(true);
      const offset = readTheirHeader(ours, 17, 0x1_0000_0009n, 0);
      const record = c.theirs();
      expect(offset + record.deserialize(ours, offset)).toBe(ours.length);
      c.check(record);
    });
  }

  it('an error reply is the header alone', () => {
    const ours = encodeResponse({ xid: 5, zxid: 0x10n, err: ErrorCode.NONODE });
    expect(ours.equals(theirReply(5, 0x10n, ErrorCode.NONODE, null))).toBe(true);
    expect(readTheirHeader(ours, 5, 0x10n, ErrorCode.NONODE)).toBe(ours.length);
  });

  it('a watch notification', () => {
    const ours = encodeNotification({ type: EventType.NodeDataChanged, state: KeeperState.SyncConnected, path: '/watched' });
    expect(ours.equals(theirReply(-1, -1n, 0, new P.WatcherEvent!(EventType.NodeDataChanged, KeeperState.SyncConnected, '/watched')))).toBe(true);
    const offset = readTheirHeader(ours, -1, -1n, 0);
    const event = new P.WatcherEvent!();
    event.deserialize(ours, offset);
    expect([event.type, event.state, event.path]).toEqual([EventType.NodeDataChanged, KeeperState.SyncConnected, '/watched']);
  });

  it('a successful multi (TransactionResponse)', () => {
    const ours = encodeResponse(
      { xid: 42, zxid: 0x3_0000_0001n, err: 0 },
      {
        record: 'MultiResponse',
        results: [{ op: 'create', path: '/tx/a' }, { op: 'setData', stat }, { op: 'check' }, { op: 'delete' }],
      },
    );
    const offset = readTheirHeader(ours, 42, 0x3_0000_0001n, 0);
    const response = new jute.TransactionResponse();
    expect(offset + response.deserialize(ours, offset)).toBe(ours.length);
    const [create, setData, check, del] = response.results;
    expect(create).toEqual({ type: OpCode.create, path: '/tx/a' });
    expect(setData?.type).toBe(OpCode.setData);
    expectSameStat(setData?.stat, stat);
    expect(check).toEqual({ type: OpCode.check });
    expect(del).toEqual({ type: OpCode.delete });
  });

  it('a failed multi (every result an ErrorResponse)', () => {
    const ours = encodeResponse(
      { xid: 43, zxid: 0x3_0000_0001n, err: 0 },
      {
        record: 'MultiResponse',
        results: [
          { op: 'error', err: ErrorCode.OK },
          { op: 'error', err: ErrorCode.BADVERSION },
          { op: 'error', err: ErrorCode.RUNTIMEINCONSISTENCY },
        ],
      },
    );
    const offset = readTheirHeader(ours, 43, 0x3_0000_0001n, 0);
    const response = new jute.TransactionResponse();
    response.deserialize(ours, offset);
    expect(response.results).toEqual([
      { type: OpCode.error, err: ErrorCode.OK },
      { type: OpCode.error, err: ErrorCode.BADVERSION },
      { type: OpCode.error, err: ErrorCode.RUNTIMEINCONSISTENCY },
    ]);
  });
});

describe('golden bytes', () => {
  it('a ping request', () => {
    expect(encodeRequest(Xid.ping, { op: 'ping' }).toString('hex')).toBe('00000008' + 'fffffffe' + '0000000b');
  });

  it('a new-session ConnectRequest as the Java client writes it (readOnly false)', () => {
    const packet = encodeConnectRequest({
      protocolVersion: 0,
      lastZxidSeen: 0n,
      timeoutMs: 30_000,
      sessionId: 0n,
      passwd: Buffer.alloc(16),
      readOnly: false,
    });
    expect(packet.toString('hex')).toBe(
      '0000002d' + '00000000' + '0000000000000000' + '00007530' + '0000000000000000' + '00000010' + '00'.repeat(16) + '00',
    );
  });

  it('a NodeCreated notification', () => {
    expect(encodeNotification({ type: EventType.NodeCreated, state: KeeperState.SyncConnected, path: '/a' }).toString('hex')).toBe(
      '0000001e' + 'ffffffff' + 'ffffffffffffffff' + '00000000' + '00000001' + '00000003' + '00000002' + '2f61',
    );
  });

  it('a getData request with a watch', () => {
    expect(encodeRequest(1, { op: 'getData', path: '/a', watch: true }).toString('hex')).toBe(
      '0000000f' + '00000001' + '00000004' + '00000002' + '2f61' + '01',
    );
  });
});
