/**
 * The inspector of a real ensemble: three server processes on loopback (node-main.ts, as
 * `statekeeper ensemble` runs them), the page opened in Debian's chromium from one follower's admin
 * port. It must show all three nodes from live data, follow a kill -9 of the leader to the next
 * leader, light the chart state each node's /status reports, and feed Stately's own client.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH, nodesWhere } from '../../../src/inspect/web/screenshots.js';
import { TestEnsemble, waitFor } from '../../ensemble/harness.js';
import { StatelyCheck } from './stately-check.js';

/** Real-time limit of one wait on the page; a passing test waits far less. */
const WAIT_MS = 15_000;
/** ZooKeeper's sample tickTime: elections after 300–600 ms of silence, so a loaded machine does not flap. */
const TICK_MS = 2000;
if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install chromium`);

let ensemble: TestEnsemble;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
/** The follower whose admin port serves the page, and the leader as last agreed. */
let viewer = 0;
let leader = 0;
/** Stately's receiver, connected by the Stately test and still reading during the failover. */
let stately: StatelyCheck | undefined;

function adminUrl(id: number): string {
  return `http://127.0.0.1:${ensemble.server(id).adminPort}/`;
}

/** The states lit in node `id`'s election chart, if the chart drawn is that of `role`. */
async function litStates(role: string): Promise<string[]> {
  const panel = `#chart-grid .chart-panel[data-machine="election"][data-role="${role}"]`;
  await page.waitForSelector(`${panel} .sk-active[data-state="${role}"]`, { timeout: 2000 });
  const lit = page.locator(`${panel} .sk-active`);
  const states: string[] = [];
  for (let i = 0; i < (await lit.count()); i++) states.push((await lit.nth(i).getAttribute('data-state', { timeout: 2000 })) ?? '');
  return states;
}

/**
 * The election chart of node `id` shows its /status role, with that role's states lit. A loaded
 * machine may run an election meanwhile, so a role that changed between the two reads is asked again.
 */
async function expectChartMatchesStatus(id: number): Promise<string> {
  await page.click('#tabs button[data-tab="charts"]');
  await page.click(`#chart-nodes button[data-node="${id}"]`);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const role = (await ensemble.status(id)).role;
    const states = await litStates(role).catch(() => undefined);
    // The role read again after the chart: the two agree only if no election ran in between.
    if (states !== undefined && states.length > 0 && (await ensemble.status(id)).role === role) {
      expect(states.length).toBeGreaterThan(1);
      expect(states.every((s) => s === role || s.startsWith(`${role}.`))).toBe(true);
      // Only the leader runs a proposer: its chart is lit there, dimmed elsewhere.
      const proposer = page.locator('#chart-grid .chart-panel[data-machine="proposer"]');
      if (role === 'leader') await proposer.locator('.sk-active[data-state="active"]').waitFor({ timeout: WAIT_MS });
      else await expect(proposer.getAttribute('class')).resolves.toContain('inactive');
      await page.click('#tabs button[data-tab="cluster"]');
      return role;
    }
    if (Date.now() > deadline) throw new Error(`n${id}'s election chart never matched its /status role (last: ${role})`);
  }
}

/** The one leader the page shows, once /status agrees (an election may be running on a loaded machine). */
async function agreedLeader(except?: number): Promise<number> {
  return waitFor('the page and /status to agree on one leader', async () => {
    const onPage = await nodesWhere(page, '.card[data-active="true"]');
    if (onPage.length !== 1 || onPage[0] === except) return undefined;
    return (await ensemble.waitForLeader(except)) === onPage[0] ? onPage[0] : undefined;
  }, WAIT_MS);
}

beforeAll(async () => {
  ensemble = await TestEnsemble.create(3, { tickTimeMs: TICK_MS });
  // Every node learns where the others' admin ports are, as `statekeeper ensemble` writes it.
  const lines = ensemble.servers.map((s) => `statekeeper.admin.${s.id}=127.0.0.1:${s.adminPort}`).join('\n');
  for (const s of ensemble.servers) appendFileSync(s.configFile, `${lines}\n`);
  ensemble.startAll();
  const launched = chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  leader = await ensemble.waitForLeader();
  viewer = ensemble.voterIds.find((id) => id !== leader)!;
  browser = await launched;
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(adminUrl(viewer));
});

afterAll(async () => {
  await browser?.close();
  await ensemble?.dispose();
});

