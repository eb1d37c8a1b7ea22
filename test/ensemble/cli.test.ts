import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fetchStatus, nodeProcessArgv, statusCommand } from '../../src/server/ensemble/cli.js';
import { EXIT_CODE } from '../../src/server/ensemble/node-process.js';
import { deriveTimings } from '../../src/server/ensemble/timings.js';
import { freePorts, waitFor } from './harness.js';
import { ZkConn } from './zk-client.js';

describe('timings from tickTime', () => {
  it('keep failover well under 2 s with ZooKeeper defaults and scale down with short ticks', () => {
    for (const tick of [2000, 3000, 60_000]) {
      const t = deriveTimings(tick);
      expect(t.heartbeatIntervalMs).toBe(75);
      expect([t.electionTimeoutMinMs, t.electionTimeoutMaxMs]).toEqual([300, 600]);
    }
    const fast = deriveTimings(1000);
    expect([fast.heartbeatIntervalMs, fast.electionTimeoutMinMs, fast.electionTimeoutMaxMs, fast.retransmitMs]).toEqual([40, 160, 320, 80]);
    expect(deriveTimings(100).heartbeatIntervalMs).toBe(20);
    for (const tick of [1, 100, 1000, 2000, 10_000]) {
      const t = deriveTimings(tick);
      // Several heartbeats fit in the shortest election timeout, or followers would time out spuriously.
      expect(t.electionTimeoutMinMs).toBeGreaterThanOrEqual(4 * t.heartbeatIntervalMs);
      expect(t.electionTimeoutMaxMs).toBeGreaterThan(t.electionTimeoutMinMs);
    }
    expect(() => deriveTimings(0)).toThrow(RangeError);
  });
});

describe('the server process', () => {
  it('refuses a bad config with one line naming file, line and key, and exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-cli-'));
    try {
      const file = join(dir, 'zoo.cfg');
      writeFileSync(file, `dataDir=${dir}\ntickTime=soon\n`);
      const child = spawn(process.execPath, nodeProcessArgv(file, false), { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(EXIT_CODE.startup);
      expect(stderr.trim()).toBe(`statekeeper: ${file}:2: tickTime: must be an integer, got "soon"`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a standalone server (no server lines) serves ZooKeeper clients and stops gracefully on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-cli-'));
    try {
      const [clientPort, adminPort] = await freePorts(2);
      const file = join(dir, 'zoo.cfg');
      writeFileSync(file, `tickTime=1000\ndataDir=${dir}/data\nclientPort=${clientPort}\nclientPortAddress=127.0.0.1\nstatekeeper.adminPort=${adminPort}\nstatekeeper.adminAddress=127.0.0.1\n`);
      const child = spawn(process.execPath, nodeProcessArgv(file, false), { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
      try {
        await waitFor('the standalone server to serve', async () => ((await fetchStatus(`127.0.0.1:${adminPort!}`, 2000)).serving ? true : undefined));
        const conn = new ZkConn(`127.0.0.1:${clientPort!}`);
        await conn.connect();
        await conn.create('/alone', Buffer.from('x'));
        expect((await conn.get('/alone')).toString()).toBe('x');
        await conn.close();
        const status = await fetchStatus(`127.0.0.1:${adminPort!}`);
        expect([status.role, status.voters, status.peers]).toEqual(['leader', [1], []]);
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exit).toBe(EXIT_CODE.ok);
      expect(stdout).toContain('"event":"stopped"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('status reports an unreachable server with exit code 1', async () => {
    const [port] = await freePorts(1);
    const lines: string[] = [];
    expect(await statusCommand({ server: `127.0.0.1:${port}`, out: (l) => lines.push(l) })).toBe(1);
    expect(lines.join('\n')).toContain('ECONNREFUSED');
    expect(await statusCommand({ server: 'no-port-here', out: (l) => lines.push(l) })).toBe(1);
    expect(lines.at(-1)).toContain('HOST:ADMINPORT');
  });
});
