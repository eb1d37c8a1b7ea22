/**
 * The event stream in the shape of Stately's inspection protocol (@statelyai/inspect, the
 * messages its WebSocket inspector and `createInspectorServer` relay carry), so Stately tools can
 * attach to a running inspector: `createWebSocketReceiver({ server: 'ws://127.0.0.1:PORT/stately' })`
 * receives one JSON message per WebSocket text frame.
 *
 * Three message types, each with `type`, `sessionId` (the actor), `rootId`, `id` (unique per
 * message), `createdAt` (real time, ms since the epoch, as a string) and `_version`:
 * - `@xstate.actor`: an actor exists. `name`, `parentId`, `definition` (the machine config as JSON,
 *   functions replaced by `{ type: name }`, as @statelyai/inspect does) and `snapshot`.
 * - `@xstate.snapshot`: an actor's new snapshot (`{ status, value, context }`) and the `event` that
 *   caused it (`{ type }`: the delivered message type, or `timer`).
 * - `@xstate.event`: an event sent to actor `sessionId` from actor `sourceId`.
 *
 * Actors: each node is a root actor `n<id>` (its snapshot's value is its role); its role machines
 * are children `n<id>.<machine>#<generation>` (a new generation after a restart or a new
 * leadership term); simulated clients are root actors `client<id>`. A delivered peer message is an
 * `@xstate.event` from the sending machine to the receiving one. Contexts are copied with bounds
 * (MAX_CONTEXT_ENTRIES per collection, MAX_CONTEXT_DEPTH levels): an acceptor's accepted log would
 * otherwise grow without limit.
 */
import type { AnyStateMachine } from 'xstate';
import type { NodeId } from '../../protocol/ids.js';
import { MAX_CONTEXT_DEPTH, MAX_CONTEXT_ENTRIES, STATELY_PROTOCOL_VERSION } from './constants.js';
import { isClient, nodeActorId } from './messages.js';
import type { ClusterView, MachineName, SourceEvent } from './types.js';

interface Base {
  readonly sessionId: string;
  readonly rootId: string | undefined;
  readonly createdAt: string;
  readonly id: string;
  readonly _version: string;
}
export interface StatelyActorEvent extends Base {
  readonly type: '@xstate.actor';
  readonly name: string;
  readonly parentId: string | undefined;
  readonly definition: string | undefined;
  readonly snapshot: StatelySnapshot;
}
export interface StatelySnapshotEvent extends Base {
  readonly type: '@xstate.snapshot';
  readonly snapshot: StatelySnapshot;
  readonly event: { readonly type: string; readonly [key: string]: unknown };
}
export interface StatelyEventEvent extends Base {
  readonly type: '@xstate.event';
  readonly sourceId: string | undefined;
  readonly event: { readonly type: string; readonly [key: string]: unknown };
}
export type StatelyInspectionEvent = StatelyActorEvent | StatelySnapshotEvent | StatelyEventEvent;

export interface StatelySnapshot {
  readonly status: string;
  readonly value?: unknown;
  readonly context?: unknown;
}

/**
 * A JSON-safe, bounded copy: Maps become objects (their last MAX_CONTEXT_ENTRIES entries), Sets
 * and long arrays keep their last entries behind a `… N earlier` marker, functions become their
 * names, bigints strings, cycles and depth past the limit `…`.
 */
export function toJsonSafe(value: unknown, depth = MAX_CONTEXT_DEPTH, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'undefined') return undefined;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value !== 'object') return String(value);
  if (depth <= 0 || seen.has(value)) return '…';
  seen.add(value);
  try {
    const tail = <T>(items: T[]): { items: T[]; skipped: number } => {
      const skipped = Math.max(0, items.length - MAX_CONTEXT_ENTRIES);
      return { items: skipped > 0 ? items.slice(skipped) : items, skipped };
    };
    if (value instanceof Map) {
      const { items, skipped } = tail([...value.entries()]);
      const out: Record<string, unknown> = {};
      if (skipped > 0) out['…'] = `${skipped} earlier entries`;
      for (const [k, v] of items) out[typeof k === 'string' ? k : JSON.stringify(toJsonSafe(k, 2))] = toJsonSafe(v, depth - 1, seen);
      return out;
    }
    if (value instanceof Set || Array.isArray(value)) {
      const { items, skipped } = tail([...(value as Iterable<unknown>)]);
      const out = items.map((v) => toJsonSafe(v, depth - 1, seen) ?? null);
      return skipped > 0 ? [`… ${skipped} earlier`, ...out] : out;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const copy = toJsonSafe(v, depth - 1, seen);
      if (copy !== undefined) out[k] = copy;
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** A machine's config as @statelyai/inspect sends it: JSON, functions as `{ type: name }`. */
export function machineDefinition(machine: AnyStateMachine): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(machine.config, (_key, value: unknown) => {
    if (typeof value === 'function') return { type: value.name || 'anonymous' };
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return undefined;
      seen.add(value);
    }
    return value;
  });
}

