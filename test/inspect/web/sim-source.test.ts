import { describe, expect, it } from 'vitest';
import { defaultMachines } from '../../../src/node/machines.js';
import { MAX_HISTORY_EVENTS } from '../../../src/inspect/web/constants.js';
import { SimulationSource } from '../../../src/inspect/web/sim-source.js';
import { StatelyEncoder } from '../../../src/inspect/web/stately.js';
import type { ClusterView, SourceEvent } from '../../../src/inspect/web/types.js';

/** Virtual time one election needs at most here (timeouts are 150–300 ms), with room for a split vote. */
const ELECTION_BOUND_MS = 3000;
const STEP_MS = 50;

function leaderOf(view: ClusterView): number | undefined {
  return view.nodes.find((n) => n.activeLeader)?.id;
}

/** Runs until some node other than `not` is the active leader (bounded). */
function awaitLeader(source: SimulationSource, not?: number): number {
  for (let t = 0; t < ELECTION_BOUND_MS; t += STEP_MS) {
    const leader = leaderOf(source.view());
    if (leader !== undefined && leader !== not) return leader;
    source.runFor(STEP_MS);
  }
  throw new Error(`no leader within ${ELECTION_BOUND_MS} virtual ms`);
}

function watch(source: SimulationSource): { events: SourceEvent[]; stop: () => void; changes: () => number } {
  const events: SourceEvent[] = [];
  let changes = 0;
  const stop = source.watch({ event: (e) => events.push(e), changed: () => changes++ });
  return { events, stop, changes: () => changes };
}

describe('SimulationSource', () => {
  it('installs nothing on the cluster while no one watches', () => {
    const source = new SimulationSource({ nodes: 3, seed: 1 });
    const bus = source.simCluster.bus;
    expect(bus.observer).toBeUndefined();
    source.runFor(500);
    expect(source.history()).toEqual([]);
    const w = watch(source);
    expect(bus.observer).toBeDefined();
    source.runFor(500);
    expect(w.events.some((e) => e.kind === 'message')).toBe(true);
    w.stop();
    expect(bus.observer).toBeUndefined();
    const before = w.events.length;
    source.runFor(500);
    expect(w.events.length).toBe(before);
    source.close();
  });

  it('chains to an observer that was already on the bus and restores it', () => {
    const source = new SimulationSource({ nodes: 3, seed: 2 });
    const bus = source.simCluster.bus;
    let delivered = 0;
    const theirs = { onDeliver: () => void delivered++ };
    bus.observer = theirs;
    const w = watch(source);
    source.runFor(400);
    expect(delivered).toBeGreaterThan(0);
    w.stop();
    expect(bus.observer).toBe(theirs);
    source.close();
  });

  it('elects a leader, and a new one after the leader crashes', () => {
    const source = new SimulationSource({ nodes: 5, seed: 7 });
    const w = watch(source);
    const first = awaitLeader(source);
    expect(source.control({ type: 'crash', node: first }).ok).toBe(true);
    const crashedAtMs = source.view().nowMs;
    const view = source.view();
    expect(view.nodes.find((n) => n.id === first)).toMatchObject({ up: false, role: 'down' });
    const second = awaitLeader(source, first);
    expect(second).not.toBe(first);
    // Messages still reach the crashed node's address, but nobody receives them.
    const toCrashed = w.events.filter((e) => e.kind === 'message' && e.to === first && e.atMs > crashedAtMs) as Extract<SourceEvent, { kind: 'message' }>[];
    expect(toCrashed.length).toBeGreaterThan(0);
    expect(toCrashed.every((e) => e.phase === 'receiver-down')).toBe(true);
    const roles = w.events.filter((e): e is Extract<SourceEvent, { kind: 'role' }> => e.kind === 'role');
    expect(roles.some((e) => e.node === first && !e.up)).toBe(true);
    expect(roles.some((e) => e.node === second && e.activeLeader)).toBe(true);
    // The new leader's election machine moved into `leader`, and the event says so.
    const transitions = w.events.filter((e): e is Extract<SourceEvent, { kind: 'transition' }> => e.kind === 'transition');
    expect(transitions.some((e) => e.node === second && e.machine === 'election' && JSON.stringify(e.to).includes('"leader"'))).toBe(true);
    expect(source.control({ type: 'restart', node: first }).ok).toBe(true);
    source.runFor(500);
    const back = source.view().nodes.find((n) => n.id === first)!;
    expect(back).toMatchObject({ up: true, role: 'follower', incarnation: 1 });
    expect(back.machines.election?.activePaths).toContain('follower');
    w.stop();
    source.close();
  });

  it('commits client writes on every node', () => {
    const source = new SimulationSource({ nodes: 3, seed: 3 });
    awaitLeader(source);
    expect(source.control({ type: 'submit', count: 4 }).ok).toBe(true);
    for (let t = 0; t < 2000 && source.view().writes!.acknowledged < 4; t += STEP_MS) source.runFor(STEP_MS);
    source.runFor(300);
    const view = source.view();
    expect(view.writes).toEqual({ submitted: 4, acknowledged: 4 });
    for (const n of view.nodes) {
      const ids = n.logTail.flatMap((e) => e.commands);
      for (const w of ['w1', 'w2', 'w3', 'w4']) expect(ids, `n${n.id}`).toContain(w);
    }
    source.close();
  });

  it('steps one scheduler action at a time', () => {
    const source = new SimulationSource({ nodes: 3, seed: 4 });
    const before = source.view().actions;
    for (let i = 1; i <= 5; i++) {
      expect(source.control({ type: 'step' }).ok).toBe(true);
      expect(source.view().actions).toBe(before + i);
    }
    source.close();
  });

  it('isolates and heals nodes, and validates network settings', () => {
    const source = new SimulationSource({ nodes: 3, seed: 5 });
    source.control({ type: 'isolate', node: 1 });
    expect(source.view().network.cut).toEqual([
      [1, 2],
      [1, 3],
    ]);
    source.control({ type: 'isolate', node: 3 });
    expect(source.view().network.cut).toEqual([
      [1, 2],
      [1, 3],
      [2, 3],
    ]);
    source.control({ type: 'heal' });
    expect(source.view().network.cut).toEqual([]);
    expect(source.control({ type: 'faults', dropRate: 1.5 })).toMatchObject({ ok: false });
    expect(source.control({ type: 'faults', minDelayMs: 10, maxDelayMs: 2 })).toMatchObject({ ok: false });
    expect(source.control({ type: 'faults', dropRate: 0.1, maxDelayMs: 20 })).toMatchObject({ ok: true });
    expect(source.view().network).toMatchObject({ dropRate: 0.1, maxDelayMs: 20 });
    expect(source.control({ type: 'crash', node: 9 })).toMatchObject({ ok: false });
    expect(source.control({ type: 'back' })).toMatchObject({ ok: false });
    expect(source.control({ type: 'run', speedMsPerS: 0 })).toMatchObject({ ok: false });
    expect(source.running).toBe(false);
    source.close();
  });

  it('is deterministic: the same seed and controls give the same cluster', () => {
    const run = (): unknown => {
      const source = new SimulationSource({ nodes: 5, seed: 11, faults: { dropRate: 0.05, maxDelayMs: 12 } });
      const leader = awaitLeader(source);
      source.control({ type: 'submit', count: 3 });
      source.runFor(200);
      source.control({ type: 'crash', node: leader });
      source.runFor(1500);
      const view = source.view();
      source.close();
      return { nowMs: view.nowMs, actions: view.actions, nodes: view.nodes.map((n) => [n.role, n.epoch, n.appliedSlot]) };
    };
    expect(run()).toEqual(run());
  });

  it('keeps a bounded history and messages in flight that match the network', () => {
    const source = new SimulationSource({ nodes: 5, seed: 6 });
    const w = watch(source);
    source.runFor(3000);
    expect(source.history().length).toBeLessThanOrEqual(MAX_HISTORY_EVENTS);
    expect(w.events.length).toBeGreaterThan(MAX_HISTORY_EVENTS);
    expect(source.history()).toEqual(w.events.slice(-source.history().length));
    const delivered = w.events.filter((e) => e.kind === 'message' && e.phase === 'delivered') as Extract<SourceEvent, { kind: 'message' }>[];
    expect(delivered.every((e) => e.sentAtMs !== null && e.sentAtMs <= e.atMs && e.atMs - e.sentAtMs <= 5)).toBe(true);
    const view = source.view();
    for (const m of view.inFlight) expect(view.nowMs - m.sentAtMs).toBeLessThanOrEqual(5);
    w.stop();
    source.close();
  });
});

