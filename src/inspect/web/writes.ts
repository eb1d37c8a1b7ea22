/**
 * Client writes submitted from the inspector page: one simulated client on the cluster's bus.
 *
 * SimCluster's own clients exist only inside `run()` (they come with the scenario's load), so the
 * inspector brings its own, with the same behaviour: send to the believed leader, follow a
 * "not leader" reply's hint, and resend every unacknowledged command periodically. Its timers run
 * on the cluster's virtual clock, so writes move with the simulation (and stop when it pauses).
 */
import type { Subscription } from 'rxjs';
import type { NodeId } from '../../protocol/ids.js';
import type { Command, PeerMessage } from '../../protocol/messages.js';
import { FIRST_CLIENT_ID } from '../../sim/cluster.js';
import type { SimCluster } from '../../sim/cluster.js';

/** Virtual time before an unacknowledged write is sent again, to the next node. */
export const WRITE_RETRY_MS = 200;
/** Virtual pause before following a "not leader" redirect, so an election can finish. */
export const WRITE_REDIRECT_MS = 10;

export class WriteClient {
  /** Above the ids SimCluster gives its scenario clients, so the two never collide. */
  readonly id: NodeId = FIRST_CLIENT_ID + 100;
  private readonly unacked = new Map<string, Command>();
  private readonly subscription: Subscription;
  private target: NodeId;
  private sequence = 0;
  private retryScheduled = false;
  submitted = 0;
  acknowledged = 0;

  constructor(private readonly cluster: SimCluster) {
    this.target = cluster.nodeIds[0] ?? 1;
    this.subscription = cluster.bus.inbox(this.id).subscribe((env) => this.onReply(env.from, env.msg));
  }

  /** Send `count` new writes (`w1`, `w2`, …) to the node believed to lead. */
  submit(count: number): string[] {
    const leader = this.cluster.nodeIds.find((id) => this.cluster.node(id)?.isActiveLeader === true);
    if (leader !== undefined) this.target = leader;
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      this.sequence++;
      const command: Command = { id: `w${this.sequence}`, payload: `v${this.sequence}` };
      this.unacked.set(command.id, command);
      this.submitted++;
      ids.push(command.id);
      this.send(command);
    }
    this.scheduleRetry();
    return ids;
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  private send(command: Command): void {
    this.cluster.bus.send({ from: this.id, to: this.target, msg: { type: 'ClientRequest', command } });
  }

  private onReply(from: NodeId, msg: PeerMessage): void {
    if (msg.type !== 'ClientReply') return;
    const command = this.unacked.get(msg.commandId);
    if (command === undefined) return;
    if (msg.ok) {
      this.unacked.delete(msg.commandId);
      this.acknowledged++;
      this.target = from;
      return;
    }
    this.target = msg.leaderHint ?? this.nextNode(from);
    this.cluster.scheduler.schedule(WRITE_REDIRECT_MS, () => {
      if (this.unacked.has(command.id)) this.send(command);
    });
  }

  private scheduleRetry(): void {
    if (this.retryScheduled || this.unacked.size === 0) return;
    this.retryScheduled = true;
    this.cluster.scheduler.schedule(WRITE_RETRY_MS, () => {
      this.retryScheduled = false;
      if (this.unacked.size === 0) return;
      this.target = this.nextNode(this.target);
      for (const command of this.unacked.values()) this.send(command);
      this.scheduleRetry();
    });
  }

  /** The node after `after` in id order, wrapping: a silent node is skipped on the next retry. */
  private nextNode(after: NodeId): NodeId {
    const ids = this.cluster.nodeIds;
    const i = ids.indexOf(after);
    return ids[(i + 1) % ids.length] ?? after;
  }
}
