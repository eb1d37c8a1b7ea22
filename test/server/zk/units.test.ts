/**
 * The pure parts of the client port: request plans and reply shapes, Java text formats, and the
 * consistency of the named limits.
 */
import { describe, expect, it } from 'vitest';
import { REQUEST_OPS, DEFAULT_MAX_FRAME_BYTES } from '../../../src/server/jute/index.js';
import type { ZkRequest as WireRequest } from '../../../src/server/jute/index.js';
import { CreateMode, ErrorCode, OPEN_ACL_UNSAFE } from '../../../src/protocol/zookeeper.js';
import type { Stat } from '../../../src/protocol/zookeeper.js';
import {
  CLOSE_LINGER_MS,
  DEFAULT_MAX_CLIENT_CNXNS,
  DEFAULT_MAX_OUTSTANDING_REQUESTS,
  DEFAULT_SESSIONLESS_TIMEOUT_MS,
  DEFAULT_ZK_MAX_FRAME_BYTES,
  LAST_OP_NAME,
  MAX_PENDING_WRITE_BYTES,
  STATEKEEPER_ZK_VERSION,
  planRequest,
  replyOf,
} from '../../../src/server/zk/index.js';
import type { ServicePlan } from '../../../src/server/zk/index.js';
import { javaDate, javaDouble, javaHex, javaSocketAddress, plainAddress } from '../../../src/server/zk/format.js';

const stat: Stat = { czxid: 1n, mzxid: 2n, ctime: 3, mtime: 4, version: 5, cversion: 6, aversion: 7, ephemeralOwner: 0n, dataLength: 1, numChildren: 0, pzxid: 8n };

function servicePlan(request: WireRequest): ServicePlan {
  const plan = planRequest(request);
  if (plan.kind !== 'service') throw new Error(`expected a service plan for ${request.op}, got ${plan.kind}`);
  return plan;
}

describe('request plans', () => {
  it('every op the codec knows has a plan and a last-operation name', () => {
    for (const op of [...REQUEST_OPS, 'unknown' as const]) expect(LAST_OP_NAME[op], op).toMatch(/^[A-Z0-9]{2,6}$/);
  });

  it('create takes its mode from the flags; only createTTL carries a TTL; null data stays null', () => {
    const create = servicePlan({ op: 'create', path: '/a', data: null, acl: OPEN_ACL_UNSAFE, flags: CreateMode.PERSISTENT_WITH_TTL });
    expect(create.request).toEqual({ op: 'create', path: '/a', data: null, acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT_WITH_TTL });
    const getData = servicePlan({ op: 'getData', path: '/a', watch: false });
    const stat = { czxid: 1n, mzxid: 1n, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, dataLength: 0, numChildren: 0, pzxid: 1n };
    expect(getData.toBody({ err: 0, zxid: 1n, data: new Uint8Array(0), nullData: true, stat })).toEqual({ record: 'GetDataResponse', data: null, stat });
    expect(getData.toBody({ err: 0, zxid: 1n, data: new Uint8Array(0), stat })).toEqual({ record: 'GetDataResponse', data: Buffer.alloc(0), stat });
    const ttl = servicePlan({ op: 'createTTL', path: '/t', data: Buffer.from('x'), acl: OPEN_ACL_UNSAFE, flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 5000n });
    expect(ttl.request).toMatchObject({ op: 'create', mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 5000 });
    const container = servicePlan({ op: 'createContainer', path: '/c', data: null, acl: OPEN_ACL_UNSAFE, flags: CreateMode.CONTAINER });
    expect(container.request).toMatchObject({ op: 'create', mode: CreateMode.CONTAINER });
    expect('ttlMs' in container.request).toBe(false);
  });

  it('create answers CreateResponse, create2 and the others Create2Response', () => {
    const answer = { err: 0, zxid: 9n, path: '/a', stat };
    expect(replyOf(servicePlan({ op: 'create', path: '/a', data: null, acl: [], flags: 0 }), answer).body).toEqual({ record: 'CreateResponse', path: '/a' });
    for (const op of ['create2', 'createContainer'] as const) {
      expect(replyOf(servicePlan({ op, path: '/a', data: null, acl: [], flags: 0 }), answer).body).toEqual({ record: 'Create2Response', path: '/a', stat });
    }
  });

  it('errors are the header alone; a failed multi is err 0 with one result per op', () => {
    const getData = servicePlan({ op: 'getData', path: '/x', watch: false });
    expect(replyOf(getData, { err: ErrorCode.NONODE, zxid: 1n })).toEqual({ err: ErrorCode.NONODE, body: undefined });
    const multi = servicePlan({
      op: 'multi',
      ops: [
        { op: 'create', path: '/m', data: null, acl: [], flags: 0 },
        { op: 'create2', path: '/n', data: null, acl: [], flags: 0 },
        { op: 'check', path: '/m', version: 3 },
      ],
    });
    const failed = replyOf(multi, {
      err: ErrorCode.BADVERSION,
      zxid: 2n,
      results: [
        { type: 'error', err: 0 },
        { type: 'error', err: ErrorCode.BADVERSION },
        { type: 'error', err: ErrorCode.RUNTIMEINCONSISTENCY },
      ],
    });
    expect(failed.err).toBe(0);
    expect(failed.body).toEqual({
      record: 'MultiResponse',
      results: [
        { op: 'error', err: 0 },
        { op: 'error', err: ErrorCode.BADVERSION },
        { op: 'error', err: ErrorCode.RUNTIMEINCONSISTENCY },
      ],
    });
    const succeeded = replyOf(multi, {
      err: 0,
      zxid: 3n,
      results: [
        { type: 'create', err: 0, path: '/m', stat },
        { type: 'create', err: 0, path: '/n', stat },
        { type: 'check', err: 0 },
      ],
    });
    expect(succeeded.body).toEqual({ record: 'MultiResponse', results: [{ op: 'create', path: '/m' }, { op: 'create2', path: '/n', stat }, { op: 'check' }] });
    // A multi refused before its ops ran (no results) keeps the error in the header.
    expect(replyOf(multi, { err: ErrorCode.SESSIONEXPIRED, zxid: 3n })).toEqual({ err: ErrorCode.SESSIONEXPIRED, body: undefined });
  });

  it('what the connection answers itself', () => {
    expect(planRequest({ op: 'unknown', type: 77, body: Buffer.alloc(0) })).toMatchObject({ kind: 'reply', err: ErrorCode.UNIMPLEMENTED, zxid: 'none', close: true });
    expect(planRequest({ op: 'check', path: '/', version: 1 })).toMatchObject({ kind: 'reply', err: ErrorCode.UNIMPLEMENTED, close: true });
    expect(planRequest({ op: 'reconfig', joiningServers: null, leavingServers: null, newMembers: null, curConfigId: 0n })).toMatchObject({ kind: 'reply', err: ErrorCode.RECONFIGDISABLED, close: false });
    // deleteContainer goes through the log as ZooKeeper reads it: the packet with its header, NULs and all.
    const deleteContainer = planRequest({ op: 'deleteContainer', path: '/c' }, 7);
    expect(deleteContainer).toMatchObject({ kind: 'service', request: { op: 'deleteContainer', path: '\u0000\u0000\u0000\u0007\u0000\u0000\u0000\u0014/c' } });
    expect(planRequest({ op: 'ping' }).kind).toBe('ping');
    expect(planRequest({ op: 'closeSession' }).kind).toBe('closeSession');
    expect(planRequest({ op: 'sasl', token: null })).toEqual({ kind: 'sasl', token: null });
    expect(planRequest({ op: 'auth', type: 0, scheme: 'digest', auth: null })).toEqual({ kind: 'auth', scheme: 'digest', auth: Buffer.alloc(0) });
  });

  it('a success without its payload is a service defect, not an empty answer', () => {
    expect(() => replyOf(servicePlan({ op: 'exists', path: '/', watch: false }), { err: 0, zxid: 1n })).toThrow(/without a stat/);
  });

  it('SetWatches and SetWatches2 carry every watch list', () => {
    expect(servicePlan({ op: 'setWatches2', relativeZxid: 7n, dataWatches: ['/d'], existWatches: ['/e'], childWatches: ['/c'], persistentWatches: ['/p'], persistentRecursiveWatches: ['/r'] }).request).toEqual({
      op: 'setWatches',
      relativeZxid: 7n,
      watches: { data: ['/d'], exist: ['/e'], child: ['/c'], persistent: ['/p'], persistentRecursive: ['/r'] },
    });
  });
});

