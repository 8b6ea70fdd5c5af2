import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../emulator/sim/rng.ts';

const draw = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.nextU32());

describe('Rng', () => {
  it('is a pure function of the seed', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        expect(draw(Rng.fromSeed(seed), 8)).toEqual(draw(Rng.fromSeed(seed), 8));
      }),
    );
  });

  it('gives a fork the same stream whatever the parent and siblings drew before', () => {
    fc.assert(
      fc.property(fc.integer(), fc.nat({ max: 50 }), fc.nat({ max: 50 }), fc.string({ maxLength: 12 }), (seed, before, siblingDraws, name) => {
        const quiet = Rng.fromSeed(seed).fork(name);
        const busyParent = Rng.fromSeed(seed);
        draw(busyParent, before);
        draw(busyParent.fork(`${name}-sibling`), siblingDraws);
        expect(draw(busyParent.fork(name), 16)).toEqual(draw(quiet, 16));
      }),
    );
  });

  it('gives differently named forks different streams', () => {
    fc.assert(
      fc.property(fc.integer(), fc.string(), fc.string(), (seed, a, b) => {
        fc.pre(a !== b);
        const root = Rng.fromSeed(seed);
        expect(draw(root.fork(a), 4)).not.toEqual(draw(root.fork(b), 4));
      }),
    );
  });

  it('keeps int() inside [lo, hi) and float() inside [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: 1, max: 2 ** 32 }), (seed, lo, span) => {
        const r = Rng.fromSeed(seed);
        for (let i = 0; i < 20; i++) {
          const x = r.int(lo, lo + span);
          expect(x).toBeGreaterThanOrEqual(lo);
          expect(x).toBeLessThan(lo + span);
          const f = r.float();
          expect(f >= 0 && f < 1).toBe(true);
        }
      }),
    );
  });

  it('is roughly uniform (chi-square over 16 bins, fixed seed)', () => {
    const r = Rng.fromSeed(42);
    const bins = new Array<number>(16).fill(0);
    const n = 160_000;
    for (let i = 0; i < n; i++) bins[r.int(0, 16)]!++;
    const expected = n / 16;
    const chi2 = bins.reduce((s, b) => s + (b - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(40); // 15 degrees of freedom: p < 0.001 at 37.7
  });
});
