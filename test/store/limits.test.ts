/** The store's limits must be consistent with each other and with the formats that carry them. */
import { describe, expect, it } from 'vitest';
import * as limits from '../../src/store/limits.js';

describe('store limits', () => {
  it('fit the on-disk formats', () => {
    // Offsets within a segment are u32: the largest segment plus one oversized record must fit.
    expect(limits.MAX_SEGMENT_BYTES + limits.RECORD_HEADER_BYTES + limits.MAX_RECORD_PAYLOAD_BYTES).toBeLessThan(2 ** 32);
    // A record length is a u32 field.
    expect(limits.MAX_RECORD_PAYLOAD_BYTES).toBeLessThan(2 ** 32);
    expect(limits.MAX_LOG_INDEX).toBe(Number.MAX_SAFE_INTEGER);
    // Node buffers hold a whole snapshot file.
    expect(limits.MAX_SNAPSHOT_BYTES + 32).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  it('are ordered sensibly', () => {
    expect(limits.MIN_SEGMENT_BYTES).toBeLessThanOrEqual(limits.DEFAULT_SEGMENT_BYTES);
    expect(limits.DEFAULT_SEGMENT_BYTES).toBeLessThanOrEqual(limits.MAX_SEGMENT_BYTES);
    expect(limits.MAX_RECORD_PAYLOAD_BYTES).toBeLessThan(limits.DEFAULT_SEGMENT_BYTES);
    expect(limits.READ_CHUNK_BYTES).toBeLessThanOrEqual(limits.DEFAULT_SEGMENT_BYTES);
    expect(limits.DEFAULT_SEGMENTS_KEPT).toBeGreaterThanOrEqual(1);
    // A corrupt newest snapshot needs an older one to fall back on.
    expect(limits.DEFAULT_SNAPSHOTS_KEPT).toBeGreaterThanOrEqual(2);
    expect(limits.MAX_META_BYTES).toBeLessThan(limits.MAX_RECORD_PAYLOAD_BYTES);
  });
});
