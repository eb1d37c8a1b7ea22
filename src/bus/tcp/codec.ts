/**
 * Message bodies: msgpackr, plain MessagePack maps (no records), with msgpackr's extension types
 * so that a message's payload round-trips exactly: bigint of any size, Uint8Array (and the other
 * typed arrays), Set, Date, undefined. A Map arrives as a plain object (maps decode as objects,
 * as every message needs).
 */
import { Packr, Unpackr } from 'msgpackr';
import type { Options } from 'msgpackr';

/** Both ends must use exactly these options. */
const CODEC_OPTIONS: Options = Object.freeze({
  // Records would make one frame's decoding depend on structures defined by earlier frames.
  useRecords: false,
  mapsAsObjects: true,
  // Typed arrays (Uint8Array payloads) come back as their own class, not as a Buffer.
  moreTypes: true,
  // Bigints beyond 64 bits travel exactly instead of throwing; 64-bit ones use int64 as usual.
  useBigIntExtension: true,
  int64AsType: 'bigint',
  // A decoded payload must not pin (or see later reuse of) the receive buffer.
  copyBuffers: true,
});

/** Encoding is stateless with these options, so one encoder serves every connection. */
const sharedEncoder = new Packr(CODEC_OPTIONS);

/** Encode one message body. Throws on a value MessagePack cannot carry (e.g. a cycle). */
export function encodeMessage(msg: unknown): Buffer {
  return sharedEncoder.pack(msg);
}

export type DecodeResult<M> =
  | { readonly ok: true; readonly msg: M }
  | { readonly ok: false; readonly reason: 'malformed-frame' | 'not-a-message'; readonly detail: string };

/**
 * Decodes the bodies received on one connection. One per connection, so nothing a peer sends can
 * change how another peer's frames are read.
 */
export class MessageDecoder<M extends { readonly type: string }> {
  private readonly unpackr = new Unpackr(CODEC_OPTIONS);

  decode(body: Buffer): DecodeResult<M> {
    let value: unknown;
    try {
      value = this.unpackr.unpack(body);
    } catch (err) {
      return { ok: false, reason: 'malformed-frame', detail: errorText(err) };
    }
    if (!isMessageLike(value)) return { ok: false, reason: 'not-a-message', detail: describe(value) };
    return { ok: true, msg: value as M };
  }
}

/** A plain object (not an array, class instance or extension value) with a string `type`. */
export function isMessageLike(value: unknown): value is { readonly type: string } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return typeof (value as { type?: unknown }).type === 'string';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
  return name !== undefined && name !== 'Object' ? `an instance of ${name}` : 'an object without a string type';
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
