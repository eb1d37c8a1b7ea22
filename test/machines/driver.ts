/**
 * Shared harness of the model-based tests: drives a REAL role machine on a SimulatedClock, records
 * the effects it emits and every transition it takes, and checks that the model's paths together
 * took every transition and visited every state of the real chart.
 */
import { createActor, SimulatedClock } from 'xstate';
import type { AnyActorRef, AnyStateMachine, InspectionEvent, StateValue } from 'xstate';
import { expect } from 'vitest';
import { createTestModel, getAdjacencyMap } from '@xstate/graph';
import type { Effect } from '../../src/protocol/effects.js';

/** One transition of the real chart: a guarded alternative of one event (or `always`) of one state. */
export interface ChartTransition {
  readonly label: string;
  readonly definition: object;
}

/** One state node of the real chart, with the state value that means "this node is active". */
export interface ChartState {
  readonly id: string;
  readonly value: StateValue;
}

interface StateNodeLike {
  readonly id: string;
  readonly path: readonly string[];
  readonly states: Record<string, StateNodeLike>;
  readonly transitions: Map<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[];
}
interface TransitionLike {
  readonly eventType: string;
  readonly guard?: unknown;
  readonly target?: readonly { readonly id: string }[];
}

function guardName(guard: unknown): string {
  if (guard === undefined) return '';
  if (typeof guard === 'string') return `[${guard}]`;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return `[${String((guard as { type: unknown }).type)}]`;
  return '[inline]';
}

function describeTransition(source: StateNodeLike, t: TransitionLike): string {
  const event = t.eventType === '' ? 'always' : t.eventType.replace(/^xstate\.after\.([^.]+)\..*$/, 'after $1');
  const target = t.target === undefined ? '(stay)' : t.target.map((s) => s.id).join(',');
  return `${source.id} --${event}${guardName(t.guard)}--> ${target}`;
}

