/**
 * Framing on a peer connection: every frame is a 4-byte big-endian body length, then the body.
 * The decoder checks the length against the current limit as soon as the prefix arrives, so an
 * oversized frame is refused before any of its body is buffered.
 */

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** One frame on the wire: the length prefix followed by `body` (a fresh buffer, safe to keep). */
export function encodeFrame(body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/** The stream broke the framing rules; the connection must be closed. */
export interface FrameError {
  readonly reason: 'frame-too-large';
  readonly lengthBytes: number;
  readonly maxFrameBytes: number;
}

/**
 * Splits a byte stream into frame bodies. Each byte is copied at most once: chunks are held as
 * received and a body is assembled only when it is complete.
 */
export class FrameDecoder {
  /** Largest body accepted; may be raised between frames (after the handshake). */
  maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Body length of the frame being received, or -1 while waiting for its prefix. */
  private expectedBytes = -1;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet handed out as frames. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /**
   * Add received bytes and hand every complete body to `onFrame`, in order. `onFrame` returns
   * false to stop (the connection closed); the remaining bytes are then dropped. Returns the
   * framing error that ends the stream, if any.
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => boolean): FrameError | undefined {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.bufferedBytes += chunk.length;
    }
    for (;;) {
      if (this.expectedBytes < 0) {
        if (this.bufferedBytes < FRAME_HEADER_BYTES) return undefined;
        const lengthBytes = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (lengthBytes > this.maxFrameBytes) {
          this.clear();
          return { reason: 'frame-too-large', lengthBytes, maxFrameBytes: this.maxFrameBytes };
        }
        this.expectedBytes = lengthBytes;
      }
      if (this.bufferedBytes < this.expectedBytes) return undefined;
      const body = this.take(this.expectedBytes);
      this.expectedBytes = -1;
      if (!onFrame(body)) {
        this.clear();
        return undefined;
      }
    }
  }

  /** Forget everything buffered. */
  clear(): void {
    this.chunks = [];
    this.bufferedBytes = 0;
    this.expectedBytes = -1;
  }

  /** Remove and return the next `n` buffered bytes (n <= bufferedBytes). */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.bufferedBytes -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.bufferedBytes -= n;
    return out;
  }
}
