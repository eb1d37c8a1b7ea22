/**
 * Runs an interaction script (see parse.ts for the language) and writes its transcript: every
 * command, then what it caused (role changes, leadership, applies, drops, client replies, each
 * with its virtual time), then for an `expect` either `ok` or `FAIL`. Tests compare transcripts
 * with golden files, so a change in behaviour shows as a readable diff.
 */
import { SAFETY_INVARIANTS } from '../../check/invariants.js';
import type { MachineSet } from '../../node/machines.js';
import type { NodeTimings } from '../../node/node.js';
import { formatBallot } from '../../protocol/ids.js';
import { ScriptCluster, entryName } from './cluster.js';
import { parseScript } from './parse.js';
import type { Expectation, LeaderSpec, ScriptCommand } from './parse.js';

export { parseScript, ScriptSyntaxError, DELIVER_ALL_DEFAULT_MAX_MS } from './parse.js';
export type { ScriptCommand, ScriptLine, Expectation, MessagePattern, LeaderSpec } from './parse.js';
export { ScriptCluster, SCRIPT_CLIENT_ID, entryName, describeMessage, matchesPattern, formatTime } from './cluster.js';
export type { ScriptClusterOptions, ClientOutcome } from './cluster.js';

export interface ScriptOptions {
  /** Role machines to run (default: the real ones); a mutant's, to see which rule test catches it. */
  readonly machines?: MachineSet;
  /** Base timings (default: the simulator's); scripts set election timeouts themselves. */
  readonly timings?: NodeTimings;
}

/** A command that failed: an expectation that did not hold, or a command that could not run. */
export interface ScriptFailure {
  readonly line: number;
  readonly command: string;
  readonly message: string;
}

export interface ScriptResult {
  readonly transcript: string;
  readonly failures: readonly ScriptFailure[];
  /** The cluster as the script left it (undefined if the script never made one). */
  readonly cluster: ScriptCluster | undefined;
}

/** Run `text` to the end (a failed expectation does not stop it) and return the transcript. */
export function runScript(text: string, options: ScriptOptions = {}): ScriptResult {
  const lines = parseScript(text);
  const out: string[] = [];
  const failures: ScriptFailure[] = [];
  let cluster: ScriptCluster | undefined;
  for (const line of lines) {
    out.push(`> ${line.text}`);
    try {
      if (line.command.kind === 'cluster') {
        if (cluster !== undefined) throw new Error('the script already made its cluster');
        const c = line.command;
        cluster = new ScriptCluster({
          nodes: c.nodes,
          seed: c.seed,
          delayMs: c.delayMs,
          fsyncMs: c.fsyncMs,
          timeoutsMs: c.timeoutsMs,
          ...(options.machines ? { machines: options.machines } : {}),
          ...(options.timings ? { timings: options.timings } : {}),
          onEvent: (event) => out.push(`  ${event}`),
        });
        continue;
      }
      if (cluster === undefined) throw new Error('the script must start with `cluster N`');
      const result = execute(cluster, line.command);
      for (const detail of result.lines) out.push(`  ${detail}`);
      if (result.failure !== undefined) {
        out.push(`  FAIL: ${result.failure}`);
        failures.push({ line: line.line, command: line.text, message: result.failure });
      }
    } catch (error) {
      const message = (error as Error).message;
      out.push(`  ERROR: ${message}`);
      failures.push({ line: line.line, command: line.text, message });
    }
  }
  return { transcript: `${out.join('\n')}\n`, failures, cluster };
}

interface Outcome {
  readonly lines: readonly string[];
  readonly failure?: string;
}

const DONE: Outcome = { lines: [] };

function execute(cluster: ScriptCluster, command: ScriptCommand): Outcome {
  switch (command.kind) {
    case 'cluster':
      return DONE;
    case 'tick':
      cluster.tick(command.ms);
      return DONE;
    case 'deliverAll':
      return cluster.deliverAll(command.maxMs) ? DONE : { lines: [], failure: `messages still in flight after ${command.maxMs} ms` };
    case 'partition':
      cluster.partition(command.groups);
      return DONE;
    case 'heal':
      cluster.heal();
      return DONE;
    case 'crash':
      cluster.crash(command.node);
      return DONE;
    case 'wipe':
      cluster.wipe(command.node);
      return DONE;
    case 'restart':
      cluster.restart(command.node);
      return DONE;
    case 'timeout':
      cluster.setTimeouts(command.node, command.rangeMs);
      return DONE;
    case 'submit': {
      const to = cluster.submit(command.id, command.payload, command.to);
      return command.to === undefined ? { lines: [`(to n${to})`] } : DONE;
    }
    case 'drop':
      cluster.drop(command.pattern, command.once);
      return DONE;
    case 'undrop':
      cluster.undropAll();
      return DONE;
    case 'trace':
      cluster.trace = command.on;
      return DONE;
    case 'show':
      return { lines: show(cluster, command.what) };
    case 'expect':
      return check(cluster, command.expectation);
  }
}

