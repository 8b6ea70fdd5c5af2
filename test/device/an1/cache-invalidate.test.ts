import { describe, expect, it } from 'vitest';
import { World } from '../../../studies/world.ts';
import { runAn1Demux } from '../../../studies/scenarios/paper-table5.ts';

/** The AN1 driver invalidates the R3000 data-cache lines of every received frame (cpu.dcache*). */
describe('AN1 driver: data-cache invalidation of DMAed frames', () => {
  const run = (overrides: [string, number][]) => {
    const r = runAn1Demux(new World({ seed: 1, costOverrides: new Map(overrides) }), 50);
    return { an1: (r['usPerFrameByCategory'] as Record<string, number>)['an1']!, delivered: r['framesDelivered'] as number };
  };

  it('charges one isolated store per 4-byte line of the 1520-byte frame, plus the isolate/restore', () => {
    const base = run([]);
    const none = run([['cpu.dcacheInvalidateLineCycles', 0], ['cpu.dcacheInvalidateSetupCycles', 0]]);
    expect(base.delivered).toBe(50);
    expect(none.delivered).toBe(50);
    // 1520 / 4 = 380 lines × 1.1 cycles + 10 = 428 cycles = 17.12 µs a frame.
    expect(base.an1 - none.an1).toBeCloseTo(17.12, 1);
  });

  it('scales with the line size', () => {
    const base = run([]);
    const wide = run([['cpu.dcacheLineBytes', 16]]);
    // 95 lines × 1.1 + 10 = 114.5 → 115 cycles = 4.6 µs instead of 17.12.
    expect(base.an1 - wide.an1).toBeCloseTo(17.12 - 4.6, 1);
  });
});