describe('Stately stream', () => {
  it('registers every actor and turns deliveries and transitions into Stately messages', () => {
    const source = new SimulationSource({ nodes: 3, seed: 8 });
    const w = watch(source);
    const leader = awaitLeader(source);
    const encoder = new StatelyEncoder(defaultMachines);
    const registrations = encoder.registrations(source.view(), (n, m) => source.machineSnapshot(n, m)).map((s) => JSON.parse(s));
    const ids = registrations.map((r) => r.sessionId);
    for (const n of [1, 2, 3]) {
      expect(ids).toContain(`n${n}`);
      for (const m of ['election', 'acceptor', 'learner']) expect(ids.some((id: string) => id.startsWith(`n${n}.${m}#`))).toBe(true);
    }
    expect(ids.some((id: string) => id.startsWith(`n${leader}.proposer#`))).toBe(true);
    for (const r of registrations) {
      expect(r).toMatchObject({ type: '@xstate.actor', _version: expect.any(String), createdAt: expect.stringMatching(/^\d+$/) });
      expect(typeof r.id).toBe('string');
    }
    const election = registrations.find((r) => r.sessionId === `n${leader}.election#1`);
    expect(election.parentId).toBe(`n${leader}`);
    expect(JSON.parse(election.definition).id).toBe('election');
    expect(election.snapshot.value).toEqual({ leader: { heartbeat: 'waiting', quorumCheck: 'watching' } });

    const messages = w.events.flatMap((e) => encoder.encode(e)).map((s) => JSON.parse(s));
    const events = messages.filter((m) => m.type === '@xstate.event');
    expect(events.length).toBeGreaterThan(0);
    const vote = events.find((m) => m.event.type === 'VoteRequest');
    expect(vote.sessionId).toMatch(/^n\d\.election#1$/);
    expect(vote.sourceId).toMatch(/^n\d\.election#1$/);
    const snapshots = messages.filter((m) => m.type === '@xstate.snapshot' && m.sessionId === `n${leader}.election#1`);
    expect(snapshots.some((m) => m.snapshot.value?.leader !== undefined && m.event.type === 'VoteReply')).toBe(true);
    w.stop();
    source.close();
  });
});
