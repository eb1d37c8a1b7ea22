/**
 * An ensemble in one process: every node on the in-memory bus with real timers. For a Node.js
 * service that wants coordination without running servers, and for tests.
 */
import { MemoryBus } from '../bus/memory.js';
import { ConsensusNode } from '../node/node.js';
import type { NodeTimings } from '../node/node.js';
import { MemoryStorage } from '../node/storage.js';
import { CoordinationService } from '../node/service.js';
import type { DataTreeOptions } from '../tree/index.js';
import type { NodeId } from '../protocol/ids.js';
import type { PeerMessage } from '../protocol/messages.js';
import { SeededRandom } from '../protocol/random.js';
import { realClock, realtimeNetwork, REALTIME_TIMINGS } from '../node/realtime.js';

export interface EmbeddedEnsembleOptions {
  /** Voters (default 3). */
  readonly nodes?: number;
  /** ZooKeeper's tickTime: session timeouts are negotiated into [2, 20] ticks (default 200 ms). */
  readonly tickMs?: number;
  readonly timings?: NodeTimings;
  readonly tree?: DataTreeOptions;
}

export interface EmbeddedServer {
  readonly id: NodeId;
  readonly node: ConsensusNode;
  readonly service: CoordinationService;
  readonly storage: MemoryStorage;
  up: boolean;
}

export class EmbeddedEnsemble {
  readonly servers: EmbeddedServer[] = [];
  readonly bus: MemoryBus<PeerMessage>;
  private readonly options: Required<Pick<EmbeddedEnsembleOptions, 'nodes' | 'tickMs' | 'timings'>> & EmbeddedEnsembleOptions;
  private readonly voters: NodeId[];
  /** Clients attached to each server, told when it goes down so they can move. */
  private readonly attached = new Map<NodeId, Set<{ serverDown(id: NodeId): void }>>();

  private constructor(options: EmbeddedEnsembleOptions) {
    this.options = { nodes: 3, tickMs: 200, timings: REALTIME_TIMINGS, ...options };
    this.bus = new MemoryBus<PeerMessage>(realtimeNetwork, new SeededRandom(Date.now() & 0x7fffffff), {
      dropRate: 0,
      duplicateRate: 0,
      minDelayMs: 0,
      maxDelayMs: 0,
    });
    this.voters = Array.from({ length: this.options.nodes }, (_, i) => i + 1);
  }

  /** Start the ensemble and wait until it has a leader that can commit. */
  static async start(options: EmbeddedEnsembleOptions = {}): Promise<EmbeddedEnsemble> {
    const ensemble = new EmbeddedEnsemble(options);
    for (const id of ensemble.voters) ensemble.servers.push(ensemble.boot(id, new MemoryStorage()));
    await ensemble.waitForLeader();
    return ensemble;
  }

  /** The server currently leading, if any. */
  leader(): EmbeddedServer | undefined {
    return this.servers.find((s) => s.up && s.node.isActiveLeader);
  }

  /** Resolves once some server leads with phase 1 done (bounded by `timeoutMs`). */
  async waitForLeader(timeoutMs = 10_000): Promise<EmbeddedServer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = this.leader();
      if (l !== undefined) return l;
      if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Stop one server as a crash would (it keeps its store); `restart` brings it back. */
  crash(id: NodeId): void {
    const s = this.server(id);
    if (!s.up) return;
    s.up = false;
    s.service.stop();
    s.node.stop();
    s.storage.crash();
    for (const client of [...(this.attached.get(id) ?? [])]) client.serverDown(id);
  }

  /** A client attached to server `id` (the embedded client registers itself). */
  watchServer(id: NodeId, client: { serverDown(id: NodeId): void }): void {
    let set = this.attached.get(id);
    if (set === undefined) {
      set = new Set();
      this.attached.set(id, set);
    }
    set.add(client);
  }

  unwatchServer(id: NodeId, client: { serverDown(id: NodeId): void }): void {
    this.attached.get(id)?.delete(client);
  }

  restart(id: NodeId): void {
    const s = this.server(id);
    if (s.up) return;
    const i = this.servers.indexOf(s);
    this.servers[i] = this.boot(id, s.storage);
  }

  async stop(): Promise<void> {
    for (const s of this.servers) if (s.up) this.crash(s.id);
    this.bus.close();
  }

  server(id: NodeId): EmbeddedServer {
    const s = this.servers.find((x) => x.id === id);
    if (s === undefined) throw new Error(`no server ${id}`);
    return s;
  }

  private boot(id: NodeId, storage: MemoryStorage): EmbeddedServer {
    let service: CoordinationService | undefined;
    const node = new ConsensusNode({
      id,
      voters: this.voters,
      members: this.voters,
      bus: this.bus,
      clock: realClock,
      now: () => Date.now(),
      storage,
      timings: this.options.timings,
      seed: (Date.now() ^ (id * 7919)) | 0,
      application: { apply: (command, at) => service!.apply(command, at) },
      onMessage: (env) => service?.onMessage(env),
    });
    service = new CoordinationService({
      node,
      serverId: id,
      clock: realClock,
      now: () => Date.now(),
      tickMs: this.options.tickMs,
      ...(this.options.tree ? { tree: this.options.tree } : {}),
    });
    node.start();
    service.start();
    return { id, node, service, storage, up: true };
  }
}
