/**
 * Sweep arithmetic: the grid, ranges, shards (a partition), Student's t, the per-point summary and
 * the merge of shard files (refusing mismatched, doubled or missing shards).
 */
import { describe, expect, it } from 'vitest';
import {
  expandDimText, mergeShards, metricsOf, pointCount, pointValues, shardPoints, studentTCdf, summarize, sweepJsonl, tCritical95, type Dim, type SweepHeader, type SweepRow,
} from '../../studies/sweep.ts';

describe("Student's t", () => {
  // Two-sided 95 % critical values from any table (Abramowitz & Stegun 26.10).
  it.each([
    [1, 12.706],
    [2, 4.303],
    [4, 2.776],
    [9, 2.262],
    [29, 2.045],
    [120, 1.98],
  ])('t(0.975, %i) = %f', (df, t) => {
    expect(tCritical95(df)).toBeCloseTo(t, 3);
  });
  it('the CDF is symmetric and 0.5 at 0', () => {
    expect(studentTCdf(0, 5)).toBeCloseTo(0.5, 12);
    expect(studentTCdf(1.3, 7) + studentTCdf(-1.3, 7)).toBeCloseTo(1, 12);
  });
});

describe('grids, ranges and shards', () => {
  it('ranges: additive and geometric, STOP included, no binary noise', () => {
    expect(expandDimText('512:4096:x2', 'x', false)).toEqual(['512', '1024', '2048', '4096']);
    expect(expandDimText('0:0.3:0.1', 'x', false)).toEqual(['0', '0.1', '0.2', '0.3']);
    expect(expandDimText('1,5:7:+1', 'x', false)).toEqual(['1', '5', '6', '7']);
    expect(() => expandDimText('5:1:1', 'x', false)).toThrow(/START ≤ STOP/);
    expect(() => expandDimText('1:5:x1', 'x', false)).toThrow(/xFACTOR > 1/);
  });
  it("a list parameter's points are split by ';', else each value is a point", () => {
    expect(expandDimText('512,1024;2048', 'x', true)).toEqual(['512,1024', '2048']);
    expect(expandDimText('512,1024', 'x', true)).toEqual(['512', '1024']);
  });
  const dims: Dim[] = [
    { kind: 'param', name: 'a', values: [1, 2] },
    { kind: 'cost', name: 'c', values: [10, 20, 30] },
  ];
  it('the cartesian product, first dimension slowest', () => {
    expect(pointCount(dims)).toBe(6);
    expect(Array.from({ length: 6 }, (_, i) => pointValues(dims, i + 1))).toEqual([[1, 10], [1, 20], [1, 30], [2, 10], [2, 20], [2, 30]]);
    expect(pointCount([])).toBe(1);
  });
  it('shards partition the points: disjoint, complete, deterministic', () => {
    for (const n of [1, 2, 3, 7, 20]) {
      const parts = Array.from({ length: n }, (_, i) => shardPoints(17, [i + 1, n]));
      expect(parts.flat().sort((x, y) => x - y)).toEqual(shardPoints(17, undefined));
    }
  });
});

const header = (shard: string | null): SweepHeader => ({
  ulpSweep: 1, scenario: 's', params: {}, costs: {}, dims: [{ kind: 'param', name: 'a', values: [1, 2, 3] }], seeds: [1, 2], points: 3, shard, version: 'v', commit: 'c',
});
const row = (point: number, seed: number, x: number | null, outcome: 'done' | 'failed' = 'done'): SweepRow => ({
  point, seed, scenario: 's', params: { a: point }, costs: {}, outcome, failure: outcome === 'failed' ? 'why' : null,
  fingerprint: 'f', simTimeNs: 1, events: 1, guestErrors: 0, version: 'v', commit: 'c', results: x === null ? { y: 'n/a' } : { x, nested: { z: [x, 2 * x] }, sizes: [1] },
});

describe('summaries', () => {
  it('metrics are numeric leaves by path, the echoed sizes left out', () => {
    expect(metricsOf(row(1, 1, 3).results)).toEqual([['x', 3], ['nested.z[0]', 3], ['nested.z[1]', 6]]);
  });
  it('mean, sample sd and the t interval over the seeds', () => {
    const rows = [row(1, 1, 1), row(1, 2, 2), row(1, 3, 6)];
    const [s] = summarize(rows, ['x']);
    expect(s!.mean).toBe(3);
    expect(s!.sd).toBeCloseTo(Math.sqrt(7), 12);
    expect(s!.ci95).toBeCloseTo((4.302652729911275 * Math.sqrt(7)) / Math.sqrt(3), 6);
    expect([s!.min, s!.max, s!.n]).toEqual([1, 6, 3]);
  });
  it('a failed seed fails its point (kept, never dropped); one seed has no interval', () => {
    const s = summarize([row(1, 1, 1), row(1, 2, null, 'failed'), row(2, 1, 5)], ['x']);
    expect(s.map((x) => [x.point, x.mean, x.failedSeeds, x.ci95])).toEqual([
      [1, null, [2], null],
      [2, 5, [], null],
    ]);
  });
});

describe('merge', () => {
  const all = [row(1, 1, 1), row(1, 2, 2), row(2, 1, 3), row(2, 2, 4), row(3, 1, 5), row(3, 2, 6)];
  const s1 = { name: 's1', header: header('1/2'), rows: all.filter((r) => r.point !== 2) };
  const s2 = { name: 's2', header: header('2/2'), rows: all.filter((r) => r.point === 2) };
  it('joins shards, in any order, into the whole sweep', () => {
    const m = mergeShards([s2, s1]);
    expect(sweepJsonl(m.header, m.rows)).toBe(sweepJsonl(header(null), all));
  });
  it('refuses a missing, doubled or foreign shard', () => {
    expect(() => mergeShards([s1])).toThrow(/shard 2\/2 missing/);
    expect(() => mergeShards([s1, s1, s2])).toThrow(/given twice/);
    expect(() => mergeShards([s1, { ...s2, header: { ...header('2/2'), seeds: [1, 3] } }])).toThrow(/not the same sweep/);
    expect(() => mergeShards([s1, { ...s2, header: header('2/3') }])).toThrow(/does not belong/);
    expect(() => mergeShards([s1, { ...s2, rows: s2.rows.slice(1) }])).toThrow(/incomplete/);
  });
});
