/**
 * The interaction-script language: one command per line, `#` starts a comment. Scripts drive a
 * small cluster on virtual time and state what must hold, so a test of a protocol rule reads as
 * the scenario it describes (in the manner of etcd raft's interaction tests).
 *
 * ```
 * cluster 3 seed=1 timeouts=100..110/150..160/280..299
 * tick 400                      # advance virtual time
 * expect leader 1               # node 1 leads (also: any, none, 1..3)
 * partition 1 | 2 3
 * submit c1 x=1                 # a client command, to the current leader
 * drop next AcceptRequest 1->2  # lose one message (without `next`: every match)
 * crash 2
 * expect log 1 = c1             # node 1's learned log, command ids, `noop` for a no-op
 * ```
 *
 * Commands (node ids may be written `2` or `n2`):
 * - `cluster N [seed=S] [delay=A..B] [fsync=MS] [timeouts=A..B | timeouts=A..B/C..D/...]`: the
 *   cluster, first; message delay (default 1..1 ms), fsync time (default 1 ms), election timeout
 *   range for every node or per node.
 * - `tick MS`; `deliver all [max MS]`: run until no message is in flight and no write is unsynced.
 * - `partition A B | C D ...`, `heal`; `crash N`, `restart N`, `wipe N` (crash and lose the disk).
 * - `timeout N A..B`: node N's election timeouts from its next start.
 * - `submit ID [PAYLOAD] [to N]`: a client command, to N or to the current leader.
 * - `drop [next] TYPE [FROM->TO] [slot K]` (`*` for any type or node); `undrop` clears every rule.
 * - `trace on|off`: show every delivery; `show roles|logs|acceptors|leaders`.
 * - `expect leader N|A..B|any|none [epoch E]`, `expect role N ROLE [epoch E]`, `expect epoch N E`,
 *   `expect log N = E1 E2 ...`, `expect log N slot K = E`, `expect applied N K`,
 *   `expect logs agree`, `expect accepted N slot K = E [@E.N] | none`, `expect promised N E.N`,
 *   `expect chosen slot K = E`, `expect never leader N`, `expect vote-once`,
 *   `expect one-value-per-ballot`, `expect acked ID [slot K]`, `expect not acked ID`,
 *   `expect safe` (the simulator's safety invariants over the run so far).
 */

/** A message filter: type (or `*`), sender and receiver (undefined: any), an optional slot. */
export interface MessagePattern {
  readonly type: string;
  readonly from: number | undefined;
  readonly to: number | undefined;
  /** Matches only messages about this slot (accept requests, replies and promises that cover it). */
  readonly slot: number | undefined;
}

/** Which node(s) an `expect leader` accepts. */
export type LeaderSpec = { readonly kind: 'none' } | { readonly kind: 'any' } | { readonly kind: 'range'; readonly min: number; readonly max: number };

export type Expectation =
  | { readonly kind: 'leader'; readonly spec: LeaderSpec; readonly epoch: number | undefined }
  | { readonly kind: 'role'; readonly node: number; readonly role: string; readonly epoch: number | undefined }
  | { readonly kind: 'epoch'; readonly node: number; readonly epoch: number }
  | { readonly kind: 'log'; readonly node: number; readonly entries: readonly string[] }
  | { readonly kind: 'logSlot'; readonly node: number; readonly slot: number; readonly entry: string }
  | { readonly kind: 'applied'; readonly node: number; readonly slot: number }
  | { readonly kind: 'logsAgree' }
  | { readonly kind: 'accepted'; readonly node: number; readonly slot: number; readonly entry: string | null; readonly ballot: string | undefined }
  | { readonly kind: 'promised'; readonly node: number; readonly ballot: string }
  | { readonly kind: 'chosen'; readonly slot: number; readonly entry: string }
  | { readonly kind: 'neverLeader'; readonly node: number }
  | { readonly kind: 'voteOnce' }
  | { readonly kind: 'oneValuePerBallot' }
  | { readonly kind: 'acked'; readonly command: string; readonly slot: number | undefined }
  | { readonly kind: 'notAcked'; readonly command: string }
  | { readonly kind: 'safe' };

