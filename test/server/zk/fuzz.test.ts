/**
 * Hostile bytes on the client port (fast-check): garbage before the handshake, refused lengths,
 * and mutated request frames after a valid handshake. None may crash the server, hit an internal
 * error, or disturb a healthy node-zookeeper-client session that reads and writes beside them.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeConnectRequest, encodeRequest } from '../../../src/server/jute/index.js';
import type { ZkRequest as WireRequest } from '../../../src/server/jute/index.js';
import { AddWatchMode, CreateMode, OPEN_ACL_UNSAFE } from '../../../src/protocol/zookeeper.js';
import { openSocket, readUntilClosed, startCluster } from './harness.js';
import type { Cluster } from './harness.js';
import { call, call2, connectClient, nzk, ok } from './nzk.js';
import type { NzkClient, NzkStat } from './nzk.js';

let cluster: Cluster;
let healthy: NzkClient;
const HEALTHY_PATH = '/guard/healthy';


beforeAll(async () => {
  cluster = await startCluster({ tickMs: 100 });
  healthy = await connectClient(cluster.connectionString([0]), { sessionTimeout: 4000 });
  // Under a parent only the healthy client may change, so no fuzzed delete can remove its node.
  healthy.addAuthInfo('digest', Buffer.from('healthy:not-guessable'));
  await ok(call<string>((cb) => healthy.create('/guard', null, nzk.ACL.CREATOR_ALL_ACL, nzk.CreateMode.PERSISTENT, cb)));
  await ok(call<string>((cb) => healthy.create(HEALTHY_PATH, Buffer.from('start'), nzk.ACL.CREATOR_ALL_ACL, nzk.CreateMode.PERSISTENT, cb)));
});

afterAll(async () => {
  healthy.close();
  await cluster.stop();
});

const port = (): number => cluster.servers[0]!.port;

/** Opens a connection, sends the chunks, half-closes, and resolves once the server has closed it too. */
async function hit(chunks: readonly Buffer[]): Promise<void> {
  const socket = await openSocket(port());
  const closed = readUntilClosed(socket);
  for (const chunk of chunks) socket.write(chunk);
  socket.end();
  await closed;
}

let lastWritten = 'start';

/**
 * One round of the healthy client: a write every fourth round (writes cost a consensus round each),
 * a read every round, which must return the last value written. Returns what went wrong, if anything.
 */
async function healthyRound(path: string, round: number): Promise<string | null> {
  if (round % 4 === 0) {
    const value = `v${round}`;
    const set = await call<NzkStat>((cb) => healthy.setData(path, Buffer.from(value), -1, cb));
    if (set.error !== null) return `setData failed: ${set.error.getName()}`;
    lastWritten = value;
  }
  const got = await call2<Buffer | null, NzkStat>((cb) => healthy.getData(path, undefined, cb));
  if (got.error !== null) return `getData failed: ${got.error.getName()}`;
  if (got.value[0]?.toString() !== lastWritten) return `read ${got.value[0]?.toString()} after writing ${lastWritten}`;
  return null;
}

const handshake = encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeoutMs: 2000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });

/** Valid requests of every kind, as payloads (without their length prefix), to mutate. */
const TEMPLATES: readonly Buffer[] = (
  [
    { op: 'create', path: '/f', data: Buffer.from('data'), acl: OPEN_ACL_UNSAFE, flags: CreateMode.PERSISTENT },
    { op: 'create2', path: '/f/s-', data: null, acl: OPEN_ACL_UNSAFE, flags: CreateMode.EPHEMERAL_SEQUENTIAL },
    { op: 'createTTL', path: '/f/t', data: null, acl: OPEN_ACL_UNSAFE, flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 1000n },
    { op: 'createContainer', path: '/fc', data: null, acl: OPEN_ACL_UNSAFE, flags: CreateMode.CONTAINER },
    { op: 'delete', path: '/f', version: -1 },
    { op: 'exists', path: '/f', watch: true },
    { op: 'getData', path: '/f', watch: true },
    { op: 'setData', path: '/f', data: Buffer.from('x'), version: -1 },
    { op: 'getACL', path: '/f' },
    { op: 'setACL', path: '/f', acl: OPEN_ACL_UNSAFE, version: -1 },
    { op: 'getChildren2', path: '/', watch: true },
    { op: 'getAllChildrenNumber', path: '/' },
    { op: 'getEphemerals', prefixPath: '/' },
    { op: 'sync', path: '/' },
    { op: 'multi', ops: [{ op: 'create', path: '/fm', data: null, acl: OPEN_ACL_UNSAFE, flags: 0 }, { op: 'check', path: '/fm', version: 0 }, { op: 'delete', path: '/fm', version: -1 }] },
    { op: 'multiRead', ops: [{ op: 'getData', path: '/f', watch: false }, { op: 'getChildren', path: '/', watch: false }] },
    { op: 'addWatch', path: '/f', mode: AddWatchMode.PERSISTENT_RECURSIVE },
    { op: 'removeWatches', path: '/f', type: 3 },
    { op: 'checkWatches', path: '/f', type: 3 },
    { op: 'setWatches2', relativeZxid: 0n, dataWatches: ['/f'], existWatches: ['/g'], childWatches: ['/'], persistentWatches: [], persistentRecursiveWatches: ['/f'] },
    { op: 'auth', type: 0, scheme: 'digest', auth: Buffer.from('fuzz:pw') },
    { op: 'sasl', token: Buffer.from('token') },
    { op: 'whoAmI' },
    { op: 'ping' },
    { op: 'reconfig', joiningServers: null, leavingServers: null, newMembers: null, curConfigId: -1n },
    { op: 'closeSession' },
  ] satisfies WireRequest[]
).map((request, i) => encodeRequest(i + 1, request).subarray(4));

