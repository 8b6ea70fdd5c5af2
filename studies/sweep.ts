/**
 * Sweeps (`ulp sweep`): a grid of parameter and cost values (the cartesian product, the first
 * dimension varying slowest), each point run on every seed in one process, written as long-form
 * rows (one per point × seed, with every input, the fingerprint and the outcome) and summarized
 * per point and metric as the mean and a 95 % confidence interval (Student's t over the seeds).
 * A failed run is a row marked `failed`, never dropped; its point's summary is failed too.
 *
 * A campaign can be split across machines: `--shard i/n` runs the points p with (p − 1) mod n =
 * i − 1 (all seeds of a point stay together), and `merge` joins the shards' JSON-lines files into
 * exactly the bytes the unsharded sweep writes. Pure functions of the rows: same inputs, same bytes.
 */
import { csvField } from './report/format.ts';
import { formatParam, type ParamValue } from './scenarios/params.ts';
import type { ResultValue, Results } from './scenarios/types.ts';
import { UsageError } from './errors.ts';

/** One swept dimension: a parameter or a cost constant and its values, in order. */
export interface Dim {
  readonly kind: 'param' | 'cost';
  readonly name: string;
  readonly values: readonly ParamValue[];
}

/** What a sweep is: the first line of its JSON-lines file (merge checks that shards agree on it). */
export interface SweepHeader {
  readonly ulpSweep: 1;
  readonly scenario: string;
  /** Parameters fixed for every point (from a scenario file or a one-valued --param). */
  readonly params: { readonly [name: string]: ParamValue };
  /** Cost overrides fixed for every point. */
  readonly costs: { readonly [name: string]: number };
  readonly dims: readonly Dim[];
  readonly seeds: readonly number[];
  readonly points: number;
  /** "i/n" for a shard's file, null for a whole sweep (and a merged one). */
  readonly shard: string | null;
  readonly version: string;
  readonly commit: string;
}

export interface SweepRow {
  readonly point: number;
  readonly seed: number;
  readonly scenario: string;
  /** Every declared parameter's value in this run. */
  readonly params: { readonly [name: string]: ParamValue };
  /** Every cost override in this run (fixed and swept). */
  readonly costs: { readonly [name: string]: number };
  readonly outcome: 'done' | 'failed';
  readonly failure: string | null;
  readonly fingerprint: string;
  readonly simTimeNs: number;
  readonly events: number;
  readonly guestErrors: number;
  readonly version: string;
  readonly commit: string;
  readonly results: Results;
}

/** The most points a sweep may have (a typo in a range should not start a week of runs). */
export const POINTS_MAX = 100_000;

/** Round away binary noise of a computed range value (0.1 + 0.2 → 0.3). */
const tidy = (x: number): number => Number(x.toPrecision(12));

/**
 * The value texts of one dimension: comma-separated items, each a value or a range
 * `START:STOP:STEP` (additive; `+STEP` too) or `START:STOP:xFACTOR` (geometric), STOP included
 * when reached. A list-typed parameter's points are separated by ';' instead (`512,1024;2048`).
 */
export function expandDimText(text: string, what: string, listTyped: boolean): string[] {
  if (listTyped && text.includes(';')) return text.split(';');
  const out: string[] = [];
  for (const item of text.split(',')) {
    const m = /^([^:]+):([^:]+):([x+]?)([^:]+)$/.exec(item);
    if (m === null) {
      out.push(item);
      continue;
    }
    const [start, stop, step] = [Number(m[1]), Number(m[2]), Number(m[4])];
    const geometric = m[3] === 'x';
    if (![start, stop, step].every(Number.isFinite) || (geometric ? step <= 1 || start <= 0 : step <= 0) || stop < start) {
      throw new UsageError(`${what}: range '${item}' needs START ≤ STOP and a step > 0 (or xFACTOR > 1 from START > 0)`);
    }
    for (let i = 0, v = start; v <= stop * (1 + 1e-12); i++, v = tidy(geometric ? start * step ** i : start + i * step)) {
      out.push(String(v));
      if (out.length > POINTS_MAX) throw new UsageError(`${what}: range '${item}' has more than ${POINTS_MAX} values`);
    }
  }
  return out;
}

/** The number of points of a grid (1 when there is no dimension). */
export const pointCount = (dims: readonly Dim[]): number => dims.reduce((n, d) => n * d.values.length, 1);