export type ScriptCommand =
  | {
      readonly kind: 'cluster';
      readonly nodes: number;
      readonly seed: number;
      readonly delayMs: readonly [number, number];
      readonly fsyncMs: number;
      /** Election timeout range per node (index 0 is node 1); one range applies to all. */
      readonly timeoutsMs: readonly (readonly [number, number])[];
    }
  | { readonly kind: 'tick'; readonly ms: number }
  | { readonly kind: 'deliverAll'; readonly maxMs: number }
  | { readonly kind: 'partition'; readonly groups: readonly (readonly number[])[] }
  | { readonly kind: 'heal' }
  | { readonly kind: 'crash' | 'restart' | 'wipe'; readonly node: number }
  | { readonly kind: 'timeout'; readonly node: number; readonly rangeMs: readonly [number, number] }
  | { readonly kind: 'submit'; readonly id: string; readonly payload: string; readonly to: number | undefined }
  | { readonly kind: 'drop'; readonly once: boolean; readonly pattern: MessagePattern }
  | { readonly kind: 'undrop' }
  | { readonly kind: 'trace'; readonly on: boolean }
  | { readonly kind: 'show'; readonly what: 'roles' | 'logs' | 'acceptors' | 'leaders' }
  | { readonly kind: 'expect'; readonly expectation: Expectation };

export interface ScriptLine {
  /** 1-based line number in the script text. */
  readonly line: number;
  /** The command as written, without its comment. */
  readonly text: string;
  readonly command: ScriptCommand;
}

/** A script that cannot be read: a bad command, not a failed expectation. */
export class ScriptSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ScriptSyntaxError';
  }
}

/** Default virtual time `deliver all` may run for before it gives up waiting for a quiet network. */
export const DELIVER_ALL_DEFAULT_MAX_MS = 1000;

/** Parse a whole script; throws ScriptSyntaxError on the first line it cannot read. */
export function parseScript(text: string): ScriptLine[] {
  const out: ScriptLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const body = raw.replace(/#.*$/, '').trim();
    if (body === '') return;
    out.push({ line, text: body, command: parseCommand(body.split(/\s+/), line) });
  });
  return out;
}

function parseCommand(words: readonly string[], line: number): ScriptCommand {
  const fail = (message: string): never => {
    throw new ScriptSyntaxError(line, message);
  };
  const [verb, ...args] = words;
  switch (verb) {
    case 'cluster':
      return parseCluster(args, fail);
    case 'tick':
      return { kind: 'tick', ms: positive(args[0], 'tick needs a duration in ms', fail) };
    case 'deliver':
      if (args[0] !== 'all') fail('expected `deliver all [max MS]`');
      return { kind: 'deliverAll', maxMs: args[1] === 'max' ? positive(args[2], 'max needs ms', fail) : DELIVER_ALL_DEFAULT_MAX_MS };
    case 'partition': {
      const groups = args
        .join(' ')
        .split('|')
        .map((g) => g.trim().split(/\s+/).filter((w) => w !== '').map((w) => nodeId(w, fail)));
      if (groups.length < 2 || groups.some((g) => g.length === 0)) fail('expected `partition A B | C D ...`');
      return { kind: 'partition', groups };
    }
    case 'heal':
      return { kind: 'heal' };
    case 'crash':
    case 'restart':
    case 'wipe':
      return { kind: verb, node: nodeId(args[0], fail) };
    case 'timeout':
      return { kind: 'timeout', node: nodeId(args[0], fail), rangeMs: range(args[1], fail) };
    case 'submit': {
      const id = args[0] ?? fail('submit needs a command id');
      let to: number | undefined;
      const rest = [...args.slice(1)];
      const toAt = rest.indexOf('to');
      if (toAt >= 0) {
        to = nodeId(rest[toAt + 1], fail);
        rest.splice(toAt, 2);
      }
      return { kind: 'submit', id, payload: rest.join(' ') || id, to };
    }
    case 'drop': {
      const once = args[0] === 'next';
      return { kind: 'drop', once, pattern: parsePattern(once ? args.slice(1) : args, fail) };
    }
    case 'undrop':
      return { kind: 'undrop' };
    case 'trace':
      if (args[0] !== 'on' && args[0] !== 'off') fail('expected `trace on` or `trace off`');
      return { kind: 'trace', on: args[0] === 'on' };
    case 'show': {
      const what = args[0];
      if (what !== 'roles' && what !== 'logs' && what !== 'acceptors' && what !== 'leaders') fail('show roles|logs|acceptors|leaders');
      return { kind: 'show', what: what as 'roles' | 'logs' | 'acceptors' | 'leaders' };
    }
    case 'expect':
      return { kind: 'expect', expectation: parseExpectation(args, fail) };
    default:
      return fail(`unknown command ${verb ?? ''}`);
  }
}

