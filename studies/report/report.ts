/**
 * `ulp paper --report DIR`: the reproduction written as files. `buildReport` is pure — runs in,
 * (file name, text) out, nothing read from the clock or the directory — so the same runs give the
 * same bytes; `prepareReportDir` and `writeReport` are the only parts that touch the disk, and
 * turn a bad directory into one UsageError line.
 *
 *   report.md        header (scenarios, seeds, fingerprints, simulated time, cost overrides), the
 *                    paper's orderings checked, then tables 1–5 cell by cell with ratios
 *   results.csv      the same cells in long form (RFC 4180, CRLF)
 *   table2-throughput.svg, table3-round-trip.svg, table4-setup.svg   paper vs emulator bars
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareOutputDir, UsageError } from '../run.ts';
import type { ResultValue } from '../scenarios/types.ts';
import { PAPER_TABLES } from '../paper/reproduce.ts';
import { allCells, type Cell, isFailed, isOff, LINKS, OFF_FRACTION, type ReportRun, TABLE_SECTIONS, TABLE_TITLES, type TableNo } from './cells.ts';
import { checkOrderings, checkOrderingsOverSeeds, TIE_FRACTION, type OrderingCheck, type ReplicatedCheck } from './orderings.ts';
import { cellKey, type CellStats, meanCell, replicate, seedsText } from './replications.ts';
import { csvField, fmt, fmtRatio, mdCell } from './format.ts';
import { perOrgChart, renderChart, sizeChart } from './svg.ts';

export interface ReportFile {
  readonly name: string;
  readonly text: string;
}

export interface ReportOptions {
  /** The tables asked for (`--tables`), or undefined for all. */
  readonly tables?: readonly string[];
  /** The paper's stated orderings; default tables.json `orderings_stated_in_text`. */
  readonly orderings?: readonly string[];
  /**
   * The `--seeds` argument as given (e.g. "5" or "1,2,5"): the report is a replicated one (mean and
   * min–max per cell, orderings counted over seeds, summary.csv) even for one seed.
   */
  readonly seedsArg?: string;
}

const LINK_NAMES = { ethernet: 'Ethernet', an1: 'AN1' } as const;
const mdUnit = (u: string): string => (u === 'us' ? 'µs' : u);

function statedOrderings(): string[] {
  const o = PAPER_TABLES['orderings_stated_in_text'];
  return Array.isArray(o) ? o.filter((s): s is string => typeof s === 'string') : [];
}

/** Cost overrides as one field: `name=value` pairs joined by ';' (empty for none). */
export const overridesText = (o: { readonly [name: string]: number }): string =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join(';');

const num = (v: number | null): string => (v === null ? '' : String(v));
const ratio4 = (v: number | null): string => (v === null ? '' : v.toFixed(4));
const status = (c: Cell): string => (isFailed(c) ? 'failed' : 'ok');

/**
 * One record per cell and seed (long form; a replicated run has N records per cell, one per seed).
 * `overrides` maps "scenario seed" to the run's cost overrides (default none).
 */
