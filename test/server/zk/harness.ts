/**
 * A three-node in-process ensemble with a ZooKeeper client port on each node, a collecting logger,
 * raw-socket helpers and a bounded polling wait (for conditions that have no event to await).
 */
import { connect, type Socket } from 'node:net';
import { EmbeddedEnsemble } from '../../../src/client/ensemble.js';
import { ZkServer, consensusStatsProvider } from '../../../src/server/zk/index.js';
import type { ZkServerLogger, ZkServerOptions } from '../../../src/server/zk/index.js';
import { encodeConnectRequest, decodeConnectResponse, FrameSplitter } from '../../../src/server/jute/index.js';
import type { ConnectResponse } from '../../../src/server/jute/index.js';
import type { DataTreeOptions } from '../../../src/tree/index.js';

export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

/** A logger that keeps every line (tests assert on close reasons). */
export function collectingLogger(): ZkServerLogger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const push = (level: string) => (details: Record<string, unknown>, message: string) => {
    lines.push({ level, message, details });
  };
  return { lines, debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') };
}

/** Polls `condition` every 5 ms until it holds; throws after `timeoutMs` (a bound, not a delay). */
export async function waitUntil(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Cluster {
  readonly ensemble: EmbeddedEnsemble;
  readonly servers: ZkServer[];
  readonly logger: ReturnType<typeof collectingLogger>;
  /** "127.0.0.1:p1,127.0.0.1:p2,…" for the given server indexes (all by default). */
  connectionString(indexes?: readonly number[]): string;
  stop(): Promise<void>;
}

/** Starts a 3-node ensemble and a ZkServer on each node, once every node knows the leader. */
export async function startCluster(options: { tickMs?: number; zk?: Partial<ZkServerOptions>; tree?: DataTreeOptions } = {}): Promise<Cluster> {
  const ensemble = await EmbeddedEnsemble.start({ nodes: 3, tickMs: options.tickMs ?? 100, ...(options.tree === undefined ? {} : { tree: options.tree }) });
  const logger = collectingLogger();
  const servers: ZkServer[] = [];
  for (const s of ensemble.servers) {
    const server = new ZkServer({
      service: s.service,
      port: 0,
      logger,
      fourLetterWords: '*',
      stats: consensusStatsProvider(s.node, { isUp: () => s.up }),
      ...options.zk,
    });
    await server.listen();
    servers.push(server);
  }
  await waitUntil(() => ensemble.servers.every((s) => s.node.isActiveLeader || (s.node.leader !== null && s.node.leader !== s.id)), 10_000, 'every node to know the leader');
  return {
    ensemble,
    servers,
    logger,
    connectionString: (indexes = servers.map((_, i) => i)) => indexes.map((i) => `127.0.0.1:${servers[i]!.port}`).join(','),
    stop: async () => {
      await Promise.all(servers.map((s) => s.close()));
      await ensemble.stop();
    },
  };
}

/** Resolves with the socket once connected. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the peer sends until it closes the connection (reset included). */
export function readUntilClosed(socket: Socket): Promise<{ data: Buffer; reset: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let reset = false;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {
      reset = true;
    });
    socket.on('close', () => resolve({ data: Buffer.concat(chunks), reset }));
  });
}

/** Sends a four-letter word and resolves with the whole answer. */
export async function fourLetterWord(port: number, word: string): Promise<string> {
  const socket = await openSocket(port);
  const done = readUntilClosed(socket);
  socket.write(word, 'latin1');
  return (await done).data.toString('utf8');
}

/**
 * A raw client connection after a successful handshake: frames in, frames out. `frames()` returns the
 * frames received so far; `nextFrame()` waits for the next one.
 */
export interface RawSession {
  readonly socket: Socket;
  readonly connect: ConnectResponse;
  nextFrame(): Promise<Buffer>;
  readonly closed: Promise<void>;
}

export async function rawSession(port: number, request: { sessionId?: bigint; passwd?: Buffer; timeoutMs?: number; lastZxidSeen?: bigint } = {}): Promise<RawSession> {
  const socket = await openSocket(port);
  const splitter = new FrameSplitter();
  const queue: Buffer[] = [];
  const waiters: Array<(frame: Buffer) => void> = [];
  let closedResolve: () => void = () => undefined;
  const closed = new Promise<void>((r) => (closedResolve = r));
  socket.on('error', () => undefined);
  socket.on('close', () => closedResolve());
  socket.on('data', (chunk: Buffer) => {
    const result = splitter.push(chunk);
    if (result.kind === 'fourLetterWord') return;
    for (const frame of result.frames) {
      const waiter = waiters.shift();
      if (waiter !== undefined) waiter(frame);
      else queue.push(frame);
    }
  });
  const nextFrame = (): Promise<Buffer> => {
    const queued = queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      waiters.push(resolve);
      void closed.then(() => reject(new Error('connection closed before the next frame')));
    });
  };
  socket.write(
    encodeConnectRequest({
      protocolVersion: 0,
      lastZxidSeen: request.lastZxidSeen ?? 0n,
      timeoutMs: request.timeoutMs ?? 4_000,
      sessionId: request.sessionId ?? 0n,
      passwd: request.passwd ?? Buffer.alloc(16),
      readOnly: false,
    }),
  );
  const connectResponse = decodeConnectResponse(await nextFrame());
  return { socket, connect: connectResponse, nextFrame, closed };
}

/**
 * A TCP proxy in front of a server, to cut a client off without the client noticing:
 * `blackhole()` silently drops everything both ways on the current links (the client keeps its
 * socket and sends its pings into the void), `cut()` destroys them (the client reconnects through
 * the proxy, which then forwards normally again).
 */
export interface BlackholeProxy {
  readonly port: number;
  blackhole(): void;
  cut(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<BlackholeProxy> {
  const { createServer } = await import('node:net');
  const links = new Set<{ client: Socket; upstream: Socket; dropping: boolean }>();
  const server = createServer((client) => {
    const upstream = connect({ port: targetPort, host: '127.0.0.1' });
    const link = { client, upstream, dropping: false };
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (!link.dropping) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!link.dropping) client.write(chunk);
    });
    const end = (): void => {
      if (link.dropping) return; // a blackholed link stays open on the client's side until cut
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    blackhole: () => {
      for (const link of links) link.dropping = true;
    },
    cut: () => {
      for (const link of links) {
        links.delete(link);
        link.client.destroy();
        link.upstream.destroy();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const link of links) {
          link.client.destroy();
          link.upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
