/** The trace of a simulated run: what `statekeeper replay` steps through and compares. */
import type { NodeId } from '../protocol/ids.js';

export type TraceEvent =
  | { t: number; kind: 'deliver'; from: NodeId; to: NodeId; msg: string }
  | { t: number; kind: 'state'; node: NodeId; machine: string; state: string }
  | { t: number; kind: 'role'; node: NodeId; role: string; epoch: number }
  | { t: number; kind: 'active'; node: NodeId; ballot: string; baseSlot: number }
  | { t: number; kind: 'apply'; node: NodeId; slot: number; key: string }
  | { t: number; kind: 'request'; client: NodeId; to: NodeId; id: string }
  | { t: number; kind: 'reply'; client: NodeId; from: NodeId; id: string; ok: boolean }
  | { t: number; kind: 'fault'; fault: string }
  | { t: number; kind: 'start'; node: NodeId; applied: number }
  | { t: number; kind: 'install'; node: NodeId; slot: number };

export function formatTraceEvent(e: TraceEvent): string {
  const t = e.t.toFixed(3).padStart(10);
  switch (e.kind) {
    case 'deliver':
      return `${t}  n${e.from} -> n${e.to}  ${e.msg}`;
    case 'state':
      return `${t}  n${e.node} ${e.machine} => ${e.state}`;
    case 'role':
      return `${t}  n${e.node} became ${e.role} at epoch ${e.epoch}`;
    case 'active':
      return `${t}  n${e.node} proposer active, ballot ${e.ballot}, base slot ${e.baseSlot}`;
    case 'apply':
      return `${t}  n${e.node} applies slot ${e.slot}: ${e.key}`;
    case 'request':
      return `${t}  client ${e.client} -> n${e.to}  request ${e.id}`;
    case 'reply':
      return `${t}  n${e.from} -> client ${e.client}  reply ${e.id} ${e.ok ? 'ok' : 'not leader'}`;
    case 'fault':
      return `${t}  FAULT ${e.fault}`;
    case 'start':
      return `${t}  n${e.node} starts (recovered up to slot ${e.applied})`;
    case 'install':
      return `${t}  n${e.node} installs a snapshot up to slot ${e.slot}`;
  }
}
