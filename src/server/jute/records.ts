/**
 * Typed encode/decode of every jute record a ZooKeeper 3.8 client port sees (zookeeper.jute,
 * MultiOperationRecord, MultiResponse), plus request decoding and framed response encoding.
 *
 * Conventions (see README.md in this folder for the reasoning):
 * - `buffer` fields are `Buffer | null`: ZooKeeper stores and returns null znode data as-is.
 * - `ustring` fields are `string`; a null (-1) string fails with `unexpectedNull`, except where
 *   ZooKeeper itself gives null a meaning (ReconfigRequest's server lists, GetEphemeralsRequest's
 *   prefix, ClientInfo's user). ZooKeeper answers a null path with MARSHALLINGERROR, which is what a
 *   server does with a body that throws JuteDecodeError.
 * - `vector` fields are arrays; a null (-1) vector decodes as empty.
 * - `long` is bigint, except Stat's ctime/mtime (milliseconds, `number` as in src/protocol).
 * - Frames handed to decoders exclude the 4-byte length prefix; encoders of whole packets
 *   (`encodeRequest`, `encodeResponse`, …) include it and allocate exactly once.
 * - Decoders ignore trailing bytes after a record, as ZooKeeper's deserializers do.
 */

import type { Acl, AclId, Stat } from '../../protocol/zookeeper.js';
import { OpCode } from '../../protocol/zookeeper.js';
import {
  BOOL_BYTES,
  DEFAULT_MAX_FIELD_BYTES,
  INT_BYTES,
  JuteDecodeError,
  JuteEncodeError,
  JuteReader,
  JuteSize,
  JuteWriter,
  LENGTH_PREFIX_BYTES,
  LONG_BYTES,
} from './buffer.js';

/** Encoder and decoder of one jute record. `size` is exact, so packets are allocated once. */
export interface RecordCodec<T> {
  /** The jute class name. */
  readonly name: string;
  size(value: T): number;
  write(writer: JuteWriter, value: T): void;
  read(reader: JuteReader): T;
}

/** Options for decoders. */
export interface DecodeOptions {
  /** Largest buffer/ustring field accepted; defaults to {@link DEFAULT_MAX_FIELD_BYTES}. */
  readonly maxFieldBytes?: number;
}

// ---------------------------------------------------------------------------------------------
// Record types (field names are jute's, except timeOut → timeoutMs to carry the unit)
// ---------------------------------------------------------------------------------------------

/** org.apache.zookeeper.data.ClientInfo, one entry of a whoAmI answer. */
export interface ClientInfo {
  readonly authScheme: string;
  /** Null when no authentication provider can name the user (AuthUtil.getUser). */
  readonly user: string | null;
}

/** The first packet of a connection (no RequestHeader precedes it). */
export interface ConnectRequest {
  readonly protocolVersion: number;
  readonly lastZxidSeen: bigint;
  /** jute `timeOut`: the session timeout the client asks for. */
  readonly timeoutMs: number;
  /** 0 for a new session. */
  readonly sessionId: bigint;
  readonly passwd: Buffer | null;
  /**
   * The trailing boolean 3.3+ clients append. `undefined` when the client omitted it (an "old
   * client", e.g. node-zookeeper-client); ZooKeeper then omits readOnly from its ConnectResponse too.
   */
  readonly readOnly?: boolean | undefined;
}

/** The answer to a ConnectRequest (no ReplyHeader precedes it). */
export interface ConnectResponse {
  readonly protocolVersion: number;
  /** jute `timeOut`: the negotiated session timeout; 0 tells the client its session expired. */
  readonly timeoutMs: number;
  readonly sessionId: bigint;
  readonly passwd: Buffer | null;
  /** Written only when defined: leave it undefined when the ConnectRequest had no readOnly flag. */
  readonly readOnly?: boolean | undefined;
}

export interface RequestHeader {
  readonly xid: number;
  /** The OpCode number. */
  readonly type: number;
}

export interface ReplyHeader {
  readonly xid: number;
  readonly zxid: bigint;
  /** ErrorCode number; 0 is OK. */
  readonly err: number;
}

/** Frames each op and result of a multi; the list ends with `{ type: -1, done: true, err: -1 }`. */
export interface MultiHeader {
  readonly type: number;
  readonly done: boolean;
  readonly err: number;
}

export interface CreateRequest {
  readonly path: string;
  readonly data: Buffer | null;
  readonly acl: readonly Acl[];
  /** CreateMode number. */
  readonly flags: number;
}

export interface CreateTTLRequest extends CreateRequest {
  readonly ttl: bigint;
}

export interface DeleteRequest {
  readonly path: string;
  readonly version: number;
}

/** deleteContainer's body is not a jute record: ZooKeeper reads the whole body as the path's bytes. */
export interface DeleteContainerRequest {
  readonly path: string;
}

export interface PathRequest {
  readonly path: string;
}

export interface PathWatchRequest {
  readonly path: string;
  readonly watch: boolean;
}

export type ExistsRequest = PathWatchRequest;
export type GetDataRequest = PathWatchRequest;
export type GetChildrenRequest = PathWatchRequest;
export type GetChildren2Request = PathWatchRequest;
export type GetACLRequest = PathRequest;
export type GetAllChildrenNumberRequest = PathRequest;
export type SyncRequest = PathRequest;

export interface SetDataRequest {
  readonly path: string;
  readonly data: Buffer | null;
  readonly version: number;
}

export interface SetACLRequest {
  readonly path: string;
  readonly acl: readonly Acl[];
  readonly version: number;
}

export interface GetEphemeralsRequest {
  /** Null, blank or "/" asks for all of the session's ephemerals. */
  readonly prefixPath: string | null;
}

export interface CheckVersionRequest {
  readonly path: string;
  readonly version: number;
}

export interface AddWatchRequest {
  readonly path: string;
  /** AddWatchMode number. */
  readonly mode: number;
}

/** RemoveWatchesRequest and CheckWatchesRequest share this shape. */
export interface WatchesRequest {
  readonly path: string;
  /** WatcherType number. */
  readonly type: number;
}

export interface SetWatches {
  readonly relativeZxid: bigint;
  readonly dataWatches: readonly string[];
  readonly existWatches: readonly string[];
  readonly childWatches: readonly string[];
}

export interface SetWatches2 extends SetWatches {
  readonly persistentWatches: readonly string[];
  readonly persistentRecursiveWatches: readonly string[];
}

export interface AuthPacket {
  /** Always 0 in practice. */
  readonly type: number;
  readonly scheme: string;
  readonly auth: Buffer | null;
}

export interface GetSASLRequest {
  readonly token: Buffer | null;
}

export interface ReconfigRequest {
  readonly joiningServers: string | null;
  readonly leavingServers: string | null;
  readonly newMembers: string | null;
  readonly curConfigId: bigint;
}

export interface WatcherEvent {
  /** EventType number. */
  readonly type: number;
  /** KeeperState number (SyncConnected for events the server sends). */
  readonly state: number;
  readonly path: string;
}

