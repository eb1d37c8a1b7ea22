/** fast-check generators of jute records, shared by the jute tests. */

import fc from 'fast-check';
import type { Acl, Stat } from '../../../src/protocol/zookeeper.js';
import type {
  ClientInfo,
  ConnectRequest,
  ConnectResponse,
  CreateRequest,
  MultiReadOp,
  MultiResult,
  MultiWriteOp,
  ResponseBody,
  WatcherEvent,
  ZkRequest,
} from '../../../src/server/jute/records.js';

export const int32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
export const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
/** Any Unicode text (whole code points, so it survives a UTF-8 round trip). */
export const text = fc.string({ unit: 'binary', maxLength: 24 });
export const path = fc.oneof(fc.constantFrom('/', '/a', '/zookeeper/quota', '/app/lock-0000000007'), text);
export const bytes = fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a));
export const nullableBytes = fc.option(bytes, { nil: null });
export const nullableText = fc.option(text, { nil: null });
export const strings = fc.array(path, { maxLength: 6 });

export const acl: fc.Arbitrary<Acl> = fc.record({ perms: int32, id: fc.record({ scheme: text, id: text }) });
export const acls = fc.array(acl, { maxLength: 4 });

export const stat: fc.Arbitrary<Stat> = fc.record({
  czxid: int64,
  mzxid: int64,
  ctime: fc.maxSafeInteger(),
  mtime: fc.maxSafeInteger(),
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: int64,
  dataLength: int32,
  numChildren: int32,
  pzxid: int64,
});

const createBody: fc.Arbitrary<CreateRequest> = fc.record({ path, data: nullableBytes, acl: acls, flags: int32 });

export const multiWriteOp: fc.Arbitrary<MultiWriteOp> = fc.oneof(
  fc.tuple(fc.constantFrom('create', 'create2', 'createContainer') , createBody).map(([op, body]) => ({ op, ...body })),
  createBody.chain((body) => int64.map((ttl) => ({ op: 'createTTL' as const, ...body, ttl }))),
  fc.record({ op: fc.constant('delete' as const), path, version: int32 }),
  fc.record({ op: fc.constant('setData' as const), path, data: nullableBytes, version: int32 }),
  fc.record({ op: fc.constant('check' as const), path, version: int32 }),
);

export const multiReadOp: fc.Arbitrary<MultiReadOp> = fc.record({
  op: fc.constantFrom('getChildren' as const, 'getData' as const),
  path,
  watch: fc.boolean(),
});

const pathWatchOps = ['exists', 'getData', 'getChildren', 'getChildren2'] as const;
const pathOps = ['getACL', 'getAllChildrenNumber', 'sync'] as const;
const emptyOps = ['whoAmI', 'ping', 'closeSession'] as const;
/** Op types that ZooKeeper 3.8 does not serve from clients (notification, error, createSession, unused numbers). */
export const unknownOpType = fc.oneof(fc.constantFrom(0, -1, -10, 10, 23, 99, 108), fc.integer({ min: 200, max: 0x7fff_ffff }));

const setWatchesBody = { relativeZxid: int64, dataWatches: strings, existWatches: strings, childWatches: strings };

