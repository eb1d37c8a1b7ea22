import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_FIELD_BYTES,
  JUTE_MAX_BUFFER_BYTES,
  JuteDecodeError,
  JuteEncodeError,
  JuteReader,
  JuteSize,
  JuteWriter,
} from '../../../src/server/jute/buffer.js';
import { int32, int64, nullableBytes, nullableText } from './arbitraries.js';

function decodeError(run: () => unknown): JuteDecodeError {
  try {
    run();
  } catch (error) {
    if (error instanceof JuteDecodeError) return error;
    throw error;
  }
  throw new Error('expected a JuteDecodeError');
}

function ints(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeInt32BE(v, i * 4));
  return b;
}

describe('JuteReader and JuteWriter', () => {
  it('round-trip every primitive, sized exactly by JuteSize', () => {
    fc.assert(
      fc.property(int32, int64, fc.boolean(), nullableBytes, nullableText, fc.option(fc.array(nullableText.map((s) => s ?? ''), { maxLength: 5 }), { nil: null }), (i, l, b, buf, s, v) => {
        const size = 4 + 8 + 1 + JuteSize.buffer(buf) + JuteSize.ustring(s) + JuteSize.stringVector(v);
        const out = Buffer.alloc(size);
        const w = new JuteWriter(out);
        w.writeInt(i);
        w.writeLong(l);
        w.writeBool(b);
        w.writeBuffer(buf);
        w.writeUString(s);
        w.writeStringVector(v);
        w.assertFull('primitives');
        const r = new JuteReader(out);
        expect(r.readInt()).toBe(i);
        expect(r.readLong()).toBe(l);
        expect(r.readBool()).toBe(b);
        expect(r.readBuffer()).toEqual(buf);
        expect(r.readUString()).toBe(s);
        expect(r.readVector((x) => x.readString(), 4)).toEqual(v);
        expect(r.remaining).toBe(0);
      }),
    );
  });

  it('uses the jute maxima', () => {
    expect(JUTE_MAX_BUFFER_BYTES).toBe(0xfffff);
    expect(DEFAULT_MAX_FIELD_BYTES).toBe(2 * 0xfffff);
  });

  it('reads any non-zero boolean byte as true, like java.io.DataInput', () => {
    expect(new JuteReader(Buffer.from([2])).readBool()).toBe(true);
    expect(new JuteReader(Buffer.from([0])).readBool()).toBe(false);
  });

  it('copies buffers out, so the input can be reused', () => {
    const input = Buffer.concat([ints(2), Buffer.from([7, 8])]);
    const value = new JuteReader(input).readBuffer();
    input[4] = 0;
    expect(value).toEqual(Buffer.from([7, 8]));
  });

  it('reports truncation at the offset of the failing read', () => {
    const error = decodeError(() => {
      const r = new JuteReader(Buffer.alloc(10));
      r.readInt();
      r.readLong();
    });
    expect(error.code).toBe('truncated');
    expect(error.offset).toBe(4);
  });

  it('respects a start and an end inside the buffer', () => {
    const buf = Buffer.concat([ints(1, 2, 3)]);
    const r = new JuteReader(buf, 4, 8);
    expect(r.readInt()).toBe(2);
    expect(decodeError(() => r.readInt()).offset).toBe(8);
  });

  it('checks a buffer or string length against the remaining bytes', () => {
    const error = decodeError(() => new JuteReader(Buffer.concat([ints(5), Buffer.from('abcd')])).readUString());
    expect(error.code).toBe('truncated');
    expect(error.offset).toBe(0);
  });

  it('checks a length against the field maximum before the remaining bytes', () => {
    const error = decodeError(() => new JuteReader(Buffer.concat([ints(11), Buffer.alloc(11)]), 0, 15, 10).readBuffer());
    expect(error.code).toBe('lengthOverLimit');
    expect(new JuteReader(Buffer.concat([ints(10), Buffer.alloc(10)]), 0, 14, 10).readBuffer()).toEqual(Buffer.alloc(10));
  });

  it('reads -1 as null and any other negative length as an error', () => {
    expect(new JuteReader(ints(-1)).readBuffer()).toBeNull();
    expect(new JuteReader(ints(-1)).readUString()).toBeNull();
    expect(decodeError(() => new JuteReader(ints(-2)).readBuffer()).code).toBe('negativeLength');
    expect(decodeError(() => new JuteReader(ints(-1)).readString('Create.path')).code).toBe('unexpectedNull');
  });

  it('reads a vector count of -1 as null, other negatives as empty, and refuses counts the bytes cannot hold', () => {
    const readInts = (r: JuteReader): number => r.readInt();
    expect(new JuteReader(ints(-1)).readVector(readInts, 4)).toBeNull();
    expect(new JuteReader(ints(-9)).readVector(readInts, 4)).toEqual([]);
    expect(new JuteReader(ints(2, 7, 8)).readVector(readInts, 4)).toEqual([7, 8]);
    const error = decodeError(() => new JuteReader(ints(3, 7, 8)).readVector(readInts, 4));
    expect(error.code).toBe('truncated');
    expect(error.offset).toBe(0);
  });

  it('refuses to write values outside their wire range', () => {
    const w = new JuteWriter(Buffer.alloc(64));
    expect(() => w.writeInt(2 ** 31)).toThrow(JuteEncodeError);
    expect(() => w.writeInt(-(2 ** 31) - 1)).toThrow(JuteEncodeError);
    expect(() => w.writeInt(0.5)).toThrow(JuteEncodeError);
    expect(() => w.writeLong(2n ** 63n)).toThrow(JuteEncodeError);
    expect(() => w.writeLongFromNumber(2 ** 53)).toThrow(JuteEncodeError);
    expect(() => new JuteWriter(Buffer.alloc(3)).writeInt(1)).toThrow(JuteEncodeError);
    expect(() => new JuteWriter(Buffer.alloc(5)).writeUString('ab')).toThrow(JuteEncodeError);
    expect(w.offset).toBe(0);
  });

  it('writes null as -1 and asserts the output is full', () => {
    const out = Buffer.alloc(12);
    const w = new JuteWriter(out);
    w.writeBuffer(null);
    w.writeUString(null);
    expect(() => w.assertFull('partial')).toThrow(JuteEncodeError);
    w.writeVector(null, () => undefined);
    w.assertFull('full');
    expect(out).toEqual(ints(-1, -1, -1));
  });

  it('encodes strings as UTF-8', () => {
    const out = Buffer.alloc(JuteSize.ustring('é€😀'));
    new JuteWriter(out).writeUString('é€😀');
    expect(out.toString('hex')).toBe('00000009' + 'c3a9' + 'e282ac' + 'f09f9880');
  });
});
