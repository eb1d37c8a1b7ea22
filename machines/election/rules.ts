/** Pure rules of the election, shared by every role and by the checks. */
import type { LogPosition } from '../../src/protocol/messages.js';

/** Raft §5.4.1 / ZAB: a vote only goes to a log at least as up to date as the voter's own. */
export function isLogUpToDate(candidate: LogPosition, local: LogPosition): boolean {
  return candidate.epoch !== local.epoch ? candidate.epoch > local.epoch : candidate.slot >= local.slot;
}

export function bitOf(voters: readonly number[], id: number): number {
  const index = voters.indexOf(id);
  return index < 0 ? 0 : 1 << index;
}

export function countBits(mask: number): number {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
}
