/**
 * The inspector of a live ensemble, as a real node's admin port serves it: a LiveSource (this
 * node read directly, the others polled on their admin ports) behind the same page and streams
 * as a simulation. The admin port routes the inspector's paths and WebSocket upgrades here; this
 * module (and Graphviz with it) is loaded on the first such request, so a node whose inspector
 * nobody opens never loads it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NodeId } from '../../protocol/ids.js';
import type { LiveRecorder } from './live-recorder.js';
import { LiveSource } from './live-source.js';
import type { LivePeerAddress } from './live-source.js';
import { InspectorServer } from './server.js';

export interface LiveInspectorOptions {
  readonly recorder: LiveRecorder;
  /** Every member of the ensemble, this node included. */
  readonly members: readonly NodeId[];
  /** Admin addresses of the other members. */
  readonly peers: ReadonlyMap<NodeId, LivePeerAddress>;
  /** The admin port this inspector is served on. */
  readonly port: number;
  /** Names this node may be reached by (besides loopback): its admin address, server-line host, host name. */
  readonly hosts: readonly string[];
  /** Host for the printed URL. */
  readonly urlHost?: string;
}

export interface LiveInspector {
  readonly url: string;
  readonly source: LiveSource;
  /** Answers the inspector's paths; false for any other. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes the page streams and stops polling (the admin port itself stays up). */
  close(): Promise<void>;
}

export function createLiveInspector(options: LiveInspectorOptions): LiveInspector {
  const source = new LiveSource({ recorder: options.recorder, members: options.members, peers: options.peers });
  const server = InspectorServer.attach({ source, port: options.port, hosts: options.hosts, ...(options.urlHost === undefined ? {} : { urlHost: options.urlHost }) });
  return {
    url: server.url,
    source,
    handleRequest: (req, res) => server.handleRequest(req, res),
    handleUpgrade: (req, socket, head) => server.handleUpgrade(req, socket, head),
    close: () => server.close(),
  };
}
