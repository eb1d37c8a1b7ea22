/**
 * Linearizability checker: the Wing & Gong search with Lowe's memoization, in the form
 * Porcupine made practical.
 *
 * The history of each partition becomes a doubly linked list of call and return entries sorted
 * by time. The search walks the list from its head: every call met before the first return is
 * an operation that may be linearized next (nothing that must precede it is still waiting).
 * Linearizing one means stepping the model with it and lifting its call and return out of the
 * list; reaching a return entry means the operation it closes can no longer be placed, so the
 * search backtracks (explicit stack, no recursion). A configuration is the pair (set of
 * linearized operations, model state); reaching one already explored cannot lead anywhere new,
 * so each is entered at most once (the memo), which keeps typical histories near linear.
 *
 * Pending operations (`return = Infinity`) have a call entry but no return entry: they may be
 * linearized whenever their call has been passed, and the search succeeds as soon as every
 * completed operation is linearized, so a pending operation may also never take effect.
 */

import { encodedSetsEqual, LinearizedSet } from './bitset.js';
import { assertWellFormed, type Operation } from './history.js';
import type { Model } from './model.js';

/** How many search steps run between two looks at the clock. */
const STEPS_PER_DEADLINE_CHECK = 1024;

/** Options of {@link checkLinearizable}. */
export interface CheckOptions {
  /**
   * Give up after this long and answer `'unknown'` (never a guess). Without it the search runs
   * to the end, which for a pathological history may take exponential time.
   */
  readonly timeoutMs?: number;
}

/** Why a history is not linearizable, for the first partition found to be at fault. */
export interface Counterexample<I, O> {
  /** Index of the partition in `model.partition(ops)` (0 without partitioning). */
  readonly partition: number;
  /**
   * The longest sequence of that partition's operations the search managed to linearize, in
   * linearization order (pending operations included when they were placed).
   */
  readonly longestLinearizablePrefix: Operation<I, O | undefined>[];
  /**
   * The completed operations that real time allowed next after that prefix, all refused by the
   * model: one of them must come next, and none can.
   */
  readonly firstStuck: Operation<I, O | undefined>[];
}

/** The verdict of {@link checkLinearizable}. */
export interface CheckResult<I, O> {
  /** `'unknown'` only when the timeout expired before a verdict. */
  readonly linearizable: boolean | 'unknown';
  readonly partitions: number;
  /** Configurations (linearized set, state) entered by the search, summed over partitions. */
  readonly explored: number;
  /** Present when `linearizable` is false. */
  readonly counterexample?: Counterexample<I, O>;
}

type PartitionVerdict<I, O> =
  | { readonly kind: 'linearizable'; readonly explored: number }
  | { readonly kind: 'timeout'; readonly explored: number }
  | {
      readonly kind: 'violation';
      readonly explored: number;
      readonly prefix: Operation<I, O | undefined>[];
      readonly stuck: Operation<I, O | undefined>[];
    };

/**
 * Decides whether `ops` is linearizable with respect to `model`.
 *
 * Partitions from `model.partition` are checked one after another; the first violation ends
 * the check. Throws a RangeError for a malformed operation (non-finite call, return before call)
 * or a partition function that loses or duplicates operations.
 */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O | undefined>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  for (const op of ops) assertWellFormed(op);
  const deadline = options.timeoutMs === undefined ? Infinity : performance.now() + options.timeoutMs;
  const partitions = model.partition === undefined ? [ops.slice()] : model.partition(ops);
  let partitioned = 0;
  for (const part of partitions) partitioned += part.length;
  if (partitioned !== ops.length) {
    throw new RangeError(`model.partition returned ${partitioned} operations for a history of ${ops.length}`);
  }

  let explored = 0;
  for (let index = 0; index < partitions.length; index++) {
    const verdict = checkPartition(model, partitions[index]!, deadline);
    explored += verdict.explored;
    if (verdict.kind === 'timeout') {
      return { linearizable: 'unknown', partitions: partitions.length, explored };
    }
    if (verdict.kind === 'violation') {
      return {
        linearizable: false,
        partitions: partitions.length,
        explored,
        counterexample: { partition: index, longestLinearizablePrefix: verdict.prefix, firstStuck: verdict.stuck },
      };
    }
  }
  return { linearizable: true, partitions: partitions.length, explored };
}

