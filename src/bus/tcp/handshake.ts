/**
 * The peer handshake: mutual HMAC-SHA256 challenge–response over the cluster secret.
 *
 * ```
 * dialer D                                   listener L
 *   Hello(version, D, L, nonceD)        ->     checks: version, D is a known peer allowed to dial, L is itself
 *                                       <-     Challenge(nonceL)
 *   Proof(mac("dialer", D, L, nonceD, nonceL))  ->   verifies (constant time)
 *                                       <-     Proof(mac("listener", D, L, nonceD, nonceL))
 *   verifies, then the link is open both ways
 * ```
 *
 * Each side proves knowledge of the secret over a nonce it did not choose, so neither proof can be
 * replayed; the role label keeps a dialer's proof from being reflected as a listener's; both node
 * ids are bound, so a proof for one pair of nodes is worthless for another. The dialer proves
 * first, so a dialer without the secret learns nothing it could use. Handshake frames have fixed
 * layouts (no MessagePack is decoded before the peer is authenticated).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '../../protocol/ids.js';

/** Protocol version carried in Hello; a listener refuses any other. */
export const PEER_PROTOCOL_VERSION = 1;
export const HANDSHAKE_MAGIC = Buffer.from('SKPB', 'ascii');
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;

/** First byte of each handshake frame. */
export const HandshakeKind = Object.freeze({ Hello: 1, Challenge: 2, Proof: 3 } as const);

const KIND_BYTES = 1;
const VERSION_BYTES = 1;
const NODE_ID_BYTES = 8;
export const HELLO_BYTES = KIND_BYTES + HANDSHAKE_MAGIC.length + VERSION_BYTES + 2 * NODE_ID_BYTES + NONCE_BYTES;
export const CHALLENGE_BYTES = KIND_BYTES + NONCE_BYTES;
export const PROOF_FRAME_BYTES = KIND_BYTES + PROOF_BYTES;

const DIALER_LABEL = Buffer.from('statekeeper peer v1 dialer\0', 'ascii');
const LISTENER_LABEL = Buffer.from('statekeeper peer v1 listener\0', 'ascii');

export interface Hello {
  readonly version: number;
  readonly dialer: NodeId;
  readonly listener: NodeId;
  readonly nonce: Buffer;
}

/** A fresh random nonce. */
export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

export function encodeHello(hello: Hello): Buffer {
  const out = Buffer.allocUnsafe(HELLO_BYTES);
  let at = out.writeUInt8(HandshakeKind.Hello, 0);
  at += HANDSHAKE_MAGIC.copy(out, at);
  at = out.writeUInt8(hello.version, at);
  at = out.writeDoubleBE(hello.dialer, at);
  at = out.writeDoubleBE(hello.listener, at);
  hello.nonce.copy(out, at);
  return out;
}

/** The Hello in `body`, or why it is not one. */
export function decodeHello(body: Buffer): Hello | string {
  if (body.length !== HELLO_BYTES || body[0] !== HandshakeKind.Hello) return 'expected a Hello frame';
  let at = KIND_BYTES;
  if (!body.subarray(at, at + HANDSHAKE_MAGIC.length).equals(HANDSHAKE_MAGIC)) return 'not a statekeeper peer (bad magic)';
  at += HANDSHAKE_MAGIC.length;
  const version = body.readUInt8(at);
  at += VERSION_BYTES;
  const dialer = body.readDoubleBE(at);
  const listener = body.readDoubleBE(at + NODE_ID_BYTES);
  at += 2 * NODE_ID_BYTES;
  return { version, dialer, listener, nonce: Buffer.from(body.subarray(at, at + NONCE_BYTES)) };
}

export function encodeChallenge(nonce: Buffer): Buffer {
  const out = Buffer.allocUnsafe(CHALLENGE_BYTES);
  out.writeUInt8(HandshakeKind.Challenge, 0);
  nonce.copy(out, KIND_BYTES);
  return out;
}

/** The nonce of the Challenge in `body`, or undefined if it is not one. */
export function decodeChallenge(body: Buffer): Buffer | undefined {
  if (body.length !== CHALLENGE_BYTES || body[0] !== HandshakeKind.Challenge) return undefined;
  return Buffer.from(body.subarray(KIND_BYTES));
}

export function encodeProof(mac: Buffer): Buffer {
  const out = Buffer.allocUnsafe(PROOF_FRAME_BYTES);
  out.writeUInt8(HandshakeKind.Proof, 0);
  mac.copy(out, KIND_BYTES);
  return out;
}

/** The MAC of the Proof in `body`, or undefined if it is not one. */
export function decodeProof(body: Buffer): Buffer | undefined {
  if (body.length !== PROOF_FRAME_BYTES || body[0] !== HandshakeKind.Proof) return undefined;
  return Buffer.from(body.subarray(KIND_BYTES));
}

/** What both sides compute: who speaks, between which nodes, over both nonces. */
export interface ProofInput {
  readonly role: 'dialer' | 'listener';
  readonly dialer: NodeId;
  readonly listener: NodeId;
  readonly dialerNonce: Buffer;
  readonly listenerNonce: Buffer;
}

export function computeProof(secret: Buffer, input: ProofInput): Buffer {
  const ids = Buffer.allocUnsafe(2 * NODE_ID_BYTES);
  ids.writeDoubleBE(input.dialer, 0);
  ids.writeDoubleBE(input.listener, NODE_ID_BYTES);
  return createHmac('sha256', secret)
    .update(input.role === 'dialer' ? DIALER_LABEL : LISTENER_LABEL)
    .update(ids)
    .update(input.dialerNonce)
    .update(input.listenerNonce)
    .digest();
}

/** Whether `received` is the proof for `input`, compared in constant time. */
export function verifyProof(secret: Buffer, input: ProofInput, received: Buffer): boolean {
  const expected = computeProof(secret, input);
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/** The secret as HMAC key bytes; refuses an empty one. */
export function secretKey(secret: string | Uint8Array): Buffer {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (key.length === 0) throw new RangeError('TcpBus: the cluster secret must not be empty');
  return key;
}
