/**
 * ZooKeeper 3.8 access control: the built-in schemes (world, auth, digest, ip), the `sasl` scheme
 * of SASLAuthenticationProvider when it is configured, the super user, ACL validation and expansion
 * on create/setACL (PrepRequestProcessor.fixupACL) and the permission check every operation makes
 * (ZooKeeperServer.checkACL).
 */
import { createHash } from 'node:crypto';
import { ErrorCode, type Acl, type AclId } from '../protocol/zookeeper.js';

/** Scheme names ZooKeeper gives its built-in authentication providers. */
export const Scheme = {
  world: 'world',
  auth: 'auth',
  digest: 'digest',
  ip: 'ip',
  sasl: 'sasl',
  super: 'super',
} as const;

/**
 * The authentication providers registered besides the built-in ones (ZooKeeper's
 * `authProvider.N=` settings). Every replica must use the same, since they decide which ACLs
 * `apply` accepts.
 */
export interface AuthProviders {
  /**
   * org.apache.zookeeper.server.auth.SASLAuthenticationProvider: `sasl:<name>` ACL ids are valid
   * (Kerberos name syntax), match the session's sasl id of that name, and `auth` ACLs expand to
   * sasl ids. Without it ZooKeeper knows no `sasl` scheme: such ACLs are INVALIDACL and never match.
   */
  readonly sasl?: boolean;
}

/** Only the built-in providers (world, digest, ip). */
export const BUILTIN_AUTH_PROVIDERS: AuthProviders = Object.freeze({});

/** The only id of the world scheme. */
export const WORLD_ANYONE: AclId = Object.freeze({ scheme: Scheme.world, id: 'anyone' });

/** The id a super user holds beside its digest id (DigestAuthenticationProvider adds it). */
export const SUPER_ID: AclId = Object.freeze({ scheme: Scheme.super, id: '' });

const IPV4_BYTES = 4;
const BITS_PER_BYTE = 8;
const JAVA_INT_PATTERN = /^[+-]?[0-9]+$/;

/**
 * The digest id of "user:password": "user:" + base64(sha1("user:password")), as
 * DigestAuthenticationProvider.generateDigest (the whole string is hashed, the user kept in clear).
 */
export function generateDigest(idPassword: string): string {
  const colon = idPassword.indexOf(':');
  const user = colon === -1 ? idPassword : idPassword.slice(0, colon);
  const hash = createHash('sha1').update(idPassword, 'utf8').digest('base64');
  return `${user}:${hash}`;
}

/** The digest ACL id for a user and password, e.g. for `{scheme: 'digest', id: digestId('bob', 'pw')}`. */
export function digestId(user: string, password: string): string {
  return generateDigest(`${user}:${password}`);
}

/**
 * The ids a session gains from `addAuth('digest', 'user:password')`: its digest id, preceded by
 * the super id when the digest equals the configured super digest.
 */
export function digestAuthIds(credentials: string, superDigest?: string): AclId[] {
  const id: AclId = { scheme: Scheme.digest, id: generateDigest(credentials) };
  return superDigest !== undefined && id.id === superDigest ? [SUPER_ID, id] : [id];
}

/** True if the session authenticated as the super user, which passes every ACL check. */
export function isSuperUser(auth: readonly AclId[], superDigest?: string): boolean {
  return auth.some(
    (a) => a.scheme === Scheme.super || (superDigest !== undefined && a.scheme === Scheme.digest && a.id === superDigest),
  );
}

/** Parse a dotted IPv4 address as Java's Integer.parseInt would read each part, or null. */
function ipv4Bytes(addr: string): number[] | null {
  const parts = addr.split('.');
  if (parts.length !== IPV4_BYTES) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!JAVA_INT_PATTERN.test(part)) return null;
    const v = Number(part);
    if (v < 0 || v > 255) return null;
    bytes.push(v);
  }
  return bytes;
}

