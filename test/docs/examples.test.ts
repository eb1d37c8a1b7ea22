import { describe, expect, it, vi } from 'vitest';

describe('docs/examples/own-invariant.ts (docs/testing.md)', () => {
  it('runs the researcher example: own invariant, own fault schedule, own machine variant', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { result } = await import('../../docs/examples/own-invariant.js');
    log.mockRestore();
    expect(result.runs).toBe(20);
    expect(result.violations).toBe(0);
  });
});