const mutatedFrame = fc
  .record({
    template: fc.nat({ max: TEMPLATES.length - 1 }),
    edits: fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    tail: fc.uint8Array({ maxLength: 12 }),
    /** Keep the template's own length prefix even when the payload changed size (framing drifts). */
    stalePrefix: fc.boolean(),
  })
  .map(({ template, edits, cut, tail, stalePrefix }) => {
    const original = TEMPLATES[template]!;
    let payload = Buffer.from(original);
    for (const { at, byte } of edits) payload[at % payload.length] = byte;
    if (cut !== undefined) payload = payload.subarray(0, cut % (payload.length + 1));
    payload = Buffer.concat([payload, Buffer.from(tail)]);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(stalePrefix ? original.length : payload.length, 0);
    return Buffer.concat([prefix, payload]);
  });

/** Splits bytes at arbitrary points, so frames straddle socket writes. */
function chunked(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) chunks.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  if (from < bytes.length) chunks.push(bytes.subarray(from));
  return chunks;
}

describe('fuzzing the client port beside a healthy session', () => {
  it('no input crashes the server, raises an internal error, or disturbs the healthy client', async () => {
    const disconnects: string[] = [];
    healthy.on('state', (state) => {
      if (state !== nzk.State.SYNC_CONNECTED) disconnects.push(state.getName());
    });
    let rounds = 0;
    const internalErrors = (): number => cluster.logger.lines.filter((l) => l.level === 'error').length;
    /**
     * A hostile connection with a healthy round running beside it, both at once. Throws (so
     * fast-check shrinks the input) if the healthy round went wrong or the server hit an internal error.
     */
    const beside = async (chunks: readonly Buffer[]): Promise<void> => {
      const [, problem] = await Promise.all([hit(chunks), healthyRound(HEALTHY_PATH, rounds++)]);
      if (problem !== null) throw new Error(`healthy client disturbed: ${problem}`);
      if (internalErrors() > 0) throw new Error(`internal error: ${JSON.stringify(cluster.logger.lines.find((l) => l.level === 'error'))}`);
    };

    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 120 }), fc.array(fc.nat(), { maxLength: 3 }), async (garbage, cuts) => {
        await beside(chunked(Buffer.from(garbage), cuts));
      }),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: 0x100000, max: 0x7fffffff }), fc.integer({ min: -0x80000000, max: -1 })),
        fc.uint8Array({ maxLength: 32 }),
        fc.boolean(),
        async (length, tail, afterHandshake) => {
          const prefix = Buffer.alloc(4);
          prefix.writeInt32BE(length, 0);
          await beside([...(afterHandshake ? [handshake] : []), prefix, Buffer.from(tail)]);
        },
      ),
      { numRuns: 20 },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutatedFrame, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 4 }), async (frames, cuts) => {
        await beside(chunked(Buffer.concat([handshake, ...frames]), cuts));
      }),
      { numRuns: 80 },
    );

    expect(disconnects).toEqual([]);
    expect(rounds).toBe(140);
    expect(cluster.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
    // Refused lengths were logged as such, and the server still answers new clients.
    expect(cluster.logger.lines.some((l) => l.message === 'closing connection: frame length refused (Len error)')).toBe(true);
    const fresh = await connectClient(cluster.connectionString([0]), { sessionTimeout: 2000 });
    expect(await healthyRound(HEALTHY_PATH, 0)).toBeNull();
    expect(await ok(call<NzkStat | null>((cb) => fresh.exists('/', undefined, cb)))).not.toBeNull();
    fresh.close();
  });
});
