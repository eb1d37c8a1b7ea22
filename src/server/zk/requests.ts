/**
 * How each decoded client request is served, as a pure function: which ones go to the coordination
 * service (and how their answer becomes a jute response record) and which ones the connection answers
 * itself, the way ZooKeeper 3.8's ZooKeeperServer.processPacket, PrepRequestProcessor and
 * FinalRequestProcessor do.
 */
import type { ZkRequest as ServiceRequest, ZkResponse, ReadResultItem } from '../../node/service.js';
import { ErrorCode, OpCode, type Stat } from '../../protocol/zookeeper.js';
import type { OpResult } from '../../tree/index.js';
import type { CreateOp, MultiOp } from '../../tree/txn.js';
import type { KnownRequest, MultiResult, MultiWriteOp, ResponseBody, ZkRequest as WireRequest } from '../jute/index.js';

/** A request the coordination service answers; `toBody` turns a successful answer into its record. */
export interface ServicePlan {
  readonly kind: 'service';
  readonly request: ServiceRequest;
  /** The reply body for an answer; undefined for replies that are the header alone. */
  readonly toBody: (response: ZkResponse) => ResponseBody | undefined;
  /** The multi's answer travels inside a MultiResponse with header err 0, even when an op failed. */
  readonly isMulti: boolean;
}

/**
 * What the connection does with one request.
 * - `service`: submit to the session's FIFO queue.
 * - `ping`, `closeSession`, `auth`, `sasl`: handled by the connection (they touch the connection or the session itself).
 * - `reply`: answered at once with an error code; `close` ends the connection after the reply.
 */
export type RequestPlan =
  | ServicePlan
  | { readonly kind: 'ping' }
  | { readonly kind: 'closeSession' }
  | { readonly kind: 'auth'; readonly scheme: string; readonly auth: Buffer }
  /** A null token makes ZooKeeper's processSasl throw (it reads the token's length first): the connection closes. */
  | { readonly kind: 'sasl'; readonly token: Buffer | null }
  | { readonly kind: 'reply'; readonly err: number; readonly zxid: 'last' | 'none'; readonly close: boolean; readonly reason: string };

/** ZooKeeper's four-letter names of the last operation of a connection (FinalRequestProcessor's lastOp). */
export const LAST_OP_NAME: { readonly [K in WireRequest['op']]: string } = {
  create: 'CREA',
  create2: 'CREA',
  createContainer: 'CREA',
  createTTL: 'CREA',
  delete: 'DELE',
  deleteContainer: 'DELE',
  exists: 'EXIS',
  getData: 'GETD',
  setData: 'SETD',
  getACL: 'GETA',
  setACL: 'SETA',
  getChildren: 'GETC',
  getChildren2: 'GETC',
  getAllChildrenNumber: 'GETACN',
  getEphemerals: 'GETE',
  sync: 'SYNC',
  check: 'CHEC',
  multi: 'MULT',
  multiRead: 'MLTR',
  addWatch: 'ADDW',
  removeWatches: 'REMW',
  checkWatches: 'CHKW',
  setWatches: 'SETW',
  setWatches2: 'STW2',
  auth: 'AUTH',
  sasl: 'SASL',
  whoAmI: 'HOMI',
  ping: 'PING',
  closeSession: 'CLOS',
  reconfig: 'RECO',
  unknown: 'NA',
};

/** A view of the service's bytes as a Buffer, without a copy. */
function asBuffer(data: Uint8Array | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A service answer that claims success must carry its payload; a missing one is a service defect. */
function required<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`the service answered success without ${what}`);
  return value;
}

function statOf(response: ZkResponse): Stat {
  return required(response.stat, 'a stat');
}

/**
 * The create of any flavour: the mode comes from the flags, not the opcode (pRequest2TxnCreate), and
 * only createTTL carries a TTL. A TTL mode sent through create/create2 therefore has no TTL and fails
 * with BADARGUMENTS, as in ZooKeeper (EphemeralType.validateTTL on ttl -1).
 */
