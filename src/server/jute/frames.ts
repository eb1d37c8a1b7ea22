/**
 * Incremental splitter for the client port's byte stream: every packet is a 4-byte big-endian
 * length followed by that many bytes. It mirrors NIOServerCnxn.readLength:
 *
 * - a negative length, or one above `jute.maxbuffer`, is a connection-level error (ZooKeeper throws
 *   "Len error" and closes the connection), so the splitter stops for good;
 * - optionally, the very first 4 bytes of a connection are checked for a four-letter word before
 *   they are taken as a length (ZooKeeper does this only while the connection is uninitialized,
 *   and the first packet is the one that initializes it).
 *
 * Memory is proportional to the bytes actually received: a large declared length allocates
 * nothing until its bytes arrive. Frames that lie inside one pushed chunk are views of it (no copy);
 * frames spread over several chunks are copied once into a Buffer of exactly their size.
 */

import { JUTE_MAX_BUFFER_BYTES, LENGTH_PREFIX_BYTES } from './buffer.js';
import { fourLetterWordOf, SET_TRACE_MASK_ARGUMENT_BYTES } from './fourletter.js';
import type { FourLetterWord } from './fourletter.js';

/** Largest frame accepted by default: ZooKeeper's `jute.maxbuffer` default. */
export const DEFAULT_MAX_FRAME_BYTES = JUTE_MAX_BUFFER_BYTES;

/** Once this many consumed chunks sit at the head of the queue, the queue is compacted. */
const CHUNK_COMPACTION_THRESHOLD = 64;

export type FrameErrorCode = 'negativeLength' | 'frameTooLarge';

/** A frame length ZooKeeper would refuse; the connection must be closed. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  readonly code: FrameErrorCode;
  /** The declared length. */
  readonly length: number;
  readonly maxFrameBytes: number;
  /** Offset in the connection's byte stream of the offending length prefix. */
  readonly streamOffset: number;

  constructor(code: FrameErrorCode, length: number, maxFrameBytes: number, streamOffset: number) {
    super(
      code === 'negativeLength'
        ? `frame length ${length} is negative (stream offset ${streamOffset})`
        : `frame length ${length} exceeds the maximum of ${maxFrameBytes} bytes (stream offset ${streamOffset})`,
    );
    this.code = code;
    this.length = length;
    this.maxFrameBytes = maxFrameBytes;
    this.streamOffset = streamOffset;
  }
}

/** A four-letter word found at the start of a connection. */
export interface FourLetterCommand {
  readonly word: FourLetterWord;
  /** For `stmk` only: the 8-byte trace mask that follows the word. */
  readonly traceMask?: bigint;
}

/**
 * What one `push` produced. `fourLetterWord` and `error` are terminal: the connection should answer
 * (or not) and close, and later pushes return the same outcome with no frames.
 */
export type FrameSplitResult =
  | { readonly kind: 'frames'; readonly frames: readonly Buffer[] }
  | { readonly kind: 'fourLetterWord'; readonly command: FourLetterCommand }
  /** `frames` holds the complete frames that preceded the bad length in this push. */
  | { readonly kind: 'error'; readonly frames: readonly Buffer[]; readonly error: FrameError };

export interface FrameSplitterOptions {
  /** Largest frame length accepted (inclusive); defaults to {@link DEFAULT_MAX_FRAME_BYTES}. */
  readonly maxFrameBytes?: number;
  /** Check the connection's first 4 bytes for a four-letter word (a server's client port: true). */
  readonly detectFourLetterWords?: boolean;
}

const NO_FRAMES: readonly Buffer[] = Object.freeze([]);
const EMPTY = Buffer.alloc(0);

/** Splits a length-prefixed byte stream into frames (payloads without their prefix). */
export class FrameSplitter {
  readonly maxFrameBytes: number;
  private readonly detectFourLetterWords: boolean;
  private chunks: Buffer[] = [];
  /** Index of the first chunk with unread bytes. */
  private head = 0;
  /** Read position inside chunks[head]. */
  private headOffset = 0;
  private buffered = 0;
  /** Length of the frame being assembled, once its prefix has been read. */
  private pendingLength: number | null = null;
  private sawFirstPrefix = false;
  private consumedBytes = 0;
  private terminal: FrameSplitResult | null = null;

