/**
 * The lock recipe at the protocol level, and its promises as checks. A client that wants the lock
 * creates an ephemeral-sequential znode under /lock; it holds the lock while its znode has the lowest
 * sequence number; otherwise it watches the next lower znode (exists with a watch) and looks again
 * when that one goes. After a lost create it looks for its own ephemerals (getEphemerals) instead of
 * creating blindly, and removes strays before it queues again.
 *
 * A holder believes it holds the lock from the getChildren answer that shows it lowest until it sends
 * the delete that releases it, or until it learns its session expired. Belief can outlive the session
 * (a paused process learns late): that is why the promise is stated for live sessions only —
 * no two holders whose sessions are both alive — and why each hold carries a fencing token, the czxid
 * of its znode, which must grow from one acquisition to the next.
 */
import type { ZkRequest, ZkResponse } from '../../node/service.js';
import { CreateMode, ErrorCode, OPEN_ACL_UNSAFE } from '../../protocol/zookeeper.js';
import type { SeededRandom } from '../../protocol/random.js';
import type { SimZkClient } from './client.js';
import type { ZkSimCluster } from './cluster.js';
import { sessionEndTimes } from './checks.js';

export const LOCK_ROOT = '/lock';
const LOCK_PREFIX = `${LOCK_ROOT}/lock-`;

/** One period during which a client believed it held the lock. */
export interface LockHold {
  readonly clientId: number;
  readonly sessionId: bigint;
  readonly node: string;
  /** The fencing token: czxid of the lock znode. */
  readonly czxid: bigint;
  readonly acquiredAtMs: number;
  /** When the holder stopped believing (Infinity while it still does). */
  endedAtMs: number;
  endedBy: 'release' | 'expiry' | 'running';
}

/** What the holder does while it holds the lock. */
export interface HoldPlan {
  readonly holdMs: number;
  /** Pause the whole process this long while holding (a GC pause), 0 for none. */
  readonly freezeMs: number;
  /** Run a broken recipe instead (mutant). */
  readonly broken?: BrokenLockRecipe;
}

/** How long a waiter waits for its watch before it looks again anyway (a lost notification is not a hang). */
const WAIT_RECHECK_MS = 500;
/** Bound on the steps of one acquisition attempt (each step waits for an answer or a watch). */
const MAX_ACQUIRE_STEPS = 200;

type Answer = { kind: 'ok'; err: number; response: ZkResponse } | { kind: 'lost' } | { kind: 'expired' };

/** A deliberately broken recipe, to show the check can fail: take the lock without waiting for one's turn. */
export type BrokenLockRecipe = 'no-wait';

/** A lock client on one simulated session; every hold goes into `holds`. */
export class LockClient {
  constructor(
    private readonly cluster: ZkSimCluster,
    readonly client: SimZkClient,
    private readonly holds: LockHold[],
    private readonly broken?: BrokenLockRecipe,
  ) {}

  private async ask(request: ZkRequest): Promise<Answer> {
    const outcome = await this.client.call(request);
    return outcome.kind === 'ok' ? { kind: 'ok', err: outcome.response.err, response: outcome.response } : outcome;
  }

