/**
 * Whether the reference ZooKeeper can run here. CI must have it (Debian's `zookeeper` package):
 * there a missing install fails the suite; on a developer machine without it the compat suites
 * are skipped with a note, so the rest of the tests still run.
 */
import { zooKeeperInstalled } from '../../src/server/compat/zookeeper.js';

export const referenceInstalled = zooKeeperInstalled();

if (!referenceInstalled) {
  const message = 'compat tests need Apache ZooKeeper 3.8 and Java: apt-get install -y zookeeper';
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') throw new Error(message);
  process.stderr.write(`${message} (skipping)\n`);
}
