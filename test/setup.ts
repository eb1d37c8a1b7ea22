import fc from 'fast-check';

// FC_SEED / FC_NUM_RUNS replay a property failure exactly (fast-check prints both on failure).
const seed = process.env.FC_SEED === undefined ? 42 : Number(process.env.FC_SEED);
const numRuns = process.env.FC_NUM_RUNS === undefined ? undefined : Number(process.env.FC_NUM_RUNS);
fc.configureGlobal({ seed, ...(numRuns === undefined ? {} : { numRuns }) });