function show(cluster: ScriptCluster, what: 'roles' | 'logs' | 'acceptors' | 'leaders'): string[] {
  if (what === 'leaders') return cluster.record.leaders.map((l) => `epoch ${l.epoch}: n${l.node}`);
  return cluster.nodeIds.map((id) => {
    const node = cluster.node(id);
    if (node === undefined) return `n${id}: down`;
    switch (what) {
      case 'roles':
        return `n${id}: ${node.role} at epoch ${node.epoch}, applied ${node.appliedSlot}`;
      case 'logs':
        return `n${id}: ${logOf(cluster, id).join(' ') || '(empty)'}`;
      case 'acceptors': {
        const accepted: string[] = [];
        for (let slot = 1; ; slot++) {
          const a = cluster.acceptedAt(id, slot);
          if (a === undefined) {
            if (slot > node.appliedSlot + 8) break;
            continue;
          }
          accepted.push(`${slot}=${entryName(a.entry)}@${formatBallot(a.ballot)}`);
        }
        return `n${id}: promised ${formatBallot(cluster.promisedBy(id)!)}, accepted ${accepted.join(' ') || 'nothing'}`;
      }
    }
  });
}

function logOf(cluster: ScriptCluster, id: number): string[] {
  return (cluster.node(id)?.learnedLog ?? []).map(entryName);
}

function ok(detail?: string): Outcome {
  return { lines: [detail === undefined ? 'ok' : `ok: ${detail}`] };
}
function fail(message: string): Outcome {
  return { lines: [], failure: message };
}

function requireUp(cluster: ScriptCluster, id: number): NonNullable<ReturnType<ScriptCluster['node']>> {
  const node = cluster.node(id);
  if (node === undefined) throw new Error(`n${id} is down`);
  return node;
}

function describeLeaderSpec(spec: LeaderSpec): string {
  if (spec.kind !== 'range') return spec.kind;
  return spec.min === spec.max ? `n${spec.min}` : `one of n${spec.min}..n${spec.max}`;
}