  /** Take the lock once (queueing as long as needed); undefined if the session ended or the attempt gave up. */
  async acquire(): Promise<LockHold | undefined> {
    if (!(await this.removeStrays(undefined))) return undefined;
    const mine = await this.createNode();
    if (mine === undefined) return undefined;
    const name = mine.node.slice(LOCK_ROOT.length + 1);
    for (let step = 0; step < MAX_ACQUIRE_STEPS; step++) {
      const listing = await this.ask({ op: 'getChildren', path: LOCK_ROOT, watch: false });
      if (listing.kind === 'expired') return undefined;
      if (listing.kind === 'lost' || listing.err !== ErrorCode.OK) continue;
      const children = [...(listing.response.children ?? [])].sort();
      const index = children.indexOf(name);
      // Not listed: this server has not applied our create yet (we moved), or the session is gone.
      if (index < 0) {
        await this.cluster.sleep(20);
        continue;
      }
      if (index === 0 || this.broken === 'no-wait') {
        const hold: LockHold = {
          clientId: this.client.id,
          sessionId: this.client.sessionId,
          node: mine.node,
          czxid: mine.czxid,
          acquiredAtMs: this.cluster.now(),
          endedAtMs: Infinity,
          endedBy: 'running',
        };
        this.holds.push(hold);
        return hold;
      }
      const predecessor = `${LOCK_ROOT}/${children[index - 1]!}`;
      // Our own strays ahead of us would block us for ever: remove them.
      if (!(await this.removeStrays(mine.node))) return undefined;
      const changed = this.nextChange(predecessor);
      const watched = await this.ask({ op: 'exists', path: predecessor, watch: true });
      if (watched.kind === 'expired') return undefined;
      if (watched.kind === 'ok' && watched.err === ErrorCode.OK) await changed;
    }
    return undefined;
  }

  /** Hold as planned, then release. The hold ends at the delete call, or when the client learns of expiry. */
  async holdAndRelease(hold: LockHold, plan: HoldPlan): Promise<void> {
    const expiredAt = () => (this.client.state === 'expired' ? this.cluster.now() : undefined);
    if (plan.freezeMs > 0) {
      this.client.freeze();
      await this.cluster.sleep(plan.freezeMs);
      this.client.thaw();
    }
    await Promise.race([this.cluster.sleep(plan.holdMs), this.untilExpired()]);
    const learned = expiredAt();
    if (learned !== undefined) {
      hold.endedAtMs = learned;
      hold.endedBy = 'expiry';
      return;
    }
    hold.endedAtMs = this.cluster.now();
    hold.endedBy = 'release';
    for (let attempt = 0; attempt < MAX_ACQUIRE_STEPS; attempt++) {
      const answer = await this.ask({ op: 'delete', path: hold.node, version: -1 });
      if (answer.kind === 'expired' || (answer.kind === 'ok' && (answer.err === ErrorCode.OK || answer.err === ErrorCode.NONODE))) return;
    }
  }

  /** Resolves when the client's session is known to be over. */
  private async untilExpired(): Promise<void> {
    while (this.client.state !== 'expired' && this.client.state !== 'closed') await this.client.nextStateChange();
  }

  /** Resolves on a watch event for `path`, a session state change, or after a while. */
  private nextChange(path: string): Promise<void> {
    return new Promise((resolve) => {
      const stop = this.client.onEvent((e) => {
        if (e.path === path) finish();
      });
      const finish = () => {
        stop();
        resolve();
      };
      void this.client.nextStateChange().then(finish);
      void this.cluster.sleep(WAIT_RECHECK_MS).then(finish);
    });
  }

  /** Create our lock znode; after a lost create, find the one it may have made. */
  private async createNode(): Promise<{ node: string; czxid: bigint } | undefined> {
    for (let attempt = 0; attempt < MAX_ACQUIRE_STEPS; attempt++) {
      const created = await this.ask({ op: 'create', path: LOCK_PREFIX, data: new Uint8Array(), acl: OPEN_ACL_UNSAFE, mode: CreateMode.EPHEMERAL_SEQUENTIAL });
      if (created.kind === 'expired') return undefined;
      if (created.kind === 'ok' && created.err === ErrorCode.OK) return { node: created.response.path!, czxid: created.response.stat!.czxid };
      if (created.kind === 'ok') continue;
      // Lost: the create may have happened. Our session's ephemerals tell.
      const own = await this.ownNodes();
      if (own === 'expired') return undefined;
      const found = own === 'lost' ? undefined : own[0];
      if (found === undefined) continue;
      const stat = await this.ask({ op: 'exists', path: found, watch: false });
      if (stat.kind === 'expired') return undefined;
      if (stat.kind === 'ok' && stat.err === ErrorCode.OK) return { node: found, czxid: stat.response.stat!.czxid };
    }
    return undefined;
  }

