/**
 * Three independent transcriptions of the AN1 register map must agree: the model's tables
 * (emulator/devices/an1/registers.ts), the driver's constants (kernel/dev/an1/an1-regs.ts) and
 * this test bench's (harness.ts). One transcription mistake cannot agree with itself.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../../emulator/devices/an1/registers.ts';
import * as D from '../../../kernel/dev/an1/an1-regs.ts';
import { CSR, ISR, R, RXST } from './harness.ts';

const modelOffset = (page: number, regs: readonly { name: string; offset: number }[], name: string): number => {
  const r = regs.find((x) => x.name === name);
  if (r === undefined) throw new Error(`model has no ${name}`);
  return page + r.offset;
};

describe('AN1 register layout: model, driver and tests agree', () => {
  const csrNames = ['CSR', 'ISR', 'IMR', 'UID_LO', 'UID_HI', 'SHORTADDR', 'MAXFRAME', 'NBQI', 'RINGSLOTS', 'FWREV', 'DROPS', 'RXERRS', 'DMAERRS', 'DESCERRS', 'OVERRUNS', 'RXFRAMES'] as const;
  const txNames = ['TX_ADDR', 'TX_LEN', 'TX_FREE', 'TX_DONE', 'TX_STATUS', 'TX_FAILED', 'TX_HDR_ADDR', 'TX_HDR_LEN'] as const;

  it('control/status and transmit pages', () => {
    for (const n of csrNames) {
      const m = modelOffset(M.AN1_PAGE.csr, M.CSR_PAGE_REGS, n);
      expect([n, (D as Record<string, unknown>)[`AN1_${n}`], R[n]]).toEqual([n, m, m]);
    }
    for (const n of txNames) {
      const m = modelOffset(M.AN1_PAGE.tx, M.TX_PAGE_REGS, n);
      expect([n, (D as Record<string, unknown>)[`AN1_${n}`], R[n]]).toEqual([n, m, m]);
    }
  });

  it('completion FIFO, clock page and BQI table', () => {
    for (const n of ['RXC_POP', 'RXC_COUNT'] as const) {
      const m = modelOffset(M.AN1_PAGE.rxc, M.RXC_PAGE_REGS, n);
      expect([D[`AN1_${n}`], R[n]]).toEqual([m, m]);
    }
    for (const n of ['CLOCK', 'CLOCK_HI'] as const) {
      const m = modelOffset(M.AN1_PAGE.clock, M.CLOCK_PAGE_REGS, n);
      expect([D[`AN1_${n}`], R[n]]).toEqual([m, m]);
    }
    expect([D.AN1_BQI_TABLE, R.BQI_TABLE]).toEqual([M.AN1_PAGE.bqiTable, M.AN1_PAGE.bqiTable]);
    expect([D.AN1_BQI_STRIDE, R.BQI_STRIDE]).toEqual([M.AN1_BQI_ENTRY_STRIDE, M.AN1_BQI_ENTRY_STRIDE]);
    for (const [n, d, t] of [
      ['BQ_CTRL', D.BQ_CTRL, R.BQ_CTRL],
      ['BQ_POSTED', D.BQ_POSTED, R.BQ_POSTED],
      ['BQ_FILLED', D.BQ_FILLED, R.BQ_FILLED],
      ['BQ_DROPS', D.BQ_DROPS, R.BQ_DROPS],
      ['DESC_ADDR0', D.BQ_DESC_ADDR0, R.BQ_DESC],
      ['DESC_LEN0', D.BQ_DESC_ADDR0 + 4, R.BQ_DESC + 4],
      ['DESC_ADDR63', D.BQ_DESC_ADDR0 + 63 * D.BQ_DESC_STRIDE, R.BQ_DESC + 63 * 8],
    ] as const) {
      const m = modelOffset(0, M.BQI_ENTRY_REGS, n);
      expect([n, d, t]).toEqual([n, m, m]);
    }
  });

  it('bit assignments, status codes, limits and the link header', () => {
    expect([D.CSR_RESET, D.CSR_RXEN, D.CSR_TXEN, D.CSR_INTEN, D.CSR_LOOPBACK, D.CSR_LINKUP]).toEqual([
      M.CSR_BITS.RESET, M.CSR_BITS.RXEN, M.CSR_BITS.TXEN, M.CSR_BITS.INTEN, M.CSR_BITS.LOOPBACK, M.CSR_BITS.LINKUP,
    ]);
    expect([CSR.RESET, CSR.RXEN, CSR.TXEN, CSR.INTEN, CSR.LOOPBACK, CSR.LINKUP]).toEqual([1, 2, 4, 8, 16, 0x100]);
    expect([D.ISR_RXDONE, D.ISR_TXDONE, D.ISR_RXDROP, D.ISR_RXERR, D.ISR_TXERR, D.ISR_LINKCHG]).toEqual([
      M.ISR_BITS.RXDONE, M.ISR_BITS.TXDONE, M.ISR_BITS.RXDROP, M.ISR_BITS.RXERR, M.ISR_BITS.TXERR, M.ISR_BITS.LINKCHG,
    ]);
    expect([ISR.RXDONE, ISR.TXDONE, ISR.RXDROP, ISR.RXERR, ISR.TXERR]).toEqual([1, 2, 4, 8, 16]);
    expect([D.AN1_RX_OK, D.AN1_RX_TRUNCATED, D.AN1_RX_REDIRECTED, D.AN1_RX_BUFFER_ERROR, D.AN1_RX_DMA_ERROR]).toEqual([
      M.RX_STATUS.OK, M.RX_STATUS.TRUNCATED, M.RX_STATUS.REDIRECTED, M.RX_STATUS.BUFFER_ERROR, M.RX_STATUS.DMA_ERROR,
    ]);
    expect([RXST.OK, RXST.TRUNCATED, RXST.REDIRECTED, RXST.BUFFER_ERROR, RXST.DMA_ERROR]).toEqual([0, 2, 3, 4, 5]);
    expect([D.AN1_NBQI_VALUE, D.AN1_RINGSLOTS_VALUE, D.AN1_TXQ_ENTRIES, D.AN1_RXC_ENTRIES, D.AN1_HEADER_BYTES, D.AN1_MAXFRAME_DEFAULT, D.AN1_MAXFRAME_CEILING]).toEqual([
      M.AN1_LIMITS.bqiCount, M.AN1_LIMITS.ringSlotsMax, M.AN1_LIMITS.txQueueEntries, M.AN1_LIMITS.rxcEntries, M.AN1_LIMITS.headerBytes, M.AN1_LIMITS.maxFrameReset, M.AN1_LIMITS.maxFrameCeiling,
    ]);
    expect([D.AN1_HDR_DST_SHORT, D.AN1_HDR_DST_BQI, D.AN1_HDR_DST_UID, D.AN1_HDR_SRC_UID, D.AN1_HDR_TYPE, D.AN1_HDR_SPARE]).toEqual([
      M.LINK_HEADER.DST_SHORT, M.LINK_HEADER.DST_BQI, M.LINK_HEADER.DST_UID, M.LINK_HEADER.SRC_UID, M.LINK_HEADER.TYPE, M.LINK_HEADER.SPARE,
    ]);
    expect(D.RXC_EMPTY).toBe(M.RXC_EMPTY);
    expect(D.AN1_MODULE_NAME).toBe(M.AN1_ROM_IDENTITY.module);
    expect(D.KN02_SLOT_BASE + D.KN02_SLOT_SIZE * 1).toBe(R.SLOT_BASE);
  });
});
