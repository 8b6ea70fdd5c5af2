/**
 * TCP sequence numbers: 32-bit, compared modulo 2^32 (RFC 793 §3.3, RFC 1982 style).
 * `a < b` means the signed 32-bit difference b − a is positive; comparisons are meaningful only
 * for numbers less than 2^31 apart, which TCP's windows guarantee.
 */
export type Seq32 = number & { readonly __brand: 'Seq32' };

export const Seq32 = {
  from(n: number): Seq32 {
    return (n >>> 0) as Seq32;
  },
  add(a: Seq32, n: number): Seq32 {
    return ((a + n) >>> 0) as Seq32;
  },
  /** Signed distance a − b in (−2^31, 2^31]. */
  diff(a: Seq32, b: Seq32): number {
    return (a - b) | 0;
  },
  lt(a: Seq32, b: Seq32): boolean {
    return ((a - b) | 0) < 0;
  },
  le(a: Seq32, b: Seq32): boolean {
    return ((a - b) | 0) <= 0;
  },
  gt(a: Seq32, b: Seq32): boolean {
    return ((a - b) | 0) > 0;
  },
  ge(a: Seq32, b: Seq32): boolean {
    return ((a - b) | 0) >= 0;
  },
  max(a: Seq32, b: Seq32): Seq32 {
    return ((a - b) | 0) >= 0 ? a : b;
  },
  min(a: Seq32, b: Seq32): Seq32 {
    return ((a - b) | 0) <= 0 ? a : b;
  },
  /** lo <= x < lo + len, modulo 2^32. */
  inWindow(x: Seq32, lo: Seq32, len: number): boolean {
    const d = (x - lo) >>> 0;
    return d < len;
  },
} as const;
