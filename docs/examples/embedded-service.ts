// A Node.js service that embeds a 3-node statekeeper ensemble in its own process, does its work
// under a lock whose fencing token guards the shared resource, and follows a configuration node.
// Run it: npx tsx docs/examples/embedded-service.ts
import { EmbeddedEnsemble, Lock, NodeCache, ZooKeeperClient } from 'statekeeper/client';

export async function main() {
  const ensemble = await EmbeddedEnsemble.start({ nodes: 3 });
  const client = await ZooKeeperClient.connect(ensemble);
  await client.create('/config', '{"batchSize":10}');

  // Follow the configuration: the first read and every later version arrive through onChange.
  const configs: unknown[] = [];
  const config = new NodeCache(client, '/config');
  config.onChange((node) => configs.push(node && JSON.parse(new TextDecoder().decode(node.data))));
  await config.start();

  // Work under the lock. Its fencing token (the lock node's zxid) grows with every holder: hand it
  // to the resource you protect, so that it refuses a holder that lost the lock while paused.
  const lock = new Lock(client, '/locks/report', { onLost: () => console.warn('lock lost: stop writing') });
  const { fencingToken } = await lock.acquire({ timeoutMs: 5_000 });
  // Meanwhile an operator changes the configuration; the cache hears of it.
  await Promise.all([new Promise((resolve) => config.onChange(resolve)), client.setData('/config', '{"batchSize":20}')]);
  await lock.release();

  await client.close();
  await ensemble.stop();
  return { fencingToken, configs };
}

if (process.argv[1]?.endsWith('embedded-service.ts')) console.log(await main());
