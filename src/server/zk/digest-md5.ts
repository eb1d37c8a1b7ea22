/**
 * SASL DIGEST-MD5 (RFC 2831), the server side, as ZooKeeper 3.8 runs it: the JDK's
 * com.sun.security.sasl.digest.DigestMD5Server created by ZooKeeperSaslServer with protocol
 * "zookeeper", server name "zk-sasl-md5" (which is also the only realm), no properties (so qop
 * `auth` only, charset utf-8), and ZooKeeper's SaslServerCallbackHandler answering the password
 * callback from the users of the JAAS `Server` section.
 *
 * The exchange (ZooKeeperSaslClient sends an empty token first, since DIGEST-MD5 has no initial
 * response):
 *
 * ```
 * C: (empty)
 * S: realm="zk-sasl-md5",nonce="<40 chars>",charset=utf-8,algorithm=md5-sess
 * C: charset=utf-8,username="bob",realm="zk-sasl-md5",nonce="…",nc=00000001,cnonce="…",
 *    digest-uri="zookeeper/zk-sasl-md5",maxbuf=65536,response=<32 hex>,qop=auth,authzid="bob"
 * S: rspauth=<32 hex>                        (authentication complete)
 * ```
 *
 * Pure: no IO; the nonce's randomness is injected. Every refusal is a {@link SaslError} whose
 * message is the JDK's, so logs read the same as ZooKeeper's.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** ZooKeeperSaslServer: the SASL protocol name. */
export const ZOOKEEPER_SASL_PROTOCOL = 'zookeeper';
/** ZooKeeperSaslServer: the server name DIGEST-MD5 uses, hard-wired on both sides ("domain"). */
export const ZOOKEEPER_SASL_SERVER_NAME = 'zk-sasl-md5';
/** DigestMD5Server.MAX_RESPONSE_LENGTH: a longer client token is refused before it is parsed. */
export const MAX_DIGEST_RESPONSE_BYTES = 4096;
/** DigestMD5Base.RAW_NONCE_SIZE: random bytes behind a nonce (base64: 40 characters). */
export const RAW_NONCE_BYTES = 30;
/** RFC 2831: the nonce count of the first (and, for authentication, only) response. */
const NONCE_COUNT = 1;
/** RFC 2831 default maxbuf; the JDK sends maxbuf only when it differs. */
const DEFAULT_MAXBUF = 65536;
const MD5_HEX_LENGTH = 32;

/** A refused exchange (javax.security.sasl.SaslException): ZooKeeper answers AUTHFAILED and closes. */
export class SaslError extends Error {
  override readonly name = 'SaslError';
}

/** How the server side is set up. */
export interface DigestMd5ServerOptions {
  /** The user's password, or undefined for a user the server does not know. */
  readonly passwordOf: (username: string) => string | undefined;
  /** Default {@link ZOOKEEPER_SASL_PROTOCOL}. */
  readonly protocol?: string;
  /** Default {@link ZOOKEEPER_SASL_SERVER_NAME}; also the realm offered. */
  readonly serverName?: string;
  /** Random bytes for the nonce (default node:crypto). */
  readonly randomBytes?: (n: number) => Uint8Array;
}

/** The result of one step: the token to send back, and whether authentication is complete. */
export type DigestMd5Step =
  | { readonly complete: false; readonly challenge: Buffer }
  /** `username` is the authenticated id (the authentication id, which ZooKeeper authorizes as itself). */
  | { readonly complete: true; readonly challenge: Buffer; readonly username: string };

const UTF8 = 'utf8';

/**
 * One DIGEST-MD5 exchange: a fresh one per connection (ZooKeeper creates a SaslServer per
 * ServerCnxn). Step 1 takes the empty initial token and answers the challenge; step 2 checks the
 * digest response and answers `rspauth`; anything after is refused ("Server at illegal state").
 * A refused step leaves the exchange unusable, as the JDK's server does.
 */
export class DigestMd5Server {
  private readonly options: DigestMd5ServerOptions;
  private readonly protocol: string;
  private readonly serverName: string;
  private readonly realms: readonly string[];
  private step: 1 | 2 | 'done' = 1;
  private nonce: Buffer = Buffer.alloc(0);

  constructor(options: DigestMd5ServerOptions) {
    this.options = options;
    this.protocol = options.protocol ?? ZOOKEEPER_SASL_PROTOCOL;
    this.serverName = options.serverName ?? ZOOKEEPER_SASL_SERVER_NAME;
    // DigestMD5Server: with no realm property, the server name is the one realm offered.
    this.realms = [this.serverName];
  }

