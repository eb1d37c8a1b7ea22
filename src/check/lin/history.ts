/**
 * Client histories for the linearizability checker: the operation record and a recorder that
 * builds it from the invoke / ok / fail / info events of concurrent clients (Jepsen's vocabulary).
 */

/**
 * One client operation as the checker sees it.
 *
 * `call` and `return` are logical or virtual times. Intervals are closed: `a` precedes `b` in real
 * time only when `a.return < b.call`; equal times count as concurrent, the permissive reading, so a
 * tie never produces a false alarm.
 *
 * An operation that never returned (a timeout, a lost connection, a crashed client) has
 * `return = Infinity`: it may have taken effect at any moment after its call, or not at all. Its
 * `output` is ignored by the checker (the recorder sets it to `undefined`).
 */
export interface Operation<I, O> {
  readonly clientId: number;
  readonly input: I;
  readonly call: number;
  readonly output: O;
  readonly return: number;
}

/** True for an operation whose outcome is unknown (`return = Infinity`). */
export function isPending(op: Operation<unknown, unknown>): boolean {
  return op.return === Infinity;
}

/**
 * Throws a RangeError unless `op` has a finite call time and a return time at or after it
 * (Infinity allowed). Checked on entry to the checker so a malformed history fails loudly
 * instead of producing a meaningless verdict.
 */
export function assertWellFormed(op: Operation<unknown, unknown>): void {
  if (!Number.isFinite(op.call)) {
    throw new RangeError(`operation of client ${op.clientId} has a non-finite call time ${op.call}`);
  }
  if (Number.isNaN(op.return) || op.return < op.call) {
    throw new RangeError(
      `operation of client ${op.clientId} returns at ${op.return}, before its call at ${op.call}`,
    );
  }
}

/** One recorded client event. */
export type HistoryEvent<I, O> =
  | { readonly type: 'invoke'; readonly clientId: number; readonly time: number; readonly input: I }
  /** The operation completed with this response, error responses included. */
  | { readonly type: 'ok'; readonly clientId: number; readonly time: number; readonly output: O }
  /** The operation certainly had no effect and observed nothing: it is left out of the history. */
  | { readonly type: 'fail'; readonly clientId: number; readonly time: number }
  /** The outcome is unknown: the operation stays pending for ever. */
  | { readonly type: 'info'; readonly clientId: number; readonly time: number };

/** Options of {@link HistoryRecorder}. */
export interface HistoryRecorderOptions {
  /**
   * Time source, for example the simulator's virtual clock. It must not go backwards. Without
   * it the recorder numbers events 0, 1, 2, … (a logical clock), which is exact for a history
   * recorded in the order events happened.
   */
  readonly now?: () => number;
}

interface OpenOperation<I> {
  readonly input: I;
  readonly call: number;
}

/**
 * Records the events of concurrent clients and turns them into {@link Operation}s.
 *
 * Each client has at most one outstanding operation, as in Jepsen's process model; a client may
 * invoke again after `info` (its earlier operation stays pending, concurrent with everything
 * after its call).
 *
 * How to map ZooKeeper replies: any reply the server gave, errors such as NONODE or BADVERSION
 * included, is `ok` with that output; an operation known not to have reached the server is
 * `fail`; CONNECTIONLOSS, OPERATIONTIMEOUT, SESSIONEXPIRED and the like are `info`, because
 * the request may still be (or have been) committed.
 */
export class HistoryRecorder<I, O> {
  private readonly now: () => number;
  private logicalTime = 0;
  private lastTime = -Infinity;
  private readonly recorded: HistoryEvent<I, O>[] = [];
  private readonly open = new Map<number, OpenOperation<I>>();
  private readonly done: Operation<I, O | undefined>[] = [];

  constructor(options: HistoryRecorderOptions = {}) {
    this.now = options.now ?? (() => this.logicalTime++);
  }

  /** Client `clientId` calls an operation with `input`. */
  invoke(clientId: number, input: I): void {
    if (this.open.has(clientId)) {
      throw new Error(`client ${clientId} invoked while its previous operation is still open`);
    }
    const time = this.tick();
    this.open.set(clientId, { input, call: time });
    this.recorded.push({ type: 'invoke', clientId, time, input });
  }

  /** The open operation of `clientId` completed with `output` (a ZooKeeper error reply counts). */
  ok(clientId: number, output: O): void {
    const open = this.openOf(clientId, 'ok');
    const time = this.tick();
    this.open.delete(clientId);
    this.done.push({ clientId, input: open.input, call: open.call, output, return: time });
    this.recorded.push({ type: 'ok', clientId, time, output });
  }

  /** The open operation of `clientId` certainly did not take effect: it is dropped. */
  fail(clientId: number): void {
    this.openOf(clientId, 'fail');
    const time = this.tick();
    this.open.delete(clientId);
    this.recorded.push({ type: 'fail', clientId, time });
  }

  /** The outcome of the open operation of `clientId` is unknown: it stays pending. */
  info(clientId: number): void {
    const open = this.openOf(clientId, 'info');
    const time = this.tick();
    this.open.delete(clientId);
    this.done.push({ clientId, input: open.input, call: open.call, output: undefined, return: Infinity });
    this.recorded.push({ type: 'info', clientId, time });
  }

  /** Every event recorded so far, in recording order. */
  get events(): readonly HistoryEvent<I, O>[] {
    return this.recorded;
  }

  /** True while `clientId` has an operation invoked but not yet completed. */
  isOpen(clientId: number): boolean {
    return this.open.has(clientId);
  }

  /**
   * The history so far, in completion order. Operations still open are included as pending
   * (`return = Infinity`), since they may yet take effect.
   */
  operations(): Operation<I, O | undefined>[] {
    const stillOpen: Operation<I, O | undefined>[] = [];
    for (const [clientId, open] of this.open) {
      stillOpen.push({ clientId, input: open.input, call: open.call, output: undefined, return: Infinity });
    }
    return [...this.done, ...stillOpen];
  }

  private openOf(clientId: number, what: string): OpenOperation<I> {
    const open = this.open.get(clientId);
    if (open === undefined) throw new Error(`client ${clientId} reported ${what} with no open operation`);
    return open;
  }

  private tick(): number {
    const time = this.now();
    if (!(time >= this.lastTime)) {
      throw new RangeError(`history clock went backwards: ${time} after ${this.lastTime}`);
    }
    this.lastTime = time;
    return time;
  }
}
