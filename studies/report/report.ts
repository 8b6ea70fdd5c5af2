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
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../run.ts';
import type { ResultValue } from '../scenarios/types.ts';
import { PAPER_TABLES } from '../paper/reproduce.ts';
import { allCells, type Cell, isOff, LINKS, OFF_FRACTION, type ReportRun, TABLE_SECTIONS, TABLE_TITLES, type TableNo } from './cells.ts';
import { checkOrderings, TIE_FRACTION, type OrderingCheck } from './orderings.ts';
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
}

const LINK_NAMES = { ethernet: 'Ethernet', an1: 'AN1' } as const;
const mdUnit = (u: string): string => (u === 'us' ? 'µs' : u);

function statedOrderings(): string[] {
  const o = PAPER_TABLES['orderings_stated_in_text'];
  return Array.isArray(o) ? o.filter((s): s is string => typeof s === 'string') : [];
}

export function resultsCsv(cells: readonly Cell[]): string {
  const head = ['scenario', 'seed', 'table', 'organization', 'link', 'size_bytes', 'metric', 'unit', 'paper', 'emulator', 'ratio'];
  const rows = cells.map((c) =>
    [c.scenario, String(c.seed), String(c.table), c.organization, c.link, c.sizeBytes === null ? '' : String(c.sizeBytes), c.metric, c.unit, String(c.paper), String(c.emulator), c.ratio.toFixed(4)],
  );
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

function tableSection(table: TableNo, cells: readonly Cell[], chart: string | undefined): string[] {
  const mine = cells.filter((c) => c.table === table);
  if (mine.length === 0) return [];
  const section = Object.entries(TABLE_SECTIONS).find(([, t]) => t === table)?.[0];
  const sectionValue = section === undefined ? undefined : PAPER_TABLES[section];
  const what = sectionValue !== null && typeof sectionValue === 'object' && !Array.isArray(sectionValue) ? (sectionValue as { readonly [k: string]: ResultValue })['what'] : undefined;
  const off = mine.filter(isOff).length;
  const out = [`## ${TABLE_TITLES[table]}`, ''];
  if (typeof what === 'string') out.push(`The paper: ${what}.`, '');
  out.push(`${mine.length} cells, ${off} more than ${OFF_FRACTION * 100} % off.`, '');
  if (chart !== undefined) out.push(`![${TABLE_TITLES[table]}: paper vs emulator](${chart})`, '');
  for (const link of LINKS) {
    const rows = mine.filter((c) => c.link === link);
    if (rows.length === 0) continue;
    out.push(`### ${LINK_NAMES[link]}`, '', '| organization | size (B) | figure | unit | paper | emulator | ratio | off > 25 % |', '|---|---:|---|---|---:|---:|---:|---|');
    for (const c of rows) {
      out.push(
        `| ${mdCell(c.organization)} | ${c.sizeBytes ?? '—'} | ${mdCell(c.metric)} | ${mdUnit(c.unit)} | ${c.paper} | ${fmt(c.emulator)} | ${fmtRatio(c.ratio)} | ${isOff(c) ? '**off**' : ''} |`,
      );
    }
    out.push('');
  }
  return out;
}

/** The report's files, in a fixed order; pure (the same runs give the same bytes). */
export function buildReport(runs: readonly ReportRun[], options: ReportOptions = {}): ReportFile[] {
  const cells = allCells(runs);
  const seedText = [...new Set(runs.map((r) => r.report.seed))].join(', ');
  const charts: { table: TableNo; name: string; svg: string }[] = [];
  const t2 = sizeChart(cells.filter((c) => c.table === 2), { title: 'Table 2: TCP throughput by write size', subtitle: `paper vs emulator, per organization and size (seed ${seedText})`, yLabel: 'throughput (Mb/s)', unit: 'Mb/s', metric: 'throughput' });
  if (t2 !== undefined) charts.push({ table: 2, name: 'table2-throughput.svg', svg: renderChart(t2) });
  const t3 = sizeChart(cells.filter((c) => c.table === 3), { title: 'Table 3: ping-pong round-trip time by message size', subtitle: `paper vs emulator, per organization and size (seed ${seedText})`, yLabel: 'round trip (ms)', unit: 'ms', metric: 'round_trip' });
  if (t3 !== undefined) charts.push({ table: 3, name: 'table3-round-trip.svg', svg: renderChart(t3) });
  const t4 = perOrgChart(cells.filter((c) => c.table === 4), { title: 'Table 4: connection set-up time', subtitle: `paper vs emulator, per organization (seed ${seedText})`, yLabel: 'set-up time (ms)', unit: 'ms', metric: 'connection_setup' });
  if (t4 !== undefined) charts.push({ table: 4, name: 'table4-setup.svg', svg: renderChart(t4) });

  const files = ['report.md', 'results.csv', ...charts.map((c) => c.name)];
  const overrides = new Map<string, number>();
  for (const { report } of runs) for (const [k, v] of Object.entries(report.costOverrides)) overrides.set(k, v);
  const off = cells.filter(isOff).length;
  const md: string[] = [
    '# ulp paper: the paper\'s tables beside the emulator\'s',
    '',
    `Produced by \`ulp paper${options.tables === undefined ? '' : ` --tables ${options.tables.join(',')}`}${seedText === '1' ? '' : ` --seed ${seedText}`}${[...overrides].map(([k, v]) => ` --cost ${k}=${v}`).join('')} --report DIR\`: tables ${options.tables === undefined ? '1–5 (all)' : options.tables.join(', ')}; seed ${seedText}; cost overrides: ${overrides.size === 0 ? 'none (the cost table as `ulp costs` lists it)' : [...overrides].map(([k, v]) => `\`${k}=${v}\``).join(', ')}.`,
    `The paper: ${String(PAPER_TABLES['source'])}.`,
    '',
    `Ratio = emulator / paper. A cell more than ${OFF_FRACTION * 100} % off either way is marked **off** (${off} of ${cells.length} cells). Tables 1 and 5 are calibration targets; tables 2–4 are predictions from the cost table, never fitted. Where each cell's time goes and why it differs from the paper: docs/calibration.md in the ulp-emu source tree (sections "Tables 1 and 5", "Tables 2–4, library row", "Tables 2–4, Ultrix row", "Tables 2–4, Mach/UX row").`,
    '',
    `Files: ${files.map((f) => `\`${f}\``).join(', ')}.`,
    '',
    '## Runs',
    '',
    '| scenario | seed | simulated time (ms) | events | fingerprint | guest errors | cost overrides |',
    '|---|---:|---:|---:|---|---:|---|',
    ...runs.map(({ scenario, report: r }) => {
      const ov = Object.entries(r.costOverrides);
      return `| ${scenario.name} | ${r.seed} | ${(r.simTimeNs / 1e6).toFixed(3)} | ${r.events} | \`${r.fingerprint}\` | ${r.guestErrors} | ${ov.length === 0 ? 'none' : ov.map(([k, v]) => `${k}=${v}`).join(', ')} |`;
    }),
    '',
    ...orderingsSection(checkOrderings(options.orderings ?? statedOrderings(), cells)),
  ];
  for (const table of [1, 2, 3, 4, 5] as const) md.push(...tableSection(table, cells, charts.find((c) => c.table === table)?.name));
  return [
    { name: 'report.md', text: md.join('\n').replace(/\n+$/, '') + '\n' },
    { name: 'results.csv', text: resultsCsv(cells) },
    ...charts.map((c) => ({ name: c.name, text: c.svg })),
  ];
}

function ioCode(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? ` (${code})` : '';
}

/** Create DIR (and parents) before any run, so a bad path costs one line and no simulation. */
export function prepareReportDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot write --report directory '${dir}'${ioCode(e)}`);
  }
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