function snapshotOf(raw: unknown): StatelySnapshot {
  if (typeof raw !== 'object' || raw === null) return { status: 'active' };
  const s = raw as { status?: unknown; value?: unknown; context?: unknown };
  return {
    status: typeof s.status === 'string' ? s.status : 'active',
    value: toJsonSafe(s.value),
    context: toJsonSafe(s.context),
  };
}

/** Turns source events into Stately inspection messages (JSON strings, one per frame). */
export class StatelyEncoder {
  private sequence = 0;
  private readonly definitions = new Map<MachineName, string>();
  private readonly clients = new Set<NodeId>();

  constructor(machines: Partial<Record<MachineName, AnyStateMachine>>) {
    for (const [name, machine] of Object.entries(machines) as [MachineName, AnyStateMachine][]) {
      this.definitions.set(name, machineDefinition(machine));
    }
  }

  /** Registration of every actor in the view: what a Stately tool that connects now needs first. */
  registrations(view: ClusterView, snapshot: (node: NodeId, machine: MachineName) => unknown): string[] {
    const out: string[] = [];
    for (const node of view.nodes) {
      out.push(this.message(this.nodeActor(node.id, node.up, node.role, { epoch: node.epoch, appliedSlot: node.appliedSlot, leader: node.leader })));
      for (const [machine, m] of Object.entries(node.machines) as [MachineName, NonNullable<(typeof node.machines)[MachineName]>][]) {
        const raw = snapshot(node.id, machine) ?? { status: m.status, value: m.value };
        out.push(this.message(this.machineActor(node.id, machine, m.actorId, raw)));
      }
    }
    for (const client of this.clients) out.push(this.message(this.clientActor(client)));
    return out;
  }

  /** Forget the clients seen (after a reset, registrations start over). */
  reset(): void {
    this.clients.clear();
  }

  encode(e: SourceEvent): string[] {
    switch (e.kind) {
      case 'actor':
        if (e.phase === 'started') return [this.message(this.machineActor(e.node, e.machine, e.actorId, e.snapshot))];
        return [this.message(this.snapshotEvent(e.actorId, nodeActorId(e.node), { status: 'stopped' }, { type: 'xstate.stop' }))];
      case 'transition':
        return [this.message(this.snapshotEvent(e.actorId, nodeActorId(e.node), snapshotOf(e.snapshot ?? { value: e.to }), { type: e.cause, atMs: e.atMs }))];
      case 'role':
        return [
          this.message(
            this.snapshotEvent(
              nodeActorId(e.node),
              nodeActorId(e.node),
              { status: e.up ? 'active' : 'stopped', value: e.role, context: { epoch: e.epoch, activeLeader: e.activeLeader } },
              { type: e.up ? 'roleChanged' : 'crash', atMs: e.atMs },
            ),
          ),
        ];
      case 'message': {
        if (e.phase !== 'delivered') return [];
        const out: string[] = [];
        for (const id of [e.from, e.to]) {
          if (isClient(id) && !this.clients.has(id)) {
            this.clients.add(id);
            out.push(this.message(this.clientActor(id)));
          }
        }
        out.push(
          this.message({
            type: '@xstate.event',
            sessionId: e.toActor,
            sourceId: e.fromActor,
            rootId: nodeActorId(e.to),
            event: { type: e.type, summary: e.summary, from: e.from, to: e.to, sentAtMs: e.sentAtMs, atMs: e.atMs },
            ...this.base(),
          }),
        );
        return out;
      }
      case 'note':
      case 'reset':
        return [];
    }
  }

  private base(): { createdAt: string; id: string; _version: string } {
    return { createdAt: Date.now().toString(), id: `sk-${++this.sequence}`, _version: STATELY_PROTOCOL_VERSION };
  }

  private message(e: StatelyInspectionEvent): string {
    return JSON.stringify(e);
  }

  private nodeActor(node: NodeId, up: boolean, role: string, context: Record<string, unknown>): StatelyActorEvent {
    const id = nodeActorId(node);
    return {
      type: '@xstate.actor',
      sessionId: id,
      rootId: id,
      name: id,
      parentId: undefined,
      definition: JSON.stringify({ id }),
      snapshot: { status: up ? 'active' : 'stopped', value: role, context },
      ...this.base(),
    };
  }

  private clientActor(client: NodeId): StatelyActorEvent {
    const id = nodeActorId(client);
    return { type: '@xstate.actor', sessionId: id, rootId: id, name: id, parentId: undefined, definition: JSON.stringify({ id }), snapshot: { status: 'active' }, ...this.base() };
  }

  private machineActor(node: NodeId, machine: MachineName, actorId: string, raw: unknown): StatelyActorEvent {
    const parent = nodeActorId(node);
    return {
      type: '@xstate.actor',
      sessionId: actorId,
      rootId: parent,
      name: machine,
      parentId: parent,
      definition: this.definitions.get(machine),
      snapshot: snapshotOf(raw),
      ...this.base(),
    };
  }

  private snapshotEvent(sessionId: string, rootId: string, snapshot: StatelySnapshot, event: { type: string; [key: string]: unknown }): StatelySnapshotEvent {
    return { type: '@xstate.snapshot', sessionId, rootId, snapshot, event, ...this.base() };
  }
}
