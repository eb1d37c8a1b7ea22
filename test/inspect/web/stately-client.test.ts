/**
 * The Stately inspection stream read by Stately's own client code (@statelyai/inspect's WebSocket
 * receiver) while a simulation runs. The same check runs against a live node in live.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InspectorServer } from '../../../src/inspect/web/server.js';
import { SimulationSource } from '../../../src/inspect/web/sim-source.js';
import { StatelyCheck } from './stately-check.js';

let server: InspectorServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('Stately inspection stream, simulation', () => {
  it("Stately's WebSocket receiver sees every actor, valid definitions, snapshots in them, and events", async () => {
    const source = new SimulationSource({ nodes: 3, seed: 9 });
    server = await InspectorServer.start({ source });
    source.runFor(1500);
    const leader = source.view().nodes.find((n) => n.activeLeader)?.id;
    expect(leader).toBeDefined();
    const check = new StatelyCheck(`${server.url.replace('http://', 'ws://')}stately`);
    await check.until('registrations of the nodes and their machines', () => ['n1', 'n2', 'n3', `n${leader}.proposer#1`, 'n1.election#1', 'n3.learner#1'].every((a) => check.actors.has(a)));

    // Crash the leader (node and machine snapshots change), elect another, write through a client.
    source.control({ type: 'crash', node: leader! });
    source.runFor(1500);
    source.control({ type: 'submit', count: 3 });
    source.runFor(500);
    await check.until('snapshots, events and the client', () => check.count('@xstate.snapshot') > 0 && check.count('@xstate.event') > 0 && [...check.actors.keys()].some((a) => a.startsWith('client')));

    expect(check.problems).toEqual([]);
    // A crashed node is drawn in its `down` state; the machines of the next leader are new actors.
    const crashed = check.messages.find((m) => m.type === '@xstate.snapshot' && m.sessionId === `n${leader}` && m.snapshot.value === 'down');
    expect(crashed?.snapshot.status).toBe('stopped');
    const next = source.view().nodes.find((n) => n.activeLeader)!;
    expect(check.actors.get(next.machines.proposer!.actorId)?.parentId).toBe(`n${next.id}`);
    const clientEvent = check.messages.find((m) => m.type === '@xstate.event' && String(m.sourceId).startsWith('client'));
    expect(clientEvent?.event.type).toBe('ClientRequest');
  });
});
