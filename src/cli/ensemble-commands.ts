/** Registers `start`, `ensemble` and `status` (src/server/ensemble) on the `statekeeper` program. */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

/** Add the ensemble commands to `program`; their modules load only when one of them runs. */
export function registerEnsembleCommands(program: Command): void {
  program
    .command('start')
    .description('run one server from a ZooKeeper-style config file (zoo.cfg syntax plus statekeeper.* keys)')
    .requiredOption('--config <file>', 'the server configuration')
    .option('--rejoin', 'this voter lost its data directory: rebuild from a majority of the others before voting')
    .action(async (opts: { config: string; rejoin?: boolean }) => {
      const { startCommand } = await import('../server/ensemble/cli.js');
      await startCommand({ config: opts.config, rejoin: opts.rejoin === true });
    });

  program
    .command('ensemble')
    .description('run a local ensemble: one child process per server over TCP on 127.0.0.1, data kept in --dir')
    .option('--nodes <n>', 'number of servers', integer('--nodes', 1, 9), 3)
    .option('--dir <dir>', 'configs, data and logs (reused on the next run)', './data')
    .option('--base-port <port>', 'client ports from P, quorum P+100, election P+200, admin P+300', integer('--base-port', 1, 65000), 2181)
    .option('--tick-time <ms>', 'ZooKeeper tickTime of every server', integer('--tick-time', 1, 60_000), 2000)
    .action(async (opts: { nodes: number; dir: string; basePort: number; tickTime: number }) => {
      const { ensembleCommand } = await import('../server/ensemble/cli.js');
      const ensemble = await ensembleCommand({ nodes: opts.nodes, dir: opts.dir, basePort: opts.basePort, tickTimeMs: opts.tickTime });
      await ensemble.exited;
    });

  program
    .command('status')
    .description("print a server's role, epoch, last zxid, commit point, sessions and peers (from its admin port)")
    .requiredOption('--server <host:port>', 'the admin address (statekeeper.adminPort)')
    .option('--json', 'print the raw /status JSON')
    .action(async (opts: { server: string; json?: boolean }) => {
      const { statusCommand } = await import('../server/ensemble/cli.js');
      process.exitCode = await statusCommand({ server: opts.server, json: opts.json === true });
    });
}
