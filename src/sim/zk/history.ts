/**
 * Client histories of znode operations, recorded on virtual time for the linearizability checker
 * (src/check/lin): each operation's call and return are the virtual instants the client sent it and
 * heard its answer. An answer the model knows (OK, NONODE, NODEEXISTS, BADVERSION) is `ok`; a request
 * that was never sent because the session was already over is `fail` (no effect); a lost connection,
 * a server crashed mid-request, a session ended while the request waited, or an indeterminate answer
 * (CONNECTIONLOSS, SESSIONMOVED, ...) is `info`: it stays pending, free to have taken effect at any
 * time after its call, or never. Any other answer is recorded as `info` too and listed in `unexpected`.
 *
 * Reads are recorded only in their linearizable form (`getData`/`exists` with `linearizable: true`,
 * i.e. a sync through the log, then the local read), since plain ZooKeeper reads may be stale.
 */
import { HistoryRecorder } from '../../check/lin/history.js';
import type { Operation } from '../../check/lin/history.js';
import { INDETERMINATE_ERRORS, ZNODE_MODEL_ERRORS } from '../../check/lin/znode-model.js';
import type { ZnodeInput, ZnodeOutput } from '../../check/lin/znode-model.js';
import type { ZkRequest, ZkResponse } from '../../node/service.js';
import { CreateMode, ErrorCode, OPEN_ACL_UNSAFE, errorName } from '../../protocol/zookeeper.js';
import type { SimZkClient } from './client.js';
import type { ZkSimCluster } from './cluster.js';

export type ZnodeOperation = Operation<ZnodeInput, ZnodeOutput | undefined>;

/** Process ids of the synthetic final reads (one per server) start here. */
export const FINAL_READER_BASE_ID = 100_000;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** The ZooKeeper request for a model operation (reads are the linearizable kind). */
export function znodeRequest(input: ZnodeInput): ZkRequest {
  switch (input.op) {
    case 'create':
      return { op: 'create', path: input.path, data: textEncoder.encode(input.data ?? ''), acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT };
    case 'delete':
      return { op: 'delete', path: input.path, version: input.version ?? -1 };
    case 'setData':
      return { op: 'setData', path: input.path, data: textEncoder.encode(input.data ?? ''), version: input.version ?? -1 };
    case 'getData':
      return { op: 'getData', path: input.path, watch: false, linearizable: true };
    case 'exists':
      return { op: 'exists', path: input.path, watch: false, linearizable: true };
  }
}

/** The model's view of a ZooKeeper answer: the error code, plus the version and data it reported. */
export function znodeOutput(input: ZnodeInput, response: ZkResponse): ZnodeOutput {
  if (response.err !== ErrorCode.OK) return { err: response.err };
  switch (input.op) {
    case 'create':
    case 'setData':
    case 'exists':
      return response.stat == null ? { err: response.err } : { err: response.err, version: response.stat.version };
    case 'getData':
      return {
        err: response.err,
        ...(response.data === undefined ? {} : { data: textDecoder.decode(response.data) }),
        ...(response.stat == null ? {} : { version: response.stat.version }),
      };
    case 'delete':
      return { err: response.err };
  }
}

/** Records the znode operations of simulated clients. */
export class ZnodeHistory {
  readonly recorder: HistoryRecorder<ZnodeInput, ZnodeOutput>;
  /** Answers outside the model that were recorded as unknown (should stay empty: each one is worth a look). */
  readonly unexpected: string[] = [];
  private readonly finalReads: ZnodeOperation[] = [];
  private readonly cluster: ZkSimCluster;

  constructor(cluster: ZkSimCluster) {
    this.cluster = cluster;
    this.recorder = new HistoryRecorder<ZnodeInput, ZnodeOutput>({ now: () => cluster.now() });
  }

  /**
   * Run one operation through `client`, recording it. Returns the model output, `unknown` (recorded
   * as pending) or `not-sent` (the session was over: left out of the history).
   */
  async run(client: SimZkClient, input: ZnodeInput): Promise<ZnodeOutput | 'unknown' | 'not-sent'> {
    this.recorder.invoke(client.id, input);
    const outcome = await client.call(znodeRequest(input));
    if (outcome.kind === 'expired') {
      this.recorder.fail(client.id);
      return 'not-sent';
    }
    if (outcome.kind === 'lost') {
      this.recorder.info(client.id);
      return 'unknown';
    }
    const err = outcome.response.err;
    if (INDETERMINATE_ERRORS.has(err)) {
      // The server says it cannot tell (connection loss, session moved): the request may still commit.
      this.recorder.info(client.id);
      return 'unknown';
    }
    if (!ZNODE_MODEL_ERRORS.has(err)) {
      this.unexpected.push(`client ${client.id}: ${input.op} ${input.path} answered ${errorName.get(err) ?? err} at ${this.cluster.now()}`);
      this.recorder.info(client.id);
      return 'unknown';
    }
    const output = znodeOutput(input, outcome.response);
    // ZooKeeper always returns the Stat of a successful create2 / setData / exists / getData: an OK
    // without it is a mis-delivered answer (another request's result), worth flagging on its own.
    if (err === ErrorCode.OK && input.op !== 'delete' && output.version === undefined) {
      this.unexpected.push(`client ${client.id}: ${input.op} ${input.path} answered OK without a Stat at ${this.cluster.now()}`);
    }
    this.recorder.ok(client.id, output);
    return output;
  }

  /**
   * After the run: one instantaneous getData per path per server, read straight from each server's
   * final tree, placed after every recorded operation. A history that stays linearizable with them
   * proves every acknowledged write is reflected in every replica's final state.
   */
  addFinalReads(paths: readonly string[]): void {
    const atMs = this.cluster.now() + 1;
    for (const server of this.cluster.upServers()) {
      for (const path of paths) {
        const read = server.service.tree.getData(path, []);
        const output: ZnodeOutput =
          read.err === ErrorCode.OK ? { err: ErrorCode.OK, data: textDecoder.decode(read.data), version: read.stat.version } : { err: read.err };
        this.finalReads.push({ clientId: FINAL_READER_BASE_ID + server.id, input: { op: 'getData', path }, call: atMs, output, return: atMs });
      }
    }
  }

  /** The history so far (still-open operations as pending), final reads last. */
  operations(): ZnodeOperation[] {
    return [...this.recorder.operations(), ...this.finalReads];
  }

  /** Completed and pending operation counts (final reads excluded). */
  counts(): { completed: number; pending: number } {
    let pending = 0;
    const ops = this.recorder.operations();
    for (const op of ops) if (op.return === Infinity) pending++;
    return { completed: ops.length - pending, pending };
  }
}
