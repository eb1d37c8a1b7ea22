/**
 * The system under comparison: an in-process statekeeper ensemble (EmbeddedEnsemble) with a
 * ZooKeeper client port (ZkServer) on every node, on 127.0.0.1 with free ports.
 */
import { EmbeddedEnsemble } from '../../client/ensemble.js';
import { ZkServer, consensusStatsProvider, silentZkLogger } from '../zk/index.js';
import type { ZkSaslOptions, ZkServerLogger } from '../zk/index.js';
import type { DataTreeOptions } from '../../tree/index.js';

/** Bound on waiting for every node to know the leader after start. */
export const STATEKEEPER_READY_TIMEOUT_MS = 10_000;
/** Pause between readiness probes (a bound on polling frequency, not a synchronization). */
const READINESS_POLL_MS = 5;

export interface StatekeeperZkOptions {
  /** Voters (default 3). */
  readonly nodes?: number;
  /** tickTime (default 2000, as ZooKeeper's default, so session timeouts negotiate alike). */
  readonly tickMs?: number;
  readonly logger?: ZkServerLogger;
  /** Data tree options (superDigest, maxDataBytes, ttlNodesEnabled, authProviders). */
  readonly tree?: DataTreeOptions;
  /** SASL DIGEST-MD5 users on every server's client port. */
  readonly sasl?: ZkSaslOptions;
}

/** A running statekeeper ensemble reachable through ZooKeeper's wire protocol. */
export interface StatekeeperZk {
  readonly ensemble: EmbeddedEnsemble;
  readonly servers: readonly ZkServer[];
  /** "127.0.0.1:p1,…" of the given server indexes (all by default). */
  connectString(indexes?: readonly number[]): string;
  stop(): Promise<void>;
}

/** Starts the ensemble and a ZkServer (all four-letter words on) per node; resolves once every node knows the leader. */
export async function startStatekeeperZk(options: StatekeeperZkOptions = {}): Promise<StatekeeperZk> {
  const ensemble = await EmbeddedEnsemble.start({ nodes: options.nodes ?? 3, tickMs: options.tickMs ?? 2000, ...(options.tree === undefined ? {} : { tree: options.tree }) });
  const servers: ZkServer[] = [];
  try {
    for (const s of ensemble.servers) {
      const server = new ZkServer({
        service: s.service,
        host: '127.0.0.1',
        port: 0,
        fourLetterWords: '*',
        logger: options.logger ?? silentZkLogger,
        stats: consensusStatsProvider(s.node, { isUp: () => s.up }),
        ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
      });
      await server.listen();
      servers.push(server);
    }
    const deadline = Date.now() + STATEKEEPER_READY_TIMEOUT_MS;
    while (!ensemble.servers.every((s) => s.node.isActiveLeader || (s.node.leader !== null && s.node.leader !== s.id))) {
      if (Date.now() > deadline) throw new Error(`statekeeper: not every node knew the leader within ${STATEKEEPER_READY_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, READINESS_POLL_MS));
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    await ensemble.stop();
    throw err;
  }
  return {
    ensemble,
    servers,
    connectString: (indexes = servers.map((_, i) => i)) => indexes.map((i) => `127.0.0.1:${servers[i]!.port}`).join(','),
    stop: async () => {
      await Promise.all(servers.map((s) => s.close()));
      await ensemble.stop();
    },
  };
}
