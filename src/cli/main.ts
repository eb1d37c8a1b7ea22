/** The `statekeeper` command. */
import { Command, InvalidArgumentError } from 'commander';
import { listMutants, parseFaults, runCheck, runReplay } from './check.js';
import { registerEnsembleCommands } from './ensemble-commands.js';

// `statekeeper replay FILE | head` must end quietly when the reader goes away.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

const program = new Command();
program.name('statekeeper').description('A ZooKeeper-class coordination service you can see and check').version('0.1.0');

program
  .command('check')
  .description('run randomized simulations of the consensus core and check every invariant')
  .option('--nodes <n>', 'voters per cluster (1-7; default 5, or what the mutant prefers)', integer('--nodes', 1, 7))
  .option('--runs <r>', 'number of randomized runs', integer('--runs', 1, 1_000_000), 100)
  .option('--seed <s>', 'seed of the whole batch', integer('--seed', 0, 2 ** 31 - 1), 1)
  .option('--faults <list>', 'fault kinds: crash,partition,drop,duplicate,delay (or all, none)', 'all')
  .option('--mutant <name>', 'run a deliberately broken variant (see --list-mutants)')
  .option('--sabotage', 'let two nodes lead at once: agreement must still hold')
  .option('--out <dir>', 'where to write the trace of the first violation', 'traces')
  .option('--list-mutants', 'print the mutants, one per line, and exit')
  .action((opts) => {
    if (opts.listMutants) {
      console.log(listMutants());
      return;
    }
    process.exitCode = runCheck({
      nodes: opts.nodes,
      runs: opts.runs,
      seed: opts.seed,
      faults: parseFaults(opts.faults),
      mutant: opts.mutant,
      ...(opts.sabotage ? { sabotage: true } : {}),
      out: opts.out,
    });
  });

program
  .command('replay')
  .description('re-run a trace written by `statekeeper check` and show it step by step')
  .argument('<file>', 'trace file')
  .option('--quiet', 'do not print the events, only the verdict')
  .action((file: string, opts) => {
    process.exitCode = runReplay(file, { quiet: opts.quiet === true });
  });

program
  .command('charts')
  .description('write a Mermaid (.mmd) and an SVG chart of every role machine, drawn from the machine definitions')
  .option('--out <dir>', 'output directory', 'docs/charts')
  .action(async (opts) => {
    const { writeCharts } = await import('../inspect/charts/index.js');
    const paths = await writeCharts(opts.out);
    for (const p of paths) console.log(p);
  });

program
  .command('inspect')
  .description('serve the web inspector for a simulated ensemble (or a trace file) on 127.0.0.1')
  .option('--nodes <n>', 'nodes of the simulated ensemble', integer('--nodes', 1, 9), 5)
  .option('--seed <s>', 'seed of the simulation', integer('--seed', 0, 2 ** 31 - 1), 1)
  .option('--port <p>', 'port on 127.0.0.1 (default: a free one)', integer('--port', 0, 65535))
  .option('--trace <file>', 'open a trace written by `statekeeper check` instead')
  .option('--drop <rate>', 'message drop rate, 0 to 1', Number)
  .option('--delay <ms>', 'largest message delay in virtual ms', Number)
  .option('--run', 'start running at once instead of paused')
  .action(async (opts) => {
    const { startInspector } = await import('../inspect/web/index.js');
    const faults = {
      ...(opts.drop === undefined ? {} : { dropRate: opts.drop as number }),
      ...(opts.delay === undefined ? {} : { maxDelayMs: opts.delay as number }),
    };
    const handle = await startInspector({
      nodes: opts.nodes,
      seed: opts.seed,
      ...(Object.keys(faults).length > 0 ? { faults } : {}),
      ...(opts.port === undefined ? {} : { port: opts.port }),
      ...(opts.trace === undefined ? {} : { trace: opts.trace }),
      ...(opts.run ? { run: true } : {}),
    });
    console.log(`statekeeper inspector: open ${handle.url} in a browser (Ctrl-C stops it)`);
    const stop = () => void handle.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

registerEnsembleCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`statekeeper: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
});