  /** True once the client's digest has been verified. */
  get isComplete(): boolean {
    return this.step === 'done';
  }

  /** SaslServer.evaluateResponse. Throws {@link SaslError} when the client's token is refused. */
  evaluate(response: Uint8Array): DigestMd5Step {
    if (response.length > MAX_DIGEST_RESPONSE_BYTES) {
      this.step = 'done';
      throw new SaslError(`DIGEST-MD5: Invalid digest response length. Got:  ${response.length} Expected < ${MAX_DIGEST_RESPONSE_BYTES}`);
    }
    if (this.step === 1) {
      if (response.length !== 0) {
        this.step = 'done';
        throw new SaslError('DIGEST-MD5 must not have an initial response');
      }
      this.nonce = Buffer.from(Buffer.from((this.options.randomBytes ?? randomBytes)(RAW_NONCE_BYTES)).toString('base64'), 'latin1');
      this.step = 2;
      return { complete: false, challenge: this.challenge() };
    }
    if (this.step === 2) {
      this.step = 'done';
      return this.verify(Buffer.from(response));
    }
    throw new SaslError('DIGEST-MD5: Server at illegal state');
  }

  /**
   * DigestMD5Server.generateChallenge with ZooKeeper's settings: realm, nonce, charset, algorithm.
   * No qop directive (the JDK writes one only when a qop property was given; absent means `auth`),
   * no maxbuf (the default), no cipher.
   */
  private challenge(): Buffer {
    const parts = this.realms.map((r) => `realm="${quote(r)}"`);
    parts.push(`nonce="${quote(this.nonce.toString('latin1'))}"`, 'charset=utf-8', 'algorithm=md5-sess');
    return Buffer.from(parts.join(','), UTF8);
  }

  /** DigestMD5Server.validateClientResponse, in the JDK's order of checks. */
  private verify(response: Buffer): DigestMd5Step {
    const d = parseDirectives(response);
    const text = (key: string): string | undefined => (d.get(key) === undefined ? undefined : d.get(key)!.toString(UTF8));
    const charset = text('charset');
    if (charset !== undefined && charset !== 'utf-8') {
      throw new SaslError(`DIGEST-MD5: digest response format violation. Incompatible charset value: ${charset}`);
    }
    const maxbuf = text('maxbuf');
    if (maxbuf !== undefined && !/^[+-]?\d+$/.test(maxbuf)) throw new SaslError(`DIGEST-MD5: digest response format violation. Invalid maxbuf: ${maxbuf}`);
    const username = text('username');
    if (username === undefined) throw new SaslError('DIGEST-MD5: digest response format violation. Missing username.');
    const realm = text('realm') ?? '';
    if (!this.realms.includes(realm)) throw new SaslError(`DIGEST-MD5: digest response format violation. Nonexistent realm: ${realm}`);
    const nonce = d.get('nonce');
    if (nonce === undefined) throw new SaslError('DIGEST-MD5: digest response format violation. Missing nonce.');
    if (!nonce.equals(this.nonce)) throw new SaslError('DIGEST-MD5: digest response format violation. Mismatched nonce.');
    const cnonce = d.get('cnonce');
    if (cnonce === undefined) throw new SaslError('DIGEST-MD5: digest response format violation. Missing cnonce.');
    const nc = text('nc');
    if (nc !== undefined && (!/^[0-9a-fA-F]+$/.test(nc) || parseInt(nc, 16) !== NONCE_COUNT)) {
      throw new SaslError(`DIGEST-MD5: digest response format violation. Nonce count does not match: ${nc}`);
    }
    const qop = text('qop') ?? 'auth';
    if (qop === 'auth-int' || qop === 'auth-conf') throw new SaslError(`DIGEST-MD5: server does not support  qop: ${qop}`);
    if (qop !== 'auth') throw new SaslError(`DIGEST-MD5: digest response format violation. Invalid QOP: ${qop}`);
    const digestUri = text('digest-uri');
    if (digestUri === undefined) throw new SaslError('DIGEST-MD5: digest response format violation. Missing digest-uri.');
    this.checkDigestUri(digestUri);
    const clientResponse = d.get('response');
    if (clientResponse === undefined) throw new SaslError('DIGEST-MD5: digest response format violation. Missing response.');
    const authzid = d.get('authzid');
    const password = this.options.passwordOf(username);
    const fields = { username, realm, password: password ?? '', nonce: this.nonce, cnonce, nonceCount: NONCE_COUNT, qop, digestUri, authzid };
    const expected = Buffer.from(digestResponseValue('AUTHENTICATE', fields), 'latin1');
    // An unknown user fails like a wrong password (ZooKeeper 3.8 logs "Mismatched response" for both).
    if (password === undefined || clientResponse.length !== expected.length || !timingSafeEqual(clientResponse, expected)) {
      throw new SaslError('DIGEST-MD5: digest response format violation. Mismatched response.');
    }
    // ZooKeeper's SaslServerCallbackHandler authorizes every authenticated client, as the name it
    // authenticated with (after Kerberos short-name rules, which leave a name without '@' as is).
    return { complete: true, username, challenge: Buffer.from(`rspauth=${digestResponseValue('', fields)}`, 'latin1') };
  }

