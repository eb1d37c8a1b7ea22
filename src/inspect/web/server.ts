/**
 * The inspector's web server: one page (static files from ./public), the role charts, and two
 * WebSocket streams, on 127.0.0.1 with node:http and `ws`.
 *
 * - `/ws`: the page's stream (protocol in README.md): view frames, events, control replies.
 * - `/stately` (and `/`, where Stately's bridge page connects): the Stately inspection stream.
 *
 * The server watches its cluster source only while at least one viewer is connected; with none,
 * no observer is installed and nothing is serialized. Each viewer has its own bounded queue
 * (MAX_PENDING_EVENTS_PER_VIEWER, oldest dropped first; the page shows the dropped count).
 *
 * Standalone (`start`), it listens on loopback. Attached (`attach`), it serves the same page on a
 * server someone else listens with (a real node's admin port) for the requests routed to it. Either
 * way it answers only requests whose Host names this server (a DNS-rebinding guard), and accepts
 * WebSocket upgrades only from its own page's origin (or from tools that send no Origin), since
 * the page stream can crash simulated nodes and read files.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { defaultMachines } from '../../node/machines.js';
import { readTraceFile } from '../../sim/runner.js';
import type { TraceFile } from '../../sim/runner.js';
import { annotatedCharts, chartInfos } from './charts.js';
import { MAX_CONTROL_MESSAGE_BYTES, MAX_EVENTS_PER_FRAME, MAX_PENDING_EVENTS_PER_VIEWER, PAGE_PROTOCOL, VIEW_INTERVAL_MS } from './constants.js';
import { PUBLIC_FILES, isInspectorPath } from './routes.js';
import { StatelyEncoder } from './stately.js';
import { checkTraceFile, traceName } from './trace-source.js';
import type { ClusterSource, ControlCommand, ControlResult, SourceEvent } from './types.js';
import { Viewer } from './viewer.js';

/** Builds the sources the page may switch to. */
export interface SourceFactory {
  simulation(options: { nodes: number; seed: number }): ClusterSource;
  trace(file: TraceFile, name: string): ClusterSource;
}

export interface InspectorServerOptions {
  /** What to show first; the server owns it from now on (and closes it). */
  readonly source: ClusterSource;
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Loopback address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Lets the page load traces and start new simulations; without it, it cannot. */
  readonly sources?: SourceFactory;
}

