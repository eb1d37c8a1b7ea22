/**
 * Group membership (Curator's GroupMember): each member is an ephemeral node named by its id
 * under the group path, so a member that crashes or loses its session leaves by itself; the member
 * list is followed with a TreeCache on the group path (one persistent recursive watch).
 * A member whose session ended is out for good: join again with a new client.
 */
import type { ZooKeeperClient } from '../client.js';
import { NodeExistsError } from '../errors.js';
import { deleteQuietly, ensurePath, join, retryOnConnectionLoss } from './internal.js';
import { TreeCache } from './tree-cache.js';

/** Member id → the data it joined with. */
export type Members = ReadonlyMap<string, Uint8Array>;

export class GroupMembership {
  private readonly cache: TreeCache;

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    readonly memberId: string,
    private readonly options: { readonly data?: Uint8Array | string; readonly onError?: (err: unknown) => void } = {},
  ) {
    if (memberId === '' || memberId.includes('/')) throw new RangeError(`bad member id "${memberId}"`);
    this.cache = new TreeCache(client, path, options.onError === undefined ? {} : { onError: options.onError });
  }

  /** Join (NodeExistsError if another session holds this id) and start following the group. */
  async join(): Promise<void> {
    await ensurePath(this.client, this.path);
    try {
      await retryOnConnectionLoss(() => this.client.create(join(this.path, this.memberId), this.options.data ?? '', { mode: 'ephemeral' }));
    } catch (err) {
      // Ours already if an earlier create's response was lost.
      const stat = err instanceof NodeExistsError ? await this.client.exists(join(this.path, this.memberId)) : null;
      if (stat === null || stat.ephemeralOwner !== this.client.sessionId) throw err;
    }
    await this.cache.start();
  }

  /** The members as last seen (ourselves included once our join is seen). */
  members(): Members {
    const members = new Map<string, Uint8Array>();
    for (const id of this.cache.childrenOf(this.path)) members.set(id, this.cache.get(join(this.path, id))!.data);
    return members;
  }

  /** Hear each change of the member list (or of a member's data); returns the unsubscribe function. */
  onChange(listener: (members: Members) => void): () => void {
    return this.cache.onChange((event) => {
      if (event.path.slice(0, event.path.lastIndexOf('/')) === this.path) listener(this.members());
    });
  }

  /** Leave the group and stop following it. */
  async leave(): Promise<void> {
    await this.cache.close();
    await deleteQuietly(this.client, join(this.path, this.memberId));
  }
}