function parseCluster(args: readonly string[], fail: (m: string) => never): ScriptCommand {
  const nodes = positive(args[0], 'cluster needs a node count', fail);
  let seed = 1;
  let delayMs: [number, number] = [1, 1];
  let fsyncMs = 1;
  let timeoutsMs: (readonly [number, number])[] = [];
  for (const option of args.slice(1)) {
    const [key, value] = option.split('=');
    if (value === undefined) fail(`expected key=value, got ${option}`);
    switch (key) {
      case 'seed':
        seed = integer(value, 'seed', fail);
        break;
      case 'delay':
        delayMs = range(value, fail);
        break;
      case 'fsync':
        fsyncMs = integer(value, 'fsync', fail);
        break;
      case 'timeouts':
        timeoutsMs = value!.split('/').map((r) => range(r, fail));
        if (timeoutsMs.length !== 1 && timeoutsMs.length !== nodes) fail('timeouts: one range, or one per node');
        break;
      default:
        fail(`unknown cluster option ${key}`);
    }
  }
  return { kind: 'cluster', nodes, seed, delayMs, fsyncMs, timeoutsMs };
}

function parsePattern(args: readonly string[], fail: (m: string) => never): MessagePattern {
  const type = args[0] ?? fail('drop needs a message type (or *)');
  let from: number | undefined;
  let to: number | undefined;
  let slot: number | undefined;
  for (let i = 1; i < args.length; i++) {
    const word = args[i]!;
    if (word === 'slot') {
      slot = positive(args[++i], 'slot needs a number', fail);
    } else if (word.includes('->')) {
      const [a, b] = word.split('->');
      from = a === '*' ? undefined : nodeId(a, fail);
      to = b === '*' ? undefined : nodeId(b, fail);
    } else {
      fail(`unexpected ${word} (expected FROM->TO or slot N)`);
    }
  }
  return { type, from, to, slot };
}

