import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameError, FrameSplitter } from '../../../src/server/jute/frames.js';
import type { FrameSplitResult } from '../../../src/server/jute/frames.js';
import { encodeConnectRequest } from '../../../src/server/jute/records.js';

const payload = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const payloads = fc.array(payload, { maxLength: 20 });

/** Cuts `stream` at the given points (taken modulo its length) into chunks, empty chunks included. */
function chunk(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % (stream.length + 1))))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(stream.subarray(start, point));
    start = point;
  }
  chunks.push(stream.subarray(start));
  return chunks;
}

function frames(result: FrameSplitResult): readonly Buffer[] {
  return result.kind === 'fourLetterWord' ? [] : result.frames;
}

describe('FrameSplitter', () => {
  it('returns the frames of a stream in order, however it is chunked', () => {
    fc.assert(
      fc.property(payloads, fc.array(fc.nat(), { maxLength: 40 }), (sent, cuts) => {
        const splitter = new FrameSplitter();
        const received: Buffer[] = [];
        for (const piece of chunk(Buffer.concat(sent.map(encodeFrame)), cuts)) {
          const result = splitter.push(piece);
          expect(result.kind).toBe('frames');
          received.push(...frames(result));
        }
        expect(received).toEqual(sent);
        expect(splitter.bufferedBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('returns frames within one chunk as views, without copying', () => {
    const stream = Buffer.concat([encodeFrame(Buffer.from('abc')), encodeFrame(Buffer.from('de'))]);
    const result = new FrameSplitter().push(stream);
    expect(frames(result).map((f) => f.toString())).toEqual(['abc', 'de']);
    expect(frames(result)[0]!.buffer).toBe(stream.buffer);
  });

  it('copies a frame spread over chunks into a buffer of exactly its size', () => {
    const splitter = new FrameSplitter();
    const stream = encodeFrame(Buffer.from('hello world'));
    expect(frames(splitter.push(stream.subarray(0, 2)))).toEqual([]);
    expect(frames(splitter.push(stream.subarray(2, 9)))).toEqual([]);
    expect(splitter.bufferedBytes).toBe(5); // the prefix is consumed once read
    const [frame] = frames(splitter.push(stream.subarray(9)));
    expect(frame?.toString()).toBe('hello world');
    expect(frame?.length).toBe(11);
  });

  it('accepts an empty frame', () => {
    expect(frames(new FrameSplitter().push(encodeFrame(Buffer.alloc(0))))).toEqual([Buffer.alloc(0)]);
  });

  it('accepts a frame of exactly the maximum and refuses one byte more, as jute.maxbuffer does', () => {
    const maxFrameBytes = 64;
    const ok = new FrameSplitter({ maxFrameBytes }).push(encodeFrame(Buffer.alloc(64, 1)));
    expect(frames(ok)).toEqual([Buffer.alloc(64, 1)]);

    const tooLarge = new FrameSplitter({ maxFrameBytes }).push(encodeFrame(Buffer.alloc(65, 1)));
    expect(tooLarge.kind).toBe('error');
    if (tooLarge.kind !== 'error') return;
    expect(tooLarge.error).toBeInstanceOf(FrameError);
    expect(tooLarge.error.code).toBe('frameTooLarge');
    expect(tooLarge.error.length).toBe(65);
    expect(tooLarge.error.maxFrameBytes).toBe(64);
  });

  it('defaults the maximum to jute.maxbuffer (0xfffff)', () => {
    expect(new FrameSplitter().maxFrameBytes).toBe(0xfffff);
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(0xfffff);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(0x100000, 0);
    const result = new FrameSplitter().push(prefix);
    expect(result.kind === 'error' && result.error.code).toBe('frameTooLarge');
  });

  it('refuses a negative length', () => {
    const result = new FrameSplitter().push(Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2]));
    expect(result.kind === 'error' && result.error.code).toBe('negativeLength');
  });

  it('stops at an oversized frame: the frames before it come out, nothing after, and later pushes repeat the error', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), { maxLength: 8 }),
        fc.integer({ min: 41, max: 0x7fff_ffff }),
        payloads,
        fc.array(fc.nat(), { maxLength: 20 }),
        (before, badLength, after, cuts) => {
          const badPrefix = Buffer.alloc(4);
          badPrefix.writeInt32BE(badLength, 0);
          const head = Buffer.concat(before.map(encodeFrame));
          const stream = Buffer.concat([head, badPrefix, ...after.map(encodeFrame)]);
          const splitter = new FrameSplitter({ maxFrameBytes: 40 });
          const received: Buffer[] = [];
          let error: FrameError | undefined;
          for (const piece of chunk(stream, cuts)) {
            const result = splitter.push(piece);
            received.push(...frames(result));
            if (result.kind === 'error') {
              error ??= result.error;
              expect(result.error).toBe(error);
            }
          }
          expect(received).toEqual(before);
          expect(error?.code).toBe('frameTooLarge');
          expect(error?.length).toBe(badLength);
          expect(error?.streamOffset).toBe(head.length);
          expect(splitter.isTerminated).toBe(true);
          expect(splitter.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('allocates nothing for a declared length until its bytes arrive', () => {
    const splitter = new FrameSplitter();
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(DEFAULT_MAX_FRAME_BYTES, 0);
    expect(frames(splitter.push(prefix))).toEqual([]);
    expect(frames(splitter.push(Buffer.alloc(10)))).toEqual([]);
    expect(splitter.bufferedBytes).toBe(10);
  });

  describe('four-letter words', () => {
    it('detects a word in the first 4 bytes, even split across chunks', () => {
      const splitter = new FrameSplitter({ detectFourLetterWords: true });
      expect(splitter.push(Buffer.from('ru'))).toEqual({ kind: 'frames', frames: [] });
      const result = splitter.push(Buffer.from('ok\n'));
      expect(result).toEqual({ kind: 'fourLetterWord', command: { word: 'ruok' } });
      expect(splitter.push(Buffer.from('more'))).toBe(result);
    });

    it('reads the 8-byte trace mask after stmk', () => {
      const splitter = new FrameSplitter({ detectFourLetterWords: true });
      const mask = Buffer.alloc(8);
      mask.writeBigInt64BE(0x1f2n, 0);
      const stream = Buffer.concat([Buffer.from('stmk'), mask]);
      expect(splitter.push(stream.subarray(0, 7)).kind).toBe('frames');
      expect(splitter.push(stream.subarray(7))).toEqual({ kind: 'fourLetterWord', command: { word: 'stmk', traceMask: 0x1f2n } });
    });

    it('recognizes telnet close instead of calling it a negative length', () => {
      const telnetClose = Buffer.from([0xff, 0xf4, 0xff, 0xfd]);
      expect(new FrameSplitter({ detectFourLetterWords: true }).push(telnetClose)).toEqual({
        kind: 'fourLetterWord',
        command: { word: 'telnet close' },
      });
      const plain = new FrameSplitter().push(telnetClose);
      expect(plain.kind === 'error' && plain.error.code).toBe('negativeLength');
    });

    it('passes an ordinary ConnectRequest through', () => {
      const connect = encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeoutMs: 30_000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
      const result = new FrameSplitter({ detectFourLetterWords: true }).push(connect);
      expect(frames(result)).toEqual([connect.subarray(4)]);
    });

    it('checks only the first 4 bytes of a connection', () => {
      const splitter = new FrameSplitter({ detectFourLetterWords: true });
      const result = splitter.push(Buffer.concat([encodeFrame(Buffer.from('x')), Buffer.from('ruok')]));
      expect(frames(result)).toEqual([Buffer.from('x')]);
      expect(result.kind === 'error' && result.error.code).toBe('frameTooLarge');
    });

    it('treats a word as a length when detection is off', () => {
      const result = new FrameSplitter().push(Buffer.from('srvr'));
      expect(result.kind === 'error' && result.error.length).toBe(Buffer.from('srvr').readInt32BE(0));
    });
  });
});
