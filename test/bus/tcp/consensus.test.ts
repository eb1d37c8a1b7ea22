import { clearTimeout, setTimeout } from 'node:timers';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { TcpBus } from '../../../src/bus/tcp/bus.js';
import { ConsensusNode } from '../../../src/node/node.js';
import type { Application, NodeTimings } from '../../../src/node/node.js';
import { MemoryStorage } from '../../../src/node/storage.js';
import type { NodeId } from '../../../src/protocol/ids.js';
import type { Command, PeerMessage } from '../../../src/protocol/messages.js';
import { SIM_TIMINGS } from '../../../src/sim/cluster.js';
import { closeAll, startCluster, within } from './helpers.js';

/** Real-clock timings: the simulator's, with election and heartbeat slowed for a busy machine. */
const TIMINGS: NodeTimings = Object.freeze({ ...SIM_TIMINGS, electionTimeoutMinMs: 300, electionTimeoutMaxMs: 600, heartbeatIntervalMs: 100 });
const LEADER_DEADLINE_MS = 10_000;
const COMMIT_DEADLINE_MS = 10_000;
const POLL_MS = 20;

/** Records what each node applies and lets the test wait for a number of commands. */
class RecordingApplication implements Application {
  readonly applied: Command[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];
  apply(command: Command): unknown {
    this.applied.push(command);
    this.waiters = this.waiters.filter((w) => (this.applied.length >= w.count ? (w.resolve(), false) : true));
    return command.id;
  }
  until(count: number): Promise<void> {
    if (this.applied.length >= count) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.waiters.push({ count, resolve })), COMMIT_DEADLINE_MS, `${count} applied commands (have ${this.applied.length})`);
  }
}

/** Poll a condition until it holds or the deadline passes (waiting for a state, not sleeping). */
async function waitFor<T>(probe: () => T | undefined, deadlineMs: number, what: string): Promise<T> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function commands(prefix: string, count: number): Command[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    payload: { op: 'setData', path: `/k${i}`, data: new Uint8Array([i, 255 - i]), zxid: (7n << 32n) | BigInt(i), version: -1 },
  }));
}

const nodes: ConsensusNode[] = [];
const buses: TcpBus<PeerMessage>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) n.stop();
  await closeAll(buses.splice(0));
});

describe('ConsensusNode cluster over TcpBus on loopback (real clock)', () => {
  it('elects a leader and commits commands on every node; after the leader dies the others carry on', async () => {
    const ids: NodeId[] = [1, 2, 3];
    const busById = await startCluster<PeerMessage>(ids);
    buses.push(...busById.values());
    const apps = new Map(ids.map((id) => [id, new RecordingApplication()]));
    const nodeById = new Map(
      ids.map((id) => [
        id,
        new ConsensusNode({
          id,
          voters: ids,
          members: ids,
          bus: busById.get(id)!,
          clock: { setTimeout, clearTimeout },
          now: () => performance.now(),
          storage: new MemoryStorage(),
          timings: TIMINGS,
          seed: id,
          application: apps.get(id)!,
        }),
      ]),
    );
    nodes.push(...nodeById.values());
    for (const n of nodeById.values()) n.start();

    const leader = await waitFor(() => nodes.find((n) => n.isActiveLeader), LEADER_DEADLINE_MS, 'a leader');
    const first = commands('a', 10);
    expect(leader.submit(first.slice(0, 4), leader.id)).toBe(true);
    expect(leader.submit(first.slice(4), leader.id)).toBe(true);
    await Promise.all(ids.map((id) => apps.get(id)!.until(first.length)));
    for (const id of ids) {
      // Same commands in the same order everywhere, payloads intact after crossing the network.
      expect(apps.get(id)!.applied).toEqual(first);
    }

    // The leader's process dies: its node stops and its sockets close.
    leader.stop();
    busById.get(leader.id)!.close();
    const survivors = ids.filter((id) => id !== leader.id);
    const next = await waitFor(() => survivors.map((id) => nodeById.get(id)!).find((n) => n.isActiveLeader), LEADER_DEADLINE_MS, 'a new leader');
    expect(next.id).not.toBe(leader.id);
    const second = commands('b', 5);
    expect(next.submit(second, next.id)).toBe(true);
    await Promise.all(survivors.map((id) => apps.get(id)!.until(first.length + second.length)));
    for (const id of survivors) expect(apps.get(id)!.applied).toEqual([...first, ...second]);
  });
});
