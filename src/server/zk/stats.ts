/**
 * The counters behind srvr/stat/mntr/cons: ZooKeeper's ServerStats (per server) and the per
 * connection statistics of ServerCnxn, with their reset rules (srst, crst).
 */

/** Decimal places ZooKeeper's AvgMinMaxCounter keeps in an average. */
const AVERAGE_SCALE = 1e4;

/** AvgMinMaxCounter: min/avg/max of integer milliseconds; min and avg are 0 before the first sample. */
export class LatencyCounter {
  private count = 0;
  private total = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  add(latencyMs: number): void {
    if (latencyMs < 0) return; // a clock step back; ZooKeeper drops such samples too
    this.count++;
    this.total += latencyMs;
    if (latencyMs < this.min) this.min = latencyMs;
    if (latencyMs > this.max) this.max = latencyMs;
  }

  get samples(): number {
    return this.count;
  }
  get minMs(): number {
    return this.count === 0 ? 0 : this.min;
  }
  get maxMs(): number {
    return this.max;
  }
  /** Rounded half-up to 4 decimals, as AvgMinMaxCounter.getAvg. */
  get avgMs(): number {
    return this.count === 0 ? 0 : Math.round((this.total / this.count) * AVERAGE_SCALE) / AVERAGE_SCALE;
  }
  /** ServerCnxn's average: integer division of the total by the count. */
  get avgMsTruncated(): number {
    return this.count === 0 ? 0 : Math.floor(this.total / this.count);
  }

  reset(): void {
    this.count = 0;
    this.total = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = 0;
  }
}

/** BufferStats: sizes of the last, smallest and largest reply (-1 before the first). */
export class BufferSizeStats {
  last = -1;
  min = -1;
  max = -1;

  record(bytes: number): void {
    this.last = bytes;
    if (this.min === -1 || bytes < this.min) this.min = bytes;
    if (bytes > this.max) this.max = bytes;
  }

  reset(): void {
    this.last = -1;
    this.min = -1;
    this.max = -1;
  }
}

/** ServerStats: what one server counts across its connections. */
export class ServerCounters {
  packetsReceived = 0;
  packetsSent = 0;
  authFailed = 0;
  readonly latency = new LatencyCounter();
  readonly responseSizes = new BufferSizeStats();

  /** ServerStats.reset (srst): latency, packet and auth counters, response sizes. */
  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.authFailed = 0;
    this.latency.reset();
    this.responseSizes.reset();
  }
}

/** ServerCnxn's statistics of one connection (cons, stat, dump). */
export class ConnectionCounters {
  packetsReceived = 0;
  packetsSent = 0;
  /** Four-letter code of the last operation answered ("NA" before any). */
  lastOp = 'NA';
  /** xid of the last request answered, -1 before any. */
  lastCxid = -1;
  lastZxid = -1n;
  lastResponseMs = 0;
  lastLatencyMs = 0;
  readonly latency = new LatencyCounter();

  recordResponse(xid: number, zxid: bigint, op: string, receivedMs: number, nowMs: number): void {
    this.lastCxid = xid;
    this.lastZxid = zxid;
    this.lastOp = op;
    this.lastResponseMs = nowMs;
    this.lastLatencyMs = nowMs - receivedMs;
    this.latency.add(this.lastLatencyMs);
  }

  /** ServerCnxn.resetStats (crst): the counters and the last-operation fields. */
  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.lastOp = 'NA';
    this.lastCxid = -1;
    this.lastZxid = -1n;
    this.lastResponseMs = 0;
    this.lastLatencyMs = 0;
    this.latency.reset();
  }
}