  /** digest-uri = serv-type "/" host [ "/" serv-name ]: the service type and host must be this server's. */
  private checkDigestUri(digestUri: string): void {
    const parts = digestUri.split('/');
    if (parts.length < 2 || parts.length > 3 || parts[0]!.toLowerCase() !== this.protocol.toLowerCase()) {
      throw new SaslError(`DIGEST-MD5: digest response format violation. Nonmatching digest-uri: ${digestUri}`);
    }
    if (parts[1]!.toLowerCase() !== this.serverName.toLowerCase()) {
      throw new SaslError(`DIGEST-MD5: digest response format violation. Nonmatching digest-uri host: ${parts[1]!}`);
    }
  }
}

/** The fields of a digest computation (RFC 2831 §2.1.2.1). */
export interface DigestFields {
  readonly username: string;
  readonly realm: string;
  readonly password: string;
  readonly nonce: Uint8Array;
  readonly cnonce: Uint8Array;
  readonly nonceCount: number;
  readonly qop: string;
  readonly digestUri: string;
  /** As sent by the client (raw bytes), or undefined when it sent none. */
  readonly authzid?: Uint8Array | undefined;
}

function md5(...parts: Array<Uint8Array | string>): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
  return h.digest();
}

/**
 * RFC 2831 §2.1.2.1 with charset=utf-8: user name, realm and password are hashed as ISO 8859-1
 * when every character fits in it, as UTF-8 otherwise (DigestMD5Base.stringToByte_8859_1).
 */
export function latin1OrUtf8(s: string): Buffer {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return Buffer.from(s, UTF8);
  return Buffer.from(s, 'latin1');
}

/**
 * response-value (RFC 2831 §2.1.2.1), as 32 lowercase hex digits. `method` is "AUTHENTICATE" for the
 * client's `response` and "" for the server's `rspauth` (§2.1.3). qop auth only (no auth-int marker).
 *
 *   A1 = { H( { username-value, ":", realm-value, ":", passwd } ), ":", nonce-value, ":", cnonce-value [, ":", authzid-value] }
 *   A2 = { method, ":", digest-uri-value }
 *   response-value = HEX( KD( HEX(H(A1)), { nonce-value, ":" nc-value, ":", cnonce-value, ":", qop-value, ":", HEX(H(A2)) }))
 */
export function digestResponseValue(method: string, f: DigestFields): string {
  const userRealmPassword = md5(latin1OrUtf8(f.username), ':', latin1OrUtf8(f.realm), ':', latin1OrUtf8(f.password));
  const a1 = f.authzid === undefined ? [userRealmPassword, ':', f.nonce, ':', f.cnonce] : [userRealmPassword, ':', f.nonce, ':', f.cnonce, ':', f.authzid];
  const hexA1 = md5(...a1).toString('hex');
  const hexA2 = md5(`${method}:`, Buffer.from(f.digestUri, UTF8)).toString('hex');
  const nc = f.nonceCount.toString(16).padStart(8, '0');
  const value = md5(hexA1, ':', f.nonce, ':', nc, ':', f.cnonce, ':', f.qop, ':', hexA2).toString('hex');
  if (value.length !== MD5_HEX_LENGTH) throw new Error('md5 gave an unexpected length');
  return value;
}

