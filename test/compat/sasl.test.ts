/**
 * SASL DIGEST-MD5 with the real Java client: Debian's zkCli, given a JAAS file with a `Client`
 * section (CLIENT_JVMFLAGS="-Djava.security.auth.login.config=…"), runs the same sessions against
 * a real ZooKeeper 3.8 (JAAS `Server` section with DigestLoginModule users,
 * authProvider.1=SASLAuthenticationProvider, zookeeper.superUser) and against a statekeeper
 * ensemble configured from a zoo.cfg with the same JAAS file. Outputs must be equal after
 * normalization; lines the reference prints are asserted too, so two broken outputs cannot agree.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerConfig, SASL_AUTH_PROVIDER_CLASS } from '../../src/server/ensemble/config.js';
import { startStatekeeperZk } from '../../src/server/compat/statekeeper.js';
import type { StatekeeperZk } from '../../src/server/compat/statekeeper.js';
import { normalizeZkCliOutput } from '../../src/server/compat/zkcli-output.js';
import type { NormalizedZkCliOutput } from '../../src/server/compat/zkcli-output.js';
import { runZkCli, startZooKeeper } from '../../src/server/compat/zookeeper.js';
import type { ZooKeeperServer } from '../../src/server/compat/zookeeper.js';
import { referenceInstalled } from './reference.js';

const SERVER_JAAS = `Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret"
       user_bob="bobsecret"
       user_carol="carolsecret";
};
`;
const clientJaas = (user: string, password: string): string => `Client {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username="${user}"
       password="${password}";
};
`;

/** bob authenticates: sasl ACLs grant, `auth` expands to the sasl id, an invalid sasl id is refused, addauth sasl fails the session. */
const BOB = [
  'whoami',
  'create /s data',
  'setAcl /s sasl:bob:cdrwa',
  'getAcl /s',
  'get /s',
  'create /s/t child auth::cdrwa',
  'getAcl /s/t',
  'addauth digest alice:secret',
  'whoami',
  'create /s/u both auth::cdr',
  'getAcl /s/u',
  'setAcl /s/t sasl:a@b@c:r',
  'create /open',
  'ls /',
  'addauth sasl nothing',
  'ls /',
];
/**
 * zkCli sends the last `ls /` without waiting for `addauth sasl nothing` to be answered. The server
 * answers AUTHFAILED and closes the connection; whether the client has seen the AuthFailed state or
 * only the closed connection when it handles the ls is a race in the client, against either server
 * ("KeeperErrorCode = AuthFailed for /" or "Not connected"; seen once in many runs). Both mean the
 * shell is unusable, which is what is compared.
 */
const UNUSABLE_AFTER_AUTH_FAILED = '<unusable after AuthFailed>';
function afterAuthFailed(lines: readonly string[]): string[] {
  const last = lines.at(-1);
  const settled = last === 'KeeperErrorCode = AuthFailed for /' || last === 'Not connected' ? UNUSABLE_AFTER_AUTH_FAILED : last;
  return [...lines.slice(0, -1), ...(settled === undefined ? [] : [settled])];
}

/** carol authenticates too, but the ACL names bob. */
const CAROL = ['whoami', 'get /s', 'getAcl /s', 'ls /s', 'set /s no'];
/** No SASL at all. */
const ANONYMOUS = ['whoami', 'get /s', 'ls /'];
/** The configured super user passes every ACL. */
const SUPER = ['whoami', 'get /s', 'get /s/t', 'deleteall /s', 'delete /open', 'ls /'];
/** A wrong password: AuthFailed, and the shell is left unconnected. */
const WRONG = ['whoami', 'get /s', 'ls /'];

let dir: string;
let reference: ZooKeeperServer;
let statekeeper: StatekeeperZk;
let statekeeperConnect: string;

const jaasFlag = (file: string) => ({ systemProperties: { 'java.security.auth.login.config': join(dir, file) } });

async function both(commands: readonly string[], clientJaasFile?: string): Promise<{ zk: NormalizedZkCliOutput; sk: NormalizedZkCliOutput; rawZk: string; rawSk: string }> {
  const options = clientJaasFile === undefined ? {} : jaasFlag(clientJaasFile);
  const [zk, sk] = await Promise.all([runZkCli(reference.connectString, commands, options), runZkCli(statekeeperConnect, commands, options)]);
  expect(zk.timedOut, 'zkCli against ZooKeeper timed out').toBe(false);
  expect(sk.timedOut, 'zkCli against statekeeper timed out').toBe(false);
  return { zk: normalizeZkCliOutput(zk.output), sk: normalizeZkCliOutput(sk.output), rawZk: zk.output, rawSk: sk.output };
}

