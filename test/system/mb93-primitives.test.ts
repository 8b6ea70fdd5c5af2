import { describe, expect, it } from 'vitest';
import { findScenario, runScenario } from '../../studies/run.ts';
import { MB93_PUBLISHED } from '../../studies/scenarios/mb93-primitives.ts';

describe('mb93-primitives: MB93 Table 4 rows measured on the emulator', () => {
  const s = findScenario('mb93-primitives');
  const a = runScenario(s, { seed: 3 });
  const r = a.results as Record<string, unknown>;
  const small = r['small'] as Record<string, number>;
  const max = r['max'] as Record<string, number>;

  it('runs to completion, deterministically, with every frame delivered and one wake-up per frame', () => {
    expect(r['outcome']).toBe('done');
    expect(runScenario(s, { seed: 3 }).fingerprint).toBe(a.fingerprint);
    expect(a.guestErrors).toBe(0);
    for (const run of [small, max]) {
      expect(run['framesSent']).toBe(40);
      expect(run['framesDelivered']).toBe(40);
      expect(run['wakeups']).toBe(40);
      expect(run['signals']).toBe(40);
    }
    expect((r['kernelMax'] as Record<string, number>)['framesReceived']).toBe(40);
    expect((r['kernelSmall'] as Record<string, number>)['framesReceived']).toBe(40);
  });

  it('reports every published row with its range and ratio', () => {
    const rows = r['mb93'] as Record<string, { emulator: number; low: number; high: number; ratio: number; inRange: boolean }>;
    for (const [k, p] of Object.entries(MB93_PUBLISHED)) {
      const row = rows[k]!;
      expect(typeof r[k], k).toBe('number');
      expect(row.emulator, k).toBe(r[k]);
      expect(row.emulator, k).toBeGreaterThan(0);
      expect([row.low, row.high], k).toEqual([p.low, p.high]);
      expect(row.ratio, k).toBeCloseTo(row.emulator / ((p.low + p.high) / 2), 2);
      expect(row.inRange, k).toBe(row.emulator >= p.low && row.emulator <= p.high);
    }
  });

  it('meets the rows the cost table is calibrated on (docs/calibration.md)', () => {
    const rows = r['mb93'] as Record<string, { inRange: boolean }>;
    // lance.driverTxFrameCycles on the small output row; the max row must follow unchanged.
    expect(rows['etherOutputSmallUs']!.inRange).toBe(true);
    expect(rows['etherOutputMaxUs']!.inRange).toBe(true);
    // kernel.interruptEntryCycles on the small device interrupt/read row.
    expect(rows['deviceInterruptReadSmallUs']!.inRange).toBe(true);
  });

  it('has the shape of the published breakdown', () => {
    // Size-dependent rows grow with the frame; fixed rows do not depend on it.
    expect(max['etherOutputUs']).toBeGreaterThan(small['etherOutputUs']! + 100);
    expect(max['copyoutUs']).toBeGreaterThan(small['copyoutUs']! + 300);
    expect(max['networkTransitUs']).toBeGreaterThan(small['networkTransitUs']! + 1000);
    expect(max['deviceInterruptReadUs']).toBeCloseTo(small['deviceInterruptReadUs']!, 1);
    expect(max['wakeUserThreadUs']).toBeCloseTo(small['wakeUserThreadUs']!, 1);
    // The wire: a minimum frame and a maximum frame at 10 Mb/s, within 10 % of MB93's transit rows.
    expect(small['networkTransitUs']! / 51).toBeGreaterThan(0.9);
    expect(small['networkTransitUs']! / 51).toBeLessThan(1.2);
    expect(max['networkTransitUs']! / 1214).toBeGreaterThan(0.95);
    expect(max['networkTransitUs']! / 1214).toBeLessThan(1.05);
    // The receive rows are a complete decomposition of frame arrival → thread running.
    for (const run of [small, max]) {
      const sum = run['deviceInterruptReadUs']! + run['packetFilterDemuxUs']! + run['copyoutUs']! + run['kmsgHandoffUs']! + run['wakeUserThreadUs']!;
      expect(Math.abs(run['frameArrivalToThreadUs']! - sum)).toBeLessThan(0.05);
    }
    // The kernel column's read copies the whole frame: far more than the channel path's interrupt part.
    expect(r['deviceReadKernelMaxUs'] as number).toBeGreaterThan(10 * (r['deviceInterruptReadSmallUs'] as number));
  });
});
