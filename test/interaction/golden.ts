/**
 * Golden transcripts: a test compares a script's transcript with test/interaction/golden/NAME.txt.
 * `REWRITE_GOLDEN=1 npx vitest run test/interaction` writes the files instead; review the diff.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const GOLDEN_DIR = fileURLToPath(new URL('./golden/', import.meta.url));
const SCRIPT_DIR = fileURLToPath(new URL('./scripts/', import.meta.url));

export const REWRITE_GOLDEN = process.env.REWRITE_GOLDEN === '1';

export function readScript(name: string): string {
  return readFileSync(`${SCRIPT_DIR}${name}.txt`, 'utf8');
}

/** The transcript must equal the golden file (or, with REWRITE_GOLDEN=1, becomes it). */
export function expectGolden(name: string, transcript: string): void {
  const path = `${GOLDEN_DIR}${name}.txt`;
  if (REWRITE_GOLDEN) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, transcript);
    return;
  }
  if (!existsSync(path)) throw new Error(`no golden transcript ${path}: run REWRITE_GOLDEN=1 npx vitest run test/interaction`);
  expect(transcript, `transcript of ${name} (REWRITE_GOLDEN=1 to accept a change)`).toBe(readFileSync(path, 'utf8'));
}
