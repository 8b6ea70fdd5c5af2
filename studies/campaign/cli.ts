/**
 * `ulp fuzz` (and `npm run campaign`): the command line of the campaign. Exit status: 0 every
 * invariant held; 1 a violation (each failed scenario: its family, seed, index, first violations
 * and a one-line replay command); 2 a usage error (one line on stderr); 130 interrupted (SIGINT
 * or SIGTERM, with worker threads: the summary covers the scenarios finished).
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { writeAllSync } from '../run.ts';
import { FAMILY_NAMES, familyOf, replayCommand, runScenario } from './campaign.ts';
import { applyMutant, MUTANTS } from './mutants.ts';
import { autoJobs, runCampaignHere, runCampaignPool, type CampaignOptions, type CampaignSummary, type Failure } from './run.ts';

export const FUZZ_USAGE = `  ulp fuzz [--runs N] [--jobs N|auto] [--family F1,F2] [--seed N] [--json]
  ulp fuzz --replay FAMILY:SEED:INDEX [--json]
                                 a campaign of N generated adversarial scenarios (default
                                 1000) over the families ${FAMILY_NAMES.join(', ')}
                                 (scenario i runs family i mod their number), checking
                                 invariants; per family the runs, invariants checked,
                                 violations and runs/s; for a failure its seed and a
                                 one-line replay command; --jobs: worker threads (default
                                 auto: one per core); --json: the summary as one object;
                                 exit 1 on any violation`;

const RUNS_MAX = 100_000_000;

function parseIntArg(name: string, text: string, lo: number, hi: number): number {
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < lo || Number(text) > hi) throw new UsageError(`--${name} needs an integer in [${lo}, ${hi}], got '${text}'`);
  return Number(text);
}

function parseFamilies(text: string | undefined): string[] {
  if (text === undefined) return [...FAMILY_NAMES];
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UsageError(`--family needs one or more of ${FAMILY_NAMES.join(', ')}`);
  for (const n of names) if (familyOf(n) === undefined) throw new UsageError(`unknown family '${n}' (families: ${FAMILY_NAMES.join(', ')})`);
  return [...new Set(names)];
}

function parseReplay(text: string): { family: string; seed: number; index: number } {
  const m = /^([a-z]+):(-?\d+):(\d+)$/.exec(text);
  if (m === null) throw new UsageError(`--replay needs FAMILY:SEED:INDEX (e.g. netio:1:42), got '${text}'`);
  if (familyOf(m[1]!) === undefined) throw new UsageError(`unknown family '${m[1]}' (families: ${FAMILY_NAMES.join(', ')})`);
  const seed = Number(m[2]);
  const index = Number(m[3]);
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(index)) throw new UsageError(`--replay: seed and index must be safe integers, got '${text}'`);
  return { family: m[1]!, seed, index };
}

const out = (text: string): void => writeAllSync(1, text);
const errLine = (line: string): void => writeAllSync(2, `${line}\n`);

const replayOf = (f: { family: string; seed: number; index: number }, mutant: string | undefined): string => replayCommand(f) + (mutant === undefined ? '' : ` --mutant ${mutant}`);

function failureText(f: Failure, mutant: string | undefined): string {
  return `FAIL ${f.family} seed=${f.seed} index=${f.index}: ${f.violations[0] ?? '?'}${f.violations.length > 1 ? ` (+${f.violations.length - 1} more)` : ''}\n  replay: ${replayOf(f, mutant)}\n`;
}

const rate = (runs: number, ms: number): string => (ms > 0 ? (runs / (ms / 1000)).toFixed(1) : '-');

export function summaryText(s: CampaignSummary, mutant: string | undefined): string {
  const rows = [['family', 'runs', 'invariants checked', 'violations', 'runs/s (one thread)']];
  for (const [name, t] of Object.entries(s.families)) rows.push([name, String(t.runs), String(t.checks), String(t.violations), rate(t.runs, t.ms)]);
  rows.push(['total', String(s.runs), String(s.checks), String(s.violations), rate(s.runs, Object.values(s.families).reduce((a, t) => a + t.ms, 0))]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  let text = s.interrupted === undefined ? '' : `ulp fuzz: interrupted after ${s.runs} of ${s.interrupted.requested} scenarios\n`;
  text += `ulp fuzz: seed ${s.seed}, ${s.runs} scenarios on ${s.jobs} thread${s.jobs === 1 ? '' : 's'} in ${(s.wallMs / 1000).toFixed(1)} s (${rate(s.runs, s.wallMs)} runs/s)${mutant === undefined ? '' : `, mutant ${mutant}`}\n`;
  text += lines.join('\n') + '\n';
  for (const [name, t] of Object.entries(s.families)) {
    const inv = Object.entries(t.byName).sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${v}`).join(', ');
    if (inv !== '') text += `  ${name}: ${inv}\n`;
  }
  if (s.failedRuns > 0) text += `${s.failedRuns} scenario${s.failedRuns === 1 ? '' : 's'} violated an invariant${s.failedRuns > s.failures.length ? ` (the first ${s.failures.length} below)` : ''}\n`;
  else text += 'every invariant held\n';
  return text;
}

export function summaryJson(s: CampaignSummary, mutant: string | undefined): object {
  return {
    seed: s.seed,
    runs: s.runs,
    jobs: s.jobs,
    wallMs: Math.round(s.wallMs),
    runsPerSec: Number(rate(s.runs, s.wallMs)) || 0,
    checks: s.checks,
    violations: s.violations,
    failedRuns: s.failedRuns,
    ...(s.interrupted !== undefined ? { interrupted: true, requested: s.interrupted.requested } : {}),
    ...(mutant !== undefined ? { mutant } : {}),
    families: Object.fromEntries(
      Object.entries(s.families).map(([k, t]) => [k, { runs: t.runs, checks: t.checks, violations: t.violations, failedRuns: t.failedRuns, runsPerSecOneThread: Number(rate(t.runs, t.ms)) || 0, invariants: t.byName }]),
    ),
    failures: s.failures.map((f) => ({ ...f, replay: replayOf(f, mutant) })),
  };
}

function progressBar(): ((done: number, total: number, bad: number) => void) | undefined {
  if (process.stderr.isTTY !== true) return undefined;
  const t0 = performance.now();
  let last = 0;
  return (done, total, bad) => {
    const now = performance.now();
    if (now - last < 200 && done < total) return;
    last = now;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const rps = done / Math.max(0.001, (now - t0) / 1000);
    const eta = rps > 0 ? Math.round((total - done) / rps) : 0;
    process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${rps.toFixed(0)} runs/s ETA ${eta} s violations ${bad}${done >= total ? '\n' : ''}`);
  };
}

/** `ulp fuzz ...`: usage errors are thrown (UsageError) before anything runs; the campaign may run on worker threads. */
export function cmdFuzz(argv: readonly string[]): number | Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      runs: { type: 'string' },
      jobs: { type: 'string' },
      family: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      replay: { type: 'string' },
      mutant: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`ulp fuzz takes no arguments, got '${positionals[0]}' (try 'ulp fuzz --help')`);
  const mutant = values.mutant;
  if (mutant !== undefined && MUTANTS[mutant] === undefined) throw new UsageError(`unknown mutant '${mutant}' (mutants: ${Object.keys(MUTANTS).join(', ')})`);
  if (values.replay !== undefined) {
    for (const o of ['runs', 'jobs', 'family', 'seed'] as const) if (values[o] !== undefined) throw new UsageError(`--replay runs one scenario: --${o} does not apply`);
    const r = parseReplay(values.replay);
    if (mutant !== undefined) applyMutant(mutant);
    const res = runScenario(familyOf(r.family)!, r.seed, r.index);
    if (values.json === true) out(JSON.stringify({ ...res, ms: Math.round(res.ms), replay: replayOf(r, mutant) }) + '\n');
    else {
      out(`ulp fuzz: ${r.family} seed=${r.seed} index=${r.index}: ${res.checks} invariants checked, ${res.violations.length} violated (${res.ms.toFixed(0)} ms)\n`);
      for (const v of res.violations) out(`  ${v}\n`);
    }
    return res.violations.length > 0 ? 1 : 0;
  }
  const runs = values.runs === undefined ? 1000 : parseIntArg('runs', values.runs, 1, RUNS_MAX);
  const jobs = values.jobs === undefined || values.jobs === 'auto' ? autoJobs() : parseIntArg('jobs', values.jobs, 1, 256);
  const seed = values.seed === undefined ? 1 : parseIntArg('seed', values.seed, -(2 ** 53 - 1), 2 ** 53 - 1);
  const families = parseFamilies(values.family);
  const progress = progressBar();
  const o: CampaignOptions = { families, seed, runs, jobs, ...(mutant !== undefined ? { mutant } : {}), ...(progress !== undefined ? { onProgress: progress } : {}) };
  const finish = (s: CampaignSummary): number => {
    if (values.json === true) out(JSON.stringify(summaryJson(s, mutant)) + '\n');
    else {
      out(summaryText(s, mutant));
      for (const f of s.failures) out(failureText(f, mutant));
    }
    if (values.json === true) for (const f of s.failures) errLine(`ulp fuzz: FAIL ${f.family} seed=${f.seed} index=${f.index}; replay: ${replayOf(f, mutant)}`);
    return s.failedRuns > 0 ? 1 : s.interrupted !== undefined ? 130 : 0;
  };
  if (jobs === 1) return finish(runCampaignHere(o));
  return runCampaignPool(o).then(finish, (e: unknown) => {
    errLine(`ulp fuzz: the worker pool failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return 3;
  });
}
