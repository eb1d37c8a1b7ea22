import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../../src/sim/mutants.js';

const root = join(import.meta.dirname, '..', '..');

function statekeeper(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'statekeeper.mjs'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr, lastLine: r.stdout.trim().split('\n').at(-1) ?? '' };
}

describe('statekeeper check / replay', () => {
  it('passes on the real machines and ends with the summary line', () => {
    const r = statekeeper('check', '--nodes', '3', '--runs', '10', '--seed', '1');
    expect(r.lastLine).toBe('runs: 10, violations: 0, seed: 1');
    expect(r.code).toBe(0);
    expect(r.err).toContain('10/10 runs');
  });

  it('fails on a mutant, names the invariant, writes a trace that replays exactly', () => {
    const out = mkdtempSync(join(tmpdir(), 'sk-cli-'));
    const r = statekeeper('check', '--mutant', 'double-vote', '--runs', '60', '--seed', '1', '--out', out);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/violation of electionSafety: /);
    expect(r.lastLine).toMatch(/^runs: 60, violations: [1-9]\d*, seed: 1$/);
    const files = readdirSync(out);
    expect(files).toHaveLength(1);
    const replay = statekeeper('replay', join(out, files[0]!));
    expect(replay.code).toBe(0);
    expect(replay.out).toMatch(/replayed \d+ events: identical to the recorded trace/);
    expect(replay.out).toMatch(/violation of electionSafety/);
    expect(replay.out).toMatch(/became leader at epoch/);
  });

  it('lists every mutant as name and description', () => {
    const r = statekeeper('check', '--list-mutants');
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(MUTANTS.length);
    for (const [i, m] of MUTANTS.entries()) expect(lines[i]).toMatch(new RegExp(`^${m.name}\\s+${m.description.slice(0, 20)}`));
  });

  it('rejects bad arguments with a clear error', () => {
    const r = statekeeper('check', '--nodes', '9');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--nodes must be an integer from 1 to 7/);
    const m = statekeeper('check', '--mutant', 'no-such-thing', '--runs', '1');
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/unknown mutant 'no-such-thing'/);
  });

  it('writes a Mermaid file and an SVG per role', () => {
    const out = mkdtempSync(join(tmpdir(), 'sk-charts-'));
    const r = statekeeper('charts', '--out', out);
    expect(r.code).toBe(0);
    const files = readdirSync(out);
    for (const role of ['follower', 'candidate', 'leader', 'proposer', 'acceptor', 'learner']) {
      expect(files).toContain(`${role}.mmd`);
      expect(files).toContain(`${role}.svg`);
    }
  });
});