/** Every request a client can send after connecting, one generator per op. */
export const request: fc.Arbitrary<ZkRequest> = fc.oneof(
  fc.tuple(fc.constantFrom('create', 'create2', 'createContainer'), createBody).map(([op, body]) => ({ op, ...body })),
  createBody.chain((body) => int64.map((ttl) => ({ op: 'createTTL' as const, ...body, ttl }))),
  fc.record({ op: fc.constant('delete' as const), path, version: int32 }),
  fc.record({ op: fc.constant('deleteContainer' as const), path }),
  fc.record({ op: fc.constantFrom(...pathWatchOps), path, watch: fc.boolean() }),
  fc.record({ op: fc.constantFrom(...pathOps), path }),
  fc.record({ op: fc.constant('setData' as const), path, data: nullableBytes, version: int32 }),
  fc.record({ op: fc.constant('setACL' as const), path, acl: acls, version: int32 }),
  fc.record({ op: fc.constant('getEphemerals' as const), prefixPath: fc.option(path, { nil: null }) }),
  fc.record({ op: fc.constant('check' as const), path, version: int32 }),
  fc.record({ op: fc.constant('multi' as const), ops: fc.array(multiWriteOp, { maxLength: 5 }) }),
  fc.record({ op: fc.constant('multiRead' as const), ops: fc.array(multiReadOp, { maxLength: 5 }) }),
  fc.record({ op: fc.constant('addWatch' as const), path, mode: int32 }),
  fc.record({ op: fc.constantFrom('removeWatches' as const, 'checkWatches' as const), path, type: int32 }),
  fc.record({ op: fc.constant('setWatches' as const), ...setWatchesBody }),
  fc.record({
    op: fc.constant('setWatches2' as const),
    ...setWatchesBody,
    persistentWatches: strings,
    persistentRecursiveWatches: strings,
  }),
  fc.record({ op: fc.constant('auth' as const), type: int32, scheme: text, auth: nullableBytes }),
  fc.record({ op: fc.constant('sasl' as const), token: nullableBytes }),
  fc.record({ op: fc.constantFrom(...emptyOps) }),
  fc.record({
    op: fc.constant('reconfig' as const),
    joiningServers: nullableText,
    leavingServers: nullableText,
    newMembers: nullableText,
    curConfigId: int64,
  }),
  fc.record({ op: fc.constant('unknown' as const), type: unknownOpType, body: bytes }),
);

export const multiResult: fc.Arbitrary<MultiResult> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), path }),
  fc.record({ op: fc.constant('create2' as const), path, stat }),
  fc.record({ op: fc.constantFrom('delete' as const, 'check' as const) }),
  fc.record({ op: fc.constant('setData' as const), stat }),
  fc.record({ op: fc.constant('getChildren' as const), children: strings }),
  fc.record({ op: fc.constant('getData' as const), data: nullableBytes, stat }),
  fc.record({ op: fc.constant('error' as const), err: int32 }),
);

const clientInfo: fc.Arbitrary<ClientInfo> = fc.record({ authScheme: text, user: nullableText });

/** Every response body a server can write after a ReplyHeader. */
export const responseBody: fc.Arbitrary<ResponseBody> = fc.oneof(
  fc.record({ record: fc.constantFrom('CreateResponse' as const, 'SyncResponse' as const), path }),
  fc.record({ record: fc.constant('Create2Response' as const), path, stat }),
  fc.record({ record: fc.constantFrom('ExistsResponse' as const, 'SetDataResponse' as const, 'SetACLResponse' as const), stat }),
  fc.record({ record: fc.constant('GetDataResponse' as const), data: nullableBytes, stat }),
  fc.record({ record: fc.constant('GetACLResponse' as const), acl: acls, stat }),
  fc.record({ record: fc.constant('GetChildrenResponse' as const), children: strings }),
  fc.record({ record: fc.constant('GetChildren2Response' as const), children: strings, stat }),
  fc.record({ record: fc.constant('GetAllChildrenNumberResponse' as const), totalNumber: int32 }),
  fc.record({ record: fc.constant('GetEphemeralsResponse' as const), ephemerals: strings }),
  fc.record({ record: fc.constant('ErrorResponse' as const), err: int32 }),
  fc.record({ record: fc.constant('SetSASLResponse' as const), token: nullableBytes }),
  fc.record({ record: fc.constant('WhoAmIResponse' as const), clientInfo: fc.array(clientInfo, { maxLength: 4 }) }),
  fc.record({ record: fc.constant('MultiResponse' as const), results: fc.array(multiResult, { maxLength: 5 }) }),
);

export const connectRequest: fc.Arbitrary<ConnectRequest> = fc.record({
  protocolVersion: int32,
  lastZxidSeen: int64,
  timeoutMs: int32,
  sessionId: int64,
  passwd: nullableBytes,
  readOnly: fc.option(fc.boolean(), { nil: undefined }),
});

export const connectResponse: fc.Arbitrary<ConnectResponse> = fc.record({
  protocolVersion: int32,
  timeoutMs: int32,
  sessionId: int64,
  passwd: nullableBytes,
  readOnly: fc.option(fc.boolean(), { nil: undefined }),
});

export const watcherEvent: fc.Arbitrary<WatcherEvent> = fc.record({ type: int32, state: int32, path });
