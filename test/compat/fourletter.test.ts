/**
 * stat, wchs, wchc, wchp, dump and envi, line by line against a real ZooKeeper 3.8 after the same
 * load (two sessions with ephemerals, one-shot, child and recursive watches). What may differ is
 * masked and said so below: the version's build suffix, zxids (statekeeper's carry an epoch),
 * Mode (a one-node statekeeper ensemble leads), latencies, server-wide packet totals (the reference
 * harness probes ZooKeeper with ruok/srvr while it starts), ports, session ids (labelled), dates,
 * hash order (sorted) and, in dump, how deadlines fall into expiry buckets (timing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawZkClient } from '../../src/server/compat/raw-client.js';
import { startStatekeeperZk } from '../../src/server/compat/statekeeper.js';
import type { StatekeeperZk } from '../../src/server/compat/statekeeper.js';
import { fourLetterWord, startZooKeeper } from '../../src/server/compat/zookeeper.js';
import type { ZooKeeperServer } from '../../src/server/compat/zookeeper.js';
import { referenceInstalled } from './reference.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

interface Target {
  readonly host: string;
  readonly port: number;
  /** session id (hex, as printed) → label */
  readonly labels: Map<string, string>;
  readonly clients: RawZkClient[];
}

/** The same load on both servers: sessions a and b, ephemerals, and each kind of watch. */
async function load(host: string, port: number): Promise<Target> {
  const a = await RawZkClient.connect({ host, port });
  const b = await RawZkClient.connect({ host, port });
  await a.request({ op: 'create', path: '/w', data: null, acl: OPEN, flags: 0 });
  await a.request({ op: 'create', path: '/w/e1', data: null, acl: OPEN, flags: 1 });
  await a.request({ op: 'create', path: '/w/e2', data: null, acl: OPEN, flags: 1 });
  await b.request({ op: 'create', path: '/w/e3', data: null, acl: OPEN, flags: 1 });
  await a.request({ op: 'getData', path: '/w', watch: true });
  await a.request({ op: 'getChildren', path: '/w', watch: true });
  await b.request({ op: 'exists', path: '/w/x', watch: true });
  await b.request({ op: 'getChildren', path: '/', watch: true });
  await b.request({ op: 'addWatch', path: '/w', mode: 1 });
  const labels = new Map([
    [a.sessionId.toString(16), 'A'],
    [b.sessionId.toString(16), 'B'],
  ]);
  return { host, port, labels, clients: [a, b] };
}

/** Session ids to labels, ports and dates masked. */
function mask(text: string, t: Target): string {
  return text
    .replace(/0x([0-9a-f]+)/g, (all, hex: string) => (t.labels.has(hex) ? `<${t.labels.get(hex)!}>` : hex === '0' ? '0x0' : all))
    .replace(/\/127\.0\.0\.1:\d+/g, '/127.0.0.1:<port>')
    .replace(/\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}/g, '<date>');
}

/** A watch listing (wchc: id then tab-indented paths; wchp: path then ids) as sorted "head item" pairs. */
function pairs(text: string): string[] {
  const out: string[] = [];
  let head = '';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('\t')) out.push(`${head} ${line.slice(1)}`);
    else head = line;
  }
  return out.sort();
}

let reference: ZooKeeperServer;
let statekeeper: StatekeeperZk;
let zk: Target;
let sk: Target;

const both = async (word: string): Promise<{ zk: string; sk: string }> => {
  const [z, s] = await Promise.all([fourLetterWord(zk.host, zk.port, word), fourLetterWord(sk.host, sk.port, word)]);
  return { zk: mask(z, zk), sk: mask(s, sk) };
};

