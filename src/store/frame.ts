/**
 * The on-disk frame of one log record, little-endian:
 *
 * ```
 * offset 0   u32  payload length in bytes
 * offset 4   u32  crc32c over bytes 0..4 (the length) and 8..end (the index and the payload)
 * offset 8   u64  index
 * offset 16  ...  payload
 * ```
 *
 * The checksum covers the length too (a strict superset of "payload + index"), so a damaged
 * length field is caught by the checksum of the record it claims, not only by what follows.
 */
import { crc32c } from './crc32c.js';
import { MAX_LOG_INDEX, MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_BYTES } from './limits.js';

const TWO_TO_32 = 2 ** 32;

/** Bytes a record with a payload of `payloadLength` bytes takes on disk. */
export function frameLength(payloadLength: number): number {
  return RECORD_HEADER_BYTES + payloadLength;
}

function frameChecksum(buffer: Buffer, at: number, end: number): number {
  return crc32c(buffer.subarray(at + 8, end), crc32c(buffer.subarray(at, at + 4)));
}

/** Writes the frame of (`index`, `payload`) into `target` at `at`; returns where it ends. */
export function encodeFrame(target: Buffer, at: number, index: number, payload: Uint8Array): number {
  const end = at + frameLength(payload.length);
  target.writeUInt32LE(payload.length, at);
  target.writeUInt32LE(index >>> 0, at + 8);
  target.writeUInt32LE(Math.floor(index / TWO_TO_32), at + 12);
  target.set(payload, at + RECORD_HEADER_BYTES);
  target.writeUInt32LE(frameChecksum(target, at, end), at + 4);
  return end;
}

/** A frame that passed its checks. */
export interface DecodedFrame {
  readonly ok: true;
  readonly index: number;
  readonly payloadStart: number;
  readonly end: number;
}

/**
 * A frame that did not. `torn` says whether the damage looks like an interrupted write (cut short,
 * or bytes that do not match their checksum) rather than a well-formed record that cannot belong
 * here (index beyond 2^53): only the former may be repaired, and only at the tail of the log.
 */
export interface FrameDamage {
  readonly ok: false;
  readonly torn: boolean;
  readonly reason: string;
}

/** Decodes and verifies the frame at `at`, reading no further than `limit`. */
export function decodeFrame(buffer: Buffer, at: number, limit: number): DecodedFrame | FrameDamage {
  const available = limit - at;
  if (available < RECORD_HEADER_BYTES) {
    return { ok: false, torn: true, reason: `incomplete record header (${available} of ${RECORD_HEADER_BYTES} bytes)` };
  }
  const length = buffer.readUInt32LE(at);
  if (length > MAX_RECORD_PAYLOAD_BYTES) {
    return { ok: false, torn: true, reason: `record length ${length} exceeds MAX_RECORD_PAYLOAD_BYTES` };
  }
  const end = at + frameLength(length);
  if (end > limit) {
    return { ok: false, torn: true, reason: `incomplete record payload (${available - RECORD_HEADER_BYTES} of ${length} bytes)` };
  }
  const stored = buffer.readUInt32LE(at + 4);
  const computed = frameChecksum(buffer, at, end);
  if (stored !== computed) {
    return { ok: false, torn: true, reason: `checksum mismatch (stored ${hex(stored)}, computed ${hex(computed)})` };
  }
  const index = buffer.readUInt32LE(at + 8) + buffer.readUInt32LE(at + 12) * TWO_TO_32;
  if (index > MAX_LOG_INDEX) {
    return { ok: false, torn: false, reason: `record index ${index} exceeds MAX_LOG_INDEX` };
  }
  return { ok: true, index, payloadStart: at + RECORD_HEADER_BYTES, end };
}

/**
 * Whether any well-formed record with an index in [minIndex, maxIndex] starts anywhere in
 * (from, limit). Recovery uses it to tell a torn tail (nothing valid follows the damage) from
 * damage in the middle of the log (valid records follow): it tries every byte offset, because a
 * damaged length field means the next record's position is unknown. The index window rejects
 * almost every offset before a checksum is computed.
 */
export function hasValidFrameAfter(buffer: Buffer, from: number, limit: number, minIndex: number, maxIndex: number): boolean {
  // Hot loop over every byte offset: plain indexing, cheapest test (the index window) first.
  const minHigh = Math.floor(minIndex / TWO_TO_32);
  const maxHigh = Math.floor(maxIndex / TWO_TO_32);
  for (let at = from + 1; at + RECORD_HEADER_BYTES <= limit; at++) {
    const high = (buffer[at + 12]! | (buffer[at + 13]! << 8) | (buffer[at + 14]! << 16) | (buffer[at + 15]! << 24)) >>> 0;
    if (high < minHigh || high > maxHigh) continue;
    const low = (buffer[at + 8]! | (buffer[at + 9]! << 8) | (buffer[at + 10]! << 16) | (buffer[at + 11]! << 24)) >>> 0;
    const index = low + high * TWO_TO_32;
    if (index < minIndex || index > maxIndex) continue;
    const frame = decodeFrame(buffer, at, limit);
    if (frame.ok) return true;
  }
  return false;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
