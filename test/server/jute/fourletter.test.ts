import { describe, expect, it } from 'vitest';
import {
  detectFourLetterWord,
  FOUR_LETTER_WORDS,
  fourLetterWordCode,
  fourLetterWordOf,
  TELNET_CLOSE_CODE,
} from '../../../src/server/jute/fourletter.js';
import { encodeConnectRequest } from '../../../src/server/jute/records.js';

/** The words ZooKeeper 3.8 documents for its client port. */
const documented = ['ruok', 'srvr', 'stat', 'mntr', 'cons', 'conf', 'envi', 'wchs', 'wchc', 'wchp', 'dump', 'isro', 'dirs', 'gtmk', 'stmk', 'crst', 'srst'];

describe('four-letter words', () => {
  it('knows every documented word plus hash', () => {
    expect([...FOUR_LETTER_WORDS].sort()).toEqual([...documented, 'hash'].sort());
  });

  it('reads the 4 bytes as a big-endian int, as ZooKeeper does', () => {
    expect(fourLetterWordCode('ruok')).toBe(0x72756f6b);
    expect(fourLetterWordOf(0x72756f6b)).toBe('ruok');
    for (const word of FOUR_LETTER_WORDS) {
      expect(detectFourLetterWord(Buffer.from(word, 'latin1'))).toBe(word);
      expect(fourLetterWordOf(fourLetterWordCode(word))).toBe(word);
    }
  });

  it('detects at an offset and needs all 4 bytes', () => {
    expect(detectFourLetterWord(Buffer.from('xxstat'), 2)).toBe('stat');
    expect(detectFourLetterWord(Buffer.from('sta'))).toBeNull();
    expect(detectFourLetterWord(Buffer.from('stat'), 1)).toBeNull();
  });

  it('returns null for other ints, including a real ConnectRequest length', () => {
    expect(detectFourLetterWord(Buffer.from('RUOK'))).toBeNull();
    expect(detectFourLetterWord(Buffer.from('abcd'))).toBeNull();
    const connect = encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeoutMs: 30_000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
    expect(detectFourLetterWord(connect)).toBeNull();
  });

  it('maps the telnet close sequence', () => {
    expect(TELNET_CLOSE_CODE).toBe(-720899);
    expect(detectFourLetterWord(Buffer.from([0xff, 0xf4, 0xff, 0xfd]))).toBe('telnet close');
    expect(fourLetterWordCode('telnet close')).toBe(TELNET_CLOSE_CODE);
  });
});
