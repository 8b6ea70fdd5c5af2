import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../studies/scenarios/types.ts';
import { allCells, type ReportRun } from '../../studies/report/cells.ts';
import { checkOrderingsOverSeeds } from '../../studies/report/orderings.ts';
import { meanCell, replicate, seedsText } from '../../studies/report/replications.ts';
import { buildReport } from '../../studies/report/report.ts';
import { paperJson } from '../../studies/paper/reproduce.ts';
import { formatCells, summaryLine } from '../../studies/report/terminal.ts';

function fake(scenario: string, seed: number, results: RunReport['results']): RunReport {
  return { scenario, seed, simTimeNs: 1_000_000 * seed, events: 10 + seed, fingerprint: `f${seed}`.padEnd(16, '0'), costOverrides: {}, guestErrors: 0, cpuUs: {}, results };
}

const SIZES = [1, 512, 1460];
const T3 = (org: string, paper: number[]) => ({ name: `paper-table3-${org}`, paperSection: 'table3_round_trip_ms', paper: { sizes: SIZES, ethernet: { [org]: paper } } });
const ROUND_TRIPS = 'library round trips on Ethernet approach ultrix and are far below mach-ux';

/** Three seeds of Table 3 on Ethernet; on seed 2 the library's 512 B round trip is slower than Mach/UX's. */
function runs(): ReportRun[] {
  const lib: { [seed: number]: number[] } = { 1: [1.0, 2.0, 4.0], 2: [1.2, 9.0, 4.2], 3: [1.1, 2.2, 4.1] };
  const out: ReportRun[] = [];
  for (const seed of [1, 2, 3]) {
    out.push({ scenario: T3('ultrix', [1.6, 3.5, 6.2]), report: fake('paper-table3-ultrix', seed, { sizes: SIZES, ethernet: { ultrix: [0.9, 1.9, 3.9] } }) });
    out.push({ scenario: T3('mach-ux', [7.8, 10.8, 16]), report: fake('paper-table3-mach-ux', seed, { sizes: SIZES, ethernet: { 'mach-ux': [5.0, 6.0, 8.0] } }) });
    out.push({ scenario: T3('library', [2.8, 5.2, 9.9]), report: fake('paper-table3-library', seed, { sizes: SIZES, ethernet: { library: lib[seed]! } }) });
  }
  return out;
}

