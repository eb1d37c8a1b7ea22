import { describe, expect, it } from 'vitest';
import { ErrorCode, Perms, type Acl, type AclId } from '../../src/protocol/zookeeper.js';
import {
  checkAcl,
  digestAuthIds,
  digestId,
  fixupAcl,
  generateDigest,
  ipMatches,
  isSuperUser,
  isValidSaslId,
  redactDigests,
  SUPER_ID,
  zooKeeperAuthInfoOrder,
} from '../../src/tree/acl.js';

const digest = (user: string, pw: string): AclId => ({ scheme: 'digest', id: digestId(user, pw) });
const ip = (addr: string): AclId => ({ scheme: 'ip', id: addr });
const entry = (perms: number, scheme: string, id: string): Acl => ({ perms, id: { scheme, id } });

describe('digest ids', () => {
  it('matches the digest ZooKeeper documents for super:admin', () => {
    // The value operators put in zookeeper.DigestAuthenticationProvider.superDigest for password "admin".
    expect(digestId('super', 'admin')).toBe('super:xQJmxLMiHGwaqBvst5y6rkB6HQs=');
    expect(generateDigest('super:admin')).toBe('super:xQJmxLMiHGwaqBvst5y6rkB6HQs=');
  });

  it('hashes the whole user:password, so a colon in the password is kept', () => {
    expect(generateDigest('u:a:b')).not.toBe(generateDigest('u:a'));
    expect(generateDigest('u:a:b').startsWith('u:')).toBe(true);
  });

  it('adds the super id only for the configured super digest', () => {
    const superDigest = digestId('super', 'secret');
    expect(digestAuthIds('super:secret', superDigest)).toEqual([SUPER_ID, { scheme: 'digest', id: superDigest }]);
    expect(digestAuthIds('super:wrong', superDigest)).toEqual([{ scheme: 'digest', id: digestId('super', 'wrong') }]);
    expect(digestAuthIds('super:secret')).toHaveLength(1);
  });

  it('recognizes the super user by the super id or the super digest', () => {
    const superDigest = digestId('super', 'secret');
    expect(isSuperUser([SUPER_ID])).toBe(true);
    expect(isSuperUser([digest('super', 'secret')], superDigest)).toBe(true);
    expect(isSuperUser([digest('super', 'secret')])).toBe(false);
    expect(isSuperUser([digest('bob', 'pw')], superDigest)).toBe(false);
  });
});

describe('ipMatches (IPAuthenticationProvider)', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1', true],
    ['10.0.0.2', '10.0.0.1', false],
    ['10.1.2.3', '10.0.0.0/8', true],
    ['11.1.2.3', '10.0.0.0/8', false],
    ['192.168.1.77', '192.168.1.0/24', true],
    ['192.168.2.77', '192.168.1.0/24', false],
    ['172.16.15.1', '172.16.0.0/20', true],
    ['172.16.16.1', '172.16.0.0/20', false],
    ['8.8.8.8', '0.0.0.0/0', true],
    ['10.0.0.1', '10.0.0.1/32', true],
    ['10.0.0.1', '10.0.0.1/33', false],
    ['10.0.0.1', '10.0.0.1/', false],
    ['10.0.0.1', '10.0.0', false],
    ['10.0.0.256', '10.0.0.0/24', false],
    ['::1', '10.0.0.0/8', false],
  ])('%s in %s: %s', (client, expr, expected) => {
    expect(ipMatches(client, expr)).toBe(expected);
  });
});

