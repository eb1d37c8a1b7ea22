/**
 * statekeeper against Apache ZooKeeper 3.8, in one run, with the same load generator.
 *
 *   npx tsx bench/zk.ts [--seconds 10] [--warmup 2] [--clients 32] [--inflight 16]
 *                       [--workloads write,read,mixed90,create-seq] [--rounds 1]
 *                       [--embedded] [--profile DIR] [--keep]
 *
 * Both systems run as 3-node ensembles on 127.0.0.1 with fsync before every acknowledgement:
 * ZooKeeper through the anchor script shared/bench/zk-cluster.sh (forceSync=yes), statekeeper
 * through its own `statekeeper ensemble` (src/server/ensemble: one process per node, FileStorage,
 * TCP peer bus; `--embedded` instead runs EmbeddedEnsemble + ZkServers in one child process).
 * Every server of both systems runs in a session of its own (zk-cluster.sh uses setsid; the
 * ensemble is started `detached`), so with autogroup scheduling each gets its own CPU share and
 * neither system shares one with the load generator.
 *
 * `--profile DIR`: each statekeeper server writes a V8 CPU profile to DIR when it stops;
 * `npx tsx bench/profile-summary.ts DIR` prints self time by package and by function.
 * Both face shared/bench/load.mjs, the anchor load generator (closed loop, C connections spread
 * over the three client ports, K operations in flight each, 100-byte values, 1,000 keys).
 *
 * shared/ is read-only, so the anchor folder is copied to a temp dir. Its lib.mjs loads the etcd
 * client at import time, which this project does not install; the copy defers those two requires
 * to the etcd code path (the ZooKeeper path, node-zookeeper-client 1.1.3 from this project's
 * node_modules, is unchanged). Workloads alternate between the systems, so drift on a shared
 * machine hits both alike. Ends with the line
 *   ratio vs zookeeper: write W, read R, mixed M, create-seq C
 * (statekeeper ops/s divided by ZooKeeper ops/s, per workload).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensembleCommand } from '../src/server/ensemble/cli.js';
import type { RunningEnsemble } from '../src/server/ensemble/cli.js';
import { fourLetterWord, freePort } from '../src/server/compat/zookeeper.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const WORKLOADS = ['write', 'read', 'mixed90', 'create-seq'] as const;
type Workload = (typeof WORKLOADS)[number];
/** The name each workload has in the ratio line. */
const RATIO_NAME: Record<Workload, string> = { write: 'write', read: 'read', mixed90: 'mixed', 'create-seq': 'create-seq' };
/** Bound on an ensemble becoming ready. */
const READY_TIMEOUT_MS = 60_000;
/** Extra time a load run may take beyond warmup + seconds (setup of 1,000 keys, connects). */
const LOAD_SLACK_MS = 120_000;

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    clients: { type: 'string', default: '32' },
    inflight: { type: 'string', default: '16' },
    workloads: { type: 'string', default: WORKLOADS.join(',') },
    rounds: { type: 'string', default: '1' },
    'shared-dir': { type: 'string', default: '' },
    embedded: { type: 'boolean', default: false },
    profile: { type: 'string', default: '' },
    keep: { type: 'boolean', default: false },
  },
});

const workloads = args.workloads.split(',').map((w) => {
  if (!(WORKLOADS as readonly string[]).includes(w)) throw new Error(`unknown workload ${w}; use ${WORKLOADS.join(',')}`);
  return w as Workload;
});
const rounds = Number(args.rounds);

function findSharedBench(): string {
  const candidates = [args['shared-dir'], process.env.SHARED_BENCH_DIR ?? '', resolve(ROOT, '../shared/bench'), '/work/shared/bench'].filter((p) => p !== '');
  for (const c of candidates) if (existsSync(join(c, 'load.mjs')) && existsSync(join(c, 'zk-cluster.sh'))) return c;
  throw new Error(`shared/bench (load.mjs, zk-cluster.sh) not found; pass --shared-dir (looked in ${candidates.join(', ')})`);
}