/** A record with no fields (whoAmI, ping and closeSession requests have no body). */
export type EmptyRecord = Record<never, never>;

// ---------------------------------------------------------------------------------------------
// Codecs of the data records and the small records
// ---------------------------------------------------------------------------------------------

/** Bytes of a Stat on the wire: six longs and five ints. */
export const STAT_BYTES = 6 * LONG_BYTES + 5 * INT_BYTES;
const MULTI_HEADER_BYTES = INT_BYTES + BOOL_BYTES + INT_BYTES;
/** Smallest ACL on the wire: perms plus two empty strings. */
const MIN_ACL_BYTES = 3 * INT_BYTES;

function readAcl(r: JuteReader): Acl {
  const perms = r.readInt('ACL.perms');
  const scheme = r.readString('Id.scheme');
  const id = r.readString('Id.id');
  return { perms, id: { scheme, id } };
}

function writeAcl(w: JuteWriter, acl: Acl): void {
  w.writeInt(acl.perms, 'ACL.perms');
  w.writeUString(acl.id.scheme, 'Id.scheme');
  w.writeUString(acl.id.id, 'Id.id');
}

function sizeAcls(acls: readonly Acl[]): number {
  let size = INT_BYTES;
  for (const acl of acls) size += INT_BYTES + JuteSize.ustring(acl.id.scheme) + JuteSize.ustring(acl.id.id);
  return size;
}

function readAcls(r: JuteReader, what: string): Acl[] {
  return r.readVector(readAcl, MIN_ACL_BYTES, what) ?? [];
}

function readStat(r: JuteReader): Stat {
  const czxid = r.readLong('Stat.czxid');
  const mzxid = r.readLong('Stat.mzxid');
  const ctime = Number(r.readLong('Stat.ctime'));
  const mtime = Number(r.readLong('Stat.mtime'));
  const version = r.readInt('Stat.version');
  const cversion = r.readInt('Stat.cversion');
  const aversion = r.readInt('Stat.aversion');
  const ephemeralOwner = r.readLong('Stat.ephemeralOwner');
  const dataLength = r.readInt('Stat.dataLength');
  const numChildren = r.readInt('Stat.numChildren');
  const pzxid = r.readLong('Stat.pzxid');
  return { czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, dataLength, numChildren, pzxid };
}

function writeStat(w: JuteWriter, s: Stat): void {
  w.writeLong(s.czxid, 'Stat.czxid');
  w.writeLong(s.mzxid, 'Stat.mzxid');
  w.writeLongFromNumber(s.ctime, 'Stat.ctime');
  w.writeLongFromNumber(s.mtime, 'Stat.mtime');
  w.writeInt(s.version, 'Stat.version');
  w.writeInt(s.cversion, 'Stat.cversion');
  w.writeInt(s.aversion, 'Stat.aversion');
  w.writeLong(s.ephemeralOwner, 'Stat.ephemeralOwner');
  w.writeInt(s.dataLength, 'Stat.dataLength');
  w.writeInt(s.numChildren, 'Stat.numChildren');
  w.writeLong(s.pzxid, 'Stat.pzxid');
}

function readClientInfo(r: JuteReader): ClientInfo {
  const authScheme = r.readString('ClientInfo.authScheme');
  const user = r.readUString('ClientInfo.user');
  return { authScheme, user };
}

/** org.apache.zookeeper.data.Id */
export const IdCodec: RecordCodec<AclId> = {
  name: 'Id',
  size: (v) => JuteSize.ustring(v.scheme) + JuteSize.ustring(v.id),
  write: (w, v) => {
    w.writeUString(v.scheme, 'Id.scheme');
    w.writeUString(v.id, 'Id.id');
  },
  read: (r) => ({ scheme: r.readString('Id.scheme'), id: r.readString('Id.id') }),
};

/** org.apache.zookeeper.data.ACL */
export const AclCodec: RecordCodec<Acl> = {
  name: 'ACL',
  size: (v) => INT_BYTES + IdCodec.size(v.id),
  write: writeAcl,
  read: readAcl,
};

/** org.apache.zookeeper.data.Stat */
export const StatCodec: RecordCodec<Stat> = { name: 'Stat', size: () => STAT_BYTES, write: writeStat, read: readStat };

/** org.apache.zookeeper.data.ClientInfo */
export const ClientInfoCodec: RecordCodec<ClientInfo> = {
  name: 'ClientInfo',
  size: (v) => JuteSize.ustring(v.authScheme) + JuteSize.ustring(v.user),
  write: (w, v) => {
    w.writeUString(v.authScheme, 'ClientInfo.authScheme');
    w.writeUString(v.user, 'ClientInfo.user');
  },
  read: readClientInfo,
};

export const ConnectRequestCodec: RecordCodec<ConnectRequest> = {
  name: 'ConnectRequest',
  size: (v) => INT_BYTES + LONG_BYTES + INT_BYTES + LONG_BYTES + JuteSize.buffer(v.passwd) + (v.readOnly === undefined ? 0 : BOOL_BYTES),
  write: (w, v) => {
    w.writeInt(v.protocolVersion, 'ConnectRequest.protocolVersion');
    w.writeLong(v.lastZxidSeen, 'ConnectRequest.lastZxidSeen');
    w.writeInt(v.timeoutMs, 'ConnectRequest.timeOut');
    w.writeLong(v.sessionId, 'ConnectRequest.sessionId');
    w.writeBuffer(v.passwd, 'ConnectRequest.passwd');
    if (v.readOnly !== undefined) w.writeBool(v.readOnly, 'ConnectRequest.readOnly');
  },
  read: (r) => {
    const protocolVersion = r.readInt('ConnectRequest.protocolVersion');
    const lastZxidSeen = r.readLong('ConnectRequest.lastZxidSeen');
    const timeoutMs = r.readInt('ConnectRequest.timeOut');
    const sessionId = r.readLong('ConnectRequest.sessionId');
    const passwd = r.readBuffer('ConnectRequest.passwd');
    // ZooKeeperServer.processConnectRequest: readBool("readOnly") failing means an old client.
    const readOnly = r.remaining >= BOOL_BYTES ? r.readBool('ConnectRequest.readOnly') : undefined;
    return { protocolVersion, lastZxidSeen, timeoutMs, sessionId, passwd, readOnly };
  },
};

