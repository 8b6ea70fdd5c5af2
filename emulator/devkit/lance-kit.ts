/**
 * The LANCE (Am7990 on a PMAD-AA) as a driver developer reaches it: RAP/RDP and CSR0-3 by their
 * datasheet names, the 128 KB board buffer, the station-address ROM, and helpers that lay out the
 * init block and descriptors the way the datasheet draws them.
 *
 * Datasheet: AMD "Am7990 Local Area Network Controller for Ethernet (LANCE)" data sheet (register,
 * init-block and descriptor layouts), and DEC "PMAD-AA TURBOchannel Ethernet Module Functional
 * Specification" (board map), as digested in ../shared/hw/lance-pmad-aa.md. The constants below are
 * the devkit's own transcription (a layout test compares them with the model's tables), so one
 * transcription mistake cannot agree with itself.
 *
 * Every access goes through the host's physical bus as a driver's would. Outside a CPU burst (the
 * devkit's normal use) an access is untimed and takes effect at the scheduler's `now`.
 */
import type { AccessSize } from '../bus/index.ts';
import type { PmadAa } from '../devices/lance/pmad-aa.ts';
import type { SystemBus } from '../host/system-bus.ts';
import { decodeBits, type RegisterNamer } from './access-log.ts';

/** CSR0 bits (Am7990 data sheet, CSR0). */
export const CSR0 = {
  ERR: 0x8000, BABL: 0x4000, CERR: 0x2000, MISS: 0x1000, MERR: 0x0800, RINT: 0x0400, TINT: 0x0200, IDON: 0x0100,
  INTR: 0x0080, INEA: 0x0040, RXON: 0x0020, TXON: 0x0010, TDMD: 0x0008, STOP: 0x0004, STRT: 0x0002, INIT: 0x0001,
} as const;
/** CSR3 bits. */
export const CSR3 = { BSWP: 0x0004, ACON: 0x0002, BCON: 0x0001 } as const;
/** Init-block MODE word. */
export const MODE = { PROM: 0x8000, INTL: 0x0040, DRTY: 0x0020, COLL: 0x0010, DTCR: 0x0008, LOOP: 0x0004, DTX: 0x0002, DRX: 0x0001 } as const;
/** RMD1 (receive descriptor word 1, high byte = status, low byte = HADR). */
export const RMD1 = { OWN: 0x8000, ERR: 0x4000, FRAM: 0x2000, OFLO: 0x1000, CRC: 0x0800, BUFF: 0x0400, STP: 0x0200, ENP: 0x0100 } as const;
/** TMD1. */
export const TMD1 = { OWN: 0x8000, ERR: 0x4000, RES: 0x2000, MORE: 0x1000, ONE: 0x0800, DEF: 0x0400, STP: 0x0200, ENP: 0x0100 } as const;
/** TMD3 (errors; TDR in bits 9:0). */
export const TMD3 = { BUFF: 0x8000, UFLO: 0x4000, RES: 0x2000, LCOL: 0x1000, LCAR: 0x0800, RTRY: 0x0400 } as const;

/** PMAD-AA slot-relative offsets (DEC PMAD-AA functional spec, as cited by public drivers). */
export const PMAD = { RDP: 0x100000, RAP: 0x100004, ESAR: 0x1c0000, SRAM_BYTES: 128 * 1024 } as const;

export type LanceRegister = 'RAP' | 'CSR0' | 'CSR1' | 'CSR2' | 'CSR3';

/** A 16-bit BCNT field: two's complement of the length with the ONES nibble set. */
export const bcnt = (length: number): number => 0xf000 | (-length & 0x0fff);

export interface InitBlock {
  readonly mode?: number;
  /** Station address (6 bytes, wire order). */
  readonly padr: Uint8Array;
  /** LADRF as four 16-bit words (default all zero: no multicast). */
  readonly ladrf?: readonly [number, number, number, number];
  /** Receive ring: base (8-byte aligned LANCE address) and log2 of its length (0..7). */
  readonly rx: { readonly base: number; readonly log2: number };
  readonly tx: { readonly base: number; readonly log2: number };
}

/** One descriptor as the datasheet draws it (word 0 LADR, word 1 flags|HADR, word 2 BCNT, word 3). */
export interface Descriptor {
  /** Buffer address (24 bits: LADR and HADR). */
  readonly addr: number;
  /** Word 1 status bits (OWN, ERR, STP, ENP, ...), without HADR. */
  readonly flags: number;
  /** Buffer length in bytes (decoded from BCNT; 0 encodes 4096). */
  readonly length: number;
  /** Word 3: MCNT for a receive descriptor (bits 11:0), TMD3 error bits for a transmit one. */
  readonly word3: number;
}

export const LANCE_NAMER_BITS: Readonly<Record<string, Readonly<Record<string, number>>>> = { CSR0, CSR3 };

export class LanceKit {
  readonly base: number;

  constructor(
    private readonly bus: SystemBus,
    readonly board: PmadAa,
    readonly slot: number,
    slotBase: number,
  ) {
    this.base = slotBase;
  }

  // ---- registers by name ------------------------------------------------------------------