/** A writable copy of the anchor tools, with lib.mjs's etcd imports deferred (see the header). */
function prepareAnchorCopy(work: string): string {
  const dir = join(work, 'anchor');
  cpSync(findSharedBench(), dir, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', dir]);
  const libPath = join(dir, 'lib.mjs');
  let lib = readFileSync(libPath, 'utf8');
  const eager = ["const { Etcd3 } = require('etcd3');", "const { noop } = require('cockatiel');"];
  for (const line of eager) {
    if (!lib.includes(line)) throw new Error(`lib.mjs changed: "${line}" not found, update bench/zk.ts`);
    lib = lib.replace(line, '');
  }
  const ctor = 'this.client = new Etcd3({';
  if (!lib.includes(ctor)) throw new Error('lib.mjs changed: EtcdConn constructor not found, update bench/zk.ts');
  lib = lib.replace(ctor, "const { Etcd3 } = require('etcd3'); const { noop } = require('cockatiel');\n    " + ctor);
  writeFileSync(libPath, lib);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

interface LoadResult {
  ops_per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  errors: number;
  server_cpu_pct?: number | null;
  client_cpu_pct: number;
  other_cpu_pct: number | null;
  error_samples: Record<string, number>;
}

function runLoad(anchor: string, workload: Workload, endpoints: string, serverPids: readonly number[], label: string): LoadResult {
  const argv = [
    join(anchor, 'load.mjs'),
    '--system', 'zk',
    '--endpoints', endpoints,
    '--workload', workload,
    '--clients', args.clients,
    '--inflight', args.inflight,
    '--seconds', args.seconds,
    '--warmup', args.warmup,
    '--server-pids', serverPids.join(','),
    '--label', label,
  ];
  const timeoutMs = (Number(args.seconds) + Number(args.warmup)) * 1000 + LOAD_SLACK_MS;
  const out = execFileSync(process.execPath, argv, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as LoadResult;
}

// ------------------------------------------------------------------ ZooKeeper (anchor script)

interface Cluster {
  readonly name: string;
  readonly endpoints: string;
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

async function portFreeRange(ports: readonly number[]): Promise<boolean> {
  const { createServer } = await import('node:net');
  for (const port of ports) {
    const ok = await new Promise<boolean>((res) => {
      const s = createServer();
      s.once('error', () => res(false));
      s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (!ok) return false;
  }
  return true;
}

async function startZooKeeperEnsemble(anchor: string, work: string): Promise<Cluster> {
  // zk-cluster.sh refuses busy ports: find an offset whose 9 ports are free.
  let offset = 20000;
  for (let tries = 0; ; tries++) {
    const ports = [1, 2, 3].flatMap((i) => [offset + 2180 + i, offset + 2887 + i, offset + 3887 + i]);
    if (await portFreeRange(ports)) break;
    if (tries > 20) throw new Error('no free port range for the ZooKeeper ensemble');
    offset += 100;
  }
  const env = { ...process.env, ANCHOR_DIR: join(work, 'anchors'), PORT_OFFSET: String(offset) };
  const script = join(anchor, 'zk-cluster.sh');
  process.stderr.write(execFileSync('bash', [script, 'start', '3'], { env, encoding: 'utf8', timeout: READY_TIMEOUT_MS + 30_000 }));
  const endpoints = execFileSync('bash', [script, 'endpoints', '3'], { env, encoding: 'utf8' }).trim();
  const pids = readFileSync(join(work, 'anchors', 'zk', 'pids'), 'utf8').trim().split('\n').map((l) => Number(l.trim().split(/\s+/).pop()));
  return {
    name: 'zookeeper',
    endpoints,
    pids,
    stop: async () => {
      process.stderr.write(execFileSync('bash', [script, 'stop'], { env, encoding: 'utf8', timeout: 60_000 }));
    },
  };
}

// ------------------------------------------------------------------ statekeeper

/** Waits until every client port answers srvr with a serving mode (bounded). */
async function waitServing(endpoints: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const modes = await Promise.all(
      endpoints.map(async (ep) => {
        const [host, port] = ep.split(':');
        return /^Mode: (\S+)/m.exec(await fourLetterWord(host!, Number(port), 'srvr'))?.[1];
      }),
    );
    if (modes.every((m) => m === 'leader' || m === 'follower' || m === 'standalone') && modes.includes('leader')) return;
    if (Date.now() > deadline) throw new Error(`not serving within ${timeoutMs} ms (modes ${modes.join(',')})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function startStatekeeperEnsemble(work: string): Promise<Cluster> {
  let basePort = 0;
  for (let tries = 0; tries < 20 && basePort === 0; tries++) {
    const candidate = 30000 + tries * 500;
    const ports = [0, 1, 2].flatMap((i) => [0, 100, 200, 300].map((stride) => candidate + stride + i));
    if (await portFreeRange(ports)) basePort = candidate;
  }
  if (basePort === 0) throw new Error('no free port range for the statekeeper ensemble');
  const lines: string[] = [];
  const ensemble: RunningEnsemble = await ensembleCommand({
    nodes: 3,
    dir: join(work, 'statekeeper'),
    basePort,
    handleSignals: false,
    // zk-cluster.sh starts each ZooKeeper server with setsid: give ours a session each too, or the
    // scheduler (autogroups) would make all three share one CPU share with the load generator.
    detached: true,
    out: (line) => lines.push(line),
  });
  const endpoints = ensemble.connectString.split(',');
  try {
    await waitServing(endpoints, READY_TIMEOUT_MS);
  } catch (err) {
    await ensemble.stop();
    throw new Error(`statekeeper ensemble: ${String(err)}\n${lines.join('\n')}`);
  }
  process.stderr.write(`statekeeper ensemble up: ${ensemble.connectString} (pids ${ensemble.nodes.map((n) => n.child?.pid).join(',')})\n`);
  return {
    name: 'statekeeper',
    endpoints: ensemble.connectString,
    pids: ensemble.nodes.map((n) => n.child?.pid ?? 0),
    stop: () => ensemble.stop(),
  };
}

/** `--embedded`: EmbeddedEnsemble + ZkServers in one child process (no disk; for comparison only). */
async function startEmbeddedStatekeeper(): Promise<Cluster> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), '-e', `
      const { startStatekeeperZk } = await import(${JSON.stringify(join(ROOT, 'src/server/compat/statekeeper.ts'))});
      const sk = await startStatekeeperZk({ nodes: 3 });
      process.stdout.write('ENDPOINTS ' + sk.connectString() + '\\n');
      process.on('SIGTERM', () => void sk.stop().then(() => process.exit(0)));
    `],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const endpoints = await new Promise<string>((res, rej) => {
    let buf = '';
    const timer = setTimeout(() => rej(new Error('embedded statekeeper did not start')), READY_TIMEOUT_MS);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /ENDPOINTS (\S+)/.exec(buf);
      if (m !== null) {
        clearTimeout(timer);
        res(m[1]!);
      }
    });
    child.once('exit', () => rej(new Error('embedded statekeeper exited')));
  });
  return {
    name: 'statekeeper (embedded, in-memory)',
    endpoints,
    pids: [child.pid ?? 0],
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

// ------------------------------------------------------------------ main

function fmt(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined ? '-' : n.toFixed(digits);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-zk-'));
  const anchor = prepareAnchorCopy(work);
  if (args.profile !== '') {
    mkdirSync(args.profile, { recursive: true });
    // Children inherit the environment: every statekeeper node writes a .cpuprofile when it exits
    // (src/server/ensemble/node-main.ts; Node 20 refuses --cpu-prof in NODE_OPTIONS).
    process.env.STATEKEEPER_CPU_PROFILE_DIR = resolve(args.profile);
  }
  const clusters: Cluster[] = [];
  const results: Record<string, Record<Workload, LoadResult[]>> = {};
  try {
    const zk = await startZooKeeperEnsemble(anchor, work);
    clusters.push(zk);
    const sk = args.embedded ? await startEmbeddedStatekeeper() : await startStatekeeperEnsemble(work);
    clusters.push(sk);
    if (args.profile !== '') delete process.env.STATEKEEPER_CPU_PROFILE_DIR; // the load generator is not profiled
    for (const c of clusters) results[c.name] = { write: [], read: [], mixed90: [], 'create-seq': [] };
    for (let round = 1; round <= rounds; round++) {
      for (const workload of workloads) {
        for (const c of clusters) {
          const label = `${c.name} ${workload} ${args.clients}x${args.inflight} round ${round}`;
          process.stderr.write(`running ${label} ...\n`);
          const r = runLoad(anchor, workload, c.endpoints, c.pids, label);
          results[c.name]![workload].push(r);
          const errors = r.errors > 0 ? ` ${JSON.stringify(r.error_samples)}` : '';
          process.stderr.write(`  ${Math.round(r.ops_per_s)} ops/s p50 ${fmt(r.p50_ms)} ms p99 ${fmt(r.p99_ms)} ms errors ${r.errors}${errors} server cpu ${fmt(r.server_cpu_pct ?? null, 0)}% other cpu ${fmt(r.other_cpu_pct, 0)}%\n`);
        }
      }
    }
  } finally {
    for (const c of clusters.reverse()) await c.stop().catch((err: unknown) => process.stderr.write(`stopping ${c.name}: ${String(err)}\n`));
    if (!args.keep) rmSync(work, { recursive: true, force: true });
    else process.stderr.write(`kept ${work}\n`);
  }

  const median = (xs: readonly number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? 0 : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const names = Object.keys(results);
  const zkName = names[0]!;
  const skName = names[1]!;
  console.log(`\n3-node ensembles on 127.0.0.1, fsync on, (C,K) = (${args.clients},${args.inflight}), ${args.seconds} s after ${args.warmup} s warmup, ${rounds} round(s), median`);
  console.log(`${'system'.padEnd(36)} ${'workload'.padEnd(11)} ${'ops/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)} ${'srv cpu%'.padStart(9)}`);
  for (const workload of workloads) {
    for (const name of names) {
      const rs = results[name]![workload];
      console.log(
        `${name.padEnd(36)} ${workload.padEnd(11)} ${String(Math.round(median(rs.map((r) => r.ops_per_s)))).padStart(8)} ${fmt(median(rs.map((r) => r.p50_ms ?? 0))).padStart(8)} ${fmt(median(rs.map((r) => r.p99_ms ?? 0))).padStart(8)} ${String(rs.reduce((a, r) => a + r.errors, 0)).padStart(7)} ${fmt(median(rs.map((r) => r.server_cpu_pct ?? 0)), 0).padStart(9)}`,
      );
    }
  }
  const ratios = workloads.map((w) => {
    const z = median(results[zkName]![w].map((r) => r.ops_per_s));
    const s = median(results[skName]![w].map((r) => r.ops_per_s));
    return `${RATIO_NAME[w]} ${z > 0 ? (s / z).toFixed(2) : 'n/a'}`;
  });
  console.log(`ratio vs zookeeper: ${ratios.join(', ')}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
