/**
 * Four-letter words over raw sockets, in ZooKeeper 3.8's formats, and the whitelist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkServer, ZK_NOT_SERVING, parseFourLetterWhitelist } from '../../../src/server/zk/index.js';
import { collectingLogger, fourLetterWord, openSocket, readUntilClosed, startCluster } from './harness.js';
import type { Cluster } from './harness.js';
import { call, call2, connectClient, nzk, ok, sessionIdOf } from './nzk.js';
import type { NzkClient, NzkStat } from './nzk.js';

let cluster: Cluster;
let client: NzkClient;
/** A server with the default whitelist (srvr only) on the same node. */
let defaults: ZkServer;

beforeAll(async () => {
  cluster = await startCluster({ tickMs: 100 });
  client = await connectClient(cluster.connectionString([0]), { sessionTimeout: 1500 });
  defaults = new ZkServer({ service: cluster.ensemble.servers[0]!.service, port: 0, logger: collectingLogger() });
  await defaults.listen();
});

afterAll(async () => {
  client.close();
  await defaults.close();
  await cluster.stop();
});

const port = (): number => cluster.servers[0]!.port;
const node = () => cluster.ensemble.servers[0]!;
const hex = (n: bigint): string => n.toString(16);

describe('four-letter words (whitelist "*")', () => {
  it('ruok answers imok, isro answers rw', async () => {
    expect(await fourLetterWord(port(), 'ruok')).toBe('imok');
    expect(await fourLetterWord(port(), 'isro')).toBe('rw');
  });

  it('srvr: StatCommand without clients, ServerStats, node count', async () => {
    const text = await fourLetterWord(port(), 'srvr');
    expect(text).toMatch(
      /^Zookeeper version: 3\.8\.0-statekeeper-0\.1\.0\nLatency min\/avg\/max: \d+\/\d+\.\d+(E-?\d+)?\/\d+\nReceived: \d+\nSent: \d+\nConnections: \d+\nOutstanding: \d+\nZxid: 0x[0-9a-f]+\nMode: (leader|follower)\nNode count: \d+\n$/,
    );
    const mode = node().node.isActiveLeader ? 'leader' : 'follower';
    expect(text).toContain(`Mode: ${mode}\n`);
    // ZooKeeper's node map holds the root twice ("" and "/"): a fresh server says 5 for its 4 nodes.
    expect(text).toContain(`Node count: ${node().service.tree.nodeCount + 1}\n`);
    // What version parsers read: the part before the first '-'.
    expect(/^Zookeeper version: ([^-\n]+)/.exec(text)?.[1]).toBe('3.8.0');
  });

  it('stat lists the clients, the command connection itself included', async () => {
    await ok(call<NzkStat | null>((cb) => client.exists('/', undefined, cb)));
    const text = await fourLetterWord(port(), 'stat');
    const lines = text.split('\n');
    expect(lines[1]).toBe('Clients:');
    expect(text).toMatch(/\n \/127\.0\.0\.1:\d+\[1\]\(queued=0,recved=\d+,sent=\d+\)\n/);
    expect(text).toMatch(/\n \/127\.0\.0\.1:\d+\[0\]\(queued=0,recved=1,sent=0\)\n/);
    expect(text).toMatch(/\)\n\nLatency min\/avg\/max: /);
  });

  it('cons shows the session, its last operation and timeout', async () => {
    await ok(call<NzkStat | null>((cb) => client.exists('/', undefined, cb)));
    const text = await fourLetterWord(port(), 'cons');
    const sid = hex(sessionIdOf(client));
    const line = text.split('\n').find((l) => l.includes(`sid=0x${sid}`));
    expect(line).toMatch(
      new RegExp(`^ /127\\.0\\.0\\.1:\\d+\\[1\\]\\(queued=0,recved=\\d+,sent=\\d+,sid=0x${sid},lop=(EXIS|PING),est=\\d+,to=1500,lcxid=0x[0-9a-f]+,lzxid=0x[0-9a-f]+,lresp=\\d+,llat=\\d+,minlat=\\d+,avglat=\\d+,maxlat=\\d+\\)$`),
    );
    expect(text.endsWith(')\n\n')).toBe(true);
  });

  it('mntr: tab-separated zk_ values', async () => {
    const text = await fourLetterWord(port(), 'mntr');
    const values = new Map(text.trimEnd().split('\n').map((l) => l.split('\t') as [string, string]));
    expect(text.split('\n')[0]).toBe('zk_version\t3.8.0-statekeeper-0.1.0');
    expect(values.get('zk_server_state')).toBe(node().node.isActiveLeader ? 'leader' : 'follower');
    expect(values.get('zk_peer_state')).toMatch(/^(leading|following) - broadcast$/);
    expect(values.get('zk_avg_latency')).toMatch(/^\d+\.\d+(E-?\d+)?$/);
    for (const key of ['zk_max_latency', 'zk_min_latency', 'zk_packets_received', 'zk_packets_sent', 'zk_num_alive_connections', 'zk_outstanding_requests', 'zk_uptime', 'zk_watch_count', 'zk_ephemerals_count']) {
      expect(values.get(key), key).toMatch(/^\d+$/);
    }
    expect(Number(values.get('zk_znode_count'))).toBe(node().service.tree.nodeCount + 1);
    expect(Number(values.get('zk_global_sessions'))).toBe(node().service.tree.sessionIds().length);
    expect(Number(values.get('zk_num_alive_connections'))).toBeGreaterThanOrEqual(2);
  });

  it('conf: the client port settings, then the node\'s', async () => {
    const text = await fourLetterWord(port(), 'conf');
    expect(text).toContain(`clientPort=${port()}\n`);
    expect(text).toContain('maxClientCnxns=60\n');
    expect(text).toContain('minSessionTimeout=200\nmaxSessionTimeout=2000\n');
    expect(text).toContain(`serverId=${node().id}\n`);
  });

  it('envi: Environment with zookeeper.version first, Node.js in place of the JVM, heap sizes as the JVM reports them', async () => {
    const text = await fourLetterWord(port(), 'envi');
    expect(text.startsWith('Environment:\nzookeeper.version=3.8.0-statekeeper-0.1.0\n')).toBe(true);
    const keys = text.trimEnd().split('\n').slice(1).map((l) => l.split('=')[0]);
    expect(keys).toEqual([
      'zookeeper.version', 'host.name', 'node.version', 'node.execPath', 'os.tmpdir', 'os.name', 'os.arch', 'os.version',
      'user.name', 'user.home', 'user.dir', 'os.memory.free', 'os.memory.max', 'os.memory.total',
    ]);
    expect(text).toMatch(/\nos\.memory\.free=\d+MB\nos\.memory\.max=\d+MB\nos\.memory\.total=\d+MB\n$/);
    expect(text).toContain(`\nnode.version=${process.version}\n`);
  });

  it('wchs, wchc and wchp describe the data watches (ZooKeeper leaves getChildren watches out)', async () => {
    await ok(call<string>((cb) => client.create('/watched-4lw', null, nzk.ACL.OPEN_ACL_UNSAFE, nzk.CreateMode.PERSISTENT, cb)));
    await ok(call2<Buffer | null, NzkStat>((cb) => client.getData('/watched-4lw', () => undefined, cb)));
    await ok(call<string[]>((cb) => client.getChildren('/watched-4lw', () => undefined, cb)));
    await ok(call<string[]>((cb) => client.getChildren('/', () => undefined, cb)));
    const sid = hex(sessionIdOf(client));
    const watches = node().service.watches;
    const wchs = await fourLetterWord(port(), 'wchs');
    expect(wchs).toBe(`${watches.watchesBySession('data').size} connections watching ${watches.watchesByPath('data').size} paths\nTotal watches:${watches.dataWatchCount}\n`);
    expect(watches.watchCount).toBeGreaterThan(watches.dataWatchCount);
    expect(await fourLetterWord(port(), 'wchc')).toContain(`0x${sid}\n\t/watched-4lw\n`);
    expect(await fourLetterWord(port(), 'wchp')).toContain(`/watched-4lw\n\t0x${sid}\n`);
    expect(await fourLetterWord(port(), 'wchp')).not.toMatch(/^\/\n/m);
  });

  it('dump: sessions, ephemerals and the connection expiry queue', async () => {
    await ok(call<string>((cb) => client.create('/eph-4lw', null, nzk.ACL.OPEN_ACL_UNSAFE, nzk.CreateMode.EPHEMERAL, cb)));
    const sid = hex(sessionIdOf(client));
    const dump = async (i: number) => fourLetterWord(cluster.servers[i]!.port, 'dump');
    const leader = cluster.ensemble.servers.findIndex((s) => s.node.isActiveLeader);
    const follower = leader === 0 ? 1 : 0;
    // The leader prints SessionTrackerImpl's expiry queue (deadlines in tickTime buckets) ...
    const leading = await dump(leader);
    expect(leading).toMatch(/^SessionTracker dump:\nSession Sets \(\d+\)\/\(\d+\):\n\d+ expire at \w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}:\n\t0x/);
    expect(leading).toContain(`\t0x${sid}\n`);
    // ... a follower LearnerSessionTracker's list with timeouts.
    const following = await dump(follower);
    expect(following.startsWith('SessionTracker dump:\nGlobal Sessions(')).toBe(true);
    expect(following).toContain(`\n0x${sid}\t1500ms\n`);
    const text = await dump(0);
    expect(text).toContain(`ephemeral nodes dump:\nSessions with Ephemerals (`);
    expect(text).toContain(`\n0x${sid}:\n\t/eph-4lw\n`);
    expect(text).toMatch(/\nConnections dump:\nConnections Sets \(\d+\)\/\(\d+\):\n\d+ expire at \w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}:\n\tip: \/127\.0\.0\.1:\d+ sessionId: 0x/);
    expect(text).toContain(` sessionId: 0x${sid}\n`);
  });

  it('srst and crst reset the server and connection statistics', async () => {
    for (let i = 0; i < 5; i++) await ok(call<NzkStat | null>((cb) => client.exists('/', undefined, cb)));
    const received = (text: string): number => Number(/\nReceived: (\d+)\n/.exec(text)?.[1]);
    const before = received(await fourLetterWord(port(), 'srvr'));
    expect(before).toBeGreaterThanOrEqual(5);
    expect(await fourLetterWord(port(), 'srst')).toBe('Server stats reset.\n');
    expect(received(await fourLetterWord(port(), 'srvr'))).toBeLessThan(before);
    expect(await fourLetterWord(port(), 'crst')).toBe('Connection stats reset.\n');
    const cons = await fourLetterWord(port(), 'cons');
    const sid = hex(sessionIdOf(client));
    expect(cons.split('\n').find((l) => l.includes(`sid=0x${sid}`))).toMatch(/lop=(NA|PING)/);
  });

  it('words statekeeper does not implement (gtmk, stmk, dirs, hash) and telnet\'s close close without output', async () => {
    for (const word of ['gtmk', 'dirs', 'hash']) expect(await fourLetterWord(port(), word)).toBe('');
    const socket = await openSocket(port());
    const closed = readUntilClosed(socket);
    socket.write(Buffer.from([0xff, 0xf4, 0xff, 0xfd]));
    expect((await closed).data.length).toBe(0);
  });
});

