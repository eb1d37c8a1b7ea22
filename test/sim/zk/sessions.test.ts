/**
 * Session expiry: a client that stops pinging loses its session and its ephemeral nodes on every
 * server within the session timeout plus a margin, and not much sooner; a client that keeps pinging
 * keeps both. Faults before the heal exercise moves between servers and new sessions first.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CreateMode, OPEN_ACL_UNSAFE } from '../../../src/protocol/zookeeper.js';
import { checkSessionAlive, checkSessionGone } from '../../../src/sim/zk/checks.js';
import { SimZkClient } from '../../../src/sim/zk/client.js';
import { ZkSimCluster } from '../../../src/sim/zk/cluster.js';
import { calmZkScenario, describeZkScenario, zkScenarioArbitrary } from '../../../src/sim/zk/scenario.js';
import type { ZkScenario } from '../../../src/sim/zk/scenario.js';
import { ensureZnode } from '../../../src/sim/zk/workload.js';

const HEAL_AT_MS = 1500;
/** Leader tick granularity, touch forwarding and the closeSession commit all fit in this. */
const EXPIRY_MARGIN_MS = 400;
const RUN_LIMIT_MS = 60_000;
/** How long the victim's abandoned connection attempts get to complete before it stops pinging. */
const ATTEMPTS_LIMIT_MS = 5000;

/** Create `count` ephemerals (plain and sequential) under /eph for `client`; returns their paths. */
async function createEphemerals(client: SimZkClient, count: number): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 0; paths.length < count && i < 50; i++) {
    const sequential = i % 2 === 1;
    const outcome = await client.call({
      op: 'create',
      path: `/eph/c${client.id}-s${client.sessionId.toString(16)}-${i}`,
      data: new Uint8Array(),
      acl: OPEN_ACL_UNSAFE,
      mode: sequential ? CreateMode.EPHEMERAL_SEQUENTIAL : CreateMode.EPHEMERAL,
    });
    if (outcome.kind === 'ok' && outcome.response.err === 0) paths.push(outcome.response.path!);
    if (outcome.kind === 'expired') await client.connect();
  }
  return paths;
}

interface ExpiryCase {
  readonly scenario: ZkScenario;
  readonly timeoutMs: number;
  readonly victimServer: number;
}

async function expiry({ scenario, timeoutMs, victimServer }: ExpiryCase): Promise<string[]> {
  const cluster = new ZkSimCluster(scenario);
  const survivor = new SimZkClient(cluster, { id: 0, sessionTimeoutMs: timeoutMs, server: 1 });
  const victim = new SimZkClient(cluster, { id: 1, sessionTimeoutMs: timeoutMs, server: Math.min(victimServer, scenario.nodes) });
  const problems: string[] = [];
  const work = (async () => {
    await survivor.connect();
    await victim.connect();
    await ensureZnode(cluster, survivor, '/eph');
    cluster.startFaults();
    // Through the faults: both keep creating ephemerals (moving, expiring and renewing as they must).
    const churn = async (c: SimZkClient) => {
      while (cluster.healedAtMs === undefined) {
        await createEphemerals(c, 1);
        await cluster.sleep(50);
      }
    };
    await Promise.all([churn(survivor), churn(victim)]);
    await cluster.settle();
    for (const c of [survivor, victim]) if (c.state === 'expired') await c.connect();
    const survivorPaths = await createEphemerals(survivor, 2);
    const victimPaths = await createEphemerals(victim, 3);
    // A connection attempt the victim gave up on during the faults may still complete (the service
    // cannot cancel one), and that counts as activity of the session: let those finish first.
    for (let waitedMs = 0; victim.pendingAttempts > 0 && waitedMs < ATTEMPTS_LIMIT_MS; waitedMs += 50) await cluster.sleep(50);
    const victimSession = victim.sessionId;
    victim.freeze();
    const frozenAtMs = cluster.now();
    // Not too soon: the last ping was at most a third of the timeout ago.
    await cluster.sleep(timeoutMs / 2);
    const early = checkSessionAlive(cluster, victimSession, victimPaths);
    if (early !== null) problems.push(`expired before its timeout: ${early}`);
    await cluster.sleep(timeoutMs / 2 + EXPIRY_MARGIN_MS);
    const gone = checkSessionGone(cluster, victimSession, victimPaths);
    if (gone !== null) problems.push(`${Math.round(cluster.now() - frozenAtMs)} ms after the last ping: ${gone}`);
    const alive = survivor.state === 'connected' ? checkSessionAlive(cluster, survivor.sessionId, survivorPaths) : `survivor is ${survivor.state}`;
    if (alive !== null) problems.push(alive);
    victim.thaw();
    await cluster.sleep(timeoutMs);
    if (victim.state !== 'expired') problems.push(`the thawed victim is ${victim.state}, not expired`);
  })();
  const done = await cluster.runUntilDone(work, RUN_LIMIT_MS);
  if (done.timedOut) problems.push('run did not finish');
  if (problems.length > 0) problems.unshift(describeZkScenario(scenario), `timeout ${timeoutMs} ms, victim on n${victimServer}`, ...cluster.faultLog);
  return problems;
}

describe('session expiry', () => {
  it('a client that stops pinging loses its session and ephemerals everywhere; a pinging one keeps them', async () => {
    await fc.assert(
      fc.asyncProperty(
        zkScenarioArbitrary({ healAtMs: HEAL_AT_MS, maxFaults: 8 }),
        fc.constantFrom(400, 800, 1500),
        fc.integer({ min: 1, max: 5 }),
        async (scenario, timeoutMs, victimServer) => {
          const problems = await expiry({ scenario, timeoutMs, victimServer });
          expect(problems, problems.join('\n')).toEqual([]);
        },
      ),
      { numRuns: 6 },
    );
  });

  it('on a calm cluster too, with the victim on a follower and on the leader', async () => {
    for (const victimServer of [1, 2, 3]) {
      const problems = await expiry({ scenario: calmZkScenario(5, 3, HEAL_AT_MS), timeoutMs: 600, victimServer });
      expect(problems, problems.join('\n')).toEqual([]);
    }
  });
});
