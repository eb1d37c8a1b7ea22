/**
 * Differential test: one client's random requests on a fault-free replicated cluster get the same
 * answers, and the same watch events in the same places, as a single unreplicated DataTree applying
 * the same requests one by one (src/sim/zk/reference.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ZkRequest } from '../../../src/node/service.js';
import { AddWatchMode, CreateMode, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../../src/protocol/zookeeper.js';
import type { MultiOp } from '../../../src/tree/txn.js';
import { SimZkClient } from '../../../src/sim/zk/client.js';
import { ZkSimCluster } from '../../../src/sim/zk/cluster.js';
import { ReferenceServer, ZxidPairing, normalizeResponse } from '../../../src/sim/zk/reference.js';
import type { ReferenceEvent } from '../../../src/sim/zk/reference.js';
import { calmZkScenario, describeZkScenario } from '../../../src/sim/zk/scenario.js';

/** Virtual time a differential run may take (election included). */
const RUN_LIMIT_MS = 60_000;

const PATHS = ['/a', '/a/b', '/a/b/c', '/a/e', '/d', '/d/f'];
const path = fc.constantFrom(...PATHS);
const data = fc.constantFrom('', 'x', 'hello', 'zz');
const version = fc.constantFrom(-1, 0, 1, 2);
const bytes = (s: string) => new TextEncoder().encode(s);
// Containers and TTL nodes are left out: the leader reaps them on its own clock, which a
// single-threaded reference has no notion of.
const mode = fc.constantFrom(CreateMode.PERSISTENT, CreateMode.EPHEMERAL, CreateMode.PERSISTENT_SEQUENTIAL, CreateMode.EPHEMERAL_SEQUENTIAL);

const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(
  fc.record({ path, data, mode }).map(({ path, data, mode }): MultiOp => ({ type: 'create', path, data: bytes(data), acl: OPEN_ACL_UNSAFE, mode: mode as never })),
  fc.record({ path, version }).map(({ path, version }): MultiOp => ({ type: 'delete', path, version })),
  fc.record({ path, data, version }).map(({ path, data, version }): MultiOp => ({ type: 'setData', path, data: bytes(data), version })),
  fc.record({ path, version }).map(({ path, version }): MultiOp => ({ type: 'check', path, version })),
);

const request: fc.Arbitrary<ZkRequest> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ path, data, mode }).map(({ path, data, mode }): ZkRequest => ({ op: 'create', path, data: bytes(data), acl: OPEN_ACL_UNSAFE, mode })) },
  { weight: 2, arbitrary: fc.record({ path, version }).map(({ path, version }): ZkRequest => ({ op: 'delete', path, version })) },
  { weight: 3, arbitrary: fc.record({ path, data, version }).map(({ path, data, version }): ZkRequest => ({ op: 'setData', path, data: bytes(data), version })) },
  { weight: 1, arbitrary: fc.record({ path, version }).map(({ path, version }): ZkRequest => ({ op: 'check', path, version })) },
  { weight: 1, arbitrary: fc.record({ path, readOnly: fc.boolean() }).map(({ path, readOnly }): ZkRequest => ({ op: 'setACL', path, acl: readOnly ? READ_ACL_UNSAFE : OPEN_ACL_UNSAFE, version: -1 })) },
  { weight: 2, arbitrary: fc.array(multiOp, { minLength: 1, maxLength: 4 }).map((ops): ZkRequest => ({ op: 'multi', ops })) },
  { weight: 1, arbitrary: path.map((path): ZkRequest => ({ op: 'sync', path })) },
  { weight: 3, arbitrary: fc.record({ path, watch: fc.boolean(), linearizable: fc.boolean() }).map((r): ZkRequest => ({ op: 'getData', ...r })) },
  { weight: 2, arbitrary: fc.record({ path, watch: fc.boolean() }).map((r): ZkRequest => ({ op: 'exists', ...r })) },
  { weight: 2, arbitrary: fc.record({ path, watch: fc.boolean() }).map((r): ZkRequest => ({ op: 'getChildren', ...r })) },
  { weight: 1, arbitrary: path.map((path): ZkRequest => ({ op: 'getACL', path })) },
  { weight: 1, arbitrary: path.map((path): ZkRequest => ({ op: 'getAllChildrenNumber', path })) },
  { weight: 1, arbitrary: fc.constantFrom('/', '/a', '/d').map((prefix): ZkRequest => ({ op: 'getEphemerals', prefix })) },
  { weight: 1, arbitrary: fc.record({ path, recursive: fc.boolean() }).map(({ path, recursive }): ZkRequest => ({ op: 'addWatch', path, mode: recursive ? AddWatchMode.PERSISTENT_RECURSIVE : AddWatchMode.PERSISTENT })) },
);