/** An ip ACL expression "a.b.c.d" or "a.b.c.d/bits" as address bytes and prefix length, or null. */
function parseIpExpr(expr: string): { bytes: number[]; bits: number } | null {
  const slash = expr.indexOf('/');
  const bytes = ipv4Bytes(slash === -1 ? expr : expr.slice(0, slash));
  if (bytes === null) return null;
  const maxBits = bytes.length * BITS_PER_BYTE;
  if (slash === -1) return { bytes, bits: maxBits };
  const bitsText = expr.slice(slash + 1);
  if (!JAVA_INT_PATTERN.test(bitsText)) return null;
  const bits = Number(bitsText);
  return bits < 0 || bits > maxBits ? null : { bytes, bits };
}

function maskBytes(bytes: number[], bits: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.min(Math.max(bits - i * BITS_PER_BYTE, 0), BITS_PER_BYTE);
    return b & ((0xff << (BITS_PER_BYTE - keep)) & 0xff);
  });
}

/** IPAuthenticationProvider.matches: does the client address fall in the ACL's address or CIDR range? */
export function ipMatches(clientIp: string, aclExpr: string): boolean {
  const acl = parseIpExpr(aclExpr);
  const client = ipv4Bytes(clientIp);
  if (acl === null || client === null) return false;
  const a = maskBytes(acl.bytes, acl.bits);
  const c = maskBytes(client, acl.bits);
  return a.every((b, i) => b === c[i]);
}

/** Java's String.split drops trailing empty strings; digest ids must split into exactly two parts. */
function isValidDigestId(id: string): boolean {
  const parts = id.split(':');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.length === 2;
}

/**
 * SASLAuthenticationProvider.isValid: `new KerberosName(id)` must not throw, i.e. an id containing
 * '@' must have the form `primary[/instance]@REALM` (no further '/' or '@').
 */
export function isValidSaslId(id: string): boolean {
  return !id.includes('@') || /^[^/@]*(\/[^/@]*)?@[^/@]*$/.test(id);
}

type Matcher = (authId: string, aclId: string) => boolean;

/** How each provider decides that a session id matches an ACL id (schemes without a provider never match). */
function matcherOf(scheme: string, providers: AuthProviders): Matcher | undefined {
  if (scheme === Scheme.digest) return (authId, aclId) => authId === aclId;
  if (scheme === Scheme.ip) return ipMatches;
  // SASLAuthenticationProvider.matches: the same name, or a session authenticated as "super".
  if (scheme === Scheme.sasl && providers.sasl === true) return (authId, aclId) => authId === 'super' || authId === aclId;
  return undefined;
}

/** Which ACL ids a provider accepts (ServerAuthenticationProvider.isValid); undefined: no provider. */
function validatorOf(scheme: string, providers: AuthProviders): ((id: string) => boolean) | undefined {
  if (scheme === Scheme.digest) return isValidDigestId;
  if (scheme === Scheme.ip) return (id) => parseIpExpr(id) !== null;
  if (scheme === Scheme.sasl && providers.sasl === true) return isValidSaslId;
  return undefined;
}

/** Providers that report isAuthenticated(): only their ids expand an "auth" ACL (ip does not). */
function isAuthenticatedScheme(scheme: string, providers: AuthProviders): boolean {
  return scheme === Scheme.digest || (scheme === Scheme.sasl && providers.sasl === true);
}

function aclEquals(a: Acl, b: Acl): boolean {
  return a.perms === b.perms && a.id.scheme === b.id.scheme && a.id.id === b.id.id;
}

function removeDuplicates(acl: readonly Acl[]): Acl[] {
  const out: Acl[] = [];
  for (const a of acl) if (!out.some((b) => aclEquals(a, b))) out.push(a);
  return out;
}

/** Result of validating an ACL list for create or setACL. */
export type FixupResult = { readonly err: 0; readonly acl: readonly Acl[] } | { readonly err: typeof ErrorCode.INVALIDACL };

function expandAuth(entry: Acl, auth: readonly AclId[], providers: AuthProviders): Acl[] {
  return auth
    .filter((id) => isAuthenticatedScheme(id.scheme, providers))
    .map((id) => ({ perms: entry.perms, id: { scheme: id.scheme, id: id.id } }));
}

function isValidEntry(entry: Acl, providers: AuthProviders): boolean {
  const validate = validatorOf(entry.id.scheme, providers);
  return validate !== undefined && validate(entry.id.id);
}

