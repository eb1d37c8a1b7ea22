/**
 * A local copy of a subtree, kept in sync with one persistent recursive watch (Curator's
 * CuratorCache). The watch reports NodeCreated, NodeDataChanged and NodeDeleted for every node at
 * or below the root (never NodeChildrenChanged); each event is answered by reading that node, or
 * by dropping it, in the order the events came. A persistent watch does not replay what happened
 * while the client was disconnected, so after a reconnection the whole subtree is read again and
 * nodes that vanished meanwhile are dropped.
 */
import type { ZooKeeperClient, WatchedEvent } from '../client.js';
import { NoNodeError } from '../errors.js';
import { isSessionEnd, isSessionGone, join, retryOnConnectionLoss } from './internal.js';
import type { CachedNode } from './node-cache.js';

export interface TreeCacheEvent {
  readonly type: 'created' | 'changed' | 'deleted';
  readonly path: string;
  /** The node now (null when deleted). */
  readonly node: CachedNode | null;
  /** The node before (null when created). */
  readonly previous: CachedNode | null;
}

export type TreeListener = (event: TreeCacheEvent) => void;

export class TreeCache {
  private readonly nodes = new Map<string, CachedNode>();
  private readonly listeners = new Set<TreeListener>();
  private work: Promise<void> = Promise.resolve();
  private open = false;
  private removeWatch: (() => Promise<void>) | undefined;
  private offState: (() => void) | undefined;

  constructor(
    readonly client: ZooKeeperClient,
    readonly root: string,
    private readonly options: { readonly onError?: (err: unknown) => void } = {},
  ) {}

  /** Watch and load the subtree; resolves once the first full read is in the cache. */
  async start(): Promise<void> {
    if (this.open) return;
    this.open = true;
    let wasDisconnected = false;
    this.offState = this.client.onStateChange((state) => {
      if (state === 'disconnected') wasDisconnected = true;
      else if (state === 'connected' && wasDisconnected) {
        wasDisconnected = false;
        this.enqueue(() => this.refresh(this.root, true));
      } else if (isSessionEnd(state)) void this.close();
    });
    // Watch first, then read: a change made during the read is then also an event, never lost.
    this.removeWatch = await retryOnConnectionLoss(() => this.client.addWatch(this.root, (event) => this.onEvent(event), { recursive: true }));
    this.enqueue(() => this.refresh(this.root, true));
    await this.work;
  }

  /** The cached node at `path`. */
  get(path: string): CachedNode | undefined {
    return this.nodes.get(path);
  }
  get size(): number {
    return this.nodes.size;
  }
  /** Every cached path, in no particular order. */
  paths(): string[] {
    return [...this.nodes.keys()];
  }
  /** Names of the cached children of `path`. */
  childrenOf(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    return this.paths()
      .filter((p) => p.startsWith(prefix) && p !== '/' && !p.slice(prefix.length).includes('/'))
      .map((p) => p.slice(prefix.length));
  }

  /** Hear every created, changed and deleted node; returns the unsubscribe function. */
  onChange(listener: TreeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stop following and remove the watch (the last copy stays readable). */
  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.offState?.();
    if (!isSessionEnd(this.client.state)) await this.removeWatch?.().catch(() => undefined);
  }

  private onEvent(event: WatchedEvent): void {
    if (event.name === 'NodeDeleted') this.enqueue(async () => this.drop(event.path));
    else if (event.name === 'NodeCreated' || event.name === 'NodeDataChanged') this.enqueue(() => this.refresh(event.path, false));
  }

  private enqueue(task: () => Promise<void>): void {
    this.work = this.work
      .then(() => (this.open ? task() : undefined))
      .catch((err: unknown) => {
        if (isSessionGone(err)) void this.close();
        else if (this.open && !isSessionEnd(this.client.state)) this.options.onError?.(err);
      });
  }

  /** Read `path`; read its children that are new to us (all of them when `deep`), drop the vanished. */
  private async refresh(path: string, deep: boolean): Promise<void> {
    let node: CachedNode;
    let children: string[];
    try {
      node = await retryOnConnectionLoss(() => this.client.getData(path));
      const previous = this.nodes.get(path);
      this.put(path, node);
      if (!deep && previous !== undefined && previous.stat.cversion === node.stat.cversion) return;
      children = await retryOnConnectionLoss(() => this.client.getChildren(path));
    } catch (err) {
      if (err instanceof NoNodeError) return this.drop(path);
      throw err;
    }
    for (const name of this.childrenOf(path)) if (!children.includes(name)) this.drop(join(path, name));
    for (const name of children) if (deep || !this.nodes.has(join(path, name))) await this.refresh(join(path, name), deep);
  }

  private put(path: string, node: CachedNode): void {
    const previous = this.nodes.get(path) ?? null;
    if (previous !== null && previous.stat.mzxid === node.stat.mzxid && previous.stat.czxid === node.stat.czxid) return;
    this.nodes.set(path, node);
    this.emit({ type: previous === null ? 'created' : 'changed', path, node, previous });
  }

  /** Forget `path` and everything cached below it (deepest first). */
  private drop(path: string): void {
    const prefix = path === '/' ? '/' : `${path}/`;
    const gone = this.paths().filter((p) => p === path || p.startsWith(prefix));
    for (const p of gone.sort((a, b) => b.length - a.length)) {
      const previous = this.nodes.get(p)!;
      this.nodes.delete(p);
      this.emit({ type: 'deleted', path: p, node: null, previous });
    }
  }

  private emit(event: TreeCacheEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.options.onError?.(err);
      }
    }
  }
}