/** Point p (from 1) of the grid: each dimension's value, the first dimension varying slowest. */
export function pointValues(dims: readonly Dim[], p: number): ParamValue[] {
  let rest = p - 1;
  const out: ParamValue[] = new Array<ParamValue>(dims.length);
  for (let i = dims.length - 1; i >= 0; i--) {
    const d = dims[i]!;
    out[i] = d.values[rest % d.values.length]!;
    rest = Math.floor(rest / d.values.length);
  }
  return out;
}

/** `--shard i/n`: [i, n] with 1 ≤ i ≤ n. */
export function parseShard(text: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const i = m === null ? NaN : Number(m[1]);
  const n = m === null ? NaN : Number(m[2]);
  if (!(i >= 1 && n >= 1 && i <= n && n <= 100_000)) throw new UsageError(`--shard needs I/N with 1 ≤ I ≤ N, got '${text}'`);
  return [i, n];
}

/** The points shard i of n runs: p with (p − 1) mod n = i − 1. */
export function shardPoints(points: number, shard: readonly [number, number] | undefined): number[] {
  const all = Array.from({ length: points }, (_, k) => k + 1);
  return shard === undefined ? all : all.filter((p) => (p - 1) % shard[1] === shard[0] - 1);
}

// ---- Metrics ---------------------------------------------------------------------------------

/**
 * A run's figures as flat (name, number) pairs in the results' own order: `a.b[2]` paths to every
 * number (an input echoed back, the top-level `sizes`, is left out). Non-numbers are not metrics.
 */
export function metricsOf(results: Results): [string, number][] {
  const out: [string, number][] = [];
  const walk = (v: ResultValue, path: string): void => {
    if (typeof v === 'number') out.push([path, v]);
    else if (Array.isArray(v)) v.forEach((x: ResultValue, i: number) => walk(x, `${path}[${i}]`));
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as { readonly [k: string]: ResultValue })) {
        if (path === '' && k === 'sizes') continue;
        walk(x, path === '' ? k : `${path}.${k}`);
      }
    }
  };
  walk(results, '');
  return out;
}

/** Every metric name of the rows, in order of first appearance (rows in point, seed order). */
export function metricNames(rows: readonly SweepRow[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const [k] of metricsOf(r.results)) seen.add(k);
  return [...seen];
}

// ---- Statistics --------------------------------------------------------------------------------

