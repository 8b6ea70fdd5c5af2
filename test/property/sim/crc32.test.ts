import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, fcsOk, writeFcs } from '../../../emulator/bits/crc32.ts';

/** The definition, one bit at a time (reflected 0xEDB88320, preset and complement ~0). */
function crc32Bitwise(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c ^= bytes[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32 (slicing-by-8)', () => {
  it('has the check value of "123456789"', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('equals the bitwise definition on any bytes and any range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const s = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const e = s + (bytes.length === 0 ? 0 : b % (bytes.length - s + 1));
        expect(crc32(bytes, s, e)).toBe(crc32Bitwise(bytes, s, e));
      }),
    );
  });

  it('a frame followed by its FCS checks; one flipped bit does not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), (body, bit) => {
        const f = new Uint8Array(body.length + 4);
        f.set(body);
        writeFcs(f, body.length, crc32(f, 0, body.length));
        expect(fcsOk(f)).toBe(true);
        const at = bit % (f.length * 8);
        f[at >> 3]! ^= 1 << (at & 7);
        expect(fcsOk(f)).toBe(false);
      }),
    );
  });
});