describe.skipIf(!referenceInstalled)('four-letter words against ZooKeeper 3.8, line by line', () => {
  beforeAll(async () => {
    [reference, statekeeper] = await Promise.all([startZooKeeper(), startStatekeeperZk({ nodes: 1 })]);
    zk = await load(reference.host, reference.port);
    sk = await load('127.0.0.1', statekeeper.servers[0]!.port);
  });

  afterAll(async () => {
    for (const c of [...(zk?.clients ?? []), ...(sk?.clients ?? [])]) c.destroy();
    await Promise.all([reference?.stop(), statekeeper?.stop()]);
  });

  it('stat: the clients with their packet counts, the connection and node counts', async () => {
    const out = await both('stat');
    const normal = (text: string): string[] => {
      const lines = text.split('\n');
      const clients = lines.slice(2, lines.indexOf('', 2)).sort();
      const rest = lines.slice(lines.indexOf('', 2)).map((l) =>
        l
          .replace(/^(Zookeeper version: \d+\.\d+\.\d+)-.*$/, '$1')
          .replace(/^(Latency min\/avg\/max:) .*$/, '$1 <latency>')
          .replace(/^(Received|Sent|Zxid|Mode): .*$/, '$1: <masked>'),
      );
      return [lines[0]!.replace(/^(Zookeeper version: \d+\.\d+\.\d+)-.*$/, '$1'), lines[1]!, ...clients, ...rest];
    };
    expect(normal(out.sk)).toEqual(normal(out.zk));
    // Lines that must be there on the reference, so two broken outputs cannot agree.
    expect(out.zk).toContain('Clients:\n /127.0.0.1:<port>[');
    expect(out.zk).toContain('(queued=0,recved=6,sent=6)');
    expect(out.zk).toContain('\nConnections: 3\n');
    expect(out.zk).toContain('\nNode count: 9\n');
  });

  it('wchs, wchc, wchp: the data-watch table', async () => {
    const wchs = await both('wchs');
    expect(wchs.sk).toBe(wchs.zk);
    expect(wchs.zk).toBe('2 connections watching 2 paths\nTotal watches:3\n');
    for (const word of ['wchc', 'wchp']) {
      const out = await both(word);
      expect(pairs(out.sk), word).toEqual(pairs(out.zk));
      expect(pairs(out.zk).length, word).toBe(3);
    }
  });

  it('dump: sessions in the expiry queue, ephemerals per session, connections as ip and session', async () => {
    const out = await both('dump');
    const normal = (text: string): { lines: string[]; counts: string[] } => {
      const lines = text.split('\n');
      const counts = lines.filter((l) => / Sets \(/.test(l)).map((l) => l.replace(/Sets \(\d+\)/, 'Sets (n)'));
      // Bucket headers depend on timing (and ZooKeeper keeps emptied buckets until its expirer runs).
      return { lines: lines.filter((l) => !/ expire at /.test(l) && !/ Sets \(/.test(l)).sort(), counts };
    };
    expect(normal(out.sk)).toEqual(normal(out.zk));
    expect(out.zk).toContain('SessionTracker dump:\nSession Sets (');
    expect(out.zk).toContain('\tip: /127.0.0.1:<port> sessionId: <A>\n');
    expect(out.zk).toContain('Sessions with Ephemerals (2):\n');
  });

  it('envi: the same keys in the same order, Node.js in place of the JVM; the JDK’s values for host and OS', async () => {
    const out = await both('envi');
    const entries = (text: string) => text.trimEnd().split('\n').slice(1).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
    const zkEntries = entries(out.zk);
    const skEntries = entries(out.sk);
    const jvm = /^java\./;
    const node = /^(node\.|os\.tmpdir$)/;
    expect(skEntries.filter(([k]) => !node.test(k)).map(([k]) => k)).toEqual(zkEntries.filter(([k]) => !jvm.test(k)).map(([k]) => k));
    const zkValues = new Map(zkEntries);
    const skValues = new Map(skEntries);
    for (const key of ['host.name', 'os.name', 'os.arch', 'os.version', 'user.name', 'user.home', 'user.dir']) expect(skValues.get(key), key).toBe(zkValues.get(key));
    expect(skValues.get('os.tmpdir')).toBe(zkValues.get('java.io.tmpdir'));
    for (const key of ['os.memory.free', 'os.memory.max', 'os.memory.total']) expect(skValues.get(key), key).toMatch(/^\d+MB$/);
    expect(zkValues.get('zookeeper.version')?.split('-')[0]).toBe(skValues.get('zookeeper.version')?.split('-')[0]);
  });
});
