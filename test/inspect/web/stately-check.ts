/**
 * Reads an inspection stream with Stately's own client code (`createWebSocketReceiver` from
 * @statelyai/inspect) and checks each message the way the Stately inspector uses it: every actor
 * is registered before anything names it (a child after its parent), each definition is a machine
 * config XState accepts, and every snapshot value is a state of its actor's machine (the UI draws
 * the definition and lights the value in it).
 */
import { createWebSocketReceiver } from '@statelyai/inspect';
import { createMachine } from 'xstate';
import type { AnyStateMachine } from 'xstate';

interface ActorInfo {
  readonly machine: AnyStateMachine | undefined;
  readonly parentId: string | undefined;
}

type Message = { type: string; [key: string]: any };

export class StatelyCheck {
  readonly actors = new Map<string, ActorInfo>();
  readonly messages: Message[] = [];
  readonly problems: string[] = [];
  private waiters: (() => void)[] = [];

  /** Subscribes Stately's WebSocket receiver to `url` (ws://…/stately). */
  constructor(url: string) {
    const receiver = createWebSocketReceiver({ server: url });
    receiver.subscribe((m: unknown) => this.accept(m as Message));
  }

  count(type: string): number {
    return this.messages.filter((m) => m.type === type).length;
  }

  /** Resolves once `test` holds (checked after each message), or throws after `timeoutMs`. */
  async until(what: string, test: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${this.messages.length} messages, problems: ${this.problems.slice(0, 3).join('; ')})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  private accept(m: Message): void {
    this.messages.push(m);
    const where = `${m.type} ${String(m.sessionId)}`;
    const problem = (text: string): void => void this.problems.push(`${where}: ${text}`);
    if (typeof m._version !== 'string' || typeof m.sessionId !== 'string' || typeof m.createdAt !== 'string' || !/^\d+$/.test(m.createdAt)) problem('missing _version, sessionId or createdAt');
    switch (m.type) {
      case '@xstate.actor': {
        if (m.parentId !== undefined && !this.actors.has(m.parentId)) problem(`parent ${m.parentId} not registered before its child`);
        if (m.rootId !== undefined && m.rootId !== m.sessionId && !this.actors.has(m.rootId)) problem(`root ${m.rootId} not registered`);
        let machine: AnyStateMachine | undefined;
        try {
          machine = createMachine(JSON.parse(m.definition));
        } catch (error) {
          problem(`definition is not a machine config: ${(error as Error).message}`);
        }
        this.actors.set(m.sessionId, { machine, parentId: m.parentId });
        this.checkValue(machine, m.snapshot, problem);
        break;
      }
      case '@xstate.snapshot': {
        const actor = this.actors.get(m.sessionId);
        if (actor === undefined) problem('snapshot of an actor never registered');
        if (typeof m.event?.type !== 'string') problem('snapshot without the event that caused it');
        this.checkValue(actor?.machine, m.snapshot, problem);
        break;
      }
      case '@xstate.event':
        if (!this.actors.has(m.sessionId)) problem('event to an actor never registered');
        if (m.sourceId !== undefined && !this.actors.has(m.sourceId)) problem(`event from ${m.sourceId}, never registered`);
        if (typeof m.event?.type !== 'string') problem('event without a type');
        break;
      default:
        problem('not a Stately inspection message');
    }
    for (const w of this.waiters.splice(0)) w();
  }

  private checkValue(machine: AnyStateMachine | undefined, snapshot: { value?: unknown; status?: unknown } | undefined, problem: (text: string) => void): void {
    if (typeof snapshot?.status !== 'string') problem('snapshot without a status');
    if (machine === undefined || snapshot?.value === undefined) return;
    try {
      machine.resolveState({ value: snapshot.value as string, context: {} });
    } catch (error) {
      problem(`value ${JSON.stringify(snapshot.value)} is not a state of ${machine.id}: ${(error as Error).message}`);
    }
  }
}