/** Every transition of `machine`, found by walking `machine.root` (delayed ones included). */
export function chartTransitions(machine: AnyStateMachine): ChartTransition[] {
  const out: ChartTransition[] = [];
  const walk = (node: StateNodeLike): void => {
    for (const list of node.transitions.values()) for (const t of list) out.push({ label: describeTransition(node, t), definition: t });
    for (const t of node.always ?? []) out.push({ label: describeTransition(node, t), definition: t });
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(machine.root as unknown as StateNodeLike);
  return out;
}

/** Every state node of `machine` except the root. */
export function chartStates(machine: AnyStateMachine): ChartState[] {
  const out: ChartState[] = [];
  const walk = (node: StateNodeLike): void => {
    for (const child of Object.values(node.states)) {
      out.push({ id: child.id, value: pathToValue(child.path) });
      walk(child);
    }
  };
  walk(machine.root as unknown as StateNodeLike);
  return out;
}

function pathToValue(path: readonly string[]): StateValue {
  let value: StateValue = path[path.length - 1]!;
  for (let i = path.length - 2; i >= 0; i--) value = { [path[i]!]: value };
  return value;
}

/** What the real machines visited and took, over many drivers (one per path). */
export class Coverage {
  readonly taken = new Set<object>();
  readonly visited = new Set<string>();
  readonly states: ChartState[];
  constructor(readonly machine: AnyStateMachine) {
    this.states = chartStates(machine);
  }

  /** Labels of chart transitions no driver took, and ids of states no driver entered. */
  gaps(): { transitions: string[]; states: string[] } {
    return {
      transitions: chartTransitions(this.machine).filter((t) => !this.taken.has(t.definition)).map((t) => t.label),
      states: this.states.filter((s) => !this.visited.has(s.id)).map((s) => s.id),
    };
  }
}

/** Drives one real actor; timers fire only through `fireTimer`, which checks their exact delay. */
export class RealDriver<TMachine extends AnyStateMachine> {
  readonly clock = new SimulatedClock();
  readonly actor: AnyActorRef;
  private effects: Effect[] = [];
  private timerEvents = 0;
  private readonly states: ChartState[];

  constructor(machine: TMachine, input: unknown, private readonly coverage?: Coverage) {
    this.states = coverage === undefined ? [] : coverage.states;
    // The inspector sees every microstep of this driver's own actor system (just the machine),
    // including the `always` steps taken while the actor is created, before `this.actor` is set.
    this.actor = createActor(machine, { input, clock: this.clock, inspect: (e: InspectionEvent) => this.onInspect(e) } as never);
    this.actor.on('*', (effect: unknown) => this.effects.push(effect as Effect));
    this.actor.start();
    this.noteVisited(this.actor.getSnapshot());
  }

  /** Effects emitted since the last call. */
  takeEffects(): Effect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }

  snapshot(): { value: StateValue; context: any; status: string } {
    return this.actor.getSnapshot();
  }

  send(event: object): void {
    this.actor.send(event as never);
  }

  /**
   * Advance virtual time by exactly `delayMs`: nothing may fire before it, and some timer must fire
   * at it. This is how a model's explicit timeout event becomes time for the real machine.
   */
  fireTimer(delayMs: number): void {
    if (!Number.isInteger(delayMs) || delayMs < 1) throw new Error(`timer delay must be a positive integer, got ${delayMs}`);
    const before = this.timerEvents;
    this.clock.increment(delayMs - 1);
    if (this.timerEvents !== before) throw new Error(`a timer fired before ${delayMs} ms`);
    this.clock.increment(1);
    if (this.timerEvents === before) throw new Error(`no timer fired at ${delayMs} ms`);
  }

  stop(): void {
    this.actor.stop();
  }

  private onInspect(e: InspectionEvent): void {
    if (e.type !== '@xstate.microstep') return;
    if (e.event.type.startsWith('xstate.after.')) this.timerEvents++;
    if (this.coverage === undefined) return;
    for (const t of e._transitions) {
      this.coverage.taken.add(t);
      // A transient state is never a snapshot at rest, but a transition out of it proves it active.
      this.coverage.visited.add((t as unknown as { source: { id: string } }).source.id);
    }
    this.noteVisited(e.snapshot as unknown as { matches(v: StateValue): boolean });
  }

  private noteVisited(snapshot: { matches(v: StateValue): boolean }): void {
    if (this.coverage === undefined) return;
    for (const s of this.states) if (snapshot.matches(s.value)) this.coverage.visited.add(s.id);
  }
}

/** Assert that paths covered the whole real chart, with a readable list of what was missed. */
export function expectFullCoverage(coverage: Coverage): void {
  const gaps = coverage.gaps();
  expect(gaps.transitions, 'real transitions no model path took').toEqual([]);
  expect(gaps.states, 'real states no model path entered').toEqual([]);
}

/** Set of voter ids in a bitmask over `voters` (the real machines count grants and acks this way). */
export function idsOfMask(voters: readonly number[], mask: number): number[] {
  return voters.filter((_, i) => (mask & (1 << i)) !== 0);
}

export interface ModelExploration<TSnapshot, TEvent> {
  readonly model: AnyStateMachine;
  readonly input: unknown;
  /** The events to try in a model state (concrete: epochs, ballots and slots filled in). */
  readonly events: (snapshot: TSnapshot) => TEvent[];
  /** States not to explore further (bounds the graph). */
  readonly stopWhen: (snapshot: TSnapshot) => boolean;
}

/** Graph traversal steps allowed: more means a model bug (an unbounded counter); fail fast instead of swapping. */
export const MAX_TRAVERSAL_STEPS = 20_000;

/**
 * The model's state as a graph node: its value and context without the effects of the step that
 * led there (those are that step's output, not state).
 */
export function stateKey(snapshot: { value: unknown; context: unknown }): string {
  const { effects: _effects, ...context } = snapshot.context as Record<string, unknown>;
  return JSON.stringify([snapshot.value, context]);
}

/** One step of a test case: a model event and the model state it leads to (the first: the start). */
export interface ModelStep<TSnapshot, TEvent> {
  readonly event: TEvent | null;
  readonly state: TSnapshot;
}

