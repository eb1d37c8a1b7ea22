/**
 * A 3-voter ensemble plus one observer, as real child processes over TCP on loopback, under a
 * steady write load from ZooKeeper clients (node-zookeeper-client) on every client port. The steps build on each other (one ensemble for the whole file keeps
 * it within budget on a two-core machine), and the last ones check, offline, that every write ever
 * acknowledged is in every node's tree. Snapshots are frequent (snapCount 40) and little log is kept
 * behind them, so logs are compacted and a node that lost its disk catches up by snapshot transfer.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusCommand } from '../../src/server/ensemble/cli.js';
import { STATE_SUBDIRECTORY } from '../../src/server/ensemble/node-process.js';
import { EXIT_CODE, REJOIN_MARKER_FILE } from '../../src/server/ensemble/node-process.js';
import { PeerClient, createTxn } from '../../src/server/ensemble/peer-client.js';
import { PeerClientError } from '../../src/server/ensemble/peer-client.js';
import { SPARE_CLIENT_ID, TestEnsemble, WriteLoad, replayDataDir, waitFor } from './harness.js';
import { ZkConn } from './zk-client.js';

/** Send a four-letter word to a client port and collect the answer (the server closes after it). */
function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(word));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

/**
 * ZooKeeper's sample tickTime: heartbeats every 75 ms, elections after 300–600 ms of silence. A
 * shorter tick lets elections flap when the two cores are starved (the assertions about one
 * leader then race with re-elections).
 */
const ENSEMBLE_TICK_MS = 2000;

/** Acknowledged writes each step waits for, so every step runs under real load. */
const WRITES_PER_STEP = 20;

let ensemble: TestEnsemble;
let load: WriteLoad;
/** The node whose data directory the rejoin step removed. */
let lostId = 0;

function segments(dataDir: string, log: 'acceptor' | 'learned'): string[] {
  const dir = join(dataDir, STATE_SUBDIRECTORY, log);
  return readdirSync(dir).filter((n) => n.startsWith('log.')).sort().map((n) => join(dir, n));
}

/** The observer's id (after the three voters). */
const OBSERVER = 4;

/** A voter other than `except` (lowest id first). */
function voterOtherThan(...except: number[]): number {
  const id = ensemble.voterIds.find((v) => !except.includes(v));
  if (id === undefined) throw new Error(`no voter outside ${except.join(', ')}`);
  return id;
}

