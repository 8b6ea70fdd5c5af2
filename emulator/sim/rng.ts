/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna) over a 128-bit state derived by
 * hashing a path of names. `fork(name)` derives a child from the parent's *path*, not from its
 * stream position, so adding a consumer never reshuffles the draws of others
 * (TigerBeetle VOPR; smoltcp tests/netsim.rs). This is the only randomness in the simulated trees.
 */
import { assert, bug } from './assert.ts';

/** cyrb128-style string hash to four 32-bit words (state seeding only, not cryptographic). */
function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(readonly path: string) {
    const [a, b, c, d] = hash128(path);
    this.s0 = a;
    this.s1 = b;
    this.s2 = c;
    this.s3 = d;
    if ((a | b | c | d) === 0) this.s0 = 1; // xoshiro's one forbidden state
    for (let i = 0; i < 4; i++) this.nextU32(); // stir
  }

  static fromSeed(seed: number): Rng {
    if (!(Number.isSafeInteger(seed))) bug(`seed must be an integer: ${seed}`);
    return new Rng(`seed:${seed}`);
  }

  /** An independent stream named `name` under this one (e.g. `rng.fork('ether.a->b')`). */
  fork(name: string): Rng {
    return new Rng(`${this.path}/${name}`);
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi) without modulo bias. */
  int(lo: number, hi: number): number {
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && hi > lo)) bug(`bad range [${lo}, ${hi})`);
    const span = hi - lo;
    assert(span <= 4294967296, 'range wider than 2^32');
    if (span === 4294967296) return lo + this.nextU32();
    const limit = 4294967296 - (4294967296 % span);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return lo + (x % span);
    }
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  fill(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += 4) {
      let w = this.nextU32();
      for (let k = 0; k < 4 && i + k < bytes.length; k++) {
        bytes[i + k] = w & 0xff;
        w >>>= 8;
      }
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
