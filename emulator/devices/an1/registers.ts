/**
 * The AN1 TURBOchannel controller's register map and link header, declared once as data.
 *
 * Source: ../shared/hw/an1-autonet.md §8 (a PROPOSAL: no public AN1 register map exists; every
 * choice there agrees with the paper's §3.3, §3.4, §4). Where this file adds to §8 the entry says
 * "addition" and why. Registers are little-endian 32-bit words, 32-bit aligned (§8.1); the link
 * header's multi-byte fields are big-endian (network order, like the EtherType in TYPE), a
 * choice §8.4 leaves open.
 *
 * Drivers and tests must NOT import this file: they declare their own constants, and a layout
 * test compares the two (DESIGN.md "Devices").
 */
import type { RegisterDef } from '../../bits/register-file.ts';

/**
 * True when a host write can change any bit of `def`: its own access kind or one of its fields
 * is rw, w1c, set-only or wo. A write to a register with no such bit (UID_HI, NBQI, the counters,
 * BQ_FILLED…) is a guest error in the controller, whatever the register's declared shape.
 */
export function hostWritable(def: RegisterDef): boolean {
  const writable = (a: RegisterDef['access']): boolean => a === 'rw' || a === 'w1c' || a === 'set-only' || a === 'wo';
  const fields = def.fields ?? [];
  const widthBits = def.width;
  const covered = fields.reduce((n, f) => n + f.width, 0);
  return fields.some((f) => writable(f.access)) || (covered < widthBits && writable(def.access));
}

// ---- Pages (offsets from the slot base; each page can be mapped alone, §8.2) -----------------

export const AN1_PAGE = {
  rom: 0x0000,
  csr: 0x1000,
  tx: 0x2000,
  rxc: 0x3000,
  /** Nothing but the 40 ns clock: the kernel may map it read-only into any task (P §4). */
  clock: 0x4000,
  /** 64 entries of 0x400 bytes: the BQI table and the on-board receive descriptors (P §3.3). */
  bqiTable: 0x10000,
} as const;
export const AN1_PAGE_SIZE = 0x1000;
export const AN1_BQI_ENTRY_STRIDE = 0x400;
/** Offsets [0, AN1_DECODED_BYTES) decode to something; the rest of the 4 MB slot reads 0. */
export const AN1_DECODED_BYTES = AN1_PAGE.bqiTable + 64 * AN1_BQI_ENTRY_STRIDE;

// ---- Sizes and limits (§8.2) ----------------------------------------------------------------

export const AN1_LIMITS = {
  /** BQI table entries (NBQI). */
  bqiCount: 64,
  /** Descriptor slots per BQI (RINGSLOTS); a ring uses 2^k of them, k ≤ 6. */
  ringSlotsMax: 64,
  ringLog2Max: 6,
  /** On-board transmit queue entries. */
  txQueueEntries: 32,
  /** Receive completion FIFO entries. */
  rxcEntries: 128,
  /** Link header bytes (§8.4) and the hardware CRC that follows the frame on the wire. */
  headerBytes: 20,
  crcBytes: 4,
  /** MAXFRAME at reset: 1500-byte payload + 20-byte header (P §4), and its ceiling. */
  maxFrameReset: 1520,
  maxFrameCeiling: 4096,
  /**
   * Addition: frames the receiver can hold on board while the firmware and the receive DMA are
   * busy (16 KB of staging at the 4096-byte ceiling). Invented; a limit on everything.
   */
  rxStagingFrames: 4,
  /** Addition: on-board transmit buffers (double buffering: DMA of k+1 during the wire of k). */
  txBuffers: 2,
} as const;

// ---- Option ROM (§8.1; TC ROM header at 0x3E0 per tcreg.h) ----------------------------------

export const AN1_ROM_IDENTITY = {
  module: 'AN1-TC  ',
  vendor: 'DEC     ',
  firmwareRevision: 'V1.0    ',
  firmwareType: 'TCF0',
  romSize8k: 1,
  slotSize4m: 1,
} as const;