  /** Read a register by name: `RAP`, or CSRn (writes n to RAP first when RAP holds another). */
  read(reg: LanceRegister): number {
    if (reg === 'RAP') return this.bus.read16(this.base + PMAD.RAP);
    this.select(reg);
    return this.bus.read16(this.base + PMAD.RDP);
  }

  write(reg: LanceRegister, value: number): void {
    if (reg === 'RAP') {
      this.bus.write16(this.base + PMAD.RAP, value);
      return;
    }
    this.select(reg);
    this.bus.write16(this.base + PMAD.RDP, value);
  }

  /** RDP as it stands (whatever RAP selects): the interrupt handler's CSR0 read. */
  readRdp(): number {
    return this.bus.read16(this.base + PMAD.RDP);
  }
  writeRdp(value: number): void {
    this.bus.write16(this.base + PMAD.RDP, value);
  }

  /** CSR0 functionally (no bus access, no log entry, RAP untouched): for run-until predicates. */
  peekCsr0(): number {
    return this.board.chip.csr0;
  }

  private select(reg: Exclude<LanceRegister, 'RAP'>): void {
    const n = Number(reg.slice(3));
    // A driver keeps RAP where it is; so does the kit (RAP reads back what was written).
    if ((this.board.chip.readRap() & 3) !== n) this.bus.write16(this.base + PMAD.RAP, n);
  }

  // ---- board memory -------------------------------------------------------------------------

  write16(addr: number, value: number): void {
    this.bus.write16(this.base + addr, value);
  }
  read16(addr: number): number {
    return this.bus.read16(this.base + addr);
  }
  writeBytes(addr: number, src: Uint8Array): void {
    this.bus.writeBlock(this.base + addr, src);
  }
  readBytes(addr: number, length: number): Uint8Array {
    const d = new Uint8Array(length);
    this.bus.readBlock(this.base + addr, d);
    return d;
  }

  /** The station address from the ESAR ROM (byte n in lane 2 of longword n). */
  stationAddress(): Uint8Array {
    const mac = new Uint8Array(6);
    for (let n = 0; n < 6; n++) mac[n] = this.bus.read8(this.base + PMAD.ESAR + 4 * n + 2);
    return mac;
  }

  /** Write the 24-byte init block at `addr` (MODE, PADR, LADRF, RDRA/RLEN, TDRA/TLEN). */
  writeInitBlock(addr: number, ib: InitBlock): void {
    this.write16(addr + 0x00, ib.mode ?? 0);
    for (let i = 0; i < 3; i++) this.write16(addr + 2 + 2 * i, ib.padr[2 * i]! | (ib.padr[2 * i + 1]! << 8));
    const ladrf = ib.ladrf ?? [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) this.write16(addr + 8 + 2 * i, ladrf[i]!);
    this.write16(addr + 0x10, ib.rx.base & 0xffff);
    this.write16(addr + 0x12, ((ib.rx.log2 & 7) << 13) | ((ib.rx.base >>> 16) & 0xff));
    this.write16(addr + 0x14, ib.tx.base & 0xffff);
    this.write16(addr + 0x16, ((ib.tx.log2 & 7) << 13) | ((ib.tx.base >>> 16) & 0xff));
  }

  /**
   * Write descriptor `index` of the ring at `ringBase`: LADR, BCNT, word 3, then word 1 (OWN last,
   * as the datasheet asks of the host).
   */
  writeDescriptor(ringBase: number, index: number, d: { addr: number; length: number; flags: number; word3?: number }): void {
    const at = ringBase + 8 * index;
    this.write16(at + 0, d.addr & 0xffff);
    this.write16(at + 4, bcnt(d.length));
    this.write16(at + 6, d.word3 ?? 0);
    this.write16(at + 2, (d.flags & 0xff00) | ((d.addr >>> 16) & 0xff));
  }

  readDescriptor(ringBase: number, index: number): Descriptor {
    const at = ringBase + 8 * index;
    const w0 = this.read16(at);
    const w1 = this.read16(at + 2);
    const n = this.read16(at + 4) & 0x0fff;
    return { addr: ((w1 & 0xff) << 16) | w0, flags: w1 & 0xff00, length: n === 0 ? 4096 : 0x1000 - n, word3: this.read16(at + 6) };
  }
}

/** Names for the access log: RDP accesses are named by the CSR that RAP selects at that moment. */
export function lanceNamer(board: PmadAa): RegisterNamer {
  return {
    name(offset: number, _size: AccessSize): string | undefined {
      if (offset >= PMAD.RDP && offset < PMAD.RDP + 4) return `CSR${board.chip.readRap() & 3}`;
      if (offset >= PMAD.RAP && offset < PMAD.RAP + 4) return 'RAP';
      if (offset >= PMAD.ESAR && offset < PMAD.ESAR + 0x80) return `ESAR[${(offset - PMAD.ESAR) >>> 2}]`;
      return undefined;
    },
    decode(register: string, value: number): string {
      const bits = LANCE_NAMER_BITS[register];
      return bits === undefined ? '' : decodeBits(bits, value);
    },
  };
}