export const ConnectResponseCodec: RecordCodec<ConnectResponse> = {
  name: 'ConnectResponse',
  size: (v) => INT_BYTES + INT_BYTES + LONG_BYTES + JuteSize.buffer(v.passwd) + (v.readOnly === undefined ? 0 : BOOL_BYTES),
  write: (w, v) => {
    w.writeInt(v.protocolVersion, 'ConnectResponse.protocolVersion');
    w.writeInt(v.timeoutMs, 'ConnectResponse.timeOut');
    w.writeLong(v.sessionId, 'ConnectResponse.sessionId');
    w.writeBuffer(v.passwd, 'ConnectResponse.passwd');
    if (v.readOnly !== undefined) w.writeBool(v.readOnly, 'ConnectResponse.readOnly');
  },
  read: (r) => {
    const protocolVersion = r.readInt('ConnectResponse.protocolVersion');
    const timeoutMs = r.readInt('ConnectResponse.timeOut');
    const sessionId = r.readLong('ConnectResponse.sessionId');
    const passwd = r.readBuffer('ConnectResponse.passwd');
    // ClientCnxn: a server that omits readOnly is an "old server".
    const readOnly = r.remaining >= BOOL_BYTES ? r.readBool('ConnectResponse.readOnly') : undefined;
    return { protocolVersion, timeoutMs, sessionId, passwd, readOnly };
  },
};

export const RequestHeaderCodec: RecordCodec<RequestHeader> = {
  name: 'RequestHeader',
  size: () => 2 * INT_BYTES,
  write: (w, v) => {
    w.writeInt(v.xid, 'RequestHeader.xid');
    w.writeInt(v.type, 'RequestHeader.type');
  },
  read: (r) => ({ xid: r.readInt('RequestHeader.xid'), type: r.readInt('RequestHeader.type') }),
};

export const ReplyHeaderCodec: RecordCodec<ReplyHeader> = {
  name: 'ReplyHeader',
  size: () => INT_BYTES + LONG_BYTES + INT_BYTES,
  write: (w, v) => {
    w.writeInt(v.xid, 'ReplyHeader.xid');
    w.writeLong(v.zxid, 'ReplyHeader.zxid');
    w.writeInt(v.err, 'ReplyHeader.err');
  },
  read: (r) => ({ xid: r.readInt('ReplyHeader.xid'), zxid: r.readLong('ReplyHeader.zxid'), err: r.readInt('ReplyHeader.err') }),
};

export const MultiHeaderCodec: RecordCodec<MultiHeader> = {
  name: 'MultiHeader',
  size: () => MULTI_HEADER_BYTES,
  write: (w, v) => {
    w.writeInt(v.type, 'MultiHeader.type');
    w.writeBool(v.done, 'MultiHeader.done');
    w.writeInt(v.err, 'MultiHeader.err');
  },
  read: (r) => ({ type: r.readInt('MultiHeader.type'), done: r.readBool('MultiHeader.done'), err: r.readInt('MultiHeader.err') }),
};

export const WatcherEventCodec: RecordCodec<WatcherEvent> = {
  name: 'WatcherEvent',
  size: (v) => 2 * INT_BYTES + JuteSize.ustring(v.path),
  write: (w, v) => {
    w.writeInt(v.type, 'WatcherEvent.type');
    w.writeInt(v.state, 'WatcherEvent.state');
    w.writeUString(v.path, 'WatcherEvent.path');
  },
  read: (r) => ({ type: r.readInt('WatcherEvent.type'), state: r.readInt('WatcherEvent.state'), path: r.readString('WatcherEvent.path') }),
};

// ---------------------------------------------------------------------------------------------
// Request body codecs
// ---------------------------------------------------------------------------------------------

const CreateRequestCodec: RecordCodec<CreateRequest> = {
  name: 'CreateRequest',
  size: (v) => JuteSize.ustring(v.path) + JuteSize.buffer(v.data) + sizeAcls(v.acl) + INT_BYTES,
  write: (w, v) => {
    w.writeUString(v.path, 'CreateRequest.path');
    w.writeBuffer(v.data, 'CreateRequest.data');
    w.writeVector(v.acl, writeAcl, 'CreateRequest.acl');
    w.writeInt(v.flags, 'CreateRequest.flags');
  },
  read: (r) => ({
    path: r.readString('CreateRequest.path'),
    data: r.readBuffer('CreateRequest.data'),
    acl: readAcls(r, 'CreateRequest.acl'),
    flags: r.readInt('CreateRequest.flags'),
  }),
};

const CreateTTLRequestCodec: RecordCodec<CreateTTLRequest> = {
  name: 'CreateTTLRequest',
  size: (v) => CreateRequestCodec.size(v) + LONG_BYTES,
  write: (w, v) => {
    CreateRequestCodec.write(w, v);
    w.writeLong(v.ttl, 'CreateTTLRequest.ttl');
  },
  read: (r) => {
    const path = r.readString('CreateTTLRequest.path');
    const data = r.readBuffer('CreateTTLRequest.data');
    const acl = readAcls(r, 'CreateTTLRequest.acl');
    const flags = r.readInt('CreateTTLRequest.flags');
    const ttl = r.readLong('CreateTTLRequest.ttl');
    return { path, data, acl, flags, ttl };
  },
};

function pathIntCodec<T extends { readonly path: string }>(name: string, field: Exclude<keyof T, 'path'> & string): RecordCodec<T> {
  return {
    name,
    size: (v) => JuteSize.ustring(v.path) + INT_BYTES,
    write: (w, v) => {
      w.writeUString(v.path, `${name}.path`);
      w.writeInt(v[field] as number, `${name}.${field}`);
    },
    read: (r) => {
      const path = r.readString(`${name}.path`);
      const value = r.readInt(`${name}.${field}`);
      return { path, [field]: value } as unknown as T;
    },
  };
}

function pathWatchCodec(name: string): RecordCodec<PathWatchRequest> {
  return {
    name,
    size: (v) => JuteSize.ustring(v.path) + BOOL_BYTES,
    write: (w, v) => {
      w.writeUString(v.path, `${name}.path`);
      w.writeBool(v.watch, `${name}.watch`);
    },
    read: (r) => ({ path: r.readString(`${name}.path`), watch: r.readBool(`${name}.watch`) }),
  };
}

function pathCodec(name: string): RecordCodec<PathRequest> {
  return {
    name,
    size: (v) => JuteSize.ustring(v.path),
    write: (w, v) => w.writeUString(v.path, `${name}.path`),
    read: (r) => ({ path: r.readString(`${name}.path`) }),
  };
}

const DeleteRequestCodec = pathIntCodec<DeleteRequest>('DeleteRequest', 'version');
const CheckVersionRequestCodec = pathIntCodec<CheckVersionRequest>('CheckVersionRequest', 'version');
const AddWatchRequestCodec = pathIntCodec<AddWatchRequest>('AddWatchRequest', 'mode');
const RemoveWatchesRequestCodec = pathIntCodec<WatchesRequest>('RemoveWatchesRequest', 'type');
const CheckWatchesRequestCodec = pathIntCodec<WatchesRequest>('CheckWatchesRequest', 'type');
const ExistsRequestCodec = pathWatchCodec('ExistsRequest');
const GetDataRequestCodec = pathWatchCodec('GetDataRequest');
const GetChildrenRequestCodec = pathWatchCodec('GetChildrenRequest');
const GetChildren2RequestCodec = pathWatchCodec('GetChildren2Request');
const GetACLRequestCodec = pathCodec('GetACLRequest');
const GetAllChildrenNumberRequestCodec = pathCodec('GetAllChildrenNumberRequest');
const SyncRequestCodec = pathCodec('SyncRequest');

