/** `statekeeper check` and `statekeeper replay`: randomized simulation runs, shrinking, trace files. */
import { join, resolve } from 'node:path';
import { MUTANTS, findMutant, mutantRunOptions } from '../sim/mutants.js';
import { ALL_FAULT_KINDS } from '../sim/scenario.js';
import type { FaultKind } from '../sim/scenario.js';
import { readTraceFile, replayTrace, runBatch, shrinkScenario, writeTraceFile } from '../sim/runner.js';
import { formatTraceEvent } from '../sim/trace.js';

export interface CheckOptions {
  nodes?: number;
  runs: number;
  seed: number;
  faults: readonly FaultKind[];
  mutant?: string;
  sabotage?: boolean;
  out: string;
}

export function parseFaults(list: string | undefined): FaultKind[] {
  if (list === undefined || list === 'all') return [...ALL_FAULT_KINDS];
  if (list === 'none' || list === '') return [];
  const kinds = list.split(',').map((s) => s.trim());
  for (const k of kinds) {
    if (!(ALL_FAULT_KINDS as readonly string[]).includes(k)) {
      throw new Error(`unknown fault '${k}': expected a comma-separated list of ${ALL_FAULT_KINDS.join(', ')} (or all, none)`);
    }
  }
  return kinds as FaultKind[];
}

export function listMutants(): string {
  const width = Math.max(...MUTANTS.map((m) => m.name.length));
  return MUTANTS.map((m) => `${m.name.padEnd(width)}  ${m.description}`).join('\n');
}

/** Returns the process exit code: 0 when no run violated an invariant, 1 otherwise. */
export function runCheck(options: CheckOptions, log: (line: string) => void = console.log): number {
  const mutant = options.mutant === undefined ? undefined : findMutant(options.mutant);
  if (options.mutant !== undefined && mutant === undefined) {
    throw new Error(`unknown mutant '${options.mutant}'; see statekeeper check --list-mutants`);
  }
  const nodes = options.nodes ?? mutant?.prefers?.nodes ?? 5;
  const sabotage = options.sabotage ?? mutant?.prefers?.sabotage ?? false;
  const snapshotEveryCommands = mutant?.prefers?.snapshotEveryCommands;
  const progress = new Progress(options.runs);
  const batch = runBatch({
    runs: options.runs,
    seed: options.seed,
    nodes,
    faults: options.faults,
    sabotage,
    ...(snapshotEveryCommands === undefined ? {} : { snapshotEveryCommands }),
    ...mutantRunOptions(mutant),
    onRun: (_i, r) => progress.tick(r.violation !== null),
  });
  progress.done();
  if (batch.first?.violation) {
    const v = batch.first.violation;
    log(`violation of ${v.invariant}: ${v.message}`);
    log(`  in run with seed ${batch.first.scenario.seed} (${batch.first.scenario.nodes} nodes, ${batch.first.scenario.faults.length} faults)`);
    const shrunk = shrinkScenario(batch.first.scenario, v.invariant, mutantRunOptions(mutant));
    const path = resolve(join(options.out, `violation-${v.invariant}-seed${shrunk.seed}.json`));
    const file = writeTraceFile(path, shrunk, mutant?.name ?? null);
    log(`  shrunk to ${shrunk.faults.length} faults and ${shrunk.commands} commands: ${file.violation?.invariant ?? '(no longer fails?)'}: ${file.violation?.message ?? ''}`);
    log(`  trace written to ${path}`);
    log(`  replay: npx statekeeper replay ${path}`);
  }
  log(`runs: ${batch.runs}, violations: ${batch.violations}, seed: ${options.seed}`);
  return batch.violations === 0 ? 0 : 1;
}

export function runReplay(path: string, options: { quiet?: boolean }, log: (line: string) => void = console.log): number {
  const file = readTraceFile(path);
  const result = replayTrace(file);
  if (!options.quiet) for (const e of result.events) log(formatTraceEvent(e));
  const s = file.scenario;
  log(`scenario: ${s.nodes} nodes, seed ${s.seed}, ${s.faults.length} faults, ${s.commands} commands${file.mutant ? `, mutant ${file.mutant}` : ''}`);
  if (result.divergesAt === -1) {
    log(`replayed ${result.events.length} events: identical to the recorded trace`);
  } else {
    log(`replay diverged from the recorded trace at event ${result.divergesAt}:`);
    const recorded = file.events[result.divergesAt];
    const now = result.events[result.divergesAt];
    log(`  recorded: ${recorded ? formatTraceEvent(recorded) : '(end)'}`);
    log(`  replayed: ${now ? formatTraceEvent(now) : '(end)'}`);
  }
  log(result.violation ? `violation of ${result.violation.invariant}: ${result.violation.message}` : 'no invariant violated');
  return result.divergesAt === -1 ? 0 : 1;
}

class Progress {
  private done_ = 0;
  private violations = 0;
  private lastShown = 0;
  private readonly tty = process.stderr.isTTY === true;
  constructor(private readonly total: number) {}
  tick(violated: boolean): void {
    this.done_++;
    if (violated) this.violations++;
    const width = 30;
    const filled = Math.round((this.done_ / this.total) * width);
    const percent = Math.floor((this.done_ / this.total) * 100);
    if (this.tty) {
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done_}/${this.total} runs, ${this.violations} violations`);
    } else if (percent >= this.lastShown + 10 || this.done_ === this.total) {
      this.lastShown = percent - (percent % 10);
      process.stderr.write(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done_}/${this.total} runs, ${this.violations} violations\n`);
    }
  }
  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}
