/**
 * Writes docs/screenshots/{cluster,chart,timeline}.png: starts an inspector on a 5-node
 * simulation, drives it through the page in headless Chromium (Debian's `chromium`, through
 * playwright-core), and captures each view. With `--live URL` it captures the page a running
 * ensemble's admin port serves instead (docs/screenshots/live-cluster.png).
 *
 *   npx tsx src/inspect/web/screenshots.ts [outDir]
 *   npm start &  npx tsx src/inspect/web/screenshots.ts --live http://127.0.0.1:2481/ [outDir]
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { startInspector } from './index.js';

/** Debian's chromium: playwright's own browser downloads are not available here. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const VIEWPORT = { width: 1440, height: 900 };
/** Real-time budget for each wait on the page. (Waits use locators: the page's CSP forbids string evaluation.) */
const WAIT_MS = 20_000;

/** Node ids of the cluster cards matching `selector`. */
export async function nodesWhere(page: Page, selector: string): Promise<number[]> {
  const cards = page.locator(selector);
  const ids: number[] = [];
  for (let i = 0; i < (await cards.count()); i++) ids.push(Number(await cards.nth(i).getAttribute('data-node')));
  return ids;
}

async function waitForLeader(page: Page): Promise<void> {
  await page.waitForSelector('.card[data-active="true"]', { timeout: WAIT_MS });
}

export async function writeScreenshots(outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const inspector = await startInspector({ nodes: 5, seed: 7 });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const written: string[] = [];
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    await page.goto(inspector.url);
    await page.fill('#speed', '400');
    await page.click('#btn-run');
    await waitForLeader(page);
    await page.fill('#write-count', '12');
    await page.click('#btn-submit');
    await page.locator('#writes', { hasText: '12 acknowledged' }).waitFor({ timeout: WAIT_MS });
    // Crash a follower and cut another off, so the picture shows a down node and a partition.
    await page.click('#btn-pause');
    const followers = await nodesWhere(page, '.card[data-role="follower"]');
    if (followers.length >= 2) {
      await page.click(`.card[data-node="${followers[0]}"] .btn-crash`);
      await page.click(`.card[data-node="${followers[1]}"] .btn-isolate`);
    }
    await page.fill('#write-count', '3');
    await page.click('#btn-submit');
    // A few single steps: messages are now in flight on the links.
    for (let i = 0; i < 6; i++) await page.click('#btn-step');
    await page.waitForSelector('#cluster-svg .msg', { timeout: WAIT_MS });
    const cluster = join(outDir, 'cluster.png');
    await page.screenshot({ path: cluster });
    written.push(cluster);

    const [leader] = await nodesWhere(page, '.card[data-active="true"]');
    await page.click(`.card[data-node="${leader}"] .btn-chart`);
    // Election (several states), proposer, acceptor and learner: at least four lit.
    await page.locator('#chart-grid .sk-active').nth(3).waitFor({ timeout: WAIT_MS });
    const chart = join(outDir, 'chart.png');
    await page.screenshot({ path: chart });
    written.push(chart);

    await page.click('#tabs button[data-tab="timeline"]');
    await page.click('#filter-quiet');
    await page.waitForSelector('#timeline-svg .tl-msg', { timeout: WAIT_MS });
    const timeline = join(outDir, 'timeline.png');
    await page.screenshot({ path: timeline });
    written.push(timeline);
  } finally {
    await browser.close();
    await inspector.close();
  }
  return written;
}

/** Captures the live page of a running ensemble (any node's admin port) once it shows a leader. */
export async function writeLiveScreenshots(url: string, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    await page.goto(url);
    await waitForLeader(page);
    // Every node answering, and a second of traffic on the links.
    await page.waitForSelector('.card[data-up="true"] >> nth=2', { timeout: WAIT_MS });
    await page.locator('#time', { hasText: /^([1-9]|\d{2,})\./ }).waitFor({ timeout: WAIT_MS });
    const cluster = join(outDir, 'live-cluster.png');
    await page.screenshot({ path: cluster });
    return [cluster];
  } finally {
    await browser.close();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const args = process.argv.slice(2);
  const live = args[0] === '--live' ? args[1] : undefined;
  const outDir = (live === undefined ? args[0] : args[2]) ?? 'docs/screenshots';
  (live === undefined ? writeScreenshots(outDir) : writeLiveScreenshots(live, outDir)).then(
    (files) => console.log(`wrote ${files.join(', ')}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
