/**
 * Entry point of one server process: `node --import tsx node-main.ts --config FILE [--rejoin]`.
 * The `ensemble` command runs its children through this file, so they do not depend on how the
 * `statekeeper` CLI is wired; `statekeeper start` does the same through commander.
 */
import { startCommand } from './cli.js';
import { EXIT_CODE } from './node-process.js';

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
  await startCommand(parse(process.argv.slice(2)));
} catch (error) {
  process.stderr.write(`statekeeper: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(EXIT_CODE.startup);
}
