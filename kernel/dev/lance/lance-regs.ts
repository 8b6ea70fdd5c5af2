/**
 * The driver's own view of the PMAD-AA and its Am7990 — constants written from the register
 * descriptions (../shared/hw/lance-pmad-aa.md §1–4), deliberately not imported from the device
 * model, so a transcription mistake on one side cannot agree with itself (STYLE.md).
 */

/** Offsets within the option's TURBOchannel slot. */
export const PMAD = {
  SRAM: 0x000000,
  SRAM_BYTES: 0x20000,
  RDP: 0x100000,
  RAP: 0x100004,
  /** ESAR byte n is in byte lane 2 of longword n. */
  ESAR: 0x1c0002,
  ESAR_STRIDE: 4,
  /** Option-ROM module name: 8 characters, one per longword, lane 0. */
  ROM_MODULE: 0x1c0440,
} as const;

export const MODULE_NAMES = ['PMAD-AA '] as const;

export const LE_CSR0 = {
  ERR: 1 << 15,
  BABL: 1 << 14,
  CERR: 1 << 13,
  MISS: 1 << 12,
  MERR: 1 << 11,
  RINT: 1 << 10,
  TINT: 1 << 9,
  IDON: 1 << 8,
  INTR: 1 << 7,
  INEA: 1 << 6,
  RXON: 1 << 5,
  TXON: 1 << 4,
  TDMD: 1 << 3,
  STOP: 1 << 2,
  STRT: 1 << 1,
  INIT: 1 << 0,
} as const;

export const LE_MODE = { PROM: 1 << 15, INTL: 1 << 6, DRTY: 1 << 5, COLL: 1 << 4, DTCR: 1 << 3, LOOP: 1 << 2, DTX: 1 << 1, DRX: 1 << 0 } as const;

/** Receive descriptor flag word (RMD1). */
export const LE_RMD1 = { OWN: 1 << 15, ERR: 1 << 14, FRAM: 1 << 13, OFLO: 1 << 12, CRC: 1 << 11, BUFF: 1 << 10, STP: 1 << 9, ENP: 1 << 8 } as const;
/** Transmit descriptor flag word (TMD1) and status word (TMD3). */
export const LE_TMD1 = { OWN: 1 << 15, ERR: 1 << 14, MORE: 1 << 12, ONE: 1 << 11, DEF: 1 << 10, STP: 1 << 9, ENP: 1 << 8 } as const;
export const LE_TMD3 = { BUFF: 1 << 15, UFLO: 1 << 14, LCOL: 1 << 12, LCAR: 1 << 11, RTRY: 1 << 10, TDR_MASK: 0x3ff } as const;

/** Descriptor word offsets (8-byte descriptors: address low, flags|address high, BCNT, MCNT/status). */
export const LE_DESC_BYTES = 8;
export const LE_D_ADDR = 0;
export const LE_D_FLAGS = 2;
export const LE_D_BCNT = 4;
export const LE_D_MISC = 6;

/** Init block word offsets. */
export const LE_IB = { MODE: 0, PADR: 2, LADRF: 8, RDRA: 16, RLEN: 18, TDRA: 20, TLEN: 22, BYTES: 24 } as const;

/** BCNT for a buffer of n bytes: ONES nibble and 12-bit two's complement. */
export function leBcnt(n: number): number {
  return 0xf000 | (-n & 0x0fff);
}

export const ETHER_MIN_DATA = 60;
export const ETHER_MAX_DATA = 1514;
export const ETHER_FCS = 4;