describe('3 voters and an observer, as processes, under load', () => {
  beforeAll(async () => {
    ensemble = await TestEnsemble.create(3, { observers: 1, tickTimeMs: ENSEMBLE_TICK_MS, extraConfig: ['snapCount=40', 'statekeeper.snapshotRetainSlots=4'] });
    ensemble.startAll();
    await ensemble.waitForLeader();
    load = new WriteLoad(ensemble.connectString);
    await load.start();
  });

  afterAll(async () => {
    await load?.stop();
    // SK_KEEP_ENSEMBLE=1 leaves the data directories in the OS temp dir for a post-mortem.
    if (process.env.SK_KEEP_ENSEMBLE === '1') {
      await ensemble?.stopAll();
      return;
    }
    await ensemble?.dispose();
  });

  it('elects one leader, commits the load and keeps every replica identical', async () => {
    await load.waitForMore(WRITES_PER_STEP, 'at steady state');
    const statuses = await ensemble.statuses();
    expect(statuses.filter((s) => s.role === 'leader')).toHaveLength(1);
    expect(statuses.every((s) => s.peers.filter((p) => p.kind === 'participant').every((p) => p.connected))).toBe(true);
    const leader = statuses.find((s) => s.role === 'leader')!;
    expect(ensemble.events(leader.id, 'role').some((e) => e.msg === `n${leader.id} became leader at epoch ${leader.epoch}`)).toBe(true);
    const metrics = await fetch(`http://127.0.0.1:${ensemble.server(leader.id).adminPort}/metrics`).then((r) => r.text());
    const roles = [...metrics.matchAll(/^statekeeper_role\{role="(\w+)"\} (\d)$/gm)];
    expect(roles.map((m) => m[1]).sort()).toEqual(['candidate', 'follower', 'leader', 'observer', 'recovering']);
    expect(roles.filter((m) => m[2] === '1')).toHaveLength(1);
    expect(metrics).toMatch(/^statekeeper_commit_slot [1-9]/m);
    expect(metrics).toMatch(/statekeeper_fsync_seconds_count [1-9]/);
    const health = await fetch(`http://127.0.0.1:${ensemble.server(leader.id).adminPort}/health`);
    expect(health.status).toBe(200);
    const lines: string[] = [];
    expect(await statusCommand({ server: `127.0.0.1:${ensemble.server(leader.id).adminPort}`, out: (l) => lines.push(l) })).toBe(0);
    expect(lines.find((l) => l.startsWith('role:'))).toMatch(/^role:\s+(leader|follower|candidate)/);
    expect(lines.find((l) => l.startsWith('peers:'))).toContain('n4(observer)');
  });

  it('the observer learns every commit, serves ZooKeeper clients and never votes', async () => {
    const status = await ensemble.status(OBSERVER);
    expect(status.role).toBe('observer');
    expect(status.voters).toEqual([1, 2, 3]);
    expect(status.members).toEqual([1, 2, 3, 4]);
    const leader = await ensemble.waitForLeader();
    expect(status.leader).toBe(leader);
    // A client that knows only the observer writes (forwarded to the leader) and reads back.
    const conn = new ZkConn(`127.0.0.1:${ensemble.specs[OBSERVER - 1]!.clientPort!}`);
    await conn.connect();
    await conn.create('/via-observer', Buffer.from('hello'));
    expect((await conn.get('/via-observer')).toString()).toBe('hello');
    await conn.close();
    await ensemble.waitForCatchUp(OBSERVER, leader);
    const roles = ensemble.events(OBSERVER, 'role').map((e) => e.role);
    expect(roles.every((r) => r === 'observer')).toBe(true);
    const srvr = await fourLetterWord(ensemble.specs[OBSERVER - 1]!.clientPort!, 'srvr');
    expect(srvr).toContain('Mode: observer');
  });

  it('kill -9 of the leader: a new leader serves and the killed node restarts and catches up', async () => {
    const old = await ensemble.waitForLeader();
    await ensemble.kill(old);
    await load.waitForMore(WRITES_PER_STEP, 'after the leader was killed');
    const next = await ensemble.waitForLeader();
    expect(next).not.toBe(old);
    ensemble.start(old);
    await ensemble.waitForCatchUp(old, next);
    await load.waitForMore(WRITES_PER_STEP, 'with the old leader back');
  });

  it('kill -9 of a follower: the ensemble keeps serving and the follower catches up', async () => {
    const leader = await ensemble.waitForLeader();
    const follower = voterOtherThan(leader);
    await ensemble.kill(follower);
    await load.waitForMore(WRITES_PER_STEP, 'with a follower down');
    ensemble.start(follower);
    await ensemble.waitForCatchUp(follower, leader);
  });

  it('refuses a peer with the wrong secret and a peer sending garbage while it keeps serving', async () => {
    const leader = await ensemble.waitForLeader();
    const before = (await ensemble.status(leader)).refusedPeerConnections;
    // Control: a peer client holding the secret commits (it opens a session through the log).
    const trusted = await ensemble.peerClient();
    const sessionId = await trusted.openSession();
    trusted.close();
    expect(sessionId).toBeGreaterThan(0n);
    // The wrong secret: the handshake fails, so the command never reaches anyone.
    const intruder = await PeerClient.start({ id: SPARE_CLIENT_ID, secret: 'not-the-secret', servers: new Map([[leader, { host: '127.0.0.1', port: ensemble.server(leader).quorumPort }]]), retryMs: 100 });
    const refused = await intruder.submitTxn(createTxn(sessionId, '/intruder', new Uint8Array()), { timeoutMs: 1500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    intruder.close();
    expect(refused).toBeInstanceOf(PeerClientError);
    // Garbage on the quorum port: the server closes the socket.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(ensemble.server(leader).quorumPort, '127.0.0.1', () => socket.write(randomBytes(4096)));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
      setTimeout(() => reject(new Error('the server kept a garbage connection open')), 10_000).unref();
    });
    await waitFor('both refusals counted', async () => ((await ensemble.status(leader)).refusedPeerConnections >= before + 2 ? true : undefined));
    await load.waitForMore(WRITES_PER_STEP, 'after the refused peers');
    const statuses = await ensemble.statuses();
    expect(statuses.every((s) => s.serving)).toBe(true);
  });

  it('a voter that lost its data directory rejoins with --rejoin and catches up by snapshot', async () => {
    const leader = await ensemble.waitForLeader();
    // The others have compacted their logs past slot 1: only a snapshot can bring a new disk up to date.
    await waitFor('a compacted log on every other voter', () =>
      ensemble.voterIds.every((id) => ensemble.events(id, 'snapshot-restored').length > 0 || readdirSync(join(ensemble.server(id).dataDir, STATE_SUBDIRECTORY, 'snapshots')).length > 0) ? true : undefined,
    );
    const lost = ensemble.server(voterOtherThan(leader));
    await ensemble.kill(lost.id);
    rmSync(lost.dataDir, { recursive: true, force: true });
    ensemble.start(lost.id, { rejoin: true });
    lostId = lost.id;
    await waitFor(`n${lost.id} to recover`, () => (ensemble.events(lost.id, 'recovered').length > 0 ? true : undefined));
    await ensemble.waitForCatchUp(lost.id, leader);
    expect((await ensemble.status(lost.id)).role).not.toBe('recovering');
    expect(ensemble.events(lost.id, 'snapshot-restored').length).toBeGreaterThan(0);
    // The rejoin is over once the recovered state is durable: the marker that says so is gone.
    const marker = join(lost.dataDir, STATE_SUBDIRECTORY, REJOIN_MARKER_FILE);
    await waitFor('the rejoin marker to go', () => (existsSync(marker) ? undefined : true));
    await load.waitForMore(WRITES_PER_STEP, 'after the rejoin');
  });

  it('a voter that crashed while rejoining rejoins again on restart, even without --rejoin', async () => {
    const leader = await ensemble.waitForLeader();
    const lost = ensemble.server(lostId);
    await ensemble.kill(lost.id);
    // What a kill -9 right after `start --rejoin` leaves: an empty disk and the rejoin marker.
    rmSync(lost.dataDir, { recursive: true, force: true });
    mkdirSync(join(lost.dataDir, STATE_SUBDIRECTORY), { recursive: true });
    writeFileSync(join(lost.dataDir, STATE_SUBDIRECTORY, REJOIN_MARKER_FILE), 'rejoin started\n');
    ensemble.start(lost.id);
    await waitFor(`n${lost.id} to recover again`, () => (ensemble.events(lost.id, 'recovered').length > 0 ? true : undefined));
    expect(ensemble.events(lost.id, 'rejoin-unfinished').length).toBeGreaterThan(0);
    await ensemble.waitForCatchUp(lost.id, leader);
  });

  it('repairs torn tails left by a crash and catches up', async () => {
    const leader = await ensemble.waitForLeader();
    const victim = ensemble.server(voterOtherThan(leader, lostId));
    await ensemble.kill(victim.id);
    // A write cut short: a record header promising more bytes than follow it.
    const torn = Buffer.alloc(24);
    torn.writeUInt32LE(4096, 0);
    for (const log of ['acceptor', 'learned'] as const) appendFileSync(segments(victim.dataDir, log).at(-1)!, torn);
    const linesBefore = victim.stdout.length;
    ensemble.start(victim.id);
    await waitFor(`n${victim.id} to serve again`, async () => ((await ensemble.status(victim.id)).serving ? true : undefined));
    const repairs = victim.stdout.slice(linesBefore).filter((l) => /torn/i.test(l));
    expect(repairs.length).toBeGreaterThanOrEqual(2);
    await ensemble.waitForCatchUp(victim.id, leader);
  });

  it('the whole ensemble killed at once restarts and converges', async () => {
    await load.waitForMore(WRITES_PER_STEP, 'before the whole ensemble is killed');
    await Promise.all(ensemble.servers.map((s) => ensemble.kill(s.id)));
    const ackedAtKill = load.acked.length;
    ensemble.startAll();
    await ensemble.waitForLeader();
    await load.waitForMore(WRITES_PER_STEP, 'after the whole ensemble restarted');
    expect(load.acked.length).toBeGreaterThan(ackedAtKill);
  });

  it('every acknowledged write is in every node\u2019s tree, and the trees are identical', async () => {
    await load.stop();
    const converged = await ensemble.waitForConvergence();
    expect(new Set(converged.map((s) => s.digest)).size).toBe(1);
    await ensemble.stopAll();
    expect(load.acked.length).toBeGreaterThan(7 * WRITES_PER_STEP);
    const members = ensemble.servers.map((s) => s.id);
    for (const s of ensemble.servers) {
      const service = await replayDataDir(s.dataDir, s.id, ensemble.voterIds, members);
      const missing = load.acked.filter((path) => service.tree.exists(path) === null);
      expect({ node: s.id, missing }).toEqual({ node: s.id, missing: [] });
      expect(service.tree.exists('/intruder')).toBeNull();
      expect(service.tree.exists('/via-observer')).not.toBeNull();
      // The disk holds exactly what the server had applied when it stopped (a session expiry may
      // still have landed after the convergence check, so that is the reference, not `converged`).
      const stopped = ensemble.events(s.id, 'stopped').at(-1);
      expect(stopped?.digest).toBeDefined();
      expect(service.tree.digest()).toBe(stopped!.digest);
    }
  });

  it('a flipped byte in the middle of a log stops the node with the file and offset, exit code 2', async () => {
    // A node that kept its disk all along has a journal of many small records.
    const victim = ensemble.server(voterOtherThan(lostId));
    const file = segments(victim.dataDir, 'acceptor')[0]!;
    const bytes = readFileSync(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x5a;
    writeFileSync(file, bytes);
    ensemble.start(victim.id);
    const exit = await victim.exit!;
    expect(exit.code).toBe(EXIT_CODE.startup);
    const line = victim.stderr.find((l) => l.includes('corrupt log segment'));
    expect(line).toBeDefined();
    expect(line).toContain(file);
    const offset = Number(/at byte offset (\d+)/.exec(line!)?.[1]);
    // The offset is where the damaged record starts: at or before the flipped byte.
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThanOrEqual(middle);
  });
});