describe('fixupAcl (PrepRequestProcessor.fixupACL)', () => {
  const bob = digest('bob', 'pw');

  it('refuses an empty list', () => {
    expect(fixupAcl([], [bob]).err).toBe(ErrorCode.INVALIDACL);
  });

  it('keeps world:anyone, valid digest and ip entries', () => {
    const acl = [entry(Perms.READ, 'world', 'anyone'), entry(Perms.ALL, 'digest', bob.id), entry(Perms.ALL, 'ip', '10.0.0.0/8')];
    expect(fixupAcl(acl, [])).toEqual({ err: ErrorCode.OK, acl });
  });

  it('expands auth into the requester digest ids, ignoring ip and super ids', () => {
    const alice = digest('alice', 'pw');
    const result = fixupAcl([entry(Perms.ALL, 'auth', '')], [ip('10.0.0.1'), SUPER_ID, bob, alice]);
    expect(result).toEqual({ err: ErrorCode.OK, acl: [entry(Perms.ALL, 'digest', bob.id), entry(Perms.ALL, 'digest', alice.id)] });
  });

  it('refuses auth when the requester has no authenticated id', () => {
    expect(fixupAcl([entry(Perms.ALL, 'auth', '')], []).err).toBe(ErrorCode.INVALIDACL);
    expect(fixupAcl([entry(Perms.ALL, 'auth', '')], [ip('10.0.0.1')]).err).toBe(ErrorCode.INVALIDACL);
  });

  it.each([
    ['world', 'someone'],
    ['digest', 'bob'],
    ['digest', 'bob:'],
    ['digest', 'a:b:c'],
    ['ip', '10.0.0'],
    ['ip', '10.0.0.1/40'],
    ['ip', 'example.com'],
    ['super', ''],
    ['kerberos', 'x'],
  ])('refuses %s:%s', (scheme, id) => {
    expect(fixupAcl([entry(Perms.ALL, scheme, id)], [bob]).err).toBe(ErrorCode.INVALIDACL);
  });

  it('drops exact duplicates but keeps entries differing in perms', () => {
    const a = entry(Perms.READ, 'world', 'anyone');
    const b = entry(Perms.WRITE, 'world', 'anyone');
    const result = fixupAcl([a, a, b], []);
    expect(result.err === ErrorCode.OK ? result.acl : null).toEqual([a, b]);
  });
});

describe('checkAcl (ZooKeeperServer.checkACL)', () => {
  const bob = digest('bob', 'pw');
  const acl = [entry(Perms.READ, 'world', 'anyone'), entry(Perms.WRITE | Perms.DELETE, 'digest', bob.id), entry(Perms.CREATE, 'ip', '10.0.0.0/8')];

  it('grants each permission only to the ids that carry it', () => {
    expect(checkAcl(acl, Perms.READ, [])).toBe(true);
    expect(checkAcl(acl, Perms.WRITE, [])).toBe(false);
    expect(checkAcl(acl, Perms.WRITE, [bob])).toBe(true);
    expect(checkAcl(acl, Perms.DELETE, [bob])).toBe(true);
    expect(checkAcl(acl, Perms.WRITE, [digest('bob', 'wrong')])).toBe(false);
    expect(checkAcl(acl, Perms.CREATE, [ip('10.9.9.9')])).toBe(true);
    expect(checkAcl(acl, Perms.CREATE, [ip('11.9.9.9')])).toBe(false);
    expect(checkAcl(acl, Perms.ADMIN, [bob, ip('10.0.0.1')])).toBe(false);
  });

  it('does not match an id of another scheme with the same text', () => {
    expect(checkAcl([entry(Perms.ALL, 'ip', '10.0.0.1')], Perms.READ, [{ scheme: 'digest', id: '10.0.0.1' }])).toBe(false);
  });

  it('passes any bit of a combined permission', () => {
    expect(checkAcl([entry(Perms.READ, 'world', 'anyone')], Perms.READ | Perms.ADMIN, [])).toBe(true);
  });

  it('lets the super user and an empty ACL through', () => {
    const superDigest = digestId('super', 's');
    expect(checkAcl(acl, Perms.ADMIN, [SUPER_ID])).toBe(true);
    expect(checkAcl(acl, Perms.ADMIN, [digest('super', 's')], superDigest)).toBe(true);
    expect(checkAcl([], Perms.ADMIN, [])).toBe(true);
  });
});

