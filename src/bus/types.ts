import type { Observable } from 'rxjs';
import type { NodeId } from '../protocol/ids.js';

/** What crosses a bus: a plain, serializable message from one node to another. */
export interface Envelope<M extends { readonly type: string } = { readonly type: string }> {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly msg: M;
}

/**
 * A message bus between nodes. The in-memory bus (simulated network) and the TCP bus (real
 * network) both implement it, so a node cannot tell them apart.
 *
 * Delivery is best effort: messages may be lost, duplicated, delayed or reordered. The protocol
 * machines are written for that; the bus never promises more.
 */
export interface Bus<M extends { readonly type: string } = { readonly type: string }> {
  /** Queue `env` for delivery to `env.to`. Never throws for an unreachable peer: it drops. */
  send(env: Envelope<M>): void;
  /** Messages addressed to `node`, in delivery order. */
  inbox(node: NodeId): Observable<Envelope<M>>;
  /** Release sockets, timers and subscriptions. */
  close(): void;
}