// ---- Control/status page (0x1000) -----------------------------------------------------------

export const CSR_BITS = {
  RESET: 1 << 0,
  RXEN: 1 << 1,
  TXEN: 1 << 2,
  INTEN: 1 << 3,
  LOOPBACK: 1 << 4,
  LINKUP: 1 << 8,
  ALTPORT: 1 << 9,
} as const;

export const ISR_BITS = {
  RXDONE: 1 << 0,
  TXDONE: 1 << 1,
  RXDROP: 1 << 2,
  RXERR: 1 << 3,
  TXERR: 1 << 4,
  LINKCHG: 1 << 5,
} as const;
const ISR_FIELDS = [
  { name: 'RXDONE', lsb: 0, width: 1, access: 'w1c' },
  { name: 'TXDONE', lsb: 1, width: 1, access: 'w1c' },
  { name: 'RXDROP', lsb: 2, width: 1, access: 'w1c' },
  { name: 'RXERR', lsb: 3, width: 1, access: 'w1c' },
  { name: 'TXERR', lsb: 4, width: 1, access: 'w1c' },
  { name: 'LINKCHG', lsb: 5, width: 1, access: 'w1c' },
] as const;

/** FWREV bit 31: BQI firmware present (P Acknowledgments: "added the BQI firmware"). */
export const FWREV_BQI_PRESENT = 0x8000_0000;

export const CSR_PAGE_REGS: readonly RegisterDef[] = [
  {
    name: 'CSR',
    offset: 0x00,
    width: 32,
    reset: 0,
    access: 'reserved',
    fields: [
      { name: 'RESET', lsb: 0, width: 1, access: 'set-only' }, // self-clearing: the device clears it
      { name: 'RXEN', lsb: 1, width: 1, access: 'rw' },
      { name: 'TXEN', lsb: 2, width: 1, access: 'rw' },
      { name: 'INTEN', lsb: 3, width: 1, access: 'rw' },
      { name: 'LOOPBACK', lsb: 4, width: 1, access: 'rw' },
      { name: 'LINKUP', lsb: 8, width: 1, access: 'ro' },
      { name: 'ALTPORT', lsb: 9, width: 1, access: 'ro' },
    ],
  },
  { name: 'ISR', offset: 0x04, width: 32, reset: 0, access: 'reserved', fields: ISR_FIELDS },
  {
    name: 'IMR',
    offset: 0x08,
    width: 32,
    reset: 0,
    access: 'reserved',
    fields: ISR_FIELDS.map((f) => ({ ...f, access: 'rw' as const })),
  },
  { name: 'UID_LO', offset: 0x0c, width: 32, reset: 0, access: 'ro' },
  { name: 'UID_HI', offset: 0x10, width: 32, reset: 0, access: 'reserved', fields: [{ name: 'UID', lsb: 0, width: 16, access: 'ro' }] },
  { name: 'SHORTADDR', offset: 0x14, width: 32, reset: 0, access: 'reserved', fields: [{ name: 'ADDR', lsb: 0, width: 16, access: 'rw' }] },
  // Writes outside [headerBytes, maxFrameCeiling] are refused by the device (guest error).
  { name: 'MAXFRAME', offset: 0x18, width: 32, reset: 1520, access: 'reserved', fields: [{ name: 'BYTES', lsb: 0, width: 13, access: 'rw' }] },
  { name: 'NBQI', offset: 0x1c, width: 32, reset: 64, access: 'ro' },
  { name: 'RINGSLOTS', offset: 0x20, width: 32, reset: 64, access: 'ro' },
  { name: 'FWREV', offset: 0x24, width: 32, reset: 0, access: 'ro' },
  // Counters: clear on (timed) read, saturate at 2^32 - 1.
  { name: 'DROPS', offset: 0x28, width: 32, reset: 0, access: 'ro' },
  // Additions (error counters the issue asks for; same clear-on-read rule as DROPS):
  /** frames discarded by the firmware for a bad CRC or a length outside [20, MAXFRAME] */
  { name: 'RXERRS', offset: 0x2c, width: 32, reset: 0, access: 'ro' },
  /** DMA transfers refused because the host address range is not RAM (receive and transmit) */
  { name: 'DMAERRS', offset: 0x30, width: 32, reset: 0, access: 'ro' },
  /** descriptors rejected (unaligned address, zero length) and refused BQ_POSTED writes */
  { name: 'DESCERRS', offset: 0x34, width: 32, reset: 0, access: 'ro' },
  /** frames lost because RXEN was clear, the staging buffer or the completion FIFO was full */
  { name: 'OVERRUNS', offset: 0x38, width: 32, reset: 0, access: 'ro' },
  /** frames delivered into host buffers since reset (mod 2^32; not cleared on read) */
  { name: 'RXFRAMES', offset: 0x3c, width: 32, reset: 0, access: 'ro' },
];
export const CLEAR_ON_READ_REGS = ['DROPS', 'RXERRS', 'DMAERRS', 'DESCERRS', 'OVERRUNS'] as const;

