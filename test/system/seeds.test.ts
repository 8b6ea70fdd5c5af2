import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function ulp(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ulp-seeds-'));

describe('ulp paper --seeds: replications, end to end', () => {
  it('--seeds 2 --tables 4: every experiment on seeds 1 and 2; the same arguments write the same bytes', () => {
    const [a, b] = [tmp(), tmp()];
    const ra = ulp('paper', '--tables', '4', '--seeds', '2', '--report', a, '--json', '-');
    const rb = ulp('paper', '--tables', '4', '--seeds', '2', '--report', b, '--json', '-');
    expect(ra.code, ra.err).toBe(0);
    expect(rb.code, rb.err).toBe(0);
    expect(ra.out).toBe(rb.out);
    const names = readdirSync(a).sort();
    expect(names).toEqual(['report.md', 'results.csv', 'summary.csv', 'table4-setup.svg']);
    for (const n of names) expect(readFileSync(join(b, n), 'utf8'), n).toBe(readFileSync(join(a, n), 'utf8'));

    const j = JSON.parse(ra.out) as { seeds: number[]; runs: { scenario: string; seed: number; fingerprint: string }[]; table4_connection_setup_ms: { ethernet: Record<string, number> }; replications: { min: any; max: any; bySeed: Record<string, any> } };
    expect(j.seeds).toEqual([1, 2]);
    expect(j.runs.map((r) => `${r.scenario}@${r.seed}`)).toEqual(['paper-table4-library@1', 'paper-table4-library@2', 'paper-table4-ultrix@1', 'paper-table4-ultrix@2', 'paper-table4-mach-ux@1', 'paper-table4-mach-ux@2']);
    for (const r of j.runs) expect(r.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // The mean lies within min–max, and is the mean of the per-seed figures.
    for (const org of ['library', 'ultrix', 'mach-ux']) {
      const m = j.table4_connection_setup_ms.ethernet[org]!;
      const per = ['1', '2'].map((s) => j.replications.bySeed[s].table4_connection_setup_ms.ethernet[org] as number);
      expect(m).toBeCloseTo((per[0]! + per[1]!) / 2, 12);
      expect(j.replications.min.table4_connection_setup_ms.ethernet[org]).toBe(Math.min(...per));
      expect(j.replications.max.table4_connection_setup_ms.ethernet[org]).toBe(Math.max(...per));
    }
    const md = readFileSync(join(a, 'report.md'), 'utf8');
    expect(md).toContain('`ulp paper --tables 4 --seeds 2 --report DIR`');
    expect(md).toMatch(/- \*\*holds on 2 of 2 seeds\*\* — "library connection setup is the slowest of the three/);
    expect(md).toMatch(/\| library \| — \| connection_setup \| ms \| 11\.9 \| [\d.]+ \| [\d.]+–[\d.]+ \| [\d.]+ \|/);
  });

  it('--seeds 1,3 runs exactly those seeds, and the terminal shows mean and min–max with a summary line', () => {
    const r = ulp('paper', '--tables', '5', '--seeds', '3,1');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/cell\s+unit\s+paper\s+mean\s+min–max\s+ratio/);
    expect(r.out).toContain('(2 runs, seeds 1, 3;');
    expect(r.out).toMatch(/^2 cells: \d+ within ±10 % of the paper, \d+ within ±25 %, \d+ more than 2× off/m);
    expect(r.out).toMatch(/holds 2\/2 +software demultiplexing on LANCE/);
  });

  it('--seed keeps a single run per experiment', () => {
    const r = ulp('paper', '--tables', '5', '--seed', '4', '--json', '-');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { seeds: number[]; runs: { seed: number }[]; replications?: unknown };
    expect(j.seeds).toEqual([4]);
    expect(j.runs.map((x) => x.seed)).toEqual([4]);
    expect(j.replications).toBeUndefined();
  });
});
