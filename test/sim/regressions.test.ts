import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/sim/runner.js';
import type { Scenario } from '../../src/sim/scenario.js';

// Every scenario that once broke an invariant, shrunk and kept with a note of the bug it found.
const dir = join(import.meta.dirname, 'regressions');

describe('regression scenarios', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const { bug, scenario } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { bug: string; scenario: Scenario };
    it(`${file.replace('.json', '')}: ${bug}`, () => {
      expect(runScenario(scenario).violation).toBeNull();
    });
  }
});
