/**
 * The live inspector's parts without processes: a node's recorder (records only while watched,
 * bounded, names causes) and the source that merges several nodes (matches sends with receipts,
 * shows a dead or silent node as down without waiting for it).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/bus/types.js';
import type { Clock } from '../../../src/node/node.js';
import type { PeerMessage } from '../../../src/protocol/messages.js';
import { LiveRecorder } from '../../../src/inspect/web/live-recorder.js';
import type { LiveNodeAccess } from '../../../src/inspect/web/live-recorder.js';
import { LiveSource } from '../../../src/inspect/web/live-source.js';
import type { ReportFetcher } from '../../../src/inspect/web/live-source.js';
import type { SourceEvent } from '../../../src/inspect/web/types.js';

/** A node as the recorder sees it, with state the test changes by hand. */
function fakeNode(id: number): { access: LiveNodeAccess; election: { value: unknown; status: string; context: unknown } } {
  const election = { value: { follower: 'waiting' } as unknown, status: 'active', context: { big: new Map(Array.from({ length: 100 }, (_, i) => [i, i])) } as unknown };
  const access: LiveNodeAccess = {
    id,
    node: () => ({ snapshots: () => ({ election }), role: 'follower', epoch: 1, leader: null, isActiveLeader: false, appliedSlot: 0, learnedLog: [] }),
    serverRole: () => 'follower',
    status: () => ({ lastZxid: '0x0', sessions: 0, serving: false, peers: [] }),
  };
  return { access, election };
}

function env(from: number, to: number, msg: PeerMessage): Envelope<PeerMessage> {
  return { from, to, msg };
}
const heartbeat: PeerMessage = { type: 'Heartbeat', epoch: 1 } as PeerMessage;
const reply: PeerMessage = { type: 'HeartbeatReply', epoch: 1 } as PeerMessage;

