/**
 * The page in a real browser (Debian's chromium through playwright-core): what a person sees
 * when they crash a leader, watch the charts, and step a stored trace back and forth.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInspector } from '../../../src/inspect/web/index.js';
import type { InspectorHandle } from '../../../src/inspect/web/index.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, nodesWhere } from '../../../src/inspect/web/screenshots.js';
import { writeTraceFile } from '../../../src/sim/runner.js';
import type { TraceFile } from '../../../src/sim/runner.js';
import { randomScenario } from '../../../src/sim/scenario.js';
import { formatTraceEvent } from '../../../src/sim/trace.js';

/** Real-time limit of one wait on the page (a failing test waits this long, a passing one far less). */
const WAIT_MS = 15_000;
// No skipping: without the browser these tests fail and say what to install (.ci/run installs it).
if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install chromium`);

let browser: Browser;
let dir: string;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  dir = mkdtempSync(join(tmpdir(), 'sk-inspect-browser-'));
});

afterAll(async () => {
  await browser?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function withInspector(options: Parameters<typeof startInspector>[0], body: (page: Page, inspector: InspectorHandle) => Promise<void>): Promise<void> {
  const inspector = await startInspector(options);
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(inspector.url);
    await body(page, inspector);
    expect(errors).toEqual([]);
  } finally {
    await page.close();
    await inspector.close();
  }
}

/** Waits until the page shows trace event `index` (the page's CSP forbids string evaluation). */
async function waitForIndex(page: Page, index: number): Promise<void> {
  await page.locator('#trace-index', { hasText: new RegExp(`^${index}$`) }).waitFor({ timeout: WAIT_MS });
}

/** The active state paths highlighted in one machine's chart panel. */
async function highlighted(page: Page, machine: string): Promise<string[]> {
  const groups = page.locator(`#chart-grid .chart-panel[data-machine="${machine}"] .sk-active`);
  const out: string[] = [];
  for (let i = 0; i < (await groups.count()); i++) out.push((await groups.nth(i).getAttribute('data-state')) ?? '');
  return out.sort();
}

describe('inspector page in chromium', () => {
  it('shows a leader; crashing it from its card brings a new one; the chart highlight follows the role', async () => {
    await withInspector({ nodes: 5, seed: 7 }, async (page) => {
      await page.fill('#speed', '3000');
      await page.click('#btn-run');
      await page.waitForSelector('.card[data-active="true"]', { timeout: WAIT_MS });
      const [leader] = await nodesWhere(page, '.card[data-active="true"]');
      expect(leader).toBeGreaterThan(0);
      await expect(page.locator(`.card[data-node="${leader}"] .badge`).textContent()).resolves.toContain('leader');

      // The leader's election chart highlights the leader states.
      await page.click(`.card[data-node="${leader}"] .btn-chart`);
      const election = `#chart-grid .chart-panel[data-machine="election"][data-role="leader"]`;
      await page.waitForSelector(`${election} .sk-active[data-state="leader.heartbeat.waiting"]`, { timeout: WAIT_MS });
      expect(await highlighted(page, 'election')).toEqual([
        'leader',
        'leader.heartbeat',
        'leader.heartbeat.waiting',
        'leader.quorumCheck',
        'leader.quorumCheck.watching',
      ]);
      expect(await highlighted(page, 'proposer')).toEqual(['active']);

      await page.click('#tabs button[data-tab="cluster"]');
      await page.click(`.card[data-node="${leader}"] .btn-crash`);
      await page.waitForSelector(`.card[data-node="${leader}"][data-role="down"]`, { timeout: WAIT_MS });
      await page.waitForSelector(`.card[data-active="true"]:not([data-node="${leader}"])`, { timeout: WAIT_MS });
      const [next] = await nodesWhere(page, '.card[data-active="true"]');
      expect(next).not.toBe(leader);

      // Back from the dead the old leader follows: its chart moves from leader to follower.
      await page.click(`.card[data-node="${leader}"] .btn-restart`);
      await page.click(`.card[data-node="${leader}"] .btn-chart`);
      await page.waitForSelector(`#chart-grid .chart-panel[data-machine="election"][data-role="follower"] .sk-active[data-state="follower.waiting"]`, {
        timeout: WAIT_MS,
      });
      expect(await highlighted(page, 'election')).toEqual(['follower', 'follower.waiting']);
      await expect(page.locator('#chart-grid .chart-panel[data-machine="proposer"]').getAttribute('class')).resolves.toContain('inactive');
      await page.click('#btn-pause');
    });
  });

  it('loads a stored trace and steps it forwards and backwards', async () => {
    const path = join(dir, 'trace.json');
    const file: TraceFile = writeTraceFile(path, randomScenario(5, { nodes: 3, commands: 10, faults: ['crash'] }), null);
    const time = (i: number): string => file.events[i]!.t.toFixed(3);
    await withInspector({ nodes: 3, seed: 1 }, async (page) => {
      await page.fill('#trace-path', path);
      await page.click('#btn-load');
      await page.waitForSelector('#trace-info:not([hidden])', { timeout: WAIT_MS });
      const index = page.locator('#trace-index');
      await expect(page.locator('#trace-total').textContent()).resolves.toBe(String(file.events.length));
      await expect(index.textContent()).resolves.toBe('0');
      // Forwards: jump into the run, then single steps.
      await page.fill('#seek', '120');
      await page.click('#btn-seek');
      await waitForIndex(page, 120);
      for (const expected of [121, 122, 123]) {
        await page.click('#btn-step');
        await waitForIndex(page, expected);
      }
      await expect(page.locator('#trace-time').textContent()).resolves.toBe(time(123));
      await expect(page.locator('#trace-event').textContent()).resolves.toBe(formatTraceEvent(file.events[123]!).trim());
      // Backwards: each step re-runs to the earlier event.
      for (const expected of [122, 121]) {
        await page.click('#btn-back');
        await waitForIndex(page, expected);
        await expect(page.locator('#trace-time').textContent()).resolves.toBe(time(expected));
        await expect(page.locator('#trace-event').textContent()).resolves.toBe(formatTraceEvent(file.events[expected]!).trim());
      }
      // The keyboard does the same.
      await page.locator('body').press('ArrowLeft');
      await waitForIndex(page, 120);
      await expect(page.locator('#trace-status').textContent()).resolves.not.toContain('differs');
      // Trace mode has no fault controls.
      await expect(page.locator('#btn-crash').isDisabled()).resolves.toBe(true);
    });
  });
});
