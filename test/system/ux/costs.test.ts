/**
 * The single server's costs: the userland mirror equals the cost table, and the rows of MB93
 * Table 4's "Mach 3.0 + UX server" column they are calibrated on land where MB93 says
 * (scenario ux-primitives: send entry 1 B / 1472 B, wake user thread).
 */
import { describe, expect, it } from 'vitest';
import { UX_SERVER_COSTS } from '../../../emulator/host/costs/ux-costs.ts';
import { measureUxPrimitives, MB93_UX } from '../../../studies/scenarios/ux-primitives.ts';
import { World } from '../../../studies/world.ts';
import { UX_COSTS } from '../../../userland/ux/costs.ts';

describe('single-server costs', () => {
  it('the userland mirror equals the cost table', () => {
    for (const [k, v] of Object.entries(UX_COSTS)) expect(UX_SERVER_COSTS[`ux.${k}` as keyof typeof UX_SERVER_COSTS]?.value, k).toBe(v);
    expect(Object.keys(UX_SERVER_COSTS).length).toBe(Object.keys(UX_COSTS).length);
  });

  it('MB93 Table 4, UX column (TCP): send entry 254 µs at 1 B (582 at 1472 B along the row’s slope) and the read’s reply path 194–274 µs', () => {
    const m = measureUxPrimitives(new World({ seed: 1, traceOn: false }));
    expect(m.sendEntry1Us / MB93_UX.sendEntry1Us).toBeGreaterThan(0.97);
    expect(m.sendEntry1Us / MB93_UX.sendEntry1Us).toBeLessThan(1.03);
    expect(m.sendEntry1472Us / MB93_UX.sendEntry1472Us).toBeGreaterThan(0.97);
    expect(m.sendEntry1472Us / MB93_UX.sendEntry1472Us).toBeLessThan(1.03);
    expect(m.wake1Us).toBeGreaterThanOrEqual(MB93_UX.wake1Us[0]);
    expect(m.wake1Us).toBeLessThanOrEqual(MB93_UX.wake1Us[1]);
  });

  it('a what-if on a ux.* constant reaches the guests', () => {
    const w = new World({ seed: 1, traceOn: false });
    w.costs.override('ux.serverDispatchCycles', 0);
    const m = measureUxPrimitives(w);
    expect(m.sendEntry1Us).toBeLessThan(MB93_UX.sendEntry1Us - 100); // 3360 cycles = 134 µs less
  });
});
