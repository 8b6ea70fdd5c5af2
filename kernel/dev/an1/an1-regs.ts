/**
 * The AN1 controller as its driver knows it: the driver's OWN transcription of the register map
 * (../shared/hw/an1-autonet.md §8 as the model implements it, docs/an1.md). Never imports the
 * model; test/device/an1/layout.test.ts compares the two so one mistake cannot agree with itself.
 */

/** KN02 TURBOchannel option slot k decodes at 0x1E000000 + 4 MB × k. */
export const KN02_SLOT_BASE = 0x1e00_0000;
export const KN02_SLOT_SIZE = 0x40_0000;

/** Option ROM: module name at +0x440, one character per longword. */
export const AN1_ROM_MODULE_OFFSET = 0x440;
export const AN1_MODULE_NAME = 'AN1-TC  ';

// Control/status page.
export const AN1_CSR = 0x1000;
export const AN1_ISR = 0x1004;
export const AN1_IMR = 0x1008;
export const AN1_UID_LO = 0x100c;
export const AN1_UID_HI = 0x1010;
export const AN1_SHORTADDR = 0x1014;
export const AN1_MAXFRAME = 0x1018;
export const AN1_NBQI = 0x101c;
export const AN1_RINGSLOTS = 0x1020;
export const AN1_FWREV = 0x1024;
export const AN1_DROPS = 0x1028;
export const AN1_RXERRS = 0x102c;
export const AN1_DMAERRS = 0x1030;
export const AN1_DESCERRS = 0x1034;
export const AN1_OVERRUNS = 0x1038;
export const AN1_RXFRAMES = 0x103c;

export const CSR_RESET = 0x001;
export const CSR_RXEN = 0x002;
export const CSR_TXEN = 0x004;
export const CSR_INTEN = 0x008;
export const CSR_LOOPBACK = 0x010;
export const CSR_LINKUP = 0x100;

export const ISR_RXDONE = 0x01;
export const ISR_TXDONE = 0x02;
export const ISR_RXDROP = 0x04;
export const ISR_RXERR = 0x08;
export const ISR_TXERR = 0x10;
export const ISR_LINKCHG = 0x20;

// Transmit page.
export const AN1_TX_ADDR = 0x2000;
export const AN1_TX_LEN = 0x2004;
export const AN1_TX_FREE = 0x2008;
export const AN1_TX_DONE = 0x200c;
export const AN1_TX_STATUS = 0x2010;
export const AN1_TX_FAILED = 0x2014;
/** Two-part frames (an addition to hw/an1-autonet.md §8.2; docs/netio.md): header part address and length. */
export const AN1_TX_HDR_ADDR = 0x2018;
export const AN1_TX_HDR_LEN = 0x201c;

// Receive completion FIFO.
export const AN1_RXC_POP = 0x3000;
export const AN1_RXC_COUNT = 0x3004;
export const RXC_EMPTY = 0xffff_ffff;

// Clock page (mappable read-only into a task).
export const AN1_CLOCK_PAGE = 0x4000;
export const AN1_CLOCK = 0x4000;
export const AN1_CLOCK_HI = 0x4004;

// BQI table: entry i at 0x10000 + 0x400·i.
export const AN1_BQI_TABLE = 0x10000;
export const AN1_BQI_STRIDE = 0x400;
export const BQ_CTRL = 0x000;
export const BQ_POSTED = 0x004;
export const BQ_FILLED = 0x008;
export const BQ_DROPS = 0x00c;
export const BQ_DESC_ADDR0 = 0x100;
export const BQ_DESC_STRIDE = 8;
export const BQ_CTRL_ENABLE = 0x1;
export const BQ_CTRL_RINGLOG2_SHIFT = 8;

export const AN1_NBQI_VALUE = 64;
export const AN1_RINGSLOTS_VALUE = 64;
export const AN1_TXQ_ENTRIES = 32;
export const AN1_RXC_ENTRIES = 128;
export const AN1_HEADER_BYTES = 20;
export const AN1_MAXFRAME_DEFAULT = 1520;
export const AN1_MAXFRAME_CEILING = 4096;

/** Completion status codes (RXC_POP bits 19..16). */
export const AN1_RX_OK = 0;
export const AN1_RX_TRUNCATED = 2;
export const AN1_RX_REDIRECTED = 3;
export const AN1_RX_BUFFER_ERROR = 4;
export const AN1_RX_DMA_ERROR = 5;
export type An1RxStatus = 0 | 1 | 2 | 3 | 4 | 5;

/** Link header (20 bytes, big-endian fields). */
export const AN1_HDR_DST_SHORT = 0;
export const AN1_HDR_DST_BQI = 2;
export const AN1_HDR_DST_UID = 4;
export const AN1_HDR_SRC_UID = 10;
export const AN1_HDR_TYPE = 16;
export const AN1_HDR_SPARE = 18;

export function bqiReg(bqi: number, reg: number): number {
  return AN1_BQI_TABLE + AN1_BQI_STRIDE * bqi + reg;
}
export function descAddrReg(bqi: number, slot: number): number {
  return AN1_BQI_TABLE + AN1_BQI_STRIDE * bqi + BQ_DESC_ADDR0 + BQ_DESC_STRIDE * slot;
}
