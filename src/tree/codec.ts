/**
 * A small big-endian binary writer/reader for snapshots and node hashing. Hand-written rather than
 * msgpack so that the bytes are canonical (same tree, same bytes) and bigints round-trip exactly.
 */

const INITIAL_CAPACITY_BYTES = 256;
/** The length that marks a null byte array (jute's -1 as an unsigned 32-bit length). */
const NULL_BYTES_LENGTH = 0xffff_ffff;
const MIN_I64 = -(1n << 63n);
const MAX_I64 = (1n << 63n) - 1n;
/** A UTF-16 code unit never takes more than 3 bytes of UTF-8 (a surrogate pair takes 4 for 2 units). */
const MAX_UTF8_BYTES_PER_UTF16_UNIT = 3;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Appends fixed-width numbers, length-prefixed strings and byte arrays to a growing buffer. */
export class ByteWriter {
  private buf: Uint8Array;
  private dv: DataView;
  private length = 0;

  /** `capacity`: bytes to start with, when the caller knows about how many it will write. */
  constructor(capacity = INITIAL_CAPACITY_BYTES) {
    this.buf = new Uint8Array(Math.max(16, capacity));
    this.dv = new DataView(this.buf.buffer);
  }

  private reserve(bytes: number): number {
    const at = this.length;
    if (at + bytes > this.buf.length) {
      let capacity = this.buf.length * 2;
      while (capacity < at + bytes) capacity *= 2;
      const next = new Uint8Array(capacity);
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.dv = new DataView(next.buffer);
    }
    this.length = at + bytes;
    return at;
  }

  u8(v: number): this {
    const at = this.reserve(1); // reserve first: it may replace the DataView
    this.dv.setUint8(at, v);
    return this;
  }

  u16(v: number): this {
    const at = this.reserve(2); // reserve first: it may replace the DataView
    this.dv.setUint16(at, v);
    return this;
  }

  u32(v: number): this {
    const at = this.reserve(4); // reserve first: it may replace the DataView
    this.dv.setUint32(at, v);
    return this;
  }

  i32(v: number): this {
    const at = this.reserve(4); // reserve first: it may replace the DataView
    this.dv.setInt32(at, v);
    return this;
  }

  f64(v: number): this {
    const at = this.reserve(8); // reserve first: it may replace the DataView
    this.dv.setFloat64(at, v);
    return this;
  }

  /** A signed 64-bit integer (zxids, session ids); anything outside that range is a bug. */
  i64(v: bigint): this {
    if (v < MIN_I64 || v > MAX_I64) throw new RangeError(`value ${v} does not fit in 64 signed bits`);
    const at = this.reserve(8); // reserve first: it may replace the DataView
    this.dv.setBigInt64(at, v);
    return this;
  }

  bytes(b: Uint8Array): this {
    this.u32(b.length);
    const at = this.reserve(b.length);
    this.buf.set(b, at);
    return this;
  }

  /** Bytes or null: null is the length 0xffffffff with nothing after it. */
  nullableBytes(b: Uint8Array | null): this {
    if (b === null) return this.u32(NULL_BYTES_LENGTH);
    if (b.length >= NULL_BYTES_LENGTH) throw new RangeError(`byte array of ${b.length} bytes is too long to encode`);
    return this.bytes(b);
  }

  /** A UTF-8 string with a u32 byte-length prefix, encoded in place (no temporary array). */
  string(s: string): this {
    const lengthAt = this.reserve(4 + s.length * MAX_UTF8_BYTES_PER_UTF16_UNIT);
    const { written } = encoder.encodeInto(s, this.buf.subarray(lengthAt + 4));
    this.dv.setUint32(lengthAt, written);
    this.length = lengthAt + 4 + written;
    return this;
  }

  raw(b: Uint8Array): this {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
    return this;
  }

  /** Forget what was written, keeping the buffer (for scratch writers). */
  reset(): this {
    this.length = 0;
    return this;
  }

  /** What was written so far, without copying; valid until the next write or reset. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of everything written so far. */
  /** Bytes written so far. */
  get size(): number {
    return this.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Reads what ByteWriter wrote; throws RangeError on truncated or malformed input. */
export class ByteReader {
  private readonly dv: DataView;
  private offset = 0;

  constructor(private readonly buf: Uint8Array) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private take(bytes: number): number {
    const at = this.offset;
    if (at + bytes > this.buf.length) throw new RangeError(`input truncated at byte ${at} (need ${bytes} more)`);
    this.offset = at + bytes;
    return at;
  }

  u8(): number {
    return this.dv.getUint8(this.take(1));
  }

  u16(): number {
    return this.dv.getUint16(this.take(2));
  }

  u32(): number {
    return this.dv.getUint32(this.take(4));
  }

  i32(): number {
    return this.dv.getInt32(this.take(4));
  }

  f64(): number {
    return this.dv.getFloat64(this.take(8));
  }

  i64(): bigint {
    return this.dv.getBigInt64(this.take(8));
  }

  bytes(): Uint8Array {
    const n = this.u32();
    const at = this.take(n);
    return this.buf.slice(at, at + n);
  }

  /** What {@link ByteWriter.nullableBytes} wrote. */
  nullableBytes(): Uint8Array | null {
    const n = this.u32();
    if (n === NULL_BYTES_LENGTH) return null;
    const at = this.take(n);
    return this.buf.slice(at, at + n);
  }

  string(): string {
    return decoder.decode(this.bytes());
  }

  raw(n: number): Uint8Array {
    const at = this.take(n);
    return this.buf.slice(at, at + n);
  }

  /** Bytes consumed so far. */
  get position(): number {
    return this.offset;
  }

  /** Throws unless every byte was read. */
  expectEnd(): void {
    if (this.offset !== this.buf.length) throw new RangeError(`${this.buf.length - this.offset} unexpected trailing bytes`);
  }
}