// ---- Transmit page (0x2000) -----------------------------------------------------------------

export const TX_STATUS = {
  OK: 0,
  /** the frame's host range is not RAM, or TX_ADDR is not 4-byte aligned */
  DMA_ERROR: 1,
  TOO_LONG: 2,
  /** addition: shorter than the 20-byte link header */
  TOO_SHORT: 3,
} as const;

export const TX_PAGE_REGS: readonly RegisterDef[] = [
  { name: 'TX_ADDR', offset: 0x00, width: 32, reset: 0, access: 'rw' },
  /** Writing TX_LEN enqueues (TX_ADDR, TX_LEN); a write to a full queue is refused. */
  { name: 'TX_LEN', offset: 0x04, width: 32, reset: 0, access: 'rw' },
  { name: 'TX_FREE', offset: 0x08, width: 32, reset: 32, access: 'ro' },
  { name: 'TX_DONE', offset: 0x0c, width: 32, reset: 0, access: 'ro' },
  { name: 'TX_STATUS', offset: 0x10, width: 32, reset: 0, access: 'ro' },
  /** addition: frames refused (status ≠ 0) since reset, mod 2^32; TX_DONE + TX_FAILED = retired */
  { name: 'TX_FAILED', offset: 0x14, width: 32, reset: 0, access: 'ro' },
  /**
   * addition (two-part frames, for the network I/O module's checked headers, docs/netio.md): when
   * TX_HDR_LEN ≠ 0 at the TX_LEN write, the entry's first TX_HDR_LEN bytes are DMAed from
   * TX_HDR_ADDR (4-byte aligned) and the remaining TX_LEN − TX_HDR_LEN from TX_ADDR; the enqueue
   * clears TX_HDR_LEN. A TX_HDR_LEN above TX_LEN is clamped to it (guest error).
   */
  { name: 'TX_HDR_ADDR', offset: 0x18, width: 32, reset: 0, access: 'rw' },
  { name: 'TX_HDR_LEN', offset: 0x1c, width: 32, reset: 0, access: 'rw' },
];

// ---- Receive completion FIFO (0x3000) -------------------------------------------------------

export const RXC_EMPTY = 0xffff_ffff;
/** RXC_POP entry: bits 31..26 BQI, 25..20 slot, 19..16 status, 15..0 byte count incl. header. */
export const RXC_FIELDS = {
  bqi: { lsb: 26, width: 6 },
  slot: { lsb: 20, width: 6 },
  status: { lsb: 16, width: 4 },
  length: { lsb: 0, width: 16 },
} as const;
export const RX_STATUS = {
  OK: 0,
  /** never posted: frames failing CRC are discarded (see controller.ts header) */
  CRC_ERROR: 1,
  TRUNCATED: 2,
  /** the frame's BQI was out of range or disabled: delivered on BQI 0 instead */
  REDIRECTED: 3,
  /** addition: the descriptor was unaligned or zero-length; nothing written, slot consumed */
  BUFFER_ERROR: 4,
  /** addition: the buffer is not RAM; nothing written, slot consumed */
  DMA_ERROR: 5,
} as const;

