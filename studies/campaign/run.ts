/**
 * Running a campaign: scenarios are cut into chunks of consecutive indices; a chunk runs in this
 * thread (`--jobs 1`) or on a worker thread of a tinypool pool (bin/pool-worker.js, the worker of
 * every pool, loads the CLI module bin/ulp.js loaded and calls its `poolTask`, which runs
 * `campaignChunk`). Where a scenario runs cannot change
 * it: it depends on (family, seed, index) alone.
 */
import { availableParallelism } from 'node:os';
import { POOL_WORKER, poolWorkerData } from '../pool.ts';
import { familyOf, replayCommand, runScenario, type ScenarioResult } from './campaign.ts';
import { applyMutant } from './mutants.ts';

export interface ChunkTask {
  /** A pool task's kind (bin/pool-worker.js runs every pool's tasks through the CLI's poolTask). */
  readonly kind: 'campaign';
  readonly families: readonly string[];
  readonly seed: number;
  readonly from: number;
  readonly to: number;
  /** Failures whose details come back (the rest are only counted). */
  readonly failuresMax: number;
  readonly mutant?: string;
}

export interface FamilyTally {
  runs: number;
  checks: number;
  violations: number;
  failedRuns: number;
  /** Scenario wall time summed, ms (one thread's rate: runs / (ms / 1000)). */
  ms: number;
  byName: Record<string, number>;
}

export interface Failure {
  readonly family: string;
  readonly seed: number;
  readonly index: number;
  readonly violations: readonly string[];
}

export interface ChunkResult {
  readonly families: Record<string, FamilyTally>;
  readonly failures: Failure[];
}

export const emptyTally = (): FamilyTally => ({ runs: 0, checks: 0, violations: 0, failedRuns: 0, ms: 0, byName: {} });

/** The family of scenario `index` when `families` are run. */
export const familyAt = (families: readonly string[], index: number): string => families[index % families.length]!;

export function addResult(t: FamilyTally, r: ScenarioResult): void {
  t.runs++;
  t.checks += r.checks;
  t.violations += r.violations.length;
  if (r.violations.length > 0) t.failedRuns++;
  t.ms += r.ms;
  for (const [k, v] of Object.entries(r.byName)) t.byName[k] = (t.byName[k] ?? 0) + v;
}

export function mergeTally(into: FamilyTally, t: FamilyTally): void {
  into.runs += t.runs;
  into.checks += t.checks;
  into.violations += t.violations;
  into.failedRuns += t.failedRuns;
  into.ms += t.ms;
  for (const [k, v] of Object.entries(t.byName)) into.byName[k] = (into.byName[k] ?? 0) + v;
}

/** Run scenarios [from, to) of a campaign (in this thread). */
export function campaignChunk(task: ChunkTask): ChunkResult {
  if (task.mutant !== undefined) applyMutant(task.mutant);
  const families: Record<string, FamilyTally> = {};
  const failures: Failure[] = [];
  for (let i = task.from; i < task.to; i++) {
    const name = familyAt(task.families, i);
    const fam = familyOf(name);
    if (fam === undefined) throw new Error(`unknown family '${name}'`);
    const r = runScenario(fam, task.seed, i);
    addResult((families[name] ??= emptyTally()), r);
    if (r.violations.length > 0 && failures.length < task.failuresMax) failures.push({ family: name, seed: task.seed, index: i, violations: r.violations.slice(0, 5) });
  }
  return { families, failures };
}

export interface CampaignOptions {
  readonly families: readonly string[];
  readonly seed: number;
  readonly runs: number;
  readonly jobs: number;
  readonly mutant?: string;
  /** Failures reported in detail (default 20). */
  readonly failuresMax?: number;
  /** Called after each chunk with the scenarios done so far. */
  readonly onProgress?: (done: number, total: number, violations: number) => void;
}