const DeleteContainerRequestCodec: RecordCodec<DeleteContainerRequest> = {
  name: 'deleteContainer path',
  size: (v) => Buffer.byteLength(v.path, 'utf8'),
  write: (w, v) => w.writeRaw(Buffer.from(v.path, 'utf8'), 'deleteContainer path'),
  read: (r) => ({ path: r.readRest().toString('utf8') }),
};

const SetDataRequestCodec: RecordCodec<SetDataRequest> = {
  name: 'SetDataRequest',
  size: (v) => JuteSize.ustring(v.path) + JuteSize.buffer(v.data) + INT_BYTES,
  write: (w, v) => {
    w.writeUString(v.path, 'SetDataRequest.path');
    w.writeBuffer(v.data, 'SetDataRequest.data');
    w.writeInt(v.version, 'SetDataRequest.version');
  },
  read: (r) => ({
    path: r.readString('SetDataRequest.path'),
    data: r.readBuffer('SetDataRequest.data'),
    version: r.readInt('SetDataRequest.version'),
  }),
};

const SetACLRequestCodec: RecordCodec<SetACLRequest> = {
  name: 'SetACLRequest',
  size: (v) => JuteSize.ustring(v.path) + sizeAcls(v.acl) + INT_BYTES,
  write: (w, v) => {
    w.writeUString(v.path, 'SetACLRequest.path');
    w.writeVector(v.acl, writeAcl, 'SetACLRequest.acl');
    w.writeInt(v.version, 'SetACLRequest.version');
  },
  read: (r) => ({
    path: r.readString('SetACLRequest.path'),
    acl: readAcls(r, 'SetACLRequest.acl'),
    version: r.readInt('SetACLRequest.version'),
  }),
};

const GetEphemeralsRequestCodec: RecordCodec<GetEphemeralsRequest> = {
  name: 'GetEphemeralsRequest',
  size: (v) => JuteSize.ustring(v.prefixPath),
  write: (w, v) => w.writeUString(v.prefixPath, 'GetEphemeralsRequest.prefixPath'),
  read: (r) => ({ prefixPath: r.readUString('GetEphemeralsRequest.prefixPath') }),
};

function sizeSetWatches(v: SetWatches): number {
  return LONG_BYTES + JuteSize.stringVector(v.dataWatches) + JuteSize.stringVector(v.existWatches) + JuteSize.stringVector(v.childWatches);
}

function writeSetWatches(w: JuteWriter, v: SetWatches, name: string): void {
  w.writeLong(v.relativeZxid, `${name}.relativeZxid`);
  w.writeStringVector(v.dataWatches, `${name}.dataWatches`);
  w.writeStringVector(v.existWatches, `${name}.existWatches`);
  w.writeStringVector(v.childWatches, `${name}.childWatches`);
}

const SetWatchesCodec: RecordCodec<SetWatches> = {
  name: 'SetWatches',
  size: sizeSetWatches,
  write: (w, v) => writeSetWatches(w, v, 'SetWatches'),
  read: (r) => ({
    relativeZxid: r.readLong('SetWatches.relativeZxid'),
    dataWatches: r.readStringVector('SetWatches.dataWatches'),
    existWatches: r.readStringVector('SetWatches.existWatches'),
    childWatches: r.readStringVector('SetWatches.childWatches'),
  }),
};

const SetWatches2Codec: RecordCodec<SetWatches2> = {
  name: 'SetWatches2',
  size: (v) => sizeSetWatches(v) + JuteSize.stringVector(v.persistentWatches) + JuteSize.stringVector(v.persistentRecursiveWatches),
  write: (w, v) => {
    writeSetWatches(w, v, 'SetWatches2');
    w.writeStringVector(v.persistentWatches, 'SetWatches2.persistentWatches');
    w.writeStringVector(v.persistentRecursiveWatches, 'SetWatches2.persistentRecursiveWatches');
  },
  read: (r) => ({
    relativeZxid: r.readLong('SetWatches2.relativeZxid'),
    dataWatches: r.readStringVector('SetWatches2.dataWatches'),
    existWatches: r.readStringVector('SetWatches2.existWatches'),
    childWatches: r.readStringVector('SetWatches2.childWatches'),
    persistentWatches: r.readStringVector('SetWatches2.persistentWatches'),
    persistentRecursiveWatches: r.readStringVector('SetWatches2.persistentRecursiveWatches'),
  }),
};

const AuthPacketCodec: RecordCodec<AuthPacket> = {
  name: 'AuthPacket',
  size: (v) => INT_BYTES + JuteSize.ustring(v.scheme) + JuteSize.buffer(v.auth),
  write: (w, v) => {
    w.writeInt(v.type, 'AuthPacket.type');
    w.writeUString(v.scheme, 'AuthPacket.scheme');
    w.writeBuffer(v.auth, 'AuthPacket.auth');
  },
  read: (r) => ({
    type: r.readInt('AuthPacket.type'),
    scheme: r.readString('AuthPacket.scheme'),
    auth: r.readBuffer('AuthPacket.auth'),
  }),
};

function tokenCodec(name: string): RecordCodec<{ readonly token: Buffer | null }> {
  return {
    name,
    size: (v) => JuteSize.buffer(v.token),
    write: (w, v) => w.writeBuffer(v.token, `${name}.token`),
    read: (r) => ({ token: r.readBuffer(`${name}.token`) }),
  };
}

const GetSASLRequestCodec = tokenCodec('GetSASLRequest');

const ReconfigRequestCodec: RecordCodec<ReconfigRequest> = {
  name: 'ReconfigRequest',
  size: (v) => JuteSize.ustring(v.joiningServers) + JuteSize.ustring(v.leavingServers) + JuteSize.ustring(v.newMembers) + LONG_BYTES,
  write: (w, v) => {
    w.writeUString(v.joiningServers, 'ReconfigRequest.joiningServers');
    w.writeUString(v.leavingServers, 'ReconfigRequest.leavingServers');
    w.writeUString(v.newMembers, 'ReconfigRequest.newMembers');
    w.writeLong(v.curConfigId, 'ReconfigRequest.curConfigId');
  },
  read: (r) => ({
    joiningServers: r.readUString('ReconfigRequest.joiningServers'),
    leavingServers: r.readUString('ReconfigRequest.leavingServers'),
    newMembers: r.readUString('ReconfigRequest.newMembers'),
    curConfigId: r.readLong('ReconfigRequest.curConfigId'),
  }),
};

const EmptyCodec: RecordCodec<EmptyRecord> = { name: 'empty', size: () => 0, write: () => undefined, read: () => ({}) };

// ---------------------------------------------------------------------------------------------
// Multi
// ---------------------------------------------------------------------------------------------

