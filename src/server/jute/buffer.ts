/**
 * Jute primitives over a Node.js Buffer: the binary archive ZooKeeper's client port speaks
 * (org.apache.jute.BinaryInputArchive / BinaryOutputArchive). Everything is big-endian:
 *
 * | jute type   | bytes on the wire                                   | here                       |
 * | ----------- | --------------------------------------------------- | -------------------------- |
 * | int         | 4, two's complement                                 | number                     |
 * | long        | 8, two's complement                                 | bigint                     |
 * | boolean     | 1 (Java reads any non-zero byte as true)            | boolean                    |
 * | buffer      | int length (-1 = null) then the bytes               | Buffer \| null (a copy)     |
 * | ustring     | int length (-1 = null) then UTF-8 bytes             | string \| null              |
 * | vector<T>   | int count (-1 = null) then count elements           | T[] \| null                 |
 *
 * The reader never reads past its end and never allocates from a length it has not first checked
 * against both the bytes that remain and a maximum: a malformed or hostile frame costs at most the
 * bytes it actually sent. Every decoding failure is a {@link JuteDecodeError} carrying the offset of
 * the read that failed; nothing else is ever thrown while decoding.
 */

import { DEFAULT_MAX_DATA_BYTES } from '../../protocol/zookeeper.js';

/** ZooKeeper's `jute.maxbuffer` default (0xfffff bytes): the largest client frame a server accepts. */
export const JUTE_MAX_BUFFER_BYTES = DEFAULT_MAX_DATA_BYTES;

/**
 * Largest single `buffer`/`ustring` field the reader accepts by default. BinaryInputArchive's
 * sanity check allows `jute.maxbuffer + zookeeper.jute.maxbuffer.extrasize`, and the extra size
 * defaults to `jute.maxbuffer` itself, hence twice the frame limit. (Inside a frame that was
 * already bounded by the frame limit, the remaining-bytes check is the one that bites.)
 */
export const DEFAULT_MAX_FIELD_BYTES = 2 * JUTE_MAX_BUFFER_BYTES;

/** Bytes of the fixed-size jute primitives. */
export const INT_BYTES = 4;
export const LONG_BYTES = 8;
export const BOOL_BYTES = 1;

/** Bytes of the big-endian int that prefixes every packet on the client port. */
export const LENGTH_PREFIX_BYTES = INT_BYTES;

/** Wire value of a null buffer, ustring or vector. */
export const NULL_LENGTH = -1;

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

/** Why a decode failed; stable strings so callers can branch and tests can assert. */
export type JuteDecodeErrorCode =
  /** The input ended before a field did. */
  | 'truncated'
  /** A length or count was negative (other than -1 for null). */
  | 'negativeLength'
  /** A buffer or string length exceeded the reader's maximum. */
  | 'lengthOverLimit'
  /** A null (-1) where the record does not allow one (for example a path). */
  | 'unexpectedNull'
  /** A structurally valid value that the record does not allow (unknown op inside a multi, mixed kinds, …). */
  | 'invalidValue';

/** A malformed jute input. `offset` is the absolute offset, in the decoded Buffer, of the read that failed. */
export class JuteDecodeError extends Error {
  override readonly name = 'JuteDecodeError';
  readonly code: JuteDecodeErrorCode;
  readonly offset: number;

  constructor(code: JuteDecodeErrorCode, offset: number, message: string) {
    super(`${message} (at offset ${offset})`);
    this.code = code;
    this.offset = offset;
  }
}

/**
 * A value that cannot be put on the wire (an int out of range, a long that does not fit 64 bits,
 * multi ops of mixed kinds). Encoding our own values should never hit this: it is a programming error.
 */
export class JuteEncodeError extends RangeError {
  override readonly name = 'JuteEncodeError';
}

/** Reads jute primitives from `buf[start, end)`. */
export class JuteReader {
  private readonly buf: Buffer;
  private pos: number;
  private readonly end: number;
  private readonly maxFieldBytes: number;

  /**
   * @param buf bytes to decode; buffers that are decoded are copied out, so `buf` may be reused afterwards.
   * @param start first byte to read.
   * @param end one past the last byte that may be read (defaults to the end of `buf`).
   * @param maxFieldBytes largest `buffer`/`ustring` length accepted.
   */
  constructor(buf: Buffer, start = 0, end = buf.length, maxFieldBytes = DEFAULT_MAX_FIELD_BYTES) {
    if (!(start >= 0 && start <= end && end <= buf.length)) {
      throw new RangeError(`JuteReader range [${start}, ${end}) is outside a buffer of ${buf.length} bytes`);
    }
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.maxFieldBytes = maxFieldBytes;
  }

