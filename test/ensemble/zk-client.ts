/**
 * Promise adapters over node-zookeeper-client (one instance = one TCP connection and session), as
 * /work/shared/bench/lib.mjs uses it for the ZooKeeper anchor: the same client, the same options.
 */
import { createRequire } from 'node:module';

// node-zookeeper-client is CommonJS without types: describe the parts used here.
interface ZkError extends Error {
  getCode(): number;
}
interface ZkRawClient {
  connect(): void;
  close(): void;
  once(event: 'connected' | 'disconnected' | 'expired', listener: () => void): void;
  on(event: 'connected' | 'disconnected' | 'expired', listener: () => void): void;
  create(path: string, data: Buffer, mode: number, cb: (e: ZkError | null, path: string) => void): void;
  setData(path: string, data: Buffer, version: number, cb: (e: ZkError | null) => void): void;
  getData(path: string, cb: (e: ZkError | null, data: Buffer) => void): void;
  exists(path: string, cb: (e: ZkError | null, stat: unknown) => void): void;
}
interface ZkModule {
  createClient(connectString: string, options: { sessionTimeout: number; spinDelay: number; retries: number }): ZkRawClient;
  CreateMode: { PERSISTENT: number };
  Exception: { NODE_EXISTS: number };
}

const require = createRequire(import.meta.url);
const zookeeper = require('node-zookeeper-client') as ZkModule;

export class ZkConn {
  private readonly client: ZkRawClient;

  constructor(connectString: string, options: { sessionTimeoutMs?: number; spinDelayMs?: number } = {}) {
    this.client = zookeeper.createClient(connectString, { sessionTimeout: options.sessionTimeoutMs ?? 30_000, spinDelay: options.spinDelayMs ?? 100, retries: 0 });
  }

  connect(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('zk connect timeout')), timeoutMs);
      this.client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.connect();
    });
  }

  create(path: string, data: Buffer): Promise<string> {
    return new Promise((resolve, reject) => this.client.create(path, data, zookeeper.CreateMode.PERSISTENT, (e, p) => (e ? reject(e) : resolve(p))));
  }

  createIfAbsent(path: string, data: Buffer): Promise<string> {
    return this.create(path, data).catch((e: unknown) => {
      if (typeof (e as ZkError).getCode === 'function' && (e as ZkError).getCode() === zookeeper.Exception.NODE_EXISTS) return path;
      throw e;
    });
  }

  set(path: string, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.client.setData(path, data, -1, (e) => (e ? reject(e) : resolve())));
  }

  get(path: string): Promise<Buffer> {
    return new Promise((resolve, reject) => this.client.getData(path, (e, d) => (e ? reject(e) : resolve(d))));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 3000);
      this.client.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.close();
    });
  }

  destroy(): void {
    try {
      this.client.close();
    } catch {
      // already closed
    }
  }
}

/** The error's ZooKeeper code name, for counting failures by kind. */
export function zkErrorName(e: unknown): string {
  if (e instanceof Error) return typeof (e as ZkError).getCode === 'function' ? `zk:${e.name}` : e.message;
  return String(e);
}
