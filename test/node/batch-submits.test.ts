import { clearTimeout, setTimeout } from 'node:timers';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory.js';
import { ConsensusNode } from '../../src/node/node.js';
import type { NodeOptions } from '../../src/node/node.js';
import { REALTIME_TIMINGS, realtimeNetwork } from '../../src/node/realtime.js';
import { MemoryStorage } from '../../src/node/storage.js';
import type { Command, Entry, PeerMessage } from '../../src/protocol/messages.js';
import { SeededRandom } from '../../src/protocol/random.js';

/** Bound on the lone voter electing itself (one election timeout, a few hundred ms). */
const LEADER_DEADLINE_MS = 10_000;
const POLL_MS = 10;

function commands(prefix: string, count: number): Command[] {
  return Array.from({ length: count }, (_, i) => ({ id: `${prefix}-${i}`, payload: i }));
}

/** A one-voter node on an in-memory bus, recording the entries its proposer sends and the commands it applies. */
async function loneLeader(extra: Partial<NodeOptions>): Promise<{ node: ConsensusNode; accepts: Entry[][]; applied: string[] }> {
  const accepts: Entry[][] = [];
  const applied: string[] = [];
  const node = new ConsensusNode({
    id: 1,
    voters: [1],
    members: [1],
    bus: new MemoryBus<PeerMessage>(realtimeNetwork, new SeededRandom(1)),
    clock: { setTimeout, clearTimeout },
    now: () => Date.now(),
    storage: new MemoryStorage(),
    timings: REALTIME_TIMINGS,
    seed: 1,
    application: { apply: (command) => void applied.push(command.id) },
    observer: {
      onEffect: (_node, machine, effect) => {
        if (machine === 'proposer' && effect.type === 'send' && effect.msg.type === 'AcceptRequest') accepts.push([...effect.msg.entries]);
      },
    },
    ...extra,
  });
  node.start();
  const end = Date.now() + LEADER_DEADLINE_MS;
  while (!node.isActiveLeader) {
    if (Date.now() > end) throw new Error('the lone voter did not become an active leader');
    await new Promise<void>((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { node, accepts, applied };
}

async function appliedAll(applied: string[], count: number): Promise<void> {
  const end = Date.now() + LEADER_DEADLINE_MS;
  while (applied.length < count) {
    if (Date.now() > end) throw new Error(`applied ${applied.length} of ${count}`);
    await new Promise<void>((resolve) => setTimeout(resolve, POLL_MS));
  }
}

describe('ConsensusNode batchSubmits', () => {
  it('hands the commands of several submits to the proposer as one batch, in submit order', async () => {
    const deferred: (() => void)[] = [];
    const { node, accepts, applied } = await loneLeader({ batchSubmits: (deliver) => void deferred.push(deliver) });
    const all = commands('c', 7);
    expect(node.submit(all.slice(0, 2), 1)).toBe(true);
    expect(node.submit(all.slice(2, 3), 1)).toBe(true);
    expect(node.submit(all.slice(3), 1)).toBe(true);
    // A retry of a queued command is not queued twice.
    expect(node.submit(all.slice(0, 1), 1)).toBe(true);
    expect(deferred).toHaveLength(1);
    expect(accepts).toEqual([]);
    deferred.shift()!();
    expect(accepts).toHaveLength(1);
    expect(accepts[0]!.flatMap((e) => e.commands.map((c) => c.id))).toEqual(all.map((c) => c.id));
    await appliedAll(applied, all.length);
    expect(applied).toEqual(all.map((c) => c.id));
    node.stop();
  });

  it('without it, every submit reaches the proposer at once', async () => {
    const { node, accepts, applied } = await loneLeader({});
    const all = commands('d', 3);
    for (const c of all) node.submit([c], 1);
    expect(accepts.length).toBeGreaterThanOrEqual(1);
    expect(accepts[0]!.flatMap((e) => e.commands.map((c) => c.id))).toEqual(['d-0']);
    await appliedAll(applied, all.length);
    expect(applied).toEqual(all.map((c) => c.id));
    node.stop();
  });
});