/** Sentinel for "no entry" in the linked list arrays. */
const NONE = -1;
/** The head sentinel sits at index 0; entry k of the sorted list lives at index k + 1. */
const HEAD = 0;
/** Search cursor: a configuration just entered, not yet scanned for a forced step. */
const FRESH = -2;
/** Search cursor: nothing left to try, the partition is not linearizable. */
const FAILED = -3;

/**
 * The entry list of one partition, in typed arrays: one call entry per operation and one
 * return entry per completed operation, sorted by time with calls before returns at equal
 * times (closed intervals).
 */
interface EntryList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Operation index of each entry. */
  readonly op: Int32Array;
  /** For a call entry: its return entry, or NONE when the operation is pending. For a return entry: NONE. */
  readonly match: Int32Array;
  readonly isCall: Uint8Array;
}

function buildEntries(ops: readonly Operation<unknown, unknown>[]): EntryList {
  const sorted: { time: number; isCall: boolean; op: number }[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    sorted.push({ time: op.call, isCall: true, op: i });
    if (op.return !== Infinity) sorted.push({ time: op.return, isCall: false, op: i });
  }
  sorted.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));

  const size = sorted.length + 1;
  const list: EntryList = {
    next: new Int32Array(size),
    prev: new Int32Array(size),
    op: new Int32Array(size).fill(NONE),
    match: new Int32Array(size).fill(NONE),
    isCall: new Uint8Array(size),
  };
  const callEntryOf = new Int32Array(ops.length);
  for (let k = 0; k < sorted.length; k++) {
    const item = sorted[k]!;
    const entry = k + 1;
    list.op[entry] = item.op;
    if (item.isCall) {
      list.isCall[entry] = 1;
      callEntryOf[item.op] = entry;
    } else {
      list.match[callEntryOf[item.op]!] = entry;
    }
  }
  for (let entry = 0; entry < size; entry++) {
    list.prev[entry] = entry - 1;
    list.next[entry] = entry + 1 < size ? entry + 1 : NONE;
  }
  return list;
}

function unlink(list: EntryList, entry: number): void {
  const before = list.prev[entry]!;
  const after = list.next[entry]!;
  list.next[before] = after;
  if (after !== NONE) list.prev[after] = before;
}

/** Undoes `unlink(entry)`; valid only in the reverse order of the unlinks (dancing links). */
function relink(list: EntryList, entry: number): void {
  const before = list.prev[entry]!;
  const after = list.next[entry]!;
  list.next[before] = entry;
  if (after !== NONE) list.prev[after] = entry;
}

function lift(list: EntryList, call: number): void {
  unlink(list, call);
  const ret = list.match[call]!;
  if (ret !== NONE) unlink(list, ret);
}

function unlift(list: EntryList, call: number): void {
  const ret = list.match[call]!;
  if (ret !== NONE) relink(list, ret);
  relink(list, call);
}

/** 32-bit FNV-1a of a string: folds the model's state hash into the numeric memo key. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

interface MemoEntry<S> {
  /** {@link LinearizedSet.encode} of the linearized set. */
  readonly linearized: Uint32Array;
  readonly stateHash: string;
  readonly state: S;
}

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O | undefined>[],
  deadline: number,
): PartitionVerdict<I, O> {
  if (performance.now() >= deadline) return { kind: 'timeout', explored: 0 };
  // Numbering operations in call order keeps the linearized sets' encodings small.
  const byCall = ops.map((op, index) => ({ op, index }));
  byCall.sort((a, b) => a.op.call - b.op.call || a.index - b.index);
  return new PartitionSearch(
    model,
    byCall.map((item) => item.op),
  ).run(deadline);
}

/**
 * The search over one partition. Besides the memo it uses one pruning rule (Lowe's treatment of
 * operations that do not change the state): a completed operation the model declares read-only
 * (`isReadOnly`) that may come next and fits the current state is placed at once, without
 * branching ("forced"). If any linearization from here exists, one starts with it: moving a
 * read-only operation to the front changes no state the others see and breaks no real-time
 * order, since everything that had to precede it is already placed. So if that step fails, the
 * configuration fails. Read-only-ness must hold in every state, not just the current one: a
 * write that happens to rewrite the current value is not read-only, since moving it elsewhere
 * would change what others see.
 */
