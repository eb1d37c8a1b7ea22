/**
 * The client port byte for byte, with raw jute: the handshake's answers, reply order, the requests
 * node-zookeeper-client cannot send (containers, TTLs, multiRead, whoAmI, persistent watches, …),
 * ZooKeeper's answers to unknown, unsupported and malformed requests, and the connection limits.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeReplyHeader,
  decodeResponseBody,
  decodeWatcherEvent,
  encodeConnectRequest,
  encodeRequest,
} from '../../../src/server/jute/index.js';
import type { ResponseBody, ResponseRecordName, ZkRequest as WireRequest } from '../../../src/server/jute/index.js';
import { AddWatchMode, ErrorCode, EventType, OPEN_ACL_UNSAFE, CreateMode, WatcherType } from '../../../src/protocol/zookeeper.js';
import { ZkServer } from '../../../src/server/zk/index.js';
import { collectingLogger, openSocket, rawSession, readUntilClosed, startCluster, waitUntil } from './harness.js';
import type { Cluster, RawSession } from './harness.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
});

afterAll(async () => {
  await cluster.stop();
});

const port = (i = 0): number => cluster.servers[i]!.port;

interface Reply {
  readonly xid: number;
  readonly zxid: bigint;
  readonly err: number;
  readonly body: Buffer;
}

async function nextReply(session: RawSession): Promise<Reply> {
  const { header, body } = decodeReplyHeader(await session.nextFrame());
  return { ...header, body };
}

async function request(session: RawSession, xid: number, req: WireRequest): Promise<Reply> {
  session.socket.write(encodeRequest(xid, req));
  return nextReply(session);
}

function body<K extends ResponseRecordName>(reply: Reply, record: K): Extract<ResponseBody, { record: K }> {
  expect(reply.err).toBe(0);
  return decodeResponseBody(record, reply.body) as Extract<ResponseBody, { record: K }>;
}

const data = (text: string): Buffer => Buffer.from(text);

describe('handshake', () => {
  it('a new client gets a session, its negotiated timeout, a 16-byte password and the readOnly byte', async () => {
    const session = await rawSession(port(0), { timeoutMs: 60_000 });
    expect(session.connect.sessionId).not.toBe(0n);
    expect(session.connect.timeoutMs).toBe(cluster.ensemble.servers[0]!.service.maxSessionTimeoutMs);
    expect(session.connect.passwd?.length).toBe(16);
    expect(session.connect.readOnly).toBe(false);
    session.socket.destroy();
  });

  it('an old client (no readOnly byte) gets a ConnectResponse without one', async () => {
    const socket = await openSocket(port(0));
    const closed = readUntilClosed(socket);
    socket.write(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeoutMs: 4000, sessionId: 0n, passwd: Buffer.alloc(16) }));
    await waitUntil(() => socket.bytesRead >= 4 + 36, 5_000, 'the ConnectResponse');
    socket.destroy();
    const { data: bytes } = await closed;
    expect(bytes.readInt32BE(0)).toBe(36); // protocolVersion, timeOut, sessionId, passwd(4 + 16): no readOnly
  });

  it('an unknown session, or a wrong password, is answered with timeout 0 and session 0, then closed', async () => {
    const unknown = await rawSession(port(1), { sessionId: 0x7700000000000001n, passwd: Buffer.alloc(16, 1) });
    expect(unknown.connect.timeoutMs).toBe(0);
    expect(unknown.connect.sessionId).toBe(0n);
    expect(unknown.connect.passwd).toEqual(Buffer.alloc(16));
    await unknown.closed;

    const owner = await rawSession(port(0));
    const wrong = await rawSession(port(1), { sessionId: owner.connect.sessionId, passwd: Buffer.alloc(16, 7) });
    expect(wrong.connect.timeoutMs).toBe(0);
    expect(wrong.connect.sessionId).toBe(0n);
    await wrong.closed;
    // The rightful owner is untouched (it is on another server).
    expect((await request(owner, 1, { op: 'exists', path: '/', watch: false })).err).toBe(0);
    owner.socket.destroy();
  });

  it('a client that has seen a newer zxid than the server is refused without an answer', async () => {
    const socket = await openSocket(port(2));
    const closed = readUntilClosed(socket);
    socket.write(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 1n << 60n, timeoutMs: 4000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }));
    const { data: bytes } = await closed;
    expect(bytes.length).toBe(0);
  });

  it('reconnecting a session on the same server closes its older connection, and the session carries on', async () => {
    const first = await rawSession(port(0));
    const { sessionId } = first.connect;
    const second = await rawSession(port(0), { sessionId, passwd: first.connect.passwd ?? undefined });
    expect(second.connect.sessionId).toBe(sessionId);
    await first.closed;
    expect((await request(second, 1, { op: 'create', path: '/takeover', data: data('t'), acl: OPEN_ACL_UNSAFE, flags: CreateMode.EPHEMERAL })).err).toBe(0);
    expect(cluster.servers[0]!.sessionIds()).toContain(sessionId);
    second.socket.destroy();
  });
});

describe('requests and replies', () => {
  it('replies leave in request order even when writes and reads are pipelined', async () => {
    const session = await rawSession(port(1));
    const requests: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      if (i % 4 === 0) requests.push(encodeRequest(i, { op: 'create', path: `/order-${i}`, data: data(String(i)), acl: OPEN_ACL_UNSAFE, flags: CreateMode.EPHEMERAL }));
      else if (i % 4 === 1) requests.push(encodeRequest(i, { op: 'getData', path: `/order-${i - 1}`, watch: false }));
      else if (i % 4 === 2) requests.push(encodeRequest(-2, { op: 'ping' }));
      else requests.push(encodeRequest(i, { op: 'exists', path: '/nothing-here', watch: false }));
    }
    session.socket.write(Buffer.concat(requests));
    const replies: Reply[] = [];
    for (let i = 0; i < 40; i++) replies.push(await nextReply(session));
    expect(replies.map((r) => r.xid)).toEqual(Array.from({ length: 40 }, (_, i) => (i % 4 === 2 ? -2 : i)));
    for (let i = 1; i < 40; i += 4) {
      // Each read follows its create in the session's order, so it sees it.
      expect(body(replies[i]!, 'GetDataResponse').data?.toString()).toBe(String(i - 1));
    }
    expect(replies.filter((_, i) => i % 4 === 3).every((r) => r.err === ErrorCode.NONODE)).toBe(true);
    const writeZxids = replies.filter((_, i) => i % 4 === 0).map((r) => r.zxid);
    expect([...writeZxids].sort((a, b) => (a < b ? -1 : 1))).toEqual(writeZxids);
    session.socket.destroy();
  });

  it('containers, TTL nodes, and the TTL rules of ZooKeeper', async () => {
    const s = await rawSession(port(0));
    const container = body(await request(s, 1, { op: 'createContainer', path: '/box', data: data('c'), acl: OPEN_ACL_UNSAFE, flags: CreateMode.CONTAINER }), 'Create2Response');
    expect(container.path).toBe('/box');
    expect(container.stat.ephemeralOwner).toBe(0n);
    const ttl = body(await request(s, 2, { op: 'createTTL', path: '/ttl-', data: data('t'), acl: OPEN_ACL_UNSAFE, flags: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl: 60_000n }), 'Create2Response');
    expect(ttl.path).toMatch(/^\/ttl-\d{10}$/);
    // A TTL mode through plain create carries no TTL; a TTL of 0 is out of range.
    expect((await request(s, 3, { op: 'create', path: '/ttl-x', data: null, acl: OPEN_ACL_UNSAFE, flags: CreateMode.PERSISTENT_WITH_TTL })).err).toBe(ErrorCode.BADARGUMENTS);
    expect((await request(s, 4, { op: 'createTTL', path: '/ttl-y', data: null, acl: OPEN_ACL_UNSAFE, flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 0n })).err).toBe(ErrorCode.BADARGUMENTS);
    expect((await request(s, 5, { op: 'create2', path: '/bad-mode', data: null, acl: OPEN_ACL_UNSAFE, flags: 42 })).err).toBe(ErrorCode.BADARGUMENTS);
    // create answers CreateResponse (path only), create2 a Create2Response.
    expect(body(await request(s, 6, { op: 'create', path: '/plain', data: null, acl: OPEN_ACL_UNSAFE, flags: 0 }), 'CreateResponse').path).toBe('/plain');
    const getData = body(await request(s, 7, { op: 'getData', path: '/plain', watch: false }), 'GetDataResponse');
    expect(getData.data?.length ?? 0).toBe(0);
    s.socket.destroy();
  });

  it('multiRead, getAllChildrenNumber, getEphemerals, whoAmI, sync, getChildren and getACL', async () => {
    const s = await rawSession(port(2));
    await request(s, 1, { op: 'create', path: '/mr', data: data('root'), acl: OPEN_ACL_UNSAFE, flags: 0 });
    await request(s, 2, { op: 'create', path: '/mr/a', data: data('a'), acl: OPEN_ACL_UNSAFE, flags: CreateMode.EPHEMERAL });
    await request(s, 3, { op: 'create', path: '/mr/b', data: data('b'), acl: OPEN_ACL_UNSAFE, flags: 0 });
    const multi = body(await request(s, 4, { op: 'multiRead', ops: [{ op: 'getData', path: '/mr/a', watch: false }, { op: 'getChildren', path: '/mr', watch: false }, { op: 'getData', path: '/mr/none', watch: false }] }), 'MultiResponse');
    expect(multi.results).toHaveLength(3);
    expect(multi.results[0]).toMatchObject({ op: 'getData' });
    expect(multi.results[0]!.op === 'getData' && multi.results[0]!.data?.toString()).toBe('a');
    expect(multi.results[1]).toEqual({ op: 'getChildren', children: ['a', 'b'] });
    expect(multi.results[2]).toEqual({ op: 'error', err: ErrorCode.NONODE });
    expect(body(await request(s, 5, { op: 'getAllChildrenNumber', path: '/mr' }), 'GetAllChildrenNumberResponse').totalNumber).toBe(2);
    expect(body(await request(s, 6, { op: 'getEphemerals', prefixPath: '/mr' }), 'GetEphemeralsResponse').ephemerals).toEqual(['/mr/a']);
    const who = body(await request(s, 7, { op: 'whoAmI' }), 'WhoAmIResponse');
    expect(who.clientInfo).toEqual([{ authScheme: 'ip', user: '127.0.0.1' }]);
    expect(body(await request(s, 8, { op: 'sync', path: '/mr' }), 'SyncResponse').path).toBe('/mr');
    expect(body(await request(s, 9, { op: 'getChildren', path: '/mr', watch: false }), 'GetChildrenResponse').children).toEqual(['a', 'b']);
    const children2 = body(await request(s, 10, { op: 'getChildren2', path: '/mr', watch: false }), 'GetChildren2Response');
    expect(children2.stat.numChildren).toBe(2);
    const acl = body(await request(s, 11, { op: 'getACL', path: '/mr' }), 'GetACLResponse');
    expect(acl.acl).toEqual(OPEN_ACL_UNSAFE);
    // digest auth adds the digest id (reply zxid 0), and whoAmI shows it
    const auth = await request(s, -4, { op: 'auth', type: 0, scheme: 'digest', auth: data('bob:pw') });
    expect([auth.xid, auth.zxid, auth.err]).toEqual([-4, 0n, 0]);
    const who2 = body(await request(s, 12, { op: 'whoAmI' }), 'WhoAmIResponse');
    // In ZooKeeper's ConcurrentHashMap order (test/compat/zkcli.test.ts compares whoami with ZooKeeper's).
    // The digest user is named without its hash (AuthUtil.getClientInfos).
    expect(who2.clientInfo).toEqual([{ authScheme: 'digest', user: 'bob' }, { authScheme: 'ip', user: '127.0.0.1' }]);
    s.socket.destroy();
  });

  it('persistent watches, checkWatches/removeWatches, and SetWatches2 after a reconnect', async () => {
    const s = await rawSession(port(0));
    await request(s, 1, { op: 'create', path: '/pw', data: data('0'), acl: OPEN_ACL_UNSAFE, flags: 0 });
    const added = body(await request(s, 2, { op: 'addWatch', path: '/pw', mode: AddWatchMode.PERSISTENT }), 'ErrorResponse');
    expect(added.err).toBe(0);
    expect((await request(s, 3, { op: 'checkWatches', path: '/pw', type: WatcherType.Data })).err).toBe(0);
    // Two changes, two events: the watch is persistent. Each event precedes its write's reply.
    for (const [xid, value] of [[4, '1'], [5, '2']] as const) {
      s.socket.write(encodeRequest(xid, { op: 'setData', path: '/pw', data: data(value), version: -1 }));
      const first = decodeReplyHeader(await s.nextFrame());
      expect(first.header.xid).toBe(-1);
      expect(decodeWatcherEvent(first.body)).toEqual({ type: EventType.NodeDataChanged, state: 3, path: '/pw' });
      expect((await nextReply(s)).xid).toBe(xid);
    }
    expect((await request(s, 6, { op: 'removeWatches', path: '/pw', type: WatcherType.Any })).err).toBe(0);
    expect((await request(s, 7, { op: 'checkWatches', path: '/pw', type: WatcherType.Any })).err).toBe(ErrorCode.NOWATCHER);

    // SetWatches2 on a new connection of the same session: a data watch whose node changed since
    // relativeZxid fires at once (before the reply), a persistent one is registered again.
    const { sessionId, passwd } = s.connect;
    const seen = (await request(s, 8, { op: 'exists', path: '/pw', watch: false })).zxid;
    await request(s, 9, { op: 'setData', path: '/pw', data: data('3'), version: -1 });
    const again = await rawSession(port(0), { sessionId, passwd: passwd ?? undefined });
    await s.closed;
    again.socket.write(
      encodeRequest(-8, { op: 'setWatches2', relativeZxid: seen, dataWatches: ['/pw'], existWatches: [], childWatches: [], persistentWatches: ['/pw'], persistentRecursiveWatches: [] }),
    );
    const fired = decodeReplyHeader(await again.nextFrame());
    expect(fired.header.xid).toBe(-1);
    expect(decodeWatcherEvent(fired.body).type).toBe(EventType.NodeDataChanged);
    expect((await nextReply(again)).xid).toBe(-8);
    expect((await request(again, 10, { op: 'checkWatches', path: '/pw', type: WatcherType.Data })).err).toBe(0);
    again.socket.destroy();
  });

  it('frames up to jute.maxbuffer pass whole (a node of ~1 MB written and read back); a configured smaller limit closes', async () => {
    const s = await rawSession(port(1));
    const big = Buffer.alloc(1_000_000, 0x61);
    big.write('head', 0);
    big.write('tail', big.length - 4);
    expect((await request(s, 1, { op: 'create', path: '/big', data: big, acl: OPEN_ACL_UNSAFE, flags: CreateMode.EPHEMERAL })).err).toBe(0);
    const read = body(await request(s, 2, { op: 'getData', path: '/big', watch: false }), 'GetDataResponse');
    expect(read.data?.equals(big)).toBe(true);
    s.socket.destroy();

    const small = new ZkServer({ service: cluster.ensemble.servers[1]!.service, port: 0, maxFrameBytes: 1024, logger: collectingLogger() });
    await small.listen();
    try {
      const t = await rawSession(small.port);
      expect((await request(t, 1, { op: 'setData', path: '/no-such-node', data: Buffer.alloc(900), version: -1 })).err).toBe(ErrorCode.NONODE);
      t.socket.write(encodeRequest(2, { op: 'setData', path: '/no-such-node', data: Buffer.alloc(2000), version: -1 }));
      await t.closed;
    } finally {
      await small.close();
    }
  });

  it('closeSession answers, closes the connection and ends the session everywhere', async () => {
    const s = await rawSession(port(1));
    const { sessionId } = s.connect;
    await request(s, 1, { op: 'create', path: '/bye', data: null, acl: OPEN_ACL_UNSAFE, flags: CreateMode.EPHEMERAL });
    const reply = await request(s, 2, { op: 'closeSession' });
    expect([reply.xid, reply.err]).toEqual([2, 0]);
    await s.closed;
    expect(cluster.ensemble.servers[1]!.service.tree.getSession(sessionId)).toBeUndefined();
    expect(cluster.ensemble.servers[1]!.service.tree.exists('/bye')).toBeNull();
  });
});

describe('what ZooKeeper refuses', () => {
  it('an unknown opcode: UNIMPLEMENTED with zxid -1, then the connection closes', async () => {
    const s = await rawSession(port(0));
    const reply = await request(s, 9, { op: 'unknown', type: 999, body: Buffer.alloc(3) });
    expect([reply.xid, reply.zxid, reply.err]).toEqual([9, -1n, ErrorCode.UNIMPLEMENTED]);
    await s.closed;
  });

  it('check outside a multi: UNIMPLEMENTED and close (ZOOKEEPER-2623)', async () => {
    const s = await rawSession(port(0));
    expect((await request(s, 1, { op: 'check', path: '/', version: -1 })).err).toBe(ErrorCode.UNIMPLEMENTED);
    await s.closed;
  });

  it('reconfig (disabled), deleteContainer (BADARGUMENTS, a zxid spent) and SASL (not configured) keep the connection', async () => {
    const s = await rawSession(port(0));
    expect((await request(s, 1, { op: 'reconfig', joiningServers: null, leavingServers: null, newMembers: 'server.4=x:1:2', curConfigId: -1n })).err).toBe(ErrorCode.RECONFIGDISABLED);
    const made = await request(s, 2, { op: 'create', path: '/dc-box', data: null, acl: OPEN_ACL_UNSAFE, flags: CreateMode.CONTAINER });
    expect(made.err).toBe(0);
    // ZooKeeper 3.8 reads the packet header into the path, so a client's deleteContainer always fails,
    // through the log (an error transaction: the reply's zxid is a new one).
    const deleteContainer = await request(s, 3, { op: 'deleteContainer', path: '/dc-box' });
    expect(deleteContainer.err).toBe(ErrorCode.BADARGUMENTS);
    expect(deleteContainer.zxid).toBeGreaterThan(made.zxid);
    expect((await request(s, 4, { op: 'exists', path: '/dc-box', watch: false })).err).toBe(0);
    const sasl = await request(s, -5, { op: 'sasl', token: Buffer.alloc(0) });
    expect([sasl.err, sasl.zxid]).toEqual([0, 0n]);
    expect(decodeResponseBody('SetSASLResponse', sasl.body)).toEqual({ record: 'SetSASLResponse', token: null });
    expect((await request(s, -2, { op: 'ping' })).xid).toBe(-2);
    s.socket.destroy();
  });

  it('a malformed body: MARSHALLINGERROR, and the connection carries on', async () => {
    const s = await rawSession(port(0));
    const frame = Buffer.alloc(4 + 8 + 4);
    frame.writeInt32BE(12, 0);
    frame.writeInt32BE(5, 4);
    frame.writeInt32BE(OpCodes.getData, 8);
    frame.writeInt32BE(1000, 12); // a path of 1000 bytes that never comes
    s.socket.write(frame);
    const reply = await nextReply(s);
    expect([reply.xid, reply.err]).toEqual([5, ErrorCode.MARSHALLINGERROR]);
    expect((await request(s, 6, { op: 'exists', path: '/', watch: false })).err).toBe(0);
    s.socket.destroy();
  });

  it('a malformed auth packet, a frame shorter than a header, or a length over jute.maxbuffer closes the connection', async () => {
    const auth = await rawSession(port(0));
    const authFrame = Buffer.alloc(4 + 8 + 2);
    authFrame.writeInt32BE(10, 0);
    authFrame.writeInt32BE(-4, 4);
    authFrame.writeInt32BE(OpCodes.auth, 8);
    auth.socket.write(authFrame);
    await auth.closed;

    const short = await rawSession(port(0));
    short.socket.write(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
    await short.closed;

    const huge = await rawSession(port(0));
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(0xfffff + 1, 0);
    huge.socket.write(prefix);
    await huge.closed;
    expect(cluster.logger.lines.some((l) => l.message === 'closing connection: frame length refused (Len error)' && l.details.length === 0x100000)).toBe(true);
  });

  it('an unsupported auth scheme: AUTHFAILED with zxid 0, then close', async () => {
    const s = await rawSession(port(2));
    const reply = await request(s, -4, { op: 'auth', type: 0, scheme: 'x509', auth: data('cert') });
    expect([reply.xid, reply.zxid, reply.err]).toEqual([-4, 0n, ErrorCode.AUTHFAILED]);
    await s.closed;
  });
});

/** Request opcodes used to build frames by hand. */
const OpCodes = { getData: 4, auth: 100 } as const;

