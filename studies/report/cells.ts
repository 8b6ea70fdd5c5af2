/**
 * The paper's tables as cells: one row per figure the emulator computes, with the paper's figure,
 * the emulator's, their ratio, and where the cell sits (table, organization, link, size, metric).
 * The shape comes from each scenario's `paperSection` of paper/tables.json; the report, the CSV and
 * the charts all read these rows, so they cannot disagree.
 */
import type { ResultValue, RunReport } from '../scenarios/types.ts';

/** What the report needs of a scenario (a `Scenario` has it). */
export interface ReportScenario {
  readonly name: string;
  readonly paperSection?: string;
  readonly paper?: { readonly [k: string]: ResultValue };
}

export interface ReportRun {
  readonly scenario: ReportScenario;
  readonly report: RunReport;
  /** Why the run failed (ended on its limit, a NaN or null result, or the model threw), if it did. */
  readonly failure?: string;
}

export type TableNo = 1 | 2 | 3 | 4 | 5;
export const LINKS = ['ethernet', 'an1'] as const;
export type Link = (typeof LINKS)[number];
/** Row order of tables 2–4 in the paper. */
export const ORGANIZATIONS = ['ultrix', 'mach-ux', 'library'] as const;

export interface Cell {
  readonly table: TableNo;
  readonly scenario: string;
  readonly seed: number;
  readonly organization: string;
  readonly link: Link;
  /** User write / message size in bytes (tables 2 and 3), else null. */
  readonly sizeBytes: number | null;
  readonly metric: string;
  /** ASCII unit for the CSV: Mb/s, ms, us, %. */
  readonly unit: string;
  readonly paper: number;
  /** The emulator's figure, or null when the run failed to compute it (null, NaN, ±Infinity or missing). */
  readonly emulator: number | null;
  /** emulator / paper (paper ≠ 0 for every cell of tables.json); null for a failed cell. */
  readonly ratio: number | null;
}

/** A cell the emulator computed (a finite figure). */
export type OkCell = Cell & { readonly emulator: number; readonly ratio: number };
export const isOk = (c: Cell): c is OkCell => c.emulator !== null;
export const isFailed = (c: Cell): boolean => c.emulator === null;

/** A cell is marked when the emulator is more than this fraction off the paper either way. */
export const OFF_FRACTION = 0.25;
export const isOff = (c: Cell): boolean => c.ratio !== null && Math.abs(c.ratio - 1) > OFF_FRACTION;
/** More than 2× off either way (ratio > 2 or < 0.5). */
export const isFarOff = (c: Cell): boolean => c.ratio !== null && (c.ratio > 2 || c.ratio < 0.5);

export const TABLE_SECTIONS: { readonly [section: string]: TableNo } = {
  table1_mechanism_throughput_mbps: 1,
  table2_throughput_mbps: 2,
  table3_round_trip_ms: 3,
  table4_connection_setup_ms: 4,
  table5_demultiplexing_us: 5,
};

export const TABLE_TITLES: { readonly [t in TableNo]: string } = {
  1: 'Table 1: user-to-user raw throughput through network I/O channels (Mb/s)',
  2: 'Table 2: TCP throughput by write size (Mb/s)',
  3: 'Table 3: ping-pong round-trip time by message size (ms)',
  4: 'Table 4: connection set-up time (ms)',
  5: 'Table 5: CPU time to demultiplex one packet (µs)',
};

/** Tables 1 and 5 are flat: key → (organization, link, metric, unit). */
const FLAT: { readonly [t in 1 | 5]: { readonly [key: string]: readonly [string, Link, string, string] } } = {
  1: {
    user_to_user: ['library', 'ethernet', 'user_to_user_throughput', 'Mb/s'],
    standalone_link_saturation: ['standalone', 'ethernet', 'link_saturation_throughput', 'Mb/s'],
    percentage: ['library', 'ethernet', 'user_to_user_percent_of_saturation', '%'],
  },
  5: {
    lance_ethernet_software: ['library', 'ethernet', 'demultiplexing_software', 'us'],
    an1_hardware_bqi: ['library', 'an1', 'demultiplexing_hardware_bqi', 'us'],
  },
};

