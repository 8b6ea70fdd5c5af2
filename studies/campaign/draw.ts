/**
 * A scenario's random choices. The campaign's come from the emulator's seeded stream
 * (emulator/sim/rng.ts): a scenario of the campaign is derived from (family, campaign seed, index)
 * alone, so one can be replayed without the others. The property tests run the same scenario
 * functions with choices made by fast-check (test/campaign-draw.ts), which then shrinks them.
 */
import { Rng } from '../../emulator/sim/rng.ts';

export abstract class Draw {
  /** Uniform integer in [lo, hi] (both inclusive). */
  abstract int(lo: number, hi: number): number;
  abstract u32(): number;
  abstract bool(pTrue?: number): boolean;
  /** One of `choices` by weight: [weight, value] pairs. */
  abstract weighted<T>(choices: readonly (readonly [number, T])[]): T;
  abstract bytes(n: number): Uint8Array;

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
  /** An array of `lo..hi` items made by `f`. */
  array<T>(lo: number, hi: number, f: (i: number) => T): T[] {
    const n = this.int(lo, hi);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(f(i));
    return out;
  }

  /** The stream of scenario `index` of `family` in the campaign of seed `seed`. */
  static forScenario(family: string, seed: number, index: number): Draw {
    return new RngDraw(Rng.fromSeed(seed).fork(`campaign/${family}/${index}`));
  }
}

/** The campaign's draws: the emulator's seeded stream. */
class RngDraw extends Draw {
  constructor(private readonly rng: Rng) {
    super();
  }
  int(lo: number, hi: number): number {
    return this.rng.int(lo, hi + 1);
  }
  u32(): number {
    return this.rng.nextU32();
  }
  bool(pTrue = 0.5): boolean {
    return this.rng.chance(pTrue);
  }
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of choices) total += w;
    let x = this.rng.float() * total;
    for (const [w, v] of choices) {
      if (x < w) return v;
      x -= w;
    }
    return choices[choices.length - 1]![1];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    this.rng.fill(b);
    return b;
  }
}