  /** Absolute offset of the next byte to read. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes left before the end. */
  get remaining(): number {
    return this.end - this.pos;
  }

  private need(bytes: number, what: string): void {
    if (this.end - this.pos < bytes) {
      throw new JuteDecodeError('truncated', this.pos, `${what} needs ${bytes} bytes but ${this.end - this.pos} remain`);
    }
  }

  /** Reads a jute `int`. */
  readInt(what = 'int'): number {
    this.need(INT_BYTES, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + INT_BYTES;
    // `| 0` keeps the sign: bytes assemble as a two's-complement int32.
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) | 0;
  }

  /** Reads a jute `long`. */
  readLong(what = 'long'): bigint {
    this.need(LONG_BYTES, what);
    const value = this.buf.readBigInt64BE(this.pos);
    this.pos += LONG_BYTES;
    return value;
  }

  /** Reads a jute `boolean`; like java.io.DataInput, any non-zero byte is true. */
  readBool(what = 'boolean'): boolean {
    this.need(BOOL_BYTES, what);
    return this.buf[this.pos++] !== 0;
  }

  /** Reads a length prefix for a buffer or string: null for -1, else a checked byte count. */
  private readFieldLength(what: string): number | null {
    const at = this.pos;
    const length = this.readInt(what);
    if (length === NULL_LENGTH) return null;
    if (length < 0) throw new JuteDecodeError('negativeLength', at, `${what} has length ${length}`);
    if (length > this.maxFieldBytes) {
      throw new JuteDecodeError('lengthOverLimit', at, `${what} has length ${length} over the limit of ${this.maxFieldBytes}`);
    }
    if (length > this.end - this.pos) {
      throw new JuteDecodeError('truncated', at, `${what} has length ${length} but ${this.end - this.pos} bytes remain`);
    }
    return length;
  }

  /** Reads a jute `buffer` (null for length -1). The result is a copy, so it never pins the input. */
  readBuffer(what = 'buffer'): Buffer | null {
    const length = this.readFieldLength(what);
    if (length === null) return null;
    const start = this.pos;
    this.pos = start + length;
    return Buffer.from(this.buf.subarray(start, start + length));
  }

  /** Reads a jute `ustring` (null for length -1). Malformed UTF-8 becomes U+FFFD, as Java's decoder does. */
  readUString(what = 'ustring'): string | null {
    const length = this.readFieldLength(what);
    if (length === null) return null;
    const start = this.pos;
    this.pos = start + length;
    return this.buf.toString('utf8', start, start + length);
  }

  /** Reads a `ustring` that must not be null. */
  readString(what = 'ustring'): string {
    const at = this.pos;
    const value = this.readUString(what);
    if (value === null) throw new JuteDecodeError('unexpectedNull', at, `${what} is null`);
    return value;
  }

  /**
   * Reads a jute `vector`: null for count -1. Like BinaryInputArchive (whose index is done when
   * count <= 0), any other negative count is an empty vector. A count that cannot fit in the bytes
   * that remain, given the smallest possible element, fails before anything is allocated.
   */
  readVector<T>(readElement: (reader: JuteReader) => T, minElementBytes: number, what = 'vector'): T[] | null {
    const at = this.pos;
    const count = this.readInt(what);
    if (count === NULL_LENGTH) return null;
    if (count <= 0) return [];
    if (count > Math.floor((this.end - this.pos) / minElementBytes)) {
      throw new JuteDecodeError(
        'truncated',
        at,
        `${what} claims ${count} elements of at least ${minElementBytes} bytes but ${this.end - this.pos} bytes remain`,
      );
    }
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(readElement(this));
    return items;
  }

  /** Reads a vector of non-null ustrings; a null vector reads as empty. */
  readStringVector(what = 'vector<ustring>'): string[] {
    return this.readVector((r) => r.readString(what), INT_BYTES, what) ?? [];
  }

  /** Returns a copy of all remaining bytes and consumes them. */
  readRest(): Buffer {
    const start = this.pos;
    this.pos = this.end;
    return Buffer.from(this.buf.subarray(start, this.end));
  }
}

