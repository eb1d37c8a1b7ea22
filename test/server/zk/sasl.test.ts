/**
 * SASL DIGEST-MD5 (RFC 2831) as ZooKeeper 3.8 runs it: the digest computation against the RFC's
 * worked examples, the server's exchange step by step and every refusal, the JAAS parser, and the
 * exchange on the wire against a statekeeper ensemble (the Java client's run is in
 * test/compat/sasl.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeReplyHeader, decodeResponseBody, encodeRequest } from '../../../src/server/jute/index.js';
import type { ZkRequest as WireRequest } from '../../../src/server/jute/index.js';
import { CreateMode, ErrorCode, Perms } from '../../../src/protocol/zookeeper.js';
import {
  DigestMd5Server,
  SaslError,
  digestMd5ClientResponse,
  digestResponseValue,
  jaasServerUsers,
  parseDirectives,
  parseJaasConfig,
  JaasError,
} from '../../../src/server/zk/index.js';
import { RAW_NONCE_BYTES, latin1OrUtf8 } from '../../../src/server/zk/digest-md5.js';
import { rawSession, startCluster } from './harness.js';
import type { Cluster, RawSession } from './harness.js';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
/** A fixed nonce source: 30 bytes of 0x2a, base64 "KioqKioq…" (40 characters). */
const fixedRandom = (n: number): Uint8Array => new Uint8Array(n).fill(0x2a);
const USERS = new Map([
  ['bob', 'bobsecret'],
  ['super', 'adminsecret'],
]);

describe('digest computation (RFC 2831 §4 worked examples)', () => {
  const chris = { username: 'chris', realm: 'elwood.innosoft.com', password: 'secret', nonceCount: 1, qop: 'auth' };

  it('IMAP example: response d388dad9…, rspauth ea40f603…', () => {
    const f = { ...chris, nonce: latin1('OA6MG9tEQGm2hh'), cnonce: latin1('OA6MHXh6VqTrRk'), digestUri: 'imap/elwood.innosoft.com' };
    expect(digestResponseValue('AUTHENTICATE', f)).toBe('d388dad90d4bbd760a152321f2143af7');
    expect(digestResponseValue('', f)).toBe('ea40f60335c427b5527b84dbabcdfffd');
  });

  it('ACAP example: response 6084c6db…, rspauth 2f0b3d7c…', () => {
    const f = { ...chris, nonce: latin1('OA9BSXrbuRhWay'), cnonce: latin1('OA9BSuZWMSpW8m'), digestUri: 'acap/elwood.innosoft.com' };
    expect(digestResponseValue('AUTHENTICATE', f)).toBe('6084c6db3fede7352c551284490fd0fc');
    expect(digestResponseValue('', f)).toBe('2f0b3d7c3c2e486600ef710726aa2eae');
  });

  it('an authzid is part of A1, so it changes the digest', () => {
    const f = { ...chris, nonce: latin1('n'), cnonce: latin1('c'), digestUri: 'zookeeper/zk-sasl-md5' };
    expect(digestResponseValue('AUTHENTICATE', { ...f, authzid: latin1('chris') })).not.toBe(digestResponseValue('AUTHENTICATE', f));
  });

  it('hashes names and passwords as ISO 8859-1 when they fit, as UTF-8 otherwise (RFC 2831 §2.1.2.1)', () => {
    expect(latin1OrUtf8('josé')).toEqual(Buffer.from([0x6a, 0x6f, 0x73, 0xe9]));
    expect(latin1OrUtf8('日本')).toEqual(Buffer.from('日本', 'utf8'));
  });
});