/** ln Γ(x), x > 0 (Lanczos, g = 7, 9 terms: ~15 significant digits). */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61503916999185, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The regularized incomplete beta I_x(a, b) (continued fraction, Numerical Recipes §6.4). */
function betaInc(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  const cf = (x: number, a: number, b: number): number => {
    const tiny = 1e-300;
    let c = 1;
    let d = 1 - ((a + b) * x) / (a + 1);
    d = 1 / (Math.abs(d) < tiny ? tiny : d);
    let h = d;
    for (let m = 1; m <= 300; m++) {
      const m2 = 2 * m;
      let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
      d = 1 / (Math.abs(1 + aa * d) < tiny ? tiny : 1 + aa * d);
      c = Math.abs(1 + aa / c) < tiny ? tiny : 1 + aa / c;
      h *= d * c;
      aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
      d = 1 / (Math.abs(1 + aa * d) < tiny ? tiny : 1 + aa * d);
      c = Math.abs(1 + aa / c) < tiny ? tiny : 1 + aa / c;
      const del = d * c;
      h *= del;
      if (Math.abs(del - 1) < 1e-15) break;
    }
    return h;
  };
  return x < (a + 1) / (a + b + 2) ? (front * cf(x, a, b)) / a : 1 - (front * cf(1 - x, b, a)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * betaInc(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The two-sided 95 % critical value t(0.975, df) (bisection on the CDF; exact to ~1e-10). */
export function tCritical95(df: number): number {
  let lo = 0;
  let hi = 1000;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < 0.975) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface MetricSummary {
  readonly point: number;
  readonly metric: string;
  /** Completed seeds with a value (a failed seed's figures do not count). */
  readonly n: number;
  readonly failedSeeds: readonly number[];
  readonly mean: number | null;
  readonly sd: number | null;
  /** Half-width of the 95 % interval, t(0.975, n − 1) · sd / √n; null with fewer than 2 seeds. */
  readonly ci95: number | null;
  readonly min: number | null;
  readonly max: number | null;
}

/** Per point and metric: mean, sample standard deviation and 95 % interval over the seeds. */
export function summarize(rows: readonly SweepRow[], metrics: readonly string[]): MetricSummary[] {
  const byPoint = new Map<number, SweepRow[]>();
  for (const r of rows) {
    const g = byPoint.get(r.point);
    if (g === undefined) byPoint.set(r.point, [r]);
    else g.push(r);
  }
  const out: MetricSummary[] = [];
  for (const [point, g] of byPoint) {
    const failedSeeds = g.filter((r) => r.outcome === 'failed').map((r) => r.seed);
    // A failed run's figures are not a completed run's: they count for nothing but the failure.
    const values = g.filter((r) => r.outcome === 'done').map((r) => new Map(metricsOf(r.results)));
    const seenInFailed = new Set(g.filter((r) => r.outcome === 'failed').flatMap((r) => metricsOf(r.results).map(([k]) => k)));
    for (const metric of metrics) {
      const xs = values.map((m) => m.get(metric)).filter((x): x is number => x !== undefined);
      if (xs.length === 0 && !(failedSeeds.length > 0 && (seenInFailed.has(metric) || values.length === 0))) continue; // this point has no such figure
      const failed = failedSeeds.length > 0 || xs.length === 0;
      const n = xs.length;
      // Summed in seed order, so the same figures give the same bits.
      const mean = failed ? null : xs.reduce((a, b) => a + b, 0) / n;
      const sd = mean === null || n < 2 ? null : Math.sqrt(xs.reduce((a, x) => a + (x - mean) * (x - mean), 0) / (n - 1));
      out.push({
        point,
        metric,
        n,
        failedSeeds,
        mean,
        sd,
        ci95: sd === null ? null : (tCritical95(n - 1) * sd) / Math.sqrt(n),
        min: failed ? null : Math.min(...xs),
        max: failed ? null : Math.max(...xs),
      });
    }
  }
  return out;
}

// ---- Files -----------------------------------------------------------------------------------

/** The JSON-lines file: the header, then one row per point × seed (point, then seed order). */
export function sweepJsonl(header: SweepHeader, rows: readonly SweepRow[]): string {
  return [header, ...rows].map((x) => JSON.stringify(x)).join('\n') + '\n';
}

const num = (x: number | null): string => (x === null ? '' : String(x));

/** The dimension columns of a point: `param.NAME` / `cost.NAME`. */
const dimColumn = (d: Dim): string => `${d.kind}.${d.name}`;

/** Long-form CSV: one row per point × seed with every input, the provenance and every metric. */
export function sweepCsv(rows: readonly SweepRow[], metrics: readonly string[]): string {
  const paramNames = [...new Set(rows.flatMap((r) => Object.keys(r.params)))];
  const costNames = [...new Set(rows.flatMap((r) => Object.keys(r.costs)))];
  const head = ['scenario', 'point', 'seed', ...paramNames.map((n) => `param.${n}`), ...costNames.map((n) => `cost.${n}`), 'outcome', 'failure', 'fingerprint', 'simTimeNs', 'events', 'guestErrors', 'version', 'commit', ...metrics];
  const lines = [head.map(csvField).join(',')];
  for (const r of rows) {
    const m = new Map(metricsOf(r.results));
    const cells = [
      r.scenario, String(r.point), String(r.seed),
      ...paramNames.map((n) => (r.params[n] === undefined ? '' : formatParam(r.params[n]))),
      ...costNames.map((n) => (r.costs[n] === undefined ? '' : String(r.costs[n]))),
      r.outcome, r.failure ?? '', r.fingerprint, String(r.simTimeNs), String(r.events), String(r.guestErrors), r.version, r.commit,
      ...metrics.map((k) => (m.has(k) ? String(m.get(k)) : '')),
    ];
    lines.push(cells.map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}

/** Long-form summary CSV: one row per point × metric (mean, sd, 95 % interval, min, max). */
export function summaryCsv(header: SweepHeader, summaries: readonly MetricSummary[]): string {
  const head = ['scenario', 'point', ...header.dims.map(dimColumn), 'metric', 'outcome', 'n', 'failedSeeds', 'mean', 'sd', 'ci95Low', 'ci95High', 'min', 'max'];
  const lines = [head.map(csvField).join(',')];
  for (const s of summaries) {
    const values = pointValues(header.dims, s.point);
    lines.push(
      [
        header.scenario, String(s.point), ...values.map(formatParam), s.metric,
        s.mean === null ? 'failed' : 'done', String(s.n), s.failedSeeds.join(' '),
        num(s.mean), num(s.sd),
        num(s.mean === null || s.ci95 === null ? null : s.mean - s.ci95), num(s.mean === null || s.ci95 === null ? null : s.mean + s.ci95),
        num(s.min), num(s.max),
      ].map(csvField).join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/** Read a sweep's JSON-lines file (a shard's or a whole one); `where` names it in errors. */
export function parseSweepJsonl(text: string, where: string): { header: SweepHeader; rows: SweepRow[] } {
  const lines = text.split('\n').filter((l) => l !== '');
  const parsed = lines.map((l, i) => {
    try {
      return JSON.parse(l) as unknown;
    } catch {
      throw new UsageError(`${where}: line ${i + 1} is not JSON`);
    }
  });
  const header = parsed[0] as SweepHeader | undefined;
  if (header === undefined || typeof header !== 'object' || header === null || header.ulpSweep !== 1) throw new UsageError(`${where}: not a ulp sweep file (its first line is not a sweep header)`);
  const rows = parsed.slice(1) as SweepRow[];
  rows.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || typeof r.point !== 'number' || typeof r.seed !== 'number') throw new UsageError(`${where}: line ${i + 2} is not a sweep row`);
  });
  return { header, rows };
}

/**
 * Join shard files into the whole sweep: same sweep (header equal but for `shard`), shards 1..n
 * each exactly once, every point's rows present; rows in point, then seed order.
 */
export function mergeShards(files: readonly { readonly name: string; readonly header: SweepHeader; readonly rows: readonly SweepRow[] }[]): { header: SweepHeader; rows: SweepRow[] } {
  if (files.length === 0) throw new UsageError("'ulp merge' needs the shards' JSON-lines files");
  const strip = (h: SweepHeader): string => JSON.stringify({ ...h, shard: null });
  const first = files[0]!;
  for (const f of files) if (strip(f.header) !== strip(first.header)) throw new UsageError(`${f.name}: not the same sweep as ${first.name} (scenario, parameters, costs, seeds, version or commit differ)`);
  const shards = files.map((f) => (f.header.shard === null ? [1, 1] : f.header.shard.split('/').map(Number)) as [number, number]);
  const n = shards[0]![1];
  const seen = new Set<number>();
  files.forEach((f, k) => {
    const [i, m] = shards[k]!;
    if (m !== n) throw new UsageError(`${f.name}: shard ${i}/${m} does not belong with shards of ${n}`);
    if (seen.has(i)) throw new UsageError(`${f.name}: shard ${i}/${n} given twice`);
    seen.add(i);
  });
  const missing = Array.from({ length: n }, (_, k) => k + 1).filter((i) => !seen.has(i));
  if (missing.length > 0) throw new UsageError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')} missing`);
  const seedRank = new Map(first.header.seeds.map((s, i) => [s, i]));
  const rows = files.flatMap((f) => f.rows).sort((a, b) => a.point - b.point || (seedRank.get(a.seed) ?? 0) - (seedRank.get(b.seed) ?? 0));
  const expected = first.header.points * first.header.seeds.length;
  if (rows.length !== expected) throw new UsageError(`the shards hold ${rows.length} rows, the sweep has ${expected} (${first.header.points} points × ${first.header.seeds.length} seeds): a shard is incomplete`);
  return { header: { ...first.header, shard: null }, rows };
}

// ---- Progress ----------------------------------------------------------------------------------

/** The terminal's progress line of a sweep: a bar, runs done of all, failures, time left. */
export function progressLine(o: { readonly done: number; readonly total: number; readonly failed: number; readonly text: string; readonly elapsedMs: number; readonly columns: number }): string {
  const left = o.done === 0 || o.done >= o.total ? '' : `, ~${durationText((o.elapsedMs / o.done) * (o.total - o.done))} left`;
  const tail = ` ${o.done}/${o.total} runs${o.failed > 0 ? `, ${o.failed} failed` : ''}${left}${o.text === '' ? '' : ` · ${o.text}`}`;
  const width = Math.max(10, Math.min(30, o.columns - 'ulp sweep [] '.length - tail.length));
  const filled = o.total === 0 ? width : Math.min(width, Math.floor((width * o.done) / o.total));
  return `ulp sweep [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${tail}`.slice(0, Math.max(1, o.columns - 1));
}

/** 75 s → "1m15s", 4000 s → "1h06m". */
function durationText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
