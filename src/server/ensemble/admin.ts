/**
 * The admin HTTP port of a server (node:http): `/health` for load balancers and orchestrators,
 * `/metrics` for Prometheus, `/status` for people and the `statekeeper status` command, and
 * whatever an extension answers: the server adds the inspector (the page at `/` and its streams,
 * `/inspect/node` for the other nodes' inspectors).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';

/** What `/status` answers (JSON). */
export interface NodeStatus {
  readonly id: number;
  /** `leader` only once phase 1 is done (the node can commit); `recovering` while a rejoining voter rebuilds its state. */
  readonly role: 'leader' | 'follower' | 'candidate' | 'observer' | 'recovering';
  readonly epoch: number;
  /** Who this node believes leads, if anyone. */
  readonly leader: number | null;
  /** The last zxid applied to this server's tree, as ZooKeeper prints it (0x hex). */
  readonly lastZxid: string;
  /** Every slot up to here is chosen and applied here. */
  readonly commitSlot: number;
  /** Sessions attached to this server. */
  readonly sessions: number;
  /** Whether the server can take client requests (it knows a leader that can commit). */
  readonly serving: boolean;
  /** Digest of the data tree: equal on two servers at the same commitSlot. */
  readonly digest: string;
  readonly voters: readonly number[];
  readonly members: readonly number[];
  readonly peers: readonly PeerStatus[];
  /** Inbound peer connections refused before authentication (wrong secret, garbage, unknown id). */
  readonly refusedPeerConnections: number;
  readonly clientPort: number | null;
  readonly pid: number;
  readonly uptimeMs: number;
}

export interface PeerStatus {
  readonly id: number;
  readonly kind: 'participant' | 'observer' | 'client';
  readonly connected: boolean;
  readonly queued: number;
  readonly dropped: number;
  readonly reconnects: number;
  readonly lastError: string | null;
}

/** More paths on the admin port. */
export interface AdminExtension {
  /** Answers the request if the path is one of its own; resolves false (nothing sent) otherwise. */
  handleRequest(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Takes (or refuses) a WebSocket upgrade request. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface AdminHandlers {
  readonly status: () => NodeStatus;
  readonly registry: Registry;
  readonly extension?: AdminExtension;
}

/** Start the admin HTTP server; resolves once it listens. */
export async function startAdminServer(host: string, port: number, handlers: AdminHandlers): Promise<Server> {
  const server = createServer((req, res) => {
    void handle(req, res, handlers).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (handlers.extension !== undefined) return handlers.extension.handleUpgrade(req, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  // An admin port must never keep a stopping process alive.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** The port the server listens on. */
export function adminPortOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

async function handle(req: IncomingMessage, res: ServerResponse, h: AdminHandlers): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
    res.end('method not allowed\n');
    return;
  }
  switch (path) {
    case '/health': {
      const s = h.status();
      const body = JSON.stringify({ serving: s.serving, role: s.role, leader: s.leader });
      res.writeHead(s.serving ? 200 : 503, { 'content-type': 'application/json' });
      res.end(`${body}\n`);
      return;
    }
    case '/status':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(h.status(), null, 2)}\n`);
      return;
    case '/metrics': {
      const text = await h.registry.metrics();
      res.writeHead(200, { 'content-type': h.registry.contentType });
      res.end(text);
      return;
    }
    default:
      if (h.extension !== undefined && (await h.extension.handleRequest(req, res))) return;
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not found: try ${h.extension === undefined ? '' : '/ (the inspector), '}/health, /status or /metrics\n`);
  }
}