describe('directives', () => {
  it('parses quoted and bare values, escapes and white space, keys case-insensitively', () => {
    const d = parseDirectives(latin1(' realm="a\\"b" , NONCE = "x,y",qop=auth ,, maxbuf=  65536 '));
    expect([...d].map(([k, v]) => [k, v.toString('latin1')])).toEqual([
      ['realm', 'a"b'],
      ['nonce', 'x,y'],
      ['qop', 'auth'],
      ['maxbuf', '65536'],
    ]);
  });

  it.each([
    ['a key twice', 'nonce="a",nonce="b"', 'more than one nonce'],
    ['an unterminated quote', 'nonce="abc', 'Unmatched quote'],
    ['a key without a value', 'nonce', "Directive key contains a ','"],
  ])('refuses %s', (_what, text, message) => {
    expect(() => parseDirectives(latin1(text))).toThrow(message);
  });
});

describe('the server side of the exchange', () => {
  const server = (): DigestMd5Server => new DigestMd5Server({ passwordOf: (u) => USERS.get(u), randomBytes: fixedRandom });
  const NONCE = Buffer.alloc(RAW_NONCE_BYTES, 0x2a).toString('base64');

  it('answers the empty first token with ZooKeeper 3.8’s challenge: realm, nonce, charset, algorithm (no qop)', () => {
    const step = server().evaluate(Buffer.alloc(0));
    expect(step.complete).toBe(false);
    expect(step.challenge.toString('latin1')).toBe(`realm="zk-sasl-md5",nonce="${NONCE}",charset=utf-8,algorithm=md5-sess`);
    expect(NONCE).toHaveLength(40);
  });

  it('verifies the digest, completes with the user, and answers rspauth the client can check', () => {
    const s = server();
    const challenge = s.evaluate(Buffer.alloc(0)).challenge;
    const { response, expectedRspauth } = digestMd5ClientResponse(challenge, { username: 'bob', password: 'bobsecret', cnonce: 'abc' });
    const step = s.evaluate(response);
    expect(step).toEqual({ complete: true, username: 'bob', challenge: latin1(expectedRspauth) });
    expect(expectedRspauth).toMatch(/^rspauth=[0-9a-f]{32}$/);
    expect(s.isComplete).toBe(true);
    // Anything after completion is refused, as the JDK's server ("Server at illegal state").
    expect(() => s.evaluate(Buffer.alloc(0))).toThrow('Server at illegal state');
  });

  it('authenticates as the user whatever authzid the client asks for (ZooKeeper authorizes the authentication id)', () => {
    const s = server();
    const { response } = digestMd5ClientResponse(s.evaluate(Buffer.alloc(0)).challenge, { username: 'bob', password: 'bobsecret', authzid: 'super' });
    expect(s.evaluate(response)).toMatchObject({ complete: true, username: 'bob' });
  });

  const answer = (edit: (text: string) => string, credentials = { username: 'bob', password: 'bobsecret' }): (() => void) => {
    const s = server();
    const { response } = digestMd5ClientResponse(s.evaluate(Buffer.alloc(0)).challenge, { ...credentials, cnonce: 'abc' });
    return () => s.evaluate(latin1(edit(response.toString('latin1'))));
  };

  it.each([
    ['a wrong password', answer((t) => t, { username: 'bob', password: 'wrong' }), 'Mismatched response'],
    ['an unknown user', answer((t) => t, { username: 'eve', password: 'x' }), 'Mismatched response'],
    ['another realm', answer((t) => t.replace('realm="zk-sasl-md5"', 'realm="other"')), 'Nonexistent realm: other'],
    ['another nonce', answer((t) => t.replace(/nonce="[^"]*"/, 'nonce="forged"')), 'Mismatched nonce'],
    ['no cnonce', answer((t) => t.replace(/cnonce="[^"]*",/, '')), 'Missing cnonce'],
    ['a second nonce count', answer((t) => t.replace('nc=00000001', 'nc=00000002')), 'Nonce count does not match'],
    ['qop auth-conf', answer((t) => t.replace('qop=auth', 'qop=auth-conf')), 'does not support'],
    ['another service', answer((t) => t.replace('digest-uri="zookeeper/zk-sasl-md5"', 'digest-uri="imap/zk-sasl-md5"')), 'Nonmatching digest-uri'],
    ['another host', answer((t) => t.replace('digest-uri="zookeeper/zk-sasl-md5"', 'digest-uri="zookeeper/elsewhere"')), 'Nonmatching digest-uri host'],
    ['another charset', answer((t) => t.replace('charset=utf-8', 'charset=iso-8859-1')), 'Incompatible charset'],
    ['no response', answer((t) => t.replace(/response=[0-9a-f]+,/, '')), 'Missing response'],
    ['no user name', answer((t) => t.replace('username="bob",', '')), 'Missing username'],
  ])('refuses %s', (_what, run, message) => {
    let error: unknown;
    try {
      run();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SaslError);
    expect((error as Error).message).toContain(message);
  });

  it('refuses an initial response and an oversized token', () => {
    expect(() => server().evaluate(latin1('x'))).toThrow('must not have an initial response');
    expect(() => server().evaluate(Buffer.alloc(4097))).toThrow('Invalid digest response length');
  });
});

describe('JAAS files', () => {
  it('reads ZooKeeper’s documented Server section, comments and escapes included', () => {
    const sections = parseJaasConfig(`
      /* the ZooKeeper server */
      Server {
        org.apache.zookeeper.server.auth.DigestLoginModule required
          user_super="adminsecret" // the super user
          user_bob="a\\"b\\\\c"
          user_carol=plain;
      };
      Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="x"; };
    `);
    expect([...sections.keys()]).toEqual(['Server', 'Client']);
    expect([...(jaasServerUsers(sections)?.users ?? [])]).toEqual([
      ['super', 'adminsecret'],
      ['bob', 'a"b\\c'],
      ['carol', 'plain'],
    ]);
    expect(jaasServerUsers(sections, 'Missing')).toBeNull();
  });

  it.each([
    ['Server {\n a.B required x="1"\n', 'line 2: expected an option name or ";", found the end of the file'],
    ['Server {\n a.B sometimes;\n};', 'line 2: unknown control flag "sometimes"'],
    ['Server {\n a.B required x="${user.home}";\n};', 'system-property references are not supported'],
    ['Server {\n a.B required x="1" x="2";\n};', 'line 2: option x is set twice'],
    ['Server {\n a.B required x="1\n', 'line 2: unterminated quoted value'],
  ])('refuses %j with its line', (text, message) => {
    expect(() => parseJaasConfig(text)).toThrow(JaasError);
    expect(() => parseJaasConfig(text)).toThrow(message);
  });
});

describe('SASL on the wire against statekeeper', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ zk: { sasl: { users: USERS, superUser: 'super' } }, tree: { authProviders: { sasl: true } } });
  });
  afterAll(async () => {
    await cluster.stop();
  });

  interface Reply {
    readonly xid: number;
    readonly zxid: bigint;
    readonly err: number;
    readonly token: Buffer | null | undefined;
  }
  async function send(s: RawSession, xid: number, req: WireRequest): Promise<{ xid: number; zxid: bigint; err: number; body: Buffer }> {
    s.socket.write(encodeRequest(xid, req));
    const { header, body } = decodeReplyHeader(await s.nextFrame());
    return { ...header, body };
  }
  async function sasl(s: RawSession, xid: number, token: Buffer | null): Promise<Reply> {
    const r = await send(s, xid, { op: 'sasl', token });
    const decoded = r.body.length === 0 ? undefined : (decodeResponseBody('SetSASLResponse', r.body) as { token: Buffer | null }).token;
    return { xid: r.xid, zxid: r.zxid, err: r.err, token: decoded };
  }
  async function login(s: RawSession, username: string, password: string): Promise<{ challenge: Reply; final: Reply; expectedRspauth: string }> {
    const challenge = await sasl(s, 1, Buffer.alloc(0));
    const { response, expectedRspauth } = digestMd5ClientResponse(challenge.token!, { username, password });
    return { challenge, final: await sasl(s, 2, response), expectedRspauth };
  }
  const whoAmI = async (s: RawSession, xid: number) => (decodeResponseBody('WhoAmIResponse', (await send(s, xid, { op: 'whoAmI' })).body) as { readonly clientInfo: readonly unknown[] }).clientInfo;

  it('a completed exchange adds sasl:<user> before the rspauth reply, and a sasl ACL then grants and denies', async () => {
    const s = await rawSession(cluster.servers[1]!.port);
    const { challenge, final, expectedRspauth } = await login(s, 'bob', 'bobsecret');
    expect([challenge.err, challenge.zxid]).toEqual([0, 0n]);
    expect(challenge.token!.toString('latin1')).toMatch(/^realm="zk-sasl-md5",nonce="[A-Za-z0-9+/]{40}",charset=utf-8,algorithm=md5-sess$/);
    expect([final.err, final.zxid, final.token?.toString('latin1')]).toEqual([0, 0n, expectedRspauth]);
    expect(await whoAmI(s, 3)).toEqual([
      { authScheme: 'sasl', user: 'bob' },
      { authScheme: 'ip', user: '127.0.0.1' },
    ]);
    const acl = [{ perms: Perms.ALL, id: { scheme: 'sasl', id: 'bob' } }];
    expect((await send(s, 4, { op: 'create', path: '/sasl-x', data: null, acl, flags: CreateMode.PERSISTENT })).err).toBe(0);
    expect((await send(s, 5, { op: 'getData', path: '/sasl-x', watch: false })).err).toBe(0);
    // `auth` expands to the sasl id (SASLAuthenticationProvider is authenticated; ip is not).
    await send(s, 6, { op: 'create', path: '/sasl-y', data: null, acl: [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }], flags: CreateMode.PERSISTENT });
    const yAcl = decodeResponseBody('GetACLResponse', (await send(s, 7, { op: 'getACL', path: '/sasl-y' })).body);
    expect(yAcl).toMatchObject({ acl: [{ perms: Perms.ALL, id: { scheme: 'sasl', id: 'bob' } }] });
    const other = await rawSession(cluster.servers[0]!.port);
    expect((await send(other, 1, { op: 'getData', path: '/sasl-x', watch: false })).err).toBe(ErrorCode.NOAUTH);
    other.socket.destroy();
    s.socket.destroy();
  });

  it('the configured super user also gets the super id', async () => {
    const s = await rawSession(cluster.servers[0]!.port);
    expect((await login(s, 'super', 'adminsecret')).final.err).toBe(0);
    expect(await whoAmI(s, 3)).toEqual(expect.arrayContaining([{ authScheme: 'sasl', user: 'super' }, { authScheme: 'super', user: '' }]));
    s.socket.destroy();
  });

  it('a wrong password: AUTHFAILED with a null token (zxid 0), nothing more is read, the connection closes', async () => {
    const s = await rawSession(cluster.servers[2]!.port);
    const challenge = await sasl(s, 1, Buffer.alloc(0));
    const { response } = digestMd5ClientResponse(challenge.token!, { username: 'bob', password: 'wrong' });
    // The whoAmI sent right behind the bad token is never answered.
    s.socket.write(Buffer.concat([encodeRequest(2, { op: 'sasl', token: response }), encodeRequest(3, { op: 'whoAmI' })]));
    const { header, body } = decodeReplyHeader(await s.nextFrame());
    expect([header.xid, header.zxid, header.err]).toEqual([2, 0n, ErrorCode.AUTHFAILED]);
    expect(body.toString('hex')).toBe('ffffffff');
    await s.closed;
    expect(cluster.logger.lines.some((l) => l.message.includes('failed to SASL authenticate') && String(l.details.error).includes('Mismatched response'))).toBe(true);
  });

  it('a null token closes the connection without a reply (ZooKeeper reads its length first)', async () => {
    const s = await rawSession(cluster.servers[0]!.port);
    s.socket.write(encodeRequest(1, { op: 'sasl', token: null }));
    await s.closed;
    await expect(s.nextFrame()).rejects.toThrow('closed');
  });
});