const WRITES = new Set(['create', 'delete', 'setData', 'setACL', 'check', 'multi', 'sync']);

type Step = { kind: 'event'; event: ReferenceEvent } | { kind: 'response'; op: string; response: unknown };

/** Run the requests on both; returns the two step sequences (events and normalized responses, in order). */
async function runBoth(seed: number, nodes: number, server: number, requests: readonly ZkRequest[]): Promise<{ actual: Step[]; expected: Step[]; where: string }> {
  const cluster = new ZkSimCluster(calmZkScenario(seed, nodes));
  const client = new SimZkClient(cluster, { id: 0, server });
  const pairing = new ZxidPairing();
  const actual: Step[] = [];
  const expected: Step[] = [];
  client.onEvent((e) => actual.push({ kind: 'event', event: { type: e.type, path: e.path } }));
  const work = (async () => {
    if (!(await client.connect())) throw new Error('no session');
    const reference = new ReferenceServer(client.sessionId, client.sessionTimeoutMs, (event) => expected.push({ kind: 'event', event }));
    const created = cluster.server(client.serverId!)!.applied.find((a) => a.txn.type === 'createSession' && a.txn.sessionId === client.sessionId);
    if (created === undefined) throw new Error('session creation not applied on the attached server');
    pairing.pair(created.zxid, reference.lastZxid);
    for (const req of requests) {
      const outcome = await client.call(req);
      if (outcome.kind !== 'ok') throw new Error(`${req.op} ${outcome.kind} on a fault-free cluster`);
      const want = reference.answer(req);
      const writes = WRITES.has(req.op) || ('linearizable' in req && req.linearizable === true);
      if (writes) pairing.pair(outcome.response.zxid, want.zxid);
      actual.push({ kind: 'response', op: req.op, response: normalizeResponse(outcome.response, pairing.a) });
      expected.push({ kind: 'response', op: req.op, response: normalizeResponse(want, pairing.b) });
    }
  })();
  const done = await cluster.runUntilDone(work, RUN_LIMIT_MS);
  if (done.timedOut) throw new Error(`run did not finish: ${describeZkScenario(cluster.scenario)}`);
  return { actual, expected, where: `${describeZkScenario(cluster.scenario)} client on n${server}` };
}

describe('coordination service vs a single DataTree (fault-free cluster, one client)', () => {
  it('answers, stats, sequence names and watch events match the reference, in the same order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom(1, 3),
        fc.integer({ min: 1, max: 3 }),
        fc.array(request, { minLength: 1, maxLength: 40 }),
        async (seed, nodes, server, requests) => {
          const { actual, expected, where } = await runBoth(seed, nodes, Math.min(server, nodes), requests);
          expect(actual, where).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('the comparison can fail: a request the reference answers differently is caught', async () => {
    // Guard against a vacuous comparison: replace the reference's answer to one request by the
    // answer to another request and the sequences must differ.
    const requests: ZkRequest[] = [
      { op: 'create', path: '/a', data: bytes('x'), acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT_SEQUENTIAL },
      { op: 'getData', path: '/a0000000000', watch: true },
      { op: 'setData', path: '/a0000000000', data: bytes('y'), version: 0 },
    ];
    const { actual, expected } = await runBoth(7, 3, 2, requests);
    expect(actual).toEqual(expected);
    expect(actual.filter((s) => s.kind === 'event')).toHaveLength(1);
    const { actual: other } = await runBoth(7, 3, 2, [requests[0]!, requests[1]!, { ...requests[2]!, version: 1 } as ZkRequest]);
    expect(other).not.toEqual(expected);
  });
});
