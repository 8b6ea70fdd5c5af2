/**
 * Am7990 LANCE register and memory-structure layouts, declared once as data with the datasheet's
 * names (../shared/hw/lance-pmad-aa.md §1–3; source keys there). The chip model and the layout
 * test read these tables; drivers and device tests declare their own constants.
 *
 * Register-file offsets here are the CSR numbers (the chip has no address map of its own: the
 * host reaches CSRn by writing n to RAP and then accessing RDP).
 */
import type { RegisterDef } from '../../bits/register-file.ts';

/** CSR0 bit masks (§1.2). */
export const CSR0 = {
  ERR: 0x8000,
  BABL: 0x4000,
  CERR: 0x2000,
  MISS: 0x1000,
  MERR: 0x0800,
  RINT: 0x0400,
  TINT: 0x0200,
  IDON: 0x0100,
  INTR: 0x0080,
  INEA: 0x0040,
  RXON: 0x0020,
  TXON: 0x0010,
  TDMD: 0x0008,
  STOP: 0x0004,
  STRT: 0x0002,
  INIT: 0x0001,
} as const;

/** ERR is the live OR of these (§1.2). */
export const CSR0_ERR_SOURCES = CSR0.BABL | CSR0.CERR | CSR0.MISS | CSR0.MERR;
/** INTR is the live OR of these: CERR is not among them (§1.2, §7 #5). */
export const CSR0_INTR_SOURCES = CSR0.BABL | CSR0.MISS | CSR0.MERR | CSR0.RINT | CSR0.TINT | CSR0.IDON;

/** CSR3 bits (§1.3): bus-interface options; PMAD-AA requires 0. */
export const CSR3 = { BSWP: 0x0004, ACON: 0x0002, BCON: 0x0001 } as const;

export const LANCE_CSRS: readonly RegisterDef[] = [
  {
    name: 'CSR0',
    offset: 0,
    width: 16,
    reset: CSR0.STOP,
    access: 'ro',
    fields: [
      { name: 'ERR', lsb: 15, width: 1, access: 'ro' },
      { name: 'BABL', lsb: 14, width: 1, access: 'w1c' },
      { name: 'CERR', lsb: 13, width: 1, access: 'w1c' },
      { name: 'MISS', lsb: 12, width: 1, access: 'w1c' },
      { name: 'MERR', lsb: 11, width: 1, access: 'w1c' },
      { name: 'RINT', lsb: 10, width: 1, access: 'w1c' },
      { name: 'TINT', lsb: 9, width: 1, access: 'w1c' },
      { name: 'IDON', lsb: 8, width: 1, access: 'w1c' },
      { name: 'INTR', lsb: 7, width: 1, access: 'ro' },
      { name: 'INEA', lsb: 6, width: 1, access: 'rw' },
      { name: 'RXON', lsb: 5, width: 1, access: 'ro' },
      { name: 'TXON', lsb: 4, width: 1, access: 'ro' },
      { name: 'TDMD', lsb: 3, width: 1, access: 'set-only' },
      { name: 'STOP', lsb: 2, width: 1, access: 'set-only' },
      { name: 'STRT', lsb: 1, width: 1, access: 'set-only' },
      { name: 'INIT', lsb: 0, width: 1, access: 'set-only' },
    ],
  },
  // IADR[15:0]; bit 0 is stored but ignored (the init block is word aligned).
  { name: 'CSR1', offset: 1, width: 16, reset: 0, access: 'rw' },
  // IADR[23:16] in 7:0; 15:8 stay writable on the Am7990 (MAME, a MIPS RS2030 diagnostic needs it).
  { name: 'CSR2', offset: 2, width: 16, reset: 0, access: 'rw' },
  {
    name: 'CSR3',
    offset: 3,
    width: 16,
    reset: 0,
    access: 'reserved',
    fields: [
      { name: 'BSWP', lsb: 2, width: 1, access: 'rw' },
      { name: 'ACON', lsb: 1, width: 1, access: 'rw' },
      { name: 'BCON', lsb: 0, width: 1, access: 'rw' },
    ],
  },
];

/** CSR1–3 are writable only while CSR0.STOP = 1; otherwise the write is ignored (guest error). */
export const CSRS_WRITABLE_ONLY_WHILE_STOPPED = ['CSR1', 'CSR2', 'CSR3'] as const;

