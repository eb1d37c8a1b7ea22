/**
 * bench:sim — how fast the simulator runs the real machines, from one run of this script:
 *  1. raw XState event throughput of a role machine (an acceptor taking accept requests),
 *  2. simulated message deliveries per second over randomized 5-node runs with faults on,
 *  3. such runs (200 commands each) per minute.
 * The simulator must not be the bottleneck: deliveries/s over machine events/s should stay >= 0.5.
 */
import { createActor } from 'xstate';
import { acceptorMachine } from '../machines/acceptor/machine.js';
import { ZERO_BALLOT } from '../src/protocol/ids.js';
import type { Entry } from '../src/protocol/messages.js';
import { randomScenario } from '../src/sim/scenario.js';
import { runScenario, runSeed } from '../src/sim/runner.js';

const MACHINE_EVENTS = Number(process.env.BENCH_MACHINE_EVENTS ?? 300_000);
const SIM_RUNS = Number(process.env.BENCH_SIM_RUNS ?? 300);

function machineEventsPerSecond(): number {
  const actor = createActor(acceptorMachine, { input: { id: 1, promised: ZERO_BALLOT, accepted: new Map() } });
  actor.on('*', () => {});
  actor.start();
  const ballot = { epoch: 1, nodeId: 2 };
  const entry: Entry = { origin: ballot, createdMs: 0, commands: [{ id: 'c', payload: 'v' }] };
  const entries = [entry];
  const run = (n: number, first: number) => {
    for (let i = 0; i < n; i++) actor.send({ type: 'AcceptRequest', from: 2, ballot, fromSlot: first + i, entries });
  };
  run(20_000, 1); // warm up the JIT
  const start = performance.now();
  run(MACHINE_EVENTS, 20_001);
  const seconds = (performance.now() - start) / 1000;
  actor.stop();
  return MACHINE_EVENTS / seconds;
}

function simulation(): { deliveriesPerSecond: number; runsPerMinute: number; violations: number } {
  for (let i = 0; i < 10; i++) runScenario(randomScenario(runSeed(99, i), { nodes: 5 })); // warm up
  let deliveries = 0;
  let violations = 0;
  const start = performance.now();
  for (let i = 0; i < SIM_RUNS; i++) {
    const result = runScenario(randomScenario(runSeed(1, i), { nodes: 5, commands: 200 }));
    deliveries += result.deliveries;
    if (result.violation) violations++;
  }
  const seconds = (performance.now() - start) / 1000;
  return { deliveriesPerSecond: deliveries / seconds, runsPerMinute: (SIM_RUNS / seconds) * 60, violations };
}

const events = machineEventsPerSecond();
const sim = simulation();
const round = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`node ${process.version}, ${MACHINE_EVENTS} acceptor events; ${SIM_RUNS} randomized 5-node runs, 200 commands, all faults on (violations: ${sim.violations})`);
console.log(`machine: acceptor actor.send ${round(events)} events/s`);
console.log(`sim: ${round(sim.deliveriesPerSecond)} deliveries/s, ${round(sim.runsPerMinute)} runs/min`);
console.log(
  `sim: ${round(sim.deliveriesPerSecond)} deliveries/s, ${round(sim.runsPerMinute)} runs/min, machine: ${round(events)} events/s, ratio: ${(sim.deliveriesPerSecond / events).toFixed(2)}`,
);
