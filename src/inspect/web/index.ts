/**
 * The web inspector: a simulated ensemble (or a stored trace) in the browser — cluster picture,
 * live statecharts, a message sequence diagram, and controls. See README.md beside this file.
 */
import type { NetworkFaults } from '../../bus/memory.js';
import { readTraceFile } from '../../sim/runner.js';
import { InspectorServer } from './server.js';
import type { SourceFactory } from './server.js';
import { SimulationSource } from './sim-source.js';
import { TraceSource, traceName } from './trace-source.js';

export { InspectorServer, parseControl } from './server.js';
export type { InspectorServerOptions, SourceFactory } from './server.js';
export { SimulationSource, SimulatorSource, interactiveScenario, checkFaults, DEFAULT_SIM_NETWORK } from './sim-source.js';
export type { SimulationOptions } from './sim-source.js';
export { TraceSource, checkTraceFile } from './trace-source.js';
export { SimProbe } from './sim-probe.js';
export { StatelyEncoder, machineDefinition, toJsonSafe } from './stately.js';
export type { StatelyInspectionEvent, StatelyActorEvent, StatelySnapshotEvent, StatelyEventEvent } from './stately.js';
export { activePaths, annotateChartSvg, annotatedCharts, chartInfos } from './charts.js';
export type { ChartInfo } from './charts.js';
export { DropOldestQueue } from './queue.js';
export { Viewer } from './viewer.js';
export type { ViewerSocket, FrameEncoder } from './viewer.js';
export * from './constants.js';
export type * from './types.js';

export interface StartInspectorOptions {
  /** Nodes of the simulated ensemble (1–9). */
  readonly nodes: number;
  /** Seed of the simulation: the same seed and the same controls give the same run. */
  readonly seed: number;
  /** Network faults to start with: drop and duplicate rates (0–1), delay range in ms. */
  readonly faults?: Partial<NetworkFaults>;
  /** TCP port on 127.0.0.1; 0 or absent picks a free one. */
  readonly port?: number;
  /** Open this trace file (from `statekeeper check`) instead of a live simulation. */
  readonly trace?: string;
  /** Start running at once (default: paused at time 0). */
  readonly run?: boolean;
}

export interface InspectorHandle {
  /** Where the page is: `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Stops the server, its sockets and the simulation. */
  close(): Promise<void>;
}

/** The sources the page can switch to: a new simulation, or a trace file. */
export const defaultSourceFactory: SourceFactory = {
  simulation: (options) => new SimulationSource(options),
  trace: (file, name) => new TraceSource(file, name),
};

/** Starts the inspector on a new simulated ensemble (or a trace) and serves the page. */
export async function startInspector(options: StartInspectorOptions): Promise<InspectorHandle> {
  const source =
    options.trace !== undefined
      ? new TraceSource(readTraceFile(options.trace), traceName(options.trace))
      : new SimulationSource({ nodes: options.nodes, seed: options.seed, ...(options.faults ? { faults: options.faults } : {}) });
  let server: InspectorServer;
  try {
    server = await InspectorServer.start({ source, sources: defaultSourceFactory, ...(options.port === undefined ? {} : { port: options.port }) });
  } catch (error) {
    source.close();
    throw error;
  }
  if (options.run === true) source.control({ type: 'run' });
  return { url: server.url, close: () => server.close() };
}