function createOpOf(req: { readonly path: string; readonly data: Buffer | null; readonly acl: CreateOp['acl']; readonly flags: number }, ttl: bigint | undefined): CreateOp {
  // Number() of a TTL beyond 2^53 is no longer a safe integer, which the tree refuses as BADARGUMENTS.
  const base = { type: 'create' as const, path: req.path, data: req.data, acl: req.acl, mode: req.flags as CreateOp['mode'] };
  return ttl === undefined ? base : { ...base, ttlMs: Number(ttl) };
}

function multiOpOf(op: MultiWriteOp): MultiOp {
  switch (op.op) {
    case 'create':
    case 'create2':
    case 'createContainer':
      return createOpOf(op, undefined);
    case 'createTTL':
      return createOpOf(op, op.ttl);
    case 'delete':
      return { type: 'delete', path: op.path, version: op.version };
    case 'setData':
      return { type: 'setData', path: op.path, data: op.data, version: op.version };
    case 'check':
      return { type: 'check', path: op.path, version: op.version };
  }
}

/** MultiResponse entries: a create answers CreateResponse for opcode create, Create2Response for the others. */
function multiResultOf(result: OpResult, requested: MultiWriteOp | undefined): MultiResult {
  switch (result.type) {
    case 'create':
      return requested?.op === 'create' ? { op: 'create', path: result.path } : { op: 'create2', path: result.path, stat: result.stat };
    case 'delete':
      return { op: 'delete' };
    case 'setData':
      return { op: 'setData', stat: result.stat };
    case 'check':
      return { op: 'check' };
    case 'error':
      return { op: 'error', err: result.err };
    case 'setACL':
      // A multi cannot hold setACL (MultiOperationRecord refuses it), so the tree never answers one.
      throw new Error('the service answered a setACL result inside a multi');
  }
}

function readResultOf(item: ReadResultItem): MultiResult {
  if ('children' in item) return { op: 'getChildren', children: item.children };
  if ('data' in item) return { op: 'getData', data: item.nullData === true ? null : asBuffer(item.data), stat: item.stat };
  return { op: 'error', err: item.err };
}

function service(request: ServiceRequest, toBody: ServicePlan['toBody'], isMulti = false): ServicePlan {
  return { kind: 'service', request, toBody, isMulti };
}

const headerOnly = (): undefined => undefined;

/**
 * The path ZooKeeper 3.8's PrepRequestProcessor reads from a deleteContainer request:
 * `new String(request.request.array())`, the whole packet buffer, the RequestHeader (xid, type)
 * included, not just the body. The header's bytes always hold NULs (the type is 0x00000014), so the
 * path is refused as BADARGUMENTS.
 */
export function deleteContainerPathSeenByZooKeeper(xid: number, bodyPath: string): string {
  const header = Buffer.alloc(8);
  header.writeInt32BE(xid, 0);
  header.writeInt32BE(OpCode.deleteContainer, 4);
  return Buffer.concat([header, Buffer.from(bodyPath, 'utf8')]).toString('utf8');
}

/**
 * The plan for a request decoded from the wire (`xid` from its header). Pure: no IO, no state.
 * ZooKeeper's reasons for the local answers:
 * - `check` alone: UNIMPLEMENTED and close since ZOOKEEPER-2623 (3.8.5: Request.isValid is false, so
 *   UnimplementedRequestProcessor answers and closes), as for any unknown opcode;
 * - `reconfig`: RECONFIGDISABLED (reconfigEnabled defaults to false, and statekeeper has no reconfig).
 * `deleteContainer` goes to the service as ZooKeeper would see it: BADARGUMENTS, through the log
 * (ZooKeeper logs an error transaction for it, so it consumes a zxid), the connection kept.
 */
