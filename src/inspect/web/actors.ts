/**
 * Actor names of simulated clusters: simulated clients have ids from FIRST_CLIENT_ID up. Kept apart
 * from messages.ts so a real node's recorder can summarize messages without loading the simulator.
 */
import type { NodeId } from '../../protocol/ids.js';
import { FIRST_CLIENT_ID } from '../../sim/cluster.js';

/** Whether a simulated endpoint is a client rather than a node. */
export function isClient(id: NodeId): boolean {
  return id >= FIRST_CLIENT_ID;
}

/** Actor id of a node as a whole (the parent of its machines in Stately tools), or of a client. */
export function nodeActorId(id: NodeId): string {
  return isClient(id) ? `client${id}` : `n${id}`;
}