describe('the whitelist', () => {
  it('by default only srvr runs; other words get ZooKeeper\'s refusal', async () => {
    expect(await fourLetterWord(defaults.port, 'srvr')).toMatch(/^Zookeeper version: /);
    for (const word of ['ruok', 'stat', 'mntr', 'cons', 'conf', 'envi', 'wchs', 'dump', 'isro', 'stmk']) {
      expect(await fourLetterWord(defaults.port, word)).toBe(`${word} is not executed because it is not in the whitelist.\n`);
    }
    const socket = await openSocket(defaults.port);
    const closed = readUntilClosed(socket);
    socket.write(Buffer.from([0xff, 0xf4, 0xff, 0xfd]));
    expect((await closed).data.toString()).toBe('telnet close is not executed because it is not in the whitelist.\n');
  });

  it('parses 4lw.commands.whitelist as ZooKeeper does', () => {
    expect([...parseFourLetterWhitelist('ruok, stat ,,bogus')].sort()).toEqual(['ruok', 'srvr', 'stat']);
    expect([...parseFourLetterWhitelist('')]).toEqual(['srvr']);
    expect(parseFourLetterWhitelist('ruok,*').size).toBe(19); // the 18 words and telnet close
    expect(parseFourLetterWhitelist(['mntr']).has('mntr')).toBe(true);
  });

  it('a server that is not serving says so (ruok still answers imok)', async () => {
    const server = new ZkServer({
      service: cluster.ensemble.servers[0]!.service,
      port: 0,
      logger: collectingLogger(),
      fourLetterWords: '*',
      stats: { serverState: () => 'looking', isServing: () => false },
    });
    await server.listen();
    try {
      expect(await fourLetterWord(server.port, 'srvr')).toBe(`${ZK_NOT_SERVING}\n`);
      expect(await fourLetterWord(server.port, 'mntr')).toBe(`${ZK_NOT_SERVING}\n`);
      expect(await fourLetterWord(server.port, 'isro')).toBe('null');
      expect(await fourLetterWord(server.port, 'ruok')).toBe('imok');
    } finally {
      await server.close();
    }
  });
});