/**
 * Test cases that together take every edge of the model graph: from the shortest path (from
 * @xstate/graph) to each explored state, each event tried there. So every transition is tested,
 * including one into a state another path already reaches and one that leaves the model unchanged
 * (an ignored or stale message, which the real machine must ignore too); plain shortest paths only
 * reach every state. Edges that leave the model's state as it was are chained after one replay of
 * the path (each is still checked on its own, and the check proves the real machine stayed put);
 * every other edge gets a case of its own.
 *
 * The model state after each step comes from the graph's own edge (so with that edge's effects):
 * effects are a step's output, never an input, so a state's outgoing edges do not depend on them.
 */
export function edgeCases<TSnapshot extends { value: unknown; context: unknown }, TEvent extends { type: string }>(
  exploration: ModelExploration<TSnapshot, TEvent>,
): { readonly cases: ModelStep<TSnapshot, TEvent>[][]; readonly states: number; readonly edges: number } {
  const { prefixes, adjacency, initialKey } = explore(exploration);
  const cases: ModelStep<TSnapshot, TEvent>[][] = [];
  let edges = 0;
  for (const [key, prefixEvents] of prefixes) {
    const prefix = follow(adjacency, initialKey, prefixEvents);
    const loops: ModelStep<TSnapshot, TEvent>[] = [];
    for (const edge of Object.values(adjacency[key]?.transitions ?? {})) {
      edges++;
      const step = { event: edge.event, state: edge.state };
      if (stateKey(edge.state) === key) loops.push(step);
      else cases.push([...prefix, step]);
    }
    cases.push([...prefix, ...loops]);
  }
  return { cases, states: prefixes.size, edges };
}

/**
 * One test case per simple path (no state visited twice) of the model, from @xstate/graph's
 * getSimplePaths: every order in which the model can move through its states, for small models.
 */
export function simplePathCases<TSnapshot extends { value: unknown; context: unknown }, TEvent extends { type: string }>(
  exploration: ModelExploration<TSnapshot, TEvent>,
): ModelStep<TSnapshot, TEvent>[][] {
  const options = traversalOptions(exploration);
  const adjacency = getAdjacencyMap(exploration.model, options as never) as unknown as Adjacency<TSnapshot, TEvent>;
  const paths = createTestModel(exploration.model, { input: exploration.input } as never).getSimplePaths(options as never);
  const initialKey = Object.keys(adjacency)[0]!;
  return paths.map((path) =>
    follow(
      adjacency,
      initialKey,
      (path.steps as unknown as { event: TEvent }[]).map((s) => s.event).filter((e) => e.type !== 'xstate.init'),
    ),
  );
}

/** Steps along the graph from its initial state: each event's edge gives the state it leads to. */
function follow<TSnapshot extends { value: unknown; context: unknown }, TEvent extends { type: string }>(
  adjacency: Adjacency<TSnapshot, TEvent>,
  initialKey: string,
  events: readonly TEvent[],
): ModelStep<TSnapshot, TEvent>[] {
  const steps: ModelStep<TSnapshot, TEvent>[] = [{ event: null, state: adjacency[initialKey]!.state }];
  let key = initialKey;
  for (const event of events) {
    const edge = adjacency[key]?.transitions[JSON.stringify(event)];
    if (edge === undefined) throw new Error(`the model graph has no edge ${JSON.stringify(event)} from ${key}`);
    steps.push({ event, state: edge.state });
    key = stateKey(edge.state);
  }
  return steps;
}

/** The events of the shortest path to every state of the model (random walks start from these). */
export function statePaths<TSnapshot extends { value: unknown; context: unknown }, TEvent extends { type: string }>(
  exploration: ModelExploration<TSnapshot, TEvent>,
): TEvent[][] {
  return [...explore(exploration).prefixes.values()];
}

function traversalOptions<TSnapshot, TEvent>(exploration: ModelExploration<TSnapshot, TEvent>) {
  return {
    input: exploration.input,
    events: exploration.events,
    stopWhen: exploration.stopWhen,
    serializeState: stateKey,
    serializeEvent: (event: TEvent) => JSON.stringify(event),
    // One path per state, even where it is the prefix of another.
    allowDuplicatePaths: true,
    limit: MAX_TRAVERSAL_STEPS,
  };
}