describe('redactDigests', () => {
  it('hides the hash of digest ids only', () => {
    const bob = digest('bob', 'pw');
    expect(redactDigests([entry(Perms.ALL, 'digest', bob.id), entry(Perms.READ, 'ip', '10.0.0.1')])).toEqual([
      entry(Perms.ALL, 'digest', 'bob:x'),
      entry(Perms.READ, 'ip', '10.0.0.1'),
    ]);
  });
});

describe('the sasl scheme (SASLAuthenticationProvider, registered by authProvider.N)', () => {
  const sasl = (name: string): AclId => ({ scheme: 'sasl', id: name });
  const providers = { sasl: true };

  it('without the provider, sasl ACLs are invalid and never match, and auth does not expand to sasl ids', () => {
    expect(fixupAcl([entry(Perms.ALL, 'sasl', 'bob')], []).err).toBe(ErrorCode.INVALIDACL);
    expect(checkAcl([entry(Perms.ALL, 'sasl', 'bob')], Perms.READ, [sasl('bob')])).toBe(false);
    expect(fixupAcl([entry(Perms.ALL, 'auth', '')], [sasl('bob')]).err).toBe(ErrorCode.INVALIDACL);
  });

  it('with it, names are valid unless Kerberos name parsing fails ("@" needs primary[/instance]@REALM)', () => {
    for (const id of ['bob', 'bob/host', 'bob@EXAMPLE.COM', 'zk/host@EXAMPLE.COM', '']) expect(isValidSaslId(id), id).toBe(true);
    for (const id of ['a@b@c', 'a/b/c@R', 'a@b/c']) expect(isValidSaslId(id), id).toBe(false);
    expect(fixupAcl([entry(Perms.ALL, 'sasl', 'a@b@c')], [], providers).err).toBe(ErrorCode.INVALIDACL);
  });

  it('matches the same name, or a session authenticated as "super"; auth expands to sasl and digest ids, not ip', () => {
    const acl = [entry(Perms.READ, 'sasl', 'bob')];
    expect(checkAcl(acl, Perms.READ, [sasl('bob')], undefined, providers)).toBe(true);
    expect(checkAcl(acl, Perms.READ, [sasl('alice')], undefined, providers)).toBe(false);
    expect(checkAcl(acl, Perms.READ, [sasl('super')], undefined, providers)).toBe(true);
    expect(checkAcl(acl, Perms.WRITE, [sasl('bob')], undefined, providers)).toBe(false);
    const expanded = fixupAcl([entry(Perms.ALL, 'auth', '')], [ip('127.0.0.1'), sasl('bob'), digest('al', 'x')], providers);
    expect(expanded).toEqual({ err: ErrorCode.OK, acl: [entry(Perms.ALL, 'sasl', 'bob'), entry(Perms.ALL, 'digest', digestId('al', 'x'))] });
  });
});

describe('the order of a session’s ids (ZooKeeper’s auth info: a ConcurrentHashMap-backed set)', () => {
  it('follows the hash bins of Id.hashCode, insertion order within a bin (checked against ZooKeeper 3.8 by the compat tests)', () => {
    // Observed on ZooKeeper 3.8: whoami lists sasl:bob before ip:127.0.0.1, digest ids before ip.
    expect(zooKeeperAuthInfoOrder([ip('127.0.0.1'), { scheme: 'sasl', id: 'bob' }]).map((a) => a.scheme)).toEqual(['sasl', 'ip']);
    expect(zooKeeperAuthInfoOrder([ip('127.0.0.1'), digest('alice', 'secret'), digest('bob', 'pw')]).map((a) => a.id.split(':')[0])).toEqual(['alice', 'bob', '127.0.0.1']);
    // super:"" and sasl:bob share bin 7: the first inserted stays first.
    expect(zooKeeperAuthInfoOrder([SUPER_ID, { scheme: 'sasl', id: 'bob' }])[0]).toEqual(SUPER_ID);
    expect(zooKeeperAuthInfoOrder([{ scheme: 'sasl', id: 'bob' }, SUPER_ID])[0]).toEqual({ scheme: 'sasl', id: 'bob' });
  });
});
