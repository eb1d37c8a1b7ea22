/** LeaderLatch and LeaderElection against a 3-node ensemble. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnsemble, ZooKeeperClient } from '../../src/client/index.js';
import { LeaderElection, LeaderLatch, RecipeTimeoutError } from '../../src/client/recipes/index.js';
import { connect, expireByPartition, followerId, range, reachState, sessionEnded, startEnsemble, within } from './helpers.js';

let ensemble: EmbeddedEnsemble;

beforeAll(async () => {
  ensemble = await startEnsemble();
});
afterAll(async () => {
  await ensemble.stop();
});

/** Clients on each server in turn, and a zxid written after all their sessions were created. */
async function participants(n: number): Promise<{ clients: ZooKeeperClient[]; afterSessions: bigint }> {
  const clients = await Promise.all(range(n).map((i) => connect(ensemble, { server: 1 + (i % 3) })));
  const afterSessions = (await clients[0]!.create2('/after-sessions-', '', { mode: 'ephemeralSequential' })).stat.czxid;
  return { clients, afterSessions };
}

/** Resolve with the index of the first latch that leads. */
const nextLeader = (latches: LeaderLatch[]): Promise<number> =>
  within(Promise.any(latches.map((latch, i) => latch.awaitLeadership().then(() => i))), 'a leader');

