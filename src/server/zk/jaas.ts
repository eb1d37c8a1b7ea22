/**
 * JAAS login configuration files, the way ZooKeeper servers are given SASL users: the file named by
 * `-Djava.security.auth.login.config`, whose `Server` section (or the one named by
 * `zookeeper.sasl.serverconfig`) holds ZooKeeper's DigestLoginModule with a `user_<name>="<password>"`
 * option per user:
 *
 * ```
 * Server {
 *     org.apache.zookeeper.server.auth.DigestLoginModule required
 *     user_super="adminsecret"
 *     user_bob="bobsecret";
 * };
 * ```
 *
 * The syntax is the JDK's (sun.security.provider.ConfigFile): `Name { Class Flag key=value ...; ... };`,
 * `//` and C comments, double-quoted values with backslash escapes, unquoted values that are words.
 */

/** ZooKeeper's login module for DIGEST-MD5 users. */
export const DIGEST_LOGIN_MODULE = 'org.apache.zookeeper.server.auth.DigestLoginModule';
/** ZooKeeperSaslServer.DEFAULT_LOGIN_CONTEXT_NAME. */
export const DEFAULT_SERVER_SECTION = 'Server';
/** The option prefix DigestLoginModule reads users from (SaslServerCallbackHandler.USER_PREFIX). */
const USER_PREFIX = 'user_';
const CONTROL_FLAGS = new Set(['required', 'requisite', 'sufficient', 'optional']);

/** A malformed JAAS file, with the 1-based line of the problem. */
export class JaasError extends Error {
  override readonly name = 'JaasError';
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** One `Class Flag options;` entry of a section. */
export interface LoginModuleEntry {
  readonly className: string;
  readonly flag: string;
  readonly options: ReadonlyMap<string, string>;
  readonly line: number;
}

type Token =
  | { readonly kind: 'word' | 'quoted'; readonly text: string; readonly line: number }
  | { readonly kind: 'punct'; readonly text: '{' | '}' | ';' | '='; readonly line: number }
  | { readonly kind: 'number'; readonly text: string; readonly line: number };

const WORD_START = /[A-Za-z_$*\-\u00a0-\u00ff]/;
const WORD_PART = /[A-Za-z0-9_$*\-.\u00a0-\u00ff]/;
const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c <= ' ') {
      i++;
    } else if (c === '/' && text[i + 1] !== '*') {
      // `//` comments; a lone '/' also comments out the rest of the line (StreamTokenizer's comment char).
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const start = line;
      i += 2;
      while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) {
        if (text[i] === '\n') line++;
        i++;
      }
      if (i >= text.length) throw new JaasError(start, 'unterminated /* comment');
      i += 2;
    } else if (c === '"') {
      const start = line;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length || text[i] === '\n') throw new JaasError(start, 'unterminated quoted value');
        const q = text[i++]!;
        if (q === '"') break;
        if (q === '\\' && i < text.length) {
          const e = text[i++]!;
          value += ESCAPES[e] ?? e;
        } else {
          value += q;
        }
      }
      tokens.push({ kind: 'quoted', text: value, line: start });
    } else if (c === '{' || c === '}' || c === ';' || c === '=') {
      tokens.push({ kind: 'punct', text: c, line });
      i++;
    } else if (WORD_START.test(c)) {
      const start = i;
      while (i < text.length && WORD_PART.test(text[i]!)) i++;
      tokens.push({ kind: 'word', text: text.slice(start, i), line });
    } else if (/[0-9.]/.test(c)) {
      const start = i;
      while (i < text.length && WORD_PART.test(text[i]!)) i++;
      tokens.push({ kind: 'number', text: text.slice(start, i), line });
    } else {
      throw new JaasError(line, `unexpected character ${JSON.stringify(c)}`);
    }
  }
  return tokens;
}

/**
 * Parses a JAAS configuration: section name → its login module entries. Throws {@link JaasError}
 * on what the JDK refuses too (a section twice, a missing `;`, an unknown control flag, a value that
 * is a bare number, `${…}` property references, which need Java system properties).
 */