  private async ownNodes(): Promise<string[] | 'lost' | 'expired'> {
    const answer = await this.ask({ op: 'getEphemerals', prefix: `${LOCK_ROOT}/` });
    if (answer.kind !== 'ok') return answer.kind;
    return [...(answer.response.ephemerals ?? [])].sort();
  }

  /** Delete this session's lock znodes other than `keep`; false if the session is over. */
  private async removeStrays(keep: string | undefined): Promise<boolean> {
    const own = await this.ownNodes();
    if (own === 'expired') return false;
    if (own === 'lost') return true;
    for (const node of own) {
      if (node === keep) continue;
      const answer = await this.ask({ op: 'delete', path: node, version: -1 });
      if (answer.kind === 'expired') return false;
    }
    return true;
  }
}

/** Options of {@link runLockWorkload}. */
export interface LockWorkloadOptions {
  readonly random: SeededRandom;
  /** Clients queue for the lock until this virtual time. */
  readonly untilMs: number;
  readonly maxHoldMs: number;
  /** Chance that a holder pauses for `freezeMs` while holding. */
  readonly freezeChance: number;
  readonly freezeMs: number;
  /** Run a broken recipe instead (mutant). */
  readonly broken?: BrokenLockRecipe;
}

/** Each client takes and releases the lock in a loop, opening a new session whenever its session expires. */
export async function runLockWorkload(cluster: ZkSimCluster, clients: readonly SimZkClient[], options: LockWorkloadOptions): Promise<LockHold[]> {
  const holds: LockHold[] = [];
  await Promise.all(
    clients.map(async (client) => {
      const random = options.random.fork();
      const lock = new LockClient(cluster, client, holds, options.broken);
      while (cluster.now() < options.untilMs) {
        if (!client.hasSession() && !(await client.connect())) return;
        const hold = await lock.acquire();
        if (hold !== undefined) {
          const freeze = random.chance(options.freezeChance);
          await lock.holdAndRelease(hold, { holdMs: random.next() * options.maxHoldMs, freezeMs: freeze ? options.freezeMs : 0 });
        }
        await cluster.sleep(random.next() * 30);
      }
      // Done: end the session so its znodes stop blocking the others.
      await client.close();
    }),
  );
  return holds;
}

/**
 * The lock's promises on a finished run: (1) no two holds overlap while both holders' sessions are
 * alive (a session ends at the first apply anywhere of its closeSession); (2) fencing tokens grow with
 * acquisition time.
 */
export function checkLockSafety(cluster: ZkSimCluster, holds: readonly LockHold[]): string | null {
  const ends = sessionEndTimes(cluster);
  const aliveUntil = (h: LockHold) => Math.min(h.endedAtMs, ends.get(h.sessionId) ?? Infinity);
  const sorted = [...holds].sort((a, b) => a.acquiredAtMs - b.acquiredAtMs);
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    for (let j = i + 1; j < sorted.length; j++) {
      const b = sorted[j]!;
      if (b.acquiredAtMs >= aliveUntil(a)) continue;
      if (b.acquiredAtMs < aliveUntil(b)) {
        return `two live holders: client ${a.clientId} (${a.node}, session 0x${a.sessionId.toString(16)}) from ${a.acquiredAtMs.toFixed(1)} to ${aliveUntil(a).toFixed(1)} ms and client ${b.clientId} (${b.node}, session 0x${b.sessionId.toString(16)}) from ${b.acquiredAtMs.toFixed(1)} ms`;
      }
    }
    const next = sorted[i + 1];
    if (next !== undefined && next.czxid <= a.czxid) {
      return `fencing token went backwards: client ${a.clientId} acquired at ${a.acquiredAtMs.toFixed(1)} ms with czxid 0x${a.czxid.toString(16)}, then client ${next.clientId} at ${next.acquiredAtMs.toFixed(1)} ms with 0x${next.czxid.toString(16)}`;
    }
  }
  return null;
}
