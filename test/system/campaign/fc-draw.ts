/**
 * The campaign's scenario functions (studies/campaign) run as fast-check properties: a Draw whose
 * every choice is a value fast-check generates (`fc.gen()`), so a failing scenario shrinks choice
 * by choice — shorter arrays, earlier alternatives of each weighted choice, smaller integers —
 * while the scenario code, its generator and its invariants exist once, in the campaign.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { Checks } from '../../../studies/campaign/check.ts';
import { Draw } from '../../../studies/campaign/draw.ts';

/** Weights are integers or hundredths (`bool(0.8)`); each choice is an index into their sum. */
const SCALE = 100;

class FcDraw extends Draw {
  constructor(private readonly g: fc.GeneratorValue) {
    super();
  }
  int(lo: number, hi: number): number {
    return this.g(fc.integer, { min: lo, max: hi });
  }
  u32(): number {
    return this.g(fc.integer, { min: -(2 ** 31), max: 2 ** 31 - 1 }) >>> 0;
  }
  bool(pTrue = 0.5): boolean {
    return this.weighted([
      [pTrue, true],
      [1 - pTrue, false],
    ]);
  }
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const ws = choices.map(([w]) => Math.round(w * SCALE));
    const total = ws.reduce((a, b) => a + b, 0);
    let x = this.g(fc.integer, { min: 0, max: total - 1 });
    for (const [i, w] of ws.entries()) {
      if (x < w) return choices[i]![1];
      x -= w;
    }
    return choices[choices.length - 1]![1];
  }
  bytes(n: number): Uint8Array {
    return this.g(fc.uint8Array, { minLength: n, maxLength: n });
  }
}

/** A Draw over fast-check's generator `g` (the value of `fc.gen()`). */
export const fcDraw = (g: fc.GeneratorValue): Draw => new FcDraw(g);

/** FC_NUM_RUNS (default 100), as every property of the project reads it. */
export function fcRuns(): number {
  const n = Number(process.env['FC_NUM_RUNS'] ?? '100');
  return Number.isFinite(n) && n > 0 ? n : 100;
}

/**
 * Run `scenario` on a fresh Checks and fail (for fast-check to shrink) with its violations, if any.
 * Returns the Checks (tallies for coverage assertions).
 */
export function runChecked(scenario: (c: Checks) => void): Checks {
  const c = new Checks();
  scenario(c);
  expect(c.violations).toEqual([]);
  return c;
}
