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
 * Actors: each node is a root actor `n<id>` whose definition has one state per role
 * (NODE_ACTOR_ROLES) and whose snapshot's value is its role; its role machines are children
 * `n<id>.<machine>#<generation>` (a new generation after a restart or a new leadership term);
 * clients are root actors `client<id>`, registered the first time a message names them. A delivered
 * peer message is an `@xstate.event` from the sending machine to the receiving one. Every actor a
 * message names is registered (`@xstate.actor`) before that message, as XState's own inspection
 * does. Contexts are copied with bounds
 * (MAX_CONTEXT_ENTRIES per collection, MAX_CONTEXT_DEPTH levels): an acceptor's accepted log would
 * otherwise grow without limit.
 */
import type { AnyStateMachine } from 'xstate';
import type { NodeId } from '../../protocol/ids.js';
import { MAX_CONTEXT_DEPTH, MAX_CONTEXT_ENTRIES, STATELY_PROTOCOL_VERSION } from './constants.js';
import type { ClusterView, MachineName, SourceEvent } from './types.js';

/**
 * The states of a node actor: its role. A node is not an XState machine of its own, but Stately
 * tools draw every actor from its definition and place its snapshot's value in it, so the node's
 * definition must have a state for every role it can report.
 */
export const NODE_ACTOR_ROLES = ['follower', 'candidate', 'leader', 'observer', 'recovering', 'down', 'unknown'] as const;

function memberActorId(id: NodeId): string {
  return `n${id}`;
}

/** A role as a node actor state: roles outside NODE_ACTOR_ROLES (there should be none) become `unknown`. */
function roleState(role: string): string {
  return (NODE_ACTOR_ROLES as readonly string[]).includes(role) ? role : 'unknown';
}

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
  /** Root actors registered because a message named them (clients): re-registered for a new viewer. */
  private readonly clients = new Set<string>();
  /** Every actor registered since the last `registrations` or `reset`. */
  private readonly registered = new Set<string>();

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
    for (const client of this.clients) out.push(this.message(this.rootActor(client)));
    return out;
  }

  /** Forget the clients seen (after a reset, registrations start over). */
  reset(): void {
    this.clients.clear();
    this.registered.clear();
  }

  encode(e: SourceEvent): string[] {
    switch (e.kind) {
      case 'actor': {
        if (e.phase === 'started') return [this.message(this.machineActor(e.node, e.machine, e.actorId, e.snapshot))];
        if (!this.registered.has(e.actorId)) return [];
        return [this.message(this.snapshotEvent(e.actorId, memberActorId(e.node), { status: 'stopped' }, { type: 'xstate.stop' }))];
      }
      case 'transition': {
        const out: string[] = [];
        // An actor this viewer has not seen (it connected mid-run and the view lagged): register it first.
        if (!this.registered.has(e.actorId)) out.push(this.message(this.machineActor(e.node, e.machine, e.actorId, e.snapshot ?? { value: e.to })));
        out.push(this.message(this.snapshotEvent(e.actorId, memberActorId(e.node), snapshotOf(e.snapshot ?? { value: e.to }), { type: e.cause, atMs: e.atMs })));
        return out;
      }
      case 'role': {
        const id = memberActorId(e.node);
        const out: string[] = [];
        if (!this.registered.has(id)) out.push(this.message(this.nodeActor(e.node, e.up, e.role, {})));
        out.push(
          this.message(
            this.snapshotEvent(
              id,
              id,
              { status: e.up ? 'active' : 'stopped', value: roleState(e.up ? e.role : 'down'), context: { epoch: e.epoch, activeLeader: e.activeLeader } },
              { type: e.up ? 'roleChanged' : 'crash', atMs: e.atMs },
            ),
          ),
        );
        return out;
      }
      case 'message': {
        if (e.phase !== 'delivered') return [];
        const out: string[] = [];
        const [source, target] = [this.knownActor(e.fromActor, out), this.knownActor(e.toActor, out)];
        out.push(
          this.message({
            type: '@xstate.event',
            sessionId: target,
            sourceId: source,
            rootId: rootOf(target),
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

  /**
   * An actor a message may name: itself once registered; a machine this viewer has not seen
   * registered is replaced by its node; an unknown root actor (a client) is registered now.
   */
  private knownActor(actor: string, out: string[]): string {
    if (this.registered.has(actor)) return actor;
    const root = rootOf(actor);
    if (root !== actor && this.registered.has(root)) return root;
    const node = /^n(\d+)$/.exec(root);
    if (node !== null) out.push(this.message(this.nodeActor(Number(node[1]), true, 'unknown', {})));
    else {
      this.clients.add(root);
      out.push(this.message(this.rootActor(root)));
    }
    return root;
  }

  private base(): { createdAt: string; id: string; _version: string } {
    return { createdAt: Date.now().toString(), id: `sk-${++this.sequence}`, _version: STATELY_PROTOCOL_VERSION };
  }

  private message(e: StatelyInspectionEvent): string {
    if (e.type === '@xstate.actor') this.registered.add(e.sessionId);
    return JSON.stringify(e);
  }

  private nodeActor(node: NodeId, up: boolean, role: string, context: Record<string, unknown>): StatelyActorEvent {
    const id = memberActorId(node);
    const states = Object.fromEntries(NODE_ACTOR_ROLES.map((r) => [r, {}]));
    return {
      type: '@xstate.actor',
      sessionId: id,
      rootId: id,
      name: id,
      parentId: undefined,
      definition: JSON.stringify({ id, initial: 'follower', states }),
      snapshot: { status: up ? 'active' : 'stopped', value: roleState(up ? role : 'down'), context },
      ...this.base(),
    };
  }

  /** A root actor with no states of its own (a client). */
  private rootActor(id: string): StatelyActorEvent {
    return { type: '@xstate.actor', sessionId: id, rootId: id, name: id, parentId: undefined, definition: JSON.stringify({ id }), snapshot: { status: 'active' }, ...this.base() };
  }

  private machineActor(node: NodeId, machine: MachineName, actorId: string, raw: unknown): StatelyActorEvent {
    const parent = memberActorId(node);
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

/** The root actor of an actor id: `n2.proposer#3` belongs to `n2`; a root actor is its own root. */
function rootOf(actorId: string): string {
  const dot = actorId.indexOf('.');
  return dot < 0 ? actorId : actorId.slice(0, dot);
}