export function planRequest(request: WireRequest, xid = 0): RequestPlan {
  switch (request.op) {
    case 'unknown':
      return { kind: 'reply', err: ErrorCode.UNIMPLEMENTED, zxid: 'none', close: true, reason: `unknown request type ${request.type}` };
    case 'check':
      return { kind: 'reply', err: ErrorCode.UNIMPLEMENTED, zxid: 'none', close: true, reason: 'check outside a multi' };
    case 'reconfig':
      return { kind: 'reply', err: ErrorCode.RECONFIGDISABLED, zxid: 'last', close: false, reason: 'reconfig is disabled' };
    case 'deleteContainer':
      return service({ op: 'deleteContainer', path: deleteContainerPathSeenByZooKeeper(xid, request.path) }, headerOnly);
    case 'ping':
      return { kind: 'ping' };
    case 'closeSession':
      return { kind: 'closeSession' };
    case 'auth':
      return { kind: 'auth', scheme: request.scheme, auth: request.auth ?? Buffer.alloc(0) };
    case 'sasl':
      return { kind: 'sasl', token: request.token };
    default:
      return planServiceRequest(request);
  }
}

type ServiceBound = Exclude<KnownRequest, { op: 'check' | 'reconfig' | 'deleteContainer' | 'ping' | 'closeSession' | 'auth' | 'sasl' }>;


function planServiceRequest(request: ServiceBound): ServicePlan {
  switch (request.op) {
    case 'create':
      return service({ op: 'create', ...createRequestFields(createOpOf(request, undefined)) }, (r) => ({ record: 'CreateResponse', path: required(r.path, 'a path') }));
    case 'create2':
    case 'createContainer':
      return service({ op: 'create', ...createRequestFields(createOpOf(request, undefined)) }, (r) => ({ record: 'Create2Response', path: required(r.path, 'a path'), stat: statOf(r) }));
    case 'createTTL':
      return service({ op: 'create', ...createRequestFields(createOpOf(request, request.ttl)) }, (r) => ({ record: 'Create2Response', path: required(r.path, 'a path'), stat: statOf(r) }));
    case 'delete':
      return service({ op: 'delete', path: request.path, version: request.version }, headerOnly);
    case 'exists':
      return service({ op: 'exists', path: request.path, watch: request.watch }, (r) => ({ record: 'ExistsResponse', stat: statOf(r) }));
    case 'getData':
      return service({ op: 'getData', path: request.path, watch: request.watch }, (r) => ({
        record: 'GetDataResponse',
        data: r.nullData === true ? null : asBuffer(r.data),
        stat: statOf(r),
      }));
    case 'setData':
      return service({ op: 'setData', path: request.path, data: request.data, version: request.version }, (r) => ({ record: 'SetDataResponse', stat: statOf(r) }));
    case 'getACL':
      return service({ op: 'getACL', path: request.path }, (r) => ({ record: 'GetACLResponse', acl: required(r.acl, 'an ACL'), stat: statOf(r) }));
    case 'setACL':
      return service({ op: 'setACL', path: request.path, acl: request.acl, version: request.version }, (r) => ({ record: 'SetACLResponse', stat: statOf(r) }));
    case 'getChildren':
      return service({ op: 'getChildren', path: request.path, watch: request.watch }, (r) => ({ record: 'GetChildrenResponse', children: required(r.children, 'children') }));
    case 'getChildren2':
      return service({ op: 'getChildren', path: request.path, watch: request.watch }, (r) => ({ record: 'GetChildren2Response', children: required(r.children, 'children'), stat: statOf(r) }));
    case 'getAllChildrenNumber':
      return service({ op: 'getAllChildrenNumber', path: request.path }, (r) => ({ record: 'GetAllChildrenNumberResponse', totalNumber: required(r.count, 'a count') }));
    case 'getEphemerals':
      return service({ op: 'getEphemerals', prefix: request.prefixPath ?? '' }, (r) => ({ record: 'GetEphemeralsResponse', ephemerals: required(r.ephemerals, 'ephemerals') }));
    case 'sync':
      return service({ op: 'sync', path: request.path }, (r) => ({ record: 'SyncResponse', path: r.path ?? request.path }));
    case 'multi': {
      const ops = request.ops;
      return service(
        { op: 'multi', ops: ops.map(multiOpOf) },
        (r) => ({ record: 'MultiResponse', results: required(r.results, 'multi results').map((result, i) => multiResultOf(result, ops[i])) }),
        true,
      );
    }
    case 'multiRead':
      // ZooKeeper's Java client always sends watch=false inside a multiRead; the service sets none.
      return service(
        { op: 'multiRead', ops: request.ops.map((op) => ({ op: op.op, path: op.path })) },
        (r) => ({ record: 'MultiResponse', results: required(r.readResults, 'read results').map(readResultOf) }),
        true,
      );
    case 'addWatch':
      return service({ op: 'addWatch', path: request.path, mode: request.mode }, () => ({ record: 'ErrorResponse', err: 0 }));
    case 'removeWatches':
      return service({ op: 'removeWatches', path: request.path, watcherType: request.type }, headerOnly);
    case 'checkWatches':
      return service({ op: 'checkWatches', path: request.path, watcherType: request.type }, headerOnly);
    case 'setWatches':
      return service(
        { op: 'setWatches', relativeZxid: request.relativeZxid, watches: { data: request.dataWatches, exist: request.existWatches, child: request.childWatches } },
        headerOnly,
      );
    case 'setWatches2':
      return service(
        {
          op: 'setWatches',
          relativeZxid: request.relativeZxid,
          watches: {
            data: request.dataWatches,
            exist: request.existWatches,
            child: request.childWatches,
            persistent: request.persistentWatches,
            persistentRecursive: request.persistentRecursiveWatches,
          },
        },
        headerOnly,
      );
    case 'whoAmI':
      return service({ op: 'whoAmI' }, (r) => ({
        record: 'WhoAmIResponse',
        clientInfo: required(r.clientInfo, 'client info').map((id) => ({ authScheme: id.scheme, user: whoAmIUser(id) })),
      }));
  }
}

