/**
 * bench:failover — the leader-failover unavailability window of a 3-node statekeeper ensemble (one
 * process per server, TCP on loopback, fsync on, ZooKeeper's sample tickTime of 2000 ms), measured
 * exactly as /work/shared/bench/failover.mjs measures Apache ZooKeeper, and that anchor beside it.
 *
 *   npx tsx bench/failover.ts [--tries 5] [--clients 6] [--inflight 4] [--probe-ms 10] [--settle 4]
 *                             [--after 3] [--max-wait 30] [--tick-time 2000] [--no-anchor]
 *
 * Per try: C ZooKeeper connections (node-zookeeper-client, every server in each connect string,
 * spinDelay 100 ms) run C × K closed-loop setData of 100 B on 100 keys, plus one open-loop probe
 * write every --probe-ms. After --settle s the leader (from the admin /status) is killed with
 * SIGKILL, and:
 *   window_ms       kill -> completion of the first write ISSUED after the kill that succeeded
 *   all_clients_ms  kill -> every connection has completed such a write
 *   max_gap_ms      longest stretch without any successful completion, from 2 s before the kill
 * After --after s the load stops, the killed server restarts and catches up, and the next try
 * begins. Every wait is bounded.
 *
 * The anchor runs when `java` and Debian's zookeeper package (/usr/share/java/zookeeper.jar) are
 * present: the anchor folder is copied to a temp dir (`npm ci` there if it has no node_modules),
 * ZooKeeper 3.8 is started with its zk-cluster.sh on its own ports and data dir, and failover.mjs
 * runs with the same options. The output ends with the line
 * `failover: median M ms, max X ms, runs N`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestEnsemble } from '../test/ensemble/harness.js';
import { ZkConn, zkErrorName } from '../test/ensemble/zk-client.js';

const ANCHOR_SOURCE = '/work/shared/bench';
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
/** zk-cluster.sh ports are PORT_OFFSET + 2181.., 2888.., 3888..: candidates for a free offset. */
const ANCHOR_PORT_OFFSETS = [24000, 25000, 26000, 27000, 28000];
const KEYS = 100;
const VALUE_BYTES = 100;
/** Outstanding writes beyond which the probe skips a beat (as failover.mjs). */
const MAX_OUTSTANDING = 2000;
const FAILED_WRITE_PAUSE_MS = 5;

interface Options {
  tries: number;
  clients: number;
  inflight: number;
  probeMs: number;
  settle: number;
  after: number;
  maxWait: number;
  tickTime: number;
  anchor: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { tries: 5, clients: 6, inflight: 4, probeMs: 10, settle: 4, after: 3, maxWait: 30, tickTime: 2000, anchor: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--no-anchor') {
      o.anchor = false;
      continue;
    }
    const key = arg.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof Options;
    const value = Number(argv[++i]);
    if (!(key in o) || key === 'anchor' || !Number.isFinite(value) || value <= 0) throw new Error(`bad option ${arg} ${String(argv[i])}`);
    (o as unknown as Record<string, number>)[key] = value;
  }
  return o;
}

const nowMs = (): number => performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number | null => {
  const a = [...xs].sort((x, y) => x - y);
  if (a.length === 0) return null;
  return a.length % 2 === 1 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};
const round1 = (x: number): number => Math.round(x * 10) / 10;

interface TryRecord {
  readonly try: number;
  readonly killed_node: number;
  readonly new_leader: number | null;
  readonly window_ms: number | null;
  readonly all_clients_ms: number | null;
  readonly max_gap_ms: number;
  readonly writes_per_s_before_kill: number;
  readonly errors: Record<string, number>;
}