export function resultsCsv(cells: readonly Cell[], overrides: ReadonlyMap<string, string> = new Map()): string {
  const head = ['scenario', 'seed', 'table', 'organization', 'link', 'size_bytes', 'metric', 'unit', 'paper', 'emulator', 'ratio', 'status', 'cost_overrides'];
  const rows = cells.map((c) => [
    c.scenario,
    String(c.seed),
    String(c.table),
    c.organization,
    c.link,
    c.sizeBytes === null ? '' : String(c.sizeBytes),
    c.metric,
    c.unit,
    String(c.paper),
    num(c.emulator),
    ratio4(c.ratio),
    status(c),
    overrides.get(`${c.scenario} ${c.seed}`) ?? '',
  ]);
  return [head, ...rows].map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

/** One record per cell over all seeds: mean, min, max (replicated runs only). */
export function summaryCsv(stats: readonly CellStats[], overrides: string): string {
  const head = ['scenario', 'table', 'organization', 'link', 'size_bytes', 'metric', 'unit', 'paper', 'seeds', 'n', 'n_failed', 'mean', 'min', 'max', 'ratio_mean', 'status', 'cost_overrides'];
  const rows = stats.map((s) => {
    const c = s.cell;
    return [
      c.scenario,
      String(c.table),
      c.organization,
      c.link,
      c.sizeBytes === null ? '' : String(c.sizeBytes),
      c.metric,
      c.unit,
      String(c.paper),
      s.seeds.join(' '),
      String(s.seeds.length),
      String(s.failedSeeds.length),
      num(s.mean),
      num(s.min),
      num(s.max),
      ratio4(s.ratio),
      s.mean === null ? 'failed' : 'ok',
      overrides,
    ];
  });
  return [head, ...rows].map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

function orderingsSection(checks: readonly OrderingCheck[]): string[] {
  const out = [
    '## The orderings the paper states',
    '',
    `Each sentence of tables.json \`orderings_stated_in_text\`, split into the clauses a comparison can decide and checked on the emulator's figures (and, to check the reading, on the paper's own). "Ties" and "about the same" are read as within ${TIE_FRACTION * 100} % of each other.`,
    '',
  ];
  for (const c of checks) {
    out.push(`- **${c.verdict}** — "${c.statement}"`);
    for (const cl of c.clauses) {
      out.push(`  - ${cl.what}: ${cl.emulator ? 'holds' : 'does not hold'} in the emulator (paper's figures: ${cl.paper ? 'holds' : 'does not hold'}) — ${cl.numbers}`);
    }
    if (c.note !== undefined) out.push(`  - ${c.verdict === 'not checked' ? 'not checked: ' : ''}${c.note}`);
  }
  out.push('');
  return out;
}

/** "holds on k of N seeds (not on seeds …)". */
function holdsText(holdsOn: readonly number[], seeds: readonly number[]): string {
  const not = seeds.filter((s) => !holdsOn.includes(s));
  const which = not.length === 0 || holdsOn.length === 0 ? '' : ` (not on seed${not.length === 1 ? '' : 's'} ${not.join(', ')})`;
  return `holds on ${holdsOn.length} of ${seeds.length} seeds${which}`;
}

function replicatedOrderingsSection(checks: readonly ReplicatedCheck[]): string[] {
  const seeds = checks[0]?.seeds ?? [];
  const out = [
    '## The orderings the paper states, on every seed',
    '',
    `Each sentence of tables.json \`orderings_stated_in_text\`, split into the clauses a comparison can decide and checked on each seed's figures separately (seeds ${seedsText(seeds)}); a statement holds on a seed when all its clauses hold on that seed. The figures quoted are the means over the seeds (and the paper's own, which check the reading). "Ties" and "about the same" are read as within ${TIE_FRACTION * 100} % of each other.`,
    '',
  ];
  for (const c of checks) {
    const checked = seeds.filter((s) => !c.notCheckedOn.includes(s));
    if (checked.length === 0) {
      out.push(`- **not checked** — "${c.statement}"`);
      if (c.onMeans.note !== undefined) out.push(`  - not checked: ${c.onMeans.note}`);
      continue;
    }
    out.push(`- **${holdsText(c.holdsOn, seeds)}** — "${c.statement}"`);
    c.clauses.forEach((cl, j) => {
      const m = c.onMeans.clauses[j];
      out.push(`  - ${cl.what}: ${holdsText(cl.holdsOn, seeds)} (paper's figures: ${cl.paper ? 'holds' : 'does not hold'})${m === undefined ? '' : ` — means: ${m.numbers}`}`);
    });
    if (c.notCheckedOn.length > 0) out.push(`  - not checked on seed${c.notCheckedOn.length === 1 ? '' : 's'} ${c.notCheckedOn.join(', ')} (a cell it needs failed)`);
    if (c.onMeans.note !== undefined && c.onMeans.verdict !== 'not checked') out.push(`  - ${c.onMeans.note}`);
  }
  out.push('');
  return out;
}

function tableIntro(table: TableNo, count: number, off: number, failed: number, chart: string | undefined): string[] {
  const section = Object.entries(TABLE_SECTIONS).find(([, t]) => t === table)?.[0];
  const sectionValue = section === undefined ? undefined : PAPER_TABLES[section];
  const what = sectionValue !== null && typeof sectionValue === 'object' && !Array.isArray(sectionValue) ? (sectionValue as { readonly [k: string]: ResultValue })['what'] : undefined;
  const out = [`## ${TABLE_TITLES[table]}`, ''];
  if (typeof what === 'string') out.push(`The paper: ${what}.`, '');
  out.push(`${count} cells, ${off} more than ${OFF_FRACTION * 100} % off${failed > 0 ? `, ${failed} **failed**` : ''}.`, '');
  if (chart !== undefined) out.push(`![${TABLE_TITLES[table]}: paper vs emulator](${chart})`, '');
  return out;
}

function tableSection(table: TableNo, cells: readonly Cell[], chart: string | undefined): string[] {
  const mine = cells.filter((c) => c.table === table);
  if (mine.length === 0) return [];
  const out = tableIntro(table, mine.length, mine.filter(isOff).length, mine.filter(isFailed).length, chart);
  for (const link of LINKS) {
    const rows = mine.filter((c) => c.link === link);
    if (rows.length === 0) continue;
    out.push(`### ${LINK_NAMES[link]}`, '', '| organization | size (B) | figure | unit | paper | emulator | ratio | off > 25 % |', '|---|---:|---|---|---:|---:|---:|---|');
    for (const c of rows) {
      const fig = c.emulator === null || c.ratio === null ? '**failed** | ' : `${fmt(c.emulator)} | ${fmtRatio(c.ratio)}`;
      out.push(`| ${mdCell(c.organization)} | ${c.sizeBytes ?? '—'} | ${mdCell(c.metric)} | ${mdUnit(c.unit)} | ${c.paper} | ${fig} | ${isOff(c) ? '**off**' : ''} |`);
    }
    out.push('');
  }
  return out;
}

function replicatedTableSection(table: TableNo, stats: readonly CellStats[], chart: string | undefined): string[] {
  const mine = stats.filter((s) => s.cell.table === table);
  if (mine.length === 0) return [];
  const means = mine.map(meanCell);
  const out = tableIntro(table, mine.length, means.filter(isOff).length, means.filter(isFailed).length, chart);
  for (const link of LINKS) {
    const rows = mine.filter((s) => s.cell.link === link);
    if (rows.length === 0) continue;
    out.push(`### ${LINK_NAMES[link]}`, '', '| organization | size (B) | figure | unit | paper | mean | min–max | ratio (mean) | off > 25 % |', '|---|---:|---|---|---:|---:|---:|---:|---|');
    for (const s of rows) {
      const c = s.cell;
      const fig =
        s.mean === null || s.min === null || s.max === null || s.ratio === null
          ? `**failed** (seed${s.failedSeeds.length === 1 ? '' : 's'} ${s.failedSeeds.join(', ')}) | | `
          : `${fmt(s.mean)} | ${fmt(s.min)}–${fmt(s.max)} | ${fmtRatio(s.ratio)}`;
      out.push(`| ${mdCell(c.organization)} | ${c.sizeBytes ?? '—'} | ${mdCell(c.metric)} | ${mdUnit(c.unit)} | ${c.paper} | ${fig} | ${isOff(meanCell(s)) ? '**off**' : ''} |`);
    }
    out.push('');
  }
  return out;
}

/** The report's files, in a fixed order; pure (the same runs give the same bytes). */
export function buildReport(runs: readonly ReportRun[], options: ReportOptions = {}): ReportFile[] {
  const cells = allCells(runs);
  const seeds = [...new Set(runs.map((r) => r.report.seed))];
  const replicated = options.seedsArg !== undefined || seeds.length > 1;
  const stats = replicate(cells, seeds);
  const means = stats.map(meanCell);
  const seedText = seeds.join(', ');
  const seedNote = replicated ? `mean over seeds ${seedsText(seeds)}, whiskers min–max` : `seed ${seedText}`;
  const spread = replicated ? new Map(stats.map((s) => [cellKey(s.cell), s] as const)) : undefined;
  const charts: { table: TableNo; name: string; svg: string }[] = [];
  const t2 = sizeChart(means.filter((c) => c.table === 2), { title: 'Table 2: TCP throughput by write size', subtitle: `paper vs emulator, per organization and size (${seedNote})`, yLabel: 'throughput (Mb/s)', unit: 'Mb/s', metric: 'throughput' }, spread);
  if (t2 !== undefined) charts.push({ table: 2, name: 'table2-throughput.svg', svg: renderChart(t2) });
  const t3 = sizeChart(means.filter((c) => c.table === 3), { title: 'Table 3: ping-pong round-trip time by message size', subtitle: `paper vs emulator, per organization and size (${seedNote})`, yLabel: 'round trip (ms)', unit: 'ms', metric: 'round_trip' }, spread);
  if (t3 !== undefined) charts.push({ table: 3, name: 'table3-round-trip.svg', svg: renderChart(t3) });
  const t4 = perOrgChart(means.filter((c) => c.table === 4), { title: 'Table 4: connection set-up time', subtitle: `paper vs emulator, per organization (${seedNote})`, yLabel: 'set-up time (ms)', unit: 'ms', metric: 'connection_setup' }, spread);
  if (t4 !== undefined) charts.push({ table: 4, name: 'table4-setup.svg', svg: renderChart(t4) });

  const files = ['report.md', 'results.csv', ...(replicated ? ['summary.csv'] : []), ...charts.map((c) => c.name)];
  const overrides = new Map<string, number>();
  for (const { report } of runs) for (const [k, v] of Object.entries(report.costOverrides)) overrides.set(k, v);
  const off = means.filter(isOff).length;
  const failed = means.filter(isFailed).length;
  const seedArg = replicated ? ` --seeds ${options.seedsArg ?? seeds.join(',')}` : seedText === '1' ? '' : ` --seed ${seedText}`;
  const md: string[] = [
    '# ulp paper: the paper\'s tables beside the emulator\'s',
    '',
    `Produced by \`ulp paper${options.tables === undefined ? '' : ` --tables ${options.tables.join(',')}`}${seedArg}${[...overrides].map(([k, v]) => ` --cost ${k}=${v}`).join('')} --report DIR\`: tables ${options.tables === undefined ? '1–5 (all)' : options.tables.join(', ')}; ${replicated ? `${seeds.length} seeds (${seedsText(seeds)}), every experiment run on each` : `seed ${seedText}`}; cost overrides: ${overrides.size === 0 ? 'none (the cost table as `ulp costs` lists it)' : [...overrides].map(([k, v]) => `\`${k}=${v}\``).join(', ')}.`,
    `The paper: ${String(PAPER_TABLES['source'])}.`,
    '',
    `Ratio = emulator / paper${replicated ? ' (the emulator\'s mean over the seeds; min–max is the range over the seeds)' : ''}. A cell more than ${OFF_FRACTION * 100} % off either way is marked **off** (${off} of ${means.length} cells)${failed > 0 ? `; ${failed} cells **failed** (the run produced no finite figure for them)` : ''}. Tables 1 and 5 are calibration targets; tables 2–4 are predictions from the cost table, never fitted. Where each cell's time goes and why it differs from the paper: docs/calibration.md in the ulp-emu source tree (sections "Tables 1 and 5", "Tables 2–4, library row", "Tables 2–4, Ultrix row", "Tables 2–4, Mach/UX row").`,
    '',
    `Files: ${files.map((f) => `\`${f}\``).join(', ')}.`,
    '',
    '## Runs',
    '',
    '| scenario | seed | simulated time (ms) | events | fingerprint | guest errors | cost overrides | outcome |',
    '|---|---:|---:|---:|---|---:|---|---|',
    ...runs.map(({ scenario, report: r, failure }) => {
      const ov = Object.entries(r.costOverrides);
      return `| ${scenario.name} | ${r.seed} | ${(r.simTimeNs / 1e6).toFixed(3)} | ${r.events} | ${r.fingerprint === '' ? '—' : `\`${r.fingerprint}\``} | ${r.guestErrors} | ${ov.length === 0 ? 'none' : ov.map(([k, v]) => `${k}=${v}`).join(', ')} | ${failure === undefined ? 'done' : `**failed**: ${mdCell(failure)}`} |`;
    }),
    '',
  ];
  const statements = options.orderings ?? statedOrderings();
  if (replicated) {
    const bySeed = seeds.map((seed) => [seed, cells.filter((c) => c.seed === seed)] as const);
    md.push(...replicatedOrderingsSection(checkOrderingsOverSeeds(statements, bySeed, means)));
    for (const table of [1, 2, 3, 4, 5] as const) md.push(...replicatedTableSection(table, stats, charts.find((c) => c.table === table)?.name));
  } else {
    md.push(...orderingsSection(checkOrderings(statements, means)));
    for (const table of [1, 2, 3, 4, 5] as const) md.push(...tableSection(table, means, charts.find((c) => c.table === table)?.name));
  }
  const runOverrides = new Map(runs.map(({ scenario, report }) => [`${scenario.name} ${report.seed}`, overridesText(report.costOverrides)] as const));
  // Long form: each cell's seeds together, in the cells' order.
  const rowsOrdered = stats.flatMap((s) => cells.filter((c) => cellKey(c) === cellKey(s.cell)));
  return [
    { name: 'report.md', text: md.join('\n').replace(/\n+$/, '') + '\n' },
    { name: 'results.csv', text: resultsCsv(rowsOrdered, runOverrides) },
    ...(replicated ? [{ name: 'summary.csv', text: summaryCsv(stats, overridesText(Object.fromEntries(overrides))) }] : []),
    ...charts.map((c) => ({ name: c.name, text: c.svg })),
  ];
}

function ioCode(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? ` (${code})` : '';
}

/** Create DIR (and parents) before any run, so a bad path costs one line and no simulation. */
export function prepareReportDir(dir: string): void {
  prepareOutputDir(dir, '--report directory');
}

export function writeReport(dir: string, files: readonly ReportFile[]): void {
  for (const f of files) {
    const path = join(dir, f.name);
    try {
      writeFileSync(path, f.text);
    } catch (e) {
      throw new UsageError(`cannot write --report file '${path}'${ioCode(e)}`);
    }
  }
}
