/** The script language and runner themselves: parsing, failures, drop rules, quiescence, determinism. */
import { describe, expect, it } from 'vitest';
import { parseScript, runScript, ScriptSyntaxError } from '../../src/sim/script/runner.js';

const ELECT_N1 = 'cluster 3 seed=1 timeouts=100..110/280..299/150..160\ntick 200\n';

describe('script parser', () => {
  it('reads commands, skips comments and blank lines, keeps line numbers', () => {
    const lines = parseScript('# a comment\n\ncluster 3 seed=7 delay=1..3 fsync=2\ntick 50   # trailing\nexpect log 2 = c1 noop c3\n');
    expect(lines.map((l) => l.line)).toEqual([3, 4, 5]);
    expect(lines[0]!.command).toEqual({ kind: 'cluster', nodes: 3, seed: 7, delayMs: [1, 3], fsyncMs: 2, timeoutsMs: [] });
    expect(lines[1]!.text).toBe('tick 50');
    expect(lines[2]!.command).toEqual({ kind: 'expect', expectation: { kind: 'log', node: 2, entries: ['c1', 'noop', 'c3'] } });
  });

  it('reads partitions, drop patterns and submit targets', () => {
    const [partition, drop, submit] = parseScript('partition 1 | 2 3\ndrop next AcceptRequest 1->* slot 2\nsubmit c9 x=1 y=2 to n3\n');
    expect(partition!.command).toEqual({ kind: 'partition', groups: [[1], [2, 3]] });
    expect(drop!.command).toEqual({ kind: 'drop', once: true, pattern: { type: 'AcceptRequest', from: 1, to: undefined, slot: 2 } });
    expect(submit!.command).toEqual({ kind: 'submit', id: 'c9', payload: 'x=1 y=2', to: 3 });
  });

  it.each([
    ['launch 3', 'unknown command launch'],
    ['cluster 3 timeouts=1..2/3..4', 'one per node'],
    ['tick soon', 'expected an integer'],
    ['expect leader 3..1', 'empty range'],
    ['partition 1 2', 'partition A B | C D'],
    ['expect wonders', 'unknown expectation'],
  ])('refuses %j with the line number', (text, message) => {
    const parse = () => parseScript(`cluster 3\n${text}`);
    expect(parse).toThrow(ScriptSyntaxError);
    expect(parse).toThrow(`line 2: `);
    expect(parse).toThrow(message);
  });
});

describe('script runner', () => {
  it('records a failed expectation with its line and keeps going', () => {
    const result = runScript(`${ELECT_N1}expect leader 2\nexpect leader 1\n`);
    expect(result.failures).toEqual([{ line: 3, command: 'expect leader 2', message: 'expected n2 to lead, but n1 leads (epoch 1)' }]);
    expect(result.transcript).toContain('> expect leader 2\n  FAIL: expected n2 to lead, but n1 leads (epoch 1)\n> expect leader 1\n  ok: n1 leads epoch 1\n');
  });

  it('reports commands that cannot run as failures, not exceptions', () => {
    const result = runScript('tick 10\ncluster 3\nsubmit c1\ncrash 7\n');
    expect(result.failures.map((f) => [f.line, f.message])).toEqual([
      [1, 'the script must start with `cluster N`'],
      [3, 'no leader to submit to'],
      [4, 'there is no node n7'],
    ]);
  });

  it('drops exactly one matching message for `drop next`, every one for `drop`', () => {
    const result = runScript(`${ELECT_N1}drop next AcceptRequest 1->3\ndrop CommitNotice 1->2\nsubmit c1\ntick 20\n`);
    expect(result.transcript.match(/dropped once: /g)).toHaveLength(1);
    expect(result.transcript).toContain('dropped once: n1 -> n3 AcceptRequest 1.1 slots 1..1 [c1]');
    expect(result.transcript.match(/dropped: n1 -> n2 CommitNotice/g)!.length).toBeGreaterThanOrEqual(1);
    expect(result.failures).toEqual([]);
  });

  it('`deliver all` runs until no message is in flight', () => {
    const result = runScript(`${ELECT_N1}submit c1\ndeliver all\nexpect log 1 = c1\nexpect log 2 = c1\nexpect acked c1 slot 1\n`);
    expect(result.failures).toEqual([]);
    // The network was quiet within a few milliseconds: no heartbeat round (every 50 ms) had to pass.
    expect(result.cluster!.now()).toBeLessThan(215);
  });

  it('is deterministic: the same script gives the same transcript', () => {
    const script = `${ELECT_N1}partition 1 | 2 3\nsubmit c1 to 1\ntick 700\nheal\ntick 300\nexpect logs agree\nshow logs\n`;
    const first = runScript(script);
    expect(runScript(script).transcript).toBe(first.transcript);
    expect(first.failures).toEqual([]);
  });

  it('`wipe` loses a node\'s disk: it rejoins by recovering from the others', () => {
    const result = runScript(`${ELECT_N1}submit c1\ntick 20\nwipe 3\nrestart 3\ntick 300\nexpect log 3 = c1\nexpect accepted 3 slot 1 = c1 @1.1\nexpect safe\n`);
    expect(result.failures).toEqual([]);
    expect(result.transcript).toMatch(/n3 recovered its acceptor state/);
  });

  it('`expect safe` runs the simulator invariants over the script run', () => {
    const result = runScript(`${ELECT_N1}submit c1\ntick 20\ncrash 1\ntick 600\nrestart 1\ntick 200\nexpect safe\n`);
    expect(result.transcript).toContain('ok: electionSafety, agreement, committedPrefix, leaderCompleteness, integrity, durability');
  });
});
