/**
 * Znode path rules, as ZooKeeper 3.8's PathUtils and PrepRequestProcessor apply them.
 */

/** The root znode. */
export const ROOT_PATH = '/';
/** ZooKeeper's own subtree ("proc" node). */
export const ZOOKEEPER_PATH = '/zookeeper';
/** Where quota limits and stats live. */
export const QUOTA_PATH = '/zookeeper/quota';
/** The dynamic configuration node (READ-only for the world). */
export const CONFIG_PATH = '/zookeeper/config';

/** Paths a client may never delete (DataTree.isSpecialPath): deleting one gives BADARGUMENTS. */
export const SPECIAL_PATHS: ReadonlySet<string> = new Set([ROOT_PATH, ZOOKEEPER_PATH, QUOTA_PATH, CONFIG_PATH]);

/** Digits of the suffix a sequential create appends (String.format("%010d")). */
export const SEQUENTIAL_SUFFIX_DIGITS = 10;

/**
 * Why `path` is not a valid znode path, or null if it is. Same rules as PathUtils.validatePath:
 * absolute, no trailing slash, no empty segment, no "." or ".." segment, no NUL, no control
 * characters and none of the UTF-16 ranges ZooKeeper rejects (which includes all surrogates).
 */
export function pathError(path: string): string | null {
  if (path.length === 0) return 'path length must be > 0';
  if (path[0] !== '/') return 'path must start with / character';
  if (path.length === 1) return null;
  if (path.endsWith('/')) return 'path must not end with / character';
  let last = '/';
  for (let i = 1; i < path.length; last = path[i] ?? '', i++) {
    const reason = charError(path, i, last);
    if (reason !== null) return `${reason} @${i}`;
  }
  return null;
}

function charError(path: string, i: number, last: string): string | null {
  const c = path[i] ?? '';
  const code = path.charCodeAt(i);
  const next = path[i + 1];
  const segmentEnds = next === undefined || next === '/';
  if (code === 0) return 'null character not allowed';
  if (c === '/' && last === '/') return 'empty node name specified';
  if (c === '.' && last === '.') return path[i - 2] === '/' && segmentEnds ? 'relative paths not allowed' : null;
  if (c === '.') return last === '/' && segmentEnds ? 'relative paths not allowed' : null;
  return isForbiddenCode(code) ? 'invalid character' : null;
}

function isForbiddenCode(code: number): boolean {
  return (
    (code > 0x00 && code <= 0x1f) ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0xd800 && code <= 0xf8ff) ||
    (code >= 0xfff0 && code <= 0xffff)
  );
}

/** True if `path` passes PathUtils.validatePath. */
export function isValidPath(path: string): boolean {
  return pathError(path) === null;
}

/** A path cut at its last slash: the parent path ("/" for top-level nodes) and the last segment. */
export interface PathSplit {
  readonly parent: string;
  readonly name: string;
}

/**
 * Split at the last slash the way PrepRequestProcessor does before any other check: null when
 * there is no slash or the path holds a NUL (both BADARGUMENTS in ZooKeeper).
 */
export function splitPath(path: string): PathSplit | null {
  const slash = path.lastIndexOf('/');
  if (slash === -1 || path.includes('\0')) return null;
  return { parent: slash === 0 ? ROOT_PATH : path.slice(0, slash), name: path.slice(slash + 1) };
}

/** The ancestors of a valid path, nearest first, ending with "/" (none for the root). */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  let slash = path.lastIndexOf('/');
  while (path !== ROOT_PATH && slash > 0) {
    out.push(path.slice(0, slash));
    slash = path.lastIndexOf('/', slash - 1);
  }
  if (path !== ROOT_PATH) out.push(ROOT_PATH);
  return out;
}

/** The suffix a sequential create appends, from the parent's (stored) cversion. */
export function sequenceSuffix(parentCversion: number): string {
  const digits = String(Math.abs(parentCversion));
  // Java's %010d puts the sign first and pads the rest, so a wrapped counter reads "-000000001".
  const sign = parentCversion < 0 ? '-' : '';
  return sign + digits.padStart(SEQUENTIAL_SUFFIX_DIGITS - sign.length, '0');
}
