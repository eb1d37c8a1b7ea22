/**
 * Entry point of one server process: `node --import tsx node-main.ts --config FILE [--rejoin]`.
 * The `ensemble` command runs its children through this file, so they do not depend on how the
 * `statekeeper` CLI is wired; `statekeeper start` does the same through commander.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { basename, dirname, join, resolve } from 'node:path';
import { startCommand } from './cli.js';
import { EXIT_CODE } from './node-process.js';

/**
 * Set to a directory to have this server write a V8 CPU profile there when it exits (bench/zk.ts
 * `--profile`). Node 20 refuses `--cpu-prof` in NODE_OPTIONS, so the profiler is driven from here.
 */
export const CPU_PROFILE_DIR_ENV = 'STATEKEEPER_CPU_PROFILE_DIR';

/** Profile this process until exit; the in-thread inspector session answers synchronously, so 'exit' can write. */
function profileUntilExit(directory: string, name: string): void {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err === null) writeFileSync(join(directory, `${name}.${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

const USAGE = 'usage: node-main.ts --config FILE [--rejoin]';

function parse(argv: readonly string[]): { config: string; rejoin: boolean } {
  let config: string | undefined;
  let rejoin = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--rejoin') rejoin = true;
    else if (arg === '--config' && argv[i + 1] !== undefined) config = argv[++i];
    else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else throw new Error(`unexpected argument ${arg}; ${USAGE}`);
  }
  if (config === undefined) throw new Error(USAGE);
  return { config, rejoin };
}

try {
  const args = parse(process.argv.slice(2));
  const profileDir = process.env[CPU_PROFILE_DIR_ENV];
  if (profileDir !== undefined && profileDir !== '') {
    const config = resolve(args.config);
    profileUntilExit(profileDir, `${basename(dirname(config))}-${basename(config)}`.replace(/[^\w.-]+/g, '-'));
  }
  await startCommand(args);
} catch (error) {
  process.stderr.write(`statekeeper: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(EXIT_CODE.startup);
}