/** Serving on an HTTP server that is not the inspector's own (a node's admin port). */
export interface AttachedInspectorOptions {
  readonly source: ClusterSource;
  /** The port the HTTP server listens on. */
  readonly port: number;
  /** Host names (without port) this server may be reached by, besides the loopback names. */
  readonly hosts: readonly string[];
  /** Host used in `url` (default 127.0.0.1). */
  readonly urlHost?: string;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** `host` as it appears in a Host header or an origin: IPv6 addresses in brackets. */
function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

const PUBLIC_DIR = new URL('./public/', import.meta.url);
/** What a Stately tool may send us; we read none of it, so keep it small. */
const MAX_STATELY_MESSAGE_BYTES = 64 * 1024;

type PageViewer = Viewer<SourceEvent>;
type StatelyViewer = Viewer<string>;

/** Page frames never carry raw machine snapshots: those are for Stately tools (and may be large). */
function pageReplacer(key: string, value: unknown): unknown {
  return key === 'snapshot' ? undefined : value;
}

function encodePageFrame(events: readonly SourceEvent[], view: string | undefined, dropped: number): string {
  return `{"type":"update","dropped":${dropped},"view":${view ?? 'null'},"events":${JSON.stringify(events, pageReplacer)}}`;
}

export class InspectorServer {
  private source: ClusterSource;
  /** `host:port` values a request's Host header may have. */
  private allowedHosts = new Set<string>();
  private readonly pages = new Set<PageViewer>();
  private readonly statelyViewers = new Set<StatelyViewer>();
  private readonly sockets = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CONTROL_MESSAGE_BYTES });
  private readonly statelyWss = new WebSocketServer({ noServer: true, maxPayload: MAX_STATELY_MESSAGE_BYTES });
  private readonly stately = new StatelyEncoder(defaultMachines);
  private unwatch: (() => void) | undefined;
  private viewTimer: ReturnType<typeof setTimeout> | undefined;
  private lastViewAtMs = 0;
  private flushScheduled = false;
  private port = 0;
  private readonly host: string;

  private constructor(
    /** Our own HTTP server (standalone), or undefined when attached to someone else's. */
    private readonly http: Server | undefined,
    private readonly options: InspectorServerOptions,
  ) {
    this.source = options.source;
    this.host = options.host ?? '127.0.0.1';
  }

  /**
   * Serves the inspector on an HTTP server that someone else runs: route requests to
   * `handleRequest` (it answers the inspector's paths and returns false for the others) and
   * WebSocket upgrades to `handleUpgrade`. Charts are laid out on the first request for them.
   */
  static attach(options: AttachedInspectorOptions): InspectorServer {
    const server = new InspectorServer(undefined, { source: options.source, host: options.urlHost ?? '127.0.0.1' });
    server.port = options.port;
    server.allowHosts([...LOOPBACK_NAMES, ...options.hosts.map(hostForUrl)]);
    return server;
  }

  private allowHosts(names: readonly string[]): void {
    this.allowedHosts = new Set(names.map((h) => `${h}:${this.port}`));
  }

  /** Answers a request if its path is one of the inspector's; false (nothing sent) otherwise. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!isInspectorPath(path)) return false;
    void this.onRequest(req, res);
    return true;
  }

  /** Takes a WebSocket upgrade (the page stream or the Stately stream), or refuses it. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.onUpgrade(req, socket, head);
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(options: InspectorServerOptions): Promise<InspectorServer> {
    const http = createServer();
    const server = new InspectorServer(http, options);
    http.on('request', (req, res) => void server.onRequest(req, res));
    http.on('upgrade', (req, socket, head) => server.onUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, server.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    server.port = (http.address() as AddressInfo).port;
    server.allowHosts([...LOOPBACK_NAMES, hostForUrl(server.host)]);
    // Lay the charts out now (Graphviz in WebAssembly takes a moment), not on the first page's request.
    void annotatedCharts().catch(() => undefined);
    return server;
  }

  get url(): string {
    return `http://${hostForUrl(this.host)}:${this.port}/`;
  }

  /** The source shown now. */
  get current(): ClusterSource {
    return this.source;
  }

  /** Viewers connected now (pages and Stately tools). */
  get viewerCount(): number {
    return this.pages.size + this.statelyViewers.size;
  }

  /** Stately tools connected now. */
  get statelyViewerCount(): number {
    return this.statelyViewers.size;
  }

  /** Shows another source (the old one is closed); viewers start over from its history. */
  setSource(source: ClusterSource): void {
    const old = this.source;
    this.unwatch?.();
    this.unwatch = undefined;
    this.source = source;
    old.close();
    source.detail?.({ contexts: this.statelyViewers.size > 0 });
    if (this.viewerCount === 0) return;
    this.startWatching();
    for (const page of this.pages) this.greetPage(page);
    this.stately.reset();
    for (const viewer of this.statelyViewers) this.greetStately(viewer);
    this.scheduleFlush();
  }

  async close(): Promise<void> {
    if (this.viewTimer !== undefined) clearTimeout(this.viewTimer);
    this.unwatch?.();
    this.unwatch = undefined;
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
    this.statelyWss.close();
    this.source.close();
    const http = this.http;
    if (http === undefined) return; // attached: the owner closes its server
    const closed = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeAllConnections(); // keep-alive page connections would hold close() open
    await closed;
  }

  // ---- HTTP ----

  private hostAllowed(req: IncomingMessage): boolean {
    const host = req.headers.host;
    return host !== undefined && this.allowedHosts.has(host.toLowerCase());
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.hostAllowed(req)) return send(res, 403, 'text/plain', 'forbidden host');
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed');
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const asset = PUBLIC_FILES[path];
      if (asset !== undefined) {
        const body = await readFile(new URL(asset.file, PUBLIC_DIR));
        return send(res, 200, asset.type, body, this.securityHeaders(req));
      }
      if (path === '/api/charts') return send(res, 200, 'application/json', JSON.stringify(chartInfos()));
      if (path === '/api/view') {
        await this.source.refresh?.();
        return send(res, 200, 'application/json', JSON.stringify(this.source.view()));
      }
      const chart = /^\/charts\/([a-z]+)\.svg$/.exec(path);
      if (chart !== null) {
        const svg = (await annotatedCharts()).get(chart[1]!);
        if (svg !== undefined) return send(res, 200, 'image/svg+xml', svg);
      }
      if (path === '/favicon.ico') return send(res, 204, 'text/plain', '');
      return send(res, 404, 'text/plain', 'not found');
    } catch (error) {
      send(res, 500, 'text/plain', `inspector error: ${(error as Error).message}`);
    }
  }

  private securityHeaders(req: IncomingMessage): Record<string, string> {
    const ws = `ws://${req.headers.host ?? `127.0.0.1:${this.port}`}`;
    return {
      'Content-Security-Policy': `default-src 'self'; connect-src 'self' ${ws}; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'`,
      'X-Content-Type-Options': 'nosniff',
    };
  }

  // ---- WebSocket ----

  private originAllowed(req: IncomingMessage, page: boolean): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true; // a program, not a browser page
    const own = origin.startsWith('http://') && this.allowedHosts.has(origin.slice('http://'.length).toLowerCase());
    if (page || own) return own;
    // Stately's bridge page runs on another loopback port; any loopback page may read the stream.
    return /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(origin);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const page = path === '/ws';
    const statelyPath = path === '/stately' || path === '/';
    if (!this.hostAllowed(req) || (!page && !statelyPath) || !this.originAllowed(req, page)) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    const wss = page ? this.wss : this.statelyWss;
    wss.handleUpgrade(req, socket, head, (ws) => (page ? this.addPage(ws) : this.addStately(ws)));
  }

  private track<T>(ws: WebSocket, viewer: Viewer<T>, set: Set<Viewer<T>>): void {
    this.sockets.add(ws);
    set.add(viewer);
    ws.on('close', () => {
      this.sockets.delete(ws);
      set.delete(viewer);
      viewer.close();
      this.updateDetail();
      if (this.viewerCount === 0) {
        this.unwatch?.();
        this.unwatch = undefined;
      }
    });
    ws.on('error', () => ws.terminate());
    if (this.unwatch === undefined) this.startWatching();
  }

  /** Tell the source whether machine contexts are wanted (only Stately tools show them). */
  private updateDetail(): void {
    this.source.detail?.({ contexts: this.statelyViewers.size > 0 });
  }

  private addPage(ws: WebSocket): void {
    const viewer: PageViewer = new Viewer<SourceEvent>(ws, encodePageFrame, MAX_EVENTS_PER_FRAME);
    this.track(ws, viewer, this.pages);
    ws.send(JSON.stringify({ type: 'hello', protocol: PAGE_PROTOCOL, maxPendingEvents: MAX_PENDING_EVENTS_PER_VIEWER, charts: chartInfos() }));
    this.greetPage(viewer);
    viewer.flush();
    ws.on('message', (data, isBinary) => void this.onPageMessage(ws, data, isBinary));
  }

  private addStately(ws: WebSocket): void {
    const viewer: StatelyViewer = new Viewer<string>(ws, (items) => items[0] ?? '', 1);
    this.track(ws, viewer, this.statelyViewers);
    this.updateDetail();
    this.greetStately(viewer);
    viewer.flush();
  }

  /** A page that connects, or whose source changed: reset, recent history, the current view. */
  private greetPage(viewer: PageViewer): void {
    viewer.queue.clear();
    viewer.push({ kind: 'reset', atMs: 0 });
    for (const e of this.source.history()) viewer.push(e);
    viewer.setView(JSON.stringify(this.source.view()));
  }

  private greetStately(viewer: StatelyViewer): void {
    const source = this.source;
    const snapshot = source.machineSnapshot?.bind(source) ?? (() => undefined);
    for (const message of this.stately.registrations(source.view(), snapshot)) viewer.push(message);
  }

  private startWatching(): void {
    this.unwatch = this.source.watch({
      event: (e) => this.onEvent(e),
      changed: () => this.scheduleView(),
    });
  }

  private onEvent(e: SourceEvent): void {
    for (const page of this.pages) page.push(e);
    if (this.statelyViewers.size > 0) {
      if (e.kind === 'reset') {
        this.stately.reset();
        for (const viewer of this.statelyViewers) this.greetStately(viewer);
      } else {
        for (const message of this.stately.encode(e)) for (const viewer of this.statelyViewers) viewer.push(message);
      }
    }
    this.scheduleFlush();
  }

  /** Events of one synchronous burst (a tick, a control) leave together. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const page of this.pages) page.flush();
      for (const viewer of this.statelyViewers) viewer.flush();
    });
  }

  private scheduleView(): void {
    if (this.viewTimer !== undefined || this.pages.size === 0) return;
    const wait = Math.max(0, this.lastViewAtMs + VIEW_INTERVAL_MS - performance.now());
    this.viewTimer = setTimeout(() => {
      this.viewTimer = undefined;
      this.pushView();
    }, wait);
  }

  private pushView(): void {
    if (this.pages.size === 0) return;
    this.lastViewAtMs = performance.now();
    const json = JSON.stringify(this.source.view());
    for (const page of this.pages) {
      page.setView(json);
      page.flush();
    }
  }

  private async onPageMessage(ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> {
    let id: unknown = null;
    let result: ControlResult;
    try {
      if (isBinary) throw new Error('expected a text message');
      const message = JSON.parse(data.toString()) as { type?: unknown; id?: unknown; [key: string]: unknown };
      id = message.id ?? null;
      result = await this.handlePageMessage(message);
    } catch (error) {
      result = { ok: false, message: (error as Error).message };
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'reply', id, ...result }));
    // A control changes what is shown: show it now rather than at the next view interval.
    if (this.viewTimer !== undefined) clearTimeout(this.viewTimer);
    this.viewTimer = undefined;
    this.pushView();
  }

  private async handlePageMessage(message: { type?: unknown; [key: string]: unknown }): Promise<ControlResult> {
    switch (message.type) {
      case 'control':
        return this.source.control(parseControl(message.command));
      case 'loadTrace': {
        const factory = this.requireFactory();
        let file: TraceFile;
        let name: string;
        if (typeof message.path === 'string' && message.path !== '') {
          file = readTraceFile(message.path);
          name = traceName(message.path);
        } else if (typeof message.content === 'string') {
          file = checkTraceFile(JSON.parse(message.content));
          name = typeof message.name === 'string' && message.name !== '' ? message.name : 'upload';
        } else {
          throw new Error('loadTrace needs a path or the file content');
        }
        this.setSource(factory.trace(file, name));
        return { ok: true, message: `loaded ${name}: ${file.events.length} events` };
      }
      case 'newSimulation': {
        const factory = this.requireFactory();
        const nodes = Number(message.nodes);
        const seed = Number(message.seed);
        this.setSource(factory.simulation({ nodes, seed }));
        return { ok: true, message: `new simulation: ${nodes} nodes, seed ${seed}` };
      }
      default:
        throw new Error(`unknown message type ${String(message.type)}`);
    }
  }

  private requireFactory(): SourceFactory {
    const factory = this.options.sources;
    if (factory === undefined) throw new Error('this inspector cannot switch sources');
    return factory;
  }
}

/** Checks the shape of a control from the page (the source checks the values). */
export function parseControl(raw: unknown): ControlCommand {
  if (typeof raw !== 'object' || raw === null) throw new Error('control must be an object');
  const c = raw as Record<string, unknown>;
  const num = (key: string): number => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`control ${String(c.type)}: '${key}' must be a number`);
    return v;
  };
  const optional = (key: string): number | undefined => (c[key] === undefined ? undefined : num(key));
  switch (c.type) {
    case 'pause':
    case 'step':
    case 'back':
    case 'heal':
      return { type: c.type };
    case 'run': {
      const speed = optional('speedMsPerS');
      return speed === undefined ? { type: 'run' } : { type: 'run', speedMsPerS: speed };
    }
    case 'speed':
      return { type: 'speed', speedMsPerS: num('speedMsPerS') };
    case 'seek':
      return { type: 'seek', index: num('index') };
    case 'crash':
    case 'restart':
    case 'isolate':
      return { type: c.type, node: num('node') };
    case 'faults': {
      const f: { -readonly [K in 'dropRate' | 'duplicateRate' | 'minDelayMs' | 'maxDelayMs']?: number } = {};
      for (const key of ['dropRate', 'duplicateRate', 'minDelayMs', 'maxDelayMs'] as const) {
        const v = optional(key);
        if (v !== undefined) f[key] = v;
      }
      return { type: 'faults', ...f };
    }
    case 'submit':
      return { type: 'submit', count: num('count') };
    default:
      throw new Error(`unknown control ${String(c.type)}`);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}
