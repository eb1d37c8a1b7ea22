/**
 * Four-letter words ("ruok", "srvr", …) on the client port. ZooKeeper does not parse them as text:
 * before a connection is initialized it reads the first 4 bytes as the big-endian int length of the
 * ConnectRequest, and if that int equals a known command's bytes (FourLetterCommands.cmd2String) it
 * runs the command instead, writes the text answer and closes. Real ConnectRequests are ~50 bytes,
 * far below the smallest command int (0x61…), so the two never collide.
 */

import { INT_BYTES } from './buffer.js';

/** The words ZooKeeper 3.8's FourLetterCommands knows, "hash" (the digest command) included. */
export const FOUR_LETTER_WORDS = [
  'conf',
  'cons',
  'crst',
  'dirs',
  'dump',
  'envi',
  'gtmk',
  'ruok',
  'stmk',
  'srst',
  'srvr',
  'stat',
  'wchc',
  'wchp',
  'wchs',
  'mntr',
  'isro',
  'hash',
] as const;

/**
 * A known command. `telnet close` is the byte sequence telnet sends when it closes (IAC IP IAC DO,
 * 0xfff4fffd); ZooKeeper registers it so that it closes the connection quietly.
 */
export type FourLetterWord = (typeof FOUR_LETTER_WORDS)[number] | 'telnet close';

/** The int telnet's close sequence reads as (FourLetterCommands.telnetCloseCmd). */
export const TELNET_CLOSE_CODE = 0xfff4fffd | 0;

/** `stmk` is followed by an 8-byte big-endian trace mask that ZooKeeper reads before answering. */
export const SET_TRACE_MASK_ARGUMENT_BYTES = 8;

/** The int a word's 4 ASCII bytes read as, big-endian (ByteBuffer.wrap(word.getBytes()).getInt()). */
export function fourLetterWordCode(word: FourLetterWord): number {
  if (word === 'telnet close') return TELNET_CLOSE_CODE;
  return Buffer.from(word, 'latin1').readInt32BE(0);
}

const wordByCode = new Map<number, FourLetterWord>([
  ...FOUR_LETTER_WORDS.map((word): [number, FourLetterWord] => [fourLetterWordCode(word), word]),
  [TELNET_CLOSE_CODE, 'telnet close'],
]);

/** The command a connection's first int names, or null when it is an ordinary frame length. */
export function fourLetterWordOf(firstInt: number): FourLetterWord | null {
  return wordByCode.get(firstInt) ?? null;
}

/**
 * Detects a four-letter word in the first 4 bytes of `bytes` (from `offset`), read as an int the
 * way ZooKeeper does. Returns null when fewer than 4 bytes are available or they name no command.
 */
export function detectFourLetterWord(bytes: Buffer, offset = 0): FourLetterWord | null {
  if (offset < 0 || bytes.length - offset < INT_BYTES) return null;
  return fourLetterWordOf(bytes.readInt32BE(offset));
}