class PartitionSearch<S, I, O> {
  private readonly list: EntryList;
  private readonly linearized: LinearizedSet;
  private readonly memo = new Map<number, MemoEntry<S>[]>();
  private readonly stackCall: Int32Array;
  private readonly stackForced: Uint8Array;
  /** Per operation: completed and declared read-only by the model, so never branched on. */
  private readonly readOnly: Uint8Array;
  private readonly stackState: S[] = [];
  private depth = 0;
  private remainingCompleted = 0;
  private state: S;
  private explored = 0;
  /** Depth of the longest linearizable prefix seen, -1 before the first dead end. */
  private longestDepth = -1;
  /** Call entries of that prefix: `stackCall[0 .. longestDepth)` when it was recorded. */
  private readonly longestCalls: Int32Array;
  /**
   * Lowest depth the stack has been popped to since the prefix was last recorded: entries below
   * it are unchanged, so recording copies only what changed and stays linear overall.
   */
  private unchangedBelow = 0;
  private longestStuck: Operation<I, O | undefined>[] = [];

  constructor(
    private readonly model: Model<S, I, O>,
    private readonly ops: readonly Operation<I, O | undefined>[],
  ) {
    this.list = buildEntries(ops);
    this.linearized = new LinearizedSet(ops.length);
    this.stackCall = new Int32Array(ops.length);
    this.stackForced = new Uint8Array(ops.length);
    this.longestCalls = new Int32Array(ops.length);
    this.readOnly = new Uint8Array(ops.length);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (op.return === Infinity) continue;
      this.remainingCompleted++;
      if (op.output !== undefined && model.isReadOnly?.(op.input, op.output) === true) this.readOnly[i] = 1;
    }
    this.state = model.init();
  }

  run(deadline: number): PartitionVerdict<I, O> {
    const { list, model, ops } = this;
    let steps = 0;
    // Where to resume branching after a backtrack; FRESH when entering a new configuration.
    let entry = FRESH;
    search: while (this.remainingCompleted > 0) {
      if (++steps % STEPS_PER_DEADLINE_CHECK === 0 && performance.now() >= deadline) {
        return { kind: 'timeout', explored: this.explored };
      }
      if (entry === FRESH) {
        for (let e = list.next[HEAD]!; e !== NONE && list.isCall[e] === 1; e = list.next[e]!) {
          if (this.readOnly[list.op[e]!] === 0) continue;
          const op = ops[list.op[e]!]!;
          const [ok, next] = model.step(this.state, op.input, op.output);
          if (ok) {
            if (!model.equal(next, this.state)) {
              throw new Error(`model.isReadOnly is wrong: ${model.describe?.(op) ?? JSON.stringify(op.input)} changed the state`);
            }
            if (this.push(e, next, true)) continue search;
            // Already explored from here and failed: so does this configuration.
            entry = this.backtrack();
            if (entry === FAILED) return this.violation();
            continue search;
          }
        }
        entry = list.next[HEAD]!;
      }
      // Branch on the other operations that may come next: every call entry before the first
      // return entry (read-only ones that fit were forced above).
      for (; entry !== NONE && list.isCall[entry] === 1; entry = list.next[entry]!) {
        const opIndex = list.op[entry]!;
        if (this.readOnly[opIndex] === 1) continue;
        const pending = list.match[entry] === NONE;
        const op = ops[opIndex]!;
        const [ok, next] = model.step(this.state, op.input, pending ? undefined : op.output);
        if (!ok) continue;
        // A pending operation that changes nothing here is never needed in this place: any
        // linearization placing it here works without it. Skipping it keeps it available later.
        if (pending && model.equal(next, this.state)) continue;
        if (this.push(entry, next, false)) {
          entry = FRESH;
          continue search;
        }
      }
      entry = this.backtrack();
      if (entry === FAILED) return this.violation();
    }
    return { kind: 'linearizable', explored: this.explored };
  }

  /** Linearizes the operation of call entry `call`, unless its configuration is in the memo. */
  private push(call: number, next: S, forced: boolean): boolean {
    const { list, linearized, model } = this;
    const opIndex = list.op[call]!;
    linearized.add(opIndex);
    const stateHash = model.hash(next);
    const key = (linearized.hash ^ hashString(stateHash)) >>> 0;
    const encoded = linearized.encode();
    let bucket = this.memo.get(key);
    if (
      bucket !== undefined &&
      bucket.some((m) => m.stateHash === stateHash && encodedSetsEqual(m.linearized, encoded) && model.equal(m.state, next))
    ) {
      linearized.remove(opIndex);
      return false;
    }
    if (bucket === undefined) this.memo.set(key, (bucket = []));
    bucket.push({ linearized: encoded, stateHash, state: next });
    this.explored++;
    this.stackCall[this.depth] = call;
    this.stackForced[this.depth] = forced ? 1 : 0;
    this.stackState[this.depth] = this.state;
    this.depth++;
    this.state = next;
    lift(list, call);
    if (list.match[call] !== NONE) this.remainingCompleted--;
    return true;
  }

  /**
   * The current configuration has failed: undoes choices until one with an untried sibling.
   * Returns the entry to resume branching from, or FAILED when none is left.
   */
  private backtrack(): number {
    const list = this.list;
    if (this.depth > this.longestDepth) {
      this.longestCalls.set(this.stackCall.subarray(this.unchangedBelow, this.depth), this.unchangedBelow);
      this.longestDepth = this.depth;
      this.unchangedBelow = this.depth;
      this.longestStuck = frontier(list, this.ops);
    }
    for (;;) {
      if (this.depth === 0) return FAILED;
      this.depth--;
      if (this.depth < this.unchangedBelow) this.unchangedBelow = this.depth;
      const call = this.stackCall[this.depth]!;
      this.state = this.stackState[this.depth]!;
      this.linearized.remove(list.op[call]!);
      unlift(list, call);
      if (list.match[call] !== NONE) this.remainingCompleted++;
      // A forced step had no alternative: its failure is its parent configuration's.
      if (this.stackForced[this.depth] === 0) return list.next[call]!;
    }
  }

  private violation(): PartitionVerdict<I, O> {
    const prefix = Array.from(this.longestCalls.subarray(0, this.longestDepth), (call) => this.ops[this.list.op[call]!]!);
    return { kind: 'violation', explored: this.explored, prefix, stuck: this.longestStuck };
  }
}

