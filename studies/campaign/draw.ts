/**
 * A scenario's random choices, from the emulator's seeded stream (emulator/sim/rng.ts): a scenario
 * of the campaign is derived from (family, campaign seed, index) alone, so one can be replayed
 * without the others.
 */
import { Rng } from '../../emulator/sim/rng.ts';

export class Draw {
  private constructor(private readonly rng: Rng) {}

  /** The stream of scenario `index` of `family` in the campaign of seed `seed`. */
  static forScenario(family: string, seed: number, index: number): Draw {
    return new Draw(Rng.fromSeed(seed).fork(`campaign/${family}/${index}`));
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return this.rng.int(lo, hi + 1);
  }
  u32(): number {
    return this.rng.nextU32();
  }
  bool(pTrue = 0.5): boolean {
    return this.rng.chance(pTrue);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(0, xs.length)]!;
  }
  /** One of `choices` by weight: [weight, value] pairs. */
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
  /** An array of `lo..hi` items made by `f`. */
  array<T>(lo: number, hi: number, f: (i: number) => T): T[] {
    const n = this.int(lo, hi);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(f(i));
    return out;
  }
}