/**
 * AuthUtil.getClientInfos: the user a provider names for an id. DigestAuthenticationProvider gives
 * the part before the first ':' (not the hash); ip and sasl give the id; `super` has no provider ("").
 */
export function whoAmIUser(id: { readonly scheme: string; readonly id: string }): string {
  if (id.scheme === 'digest') return id.id.split(':')[0]!;
  return id.id;
}

function createRequestFields(op: CreateOp): { path: string; data: Uint8Array | null; acl: CreateOp['acl']; mode: number; ttlMs?: number } {
  return op.ttlMs === undefined
    ? { path: op.path, data: op.data, acl: op.acl, mode: op.mode }
    : { path: op.path, data: op.data, acl: op.acl, mode: op.mode, ttlMs: op.ttlMs };
}

/**
 * The reply of a service answer: header err and body. Errors carry no body (FinalRequestProcessor
 * leaves the record null when it throws), except a multi whose ops were evaluated: it answers err 0
 * with one result per op, the failing one and those after it as error results.
 */
export function replyOf(plan: ServicePlan, response: ZkResponse): { readonly err: number; readonly body: ResponseBody | undefined } {
  if (plan.isMulti && plan.request.op === 'multi') {
    const results = response.results;
    if (results !== undefined && results.length === plan.request.ops.length) return { err: ErrorCode.OK, body: plan.toBody(response) };
    return response.err === ErrorCode.OK ? { err: ErrorCode.OK, body: plan.toBody(response) } : { err: response.err, body: undefined };
  }
  if (response.err !== ErrorCode.OK) return { err: response.err, body: undefined };
  return { err: ErrorCode.OK, body: plan.toBody(response) };
}