/** Byte counts of variable-size fields, for sizing an output Buffer exactly before writing. */
export const JuteSize = {
  buffer(value: Buffer | null): number {
    return INT_BYTES + (value === null ? 0 : value.length);
  },
  ustring(value: string | null): number {
    return INT_BYTES + (value === null ? 0 : Buffer.byteLength(value, 'utf8'));
  },
  /** A vector of ustrings. */
  stringVector(values: readonly string[] | null): number {
    let size = INT_BYTES;
    if (values !== null) for (const value of values) size += INT_BYTES + Buffer.byteLength(value, 'utf8');
    return size;
  },
} as const;

/**
 * Writes jute primitives into a Buffer that was sized exactly beforehand. Every value is checked
 * against its wire range: writing never silently truncates or wraps.
 */
export class JuteWriter {
  readonly buf: Buffer;
  private pos: number;

  constructor(buf: Buffer, start = 0) {
    this.buf = buf;
    this.pos = start;
  }

  /** Absolute offset of the next byte to write. */
  get offset(): number {
    return this.pos;
  }

  private room(bytes: number, what: string): void {
    if (this.buf.length - this.pos < bytes) {
      throw new JuteEncodeError(`${what} needs ${bytes} bytes but the output has ${this.buf.length - this.pos} left`);
    }
  }

  /** Writes a jute `int`; the value must be an integer in int32 range. */
  writeInt(value: number, what = 'int'): void {
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw new JuteEncodeError(`${what} ${value} is not a 32-bit integer`);
    }
    this.room(INT_BYTES, what);
    this.buf.writeInt32BE(value, this.pos);
    this.pos += INT_BYTES;
  }

  /** Writes a jute `long`; the value must fit in a signed 64-bit integer. */
  writeLong(value: bigint, what = 'long'): void {
    if (typeof value !== 'bigint' || BigInt.asIntN(64, value) !== value) {
      throw new JuteEncodeError(`${what} ${String(value)} is not a 64-bit integer`);
    }
    this.room(LONG_BYTES, what);
    this.buf.writeBigInt64BE(value, this.pos);
    this.pos += LONG_BYTES;
  }

  /** Writes a jute `long` from a number of milliseconds (Stat's ctime/mtime). */
  writeLongFromNumber(value: number, what = 'long'): void {
    if (!Number.isSafeInteger(value)) throw new JuteEncodeError(`${what} ${value} is not a safe integer`);
    this.writeLong(BigInt(value), what);
  }

  /** Writes a jute `boolean` as 0 or 1. */
  writeBool(value: boolean, what = 'boolean'): void {
    this.room(BOOL_BYTES, what);
    this.buf[this.pos++] = value ? 1 : 0;
  }

  /** Writes a jute `buffer`; null is written as length -1. */
  writeBuffer(value: Buffer | null, what = 'buffer'): void {
    if (value === null) {
      this.writeInt(NULL_LENGTH, what);
      return;
    }
    this.room(INT_BYTES + value.length, what);
    this.buf.writeInt32BE(value.length, this.pos);
    value.copy(this.buf, this.pos + INT_BYTES);
    this.pos += INT_BYTES + value.length;
  }

  /** Writes a jute `ustring` as UTF-8; null is written as length -1. */
  writeUString(value: string | null, what = 'ustring'): void {
    if (value === null) {
      this.writeInt(NULL_LENGTH, what);
      return;
    }
    const length = Buffer.byteLength(value, 'utf8');
    this.room(INT_BYTES + length, what);
    this.buf.writeInt32BE(length, this.pos);
    this.buf.write(value, this.pos + INT_BYTES, length, 'utf8');
    this.pos += INT_BYTES + length;
  }

  /** Writes a jute `vector`; null is written as count -1. */
  writeVector<T>(items: readonly T[] | null, writeElement: (writer: JuteWriter, item: T) => void, what = 'vector'): void {
    if (items === null) {
      this.writeInt(NULL_LENGTH, what);
      return;
    }
    this.writeInt(items.length, what);
    for (const item of items) writeElement(this, item);
  }

  /** Writes a vector of ustrings. */
  writeStringVector(items: readonly string[] | null, what = 'vector<ustring>'): void {
    this.writeVector(items, (w, s) => w.writeUString(s, what), what);
  }

  /** Copies raw bytes. */
  writeRaw(bytes: Buffer, what = 'bytes'): void {
    this.room(bytes.length, what);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }

  /** Asserts the output was filled exactly: the size computed up front and the bytes written agree. */
  assertFull(what: string): void {
    if (this.pos !== this.buf.length) {
      throw new JuteEncodeError(`${what}: wrote ${this.pos} bytes into a buffer sized ${this.buf.length}`);
    }
  }
}
