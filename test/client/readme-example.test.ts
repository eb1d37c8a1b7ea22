/** docs/examples/embedded-service.ts: it runs, observes what it says, and stays under 20 lines. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const EXAMPLE = new URL('../../docs/examples/embedded-service.ts', import.meta.url);

describe('docs/examples/embedded-service.ts', () => {
  it('embeds an ensemble, takes a lock with a fencing token and follows the config node', async () => {
    const { main } = await import('../../docs/examples/embedded-service.js');
    const { fencingToken, configs } = await main();
    expect(typeof fencingToken).toBe('bigint');
    expect(fencingToken > 0n).toBe(true);
    expect(configs).toEqual([{ batchSize: 10 }, { batchSize: 20 }]);
  });

  it('is under 20 lines of code and imports statekeeper/client', () => {
    const source = readFileSync(EXAMPLE, 'utf8');
    const code = source.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('//'));
    expect(code.length).toBeLessThan(20);
    expect(source).toContain("from 'statekeeper/client'");
  });
});
