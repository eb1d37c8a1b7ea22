import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { TcpBus, TcpBusTlsOptions } from '../../../src/bus/tcp/bus.js';
import { encodeFrame } from '../../../src/bus/tcp/frames.js';
import { PEER_PROTOCOL_VERSION, encodeHello, newNonce } from '../../../src/bus/tcp/handshake.js';
import { InboxRecorder, RecordingLogger, closeAll, newBus, nextEvent, rawConnect, startCluster, within, WAIT_MS } from './helpers.js';
import type { TestMessage } from './helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const workDir = mkdtempSync(join(tmpdir(), 'statekeeper-tls-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const OPENSSL = hasOpenssl();

/** The shipped test-only pair called `name` (see fixtures/README.md). */
function fixture(name: 'cluster' | 'stranger'): { key: string; cert: string } {
  return { key: join(FIXTURES, `${name}-key.pem`), cert: join(FIXTURES, `${name}-cert.pem`) };
}

/** A fresh self-signed certificate for 127.0.0.1 (used as its own CA), as file paths. */
function selfSigned(name: 'cluster' | 'stranger'): { key: string; cert: string } {
  if (!OPENSSL) return fixture(name);
  const key = join(workDir, `${name}-key.pem`);
  const cert = join(workDir, `${name}-cert.pem`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

const cluster = selfSigned('cluster');
const clusterTls: TcpBusTlsOptions = { key: cluster.key, cert: cluster.cert, ca: cluster.cert };
const fixtureTls: TcpBusTlsOptions = { key: fixture('cluster').key, cert: fixture('cluster').cert, ca: fixture('cluster').cert };

const open: TcpBus<any>[] = [];
afterEach(async () => {
  await closeAll(open.splice(0));
});

describe(`TcpBus over TLS (${OPENSSL ? 'certificates made by openssl' : 'fixture certificate: openssl not found'})`, () => {
  it.each([
    ['generated', clusterTls],
    ['shipped fixture', fixtureTls],
  ] as const)('exchanges messages between three nodes with mutual TLS and the HMAC handshake inside (%s certificate)', async (_name, tls) => {
    const buses = await startCluster([1, 2, 3], () => ({ tls }));
    for (const b of buses.values()) open.push(b);
    const inboxes = [1, 2, 3].map((id) => new InboxRecorder<TestMessage>(buses.get(id)!.inbox(id)));
    for (const from of [1, 2, 3]) for (const to of [1, 2, 3]) buses.get(from)!.send({ from, to, msg: { type: 'Secure', from, data: new Uint8Array([from, to]), big: 2n ** 70n } });
    for (const [i, inbox] of inboxes.entries()) {
      const got = await inbox.until(3);
      expect(got.map((e) => e.from).sort()).toEqual([1, 2, 3]);
      for (const e of got) expect(e.msg).toEqual({ type: 'Secure', from: e.from, data: new Uint8Array([e.from, i + 1]), big: 2n ** 70n });
    }
  });

  it('refuses plaintext on the TLS port before any handshake frame is read', async () => {
    const logger = new RecordingLogger();
    const b1 = newBus(1, { peers: new Map([[2, null]]), tls: clusterTls, logger });
    open.push(b1);
    const inbox = new InboxRecorder<TestMessage>(b1.inbox(1));
    await b1.start();
    const event = nextEvent(b1, (e) => e.type === 'refused' && e.reason === 'tls-error');
    const raw = await rawConnect(b1.address.port);
    raw.socket.write(encodeFrame(encodeHello({ version: PEER_PROTOCOL_VERSION, dialer: 2, listener: 1, nonce: newNonce() })));
    await event;
    await within(raw.closed, WAIT_MS, 'the TLS server to drop the socket');
    expect(inbox.received).toEqual([]);
    expect(logger.warnings().some((r) => r.details['reason'] === 'tls-error')).toBe(true);
  });

  it('refuses a node whose certificate the cluster CA did not sign, even with the right secret', async () => {
    const b1 = newBus(1, { peers: new Map([[2, null]]), tls: clusterTls });
    open.push(b1);
    await b1.start();
    const stranger = selfSigned('stranger');
    const b2 = newBus(2, { peers: new Map([[1, b1.address]]), tls: { key: stranger.key, cert: stranger.cert, ca: cluster.cert } });
    open.push(b2);
    const refusedAt1 = nextEvent(b1, (e) => e.type === 'refused' && e.reason === 'tls-error');
    const failedAt2 = nextEvent(b2, (e) => e.type === 'dialFailed');
    await b2.start();
    await Promise.all([refusedAt1, failedAt2]);
    expect(b1.stats().peers[0]!.connected).toBe(false);
  });
});
