import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { INDEX_FILE, REGENERATE_COMMAND, ROLE_CHARTS, chartMermaid, writeCharts } from '../../../src/inspect/charts/index.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const COMMITTED = join(REPO_ROOT, 'docs', 'charts');
const STALE = `docs/charts is stale: run \`${REGENERATE_COMMAND}\` and commit the result`;

describe('writeCharts', () => {
  it('writes <role>.mmd and <role>.svg for the six roles and an index, creating the directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'charts-'));
    try {
      const out = join(dir, 'nested', 'charts');
      const written = await writeCharts(out);
      const expected = [...ROLE_CHARTS.flatMap((r) => [`${r.role}.mmd`, `${r.role}.svg`]), INDEX_FILE];
      expect(written).toEqual(expected.map((f) => join(out, f)));
      expect((await readdir(out)).sort()).toEqual([...expected].sort());

      const index = await readFile(join(out, INDEX_FILE), 'utf8');
      for (const r of ROLE_CHARTS) {
        expect(index).toContain(`## ${r.role}\n`);
        expect(index).toContain(`![${r.role} statechart](${r.role}.svg)`);
        expect(index).toContain(`\`\`\`mermaid\n${chartMermaid(r.role)}\`\`\``);
        expect(await readFile(join(out, `${r.role}.mmd`), 'utf8')).toBe(chartMermaid(r.role));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('links each role to a source file that exists', () => {
    for (const r of ROLE_CHARTS) expect(existsSync(join(REPO_ROOT, r.source)), r.source).toBe(true);
  });
});

describe('docs/charts', () => {
  it('is up to date with the machines (byte for byte)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'charts-'));
    try {
      const written = await writeCharts(dir);
      const committed = existsSync(COMMITTED) ? (await readdir(COMMITTED)).sort() : [];
      expect(committed, STALE).toEqual(written.map((p) => basename(p)).sort());
      for (const path of written) {
        const fresh = await readFile(path);
        const old = await readFile(join(COMMITTED, basename(path)));
        expect(fresh.equals(old), `${basename(path)} differs. ${STALE}`).toBe(true);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