describe('Java text formats', () => {
  it('Double.toString', () => {
    expect(javaDouble(0)).toBe('0.0');
    expect(javaDouble(2)).toBe('2.0');
    expect(javaDouble(1.5)).toBe('1.5');
    expect(javaDouble(0.0001)).toBe('1.0E-4');
    expect(javaDouble(0.00125)).toBe('0.00125');
    expect(javaDouble(12_345_678)).toBe('1.2345678E7');
  });

  it('Long.toHexString, Date.toString, InetSocketAddress.toString', () => {
    expect(javaHex(-1n)).toBe('ffffffffffffffff');
    expect(javaHex(0x1234n)).toBe('1234');
    expect(javaDate(Date.UTC(2024, 2, 5, 9, 7, 3))).toBe('Tue Mar 05 09:07:03 UTC 2024');
    expect(javaSocketAddress('::ffff:127.0.0.1', 4000)).toBe('/127.0.0.1:4000');
    expect(plainAddress('::1')).toBe('::1');
  });
});

describe('limits', () => {
  it('are consistent with each other and with ZooKeeper\'s defaults', () => {
    expect(DEFAULT_ZK_MAX_FRAME_BYTES).toBe(0xfffff);
    expect(DEFAULT_ZK_MAX_FRAME_BYTES).toBe(DEFAULT_MAX_FRAME_BYTES);
    expect(DEFAULT_MAX_CLIENT_CNXNS).toBe(60);
    expect(DEFAULT_SESSIONLESS_TIMEOUT_MS).toBe(10_000);
    // Replies to full-size frames fit below the write high-water mark, so pipelined big reads do not stop reading after each reply.
    expect(MAX_PENDING_WRITE_BYTES).toBeGreaterThan(2 * DEFAULT_ZK_MAX_FRAME_BYTES);
    expect(DEFAULT_MAX_OUTSTANDING_REQUESTS).toBeGreaterThan(0);
    expect(CLOSE_LINGER_MS).toBeLessThan(DEFAULT_SESSIONLESS_TIMEOUT_MS);
    expect(STATEKEEPER_ZK_VERSION.split('-')[0]).toBe('3.8.0');
  });
});
