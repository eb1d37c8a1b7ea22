/**
 * A local copy of one node, kept in sync with one-shot watches (Curator's NodeCache): read with a
 * data watch (or an exists watch while the node is absent), and read again each time a watch
 * fires. Reads are serialized, in the order the watches fired. After a reconnection the node is
 * read again (the client re-registers the watch, and this catches anything it could not replay).
 * For configuration watching: `onChange` hears each new version, and null when the node goes.
 */
import type { Stat } from '../../protocol/zookeeper.js';
import type { ZooKeeperClient } from '../client.js';
import { NoNodeError } from '../errors.js';
import { isSessionEnd, isSessionGone, retryOnConnectionLoss } from './internal.js';

/** A node as cached: its data and Stat. */
export interface CachedNode {
  readonly data: Uint8Array;
  readonly stat: Stat;
}

export type NodeListener = (node: CachedNode | null) => void;

export class NodeCache {
  private value: CachedNode | null = null;
  private readonly listeners = new Set<NodeListener>();
  private reads: Promise<void> = Promise.resolve();
  private open = false;
  private offState: (() => void) | undefined;
  private readonly watcher = (): void => this.refresh();

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    private readonly options: { readonly onError?: (err: unknown) => void } = {},
  ) {}

  /** The node as last read, or null if it does not exist. */
  get current(): CachedNode | null {
    return this.value;
  }

  /** Load the node and start following it; resolves after the first read. */
  async start(): Promise<void> {
    if (this.open) return;
    this.open = true;
    let wasDisconnected = false;
    this.offState = this.client.onStateChange((state) => {
      if (state === 'disconnected') wasDisconnected = true;
      else if (state === 'connected' && wasDisconnected) {
        wasDisconnected = false;
        this.refresh();
      } else if (isSessionEnd(state)) this.close();
    });
    this.refresh();
    await this.reads;
  }

  /** Hear every change (a new version, creation, or deletion as null); returns the unsubscribe function. */
  onChange(listener: NodeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stop following (the last copy stays readable). */
  close(): void {
    this.open = false;
    this.offState?.();
  }

  private refresh(): void {
    this.reads = this.reads.then(() => this.read()).catch((err: unknown) => {
      if (isSessionGone(err)) this.close();
      else if (this.open && !isSessionEnd(this.client.state)) this.options.onError?.(err);
    });
  }

  private async read(): Promise<void> {
    if (!this.open) return;
    let next: CachedNode | null;
    try {
      next = await retryOnConnectionLoss(() => this.client.getData(this.path, this.watcher));
    } catch (err) {
      if (!(err instanceof NoNodeError)) throw err;
      // Absent: watch for its creation (and read again if it is back already).
      if ((await retryOnConnectionLoss(() => this.client.exists(this.path, this.watcher))) !== null) return this.read();
      next = null;
    }
    if (!this.open || sameVersion(this.value, next)) return;
    this.value = next;
    for (const listener of this.listeners) {
      try {
        listener(next);
      } catch (err) {
        this.options.onError?.(err);
      }
    }
  }
}

const sameVersion = (a: CachedNode | null, b: CachedNode | null): boolean =>
  a === null || b === null ? a === b : a.stat.mzxid === b.stat.mzxid && a.stat.czxid === b.stat.czxid;