function parseExpectation(args: readonly string[], fail: (m: string) => never): Expectation {
  const [what, ...rest] = args;
  const epochOption = (): number | undefined => {
    const at = rest.indexOf('epoch');
    return at < 0 ? undefined : integer(rest[at + 1], 'epoch', fail);
  };
  switch (what) {
    case 'leader': {
      const spec = rest[0] ?? fail('expect leader N|A..B|any|none');
      const parsed: LeaderSpec =
        spec === 'none' ? { kind: 'none' } : spec === 'any' ? { kind: 'any' } : spec.includes('..') ? rangeSpec(spec, fail) : rangeOf(nodeId(spec, fail));
      return { kind: 'leader', spec: parsed, epoch: epochOption() };
    }
    case 'role':
      return { kind: 'role', node: nodeId(rest[0], fail), role: rest[1] ?? fail('expect role N ROLE'), epoch: epochOption() };
    case 'epoch':
      return { kind: 'epoch', node: nodeId(rest[0], fail), epoch: integer(rest[1], 'epoch', fail) };
    case 'log': {
      const node = nodeId(rest[0], fail);
      if (rest[1] === 'slot') {
        if (rest[3] !== '=') fail('expect log N slot K = ENTRY');
        return { kind: 'logSlot', node, slot: positive(rest[2], 'slot', fail), entry: rest[4] ?? fail('missing entry') };
      }
      if (rest[1] !== '=') fail('expect log N = ENTRY ...');
      return { kind: 'log', node, entries: rest.slice(2) };
    }
    case 'applied':
      return { kind: 'applied', node: nodeId(rest[0], fail), slot: integer(rest[1], 'slot', fail) };
    case 'logs':
      if (rest[0] !== 'agree') fail('expect logs agree');
      return { kind: 'logsAgree' };
    case 'accepted': {
      // expect accepted N slot K = ENTRY [@E.N]   |   expect accepted N slot K none
      const node = nodeId(rest[0], fail);
      if (rest[1] !== 'slot') fail('expect accepted N slot K = ENTRY [@E.N] | none');
      const slot = positive(rest[2], 'slot', fail);
      if (rest[3] === 'none') return { kind: 'accepted', node, slot, entry: null, ballot: undefined };
      if (rest[3] !== '=') fail('expect accepted N slot K = ENTRY [@E.N] | none');
      const ballot = rest[5]?.startsWith('@') ? rest[5].slice(1) : undefined;
      return { kind: 'accepted', node, slot, entry: rest[4] ?? fail('missing entry'), ballot };
    }
    case 'promised':
      return { kind: 'promised', node: nodeId(rest[0], fail), ballot: rest[1] ?? fail('expect promised N E.N') };
    case 'chosen':
      // expect chosen slot K = ENTRY
      if (rest[0] !== 'slot' || rest[2] !== '=') fail('expect chosen slot K = ENTRY');
      return { kind: 'chosen', slot: positive(rest[1], 'slot', fail), entry: rest[3] ?? fail('missing entry') };
    case 'never':
      if (rest[0] !== 'leader') fail('expect never leader N');
      return { kind: 'neverLeader', node: nodeId(rest[1], fail) };
    case 'vote-once':
      return { kind: 'voteOnce' };
    case 'one-value-per-ballot':
      return { kind: 'oneValuePerBallot' };
    case 'acked': {
      const at = rest.indexOf('slot');
      return { kind: 'acked', command: rest[0] ?? fail('expect acked ID [slot K]'), slot: at < 0 ? undefined : positive(rest[at + 1], 'slot', fail) };
    }
    case 'not':
      if (rest[0] !== 'acked') fail('expect not acked ID');
      return { kind: 'notAcked', command: rest[1] ?? fail('expect not acked ID') };
    case 'safe':
      return { kind: 'safe' };
    default:
      return fail(`unknown expectation ${what ?? ''}`);
  }
}

function rangeOf(id: number): LeaderSpec {
  return { kind: 'range', min: id, max: id };
}
function rangeSpec(word: string, fail: (m: string) => never): LeaderSpec {
  const [min, max] = range(word, fail);
  return { kind: 'range', min, max };
}
function range(word: string | undefined, fail: (m: string) => never): [number, number] {
  const m = /^(\d+)\.\.(\d+)$/.exec(word ?? '');
  if (m === null) return fail(`expected a range A..B, got ${word ?? 'nothing'}`);
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (b < a) fail(`empty range ${word ?? ''}`);
  return [a, b];
}
function nodeId(word: string | undefined, fail: (m: string) => never): number {
  const m = /^n?(\d+)$/.exec(word ?? '');
  if (m === null) return fail(`expected a node id, got ${word ?? 'nothing'}`);
  return Number(m[1]);
}
function integer(word: string | undefined, what: string, fail: (m: string) => never): number {
  if (word === undefined || !/^-?\d+$/.test(word)) return fail(`${what}: expected an integer, got ${word ?? 'nothing'}`);
  return Number(word);
}
function positive(word: string | undefined, message: string, fail: (m: string) => never): number {
  const n = integer(word, message, fail);
  if (n <= 0) fail(`${message}: must be positive`);
  return n;
}
