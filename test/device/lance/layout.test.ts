/**
 * The driver's and the tests' own register constants against the model's tables: written
 * separately from the same descriptions, they must agree (DESIGN.md "Devices").
 */
import { describe, expect, it } from 'vitest';
import { fieldMask } from '../../../emulator/bits/register-file.ts';
import { CSR0, LANCE_CSRS, MODE, RMD1, TMD1, TMD3, bcntLength, INIT_BLOCK, DESC } from '../../../emulator/devices/lance/registers.ts';
import { PMAD_RAP, PMAD_RDP, PMAD_SRAM_BYTES } from '../../../emulator/devices/lance/pmad-aa.ts';
import { ladrfIndex } from '../../../emulator/devices/lance/am7990.ts';
import * as D from '../../../kernel/dev/lance/lance-regs.ts';
import * as T from './layout.ts';

describe('LANCE register layouts agree across model, driver and tests', () => {
  it('CSR0 bits', () => {
    const fields = LANCE_CSRS.find((r) => r.name === 'CSR0')!.fields!;
    for (const [name, mask] of Object.entries(D.LE_CSR0)) {
      expect(CSR0[name as keyof typeof CSR0], name).toBe(mask);
      const f = fields.find((x) => x.name === name)!;
      expect(fieldMask(f), name).toBe(mask);
      expect((T as Record<string, unknown>)[name], name).toBe(mask);
    }
  });

  it('MODE, RMD1, TMD1, TMD3 bits and descriptor/init-block offsets', () => {
    for (const [k, v] of Object.entries(D.LE_MODE)) expect(MODE[k as keyof typeof MODE], k).toBe(v);
    for (const [k, v] of Object.entries(D.LE_RMD1)) expect(RMD1[k as keyof typeof RMD1], k).toBe(v);
    for (const [k, v] of Object.entries(D.LE_TMD1)) expect(TMD1[k as keyof typeof TMD1], k).toBe(v);
    expect(D.LE_TMD3.BUFF).toBe(TMD3.BUFF);
    expect(D.LE_TMD3.UFLO).toBe(TMD3.UFLO);
    expect(D.LE_TMD3.LCOL).toBe(TMD3.LCOL);
    expect(D.LE_TMD3.LCAR).toBe(TMD3.LCAR);
    expect(D.LE_TMD3.RTRY).toBe(TMD3.RTRY);
    expect(D.LE_TMD3.TDR_MASK).toBe(TMD3.TDR);
    expect([D.LE_D_ADDR, D.LE_D_FLAGS, D.LE_D_BCNT, D.LE_D_MISC, D.LE_DESC_BYTES]).toEqual([DESC.LADR, DESC.FLAGS, DESC.BCNT, DESC.MISC, DESC.BYTES]);
    expect([D.LE_IB.MODE, D.LE_IB.PADR, D.LE_IB.LADRF, D.LE_IB.RDRA, D.LE_IB.RLEN, D.LE_IB.TDRA, D.LE_IB.TLEN, D.LE_IB.BYTES]).toEqual([
      INIT_BLOCK.MODE, INIT_BLOCK.PADR, INIT_BLOCK.LADRF, INIT_BLOCK.RDRA_LO, INIT_BLOCK.RDRA_HI, INIT_BLOCK.TDRA_LO, INIT_BLOCK.TDRA_HI, INIT_BLOCK.BYTES,
    ]);
    expect([D.PMAD.RDP, D.PMAD.RAP, D.PMAD.SRAM_BYTES]).toEqual([PMAD_RDP, PMAD_RAP, PMAD_SRAM_BYTES]);
  });

  it('BCNT encoding round-trips, 0 is 4096', () => {
    for (const n of [1, 60, 64, 1518, 1536, 4095]) expect(bcntLength(D.leBcnt(n))).toBe(n);
    expect(bcntLength(0xf000)).toBe(4096);
    expect(bcntLength(0x0000)).toBe(4096);
  });

  it('LADRF hash matches the doc\'s derived test vectors', () => {
    const vectors: [number[], number][] = [
      [[0x01, 0x00, 0x5e, 0x00, 0x00, 0x01], 54],
      [[0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb], 33],
      [[0x33, 0x33, 0x00, 0x00, 0x00, 0x01], 23],
      [[0x01, 0x80, 0xc2, 0x00, 0x00, 0x00], 58],
      [[0x09, 0x00, 0x2b, 0x00, 0x00, 0x0f], 35],
      [[0xab, 0x00, 0x00, 0x01, 0x00, 0x00], 15],
    ];
    for (const [mac, index] of vectors) expect(ladrfIndex(new Uint8Array(mac))).toBe(index);
  });
});
