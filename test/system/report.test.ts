import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../studies/scenarios/types.ts';
import { allCells, type ReportRun, TABLE_SECTIONS } from '../../studies/report/cells.ts';
import { checkOrderings } from '../../studies/report/orderings.ts';
import { buildReport, resultsCsv } from '../../studies/report/report.ts';
import { niceTicks, renderChart } from '../../studies/report/svg.ts';
import { PAPER_TABLES } from '../../studies/paper/reproduce.ts';

function ulp(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ulp-report-'));

/** RFC 4180 records (CRLF), fields unquoted. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), (i += 2);
      else if (ch === '"') (quoted = false), i++;
      else (field += ch), i++;
    } else if (ch === '"' && field === '') (quoted = true), i++;
    else if (ch === ',') row.push(field), (field = ''), i++;
    else if (ch === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), (i += 2);
    else if (ch === '\n' || ch === '\r' || ch === '"') throw new Error(`bare ${JSON.stringify(ch)} at ${i}`);
    else (field += ch), i++;
  }
  if (field !== '' || row.length > 0) throw new Error('last record not ended by CRLF');
  return rows;
}

/** Well-formed enough: starts with <svg, ends with </svg>, every tag closed in order. */
function expectBalancedSvg(svg: string): void {
  expect(svg.startsWith('<svg ')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  expect(svg).not.toMatch(/NaN|Infinity|undefined|e[+-]\d/);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (selfClose === '/') continue;
    if (close === '/') expect(stack.pop(), `closing </${name}>`).toBe(name);
    else stack.push(name!);
  }
  expect(stack).toEqual([]);
  // No stray angle brackets or ampersands in text.
  expect(svg.replace(/<[^>]*>/g, '')).not.toMatch(/[<>]|&(?!amp;|lt;|gt;|quot;)/);
}

function fakeReport(scenario: string, results: RunReport['results'], costOverrides: RunReport['costOverrides'] = {}): RunReport {
  return { scenario, seed: 7, simTimeNs: 1_234_567, events: 42, fingerprint: '0123456789abcdef', costOverrides, guestErrors: 0, cpuUs: {}, results };
}

/** A small fixed set: Table 2 on both links (three organizations on Ethernet), Table 4 on Ethernet. */
const SIZES = [512, 1024, 2048, 4096];
const FIXED: ReportRun[] = [
  {
    scenario: { name: 'paper-table2-library', paperSection: 'table2_throughput_mbps', paper: { sizes: SIZES, ethernet: { library: [4.3, 4.6, 4.8, 5.0] }, an1: { library: [6.7, 8.1, 9.4, 11.9] } } },
    report: fakeReport('paper-table2-library', { sizes: SIZES, ethernet: { library: [4.0, 4.5, 4.9, 5.1] }, an1: { library: [7.0, 8.0, 9.0, 12.0] }, extra: 1 }, { 'kernel.trapCycles': 300 }),
  },
  {
    scenario: { name: 'paper-table2-ultrix', paperSection: 'table2_throughput_mbps', paper: { sizes: SIZES, ethernet: { ultrix: [5.8, 7.6, 7.6, 7.6] }, an1: { ultrix: [4.8, 10.2, 11.9, 11.9] } } },
    report: fakeReport('paper-table2-ultrix', { sizes: SIZES, ethernet: { ultrix: [6.0, 7.0, 7.5, 5.3] }, an1: { ultrix: [5.0, 10.0, 12.0, 11.5] } }),
  },
  {
    scenario: { name: 'paper-table2-mach-ux', paperSection: 'table2_throughput_mbps', paper: { sizes: SIZES, ethernet: { 'mach-ux': [2.1, 2.5, 3.2, 3.5] } } },
    report: fakeReport('paper-table2-mach-ux', { sizes: SIZES, ethernet: { 'mach-ux': [2.0, 2.4, 3.3, 3.6] } }),
  },
  {
    scenario: { name: 'paper-table4-odd, "org"', paperSection: 'table4_connection_setup_ms', paper: { ethernet: { 'odd, "org"': 2.0 } } },
    report: fakeReport('paper-table4-odd, "org"', { ethernet: { 'odd, "org"': 3.0 } }),
  },
];

describe('ulp paper --report: the builder on a fixed set of results', () => {
  const files = buildReport(FIXED, { tables: ['2', '4'] });
  const byName = new Map(files.map((f) => [f.name, f.text]));

  it('writes report.md, results.csv and one chart per table with data', () => {
    expect(files.map((f) => f.name)).toEqual(['report.md', 'results.csv', 'table2-throughput.svg', 'table4-setup.svg']);
  });

  it('cells: one per computed figure, tables 2–4 grouped by link then organization in the paper\'s row order', () => {
    const cells = allCells(FIXED);
    expect(cells).toHaveLength(4 + 4 + 4 + 4 + 4 + 1);
    expect(cells.slice(0, 12).map((c) => `${c.link}/${c.organization}`)).toEqual([...Array(4).fill('ethernet/ultrix'), ...Array(4).fill('ethernet/mach-ux'), ...Array(4).fill('ethernet/library')]);
    const c = cells.find((x) => x.organization === 'library' && x.link === 'an1' && x.sizeBytes === 4096)!;
    expect(c).toMatchObject({ table: 2, paper: 11.9, emulator: 12.0, unit: 'Mb/s', metric: 'throughput' });
    expect(c.ratio).toBeCloseTo(12 / 11.9, 12);
  });

  it('results.csv: RFC 4180, a header and one record per cell, odd names quoted', () => {
    const rows = parseCsv(byName.get('results.csv')!);
    expect(rows[0]).toEqual(['scenario', 'seed', 'table', 'organization', 'link', 'size_bytes', 'metric', 'unit', 'paper', 'emulator', 'ratio', 'status', 'cost_overrides']);
    expect(rows).toHaveLength(1 + allCells(FIXED).length);
    for (const r of rows) expect(r).toHaveLength(13);
    expect(rows.filter((r) => r[0] === 'paper-table2-library').every((r) => r[12] === 'kernel.trapCycles=300')).toBe(true);
    const odd = rows.find((r) => r[3] === 'odd, "org"')!;
    expect(odd).toEqual(['paper-table4-odd, "org"', '7', '4', 'odd, "org"', 'ethernet', '', 'connection_setup', 'ms', '2', '3', '1.5000', 'ok', '']);
    expect(byName.get('results.csv')).toContain('"paper-table4-odd, ""org"""');
  });

  it('report.md: header names scenarios, seed, fingerprints, simulated time and the cost overrides', () => {
    const md = byName.get('report.md')!;
    expect(md).toContain('`ulp paper --tables 2,4 --seed 7 --cost kernel.trapCycles=300 --report DIR`');
    expect(md).toContain('seed 7');
    expect(md).toContain('cost overrides: `kernel.trapCycles=300`');
    expect(md).toContain('| paper-table2-library | 7 | 1.235 | 42 | `0123456789abcdef` | 0 | kernel.trapCycles=300 |');
    expect(md).toContain('docs/calibration.md');
    // A cell 50 % off is marked, one 7 % off is not.
    expect(md).toMatch(/\| odd, "org" \| — \| connection_setup \| ms \| 2 \| 3\.00 \| 1\.50 \| \*\*off\*\* \|/);
    expect(md).toMatch(/\| library \| 4096 \| throughput \| Mb\/s \| 5 \| 5\.10 \| 1\.02 \|  \|/);
  });

  it('orderings: checked where the figures were run, "not checked" otherwise, unknown wording never guessed', () => {
    const stated = PAPER_TABLES['orderings_stated_in_text'] as string[];
    const checks = checkOrderings([...stated, 'the moon is made of cheese'], allCells(FIXED));
    const by = new Map(checks.map((c) => [c.statement, c]));
    // library 4.0 < mach-ux? no: library 4.0, 4.5, 4.9, 5.1 > mach-ux 2.0, 2.4, 3.3, 3.6 and the advantage shrinks with size.
    expect(by.get(stated[0]!)!.verdict).toBe('holds');
    // ultrix ahead at every size, by 50–56 % but 4 % at 4096.
    const u = by.get(stated[1]!)!;
    expect(u.verdict).toBe('does not hold');
    expect(u.clauses.map((c) => c.emulator)).toEqual([true, false]);
    expect(u.clauses.map((c) => c.paper)).toEqual([true, true]);
    // AN1: library 7.0 > ultrix 5.0 at 512; 12.0 vs 11.5 ties at 4096.
    expect(by.get(stated[2]!)!.verdict).toBe('holds');
    for (const s of stated.slice(3)) expect(by.get(s)!.verdict, s).toBe('not checked');
    expect(by.get('the moon is made of cheese')!.verdict).toBe('not checked');
    expect(by.get('the moon is made of cheese')!.note).toMatch(/not mechanically checkable/);
  });

  it('every stated ordering has a checker, and all its clauses hold on the paper\'s own figures', () => {
    const stated = PAPER_TABLES['orderings_stated_in_text'] as string[];
    // Every section of tables.json as a run whose results are the paper's figures.
    const asRuns: ReportRun[] = Object.keys(TABLE_SECTIONS).map((section) => {
      const figures = PAPER_TABLES[section] as RunReport['results'];
      return { scenario: { name: section, paperSection: section, paper: figures }, report: fakeReport(section, figures) };
    });
    const checks = checkOrderings(stated, allCells(asRuns));
    expect(checks).toHaveLength(6);
    for (const c of checks) {
      expect(c.verdict, c.statement).toBe('holds');
      expect(c.clauses.length, c.statement).toBeGreaterThan(0);
      for (const cl of c.clauses) expect(cl.paper && cl.emulator, `${c.statement}: ${cl.what}`).toBe(true);
    }
  });

  it('charts: well-formed SVG with title, legend, axis units and a bar per figure', () => {
    const svg = byName.get('table2-throughput.svg')!;
    expectBalancedSvg(svg);
    expectBalancedSvg(byName.get('table4-setup.svg')!);
    expect(svg).toContain('Table 2: TCP throughput by write size');
    expect(svg).toContain('throughput (Mb/s)');
    expect(svg).toContain('write size (bytes)');
    for (const l of ['ultrix', 'mach-ux', 'library', 'paper (light)', 'emulator (solid)']) expect(svg).toContain(`>${l}</text>`);
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(2 * (12 + 8));
    expect(byName.get('table4-setup.svg')).toContain('odd, &quot;org&quot;');
  });

  it('nice ticks: 1, 2 or 5 × 10^k, top at or above the maximum', () => {
    expect(niceTicks(8.41)).toEqual({ step: 2, top: 10, decimals: 0 });
    expect(niceTicks(37.3)).toEqual({ step: 10, top: 40, decimals: 0 });
    expect(niceTicks(0.9)).toMatchObject({ decimals: 1 });
    expect(niceTicks(0).top).toBeGreaterThan(0);
  });

  it('is pure: the same results give the same bytes', () => {
    expect(buildReport(FIXED, { tables: ['2', '4'] })).toEqual(files);
    expect(resultsCsv(allCells(FIXED), new Map([['paper-table2-library 7', 'kernel.trapCycles=300']]))).toBe(byName.get('results.csv'));
    expect(renderChart({ title: 't', subtitle: 's', yLabel: 'y (ms)', xLabel: 'x', unit: 'ms', panels: [] })).toMatch(/^<svg /);
  });
});

describe('ulp paper --report DIR, end to end', () => {
  it('--tables 4 writes report.md, results.csv and the Table 4 chart, which parse', () => {
    const dir = join(tmp(), 'nested', 'out');
    const r = ulp('paper', '--tables', '4', '--report', dir);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`ulp paper: wrote report.md, results.csv, table4-setup.svg into ${dir}`);
    expect(readdirSync(dir).sort()).toEqual(['report.md', 'results.csv', 'table4-setup.svg']);
    const rows = parseCsv(readFileSync(join(dir, 'results.csv'), 'utf8'));
    // Ethernet: three organizations + the library's five-part breakdown; AN1: ultrix and library.
    expect(rows).toHaveLength(1 + 3 + 5 + 2);
    for (const row of rows.slice(1)) {
      expect(row[2]).toBe('4');
      expect(Number(row[9])).toBeGreaterThan(0);
    }
    expectBalancedSvg(readFileSync(join(dir, 'table4-setup.svg'), 'utf8'));
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    for (const s of ['paper-table4-library', 'paper-table4-ultrix', 'paper-table4-mach-ux']) expect(md).toContain(`| ${s} | 1 |`);
    expect(md).toMatch(/- \*\*holds\*\* — "library connection setup is the slowest of the three/);
    expect(md).toMatch(/- \*\*not checked\*\* — "library beats mach-ux on Ethernet throughput/);
  });

  it('the same seed writes byte-identical files (tables 3 and 4, with --json - alongside)', () => {
    const [a, b] = [join(tmp(), 'a'), join(tmp(), 'b')];
    const ra = ulp('paper', '--tables', '3,4', '--report', a, '--json', '-');
    const rb = ulp('paper', '--tables', '4,3', '--report', b);
    expect(ra.code, ra.err).toBe(0);
    expect(rb.code, rb.err).toBe(0);
    expect(() => JSON.parse(ra.out)).not.toThrow(); // stdout stays the JSON alone
    const names = readdirSync(a).sort();
    expect(names).toEqual(['report.md', 'results.csv', 'table3-round-trip.svg', 'table4-setup.svg']);
    expect(readdirSync(b).sort()).toEqual(names);
    for (const n of names) expect(readFileSync(join(b, n)).equals(readFileSync(join(a, n))), n).toBe(true);
  });

  it.each([
    ['a regular file', (d: string) => { const f = join(d, 'file'); writeFileSync(f, 'x'); return f; }, /EEXIST|ENOTDIR/],
    ['a path under a regular file', (d: string) => { const f = join(d, 'file'); writeFileSync(f, 'x'); return join(f, 'out'); }, /ENOTDIR/],
  ])('DIR is %s → one clear line on stderr, exit 2, nothing run', (_what, make, code) => {
    const dir = make(tmp());
    const r = ulp('paper', '--tables', '4', '--report', dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^ulp: cannot write --report directory '${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`));
    expect(r.err).toMatch(code);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.out).toBe('');
  });
});