export function packCompletion(bqi: number, slot: number, status: number, length: number): number {
  return ((bqi << 26) | (slot << 20) | (status << 16) | (length & 0xffff)) >>> 0;
}

export const RXC_PAGE_REGS: readonly RegisterDef[] = [
  { name: 'RXC_POP', offset: 0x00, width: 32, reset: RXC_EMPTY, access: 'ro' },
  { name: 'RXC_COUNT', offset: 0x04, width: 32, reset: 0, access: 'ro' },
];

// ---- Clock page (0x4000) --------------------------------------------------------------------

export const CLOCK_PAGE_REGS: readonly RegisterDef[] = [
  /** +1 every 40 ns from power-on (P §4); wraps every 2^32 × 40 ns ≈ 171.8 s */
  { name: 'CLOCK', offset: 0x00, width: 32, reset: 0, access: 'ro' },
  /** upper 32 bits, latched when CLOCK is read (§8.2 marks it an emulator convenience) */
  { name: 'CLOCK_HI', offset: 0x04, width: 32, reset: 0, access: 'ro' },
];

// ---- BQI table entry (0x10000 + i × 0x400) --------------------------------------------------

export const BQ_CTRL_BITS = { ENABLE: 1 << 0, RINGLOG2_SHIFT: 8, RINGLOG2_MASK: 0x3f << 8 } as const;
export const BQ_DESC_BASE = 0x100;
export const BQ_DESC_STRIDE = 8;

function bqiEntryRegs(): RegisterDef[] {
  const regs: RegisterDef[] = [
    {
      name: 'BQ_CTRL',
      offset: 0x000,
      width: 32,
      reset: 0,
      access: 'reserved',
      fields: [
        { name: 'ENABLE', lsb: 0, width: 1, access: 'rw' },
        // log2(ring size); values above 6 are refused by the device (guest error)
        { name: 'RINGLOG2', lsb: 8, width: 6, access: 'rw' },
      ],
    },
    // Host writes descriptors first, then bumps BQ_POSTED (mod 2^16); empty ⇔ POSTED == FILLED.
    { name: 'BQ_POSTED', offset: 0x004, width: 32, reset: 0, access: 'reserved', fields: [{ name: 'COUNT', lsb: 0, width: 16, access: 'rw' }] },
    { name: 'BQ_FILLED', offset: 0x008, width: 32, reset: 0, access: 'reserved', fields: [{ name: 'COUNT', lsb: 0, width: 16, access: 'ro' }] },
    { name: 'BQ_DROPS', offset: 0x00c, width: 32, reset: 0, access: 'ro' },
  ];
  for (let k = 0; k < AN1_LIMITS.ringSlotsMax; k++) {
    regs.push({ name: `DESC_ADDR${k}`, offset: BQ_DESC_BASE + BQ_DESC_STRIDE * k, width: 32, reset: 0, access: 'rw' });
    regs.push({ name: `DESC_LEN${k}`, offset: BQ_DESC_BASE + BQ_DESC_STRIDE * k + 4, width: 32, reset: 0, access: 'rw' });
  }
  return regs;
}
export const BQI_ENTRY_REGS: readonly RegisterDef[] = bqiEntryRegs();
/** BQ_CTRL at reset for BQI 0: enabled, ring of 64 (§8.2: "BQI 0 is enabled at reset"). */
export const BQ_CTRL_RESET_BQI0 = BQ_CTRL_BITS.ENABLE | (AN1_LIMITS.ringLog2Max << BQ_CTRL_BITS.RINGLOG2_SHIFT);

// ---- Link header (§8.4), big-endian fields --------------------------------------------------

export const LINK_HEADER = {
  DST_SHORT: 0,
  DST_BQI: 2,
  DST_UID: 4,
  SRC_UID: 10,
  TYPE: 16,
  SPARE: 18,
} as const;
export const ETHERTYPE = { IPV4: 0x0800, ARP: 0x0806 } as const;
