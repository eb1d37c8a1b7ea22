import { it } from 'vitest';
import { ZkSimCluster } from '/work/main/src/sim/zk/cluster.js';
import { randomZkScenario } from '/work/main/src/sim/zk/scenario.js';
import { runLinearizabilityWorkload } from '/work/main/src/sim/zk/workload.js';
it('dbg', async () => {
  const seed = Number(process.env.SEED ?? 2219);
  const sc = randomZkScenario(seed, { healAtMs: 2000, snapshotEveryCommands: 4 + (seed % 12), wipe: seed % 3 === 0 });
  const cluster = new ZkSimCluster(sc);
  await runLinearizabilityWorkload(cluster, { clients: 3 + (seed % 4), paths: 1 + (seed % 3) });
  for (const id of cluster.serverIds) {
    const s = cluster.server(id) as any;
    if (!s) { console.log('n' + id, 'down'); continue; }
    const n = s.node as any;
    const l = n.learner.getSnapshot();
    console.log(`n${id} applied ${n.appliedSlot} learnedBase ${n.learnedBase} latestSnapshot ${n.latestSnapshot?.slot} durableSnap ${n.durableSnapshotSlot} snapshotting ${n.snapshotting} encoding ${n.encoding !== undefined} incoming ${n.incoming ? `${n.incoming.slot} from ${n.incoming.from} ${n.incoming.received}/${n.incoming.bytes.length}` : null} lastAsk ${JSON.stringify(n.lastLearnAsk)} outgoing ${[...n.outgoing.keys()]}`);
    console.log(`   learner state ${JSON.stringify(l.value)} ctx ${JSON.stringify(Object.fromEntries(Object.entries(l.context).filter(([k, v]) => typeof v !== 'object' || v === null)))}`);
    const acc = n.acceptor?.getSnapshot().context;
    if (acc) console.log(`   acceptor floor ${acc.floor} promised ${JSON.stringify(acc.promised)} accepted ${acc.accepted.size}`);
  }
}, 600000);