/** Bodies of the ops MultiOperationRecord accepts. */
export interface MultiOpBodies {
  create: CreateRequest;
  create2: CreateRequest;
  createContainer: CreateRequest;
  createTTL: CreateTTLRequest;
  delete: DeleteRequest;
  setData: SetDataRequest;
  check: CheckVersionRequest;
  getChildren: GetChildrenRequest;
  getData: GetDataRequest;
}

/** Write ops (OpKind.TRANSACTION), allowed in `multi`. */
export const MULTI_WRITE_OPS = ['create', 'create2', 'createContainer', 'createTTL', 'delete', 'setData', 'check'] as const;
/** Read ops (OpKind.READ), allowed in `multiRead`. */
export const MULTI_READ_OPS = ['getChildren', 'getData'] as const;

export type MultiWriteOpName = (typeof MULTI_WRITE_OPS)[number];
export type MultiReadOpName = (typeof MULTI_READ_OPS)[number];
export type MultiOpName = MultiWriteOpName | MultiReadOpName;

export type MultiWriteOp = { [K in MultiWriteOpName]: { readonly op: K } & MultiOpBodies[K] }[MultiWriteOpName];
export type MultiReadOp = { [K in MultiReadOpName]: { readonly op: K } & MultiOpBodies[K] }[MultiReadOpName];
export type MultiOp = MultiWriteOp | MultiReadOp;

const multiOpCodecs: { readonly [K in MultiOpName]: RecordCodec<MultiOpBodies[K]> } = {
  create: CreateRequestCodec,
  create2: CreateRequestCodec,
  createContainer: CreateRequestCodec,
  createTTL: CreateTTLRequestCodec,
  delete: DeleteRequestCodec,
  setData: SetDataRequestCodec,
  check: CheckVersionRequestCodec,
  getChildren: GetChildrenRequestCodec,
  getData: GetDataRequestCodec,
};

const multiWriteOpByCode = new Map<number, MultiWriteOpName>(MULTI_WRITE_OPS.map((op) => [OpCode[op], op]));
const multiReadOpByCode = new Map<number, MultiReadOpName>(MULTI_READ_OPS.map((op) => [OpCode[op], op]));

/** The terminator ZooKeeper writes after the last op or result. */
const MULTI_END: MultiHeader = { type: -1, done: true, err: -1 };

/** The codec of a multi op, seen through its op name (TypeScript cannot correlate the union itself). */
function multiOpCodec(op: MultiOpName): RecordCodec<MultiOp> {
  return multiOpCodecs[op] as unknown as RecordCodec<MultiOp>;
}

function sizeMultiOps(ops: readonly MultiOp[]): number {
  let size = MULTI_HEADER_BYTES;
  for (const op of ops) size += MULTI_HEADER_BYTES + multiOpCodec(op.op).size(op);
  return size;
}

function writeMultiOps(w: JuteWriter, ops: readonly MultiOp[], kind: 'write' | 'read'): void {
  const allowed: readonly string[] = kind === 'write' ? MULTI_WRITE_OPS : MULTI_READ_OPS;
  for (const op of ops) {
    // MultiOperationRecord refuses to mix read and write ops; so do we, before anything leaves.
    if (!allowed.includes(op.op)) throw new JuteEncodeError(`${op.op} is not a ${kind} op and cannot be in this multi`);
    MultiHeaderCodec.write(w, { type: OpCode[op.op], done: false, err: -1 });
    multiOpCodec(op.op).write(w, op);
  }
  MultiHeaderCodec.write(w, MULTI_END);
}

function readMultiOps<Name extends MultiOpName>(r: JuteReader, opsByCode: ReadonlyMap<number, Name>, request: string): MultiOp[] {
  const ops: MultiOp[] = [];
  for (;;) {
    const at = r.offset;
    const header = MultiHeaderCodec.read(r);
    if (header.done) return ops;
    const op = opsByCode.get(header.type);
    if (op === undefined) {
      const other = multiWriteOpByCode.has(header.type) || multiReadOpByCode.has(header.type);
      throw new JuteDecodeError(
        'invalidValue',
        at,
        other ? `${request} cannot mix read and write ops (op type ${header.type})` : `${request} has an invalid op type ${header.type}`,
      );
    }
    ops.push(Object.assign(multiOpCodec(op).read(r), { op }) as MultiOp);
  }
}

export interface MultiRequest {
  readonly ops: readonly MultiWriteOp[];
}

export interface MultiReadRequest {
  readonly ops: readonly MultiReadOp[];
}

const MultiRequestCodec: RecordCodec<MultiRequest> = {
  name: 'MultiOperationRecord',
  size: (v) => sizeMultiOps(v.ops),
  write: (w, v) => writeMultiOps(w, v.ops, 'write'),
  read: (r) => ({ ops: readMultiOps(r, multiWriteOpByCode, 'multi') as MultiWriteOp[] }),
};

const MultiReadRequestCodec: RecordCodec<MultiReadRequest> = {
  name: 'MultiOperationRecord',
  size: (v) => sizeMultiOps(v.ops),
  write: (w, v) => writeMultiOps(w, v.ops, 'read'),
  read: (r) => ({ ops: readMultiOps(r, multiReadOpByCode, 'multiRead') as MultiReadOp[] }),
};

/**
 * One result of a multi or multiRead (OpResult). A failed multi answers every op with `error`:
 * err 0 for the ops before the failing one, the failure's code for it, RUNTIMEINCONSISTENCY after it.
 */
export type MultiResult =
  | { readonly op: 'create'; readonly path: string }
  | { readonly op: 'create2'; readonly path: string; readonly stat: Stat }
  | { readonly op: 'delete' }
  | { readonly op: 'setData'; readonly stat: Stat }
  | { readonly op: 'check' }
  | { readonly op: 'getChildren'; readonly children: readonly string[] }
  | { readonly op: 'getData'; readonly data: Buffer | null; readonly stat: Stat }
  | { readonly op: 'error'; readonly err: number };

function sizeMultiResult(result: MultiResult): number {
  switch (result.op) {
    case 'create':
      return JuteSize.ustring(result.path);
    case 'create2':
      return JuteSize.ustring(result.path) + STAT_BYTES;
    case 'delete':
    case 'check':
      return 0;
    case 'setData':
      return STAT_BYTES;
    case 'getChildren':
      return JuteSize.stringVector(result.children);
    case 'getData':
      return JuteSize.buffer(result.data) + STAT_BYTES;
    case 'error':
      return INT_BYTES;
  }
}

