import { describe, expect, it } from 'vitest';
import { KnownLeader } from '../../src/server/ensemble/node-process.js';

/** syncLimit 5 × tickTime 2000, ZooKeeper's sample config. */
const MAX_SILENCE_MS = 10_000;

describe('KnownLeader (which leader a server still serves for)', () => {
  it('keeps the last leader through a pre-vote, and drops it once the election moves past its epoch', () => {
    const k = new KnownLeader(MAX_SILENCE_MS);
    expect(k.current(null, 0)).toBeNull();
    k.observe({ type: 'roleChanged', role: 'follower', epoch: 3, leader: 2 });
    k.heard(2, 100);
    expect(k.current(2, 100)).toBe(2);
    // The follower's timer fired: a pre-vote, same epoch, no leader named.
    k.observe({ type: 'roleChanged', role: 'candidate', epoch: 3, leader: null });
    expect(k.current(null, 200)).toBe(2);
    // Refused: back to following, still without a name until the next heartbeat.
    k.observe({ type: 'roleChanged', role: 'follower', epoch: 3, leader: null });
    expect(k.current(null, 300)).toBe(2);
    // A real campaign persists epoch 4: the old leader no longer counts.
    k.observe({ type: 'persistElection', epoch: 4, votedFor: 1 });
    expect(k.current(null, 400)).toBeNull();
    k.observe({ type: 'roleChanged', role: 'follower', epoch: 4, leader: 3 });
    k.heard(3, 500);
    expect(k.current(3, 500)).toBe(3);
    // A vote persisted in the same epoch (granting one) does not drop the leader of that epoch.
    k.observe({ type: 'persistElection', epoch: 4, votedFor: 3 });
    expect(k.current(null, 600)).toBe(3);
  });

  it('stops naming a silent leader after maxSilenceMs, as a ZooKeeper follower after syncLimit ticks', () => {
    const k = new KnownLeader(MAX_SILENCE_MS);
    k.observe({ type: 'roleChanged', role: 'follower', epoch: 1, leader: 2 });
    k.heard(2, 1_000);
    k.heard(3, 9_000); // another peer's messages say nothing about the leader
    k.observe({ type: 'roleChanged', role: 'candidate', epoch: 1, leader: null });
    expect(k.current(null, 1_000 + MAX_SILENCE_MS)).toBe(2);
    expect(k.current(null, 1_001 + MAX_SILENCE_MS)).toBeNull();
    k.heard(2, 12_000);
    expect(k.current(null, 12_000)).toBe(2);
  });
});
