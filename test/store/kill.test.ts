/**
 * A real crash: a child process appends and syncs records, printing each index once its sync has
 * resolved; it is killed with SIGKILL mid-stream, and the reopened log must hold every index it
 * printed, byte for byte. Twice, so the second run also recovers a log a killed process left.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLogStore } from '../../src/store/wal.js';
import { killTestPayload } from './fixtures/payload.js';
import { makeTempDir, recordingLogger } from './helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/wal-writer.ts', import.meta.url));
const SEGMENT_BYTES = 4096;
/** Synced lines to see before the kill: enough to span many segments and group commits. */
const SYNCED_LINES_BEFORE_KILL = 150;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

interface WriterRun {
  readonly openedAt: number;
  readonly lastSynced: number;
  readonly syncedLines: number;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Runs the writer on `dir` and kills it with SIGKILL after SYNCED_LINES_BEFORE_KILL synced lines. */
function runAndKill(dir: string): Promise<WriterRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(SEGMENT_BYTES)], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let openedAt = -1;
    let lastSynced = -1;
    let syncedLines = 0;
    let pending = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const [word, value] = line.split(' ');
        if (word === 'opened') openedAt = Number(value);
        if (word === 'synced') {
          lastSynced = Math.max(lastSynced, Number(value));
          if (++syncedLines === SYNCED_LINES_BEFORE_KILL) child.kill('SIGKILL');
        }
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ openedAt, lastSynced, syncedLines, signal, stderr }));
  });
}

describe('FileLogStore under kill -9', () => {
  it('keeps every record a killed writer reported as synced', async () => {
    const { dir, remove } = makeTempDir('kill');
    cleanups.push(remove);
    let previousLast = 0;
    for (let round = 0; round < 2; round++) {
      const run = await runAndKill(dir);
      expect(run.signal, run.stderr).toBe('SIGKILL');
      expect(run.openedAt).toBe(previousLast);
      expect(run.syncedLines).toBeGreaterThanOrEqual(SYNCED_LINES_BEFORE_KILL);
      const logger = recordingLogger();
      const log = await FileLogStore.open(dir, { segmentBytes: SEGMENT_BYTES, logger });
      expect(log.lastIndex).toBeGreaterThanOrEqual(run.lastSynced);
      expect(log.segmentFirstIndexes().length).toBeGreaterThan(3);
      let expected = 1;
      for (const record of log.readFrom(1)) {
        expect(record.index).toBe(expected);
        expect(record.payload).toEqual(killTestPayload(expected));
        expected++;
      }
      expect(expected - 1).toBe(log.lastIndex);
      previousLast = log.lastIndex;
      await log.close();
    }
  });
});