/** Polls `test` (bounded) without sleeping a fixed time. */
async function eventually(what: string, test: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !test(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!test()) throw new Error(`never: ${what}`);
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

describe('LiveRecorder', () => {
  it('records nothing while nobody watches; a lease arms it until it lapses', async () => {
    const { access } = fakeNode(1);
    const recorder = new LiveRecorder(access, { leaseMs: 30 });
    open.push(recorder);
    let handled = 0;
    recorder.onSend(env(1, 2, heartbeat));
    recorder.deliver(env(2, 1, reply), () => handled++);
    expect(handled).toBe(1);
    expect(recorder.armed).toBe(false);
    expect(recorder.recorded).toBe(0);
    expect(recorder.report(0).events).toEqual([]);

    recorder.lease();
    recorder.onSend(env(1, 2, heartbeat));
    recorder.deliver(env(2, 1, reply), () => handled++);
    expect(recorder.report(0).events.map((e) => e.kind)).toEqual(['sent', 'received']);
    await eventually('the lease to lapse', () => !recorder.armed);
    expect(recorder.recorded).toBe(0);
    // A page of the node's own holds it for as long as it watches.
    const release = recorder.hold();
    expect(recorder.armed).toBe(true);
    release();
    expect(recorder.armed).toBe(false);
    // Watching again: the same actors keep their generation (so their names in the inspector).
    const again = recorder.hold();
    expect(recorder.state().machines.election?.generation).toBe(1);
    again();
  });

  it('keeps a bounded ring, oldest dropped first, readable from any position', () => {
    const recorder = new LiveRecorder(fakeNode(1).access, { capacity: 10 });
    open.push(recorder);
    const release = recorder.hold();
    for (let i = 0; i < 25; i++) recorder.onSend(env(1, 2, heartbeat));
    const all = recorder.report(0, recorder.instance);
    expect([all.firstSeq, all.lastSeq, all.events.length, all.events[0]!.seq]).toEqual([16, 25, 10, 16]);
    expect(recorder.report(20, recorder.instance).events.map((e) => e.seq)).toEqual([21, 22, 23, 24, 25]);
    expect(recorder.report(-1).events).toEqual([]);
    // A reader that knew an earlier process gets everything this one holds.
    expect(recorder.report(20, 'an-earlier-process').events).toHaveLength(10);
    release();
  });

  it('names the cause of each transition: the message delivered, a timer, or a local call', async () => {
    const node = fakeNode(1);
    const recorder = new LiveRecorder(node.access);
    open.push(recorder);
    const release = recorder.hold();
    let fire: (() => void) | undefined;
    const clock: Clock = { setTimeout: (fn) => ((fire = fn), 1), clearTimeout: () => undefined };
    recorder.deliver(env(2, 1, { type: 'VoteRequest', epoch: 2, lastLog: { epoch: 0, slot: 0 } } as PeerMessage), () => {
      node.election.value = { follower: 'voted' };
    });
    recorder.wrapClock(clock).setTimeout(() => {
      node.election.value = { candidate: 'campaigning' };
    }, 10);
    fire!();
    node.election.value = { follower: 'waiting' };
    recorder.onTransition();
    await Promise.resolve();
    const transitions = recorder.report(0, recorder.instance).events.flatMap((e) => (e.kind === 'transition' ? [[e.cause, e.to]] : []));
    expect(transitions).toEqual([
      ['VoteRequest', { follower: 'voted' }],
      ['timer', { candidate: 'campaigning' }],
      ['local', { follower: 'waiting' }],
    ]);
    release();
  });
});

describe('LiveSource', () => {
  it('merges nodes, matches each receipt with its send, and shows a silent node and an unknown one as down', async () => {
    let nowMs = 1_000_000;
    const now = (): number => nowMs;
    const [a, b] = [fakeNode(1), fakeNode(2)];
    const ra = new LiveRecorder(a.access, { now });
    const rb = new LiveRecorder(b.access, { now });
    open.push(ra, rb);
    const fetchReport: ReportFetcher = async (address, query) => {
      if (address.port !== 2) throw new Error('connect ECONNREFUSED');
      if (query.lease) rb.lease({ contexts: query.contexts });
      return rb.report(query.since, query.instance);
    };
    const source = new LiveSource({ recorder: ra, members: [1, 2, 3, 4], peers: new Map([[2, { host: 'b', port: 2 }], [3, { host: 'c', port: 3 }]]), fetchReport, now, pollMs: 60_000 });
    open.push(source);
    // Read while nobody watches (the page's /api/view): the others answer but do not start recording.
    await source.refresh();
    expect(source.view().nodes[1]).toMatchObject({ id: 2, up: true });
    expect(ra.armed || rb.armed).toBe(false);
    const events: SourceEvent[] = [];
    const stop = source.watch({ event: (e) => events.push(e), changed: () => undefined });
    await source.refresh();
    expect([ra.armed, rb.armed]).toEqual([true, true]);

    nowMs += 5;
    ra.onSend(env(1, 2, heartbeat));
    ra.onSend(env(1, 2, heartbeat));
    ra.onSend(env(1, 3, heartbeat));
    nowMs += 1;
    rb.deliver(env(1, 2, heartbeat), () => undefined);
    nowMs += 1;
    await source.refresh();
    const messages = events.filter((e): e is Extract<SourceEvent, { kind: 'message' }> => e.kind === 'message');
    expect(messages.map((m) => [m.from, m.to, m.type, m.phase, m.sentAtMs])).toEqual([
      [1, 3, 'Heartbeat', 'receiver-down', 5],
      [1, 2, 'Heartbeat', 'delivered', 5],
    ]);
    expect(messages[1]).toMatchObject({ atMs: 6, fromActor: 'n1.election#1', toActor: 'n2.election#1' });
    // The second heartbeat has left and not arrived: it is in flight.
    const view = source.view();
    expect(view.inFlight.map((m) => [m.from, m.to, m.type])).toEqual([[1, 2, 'Heartbeat']]);
    expect(view.nodes.map((n) => [n.id, n.up, n.role])).toEqual([
      [1, true, 'follower'],
      [2, true, 'follower'],
      [3, false, 'unknown'],
      [4, false, 'unknown'],
    ]);
    expect(view.nodes[2]!.note).toMatch(/no answer from c:3: connect ECONNREFUSED/);
    expect(view.nodes[3]!.note).toMatch(/add statekeeper\.admin\.4=host:port/);
    expect(view.controls).toEqual([]);
    expect(source.control({ type: 'crash', node: 2 }).ok).toBe(false);

    stop();
    expect(ra.armed).toBe(false);
  });

  it('a node that accepts the connection and never answers is down after the timeout, not waited for', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    open.push({ close: () => (silent.closeAllConnections(), silent.close()) });
    const recorder = new LiveRecorder(fakeNode(1).access);
    open.push(recorder);
    const port = (silent.address() as AddressInfo).port;
    const source = new LiveSource({ recorder, members: [1, 2], peers: new Map([[2, { host: '127.0.0.1', port }]]), peerTimeoutMs: 100, pollMs: 60_000 });
    open.push(source);
    const started = performance.now();
    await source.refresh();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(source.view().nodes[1]).toMatchObject({ id: 2, up: false });
    expect(source.view().nodes[1]!.note).toMatch(/timed out after 100 ms/);
  });
});
