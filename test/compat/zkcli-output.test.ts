/** The zkCli output normalizer keeps what matters and drops only what two correct servers may differ in. */
import { describe, expect, it } from 'vitest';
import { normalizeZkCliOutput } from '../../src/server/compat/zkcli-output.js';

const SAMPLE = [
  'Connecting to 127.0.0.1:2181',
  'Welcome to ZooKeeper!',
  'JLine support is disabled',
  '',
  'WATCHER::',
  '',
  'WatchedEvent state:SyncConnected type:None path:null',
  'Created /a',
  'cZxid = 0x100000003',
  'ctime = Wed Nov 25 17:57:11 UTC 2026',
  'mZxid = 0x10000000c',
  '',
  'WATCHER::',
  'mtime = Wed Nov 25 17:57:12 UTC 2026',
  '',
  'WatchedEvent state:SyncConnected type:NodeDataChanged path:/a',
  'pZxid = 0x100000003',
  'dataVersion = 2',
  'ephemeralOwner = 0x10000abcd0001',
  '[b, a]',
  '/a/b',
  '/a',
  '',
].join('\n');

describe('normalizeZkCliOutput', () => {
  it('ranks zxids, blanks times and owners, sorts child lists and ls -R runs, and pulls out notifications', () => {
    const out = normalizeZkCliOutput(SAMPLE);
    expect(out.events).toEqual([
      'WatchedEvent state:SyncConnected type:None path:null',
      'WatchedEvent state:SyncConnected type:NodeDataChanged path:/a',
    ]);
    expect(out.lines).toEqual([
      'Created /a',
      'cZxid = z1',
      'ctime = <time>',
      'mZxid = z2',
      'mtime = <time>',
      'pZxid = z1',
      'dataVersion = 2',
      'ephemeralOwner = <session>',
      '[a, b]',
      '/a',
      '/a/b',
    ]);
  });

  it('still tells apart outputs that differ in anything but those', () => {
    const base = normalizeZkCliOutput(SAMPLE);
    for (const [from, to] of [
      ['dataVersion = 2', 'dataVersion = 3'],
      ['pZxid = 0x100000003', 'pZxid = 0x10000000c'],
      ['Created /a', 'Created /b'],
      ['ephemeralOwner = 0x10000abcd0001', 'ephemeralOwner = 0x0'],
      ['type:NodeDataChanged', 'type:NodeDeleted'],
    ] as const) {
      const other = normalizeZkCliOutput(SAMPLE.replace(from, to));
      expect(other, `${from} -> ${to}`).not.toEqual(base);
    }
  });
});
