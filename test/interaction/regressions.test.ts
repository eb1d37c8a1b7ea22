import { describe, expect, it } from 'vitest';
import { runScript } from '../../src/sim/script/runner.js';

// Scripts that once showed a defect of the election machine; each failed before its fix.
describe('election regressions, as scripts', () => {
  it('a candidate whose epoch fell behind learns the current one from a refused pre-vote (was: no leader, forever)', () => {
    const result = runScript(`cluster 3 seed=1 timeouts=100..110/200..210/900..1000
tick 200
partition 3 | 1 2
submit cA
tick 20
crash 1
heal
drop AcceptRequest 2->3
drop CommitNotice 2->3
tick 1500
crash 2
undrop
restart 1
tick 5000
expect leader any`);
    expect(result.failures).toEqual([]);
  });

  it('a leader that steps down on check-quorum no longer names itself leader (was: clients sent back to it)', () => {
    const result = runScript(`cluster 3 seed=1 timeouts=100..110/1000..1001/1000..1001
tick 200
partition 1 | 2 3
tick 140
submit c2 to 1
tick 5`);
    expect(result.transcript).toMatch(/n1 is follower at epoch 1, no leader/);
    expect(result.transcript).toMatch(/c2 refused \(no leader known\)/);
    expect(result.transcript).not.toMatch(/try n1/);
  });
});