describe('replications: a cell over several seeds', () => {
  it('mean, min and max per cell, in the cells\' order; a cell failed on any seed is failed, with its seeds', () => {
    const cells = allCells(runs());
    const stats = replicate(cells, [1, 2, 3]);
    expect(stats).toHaveLength(9);
    const lib512 = stats.find((s) => s.cell.organization === 'library' && s.cell.sizeBytes === 512)!;
    expect(lib512.values).toEqual([2.0, 9.0, 2.2]);
    expect(lib512.mean).toBeCloseTo((2.0 + 9.0 + 2.2) / 3, 12);
    expect([lib512.min, lib512.max]).toEqual([2.0, 9.0]);
    expect(lib512.ratio).toBeCloseTo(lib512.mean! / 5.2, 12);

    const withFailure = runs().map((r) => (r.report.seed === 3 && r.scenario.name === 'paper-table3-ultrix' ? { ...r, report: { ...r.report, results: { sizes: SIZES, ethernet: { ultrix: [0.9, Number.NaN, null] } } } } : r));
    const s2 = replicate(allCells(withFailure), [1, 2, 3]);
    const ul512 = s2.find((s) => s.cell.organization === 'ultrix' && s.cell.sizeBytes === 512)!;
    expect(ul512.failedSeeds).toEqual([3]);
    expect(ul512.mean).toBeNull();
    expect(meanCell(ul512).emulator).toBeNull();
    expect(s2.filter((s) => s.mean === null)).toHaveLength(2);
  });

  it('each ordering and clause is checked on every seed: "holds on k of N"', () => {
    const cells = allCells(runs());
    const stats = replicate(cells, [1, 2, 3]);
    const bySeed = [1, 2, 3].map((seed) => [seed, cells.filter((c) => c.seed === seed)] as const);
    const [c] = checkOrderingsOverSeeds([ROUND_TRIPS], bySeed, stats.map(meanCell));
    expect(c!.holdsOn).toEqual([1, 3]);
    expect(c!.clauses.map((cl) => cl.holdsOn)).toEqual([
      [1, 3], // library < mach-ux: 9.0 > 6.0 on seed 2
      [1, 3], // nearer ultrix than mach-ux
    ]);
    expect(c!.clauses.every((cl) => cl.paper)).toBe(true);
  });

  it('report.md says "holds on k of N seeds" per statement and clause; results.csv has a row per seed; summary.csv one per cell; charts carry whiskers', () => {
    const files = buildReport(runs(), { tables: ['3'], seedsArg: '3' });
    const by = new Map(files.map((f) => [f.name, f.text]));
    expect([...by.keys()]).toEqual(['report.md', 'results.csv', 'summary.csv', 'table3-round-trip.svg']);
    const md = by.get('report.md')!;
    expect(md).toContain('`ulp paper --tables 3 --seeds 3 --report DIR`');
    expect(md).toContain(`- **holds on 2 of 3 seeds (not on seed 2)** — "${ROUND_TRIPS}"`);
    expect(md).toMatch(/  - library < mach-ux at every size \(1, 512, 1460 B\): holds on 2 of 3 seeds \(not on seed 2\) \(paper's figures: holds\) — means: /);
    expect(md).toContain('| library | 512 | round_trip | ms | 5.2 | 4.40 | 2.00–9.00 | 0.85 |  |');
    // Every run (scenario × seed) is listed with its fingerprint.
    expect(md.match(/^\| paper-table3-\S+ \| [123] \|/gm)).toHaveLength(9);
    const csv = by.get('results.csv')!.trimEnd().split('\r\n');
    expect(csv).toHaveLength(1 + 9 * 3);
    expect(csv.filter((l) => l.startsWith('paper-table3-library,') && l.includes(',512,')).map((l) => l.split(',')[1])).toEqual(['1', '2', '3']);
    const summary = by.get('summary.csv')!.trimEnd().split('\r\n');
    expect(summary).toHaveLength(1 + 9);
    expect(summary.find((l) => l.startsWith('paper-table3-library,') && l.includes(',512,'))).toMatch(/,1 2 3,3,0,4\.(4|39+)\d*,2,9,0\.84\d\d,ok,$/);
    const svg = by.get('table3-round-trip.svg')!;
    expect(svg).toContain('mean over 3 seeds; min–max 2.00–9.00');
    expect(svg.match(/<line [^>]*stroke="#000000"\/>/g)!.length).toBeGreaterThanOrEqual(9 * 3 + 2);
    expect(buildReport(runs(), { tables: ['3'], seedsArg: '3' })).toEqual(files); // pure
  });

  it('one seed without --seeds writes the single-seed report (no summary.csv, no min–max)', () => {
    const one = runs().filter((r) => r.report.seed === 1);
    const files = buildReport(one, { tables: ['3'] });
    expect(files.map((f) => f.name)).toEqual(['report.md', 'results.csv', 'table3-round-trip.svg']);
    expect(files[0]!.text).not.toContain('min–max');
    expect(files[0]!.text).toContain(`- **holds** — "${ROUND_TRIPS}"`);
  });

  it('--json: means at the tables\' keys, min, max and each seed under replications, provenance first', () => {
    const scenarioRuns = runs().map((r) => ({ scenario: { ...r.scenario, summary: '', run: () => ({}) }, report: r.report }));
    const j = paperJson(scenarioRuns, { seeds: [1, 2, 3], replicated: true, costOverrides: { 'kernel.trapCycles': 300 }, failures: [] }) as Record<string, any>;
    expect(j['seeds']).toEqual([1, 2, 3]);
    expect(j['costOverrides']).toEqual({ 'kernel.trapCycles': 300 });
    expect(j['runs']).toHaveLength(9);
    expect(j['runs'][2]).toMatchObject({ scenario: 'paper-table3-library', seed: 1, fingerprint: 'f100000000000000' });
    expect(j['table3_round_trip_ms'].ethernet.library[1]).toBeCloseTo(4.4, 12);
    expect(j['table3_round_trip_ms'].sizes).toEqual(SIZES);
    expect(j['replications'].min.table3_round_trip_ms.ethernet.library[1]).toBe(2.0);
    expect(j['replications'].max.table3_round_trip_ms.ethernet.library[1]).toBe(9.0);
    expect(j['replications'].bySeed['2'].table3_round_trip_ms.ethernet.library).toEqual([1.2, 9.0, 4.2]);
  });

  it('terminal: mean and min–max columns, fixed-point, no sizes printed as results; a summary line', () => {
    const cells = allCells(runs());
    const stats = replicate(cells, [1, 2, 3]);
    const text = formatCells(stats.filter((s) => s.cell.organization === 'library'), true);
    expect(text.split('\n')[0]).toMatch(/^cell\s+unit\s+paper\s+mean\s+min–max\s+ratio$/);
    expect(text).toMatch(/ethernet library 512 B\s+ms\s+5\.2\s+4\.40\s+2\.00–9\.00\s+0\.85/);
    expect(text).not.toMatch(/sizes|e[+-]\d/);
    expect(summaryLine(stats.map(meanCell))).toBe('9 cells: 0 within ±10 % of the paper, 1 within ±25 %, 2 more than 2× off');
    expect(seedsText([1, 2, 3, 4])).toBe('1–4');
    expect(seedsText([1, 2, 5])).toBe('1, 2, 5');
  });
});