function writeMultiResult(w: JuteWriter, result: MultiResult): void {
  // MultiResponse.serialize: the header carries the error code for error results, else 0.
  MultiHeaderCodec.write(w, { type: OpCode[result.op], done: false, err: result.op === 'error' ? result.err : 0 });
  switch (result.op) {
    case 'create':
      w.writeUString(result.path, 'CreateResponse.path');
      return;
    case 'create2':
      w.writeUString(result.path, 'Create2Response.path');
      writeStat(w, result.stat);
      return;
    case 'delete':
    case 'check':
      return;
    case 'setData':
      writeStat(w, result.stat);
      return;
    case 'getChildren':
      w.writeStringVector(result.children, 'GetChildrenResponse.children');
      return;
    case 'getData':
      w.writeBuffer(result.data, 'GetDataResponse.data');
      writeStat(w, result.stat);
      return;
    case 'error':
      w.writeInt(result.err, 'ErrorResponse.err');
      return;
  }
}

function readMultiResult(r: JuteReader, type: number, at: number): MultiResult {
  switch (type) {
    case OpCode.create:
      return { op: 'create', path: r.readString('CreateResponse.path') };
    case OpCode.create2:
      return { op: 'create2', path: r.readString('Create2Response.path'), stat: readStat(r) };
    case OpCode.delete:
      return { op: 'delete' };
    case OpCode.setData:
      return { op: 'setData', stat: readStat(r) };
    case OpCode.check:
      return { op: 'check' };
    case OpCode.getChildren:
      return { op: 'getChildren', children: r.readStringVector('GetChildrenResponse.children') };
    case OpCode.getData:
      return { op: 'getData', data: r.readBuffer('GetDataResponse.data'), stat: readStat(r) };
    case OpCode.error:
      return { op: 'error', err: r.readInt('ErrorResponse.err') };
    default:
      throw new JuteDecodeError('invalidValue', at, `MultiResponse has an invalid result type ${type}`);
  }
}

