import fc from 'fast-check';

// One knob for property-test effort: FC_NUM_RUNS=1000 npm test for a deeper search.
const runs = Number(process.env['FC_NUM_RUNS'] ?? '100');
// FC_SEED=N replays a failure fast-check reported (its seed is in the failure message).
const seed = process.env['FC_SEED'] === undefined ? undefined : Number(process.env['FC_SEED']);
fc.configureGlobal({ numRuns: Number.isFinite(runs) && runs > 0 ? runs : 100, ...(seed !== undefined && Number.isInteger(seed) ? { seed } : {}) });
