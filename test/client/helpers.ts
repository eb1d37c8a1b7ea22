/** Shared by the client and recipe tests: bounded waits, event-driven conditions, and oracles. */
import { vi } from 'vitest';
import { EmbeddedEnsemble, ZooKeeperClient } from '../../src/client/index.js';
import type { ConnectOptions, SessionState } from '../../src/client/index.js';

/** Default bound of a test's waits: far above what a healthy run needs, so only a hang trips it. */
export const WAIT_MS = 8_000;

/** Sessions the tests open (the largest the default tickMs of 200 ms allows). */
export const SESSION_TIMEOUT_MS = 4_000;

export async function startEnsemble(): Promise<EmbeddedEnsemble> {
  return EmbeddedEnsemble.start({ nodes: 3 });
}

export async function connect(ensemble: EmbeddedEnsemble, options: ConnectOptions = {}): Promise<ZooKeeperClient> {
  return ZooKeeperClient.connect(ensemble, { sessionTimeoutMs: SESSION_TIMEOUT_MS, ...options });
}

/** A server that is up and not leading. */
export function followerId(ensemble: EmbeddedEnsemble): number {
  const leader = ensemble.leader()?.id;
  const follower = ensemble.servers.find((s) => s.up && s.id !== leader);
  if (follower === undefined) throw new Error('no follower up');
  return follower.id;
}

/** `promise`, or a rejection naming `what` if it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolve once `check()` holds, re-checking whenever `subscribe`'s wake-up fires (bounded). */
export function condition(check: () => boolean, subscribe: (wake: () => void) => () => void, what: string, ms = WAIT_MS): Promise<void> {
  let unsubscribe = (): void => undefined;
  const met = new Promise<void>((resolve) => {
    const wake = (): void => {
      if (check()) resolve();
    };
    unsubscribe = subscribe(wake);
    wake();
  });
  return within(met, what, ms).finally(() => unsubscribe());
}

/** Resolve when the client reaches `state` (bounded). */
export function reachState(client: ZooKeeperClient, state: SessionState, ms = WAIT_MS): Promise<void> {
  return condition(() => client.state === state, (wake) => client.onStateChange(wake), `session state ${state}`, ms);
}

/**
 * The ground truth for "a holder is valid until its session ends": true when some server whose
 * log has reached `atLeastZxid` (a zxid after the session's creation) no longer has the session,
 * i.e. its end is committed. A server that has not reached it does not count: a fresh one has not
 * even seen the session yet.
 */
export function sessionEnded(ensemble: EmbeddedEnsemble, sessionId: bigint, atLeastZxid: bigint): boolean {
  return ensemble.servers.some((s) => s.service.lastZxid >= atLeastZxid && s.service.tree.getSession(sessionId) === undefined);
}

/**
 * Make a session expire the way a cut-off client's does: its server stops hearing it (a one-way
 * partition), so the leader expires the session after its timeout. EmbeddedEnsemble has no fault
 * hook for one client, so this drops the session's pings at its server (`service.touch`); the
 * client must not send requests meanwhile. Resolves once the client's server has applied the
 * session's end, seen as the deletion of an ephemeral marker the client watches.
 */
export async function expireByPartition(ensemble: EmbeddedEnsemble, client: ZooKeeperClient): Promise<void> {
  const marker = await client.create(`/expiry-marker-${client.sessionId.toString(16)}`, '', { mode: 'ephemeral' });
  let deleted = (): void => undefined;
  const gone = new Promise<void>((resolve) => (deleted = resolve));
  await client.exists(marker, (event) => (event.name === 'NodeDeleted' ? deleted() : undefined));
  const service = ensemble.server(client.serverId!).service;
  const touch = service.touch.bind(service);
  const spy = vi.spyOn(service, 'touch').mockImplementation((id) => (id === client.sessionId ? true : touch(id)));
  try {
    await within(gone, 'session expiry', client.sessionTimeoutMs * 4 + WAIT_MS);
  } finally {
    spy.mockRestore();
  }
}

/** Resolve once the children of `path` satisfy `check`, re-reading on each child watch. */
export async function children(client: ZooKeeperClient, path: string, check: (names: string[]) => boolean): Promise<void> {
  for (let round = 0; round < 100; round++) {
    let wake = (): void => undefined;
    const changed = new Promise<void>((resolve) => (wake = resolve));
    const names = await client.getChildren(path, () => wake()).catch(async () => {
      // Not there yet: wake on its creation instead (at once if it came meanwhile).
      if ((await client.exists(path, () => wake())) !== null) wake();
      return [];
    });
    if (check(names)) return;
    await within(changed, `children of ${path}`);
  }
  throw new Error(`children of ${path} never as expected`);
}

export const text = (data: Uint8Array): string => new TextDecoder().decode(data);

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