const MultiResponseCodec: RecordCodec<{ readonly results: readonly MultiResult[] }> = {
  name: 'MultiResponse',
  size: (v) => {
    let size = MULTI_HEADER_BYTES;
    for (const result of v.results) size += MULTI_HEADER_BYTES + sizeMultiResult(result);
    return size;
  },
  write: (w, v) => {
    for (const result of v.results) writeMultiResult(w, result);
    MultiHeaderCodec.write(w, MULTI_END);
  },
  read: (r) => {
    const results: MultiResult[] = [];
    for (;;) {
      const at = r.offset;
      const header = MultiHeaderCodec.read(r);
      if (header.done) return { results };
      results.push(readMultiResult(r, header.type, at));
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/** Request bodies by op name (the key of OpCode the header's type maps to). */
export interface RequestBodies {
  create: CreateRequest;
  create2: CreateRequest;
  createContainer: CreateRequest;
  createTTL: CreateTTLRequest;
  delete: DeleteRequest;
  deleteContainer: DeleteContainerRequest;
  exists: ExistsRequest;
  getData: GetDataRequest;
  setData: SetDataRequest;
  getACL: GetACLRequest;
  setACL: SetACLRequest;
  getChildren: GetChildrenRequest;
  getChildren2: GetChildren2Request;
  getAllChildrenNumber: GetAllChildrenNumberRequest;
  getEphemerals: GetEphemeralsRequest;
  sync: SyncRequest;
  check: CheckVersionRequest;
  multi: MultiRequest;
  multiRead: MultiReadRequest;
  addWatch: AddWatchRequest;
  removeWatches: WatchesRequest;
  checkWatches: WatchesRequest;
  setWatches: SetWatches;
  setWatches2: SetWatches2;
  auth: AuthPacket;
  sasl: GetSASLRequest;
  whoAmI: EmptyRecord;
  ping: EmptyRecord;
  closeSession: EmptyRecord;
  reconfig: ReconfigRequest;
}

export type RequestOp = keyof RequestBodies;

/** A decoded request of a known op: the op name plus the body's fields. */
export type KnownRequest = { [K in RequestOp]: { readonly op: K } & RequestBodies[K] }[RequestOp];

/**
 * A request whose type ZooKeeper does not serve (Request.isValid is false): answer UNIMPLEMENTED.
 * createSession (-10) lands here too: ZooKeeper accepts it from a client, but only the server itself
 * should issue it, so this codec deliberately does not model it as a client request.
 */
export interface UnknownRequest {
  readonly op: 'unknown';
  readonly type: number;
  readonly body: Buffer;
}

/** Every request after the connect handshake, discriminated on `op`. */
export type ZkRequest = KnownRequest | UnknownRequest;

const requestCodecs: { readonly [K in RequestOp]: RecordCodec<RequestBodies[K]> } = {
  create: CreateRequestCodec,
  create2: CreateRequestCodec,
  createContainer: CreateRequestCodec,
  createTTL: CreateTTLRequestCodec,
  delete: DeleteRequestCodec,
  deleteContainer: DeleteContainerRequestCodec,
  exists: ExistsRequestCodec,
  getData: GetDataRequestCodec,
  setData: SetDataRequestCodec,
  getACL: GetACLRequestCodec,
  setACL: SetACLRequestCodec,
  getChildren: GetChildrenRequestCodec,
  getChildren2: GetChildren2RequestCodec,
  getAllChildrenNumber: GetAllChildrenNumberRequestCodec,
  getEphemerals: GetEphemeralsRequestCodec,
  sync: SyncRequestCodec,
  check: CheckVersionRequestCodec,
  multi: MultiRequestCodec,
  multiRead: MultiReadRequestCodec,
  addWatch: AddWatchRequestCodec,
  removeWatches: RemoveWatchesRequestCodec,
  checkWatches: CheckWatchesRequestCodec,
  setWatches: SetWatchesCodec,
  setWatches2: SetWatches2Codec,
  auth: AuthPacketCodec,
  sasl: GetSASLRequestCodec,
  whoAmI: EmptyCodec,
  ping: EmptyCodec,
  closeSession: EmptyCodec,
  reconfig: ReconfigRequestCodec,
};

/** Every request op this codec decodes. */
export const REQUEST_OPS = Object.keys(requestCodecs) as readonly RequestOp[];

const requestOpByCode = new Map<number, RequestOp>(REQUEST_OPS.map((op) => [OpCode[op], op]));

/** The op name of an OpCode number, or undefined when the codec does not know it. */
export function requestOpOf(type: number): RequestOp | undefined {
  return requestOpByCode.get(type);
}

/** The body codec of a request, seen through its op name (TypeScript cannot correlate the union itself). */
function requestCodec(op: RequestOp): RecordCodec<KnownRequest> {
  return requestCodecs[op] as unknown as RecordCodec<KnownRequest>;
}

/**
 * Which response record ZooKeeper 3.8 (FinalRequestProcessor, ZooKeeperServer.processSasl) writes
 * after a ReplyHeader with err 0; null when the reply is the header alone. Error replies are always
 * the header alone (except multi, whose failures travel inside a MultiResponse with err 0).
 * Notes: `check` outside a multi is answered UNIMPLEMENTED since ZOOKEEPER-2623 (3.8.5); `reconfig`
 * answers the new configuration as a GetDataResponse; `addWatch` answers ErrorResponse(0).
 */
export const SUCCESS_RESPONSE_RECORD: { readonly [K in RequestOp]: ResponseRecordName | null } = {
  create: 'CreateResponse',
  create2: 'Create2Response',
  createContainer: 'Create2Response',
  createTTL: 'Create2Response',
  delete: null,
  deleteContainer: null,
  exists: 'ExistsResponse',
  getData: 'GetDataResponse',
  setData: 'SetDataResponse',
  getACL: 'GetACLResponse',
  setACL: 'SetACLResponse',
  getChildren: 'GetChildrenResponse',
  getChildren2: 'GetChildren2Response',
  getAllChildrenNumber: 'GetAllChildrenNumberResponse',
  getEphemerals: 'GetEphemeralsResponse',
  sync: 'SyncResponse',
  check: null,
  multi: 'MultiResponse',
  multiRead: 'MultiResponse',
  addWatch: 'ErrorResponse',
  removeWatches: null,
  checkWatches: null,
  setWatches: null,
  setWatches2: null,
  auth: null,
  sasl: 'SetSASLResponse',
  whoAmI: 'WhoAmIResponse',
  ping: null,
  closeSession: null,
  reconfig: 'GetDataResponse',
};

function readerFor(buf: Buffer, options: DecodeOptions | undefined): JuteReader {
  return new JuteReader(buf, 0, buf.length, options?.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES);
}

/** Decodes the first packet of a connection (a frame without its length prefix). */
export function decodeConnectRequest(frame: Buffer, options?: DecodeOptions): ConnectRequest {
  return ConnectRequestCodec.read(readerFor(frame, options));
}

/**
 * Splits a request frame (without its length prefix) into its RequestHeader and body. Throws
 * JuteDecodeError when the frame is shorter than a header: ZooKeeper closes the connection then.
 * The body is a view into `frame`, not a copy.
 */
export function decodeRequestHeader(frame: Buffer): { readonly header: RequestHeader; readonly body: Buffer } {
  const reader = new JuteReader(frame);
  const header = RequestHeaderCodec.read(reader);
  return { header, body: frame.subarray(reader.offset) };
}

/**
 * Decodes a request body by the op its header names. Unknown op types come back as
 * `{ op: 'unknown' }` (answer UNIMPLEMENTED). A malformed body throws JuteDecodeError; ZooKeeper
 * answers such a request with MARSHALLINGERROR and keeps the connection, except for auth and sasl
 * packets, whose decoding failure closes it.
 */
export function decodeRequest(header: RequestHeader, body: Buffer, options?: DecodeOptions): ZkRequest {
  return readRequestBody(header, readerFor(body, options));
}

function readRequestBody(header: RequestHeader, reader: JuteReader): ZkRequest {
  const op = requestOpByCode.get(header.type);
  if (op === undefined) return { op: 'unknown', type: header.type, body: reader.readRest() };
  const fields = requestCodec(op).read(reader);
  return Object.assign(fields, { op }) as KnownRequest;
}

/**
 * Decodes a whole request frame (without its length prefix): header, then body. Error offsets
 * are offsets in `frame`.
 */
export function decodeRequestFrame(frame: Buffer, options?: DecodeOptions): { readonly header: RequestHeader; readonly request: ZkRequest } {
  const reader = readerFor(frame, options);
  const header = RequestHeaderCodec.read(reader);
  return { header, request: readRequestBody(header, reader) };
}

function framed(bodyBytes: number, fill: (writer: JuteWriter) => void, what: string): Buffer {
  const out = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + bodyBytes);
  const writer = new JuteWriter(out);
  writer.writeInt(bodyBytes, `${what} length`);
  fill(writer);
  writer.assertFull(what);
  return out;
}

/** Encodes a ConnectRequest packet, length prefix included (what a client sends first). */
export function encodeConnectRequest(request: ConnectRequest): Buffer {
  return framed(ConnectRequestCodec.size(request), (w) => ConnectRequestCodec.write(w, request), 'ConnectRequest');
}

/** Encodes a request packet (length, RequestHeader, body) as a client would send it. */
export function encodeRequest(xid: number, request: ZkRequest): Buffer {
  if (request.op === 'unknown') {
    return framed(
      RequestHeaderCodec.size({ xid, type: request.type }) + request.body.length,
      (w) => {
        RequestHeaderCodec.write(w, { xid, type: request.type });
        w.writeRaw(request.body);
      },
      'request',
    );
  }
  const codec = requestCodec(request.op);
  const header: RequestHeader = { xid, type: OpCode[request.op] };
  return framed(
    RequestHeaderCodec.size(header) + codec.size(request),
    (w) => {
      RequestHeaderCodec.write(w, header);
      codec.write(w, request);
    },
    codec.name,
  );
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/** Response bodies by jute class name. */
export interface ResponseRecords {
  CreateResponse: { readonly path: string };
  Create2Response: { readonly path: string; readonly stat: Stat };
  ExistsResponse: { readonly stat: Stat };
  SetDataResponse: { readonly stat: Stat };
  SetACLResponse: { readonly stat: Stat };
  GetDataResponse: { readonly data: Buffer | null; readonly stat: Stat };
  GetACLResponse: { readonly acl: readonly Acl[]; readonly stat: Stat };
  GetChildrenResponse: { readonly children: readonly string[] };
  GetChildren2Response: { readonly children: readonly string[]; readonly stat: Stat };
  GetAllChildrenNumberResponse: { readonly totalNumber: number };
  GetEphemeralsResponse: { readonly ephemerals: readonly string[] };
  SyncResponse: { readonly path: string };
  ErrorResponse: { readonly err: number };
  SetSASLResponse: { readonly token: Buffer | null };
  WhoAmIResponse: { readonly clientInfo: readonly ClientInfo[] };
  MultiResponse: { readonly results: readonly MultiResult[] };
}

export type ResponseRecordName = keyof ResponseRecords;

/** A response body, discriminated on its jute class name. */
export type ResponseBody = { [K in ResponseRecordName]: { readonly record: K } & ResponseRecords[K] }[ResponseRecordName];

function statOnly(name: string): RecordCodec<{ readonly stat: Stat }> {
  return { name, size: () => STAT_BYTES, write: (w, v) => writeStat(w, v.stat), read: (r) => ({ stat: readStat(r) }) };
}

function stringOnly<K extends string>(name: string, field: K): RecordCodec<{ readonly [P in K]: string }> {
  return {
    name,
    size: (v) => JuteSize.ustring(v[field]),
    write: (w, v) => w.writeUString(v[field], `${name}.${field}`),
    read: (r) => ({ [field]: r.readString(`${name}.${field}`) }) as unknown as { readonly [P in K]: string },
  };
}

function stringVectorOnly<K extends string>(name: string, field: K): RecordCodec<{ readonly [P in K]: readonly string[] }> {
  return {
    name,
    size: (v) => JuteSize.stringVector(v[field]),
    write: (w, v) => w.writeStringVector(v[field], `${name}.${field}`),
    read: (r) => ({ [field]: r.readStringVector(`${name}.${field}`) }) as unknown as { readonly [P in K]: readonly string[] },
  };
}

function intOnly<K extends string>(name: string, field: K): RecordCodec<{ readonly [P in K]: number }> {
  return {
    name,
    size: () => INT_BYTES,
    write: (w, v) => w.writeInt(v[field], `${name}.${field}`),
    read: (r) => ({ [field]: r.readInt(`${name}.${field}`) }) as unknown as { readonly [P in K]: number },
  };
}

const responseCodecs: { readonly [K in ResponseRecordName]: RecordCodec<ResponseRecords[K]> } = {
  CreateResponse: stringOnly('CreateResponse', 'path'),
  Create2Response: {
    name: 'Create2Response',
    size: (v) => JuteSize.ustring(v.path) + STAT_BYTES,
    write: (w, v) => {
      w.writeUString(v.path, 'Create2Response.path');
      writeStat(w, v.stat);
    },
    read: (r) => ({ path: r.readString('Create2Response.path'), stat: readStat(r) }),
  },
  ExistsResponse: statOnly('ExistsResponse'),
  SetDataResponse: statOnly('SetDataResponse'),
  SetACLResponse: statOnly('SetACLResponse'),
  GetDataResponse: {
    name: 'GetDataResponse',
    size: (v) => JuteSize.buffer(v.data) + STAT_BYTES,
    write: (w, v) => {
      w.writeBuffer(v.data, 'GetDataResponse.data');
      writeStat(w, v.stat);
    },
    read: (r) => ({ data: r.readBuffer('GetDataResponse.data'), stat: readStat(r) }),
  },
  GetACLResponse: {
    name: 'GetACLResponse',
    size: (v) => sizeAcls(v.acl) + STAT_BYTES,
    write: (w, v) => {
      w.writeVector(v.acl, writeAcl, 'GetACLResponse.acl');
      writeStat(w, v.stat);
    },
    read: (r) => ({ acl: readAcls(r, 'GetACLResponse.acl'), stat: readStat(r) }),
  },
  GetChildrenResponse: stringVectorOnly('GetChildrenResponse', 'children'),
  GetChildren2Response: {
    name: 'GetChildren2Response',
    size: (v) => JuteSize.stringVector(v.children) + STAT_BYTES,
    write: (w, v) => {
      w.writeStringVector(v.children, 'GetChildren2Response.children');
      writeStat(w, v.stat);
    },
    read: (r) => ({ children: r.readStringVector('GetChildren2Response.children'), stat: readStat(r) }),
  },
  GetAllChildrenNumberResponse: intOnly('GetAllChildrenNumberResponse', 'totalNumber'),
  GetEphemeralsResponse: stringVectorOnly('GetEphemeralsResponse', 'ephemerals'),
  SyncResponse: stringOnly('SyncResponse', 'path'),
  ErrorResponse: intOnly('ErrorResponse', 'err'),
  SetSASLResponse: tokenCodec('SetSASLResponse'),
  WhoAmIResponse: {
    name: 'WhoAmIResponse',
    size: (v) => {
      let size = INT_BYTES;
      for (const info of v.clientInfo) size += ClientInfoCodec.size(info);
      return size;
    },
    write: (w, v) => w.writeVector(v.clientInfo, ClientInfoCodec.write, 'WhoAmIResponse.clientInfo'),
    // Smallest ClientInfo: two empty strings.
    read: (r) => ({ clientInfo: r.readVector(readClientInfo, 2 * INT_BYTES, 'WhoAmIResponse.clientInfo') ?? [] }),
  },
  MultiResponse: MultiResponseCodec,
};

/** Every response record this codec knows. */
export const RESPONSE_RECORDS = Object.keys(responseCodecs) as readonly ResponseRecordName[];

function responseCodec(record: ResponseRecordName): RecordCodec<ResponseBody> {
  return responseCodecs[record] as unknown as RecordCodec<ResponseBody>;
}

/**
 * Encodes a reply packet (length, ReplyHeader, optional body) in one allocation. Pass no body for
 * error replies and for ops whose success has none (see {@link SUCCESS_RESPONSE_RECORD}).
 */
export function encodeResponse(header: ReplyHeader, body?: ResponseBody): Buffer {
  if (body === undefined) {
    return framed(ReplyHeaderCodec.size(header), (w) => ReplyHeaderCodec.write(w, header), 'ReplyHeader');
  }
  const codec = responseCodec(body.record);
  return framed(
    ReplyHeaderCodec.size(header) + codec.size(body),
    (w) => {
      ReplyHeaderCodec.write(w, header);
      codec.write(w, body);
    },
    codec.name,
  );
}

/** Encodes a ConnectResponse packet, length prefix included. */
export function encodeConnectResponse(response: ConnectResponse): Buffer {
  return framed(ConnectResponseCodec.size(response), (w) => ConnectResponseCodec.write(w, response), 'ConnectResponse');
}

/** xid of watch notifications (ClientCnxn.NOTIFICATION_XID). */
export const NOTIFICATION_XID = -1;
/** zxid ZooKeeper 3.8 puts in a notification's ReplyHeader (NIOServerCnxn.process). */
export const NOTIFICATION_ZXID = -1n;

/** Encodes a watch notification: ReplyHeader(-1, -1, 0) then the WatcherEvent. */
export function encodeNotification(event: WatcherEvent): Buffer {
  const header: ReplyHeader = { xid: NOTIFICATION_XID, zxid: NOTIFICATION_ZXID, err: 0 };
  return framed(
    ReplyHeaderCodec.size(header) + WatcherEventCodec.size(event),
    (w) => {
      ReplyHeaderCodec.write(w, header);
      WatcherEventCodec.write(w, event);
    },
    'notification',
  );
}

/** Decodes a ConnectResponse frame (without its length prefix), as a client does. */
export function decodeConnectResponse(frame: Buffer, options?: DecodeOptions): ConnectResponse {
  return ConnectResponseCodec.read(readerFor(frame, options));
}

/** Splits a reply frame (without its length prefix) into its ReplyHeader and body (a view into `frame`). */
export function decodeReplyHeader(frame: Buffer): { readonly header: ReplyHeader; readonly body: Buffer } {
  const reader = new JuteReader(frame);
  const header = ReplyHeaderCodec.read(reader);
  return { header, body: frame.subarray(reader.offset) };
}

/**
 * Decodes a response body as the named record. Like ClientCnxn, call it only when the reply's
 * err is 0 (error replies carry no body).
 */
export function decodeResponseBody(record: ResponseRecordName, body: Buffer, options?: DecodeOptions): ResponseBody {
  const fields = responseCodec(record).read(readerFor(body, options));
  return Object.assign(fields, { record }) as ResponseBody;
}

/** Decodes the WatcherEvent of a notification body. */
export function decodeWatcherEvent(body: Buffer, options?: DecodeOptions): WatcherEvent {
  return WatcherEventCodec.read(readerFor(body, options));
}