type Adjacency<TSnapshot, TEvent> = Record<
  string,
  { state: TSnapshot; transitions: Record<string, { event: TEvent; state: TSnapshot & { value: unknown; context: unknown } }> }
>;

function explore<TSnapshot extends { value: unknown; context: unknown }, TEvent extends { type: string }>(
  exploration: ModelExploration<TSnapshot, TEvent>,
): { prefixes: Map<string, TEvent[]>; adjacency: Adjacency<TSnapshot, TEvent>; initialKey: string } {
  const options = traversalOptions(exploration);
  // createTestModel also checks the model is fit for it (no `after`, `invoke` or delayed actions).
  // Passing `events` to getShortestPaths replaces createTestModel's default of one bare event per
  // handled type, which would offer, for instance, a timer that is not due.
  const paths = createTestModel(exploration.model, { input: exploration.input } as never).getShortestPaths(options as never);
  const adjacency = getAdjacencyMap(exploration.model, options as never) as unknown as Adjacency<TSnapshot, TEvent>;
  const prefixes = new Map<string, TEvent[]>();
  let initialKey = '';
  for (const path of paths) {
    const events = (path.steps as unknown as { event: TEvent }[]).map((s) => s.event).filter((e) => e.type !== 'xstate.init');
    const key = stateKey(path.state as unknown as TSnapshot);
    prefixes.set(key, events);
    if (events.length === 0) initialKey = key;
  }
  return { prefixes, adjacency, initialKey };
}

/** Compare plain data fast; fall back to vitest's diff only when they differ. */
export function expectSame(observed: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(observed) === JSON.stringify(expected)) return;
  expect(observed, what).toEqual(expected);
}

/** Replay one case on a fresh real driver: check the start, then each event against the state it leads to. */
export function replayCase<TDriver, TSnapshot, TEvent extends { type: string }>(
  steps: readonly ModelStep<TSnapshot, TEvent>[],
  driver: TDriver,
  perform: (driver: TDriver, event: TEvent) => void,
  check: (driver: TDriver, state: TSnapshot) => void,
): void {
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    try {
      if (step.event !== null) perform(driver, step.event);
      check(driver, step.state);
    } catch (error) {
      const trail = steps.slice(1, i + 1).map((s) => JSON.stringify(s.event)).join('\n  ');
      (error as Error).message += `\nafter the model events:\n  ${trail || '(none: the initial state)'}`;
      throw error;
    }
  }
}

/**
 * A random walk: replay `prefix` (to a reachable state), then turn each abstract step into a
 * concrete event for the model's current state (null: skip it) and check after every event.
 */
export function randomWalk<TDriver, TSnapshot, TEvent extends { type: string }, TStep>(options: {
  readonly model: AnyStateMachine;
  readonly modelInput: unknown;
  readonly driver: TDriver;
  readonly prefix: readonly TEvent[];
  readonly steps: readonly TStep[];
  readonly concrete: (step: TStep, state: TSnapshot) => TEvent | null;
  readonly perform: (driver: TDriver, event: TEvent) => void;
  readonly check: (driver: TDriver, state: TSnapshot) => void;
}): void {
  const modelActor = createActor(options.model, { input: options.modelInput }).start();
  const done: TEvent[] = [];
  const apply = (event: TEvent): void => {
    done.push(event);
    modelActor.send(event as never);
    options.perform(options.driver, event);
    options.check(options.driver, modelActor.getSnapshot() as TSnapshot);
  };
  try {
    options.check(options.driver, modelActor.getSnapshot() as TSnapshot);
    for (const event of options.prefix) apply(event);
    for (const step of options.steps) {
      const event = options.concrete(step, modelActor.getSnapshot() as TSnapshot);
      if (event !== null) apply(event);
    }
  } catch (error) {
    (error as Error).message += `\nafter the model events:\n  ${done.map((e) => JSON.stringify(e)).join('\n  ') || '(none)'}`;
    throw error;
  } finally {
    modelActor.stop();
  }
}