async function oneTry(ensemble: TestEnsemble, o: Options, t: number, value: Buffer): Promise<TryRecord> {
  const endpoints = ensemble.connectString.split(',');
  const conns = Array.from({ length: o.clients }, (_, i) => new ZkConn([...endpoints.slice(i % endpoints.length), ...endpoints.slice(0, i % endpoints.length)].join(','), { spinDelayMs: 100, sessionTimeoutMs: 30_000 }));
  await Promise.all(conns.map((c) => c.connect()));
  const succ: [number, number, number][] = [];
  const errors: Record<string, number> = {};
  let stop = false;
  let outstanding = 0;
  const write = async (ci: number): Promise<boolean> => {
    const s = nowMs();
    outstanding++;
    try {
      await conns[ci]!.set(`/fo/k${Math.floor(Math.random() * KEYS)}`, value);
      succ.push([s, nowMs(), ci]);
      return true;
    } catch (error) {
      const k = zkErrorName(error);
      errors[k] = (errors[k] ?? 0) + 1;
      return false;
    } finally {
      outstanding--;
    }
  };
  const loops: Promise<void>[] = [];
  for (let ci = 0; ci < o.clients; ci++) {
    for (let j = 0; j < o.inflight; j++) {
      loops.push(
        (async () => {
          while (!stop) if (!(await write(ci))) await sleep(FAILED_WRITE_PAUSE_MS);
        })(),
      );
    }
  }
  let rr = 0;
  const probe = setInterval(() => {
    if (!stop && outstanding < MAX_OUTSTANDING) void write(rr++ % o.clients);
  }, o.probeMs);

  await sleep(o.settle * 1000);
  const leader = await ensemble.waitForLeader();
  const before = succ.filter((x) => x[1] > nowMs() - 1000).length;
  const tKill = nowMs();
  ensemble.server(leader).child!.kill('SIGKILL');
  let window: number | null = null;
  let allClients: number | null = null;
  const seen = new Set<number>();
  let scanned = 0;
  while (nowMs() - tKill < o.maxWait * 1000) {
    for (; scanned < succ.length; scanned++) {
      const [s, e, ci] = succ[scanned]!;
      if (s > tKill) {
        if (window === null || e - tKill < window) window = e - tKill;
        if (!seen.has(ci)) {
          seen.add(ci);
          if (seen.size === o.clients) allClients = e - tKill;
        }
      }
    }
    if (allClients !== null) break;
    await sleep(5);
  }
  await sleep(o.after * 1000);
  stop = true;
  clearInterval(probe);
  await Promise.race([Promise.all(loops), sleep(5000)]);
  const ends = succ.map((x) => x[1]).filter((e) => e > tKill - 2000).sort((a, b) => a - b);
  let maxGap = 0;
  let prev = ends.length > 0 ? Math.min(ends[0]!, tKill) : tKill;
  for (const e of ends) {
    maxGap = Math.max(maxGap, e - prev);
    prev = e;
  }
  conns.forEach((c) => c.destroy());
  await ensemble.server(leader).exit;
  const newLeader = await ensemble.waitForLeader().catch(() => null);
  const record: TryRecord = {
    try: t,
    killed_node: leader,
    new_leader: newLeader,
    window_ms: window === null ? null : round1(window),
    all_clients_ms: allClients === null ? null : round1(allClients),
    max_gap_ms: round1(maxGap),
    writes_per_s_before_kill: before,
    errors,
  };
  process.stdout.write(`${JSON.stringify({ system: 'statekeeper', ...record })}\n`);
  // Bring the killed server back and let it catch up before the next try.
  ensemble.start(leader);
  if (newLeader !== null) await ensemble.waitForCatchUp(leader, newLeader);
  await ensemble.waitForLeader();
  return record;
}

async function runStatekeeper(o: Options): Promise<number[]> {
  const ensemble = await TestEnsemble.create(3, { tickTimeMs: o.tickTime });
  try {
    ensemble.startAll();
    await ensemble.waitForLeader();
    const value = randomBytes(VALUE_BYTES);
    const setup = new ZkConn(ensemble.connectString);
    await setup.connect();
    await setup.createIfAbsent('/fo', Buffer.alloc(0));
    for (let i = 0; i < KEYS; i++) await setup.createIfAbsent(`/fo/k${i}`, value);
    await setup.close();
    const windows: number[] = [];
    for (let t = 1; t <= o.tries; t++) {
      const r = await oneTry(ensemble, o, t, value);
      if (r.window_ms !== null) windows.push(r.window_ms);
    }
    return windows;
  } finally {
    await ensemble.dispose();
  }
}