describe('inspector on a real ensemble', () => {
  it("shows all three nodes from one follower's admin port, exactly one leader, and no simulation controls", async () => {
    await page.waitForSelector('.card[data-up="true"] >> nth=2', { timeout: WAIT_MS });
    await page.waitForSelector('.card[data-active="true"]', { timeout: WAIT_MS });
    expect((await nodesWhere(page, '.card')).sort()).toEqual([1, 2, 3]);
    leader = await agreedLeader();
    expect(leader).not.toBe(viewer);
    await expect(page.locator('#title').textContent()).resolves.toContain(`seen from n${viewer}`);
    // Live data: the leader's zxid and the traffic on its links.
    await expect(page.locator(`.card[data-node="${leader}"] .live-meta span >> nth=0`).textContent()).resolves.toMatch(/^zxid 0x[0-9a-f]+$/);
    await expect(page.locator(`.card[data-node="${leader}"] .live-meta span >> nth=1`).textContent()).resolves.toMatch(/^\d+ sessions?$/);
    await page.waitForSelector(`#cluster-svg .traffic[data-from="${leader}"]`, { timeout: WAIT_MS });
    // Nothing here can step, crash, partition or change the network of a real ensemble.
    for (const panel of ['#panel-run', '#panel-faults', '#panel-writes', '#trace-panel']) await expect(page.locator(panel).isVisible()).resolves.toBe(false);
    await expect(page.locator('#panel-live').isVisible()).resolves.toBe(true);
    await expect(page.locator('.card .btn-crash:visible').count()).resolves.toBe(0);
    await expect(page.locator('.card .btn-isolate:visible').count()).resolves.toBe(0);
  });

  it('serves the page only under its own names; the admin paths stay as they were', async () => {
    const get = (path: string, host: string): Promise<number | undefined> =>
      new Promise((resolve, reject) => {
        const req = request(`${adminUrl(viewer)}${path.slice(1)}`, { headers: { Host: host } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        });
        req.on('error', reject);
        req.end();
      });
    const own = `127.0.0.1:${ensemble.server(viewer).adminPort}`;
    expect(await get('/', own)).toBe(200);
    expect(await get('/', 'attacker.example')).toBe(403);
    expect(await get('/health', own)).toBe(200);
    expect(await get('/nothing-here', own)).toBe(404);
  });

  it("lights each node's /status role in its election chart", async () => {
    leader = await agreedLeader();
    expect(await expectChartMatchesStatus(leader)).toBe('leader');
    await expectChartMatchesStatus(viewer);
    await expectChartMatchesStatus(ensemble.voterIds.find((id) => id !== leader && id !== viewer)!);
  });

  it('draws the recent traffic as a sequence diagram, filterable by type', async () => {
    await page.click('#tabs button[data-tab="timeline"]');
    await page.waitForSelector('#timeline-svg .tl-msg[data-type="Heartbeat"]', { timeout: WAIT_MS });
    await page.waitForSelector('#timeline-filters input[data-type="HeartbeatReply"]', { timeout: WAIT_MS });
    await page.click('#filter-quiet');
    await expect(page.locator('#timeline-svg .tl-msg[data-type="Heartbeat"]').count()).resolves.toBe(0);
    await expect(page.locator('#timeline-svg .tl-msg[data-type="HeartbeatReply"]').count()).resolves.toBe(0);
    await page.click('#filter-all');
    await page.waitForSelector('#timeline-svg .tl-msg[data-type="Heartbeat"]', { timeout: WAIT_MS });
    await page.click('#tabs button[data-tab="cluster"]');
  });

  it("feeds Stately's WebSocket receiver actors and events of the whole ensemble", async () => {
    stately = new StatelyCheck(`${adminUrl(viewer).replace('http://', 'ws://')}stately`);
    const check = stately;
    const registered = (pattern: RegExp): boolean => [...check.actors.keys()].some((a) => pattern.test(a));
    await check.until('every node and machine registered, then traffic', () => ['n1', 'n2', 'n3'].every((a) => check.actors.has(a)) && registered(/^n\d\.proposer#\d+$/) && registered(new RegExp(`^n${viewer}\\.election#\\d+$`)) && check.count('@xstate.event') > 10 && check.messages.some((m) => m.type === '@xstate.event' && m.event.type === 'Heartbeat' && /^n\d\.election#\d+$/.test(String(m.sourceId))));
    expect(check.problems).toEqual([]);
    // From the leader's election machine to a follower's. A heartbeat received before the sender
    // started recording cannot be matched to its send and is attributed to the sending node itself.
    const heartbeat = check.messages.find((m) => m.type === '@xstate.event' && m.event.type === 'Heartbeat' && /^n\d\.election#\d+$/.test(String(m.sourceId)));
    expect(heartbeat).toMatchObject({ sourceId: expect.stringMatching(/^n\d\.election#\d+$/), sessionId: expect.stringMatching(/^n\d\.election#\d+$/) });
    expect(heartbeat!.sourceId.slice(0, 2)).toBe(`n${heartbeat!.event.from}`);
    // Messages were matched across processes: the receiver's event carries the sender's send time.
    expect(typeof heartbeat!.event.sentAtMs).toBe('number');
  });

  it('kill -9 of the leader: the page shows it down and the next leader', async () => {
    leader = await agreedLeader();
    await ensemble.kill(leader);
    await page.waitForSelector(`.card[data-node="${leader}"][data-role="down"]`, { timeout: WAIT_MS });
    await expect(page.locator(`.card[data-node="${leader}"] .note`).textContent()).resolves.toMatch(/no answer from 127\.0\.0\.1:\d+/);
    await page.waitForSelector(`.card[data-active="true"]:not([data-node="${leader}"])`, { timeout: WAIT_MS });
    const next = await agreedLeader(leader);
    expect(await expectChartMatchesStatus(next)).toBe('leader');
    expect(pageErrors).toEqual([]);
    // Stately saw it too: the old leader's node actor went down, the new one's election became leader.
    const check = stately!;
    await check.until('snapshots of the failover', () =>
      check.messages.some((m) => m.type === '@xstate.snapshot' && m.sessionId === `n${leader}` && m.snapshot.value === 'down') &&
      check.messages.some((m) => m.type === '@xstate.snapshot' && String(m.sessionId).startsWith(`n${next}.election#`) && typeof m.snapshot.value === 'object' && 'leader' in m.snapshot.value),
    );
    expect(check.problems).toEqual([]);
  });
});
