/**
 * The in-memory bus: a simulated network on virtual time with a seeded fault model — drop,
 * duplicate, delay (with jitter, so messages reorder) and partitions of any shape. Messages a node
 * sends to itself are never faulted (they do not cross a network).
 */
import { Subject } from 'rxjs';
import type { Observable } from 'rxjs';
import type { NodeId } from '../protocol/ids.js';
import type { SeededRandom } from '../protocol/random.js';
import type { Bus, Envelope } from './types.js';

export interface NetworkFaults {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  duplicateRate: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export const RELIABLE_NETWORK: NetworkFaults = Object.freeze({ dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 1 });

/** What the network needs of virtual time. */
export interface NetworkScheduler {
  schedule(delayMs: number, fn: () => void): unknown;
}

export interface NetworkObserver {
  onSend?(env: Envelope, fate: 'queued' | 'dropped' | 'partitioned'): void;
  onDeliver?(env: Envelope): void;
}

export class MemoryBus<M extends { readonly type: string }> implements Bus<M> {
  private readonly inboxes = new Map<NodeId, Subject<Envelope<M>>>();
  /** Partition group of each node; nodes absent from the map reach everyone. */
  private group = new Map<NodeId, number>();
  faults: NetworkFaults;
  observer: NetworkObserver | undefined;
  delivered = 0;

  constructor(
    private readonly scheduler: NetworkScheduler,
    private readonly random: SeededRandom,
    faults: NetworkFaults = RELIABLE_NETWORK,
  ) {
    this.faults = { ...faults };
  }

  inbox(node: NodeId): Observable<Envelope<M>> {
    return this.subjectOf(node).asObservable();
  }

  send(env: Envelope<M>): void {
    if (env.from === env.to) {
      this.scheduler.schedule(0, () => this.deliver(env));
      return;
    }
    if (this.isCut(env.from, env.to)) {
      this.observer?.onSend?.(env, 'partitioned');
      return;
    }
    const f = this.faults;
    if (this.random.chance(f.dropRate)) {
      this.observer?.onSend?.(env, 'dropped');
      return;
    }
    this.observer?.onSend?.(env, 'queued');
    this.scheduler.schedule(this.delay(), () => this.deliverUnlessCut(env));
    if (this.random.chance(f.duplicateRate)) this.scheduler.schedule(this.delay(), () => this.deliverUnlessCut(env));
  }

  /** Split the nodes into groups that cannot reach each other; unlisted nodes reach everyone. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.group = new Map();
    groups.forEach((g, i) => g.forEach((n) => this.group.set(n, i)));
  }

  heal(): void {
    this.group = new Map();
  }

  isCut(a: NodeId, b: NodeId): boolean {
    const ga = this.group.get(a);
    const gb = this.group.get(b);
    return ga !== undefined && gb !== undefined && ga !== gb;
  }

  close(): void {
    for (const s of this.inboxes.values()) s.complete();
    this.inboxes.clear();
  }

  private delay(): number {
    const { minDelayMs, maxDelayMs } = this.faults;
    return maxDelayMs <= minDelayMs ? minDelayMs : minDelayMs + this.random.next() * (maxDelayMs - minDelayMs);
  }

  private deliverUnlessCut(env: Envelope<M>): void {
    if (this.isCut(env.from, env.to)) return; // a partition that began in flight
    this.deliver(env);
  }

  private deliver(env: Envelope<M>): void {
    this.delivered++;
    this.observer?.onDeliver?.(env);
    this.inboxes.get(env.to)?.next(env);
  }

  private subjectOf(node: NodeId): Subject<Envelope<M>> {
    let s = this.inboxes.get(node);
    if (s === undefined) {
      s = new Subject();
      this.inboxes.set(node, s);
    }
    return s;
  }
}