  constructor(options: FrameSplitterOptions = {}) {
    const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 0) {
      throw new RangeError(`maxFrameBytes must be a non-negative integer, got ${maxFrameBytes}`);
    }
    this.maxFrameBytes = maxFrameBytes;
    this.detectFourLetterWords = options.detectFourLetterWords ?? false;
  }

  /** Bytes held for a frame not yet complete (a length prefix, once read, is no longer counted). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True once a four-letter word or an error has ended the stream. */
  get isTerminated(): boolean {
    return this.terminal !== null;
  }

  /** Feeds the next chunk of the stream; returns every frame it completes, in order. */
  push(chunk: Buffer): FrameSplitResult {
    if (this.terminal !== null) {
      return this.terminal.kind === 'error' ? { ...this.terminal, frames: NO_FRAMES } : this.terminal;
    }
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.pendingLength === null) {
        if (this.buffered < LENGTH_PREFIX_BYTES) break;
        const prefixOffset = this.consumedBytes;
        const length = this.peek(LENGTH_PREFIX_BYTES).readInt32BE(0);
        if (this.detectFourLetterWords && !this.sawFirstPrefix) {
          const word = fourLetterWordOf(length);
          if (word !== null) {
            const command = this.readFourLetterCommand(word);
            if (command === null) break; // stmk waits for its argument
            return this.terminate({ kind: 'fourLetterWord', command });
          }
        }
        this.sawFirstPrefix = true;
        if (length < 0 || length > this.maxFrameBytes) {
          const code: FrameErrorCode = length < 0 ? 'negativeLength' : 'frameTooLarge';
          return this.terminate({ kind: 'error', frames, error: new FrameError(code, length, this.maxFrameBytes, prefixOffset) });
        }
        this.skip(LENGTH_PREFIX_BYTES);
        this.pendingLength = length;
      }
      if (this.buffered < this.pendingLength) break;
      frames.push(this.take(this.pendingLength));
      this.pendingLength = null;
    }
    return frames.length === 0 ? { kind: 'frames', frames: NO_FRAMES } : { kind: 'frames', frames };
  }

  private readFourLetterCommand(word: FourLetterWord): FourLetterCommand | null {
    if (word !== 'stmk') {
      this.skip(LENGTH_PREFIX_BYTES);
      return { word };
    }
    if (this.buffered < LENGTH_PREFIX_BYTES + SET_TRACE_MASK_ARGUMENT_BYTES) return null;
    this.skip(LENGTH_PREFIX_BYTES);
    const traceMask = this.take(SET_TRACE_MASK_ARGUMENT_BYTES).readBigInt64BE(0);
    return { word, traceMask };
  }

  private terminate(result: FrameSplitResult): FrameSplitResult {
    this.terminal = result;
    // Nothing more will be read: let the buffered bytes go.
    this.chunks = [];
    this.head = 0;
    this.headOffset = 0;
    this.buffered = 0;
    this.pendingLength = null;
    return result;
  }

  /** The next `n` buffered bytes without consuming them (a view when they sit in one chunk). */
  private peek(n: number): Buffer {
    const first = this.chunks[this.head]!;
    if (first.length - this.headOffset >= n) return first.subarray(this.headOffset, this.headOffset + n);
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    let offset = this.headOffset;
    for (let i = this.head; copied < n; i++) {
      const chunk = this.chunks[i]!;
      copied += chunk.copy(out, copied, offset, Math.min(chunk.length, offset + n - copied));
      offset = 0;
    }
    return out;
  }

  /** Consumes and returns the next `n` buffered bytes (caller checked `buffered >= n`). */
  private take(n: number): Buffer {
    const result = n === 0 ? Buffer.alloc(0) : this.peek(n);
    this.skip(n);
    return result;
  }

  /** Consumes `n` buffered bytes (caller checked `buffered >= n`). */
  private skip(n: number): void {
    this.buffered -= n;
    this.consumedBytes += n;
    let left = n;
    while (left > 0) {
      const chunk = this.chunks[this.head]!;
      const available = chunk.length - this.headOffset;
      if (available > left) {
        this.headOffset += left;
        return;
      }
      left -= available;
      this.chunks[this.head] = EMPTY;
      this.head++;
      this.headOffset = 0;
    }
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= CHUNK_COMPACTION_THRESHOLD) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}


/** Prefixes a payload with its 4-byte big-endian length (one allocation). */
export function encodeFrame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + payload.length);
  out.writeInt32BE(payload.length, 0);
  payload.copy(out, LENGTH_PREFIX_BYTES);
  return out;
}