/** The completed operations whose calls precede the first remaining return entry. */
function frontier<I, O>(list: EntryList, ops: readonly Operation<I, O | undefined>[]): Operation<I, O | undefined>[] {
  const result: Operation<I, O | undefined>[] = [];
  for (let entry = list.next[HEAD]!; entry !== NONE && list.isCall[entry] === 1; entry = list.next[entry]!) {
    if (list.match[entry] !== NONE) result.push(ops[list.op[entry]!]!);
  }
  return result;
}

/**
 * Renders a failed check as text, using `model.describe` when present: the partition, the
 * longest linearizable prefix and the operations stuck after it.
 */
export function formatCounterexample<S, I, O>(model: Model<S, I, O>, result: CheckResult<I, O>): string {
  const counterexample = result.counterexample;
  if (counterexample === undefined) return `linearizable: ${String(result.linearizable)}`;
  const describe =
    model.describe?.bind(model) ??
    ((op: Operation<I, O | undefined>) => `${JSON.stringify(op.input)} -> ${JSON.stringify(op.output)}`);
  const line = (op: Operation<I, O | undefined>): string =>
    `  client ${op.clientId} [${op.call}, ${op.return}] ${describe(op)}`;
  return [
    `not linearizable (partition ${counterexample.partition} of ${result.partitions})`,
    `longest linearizable prefix (${counterexample.longestLinearizablePrefix.length} ops):`,
    ...counterexample.longestLinearizablePrefix.map(line),
    'none of these can come next:',
    ...counterexample.firstStuck.map(line),
  ].join('\n');
}