const GRID: { readonly [t in 2 | 3 | 4]: readonly [string, string] } = {
  2: ['throughput', 'Mb/s'],
  3: ['round_trip', 'ms'],
  4: ['connection_setup', 'ms'],
};

const isTree = (v: ResultValue | undefined): v is { readonly [k: string]: ResultValue } =>
  v !== undefined && v !== null && typeof v === 'object' && !Array.isArray(v);

/** The cells of one run, in the order of its `paper` object (paper's order). */
export function cellsOf(run: ReportRun): Cell[] {
  const { scenario, report } = run;
  const table = scenario.paperSection === undefined ? undefined : TABLE_SECTIONS[scenario.paperSection];
  if (table === undefined || scenario.paper === undefined) return [];
  const paper = scenario.paper;
  const results = report.results;
  const out: Cell[] = [];
  const push = (organization: string, link: Link, sizeBytes: number | null, metric: string, unit: string, p: ResultValue | undefined, e: ResultValue | undefined): void => {
    if (typeof p !== 'number' || p === 0) return;
    // A figure the paper has and the run did not produce as a finite number is a failed cell, never dropped.
    // So is every figure of a run that failed (stopped on its limit, say): it is not a completed run's.
    const v = run.failure === undefined && typeof e === 'number' && Number.isFinite(e) ? e : null;
    out.push({ table, scenario: scenario.name, seed: report.seed, organization, link, sizeBytes, metric, unit, paper: p, emulator: v, ratio: v === null ? null : v / p });
  };
  if (table === 1 || table === 5) {
    for (const [key, [org, link, metric, unit]] of Object.entries(FLAT[table])) push(org, link, null, metric, unit, paper[key], results[key]);
    return out;
  }
  const [metric, unit] = GRID[table];
  const sizes = paper['sizes'];
  for (const link of LINKS) {
    const pl = paper[link];
    const el = results[link];
    if (!isTree(pl)) continue;
    for (const [org, pv] of Object.entries(pl)) {
      const ev = isTree(el) ? el[org] : undefined;
      if (typeof pv === 'number') push(org, link, null, metric, unit, pv, ev);
      else if (Array.isArray(pv) && Array.isArray(sizes)) {
        pv.forEach((p: ResultValue, i: number) => {
          const size = sizes[i];
          push(org, link, typeof size === 'number' ? size : null, metric, unit, p, Array.isArray(ev) ? ev[i] : undefined);
        });
      }
    }
  }
  if (table === 4) {
    const pb = paper['library_ethernet_breakdown_ms'];
    const eb = results['library_ethernet_breakdown_ms'];
    if (isTree(pb)) for (const [part, pv] of Object.entries(pb)) push('library', 'ethernet', null, `setup_breakdown.${part}`, 'ms', pv, isTree(eb) ? eb[part] : undefined);
  }
  return out;
}

/** Every run's cells, ordered by table, link, organization (paper's row order), then as the scenario lists them. */
export function allCells(runs: readonly ReportRun[]): Cell[] {
  const rank = (org: string): number => {
    const i = (ORGANIZATIONS as readonly string[]).indexOf(org);
    return i < 0 ? ORGANIZATIONS.length : i;
  };
  const indexed = runs.flatMap(cellsOf).map((c, i) => ({ c, i }));
  indexed.sort((a, b) => a.c.table - b.c.table || LINKS.indexOf(a.c.link) - LINKS.indexOf(b.c.link) || rank(a.c.organization) - rank(b.c.organization) || a.i - b.i);
  return indexed.map((x) => x.c);
}

/** The emulator's (or paper's) figures for one table, link and organization, in size order. */
export function series(cells: readonly Cell[], table: TableNo, link: Link, org: string, metric: string): Cell[] {
  return cells.filter((c) => c.table === table && c.link === link && c.organization === org && c.metric === metric);
}
