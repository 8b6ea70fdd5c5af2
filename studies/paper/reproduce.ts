/**
 * `ulp paper`: run every paper-* scenario and file each one's figures under its section of
 * paper/tables.json, so the JSON mirrors the paper's tables with the emulator's values in place
 * of the paper's (only the cells the emulator computes; the rest are absent).
 */
import { readFileSync } from 'node:fs';
import type { ResultValue, Results, RunReport, Scenario } from '../scenarios/types.ts';

export const PAPER_TABLES = JSON.parse(readFileSync(new URL('./tables.json', import.meta.url), 'utf8')) as { readonly [k: string]: ResultValue };

type Tree = { [k: string]: ResultValue };

/** The parts of `results` at the paths `shape` has (numbers and arrays of numbers). */
export function pickLike(shape: ResultValue, results: ResultValue | undefined): ResultValue | undefined {
  if (results === undefined) return undefined;
  // A figure the run failed to produce stays in place as null (JSON has no NaN), never dropped.
  if (results === null) return typeof shape === 'number' ? null : undefined;
  if (typeof shape === 'number') return typeof results === 'number' ? (Number.isFinite(results) ? results : null) : undefined;
  if (Array.isArray(shape)) return Array.isArray(results) ? results : undefined;
  if (typeof shape === 'object' && shape !== null && typeof results === 'object' && !Array.isArray(results)) {
    const out: Tree = {};
    for (const [k, v] of Object.entries(shape as Tree)) {
      const r = pickLike(v, (results as Tree)[k]);
      if (r !== undefined) out[k] = r;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return undefined;
}

function mergeInto(target: Tree, add: Tree): void {
  for (const [k, v] of Object.entries(add)) {
    const t = target[k];
    if (t !== null && typeof t === 'object' && !Array.isArray(t) && v !== null && typeof v === 'object' && !Array.isArray(v)) mergeInto(t as Tree, v as Tree);
    else target[k] = v;
  }
}

/** The value of tables.json at a scenario's section, restricted to the scenario's `paper` keys. */
export function paperValuesFor(s: Scenario): ResultValue | undefined {
  if (s.paperSection === undefined || s.paper === undefined) return undefined;
  return pickLike(s.paper, PAPER_TABLES[s.paperSection]);
}

export function mirrorTables(runs: readonly { readonly scenario: Scenario; readonly report: RunReport }[]): Results {
  const out: Tree = { source: 'ulp-emu: the paper\'s tables with the emulator\'s figures (same keys as paper/tables.json)' };
  for (const { scenario, report } of runs) {
    if (scenario.paperSection === undefined || scenario.paper === undefined) continue;
    const picked = pickLike(scenario.paper, report.results);
    if (picked === undefined || typeof picked !== 'object' || Array.isArray(picked)) continue;
    const section = (out[scenario.paperSection] ??= {}) as Tree;
    mergeInto(section, picked as Tree);
  }
  return out;
}

/** Each number of a tree combined over several trees of the same shape (absent or non-number → null). */
function combine(trees: readonly (ResultValue | undefined)[], f: (xs: readonly number[]) => number): ResultValue {
  const first = trees.find((t) => t !== undefined);
  if (typeof first === 'number') {
    const xs = trees.filter((t): t is number => typeof t === 'number' && Number.isFinite(t));
    return xs.length === trees.length ? f(xs) : null;
  }
  if (Array.isArray(first)) return first.map((_, i) => combine(trees.map((t) => (Array.isArray(t) ? t[i] : undefined)), f));
  if (first !== null && typeof first === 'object') {
    const out: Tree = {};
    for (const k of Object.keys(first)) out[k] = combine(trees.map((t) => (t !== null && typeof t === 'object' && !Array.isArray(t) ? (t as Tree)[k] : undefined)), f);
    return out;
  }
  return first ?? null;
}

export interface PaperJsonOptions {
  /** The seeds in run order; with `replicated` the figures are means and `replications` holds the rest. */
  readonly seeds: readonly number[];
  readonly replicated: boolean;
  readonly costOverrides: { readonly [name: string]: number };
  /** One line per failed run or cell (empty when every figure was computed). */
  readonly failures: readonly string[];
}

/**
 * `ulp paper --json`: provenance (seeds, cost overrides, every run with its fingerprint), then the
 * paper's tables with the emulator's figures (over several seeds: the mean, with min, max and each
 * seed's figures under `replications`). A figure the run failed to compute is null.
 */
/** Every figure of a failed run as null (its numbers are not a completed run's); axes (`sizes`) kept. */
function nullFigures(v: ResultValue): ResultValue {
  if (typeof v === 'number') return null;
  if (Array.isArray(v)) return v.map(nullFigures);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v as Tree).map(([k, x]) => [k, k === 'sizes' ? x : nullFigures(x)]));
  return v;
}

export function paperJson(
  allRuns: readonly { readonly scenario: Scenario; readonly report: RunReport; readonly failure?: string }[],
  o: PaperJsonOptions,
): Results {
  const runs = allRuns.map((r) => (r.failure === undefined ? r : { ...r, report: { ...r.report, results: nullFigures(r.report.results) as Results } }));
  const bySeed = o.seeds.map((seed) => [seed, mirrorTables(runs.filter((r) => r.report.seed === seed))] as const);
  const tables = (m: Results): Tree => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'source'));
  const head: Tree = {
    source: "ulp-emu: the paper's tables with the emulator's figures (same keys as paper/tables.json)",
    seeds: [...o.seeds],
    statistic: o.replicated ? `mean over ${o.seeds.length} seeds (min, max and each seed's figures under "replications")` : 'one run per experiment',
    costOverrides: { ...o.costOverrides },
    outcome: o.failures.length === 0 ? 'done' : 'failed',
    failures: [...o.failures],
    runs: allRuns.map(({ scenario, report: r, failure }) => ({
      scenario: scenario.name,
      seed: r.seed,
      fingerprint: r.fingerprint,
      simTimeNs: r.simTimeNs,
      events: r.events,
      guestErrors: r.guestErrors,
      costOverrides: r.costOverrides,
      outcome: failure === undefined ? 'done' : 'failed',
      ...(failure !== undefined ? { failure } : {}),
    })),
  };
  if (!o.replicated) return { ...head, ...tables(bySeed[0]?.[1] ?? {}) };
  const trees = bySeed.map(([, m]) => tables(m));
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    ...head,
    ...(combine(trees, mean) as Tree),
    replications: {
      min: combine(trees, (xs) => Math.min(...xs)),
      max: combine(trees, (xs) => Math.max(...xs)),
      bySeed: Object.fromEntries(bySeed.map(([seed, m]) => [String(seed), tables(m)])),
    },
  };
}