describe('LeaderLatch', () => {
  it('has exactly one leader at a time, and a new one after the leader closes its client or the latch', async () => {
    const { clients, afterSessions } = await participants(3);
    const violations: string[] = [];
    const latches: LeaderLatch[] = clients.map(
      (client, i) =>
        new LeaderLatch(client, '/latch', {
          id: `p${i}`,
          // Whenever one gains leadership, any other that still believes it leads must be a
          // holder whose session has already ended (valid until its session ends).
          onLeadershipChange: (leading) => {
            if (!leading) return;
            for (const other of latches) {
              if (other !== latches[i] && other.hasLeadership && !sessionEnded(ensemble, other.client.sessionId, afterSessions)) {
                violations.push(`p${i} and ${other.id} lead at once`);
              }
            }
          },
        }),
    );
    await Promise.all(latches.map((latch) => latch.start()));
    const first = await nextLeader(latches);
    expect(latches.filter((l) => l.hasLeadership)).toEqual([latches[first]]);
    expect(await latches[(first + 1) % 3]!.leaderId()).toBe(`p${first}`);

    await clients[first]!.close();
    expect(latches[first]!.hasLeadership).toBe(false);
    expect(latches[first]!.state).toBe('closed');
    const rest = latches.filter((_, i) => i !== first);
    const second = rest[await nextLeader(rest)]!;
    expect(latches.filter((l) => l.hasLeadership)).toEqual([second]);

    await second.close();
    expect(second.hasLeadership).toBe(false);
    const third = rest.find((l) => l !== second)!;
    await within(third.awaitLeadership(), 'third leader');
    expect(await third.leaderId()).toBe(third.id);
    expect(violations).toEqual([]);
    await third.close();
    await expect(third.awaitLeadership()).rejects.toThrow(/closed/);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('a leader whose session expires loses leadership; the next participant leads', async () => {
    const { clients } = await participants(1);
    const onLeader = await connect(ensemble, { sessionTimeoutMs: 400, server: ensemble.leader()!.id });
    const first = new LeaderLatch(onLeader, '/latch-expiry');
    await first.start();
    await first.awaitLeadership({ timeoutMs: 5_000 });
    const second = new LeaderLatch(clients[0]!, '/latch-expiry');
    await second.start();
    await expireByPartition(ensemble, onLeader);
    await second.awaitLeadership({ timeoutMs: 5_000 });
    expect(first.hasLeadership).toBe(false);
    await reachState(onLeader, 'expired');
    await second.close();
  });

  it('awaitLeadership times out while another leads', async () => {
    const { clients } = await participants(2);
    const leader = new LeaderLatch(clients[0]!, '/latch-timeout');
    await leader.start();
    await leader.awaitLeadership({ timeoutMs: 5_000 });
    const follower = new LeaderLatch(clients[1]!, '/latch-timeout');
    await follower.start();
    await expect(follower.awaitLeadership({ timeoutMs: 100 })).rejects.toBeInstanceOf(RecipeTimeoutError);
    await leader.close();
    await follower.awaitLeadership({ timeoutMs: 5_000 });
    await follower.close();
  });

  it('drops leadership while disconnected and takes it back on reconnection (same node)', async () => {
    const own = await startEnsemble();
    try {
      const client = await connect(own, { server: followerId(own) });
      const changes: boolean[] = [];
      const latch = new LeaderLatch(client, '/latch-move', { onLeadershipChange: (leading) => changes.push(leading) });
      await latch.start();
      await latch.awaitLeadership({ timeoutMs: 5_000 });
      own.crash(client.serverId!);
      expect(latch.hasLeadership).toBe(false); // at once: the session might be expiring unseen
      await reachState(client, 'connected');
      await latch.awaitLeadership({ timeoutMs: 5_000 });
      expect(changes).toEqual([true, false, true]);
      expect(await client.getChildren('/latch-move')).toHaveLength(1);
      await latch.close();
    } finally {
      await own.stop();
    }
  });
});

describe('LeaderElection', () => {
  it('runs the task on one participant at a time; each leads once, with increasing fencing tokens', async () => {
    const { clients } = await participants(4);
    let active = 0;
    let maxActive = 0;
    const terms: { who: number; token: bigint }[] = [];
    let allLed = (): void => undefined;
    const done = new Promise<void>((resolve) => (allLed = resolve));
    const elections = clients.map(
      (client, who) =>
        new LeaderElection(client, '/election', async (_signal, token) => {
          maxActive = Math.max(maxActive, ++active);
          terms.push({ who, token });
          await client.getData('/election'); // a round trip while leading
          active--;
          if (terms.length === clients.length) allLed();
        }),
    );
    for (const e of elections) e.start();
    await within(done, 'every participant leads');
    expect(maxActive).toBe(1);
    expect(new Set(terms.map((t) => t.who)).size).toBe(clients.length);
    for (let i = 1; i < terms.length; i++) expect(terms[i]!.token > terms[i - 1]!.token).toBe(true);
    await Promise.all(elections.map((e) => e.close()));
    expect(await clients[0]!.getChildren('/election')).toEqual([]);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('aborts the term on relinquish, on losing the session and on close; autoRequeue contends again', async () => {
    const { clients } = await participants(2);
    const events: string[] = [];
    let wake = (): void => undefined;
    const next = (): Promise<void> => new Promise<void>((resolve) => (wake = resolve));
    const task = (name: string) => async (signal: AbortSignal) => {
      events.push(`${name} leads`);
      wake();
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      events.push(`${name} stops: ${(signal.reason as Error).message}`);
    };
    const a = new LeaderElection(clients[0]!, '/election-abort', task('a'), { autoRequeue: true });
    const b = new LeaderElection(clients[1]!, '/election-abort', task('b'), { autoRequeue: true });
    let led = next();
    a.start();
    await within(led, 'a leads');
    led = next();
    b.start();
    expect(a.hasLeadership).toBe(true);
    a.relinquish();
    await within(led, 'b leads');
    led = next();
    await clients[1]!.close();
    await within(led, 'a leads again');
    await a.close();
    expect(a.hasLeadership).toBe(false);
    expect(events.slice(0, 3)).toEqual(['a leads', 'a stops: leadership relinquished', 'b leads']);
    // b's node goes with its session, so a may lead again before b's client has seen its own end;
    // b stops on whichever it sees first: its session's state, or its lock node's deletion.
    expect(events.slice(3, 5).sort()).toEqual(['a leads', expect.stringMatching(/^b stops: (leadership in doubt: session closed|leadership lost)$/)]);
    expect(events.slice(5)).toEqual(['a stops: leader election closed']);
    await clients[0]!.close();
  });
});
