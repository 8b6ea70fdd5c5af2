import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Seq32 } from '../../../userland/inet/index.ts';

const seq = fc.integer({ min: 0, max: 0xffffffff }).map(Seq32.from);
const dist = fc.integer({ min: 1, max: 2 ** 31 - 1 });

describe('Seq32 (RFC 793 §3.3 modular comparisons)', () => {
  it('a < a + d for every d in [1, 2^31) — across the 2^32 wrap', () => {
    fc.assert(fc.property(seq, dist, (a, d) => {
      const b = Seq32.add(a, d);
      expect(Seq32.lt(a, b)).toBe(true);
      expect(Seq32.gt(b, a)).toBe(true);
      expect(Seq32.le(a, b) && !Seq32.ge(a, b)).toBe(true);
      expect(Seq32.diff(b, a)).toBe(d);
      expect(Seq32.max(a, b)).toBe(b);
      expect(Seq32.min(a, b)).toBe(a);
    }));
  });
  it('add wraps into [0, 2^32) and inverts', () => {
    fc.assert(fc.property(seq, fc.integer({ min: -(2 ** 32), max: 2 ** 32 }), (a, n) => {
      const b = Seq32.add(a, n);
      expect(b >= 0 && b <= 0xffffffff && Number.isInteger(b)).toBe(true);
      expect(Seq32.add(b, -n)).toBe(a);
    }));
  });
  it('inWindow agrees with diff', () => {
    fc.assert(fc.property(seq, seq, fc.integer({ min: 0, max: 65535 }), (x, lo, len) => {
      const d = (x - lo) >>> 0;
      expect(Seq32.inWindow(x, lo, len)).toBe(d < len);
    }));
  });
  it('explicit wrap cases', () => {
    const top = Seq32.from(0xffffffff);
    const zero = Seq32.from(0);
    expect(Seq32.lt(top, zero)).toBe(true);
    expect(Seq32.add(top, 1)).toBe(0);
    expect(Seq32.diff(zero, top)).toBe(1);
    expect(Seq32.inWindow(Seq32.from(5), top, 10)).toBe(true);
    expect(Seq32.inWindow(Seq32.from(9), top, 10)).toBe(false);
  });
});
