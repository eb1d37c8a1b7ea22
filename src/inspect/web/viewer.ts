/**
 * One connected viewer: a bounded queue of events in front of a WebSocket, written one frame at a
 * time. The next frame leaves only when the socket has taken the previous one (the send callback),
 * so a viewer that does not read fills its queue, and the queue drops its oldest events — the
 * cluster never waits for a viewer and memory stays bounded. The cluster view is not queued: a
 * viewer only ever needs the latest one, so a newer view replaces one not yet sent.
 */
import { MAX_PENDING_EVENTS_PER_VIEWER } from './constants.js';
import { DropOldestQueue } from './queue.js';

/** What a viewer needs of a WebSocket (ws's `WebSocket` fits). */
export interface ViewerSocket {
  send(data: string, callback: (error?: Error) => void): void;
}

/** Builds one frame from a batch of events, the pending view (if any) and the dropped count. */
export type FrameEncoder<T> = (items: readonly T[], view: string | undefined, dropped: number) => string;

export class Viewer<T> {
  readonly queue: DropOldestQueue<T>;
  private sending = false;
  private pendingView: string | undefined;
  closed = false;

  constructor(
    private readonly socket: ViewerSocket,
    private readonly encode: FrameEncoder<T>,
    /** Events per frame. */
    private readonly batch: number,
    capacity: number = MAX_PENDING_EVENTS_PER_VIEWER,
  ) {
    this.queue = new DropOldestQueue<T>(capacity);
  }

  /** Events this viewer lost because it read too slowly. */
  get dropped(): number {
    return this.queue.dropped;
  }

  /** Whether a frame is written and not yet taken by the socket. */
  get busy(): boolean {
    return this.sending;
  }

  push(item: T): void {
    if (!this.closed) this.queue.push(item);
  }

  setView(json: string): void {
    this.pendingView = json;
  }

  /** Writes the next frame unless one is still on its way; continues when the socket takes it. */
  flush(): void {
    if (this.sending || this.closed) return;
    if (this.queue.length === 0 && this.pendingView === undefined) return;
    const frame = this.encode(this.queue.take(this.batch), this.pendingView, this.queue.dropped);
    this.pendingView = undefined;
    this.sending = true;
    this.socket.send(frame, (error) => {
      this.sending = false;
      if (error !== undefined && error !== null) {
        this.closed = true;
        return;
      }
      this.flush();
    });
  }

  close(): void {
    this.closed = true;
    this.queue.clear();
  }
}
