/**
 * A sequential model of a ZooKeeper znode store, one path at a time, for the linearizability
 * checker. Semantics follow ZooKeeper 3.8's PrepRequestProcessor / DataTree:
 *
 * - create: NODEEXISTS when present, else the node appears with version 0;
 * - delete: NONODE when absent, then BADVERSION unless the version is -1 or the current one;
 * - setData: NONODE when absent, then BADVERSION likewise, else data replaced, version + 1;
 * - getData / exists: NONODE when absent (the server's reply code; clients turn it into null
 *   for exists), else the data and version.
 *
 * Paths are independent, so the history is partitioned per path. That holds as long as the
 * history stays out of what links paths: parents must already exist (no NONODE for a missing
 * parent), nodes checked must have no children (no NOTEMPTY), and no sequential names, multi or
 * session-owned ephemerals. Completed operations whose error code falls outside the model are
 * rejected up front by `partition`.
 *
 * Only writes are linearizable in ZooKeeper: a read served by a lagging follower may be stale.
 * Include reads in a checked history only if they are linearizable by construction (after
 * `sync`, or served by the leader), or check writes alone.
 */

import { ErrorCode } from '../../protocol/zookeeper.js';
import type { Operation } from './history.js';
import type { Model } from './model.js';

/** Version argument meaning "any version" for setData and delete. */
export const ANY_VERSION = -1;

export type ZnodeInput =
  | { readonly op: 'create'; readonly path: string; readonly data?: string }
  | { readonly op: 'delete'; readonly path: string; readonly version?: number }
  | { readonly op: 'setData'; readonly path: string; readonly data?: string; readonly version?: number }
  | { readonly op: 'getData'; readonly path: string }
  | { readonly op: 'exists'; readonly path: string };

/**
 * A reply. `data` and `version` are compared when present and ignored when absent, so a
 * recorder may keep only what it saw: `version` is the Stat version (create: 0; setData: the
 * new version; getData / exists: the current one), `data` is what getData returned.
 */
export interface ZnodeOutput {
  readonly err: number;
  readonly data?: string;
  readonly version?: number;
}

/** One path's state: `null` when the znode does not exist. */
export type ZnodeState = { readonly data: string; readonly version: number } | null;

/** Error codes the model can produce; any other one on a completed operation is outside it. */
export const ZNODE_MODEL_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.OK,
  ErrorCode.NONODE,
  ErrorCode.NODEEXISTS,
  ErrorCode.BADVERSION,
]);

/**
 * Error codes after which a request may or may not have been (or still be) applied: such an
 * operation must be recorded as pending (`HistoryRecorder.info`), not completed.
 */
export const INDETERMINATE_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.CONNECTIONLOSS,
  ErrorCode.OPERATIONTIMEOUT,
  ErrorCode.SESSIONEXPIRED,
  ErrorCode.SESSIONMOVED,
  ErrorCode.REQUESTTIMEOUT,
]);

/**
 * The reply ZooKeeper gives to `input` in `state`, with the state after it. Exported so that
 * history generators and the model agree by construction.
 */
export function applyZnode(state: ZnodeState, input: ZnodeInput): [output: ZnodeOutput, next: ZnodeState] {
  switch (input.op) {
    case 'create':
      if (state !== null) return [{ err: ErrorCode.NODEEXISTS }, state];
      return [{ err: ErrorCode.OK, version: 0 }, { data: input.data ?? '', version: 0 }];
    case 'delete': {
      if (state === null) return [{ err: ErrorCode.NONODE }, state];
      if (!versionMatches(state, input.version)) return [{ err: ErrorCode.BADVERSION }, state];
      return [{ err: ErrorCode.OK }, null];
    }
    case 'setData': {
      if (state === null) return [{ err: ErrorCode.NONODE }, state];
      if (!versionMatches(state, input.version)) return [{ err: ErrorCode.BADVERSION }, state];
      const next = { data: input.data ?? '', version: state.version + 1 };
      return [{ err: ErrorCode.OK, version: next.version }, next];
    }
    case 'getData':
      if (state === null) return [{ err: ErrorCode.NONODE }, state];
      return [{ err: ErrorCode.OK, data: state.data, version: state.version }, state];
    case 'exists':
      if (state === null) return [{ err: ErrorCode.NONODE }, state];
      return [{ err: ErrorCode.OK, version: state.version }, state];
  }
}

function versionMatches(state: { readonly version: number }, version: number | undefined): boolean {
  return version === undefined || version === ANY_VERSION || version === state.version;
}

/** True when `actual` agrees with the model's `expected` reply on every field it carries. */
function outputMatches(expected: ZnodeOutput, actual: ZnodeOutput): boolean {
  if (actual.err !== expected.err) return false;
  if (actual.version !== undefined && actual.version !== expected.version) return false;
  if (actual.data !== undefined && actual.data !== expected.data) return false;
  return true;
}

function describeOutput(output: ZnodeOutput | undefined): string {
  if (output === undefined) return '?';
  const parts = [output.err === ErrorCode.OK ? 'OK' : errorLabel(output.err)];
  if (output.data !== undefined) parts.push(JSON.stringify(output.data));
  if (output.version !== undefined) parts.push(`v${output.version}`);
  return parts.join(' ');
}

function errorLabel(err: number): string {
  for (const [name, code] of Object.entries(ErrorCode)) if (code === err) return name;
  return String(err);
}

function describeInput(input: ZnodeInput): string {
  switch (input.op) {
    case 'create':
      return `create ${input.path} ${JSON.stringify(input.data ?? '')}`;
    case 'delete':
      return `delete ${input.path} v${input.version ?? ANY_VERSION}`;
    case 'setData':
      return `setData ${input.path} ${JSON.stringify(input.data ?? '')} v${input.version ?? ANY_VERSION}`;
    case 'getData':
    case 'exists':
      return `${input.op} ${input.path}`;
  }
}

/** The znode store model, partitioned per path. */
export const znodeModel: Model<ZnodeState, ZnodeInput, ZnodeOutput> = {
  init: () => null,
  step(state, input, output) {
    const [expected, next] = applyZnode(state, input);
    return [output === undefined || outputMatches(expected, output), next];
  },
  // Reads, and writes refused with an error, never change a znode.
  isReadOnly: (input, output) => input.op === 'getData' || input.op === 'exists' || output.err !== ErrorCode.OK,
  equal: (a, b) => a === b || (a !== null && b !== null && a.version === b.version && a.data === b.data),
  hash: (state) => (state === null ? '-' : `${state.version}:${state.data}`),
  partition(ops) {
    const byPath = new Map<string, Operation<ZnodeInput, ZnodeOutput | undefined>[]>();
    for (const op of ops) {
      if (op.return !== Infinity && op.output !== undefined && !ZNODE_MODEL_ERRORS.has(op.output.err)) {
        const hint = INDETERMINATE_ERRORS.has(op.output.err) ? ': record it as pending (info)' : '';
        throw new RangeError(
          `client ${op.clientId}: ${describeInput(op.input)} completed with ${errorLabel(op.output.err)}, outside the znode model${hint}`,
        );
      }
      let part = byPath.get(op.input.path);
      if (part === undefined) byPath.set(op.input.path, (part = []));
      part.push(op);
    }
    return [...byPath.values()];
  },
  describe: (op) => `${describeInput(op.input)} -> ${describeOutput(op.output)}`,
};
