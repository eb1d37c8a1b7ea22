/**
 * ZooKeeper 3.8 access control: the built-in schemes (world, auth, digest, ip), the super user,
 * ACL validation and expansion on create/setACL (PrepRequestProcessor.fixupACL) and the
 * permission check every operation makes (ZooKeeperServer.checkACL).
 */
import { createHash } from 'node:crypto';
import { ErrorCode, type Acl, type AclId } from '../protocol/zookeeper.js';

/** Scheme names ZooKeeper gives its built-in authentication providers. */
export const Scheme = {
  world: 'world',
  auth: 'auth',
  digest: 'digest',
  ip: 'ip',
  super: 'super',
} as const;

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

/** How each provider decides that a session id matches an ACL id (schemes not listed have no provider). */
const MATCHERS: Readonly<Record<string, (authId: string, aclId: string) => boolean>> = {
  [Scheme.digest]: (authId, aclId) => authId === aclId,
  [Scheme.ip]: (authId, aclId) => ipMatches(authId, aclId),
};

/** Which ACL ids a provider accepts (ServerAuthenticationProvider.isValid). */
const VALIDATORS: Readonly<Record<string, (id: string) => boolean>> = {
  [Scheme.digest]: isValidDigestId,
  [Scheme.ip]: (id) => parseIpExpr(id) !== null,
};

/** Schemes whose provider reports isAuthenticated(): only their ids expand an "auth" ACL (ip does not). */
const AUTHENTICATED_SCHEMES: ReadonlySet<string> = new Set([Scheme.digest]);

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

function expandAuth(entry: Acl, auth: readonly AclId[]): Acl[] {
  return auth
    .filter((id) => AUTHENTICATED_SCHEMES.has(id.scheme))
    .map((id) => ({ perms: entry.perms, id: { scheme: id.scheme, id: id.id } }));
}

function isValidEntry(entry: Acl): boolean {
  const validate = VALIDATORS[entry.id.scheme];
  return validate !== undefined && validate(entry.id.id);
}

/**
 * PrepRequestProcessor.fixupACL: drop duplicates, refuse an empty list, keep world:anyone, replace
 * each "auth" entry by the requester's authenticated ids (INVALIDACL if it has none), and refuse
 * ids no provider accepts (e.g. world:someone, a malformed digest or ip).
 */
export function fixupAcl(acl: readonly Acl[], auth: readonly AclId[]): FixupResult {
  const invalid = { err: ErrorCode.INVALIDACL } as const;
  const unique = removeDuplicates(acl);
  if (unique.length === 0) return invalid;
  const out: Acl[] = [];
  for (const entry of unique) {
    if (entry.id.scheme === Scheme.world && entry.id.id === WORLD_ANYONE.id) {
      out.push(entry);
    } else if (entry.id.scheme === Scheme.auth) {
      const expanded = expandAuth(entry, auth);
      if (expanded.length === 0) return invalid;
      out.push(...expanded);
    } else if (isValidEntry(entry)) {
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
export function checkAcl(acl: readonly Acl[], perm: number, auth: readonly AclId[], superDigest?: string): boolean {
  if (acl.length === 0 || isSuperUser(auth, superDigest)) return true;
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue;
    if (entry.id.scheme === Scheme.world && entry.id.id === WORLD_ANYONE.id) return true;
    const matches = MATCHERS[entry.id.scheme];
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
