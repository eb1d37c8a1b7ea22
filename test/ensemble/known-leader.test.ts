import { describe, expect, it } from 'vitest';
import { KnownLeader } from '../../src/server/ensemble/node-process.js';

describe('KnownLeader (which leader a server still serves for)', () => {
  it('keeps the last leader through a pre-vote, and drops it once the election moves past its epoch', () => {
    const k = new KnownLeader();
    expect(k.current(null)).toBeNull();
    k.observe({ type: 'roleChanged', role: 'follower', epoch: 3, leader: 2 });
    expect(k.current(2)).toBe(2);
    // The follower's timer fired: a pre-vote, same epoch, no leader named.
    k.observe({ type: 'roleChanged', role: 'candidate', epoch: 3, leader: null });
    expect(k.current(null)).toBe(2);
    // Refused: back to following, still without a name until the next heartbeat.
    k.observe({ type: 'roleChanged', role: 'follower', epoch: 3, leader: null });
    expect(k.current(null)).toBe(2);
    // A real campaign persists epoch 4: the old leader no longer counts.
    k.observe({ type: 'persistElection', epoch: 4, votedFor: 1 });
    expect(k.current(null)).toBeNull();
    k.observe({ type: 'roleChanged', role: 'follower', epoch: 4, leader: 3 });
    expect(k.current(3)).toBe(3);
    // A vote persisted in the same epoch (granting one) does not drop the leader of that epoch.
    k.observe({ type: 'persistElection', epoch: 4, votedFor: 3 });
    expect(k.current(null)).toBe(3);
  });
});
