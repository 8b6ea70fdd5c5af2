/**
 * The devkit's register constants are its own transcription of the datasheets (LANCE) and of the
 * proposed register map (AN1); they must agree with the models' tables, so a mistake in either
 * cannot agree with itself.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../../emulator/devkit/index.ts';
import * as A from '../../../emulator/devices/an1/registers.ts';
import * as L from '../../../emulator/devices/lance/registers.ts';
import { PMAD_RAP, PMAD_RDP, PMAD_ROM_BASE, PMAD_SRAM_BYTES } from '../../../emulator/devices/lance/pmad-aa.ts';

const fieldMask = (defs: readonly { name: string; fields?: readonly { name: string; lsb: number; width: number }[] }[], reg: string, field: string): number => {
  const f = defs.find((d) => d.name === reg)?.fields?.find((x) => x.name === field);
  if (f === undefined) throw new Error(`model has no ${reg}.${field}`);
  return ((2 ** f.width - 1) * 2 ** f.lsb) >>> 0;
};

describe('devkit constants agree with the models', () => {
  it('LANCE: CSR0 and CSR3 bits, MODE, RMD1, TMD1, TMD3, the PMAD-AA map', () => {
    for (const [n, m] of Object.entries(K.CSR0)) expect([n, m]).toEqual([n, fieldMask(L.LANCE_CSRS, 'CSR0', n)]);
    for (const [n, m] of Object.entries(K.CSR3)) expect([n, m]).toEqual([n, fieldMask(L.LANCE_CSRS, 'CSR3', n)]);
    for (const [n, m] of Object.entries(K.MODE)) expect([n, m]).toEqual([n, (L.MODE as Record<string, number>)[n]]);
    for (const [n, m] of Object.entries(K.RMD1)) expect([n, m]).toEqual([n, (L.RMD1 as Record<string, number>)[n]]);
    for (const [n, m] of Object.entries(K.TMD1)) expect([n, m]).toEqual([n, (L.TMD1 as Record<string, number>)[n]]);
    for (const [n, m] of Object.entries(K.TMD3)) expect([n, m]).toEqual([n, (L.TMD3 as Record<string, number>)[n]]);
    expect([K.PMAD.RDP, K.PMAD.RAP, K.PMAD.ESAR, K.PMAD.SRAM_BYTES]).toEqual([PMAD_RDP, PMAD_RAP, PMAD_ROM_BASE, PMAD_SRAM_BYTES]);
  });

  it('AN1: every named register, the BQI table, CSR and ISR bits, completion status codes', () => {
    const pages: [number, readonly { name: string; offset: number }[]][] = [
      [A.AN1_PAGE.csr, A.CSR_PAGE_REGS], [A.AN1_PAGE.tx, A.TX_PAGE_REGS], [A.AN1_PAGE.rxc, A.RXC_PAGE_REGS], [A.AN1_PAGE.clock, A.CLOCK_PAGE_REGS],
    ];
    const model = new Map<string, number>();
    for (const [page, regs] of pages) for (const r of regs) model.set(r.name, page + r.offset);
    expect(Object.keys(K.AN1_REGS).sort()).toEqual([...model.keys()].sort());
    for (const [n, o] of Object.entries(K.AN1_REGS)) expect([n, o]).toEqual([n, model.get(n)]);
    expect([K.AN1_BQI.TABLE, K.AN1_BQI.STRIDE, K.AN1_BQI.DESC]).toEqual([A.AN1_PAGE.bqiTable, A.AN1_BQI_ENTRY_STRIDE, A.BQ_DESC_BASE]);
    for (const n of ['BQ_CTRL', 'BQ_POSTED', 'BQ_FILLED', 'BQ_DROPS'] as const) {
      expect([n, K.AN1_BQI[n]]).toEqual([n, A.BQI_ENTRY_REGS.find((r) => r.name === n)!.offset]);
    }
    expect(K.AN1_CSR).toEqual(A.CSR_BITS);
    expect(K.AN1_ISR).toEqual(A.ISR_BITS);
    expect(K.AN1_RXST).toEqual({ OK: A.RX_STATUS.OK, CRC: A.RX_STATUS.CRC_ERROR, TRUNCATED: A.RX_STATUS.TRUNCATED, REDIRECTED: A.RX_STATUS.REDIRECTED, BUFFER_ERROR: A.RX_STATUS.BUFFER_ERROR, DMA_ERROR: A.RX_STATUS.DMA_ERROR });
    expect(K.AN1_RXC_EMPTY).toBe(A.RXC_EMPTY);
  });
});