export function parseJaasConfig(text: string): Map<string, LoginModuleEntry[]> {
  const tokens = tokenize(text);
  let at = 0;
  const lastLine = (): number => tokens[tokens.length - 1]?.line ?? 1;
  const peek = (): Token | undefined => tokens[at];
  const expectWord = (what: string): Token => {
    const t = tokens[at++];
    if (t === undefined) throw new JaasError(lastLine(), `expected ${what}, found the end of the file`);
    if (t.kind !== 'word') throw new JaasError(t.line, `expected ${what}, found ${JSON.stringify(t.text)}`);
    return t;
  };
  const expectPunct = (p: '{' | '}' | ';' | '='): void => {
    const t = tokens[at++];
    if (t === undefined) throw new JaasError(lastLine(), `expected "${p}", found the end of the file`);
    if (t.kind !== 'punct' || t.text !== p) throw new JaasError(t.line, `expected "${p}", found ${JSON.stringify(t.text)}`);
  };
  const sections = new Map<string, LoginModuleEntry[]>();
  while (at < tokens.length) {
    const name = expectWord('a section name');
    if (sections.has(name.text)) throw new JaasError(name.line, `section ${name.text} is defined twice`);
    expectPunct('{');
    const entries: LoginModuleEntry[] = [];
    while (peek()?.kind !== 'punct' || peek()?.text !== '}') {
      const className = expectWord('a login module class name');
      const flag = expectWord('a control flag (required, requisite, sufficient or optional)');
      if (!CONTROL_FLAGS.has(flag.text.toLowerCase())) throw new JaasError(flag.line, `unknown control flag ${JSON.stringify(flag.text)}`);
      const options = new Map<string, string>();
      while (peek()?.kind !== 'punct' || peek()?.text !== ';') {
        const key = expectWord('an option name or ";"');
        expectPunct('=');
        const value = tokens[at++];
        if (value === undefined) throw new JaasError(key.line, `option ${key.text} has no value`);
        if (value.kind === 'number') throw new JaasError(value.line, `option ${key.text}: a value that starts with a digit must be quoted`);
        if (value.kind === 'punct') throw new JaasError(value.line, `option ${key.text} has no value`);
        if (value.text.includes('${')) throw new JaasError(value.line, `option ${key.text}: \${…} system-property references are not supported; write the value`);
        if (options.has(key.text)) throw new JaasError(key.line, `option ${key.text} is set twice`);
        options.set(key.text, value.text);
      }
      expectPunct(';');
      entries.push({ className: className.text, flag: flag.text.toLowerCase(), options, line: className.line });
    }
    expectPunct('}');
    expectPunct(';');
    sections.set(name.text, entries);
  }
  return sections;
}

/** The DIGEST-MD5 users of a server section. */
export interface JaasServerUsers {
  /** user name → password. */
  readonly users: ReadonlyMap<string, string>;
}

/**
 * The DIGEST-MD5 users of `section` (ZooKeeper's `Server` by default), or null when the file has no
 * such section (ZooKeeper then runs without SASL). Throws {@link JaasError} when the section is not
 * a DigestLoginModule one (Kerberos/GSSAPI is not supported) or has no users. (A user name cannot
 * hold '@' or '/', which the JAAS syntax does not allow in an option name, so ZooKeeper's Kerberos
 * name rules leave every DIGEST-MD5 user name as it is.)
 */
export function jaasServerUsers(sections: ReadonlyMap<string, readonly LoginModuleEntry[]>, section = DEFAULT_SERVER_SECTION): JaasServerUsers | null {
  const entries = sections.get(section);
  if (entries === undefined) return null;
  const users = new Map<string, string>();
  for (const entry of entries) {
    if (entry.className !== DIGEST_LOGIN_MODULE) {
      throw new JaasError(entry.line, `section ${section}: login module ${entry.className} is not supported (only ${DIGEST_LOGIN_MODULE}: SASL DIGEST-MD5; Kerberos/GSSAPI is not implemented)`);
    }
    for (const [key, password] of entry.options) {
      if (!key.startsWith(USER_PREFIX)) continue;
      const name = key.slice(USER_PREFIX.length);
      if (name === '') throw new JaasError(entry.line, `section ${section}: ${key} names no user`);
      users.set(name, password);
    }
  }
  if (users.size === 0) throw new JaasError(entries[0]?.line ?? 1, `section ${section} defines no user_<name>="<password>" option`);
  return { users };
}
