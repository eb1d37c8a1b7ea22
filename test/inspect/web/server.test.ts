import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { InspectorServer, parseControl } from '../../../src/inspect/web/server.js';
import { SimulationSource } from '../../../src/inspect/web/sim-source.js';
import { defaultSourceFactory } from '../../../src/inspect/web/index.js';

/** Real-time limit for one expected frame: generous, only a failed test waits this long. */
const FRAME_TIMEOUT_MS = 10_000;

type Frame = { type: string; [key: string]: any };

class Client {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  readonly ws: WebSocket;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  /** Resolves with the first frame (from the start) that satisfies `test`. */
  async until(test: (f: Frame) => boolean): Promise<Frame> {
    const deadline = Date.now() + FRAME_TIMEOUT_MS;
    for (;;) {
      const found = this.frames.find(test);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no such frame among ${this.frames.length}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

let server: InspectorServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(): Promise<{ server: InspectorServer; source: SimulationSource; ws: string }> {
  const source = new SimulationSource({ nodes: 3, seed: 9 });
  server = await InspectorServer.start({ source, sources: defaultSourceFactory });
  return { server, source, ws: server.url.replace('http://', 'ws://') };
}

describe('InspectorServer', () => {
  it('serves the page, its assets and the annotated charts from loopback', async () => {
    const { server } = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/app.js">');
    expect(html).not.toMatch(/https?:\/\//); // nothing from the internet
    expect((await fetch(`${server.url}app.js`)).status).toBe(200);
    const svg = await (await fetch(`${server.url}charts/leader.svg`)).text();
    expect(svg).toContain('data-state="leader.heartbeat.waiting"');
    expect((await fetch(`${server.url}charts/nobody.svg`)).status).toBe(404);
    expect((await fetch(`${server.url}../package.json`)).status).toBe(404);
    const view = (await (await fetch(`${server.url}api/view`)).json()) as { nodes: unknown[] };
    expect(view.nodes).toHaveLength(3);
  });

  it('watches its source only while a viewer is connected', async () => {
    const { server, source, ws } = await start();
    expect(source.watched).toBe(false);
    expect(source.simCluster.bus.observer).toBeUndefined();
    const client = new Client(`${ws}ws`);
    await client.opened();
    await client.until((f) => f.type === 'update');
    expect(source.watched).toBe(true);
    expect(server.viewerCount).toBe(1);
    await client.close();
    for (let i = 0; i < 50 && source.watched; i++) await new Promise((r) => setTimeout(r, 20));
    expect(source.watched).toBe(false);
    expect(source.simCluster.bus.observer).toBeUndefined();
  });

  it('greets a page with hello and a view, runs its controls and streams what they cause', async () => {
    const { ws } = await start();
    const client = new Client(`${ws}ws`);
    await client.opened();
    const hello = await client.until((f) => f.type === 'hello');
    expect(hello.protocol).toBe('statekeeper-inspector/1');
    expect(hello.charts.map((c: { role: string }) => c.role)).toContain('leader');
    const first = await client.until((f) => f.type === 'update' && f.view !== null);
    expect(first.view.nodes).toHaveLength(3);
    expect(first.events[0]).toEqual({ kind: 'reset', atMs: 0 });
    client.send({ type: 'control', id: 7, command: { type: 'step' } });
    expect(await client.until((f) => f.type === 'reply' && f.id === 7)).toMatchObject({ ok: true });
    client.send({ type: 'control', id: 8, command: { type: 'crash', node: 2 } });
    expect(await client.until((f) => f.type === 'reply' && f.id === 8)).toMatchObject({ ok: true, message: 'crash n2' });
    await client.until((f) => f.type === 'update' && f.events.some((e: { kind: string; node?: number; up?: boolean }) => e.kind === 'role' && e.node === 2 && e.up === false));
    await client.until((f) => f.type === 'update' && f.view?.nodes[1].up === false);
    client.send({ type: 'control', id: 9, command: { type: 'crash', node: 'two' } });
    expect(await client.until((f) => f.type === 'reply' && f.id === 9)).toMatchObject({ ok: false });
    client.send({ type: 'newSimulation', id: 10, nodes: 4, seed: 3 });
    expect(await client.until((f) => f.type === 'reply' && f.id === 10)).toMatchObject({ ok: true });
    await client.until((f) => f.type === 'update' && f.view?.nodes.length === 4);
    client.send({ type: 'loadTrace', id: 11, path: '/nonexistent/trace.json' });
    expect(await client.until((f) => f.type === 'reply' && f.id === 11)).toMatchObject({ ok: false });
    await client.close();
  });

  it('gives Stately tools actor registrations, then events', async () => {
    const { source, ws } = await start();
    source.runFor(1500);
    const stately = new Client(`${ws}stately`);
    await stately.opened();
    const actor = await stately.until((f) => f.type === '@xstate.actor' && f.sessionId === 'n1.election#1');
    expect(actor).toMatchObject({ name: 'election', parentId: 'n1', rootId: 'n1' });
    expect(JSON.parse(actor.definition).id).toBe('election');
    source.runFor(500);
    const event = await stately.until((f) => f.type === '@xstate.event');
    expect(event).toMatchObject({ sessionId: expect.stringMatching(/^n\d\./), sourceId: expect.stringMatching(/^n\d\./), event: { type: expect.any(String) } });
    await stately.close();
  });

  it('refuses WebSocket upgrades from foreign pages and requests for foreign hosts', async () => {
    const { server, ws } = await start();
    const foreign = new Client(`${ws}ws`, { Origin: 'http://evil.example' });
    await expect(foreign.opened()).rejects.toThrow(/403/);
    const ownPage = new Client(`${ws}ws`, { Origin: server.url.replace(/\/$/, '') });
    await ownPage.opened();
    await ownPage.close();
    // fetch may not set Host; node:http may.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(server.url, { headers: { Host: 'attacker.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});

describe('parseControl', () => {
  it('accepts well-formed controls and names what is wrong with the others', () => {
    expect(parseControl({ type: 'crash', node: 3 })).toEqual({ type: 'crash', node: 3 });
    expect(parseControl({ type: 'faults', dropRate: 0.2 })).toEqual({ type: 'faults', dropRate: 0.2 });
    expect(parseControl({ type: 'run' })).toEqual({ type: 'run' });
    expect(() => parseControl({ type: 'crash' })).toThrow(/'node' must be a number/);
    expect(() => parseControl({ type: 'explode' })).toThrow(/unknown control/);
    expect(() => parseControl(null)).toThrow(/object/);
  });
});
