import fc from 'fast-check';

// One knob for property-test effort: FC_NUM_RUNS=1000 npm test for a deeper search.
const runs = Number(process.env['FC_NUM_RUNS'] ?? '100');
fc.configureGlobal({ numRuns: Number.isFinite(runs) && runs > 0 ? runs : 100 });