describe.skipIf(!referenceInstalled)('SASL DIGEST-MD5: the Java client against ZooKeeper 3.8 and statekeeper', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sk-sasl-'));
    writeFileSync(join(dir, 'server.jaas'), SERVER_JAAS);
    writeFileSync(join(dir, 'bob.jaas'), clientJaas('bob', 'bobsecret'));
    writeFileSync(join(dir, 'carol.jaas'), clientJaas('carol', 'carolsecret'));
    writeFileSync(join(dir, 'super.jaas'), clientJaas('super', 'adminsecret'));
    writeFileSync(join(dir, 'wrong.jaas'), clientJaas('bob', 'not-the-password'));
    // statekeeper reads the users the way an operator would give them: a zoo.cfg naming the JAAS file.
    const config = parseServerConfig(
      [`dataDir=${join(dir, 'data')}`, 'java.security.auth.login.config=server.jaas', `authProvider.1=${SASL_AUTH_PROVIDER_CLASS}`, 'superUser=super'].join('\n'),
      { file: join(dir, 'zoo.cfg') },
    );
    const sasl = config.sasl!;
    [reference, statekeeper] = await Promise.all([
      startZooKeeper({
        config: { 'authProvider.1': SASL_AUTH_PROVIDER_CLASS },
        systemProperties: { 'java.security.auth.login.config': join(dir, 'server.jaas'), 'zookeeper.superUser': 'super' },
      }),
      startStatekeeperZk({ nodes: 3, tree: { authProviders: config.authProviders }, sasl: { users: sasl.users, superUser: sasl.superUser! } }),
    ]);
    const follower = statekeeper.ensemble.servers.findIndex((s) => !s.node.isActiveLeader);
    statekeeperConnect = statekeeper.connectString([follower]);
  });

  afterAll(async () => {
    await Promise.all([reference?.stop(), statekeeper?.stop()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates, grants and denies by sasl ACLs, and fails a wrong password the same way', async () => {
    const bob = await both(BOB, 'bob.jaas');
    expect(afterAuthFailed(bob.sk.lines), `statekeeper output:\n${bob.rawSk}`).toEqual(afterAuthFailed(bob.zk.lines));
    // The ls after the failed addauth fails, either way the race goes.
    expect(afterAuthFailed(bob.zk.lines).at(-1)).toBe(UNUSABLE_AFTER_AUTH_FAILED);
    expect(bob.sk.events).toEqual(bob.zk.events);
    for (const expected of ['sasl: bob', "'sasl,'bob", 'Acl is not valid : /s/t', 'digest: alice']) {
      expect(bob.zk.lines, `reference output lacks ${JSON.stringify(expected)}:\n${bob.rawZk}`).toContain(expected);
    }
    expect(bob.zk.events).toContain('WatchedEvent state:SaslAuthenticated type:None path:null');
    expect(bob.zk.events).toContain('WatchedEvent state:AuthFailed type:None path:null');

    const carol = await both(CAROL, 'carol.jaas');
    expect(carol.sk.lines, `statekeeper output:\n${carol.rawSk}`).toEqual(carol.zk.lines);
    expect(carol.sk.events).toEqual(carol.zk.events);
    expect(carol.zk.lines).toContain('sasl: carol');
    expect(carol.zk.lines).toContain('Insufficient permission : /s');

    const anonymous = await both(ANONYMOUS);
    expect(anonymous.sk.lines, `statekeeper output:\n${anonymous.rawSk}`).toEqual(anonymous.zk.lines);
    expect(anonymous.zk.lines).toContain('Insufficient permission : /s');

    const wrong = await both(WRONG, 'wrong.jaas');
    expect(wrong.sk.lines, `statekeeper output:\n${wrong.rawSk}`).toEqual(wrong.zk.lines);
    expect(wrong.sk.events).toEqual(wrong.zk.events);
    expect(wrong.zk.events).toContain('WatchedEvent state:AuthFailed type:None path:null');
    expect(wrong.zk.lines).toContain('Not connected');

    const root = await both(SUPER, 'super.jaas');
    expect(root.sk.lines, `statekeeper output:\n${root.rawSk}`).toEqual(root.zk.lines);
    expect(root.sk.events).toEqual(root.zk.events);
    expect(root.zk.lines).toContain('super: ');
    expect(root.zk.lines).toContain('child');
    expect(root.zk.lines).toContain('[zookeeper]');
  });
});
