import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PENDING_EVENTS_PER_VIEWER } from '../../../src/inspect/web/constants.js';
import { DropOldestQueue } from '../../../src/inspect/web/queue.js';
import { Viewer } from '../../../src/inspect/web/viewer.js';
import type { ViewerSocket } from '../../../src/inspect/web/viewer.js';

/** A socket whose peer never reads: the first frame is taken, the callback never comes. */
class StalledSocket implements ViewerSocket {
  readonly frames: string[] = [];
  send(data: string): void {
    this.frames.push(data);
  }
}

/** A socket that takes every frame at once (its callback runs on the next microtask). */
class PromptSocket implements ViewerSocket {
  readonly frames: string[] = [];
  send(data: string, callback: (error?: Error) => void): void {
    this.frames.push(data);
    queueMicrotask(() => callback());
  }
}

/** Like the page's frames: the view is already JSON and goes in as it is. */
const encode = (items: readonly number[], view: string | undefined, dropped: number): string =>
  `{"items":${JSON.stringify(items)},"view":${view ?? 'null'},"dropped":${dropped}}`;

describe('DropOldestQueue', () => {
  it('keeps the newest items in order and counts the dropped ones', () => {
    const q = new DropOldestQueue<number>(3);
    for (let i = 1; i <= 5; i++) q.push(i);
    expect(q.toArray()).toEqual([3, 4, 5]);
    expect(q.dropped).toBe(2);
    expect(q.take(2)).toEqual([3, 4]);
    q.push(6);
    q.push(7);
    expect(q.take()).toEqual([5, 6, 7]);
    expect(q.length).toBe(0);
  });

  it('behaves like "append, then keep the last N" for any pushes and takes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.oneof(fc.record({ push: fc.integer() }), fc.record({ take: fc.integer({ min: 0, max: 10 }) })), { maxLength: 60 }),
        (capacity, ops) => {
          const q = new DropOldestQueue<number>(capacity);
          let model: number[] = [];
          let dropped = 0;
          for (const op of ops) {
            if ('push' in op) {
              model.push(op.push);
              if (model.length > capacity) {
                model = model.slice(1);
                dropped++;
              }
            } else {
              expect(q.take(op.take)).toEqual(model.slice(0, op.take));
              model = model.slice(op.take);
            }
            if ('push' in op) q.push(op.push);
            expect(q.toArray()).toEqual(model);
            expect(q.dropped).toBe(dropped);
          }
        },
      ),
    );
  });

  it('refuses a capacity below one', () => {
    expect(() => new DropOldestQueue(0)).toThrow(/positive integer/);
  });
});

describe('Viewer', () => {
  it('drops the oldest events for a viewer that does not read, and reports how many', () => {
    const socket = new StalledSocket();
    const viewer = new Viewer<number>(socket, encode, 100);
    viewer.push(0);
    viewer.flush(); // the first frame leaves; its callback never comes
    expect(socket.frames).toHaveLength(1);
    const total = 3 * MAX_PENDING_EVENTS_PER_VIEWER;
    for (let i = 1; i <= total; i++) {
      viewer.push(i);
      viewer.flush(); // must not write while the previous frame is still unread
    }
    expect(socket.frames).toHaveLength(1);
    expect(viewer.busy).toBe(true);
    expect(viewer.queue.length).toBe(MAX_PENDING_EVENTS_PER_VIEWER);
    expect(viewer.dropped).toBe(total - MAX_PENDING_EVENTS_PER_VIEWER);
    const kept = viewer.queue.toArray();
    expect(kept[0]).toBe(total - MAX_PENDING_EVENTS_PER_VIEWER + 1);
    expect(kept.at(-1)).toBe(total);
  });

  it('delivers everything, in order, in bounded frames to a viewer that reads', async () => {
    const socket = new PromptSocket();
    const viewer = new Viewer<number>(socket, encode, 7);
    for (let i = 0; i < 50; i++) viewer.push(i);
    viewer.setView('{"v":1}');
    viewer.flush();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const frames = socket.frames.map((f) => JSON.parse(f) as { items: number[]; view: unknown; dropped: number });
    expect(frames.flatMap((f) => f.items)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Math.max(...frames.map((f) => f.items.length))).toBeLessThanOrEqual(7);
    expect(frames[0]!.view).toEqual({ v: 1 });
    expect(frames.slice(1).every((f) => f.view === null)).toBe(true);
    expect(frames.every((f) => f.dropped === 0)).toBe(true);
  });

  it('sends only the newest of several views waiting behind a slow frame', () => {
    let release: (() => void) | undefined;
    const frames: string[] = [];
    const viewer = new Viewer<number>({ send: (d, cb) => (frames.push(d), (release = () => cb())) }, encode, 10);
    viewer.setView('1');
    viewer.flush();
    viewer.setView('2');
    viewer.setView('3');
    viewer.flush();
    expect(frames).toHaveLength(1);
    release!();
    expect(frames.map((f) => JSON.parse(f).view)).toEqual([1, 3]);
  });
});
