import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  formatServerConfig,
  membership,
  parseProperties,
  parseServerConfig,
  ZK_DEFAULT_JUTE_MAX_BUFFER,
} from '../../src/server/ensemble/config.js';
import type { ServerConfig } from '../../src/server/ensemble/config.js';

const noFiles = { file: '/etc/sk/zoo.cfg', readFile: () => undefined };

/** ZooKeeper's conf/zoo_sample.cfg plus an ensemble, a secret and an id. */
const SAMPLE = `# The number of milliseconds of each tick
tickTime=2000
# The number of ticks that the initial
# synchronization phase can take
initLimit=10
syncLimit=5
dataDir=/tmp/zookeeper
clientPort=2181
#maxClientCnxns=60
autopurge.snapRetainCount=3
server.1=zoo1:2888:3888
server.2=zoo2:2888:3888
server.3=zoo3:2888:3888:observer;2182
statekeeper.myid=2
statekeeper.secret=s3cret
`;

function errorOf(text: string, readFile: (p: string) => string | undefined = () => undefined): ConfigError {
  try {
    parseServerConfig(text, { file: '/etc/sk/zoo.cfg', readFile });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('zoo.cfg parsing', () => {
  it('reads ZooKeeper sample keys, servers, roles and defaults', () => {
    const c: ServerConfig = parseServerConfig(SAMPLE, noFiles);
    expect(c.tickTimeMs).toBe(2000);
    expect(c.initLimitTicks).toBe(10);
    expect(c.syncLimitTicks).toBe(5);
    expect(c.dataDir).toBe('/tmp/zookeeper');
    expect(c.dataLogDir).toBe('/tmp/zookeeper');
    expect(c.clientPort).toBe(2181);
    expect(c.myid).toBe(2);
    expect(c.standalone).toBe(false);
    expect(c.servers.map((s) => [s.id, s.host, s.quorumPort, s.electionPort, s.role])).toEqual([
      [1, 'zoo1', 2888, 3888, 'participant'],
      [2, 'zoo2', 2888, 3888, 'participant'],
      [3, 'zoo3', 2888, 3888, 'observer'],
    ]);
    expect(c.servers[2]!.clientPort).toBe(2182);
    expect(membership(c)).toEqual({ voters: [1, 2], members: [1, 2, 3] });
    expect(c.maxClientCnxns).toBe(60);
    expect(c.juteMaxBufferBytes).toBe(ZK_DEFAULT_JUTE_MAX_BUFFER);
    expect(c.minSessionTimeoutMs).toBe(4000);
    expect(c.maxSessionTimeoutMs).toBe(40000);
    expect(c.fourLetterWords).toEqual(['srvr']);
    expect(c.secret).toBe('s3cret');
    expect(c.warnings.some((w) => w.includes('autopurge.snapRetainCount'))).toBe(true);
  });

  it('takes the id from dataDir/myid as ZooKeeper does, and the client port from the server line', () => {
    const text = 'dataDir=data\nserver.1=127.0.0.1:2888:3888;127.0.0.1:2181\nserver.2=127.0.0.1:2889:3889;2182\nstatekeeper.secretFile=secret.txt\n';
    const files: Record<string, string> = { '/etc/sk/data/myid': '2\n', '/etc/sk/secret.txt': 'from-file\n' };
    const c = parseServerConfig(text, { file: '/etc/sk/zoo.cfg', readFile: (p) => files[p] });
    expect(c.myid).toBe(2);
    expect(c.dataDir).toBe('/etc/sk/data');
    expect(c.clientPort).toBe(2182);
    expect(c.secret).toBe('from-file');
    expect(c.servers[0]!.clientAddress).toBe('127.0.0.1');
    expect(c.tickTimeMs).toBe(3000); // ZooKeeper's built-in default
  });

  it('standalone: no server lines, no secret needed, id 1', () => {
    const c = parseServerConfig('dataDir=/d\nclientPort=2181\n', noFiles);
    expect(c.standalone).toBe(true);
    expect(c.myid).toBe(1);
    expect(membership(c)).toEqual({ voters: [1], members: [1] });
  });

  it('reads the statekeeper keys, the super digest under its ZooKeeper name, the 4lw whitelist, IPv6 hosts', () => {
    const c = parseServerConfig(
      [
        'dataDir=/d',
        'dataLogDir=/fast/log',
        'server.1=[::1]:2888:3888',
        'statekeeper.myid=1',
        'statekeeper.secret=x',
        'statekeeper.adminPort=8081',
        'statekeeper.adminAddress=127.0.0.1',
        'statekeeper.tls.cert=/pki/n1.pem',
        'statekeeper.tls.key=/pki/n1.key',
        'statekeeper.tls.ca=/pki/ca.pem',
        'DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=',
        '4lw.commands.whitelist=srvr, ruok ,mntr',
        'jute.maxbuffer=4194304',
        'minSessionTimeout=1000',
        'maxSessionTimeout=90000',
        'maxClientCnxns=0',
        'clientPortAddress = 127.0.0.1',
        'zookeeper.enforceQuota=true',
        'statekeeper.snapshotStepNodes=512',
      ].join('\n'),
      noFiles,
    );
    expect(c.enforceQuota).toBe(true);
    expect(c.snapshotStepNodes).toBe(512);
    expect(c.dataLogDir).toBe('/fast/log');
    expect(c.servers[0]!.host).toBe('::1');
    expect(c.adminPort).toBe(8081);
    expect(c.adminAddress).toBe('127.0.0.1');
    expect(c.tls).toEqual({ cert: '/pki/n1.pem', key: '/pki/n1.key', ca: '/pki/ca.pem' });
    expect(c.superDigest).toBe('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    expect(c.fourLetterWords).toEqual(['srvr', 'ruok', 'mntr']);
    expect(c.juteMaxBufferBytes).toBe(4194304);
    expect([c.minSessionTimeoutMs, c.maxSessionTimeoutMs, c.maxClientCnxns]).toEqual([1000, 90000, 0]);
    expect(c.clientPortAddress).toBe('127.0.0.1');
  });

  it('Java properties syntax: colon and space separators, ! comments, continuation lines, escapes', () => {
    const props = parseProperties('a: 1\nb 2\n! comment\nc=one \\\n   two\nd=x\\=y\n');
    expect(props.map((p) => [p.key, p.value, p.line])).toEqual([
      ['a', '1', 1],
      ['b', '2', 2],
      ['c', 'one two', 4],
      ['d', 'x=y', 6],
    ]);
  });

  it.each([
    ['tickTime=abc\ndataDir=/d\n', 1, 'tickTime', 'integer'],
    ['tickTime=0\ndataDir=/d\n', 1, 'tickTime', 'from 1'],
    ['clientPort=2181\n', 0, 'dataDir', 'required'],
    ['dataDir=/d\nclientPort=70000\n', 2, 'clientPort', '65535'],
    ['dataDir=/d\ntickTime=1\ntickTime=2\n', 3, 'tickTime', 'set twice (first on line 2)'],
    ['dataDir=/d\nserver.1=h:1:2\nserver.2=h:3\nstatekeeper.myid=1\nstatekeeper.secret=s\n', 3, 'server.2', 'host:quorumPort:electionPort'],
    ['dataDir=/d\nserver.1=h:1:2:witness\nstatekeeper.myid=1\nstatekeeper.secret=s\n', 2, 'server.1', 'participant or observer'],
    ['dataDir=/d\nserver.1=h:1:2\nserver.2=h:1:3\nstatekeeper.myid=1\nstatekeeper.secret=s\n', 3, 'server.2', 'h:1 is also used on line 2'],
    ['dataDir=/d\nserver.1=h:1:2\nserver.x=h:3:4\n', 3, 'server.x', 'integer'],
    ['dataDir=/d\nserver.300=h:1:2\n', 2, 'server.300', '1 to 255'],
    ['dataDir=/d\nserver.1=h:1:2\nstatekeeper.secret=s\n', 0, 'statekeeper.myid', '/d/myid'],
    ['dataDir=/d\nserver.1=h:1:2\nstatekeeper.myid=4\nstatekeeper.secret=s\n', 3, 'statekeeper.myid', 'no server.4 line'],
    ['dataDir=/d\nserver.1=h:1:2\nstatekeeper.myid=1\n', 0, 'statekeeper.secret', 'required'],
    ['dataDir=/d\nserver.1=h:1:2:observer\nstatekeeper.myid=1\nstatekeeper.secret=s\n', 2, 'server.1', 'participant'],
    ['dataDir=/d\nstatekeeper.adminprot=1\n', 2, 'statekeeper.adminprot', 'unknown statekeeper key'],
    ['dataDir=/d\n4lw.commands.whitelist=srvr,oops\n', 2, '4lw.commands.whitelist', '"oops"'],
    ['dataDir=/d\nminSessionTimeout=5000\nmaxSessionTimeout=4000\n', 2, 'minSessionTimeout', 'exceeds'],
    ['dataDir=/d\nsuperDigest=super:short\n', 2, 'superDigest', 'base64'],
    ['dataDir=/d\nzookeeper.enforceQuota=yes\n', 2, 'zookeeper.enforceQuota', 'true or false'],
    ['dataDir=/d\nstatekeeper.tls.cert=/c\n', 2, 'statekeeper.tls.cert', 'missing key, ca'],
    ['dataDir=/d\nserver.1=h:1:2\nserver.5=h:3:4\nstatekeeper.myid=1\nstatekeeper.secret=s\nstatekeeper.peerClients=9,4\n', 6, 'statekeeper.peerClients', 'above every server id (highest 5)'],
    ['dataDir=/d\ndynamicConfigFile=/d/zoo.cfg.dynamic\n', 2, 'dynamicConfigFile', 'not supported'],
    ['dataDir=/d\nserver.1=h:1:2\nstatekeeper.myid=1\nstatekeeper.secret=s\npeerType=observer\n', 5, 'peerType', 'participant'],
    ['dataDir=/d\nserver.1=h:1:2\nstatekeeper.myid=1\nstatekeeper.secret=s\nstatekeeper.admin.2=h:8082\n', 5, 'statekeeper.admin.2', 'no server.2 line'],
    ['dataDir=/d\nserver.1=h:1:2\nstatekeeper.myid=1\nstatekeeper.secret=s\nstatekeeper.admin.1=h\n', 5, 'statekeeper.admin.1', 'host:port'],
    ['dataDir=/d\nserver.1=h:1:2\nstatekeeper.myid=1\nstatekeeper.secret=s\nstatekeeper.admin.1=h:0\n', 5, 'statekeeper.admin.1', 'admin port must be from 1'],
    ['dataDir=/d\nstatekeeper.admin.x=h:1\n', 2, 'statekeeper.admin.x', 'unknown statekeeper key'],
  ])('rejects %j at line %i, key %s', (text, line, key, reason) => {
    const e = errorOf(text);
    expect(e.line).toBe(line);
    expect(e.key).toBe(key);
    expect(e.message).toContain(reason);
    expect(e.message.startsWith(line > 0 ? `/etc/sk/zoo.cfg:${line}: ${key}: ` : `/etc/sk/zoo.cfg: ${key}: `)).toBe(true);
  });

  it('rejects a bad myid file naming it', () => {
    const e = errorOf('dataDir=/d\nserver.1=h:1:2\nstatekeeper.secret=s\n', (p) => (p === '/d/myid' ? 'one\n' : undefined));
    expect(e.message).toContain('/d/myid');
  });

  it('what formatServerConfig writes parses back to the same membership and ports', () => {
    const servers = [1, 2, 3].map((id) => ({
      id,
      host: '127.0.0.1',
      quorumPort: 10000 + id,
      electionPort: 11000 + id,
      role: id === 3 ? ('observer' as const) : ('participant' as const),
      clientPort: 12000 + id,
    }));
    const adminAddresses = new Map([
      [3, { host: '::1', port: 13003 }],
      [1, { host: '127.0.0.1', port: 13001 }],
    ]);
    const text = formatServerConfig({ tickTimeMs: 500, dataDir: '/data/n2', clientPort: 12002, clientPortAddress: '127.0.0.1', servers, myid: 2, secret: { value: 'k' }, adminPort: 13002, adminAddress: '127.0.0.1', adminAddresses, peerClients: [100, 101] });
    expect(text).toContain('statekeeper.admin.3=[::1]:13003');
    const c = parseServerConfig(text, noFiles);
    expect(c.servers).toEqual(servers);
    expect(c.adminAddresses).toEqual(adminAddresses);
    expect([c.myid, c.clientPort, c.adminPort, c.tickTimeMs, c.secret]).toEqual([2, 12002, 13002, 500, 'k']);
    expect(c.peerClients).toEqual([100, 101]);
    expect(c.warnings).toEqual([]);
  });

  describe('SASL users from a JAAS file, as ZooKeeper reads them', () => {
    const JAAS = `// ZooKeeper's own example, plus a client section the server ignores
Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret"
       user_bob="bob\\"secret";
};
Client {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username="bob"
       password="bobsecret";
};
`;
    const files = (extra: Record<string, string> = {}) => (p: string) => ({ '/etc/sk/jaas.conf': JAAS, ...extra })[p];

    it('reads user_<name> options of the Server section (path relative to the config), the sasl provider and the super user', () => {
      const c = parseServerConfig(
        [
          'dataDir=/d',
          'java.security.auth.login.config=jaas.conf',
          'authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
          'authProvider.2=org.example.OtherProvider',
          'superUser=super',
        ].join('\n'),
        { file: '/etc/sk/zoo.cfg', readFile: files() },
      );
      expect(c.sasl?.jaasFile).toBe('/etc/sk/jaas.conf');
      expect(c.sasl?.section).toBe('Server');
      expect([...(c.sasl?.users ?? [])]).toEqual([['super', 'adminsecret'], ['bob', 'bob"secret']]);
      expect(c.sasl?.superUser).toBe('super');
      expect(c.authProviders).toEqual({ sasl: true });
      expect(c.warnings).toEqual(['/etc/sk/zoo.cfg:4: authProvider.2: authentication provider org.example.OtherProvider is not available in statekeeper; ignored']);
    });

    it('without the key, or with a file that has no Server section, SASL is off (as on ZooKeeper); no provider, no sasl scheme', () => {
      const none = parseServerConfig('dataDir=/d\n', noFiles);
      expect(none.sasl).toBeUndefined();
      expect(none.authProviders).toEqual({});
      const clientOnly = parseServerConfig('dataDir=/d\njava.security.auth.login.config=/j\n', { file: '/etc/sk/zoo.cfg', readFile: (p) => (p === '/j' ? 'Client { a.B required; };' : undefined) });
      expect(clientOnly.sasl).toBeUndefined();
      expect(clientOnly.warnings.join('\n')).toContain('/j has no Server section: SASL is off');
      const other = parseServerConfig('dataDir=/d\njava.security.auth.login.config=/etc/sk/jaas.conf\nzookeeper.sasl.serverconfig=Client\n', { file: '/etc/sk/zoo.cfg', readFile: (p) => (p === '/etc/sk/jaas.conf' ? JAAS.replace('username="bob"', 'user_carol="c"') : undefined) });
      expect([...(other.sasl?.users.keys() ?? [])]).toEqual(['carol']);
    });

    it.each([
      ['a missing file', undefined, 'the JAAS file /etc/sk/jaas.conf does not exist'],
      ['a syntax error', 'Server {\n org.apache.zookeeper.server.auth.DigestLoginModule required\n user_bob="x"\n};\n', '/etc/sk/jaas.conf:4: expected an option name or ";", found "}"'],
      ['a bare number', 'Server {\n org.apache.zookeeper.server.auth.DigestLoginModule required user_bob=123;\n};\n', '/etc/sk/jaas.conf:2: option user_bob: a value that starts with a digit must be quoted'],
      ['Kerberos', 'Server {\n com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;\n};\n', 'Kerberos/GSSAPI is not implemented'],
      ['no users', 'Server {\n org.apache.zookeeper.server.auth.DigestLoginModule required;\n};\n', 'defines no user_<name>'],
      ['a principal as a user (no word character in Java either)', 'Server {\n org.apache.zookeeper.server.auth.DigestLoginModule required user_bob@EXAMPLE.COM="x";\n};\n', 'jaas.conf:2: unexpected character "@"'],
      ['a section twice', 'Server { a.B required; };\nServer { a.B required; };\n', '/etc/sk/jaas.conf:2: section Server is defined twice'],
    ])('rejects %s naming the key and the JAAS file', (_what, jaas, reason) => {
      const e = errorOf('dataDir=/d\njava.security.auth.login.config=/etc/sk/jaas.conf\n', (p) => (p === '/etc/sk/jaas.conf' ? jaas : undefined));
      expect(e.key).toBe('java.security.auth.login.config');
      expect(e.line).toBe(2);
      expect(e.message).toContain(reason);
    });

    it('rejects a section name without a JAAS file, and a missing named section', () => {
      expect(errorOf('dataDir=/d\nzookeeper.sasl.serverconfig=Other\n').key).toBe('zookeeper.sasl.serverconfig');
      const e = errorOf('dataDir=/d\njava.security.auth.login.config=/etc/sk/jaas.conf\nsasl.serverconfig=Nope\n', files());
      expect([e.key, e.line]).toEqual(['sasl.serverconfig', 3]);
      expect(e.message).toContain('has no section Nope');
    });
  });
});