function check(cluster: ScriptCluster, e: Expectation): Outcome {
  switch (e.kind) {
    case 'leader': {
      const leaders = cluster.leaders();
      if (e.spec.kind === 'none') {
        return leaders.length === 0 ? ok('no node leads') : fail(`expected no leader, but ${leaders.map((l) => `n${l.node} (epoch ${l.epoch})`).join(', ')} lead`);
      }
      const top = cluster.leader();
      if (top === undefined) return fail(`expected ${describeLeaderSpec(e.spec)} to lead, but no node leads`);
      const rivals = leaders.filter((l) => l.epoch === top.epoch && l.node !== top.node);
      if (rivals.length > 0) return fail(`n${top.node} and n${rivals[0]!.node} both lead epoch ${top.epoch}`);
      if (e.spec.kind === 'range' && (top.node < e.spec.min || top.node > e.spec.max)) {
        return fail(`expected ${describeLeaderSpec(e.spec)} to lead, but n${top.node} leads (epoch ${top.epoch})`);
      }
      if (e.epoch !== undefined && top.epoch !== e.epoch) return fail(`n${top.node} leads epoch ${top.epoch}, expected epoch ${e.epoch}`);
      return ok(`n${top.node} leads epoch ${top.epoch}`);
    }
    case 'role': {
      const node = requireUp(cluster, e.node);
      if (node.role !== e.role) return fail(`n${e.node} is ${node.role} at epoch ${node.epoch}, expected ${e.role}`);
      if (e.epoch !== undefined && node.epoch !== e.epoch) return fail(`n${e.node} is ${node.role} at epoch ${node.epoch}, expected epoch ${e.epoch}`);
      return ok();
    }
    case 'epoch': {
      const node = requireUp(cluster, e.node);
      return node.epoch === e.epoch ? ok() : fail(`n${e.node} is at epoch ${node.epoch}, expected ${e.epoch}`);
    }
    case 'log': {
      requireUp(cluster, e.node);
      const log = logOf(cluster, e.node);
      return log.join(' ') === e.entries.join(' ') ? ok() : fail(`n${e.node} learned [${log.join(' ')}], expected [${e.entries.join(' ')}]`);
    }
    case 'logSlot': {
      requireUp(cluster, e.node);
      const at = logOf(cluster, e.node)[e.slot - 1];
      return at === e.entry ? ok() : fail(`n${e.node} has ${at ?? 'nothing'} at slot ${e.slot}, expected ${e.entry}`);
    }
    case 'applied': {
      const node = requireUp(cluster, e.node);
      return node.appliedSlot === e.slot ? ok() : fail(`n${e.node} applied up to slot ${node.appliedSlot}, expected ${e.slot}`);
    }
    case 'logsAgree': {
      const logs = cluster.nodeIds.filter((id) => cluster.isUp(id)).map((id) => ({ id, log: logOf(cluster, id) }));
      for (let i = 0; i < logs.length; i++) {
        for (let j = i + 1; j < logs.length; j++) {
          const a = logs[i]!;
          const b = logs[j]!;
          for (let s = 0; s < Math.min(a.log.length, b.log.length); s++) {
            if (a.log[s] !== b.log[s]) return fail(`n${a.id} and n${b.id} differ at slot ${s + 1}: ${a.log[s]} vs ${b.log[s]}`);
          }
        }
      }
      const longest = Math.max(0, ...logs.map((l) => l.log.length));
      return ok(`${logs.length} logs agree (longest: ${longest} slots)`);
    }
    case 'accepted': {
      requireUp(cluster, e.node);
      const a = cluster.acceptedAt(e.node, e.slot);
      if (e.entry === null) return a === undefined ? ok() : fail(`n${e.node} accepted ${entryName(a.entry)}@${formatBallot(a.ballot)} at slot ${e.slot}, expected nothing`);
      if (a === undefined) return fail(`n${e.node} accepted nothing at slot ${e.slot}, expected ${e.entry}`);
      const got = `${entryName(a.entry)}@${formatBallot(a.ballot)}`;
      const name = entryName(a.entry);
      if (name !== e.entry || (e.ballot !== undefined && formatBallot(a.ballot) !== e.ballot)) {
        return fail(`n${e.node} accepted ${got} at slot ${e.slot}, expected ${e.entry}${e.ballot === undefined ? '' : `@${e.ballot}`}`);
      }
      return ok(got);
    }
    case 'promised': {
      requireUp(cluster, e.node);
      const p = formatBallot(cluster.promisedBy(e.node)!);
      return p === e.ballot ? ok() : fail(`n${e.node} promised ${p}, expected ${e.ballot}`);
    }
    case 'chosen': {
      const chosen = new Set<string>();
      for (const a of cluster.record.acceptances.get(e.slot)?.values() ?? []) {
        if (a.chosenAtMs === undefined) continue;
        const entry = cluster.record.entries.get(a.key);
        chosen.add(entry === undefined ? a.key : entryName(entry));
      }
      if (chosen.size === 0) return fail(`nothing was chosen at slot ${e.slot}`);
      if (chosen.size > 1) return fail(`slot ${e.slot} has two chosen values: ${[...chosen].join(', ')}`);
      const [value] = chosen;
      return value === e.entry ? ok() : fail(`${value} was chosen at slot ${e.slot}, expected ${e.entry}`);
    }
    case 'neverLeader': {
      const terms = cluster.record.leaders.filter((l) => l.node === e.node);
      return terms.length === 0 ? ok() : fail(`n${e.node} became leader at epoch ${terms[0]!.epoch}`);
    }
    case 'voteOnce': {
      let grants = 0;
      for (const [voter, byEpoch] of cluster.votes) {
        for (const [epoch, candidates] of byEpoch) {
          grants += candidates.size;
          if (candidates.size > 1) return fail(`n${voter} voted for ${[...candidates].map((c) => `n${c}`).join(' and ')} in epoch ${epoch}`);
        }
      }
      return ok(`${grants} votes, at most one per voter and epoch`);
    }
    case 'oneValuePerBallot': {
      // The record files a second value for a slot and ballot under `ballot#key`.
      let pairs = 0;
      for (const [slot, byBallot] of cluster.record.acceptances) {
        for (const [ballot, a] of byBallot) {
          if (ballot.includes('#')) return fail(`slot ${slot} was accepted with two values in ballot ${formatBallot(a.ballot)}`);
          pairs++;
        }
      }
      return ok(`${pairs} slot-ballot pairs, one value each`);
    }
    case 'acked': {
      const outcome = cluster.outcomes.get(e.command);
      if (outcome?.ok !== true) return fail(`${e.command} was not acknowledged`);
      if (e.slot !== undefined && outcome.slot !== e.slot) return fail(`${e.command} was acknowledged at slot ${outcome.slot ?? '?'}, expected ${e.slot}`);
      return ok();
    }
    case 'notAcked': {
      const outcome = cluster.outcomes.get(e.command);
      return outcome?.ok === true ? fail(`${e.command} was acknowledged at slot ${outcome.slot ?? '?'} by n${outcome.from}`) : ok();
    }
    case 'safe': {
      cluster.collectFinalLogs();
      for (const [name, invariant] of Object.entries(SAFETY_INVARIANTS)) {
        const violation = invariant(cluster.record);
        if (violation !== null) return fail(`${name}: ${violation.message}`);
      }
      return ok(Object.keys(SAFETY_INVARIANTS).join(', '));
    }
  }
}
