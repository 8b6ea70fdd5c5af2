import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RegisterFile, type Access, type FieldDef, type RegisterDef } from '../../../emulator/bits/register-file.ts';

const ACCESSES: readonly Access[] = ['rw', 'ro', 'w1c', 'set-only', 'wo', 'reserved'];

/** One 16-bit register whose bits are cut into fields of random access kinds. */
const registerArb: fc.Arbitrary<RegisterDef> = fc
  .tuple(
    fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.constantFrom(...ACCESSES)), { minLength: 1, maxLength: 8 }),
    fc.constantFrom(...ACCESSES),
    fc.integer({ min: 0, max: 0xffff }),
  )
  .map(([parts, rest, reset]) => {
    const fields: FieldDef[] = [];
    let lsb = 0;
    parts.forEach(([width, access], i) => {
      if (lsb + width > 16) return;
      fields.push({ name: `F${i}`, lsb, width, access });
      lsb += width;
    });
    return { name: 'R', offset: 0, width: 16 as const, reset, access: rest, fields };
  });

/** Per-bit reference semantics. */
function accessOfBit(def: RegisterDef, bit: number): Access {
  for (const f of def.fields ?? []) if (bit >= f.lsb && bit < f.lsb + f.width) return f.access;
  return def.access;
}
function modelWrite(def: RegisterDef, old: number, v: number): number {
  let out = 0;
  for (let bit = 0; bit < def.width; bit++) {
    const o = (old >> bit) & 1;
    const w = (v >> bit) & 1;
    let n = o;
    switch (accessOfBit(def, bit)) {
      case 'rw':
      case 'wo':
        n = w;
        break;
      case 'w1c':
        n = w === 1 ? 0 : o;
        break;
      case 'set-only':
        n = w === 1 ? 1 : o;
        break;
      case 'ro':
      case 'reserved':
        n = o;
        break;
    }
    out |= n << bit;
  }
  return out;
}
function modelRead(def: RegisterDef, stored: number): number {
  let out = 0;
  for (let bit = 0; bit < def.width; bit++) {
    const a = accessOfBit(def, bit);
    if (a !== 'wo' && a !== 'reserved') out |= ((stored >> bit) & 1) << bit;
  }
  return out;
}

describe('RegisterFile', () => {
  it('implements rw, ro, w1c, set-only, wo and reserved per bit, from the reset value', () => {
    fc.assert(
      fc.property(registerArb, fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 20 }), (def, writes) => {
        const rf = new RegisterFile('t', [def]);
        let stored = def.reset;
        expect(rf.read(0)).toBe(modelRead(def, stored));
        for (const v of writes) {
          rf.write(0, v);
          stored = modelWrite(def, stored, v);
          expect(rf.raw[0]).toBe(stored);
          expect(rf.read(0)).toBe(modelRead(def, stored));
        }
        rf.reset();
        expect(rf.raw[0]).toBe(def.reset);
      }),
    );
  });

  it('w1c: writing 0 keeps a set status bit, writing 1 clears it; set-only: 0 keeps, 1 sets', () => {
    const rf = new RegisterFile('t', [
      {
        name: 'CSR',
        offset: 4,
        width: 16,
        reset: 0,
        access: 'reserved',
        fields: [
          { name: 'INIT', lsb: 0, width: 1, access: 'set-only' },
          { name: 'IDON', lsb: 8, width: 1, access: 'w1c' },
          { name: 'RXON', lsb: 5, width: 1, access: 'ro' },
        ],
      },
    ]);
    rf.setField('CSR', 'IDON', 1);
    rf.setField('CSR', 'RXON', 1);
    rf.write(4, 0);
    expect(rf.field('CSR', 'IDON')).toBe(1);
    rf.write(4, 1 << 8);
    expect(rf.field('CSR', 'IDON')).toBe(0);
    rf.write(4, 1);
    expect(rf.field('CSR', 'INIT')).toBe(1);
    rf.write(4, 0);
    expect(rf.field('CSR', 'INIT')).toBe(1);
    rf.write(4, 0xffff & ~(1 << 5));
    expect(rf.field('CSR', 'RXON')).toBe(1);
    expect(rf.read(8)).toBeUndefined();
    expect(rf.write(8, 1)).toBe(-1);
  });

  it('rejects overlapping fields and reset values wider than the register', () => {
    expect(
      () =>
        new RegisterFile('t', [
          { name: 'R', offset: 0, width: 8, reset: 0, access: 'rw', fields: [{ name: 'A', lsb: 0, width: 4, access: 'rw' }, { name: 'B', lsb: 3, width: 2, access: 'rw' }] },
        ]),
    ).toThrow(/overlaps/);
    expect(() => new RegisterFile('t', [{ name: 'R', offset: 0, width: 8, reset: 0x100, access: 'rw' }])).toThrow(/wider/);
  });
});
