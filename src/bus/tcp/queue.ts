/** A FIFO of encoded frames with O(1) push and shift, counting the bytes it holds. */
export class FrameQueue {
  private items: (Buffer | undefined)[] = [];
  private head = 0;
  private heldBytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  push(frame: Buffer): void {
    this.items.push(frame);
    this.heldBytes += frame.length;
  }

  shift(): Buffer | undefined {
    if (this.head >= this.items.length) return undefined;
    const frame = this.items[this.head]!;
    this.items[this.head] = undefined;
    this.head++;
    this.heldBytes -= frame.length;
    // Reclaim the consumed prefix once it dominates, so memory stays proportional to what is held.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    } else if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    return frame;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.heldBytes = 0;
  }
}