/**
 * PrepRequestProcessor.fixupACL: drop duplicates, refuse an empty list, keep world:anyone, replace
 * each "auth" entry by the requester's authenticated ids (INVALIDACL if it has none), and refuse
 * ids no provider accepts (e.g. world:someone, a malformed digest or ip).
 */
export function fixupAcl(acl: readonly Acl[], auth: readonly AclId[], providers: AuthProviders = BUILTIN_AUTH_PROVIDERS): FixupResult {
  const invalid = { err: ErrorCode.INVALIDACL } as const;
  const unique = removeDuplicates(acl);
  if (unique.length === 0) return invalid;
  const out: Acl[] = [];
  for (const entry of unique) {
    if (entry.id.scheme === Scheme.world && entry.id.id === WORLD_ANYONE.id) {
      out.push(entry);
    } else if (entry.id.scheme === Scheme.auth) {
      const expanded = expandAuth(entry, auth, providers);
      if (expanded.length === 0) return invalid;
      out.push(...expanded);
    } else if (isValidEntry(entry, providers)) {
      out.push(entry);
    } else {
      return invalid;
    }
  }
  return { err: ErrorCode.OK, acl: Object.freeze(out.map(freezeAcl)) };
}

function freezeAcl(a: Acl): Acl {
  return Object.freeze({ perms: a.perms, id: Object.freeze({ scheme: a.id.scheme, id: a.id.id }) });
}

/**
 * ZooKeeperServer.checkACL: true if `auth` grants any bit of `perm` on a node with ACL `acl`.
 * An empty ACL and the super user pass; otherwise an entry must carry the permission and be
 * world:anyone or match one of the session's ids of the same scheme.
 */
export function checkAcl(
  acl: readonly Acl[],
  perm: number,
  auth: readonly AclId[],
  superDigest?: string,
  providers: AuthProviders = BUILTIN_AUTH_PROVIDERS,
): boolean {
  if (acl.length === 0 || isSuperUser(auth, superDigest)) return true;
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue;
    if (entry.id.scheme === Scheme.world && entry.id.id === WORLD_ANYONE.id) return true;
    const matches = matcherOf(entry.id.scheme, providers);
    if (matches === undefined) continue;
    if (auth.some((a) => a.scheme === entry.id.scheme && matches(a.id, entry.id.id))) return true;
  }
  return false;
}

/** What getACL shows a reader without ADMIN: digest ids with the hash replaced by "x" (ZOOKEEPER-1392). */
export function redactDigests(acl: readonly Acl[]): Acl[] {
  return acl.map((a) =>
    a.id.scheme === Scheme.digest ? { perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id.replace(/:.*/s, ':x') } } : a,
  );
}

/** Java's String.hashCode (over UTF-16 code units, 32-bit wrap-around). */
function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The jute-generated Id.hashCode: 37 * (37 * 17 + scheme.hashCode()) + id.hashCode(). */
function javaIdHash(id: AclId): number {
  return (Math.imul(37, (Math.imul(37, 17) + javaStringHash(id.scheme)) | 0) + javaStringHash(id.id)) | 0;
}

/** ConcurrentHashMap's first table size and the load (3/4) that doubles it. */
const JAVA_CHM_INITIAL_BINS = 16;

/**
 * The ids in the order ZooKeeper iterates a connection's auth info, a set backed by a
 * ConcurrentHashMap (ServerCnxn.authInfo): by hash bin, and in insertion order within a bin. whoAmI
 * answers in this order and an `auth` ACL expands in it. Exact while the set holds fewer than 12
 * ids (the map's first table); past that, the bins of the resized table are used, and the order
 * inside a bin after a resize is not modelled.
 */
export function zooKeeperAuthInfoOrder(ids: readonly AclId[]): AclId[] {
  let bins = JAVA_CHM_INITIAL_BINS;
  while (ids.length >= bins - (bins >>> 2)) bins *= 2;
  const binOf = (id: AclId): number => {
    const h = javaIdHash(id);
    return (h ^ (h >>> 16)) & 0x7fffffff & (bins - 1);
  };
  return ids.map((id, i) => ({ id, bin: binOf(id), i })).sort((a, b) => a.bin - b.bin || a.i - b.i).map((e) => e.id);
}