/** quoted-string content: `"` and `\` are escaped with a backslash (DigestMD5Base.writeQuotedStringValue). */
function quote(s: string): string {
  return s.replace(/["\\]/g, (c) => `\\${c}`);
}

const LWS = new Set([0x20, 0x09, 0x0d, 0x0a]);

/**
 * The directives of a challenge or response (DigestMD5Base.parseDirectives): `key=value` or
 * `key="quoted value"` separated by commas and linear white space; keys compare case-insensitively
 * and are returned lowercase; values are the raw bytes (escapes removed). A key sent twice is an error.
 */
export function parseDirectives(bytes: Uint8Array): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let i = 0;
  const skip = (): void => {
    while (i < buf.length && (LWS.has(buf[i]!) || buf[i] === 0x2c)) i++;
  };
  for (skip(); i < buf.length; skip()) {
    const keyStart = i;
    while (i < buf.length && buf[i] !== 0x3d && buf[i] !== 0x2c) i++;
    const key = buf.subarray(keyStart, i).toString(UTF8).trim().toLowerCase();
    if (i >= buf.length || buf[i] !== 0x3d) throw new SaslError(`DIGEST-MD5: Directive key contains a ',':${key}`);
    if (key === '') throw new SaslError('DIGEST-MD5: Directive key is empty');
    i++; // '='
    while (i < buf.length && LWS.has(buf[i]!)) i++;
    let value: Buffer;
    if (buf[i] === 0x22) {
      const chars: number[] = [];
      i++;
      for (;;) {
        if (i >= buf.length) throw new SaslError(`DIGEST-MD5: Unmatched quote found for directive: ${key} with value: ${Buffer.from(chars).toString(UTF8)}`);
        const c = buf[i++]!;
        if (c === 0x22) break;
        if (c === 0x5c && i < buf.length) chars.push(buf[i++]!);
        else chars.push(c);
      }
      value = Buffer.from(chars);
    } else {
      const valueStart = i;
      while (i < buf.length && buf[i] !== 0x2c) i++;
      let end = i;
      while (end > valueStart && LWS.has(buf[end - 1]!)) end--;
      value = Buffer.from(buf.subarray(valueStart, end));
    }
    if (out.has(key)) throw new SaslError(`DIGEST-MD5: peer sent more than one ${key} directive: ${value.toString(UTF8)}`);
    out.set(key, value);
  }
  return out;
}

/** What a DIGEST-MD5 client needs to answer a challenge. */
export interface DigestMd5ClientCredentials {
  readonly username: string;
  readonly password: string;
  /** Default the username (the JDK client, as ZooKeeper creates it, sends its user name). */
  readonly authzid?: string;
  /** Default 'zookeeper/zk-sasl-md5'. */
  readonly digestUri?: string;
  /** Default random (base64 of 30 bytes, as the JDK). */
  readonly cnonce?: string;
}

/**
 * The client side of step 2 (DigestMD5Client.generateClientResponse, in its field order), for tests
 * and tools that speak the wire protocol: the digest response to a server challenge.
 */
export function digestMd5ClientResponse(challenge: Uint8Array, c: DigestMd5ClientCredentials): { response: Buffer; expectedRspauth: string } {
  const d = parseDirectives(challenge);
  const nonce = d.get('nonce');
  if (nonce === undefined) throw new SaslError('DIGEST-MD5: challenge has no nonce');
  const realm = d.get('realm')?.toString(UTF8) ?? '';
  const cnonce = Buffer.from(c.cnonce ?? randomBytes(RAW_NONCE_BYTES).toString('base64'), 'latin1');
  const digestUri = c.digestUri ?? `${ZOOKEEPER_SASL_PROTOCOL}/${ZOOKEEPER_SASL_SERVER_NAME}`;
  const authzid = Buffer.from(c.authzid ?? c.username, UTF8);
  const fields: DigestFields = { username: c.username, realm, password: c.password, nonce, cnonce, nonceCount: NONCE_COUNT, qop: 'auth', digestUri, authzid };
  const text = [
    'charset=utf-8',
    `username="${quote(c.username)}"`,
    `realm="${quote(realm)}"`,
    `nonce="${quote(nonce.toString('latin1'))}"`,
    `nc=${NONCE_COUNT.toString(16).padStart(8, '0')}`,
    `cnonce="${quote(cnonce.toString('latin1'))}"`,
    `digest-uri="${quote(digestUri)}"`,
    `maxbuf=${DEFAULT_MAXBUF}`,
    `response=${digestResponseValue('AUTHENTICATE', fields)}`,
    'qop=auth',
    `authzid="${quote(authzid.toString(UTF8))}"`,
  ].join(',');
  return { response: Buffer.from(text, UTF8), expectedRspauth: `rspauth=${digestResponseValue('', fields)}` };
}
