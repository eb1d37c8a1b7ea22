/**
 * CRC-32C (Castagnoli), hardware-accelerated through `@node-rs/crc32`. Used by every on-disk format
 * of the store to detect torn writes and bit rot.
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC-32C of `bytes`, continuing from `previous` (the result of an earlier call) so that several
 * non-contiguous ranges can be covered by one checksum. Returns an unsigned 32-bit integer.
 */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  return nativeCrc32c(bytes, previous) >>> 0;
}