describe('connection limits', () => {
  it('maxClientCnxns refuses (resets) connections over the per-IP limit', async () => {
    const logger = collectingLogger();
    const server = new ZkServer({ service: cluster.ensemble.servers[0]!.service, port: 0, maxClientCnxns: 2, logger });
    await server.listen();
    try {
      const a = await rawSession(server.port);
      const b = await rawSession(server.port);
      // The refusal may reset the socket before or after it reports being connected.
      const c = connect({ port: server.port, host: '127.0.0.1' });
      const refused = await readUntilClosed(c);
      expect(refused.data.length).toBe(0);
      expect(logger.lines.some((l) => l.message === 'Too many connections from /127.0.0.1 - max is 2')).toBe(true);
      a.socket.destroy();
      await waitUntil(() => server.connectionCount === 1, 5_000, 'the closed connection to be counted out');
      const d = await rawSession(server.port);
      expect(d.connect.sessionId).not.toBe(0n);
      b.socket.destroy();
      d.socket.destroy();
    } finally {
      await server.close();
    }
  });

  it('a connection that says nothing is closed after the sessionless timeout', async () => {
    const logger = collectingLogger();
    const server = new ZkServer({ service: cluster.ensemble.servers[0]!.service, port: 0, sessionlessTimeoutMs: 100, logger });
    await server.listen();
    try {
      const socket = await openSocket(server.port);
      const closed = await readUntilClosed(socket);
      expect(closed.data.length).toBe(0);
      expect(logger.lines.some((l) => l.message === 'closing connection: connection silent for its timeout' && l.details.timeoutMs === 100)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('a server that is not serving refuses frames', async () => {
    const server = new ZkServer({ service: cluster.ensemble.servers[0]!.service, port: 0, logger: collectingLogger(), stats: { serverState: () => 'looking', isServing: () => false } });
    await server.listen();
    try {
      const socket = await openSocket(server.port);
      const closed = readUntilClosed(socket);
      socket.write(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeoutMs: 4000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }));
      expect((await closed).data.length).toBe(0);
    } finally {
      await server.close();
    }
  });
});