async function portsFree(ports: readonly number[]): Promise<boolean> {
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

/** The anchor: ZooKeeper 3.8 with the shared scripts, or why it could not run. */
async function runAnchor(o: Options): Promise<{ median: number; max: number; runs: number } | string> {
  if (!existsSync(ZOOKEEPER_JAR)) return `no ${ZOOKEEPER_JAR} (apt-get install -y zookeeper)`;
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    return 'no java';
  }
  const dir = mkdtempSync(join(tmpdir(), 'sk-anchor-'));
  try {
    cpSync(ANCHOR_SOURCE, dir, { recursive: true });
    if (!existsSync(join(dir, 'node_modules'))) execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'ignore', timeout: 300_000 });
    let offset: number | undefined;
    for (const candidate of ANCHOR_PORT_OFFSETS) {
      const ports = [1, 2, 3].flatMap((i) => [candidate + 2180 + i, candidate + 2887 + i, candidate + 3887 + i]);
      if (await portsFree(ports)) {
        offset = candidate;
        break;
      }
    }
    if (offset === undefined) return 'no free port range for the ZooKeeper anchor';
    const env = { ...process.env, ANCHOR_DIR: join(dir, 'anchors'), PORT_OFFSET: String(offset) };
    const script = join(dir, 'zk-cluster.sh');
    execFileSync('bash', [script, 'start', '3'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 });
    try {
      const hardMs = o.tries * (o.settle + o.maxWait + o.after + 90) * 1000;
      const args = ['failover.mjs', '--system', 'zk', '--tries', String(o.tries), '--clients', String(o.clients), '--inflight', String(o.inflight), '--probe-ms', String(o.probeMs), '--settle', String(o.settle), '--after', String(o.after), '--max-wait', String(o.maxWait)];
      const out = execFileSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: hardMs });
      for (const line of out.split('\n')) if (line.startsWith('{') && !line.includes('"summary"')) process.stdout.write(`${line}\n`);
      const summary = out.split('\n').find((l) => l.includes('"summary":true'));
      if (summary === undefined) return 'failover.mjs printed no summary';
      const s = JSON.parse(summary) as { window_ms_median: number; window_ms_max: number; tries: number };
      return { median: s.window_ms_median, max: s.window_ms_max, runs: s.tries };
    } finally {
      execFileSync('bash', [script, 'stop'], { cwd: dir, env, stdio: 'ignore', timeout: 60_000 });
    }
  } catch (error) {
    return `anchor failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const hardS = 2 * o.tries * (o.settle + o.maxWait + o.after + 90) + 600;
  setTimeout(() => {
    process.stderr.write(`bench/failover.ts: hard timeout ${hardS} s\n`);
    process.exit(3);
  }, hardS * 1000).unref();
  const windows = await runStatekeeper(o);
  const anchor = o.anchor ? await runAnchor(o) : 'skipped (--no-anchor)';
  const m = median(windows);
  process.stdout.write(
    typeof anchor === 'string'
      ? `anchor ZooKeeper 3.8: ${anchor}\n`
      : `anchor ZooKeeper 3.8 failover: median ${Math.round(anchor.median)} ms, max ${Math.round(anchor.max)} ms, runs ${anchor.runs}\n`,
  );
  process.stdout.write(`failover: median ${m === null ? 'n/a' : Math.round(m)} ms, max ${windows.length === 0 ? 'n/a' : Math.round(Math.max(...windows))} ms, runs ${windows.length}\n`);
  process.exit(windows.length === o.tries ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/failover.ts failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