export interface CampaignSummary {
  readonly seed: number;
  readonly runs: number;
  readonly jobs: number;
  readonly wallMs: number;
  readonly families: Record<string, FamilyTally>;
  readonly failures: Failure[];
  readonly failedRuns: number;
  readonly violations: number;
  readonly checks: number;
  /** Set when a signal ended the campaign early: `runs` scenarios of `requested` were run. */
  readonly interrupted?: { readonly requested: number };
}

/** `--jobs auto`: one worker per core. */
export const autoJobs = (): number => Math.max(1, availableParallelism());

function chunksOf(o: CampaignOptions): ChunkTask[] {
  const size = o.jobs <= 1 ? 10 : Math.max(1, Math.min(100, Math.ceil(o.runs / (o.jobs * 40))));
  const out: ChunkTask[] = [];
  for (let from = 0; from < o.runs; from += size) {
    out.push({ kind: 'campaign', families: o.families, seed: o.seed, from, to: Math.min(o.runs, from + size), failuresMax: o.failuresMax ?? 20, ...(o.mutant !== undefined ? { mutant: o.mutant } : {}) });
  }
  return out;
}

function summarize(o: CampaignOptions, results: readonly ChunkResult[], wallMs: number): CampaignSummary {
  const families: Record<string, FamilyTally> = {};
  for (const f of o.families) if (families[f] === undefined) families[f] = emptyTally();
  const failures: Failure[] = [];
  for (const r of results) {
    for (const [k, t] of Object.entries(r.families)) mergeTally((families[k] ??= emptyTally()), t);
    failures.push(...r.failures);
  }
  failures.sort((a, b) => a.index - b.index);
  const all = Object.values(families);
  return {
    seed: o.seed,
    runs: o.runs,
    jobs: o.jobs,
    wallMs,
    families,
    failures: failures.slice(0, o.failuresMax ?? 20),
    failedRuns: all.reduce((s, t) => s + t.failedRuns, 0),
    violations: all.reduce((s, t) => s + t.violations, 0),
    checks: all.reduce((s, t) => s + t.checks, 0),
  };
}

/** Run a campaign in this thread. */
export function runCampaignHere(o: CampaignOptions): CampaignSummary {
  const t0 = performance.now();
  const results: ChunkResult[] = [];
  let done = 0;
  let bad = 0;
  for (const c of chunksOf(o)) {
    const r = campaignChunk(c);
    results.push(r);
    done += c.to - c.from;
    for (const t of Object.values(r.families)) bad += t.violations;
    o.onProgress?.(done, o.runs, bad);
  }
  return summarize(o, results, performance.now() - t0);
}

/**
 * Run a campaign on `o.jobs` worker threads (tinypool). SIGINT or SIGTERM ends it early: the
 * summary then covers the chunks finished (`interrupted`).
 */
export async function runCampaignPool(o: CampaignOptions): Promise<CampaignSummary> {
  const { Tinypool } = await import('tinypool');
  const t0 = performance.now();
  const pool = new Tinypool({ filename: POOL_WORKER, minThreads: o.jobs, maxThreads: o.jobs, isolateWorkers: false, workerData: poolWorkerData() });
  const results: ChunkResult[] = [];
  let done = 0;
  let bad = 0;
  let stop = (): void => {};
  const interrupted = new Promise<'interrupted'>((resolve) => (stop = () => resolve('interrupted')));
  const onSignal = (): void => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const all = Promise.all(
      chunksOf(o).map(async (c) => {
        const r = (await pool.run(c)) as ChunkResult;
        results.push(r);
        done += c.to - c.from;
        for (const t of Object.values(r.families)) bad += t.violations;
        o.onProgress?.(done, o.runs, bad);
      }),
    );
    all.catch(() => {}); // after an interruption the pool's destruction rejects the rest
    const how = await Promise.race([all.then(() => 'done' as const), interrupted]);
    const s = summarize(o, results, performance.now() - t0);
    return how === 'done' ? s : { ...s, runs: done, interrupted: { requested: o.runs } };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await pool.destroy();
  }
}

export { replayCommand };