/** RAP: bits 1:0 select CSR0..3 and read back exactly (§1.1, §7 #18). */
export const LANCE_RAP: readonly RegisterDef[] = [
  { name: 'RAP', offset: 0, width: 16, reset: 0, access: 'reserved', fields: [{ name: 'CSR', lsb: 0, width: 2, access: 'rw' }] },
];

/** Initialization block: 12 little-endian words (§2). Byte offsets. */
export const INIT_BLOCK = {
  MODE: 0x00,
  PADR: 0x02,
  LADRF: 0x08,
  RDRA_LO: 0x10,
  RDRA_HI: 0x12,
  TDRA_LO: 0x14,
  TDRA_HI: 0x16,
  BYTES: 24,
} as const;

/** MODE word (§2.1). */
export const MODE = {
  PROM: 0x8000,
  /** Bits 14:8 are reserved on the Am7990; bit 7 (EMBA) is C-LANCE only. */
  RESERVED: 0x7f80,
  INTL: 0x0040,
  DRTY: 0x0020,
  COLL: 0x0010,
  DTCR: 0x0008,
  LOOP: 0x0004,
  DTX: 0x0002,
  DRX: 0x0001,
} as const;

/** The ring-pointer high word: RLEN/TLEN in 15:13, reserved 12:8, address 23:16 in 7:0. */
export const RING_WORD = { LEN_SHIFT: 13, RESERVED: 0x1f00, ADDR_HI: 0x00ff } as const;
/** Ring bases are 8-byte aligned (low 3 bits ignored); the init block is word aligned (§7 #14). */
export const RING_ALIGN_MASK = 0xfffff8;
export const INIT_ALIGN_MASK = 0xfffffe;
export const LANCE_ADDRESS_MASK = 0xffffff;
export const RING_ENTRIES_MAX = 128;

/** Descriptors: 8 bytes, four little-endian words (§3). Byte offsets within a descriptor. */
export const DESC = { LADR: 0, FLAGS: 2, BCNT: 4, MISC: 6, BYTES: 8 } as const;

/** RMD1 / TMD1 high byte: status; low byte: HADR (address 23:16). */
export const RMD1 = {
  OWN: 0x8000,
  ERR: 0x4000,
  FRAM: 0x2000,
  OFLO: 0x1000,
  CRC: 0x0800,
  BUFF: 0x0400,
  STP: 0x0200,
  ENP: 0x0100,
  HADR: 0x00ff,
} as const;

export const TMD1 = {
  OWN: 0x8000,
  ERR: 0x4000,
  RES: 0x2000,
  MORE: 0x1000,
  ONE: 0x0800,
  DEF: 0x0400,
  STP: 0x0200,
  ENP: 0x0100,
  HADR: 0x00ff,
} as const;

/** TMD3 (§3.2). */
export const TMD3 = {
  BUFF: 0x8000,
  UFLO: 0x4000,
  RES: 0x2000,
  LCOL: 0x1000,
  LCAR: 0x0800,
  RTRY: 0x0400,
  TDR: 0x03ff,
} as const;

/** RMD2/TMD2: ONES nibble (ignored by the hardware) and 12-bit two's-complement BCNT; RMD3: MCNT. */
export const BCNT_MASK = 0x0fff;
export const ONES_NIBBLE = 0xf000;
export const MCNT_MASK = 0x0fff;

/** Decode a BCNT field: two's complement in 12 bits; 0 means 4096 on the Am7990 (§3.3). */
export function bcntLength(word: number): number {
  const n = (-(word & BCNT_MASK)) & BCNT_MASK;
  return n === 0 ? 4096 : n;
}

/** Ethernet sizes the chip enforces or reports on (§3.3, §6.1). */
export const ETHER = {
  MIN_FRAME: 64,
  MAX_FRAME: 1518,
  FCS: 4,
  ADDR: 6,
  /** Unchained transmit buffer minimum when the chip appends the FCS. */
  MIN_TX_DATA: 60,
  /** Loopback frames the Am7990 accepts, excluding FCS (MAME). */
  LOOP_MIN: 8,
  LOOP_MAX: 32,
} as const;
