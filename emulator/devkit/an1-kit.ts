/**
 * The AN1 controller as a driver developer reaches it: registers by the names of the proposed
 * register map (docs/an1.md; ../shared/hw/an1-autonet.md §8 — no public map of the real board
 * exists), the BQI table by (BQI, register), and helpers for descriptor posting and the receive
 * completion FIFO. The offsets are the devkit's own transcription of docs/an1.md; a layout test
 * compares them with the model's tables.
 *
 * Every access is an aligned 32-bit access through the host's physical bus, as a driver's is.
 */
import type { AccessSize } from '../bus/index.ts';
import type { SystemBus } from '../host/system-bus.ts';
import { decodeBits, type RegisterNamer } from './access-log.ts';

export const AN1_REGS = {
  CSR: 0x1000, ISR: 0x1004, IMR: 0x1008, UID_LO: 0x100c, UID_HI: 0x1010, SHORTADDR: 0x1014, MAXFRAME: 0x1018,
  NBQI: 0x101c, RINGSLOTS: 0x1020, FWREV: 0x1024, DROPS: 0x1028, RXERRS: 0x102c, DMAERRS: 0x1030, DESCERRS: 0x1034,
  OVERRUNS: 0x1038, RXFRAMES: 0x103c,
  TX_ADDR: 0x2000, TX_LEN: 0x2004, TX_FREE: 0x2008, TX_DONE: 0x200c, TX_STATUS: 0x2010, TX_FAILED: 0x2014,
  TX_HDR_ADDR: 0x2018, TX_HDR_LEN: 0x201c,
  RXC_POP: 0x3000, RXC_COUNT: 0x3004,
  CLOCK: 0x4000, CLOCK_HI: 0x4004,
} as const;
export type An1Register = keyof typeof AN1_REGS;

/** BQI table entry i at 0x10000 + 0x400·i. */
export const AN1_BQI = { TABLE: 0x10000, STRIDE: 0x400, BQ_CTRL: 0x0, BQ_POSTED: 0x4, BQ_FILLED: 0x8, BQ_DROPS: 0xc, DESC: 0x100 } as const;
export type An1BqiRegister = 'BQ_CTRL' | 'BQ_POSTED' | 'BQ_FILLED' | 'BQ_DROPS';

export const AN1_CSR = { RESET: 0x1, RXEN: 0x2, TXEN: 0x4, INTEN: 0x8, LOOPBACK: 0x10, LINKUP: 0x100, ALTPORT: 0x200 } as const;
export const AN1_ISR = { RXDONE: 0x1, TXDONE: 0x2, RXDROP: 0x4, RXERR: 0x8, TXERR: 0x10, LINKCHG: 0x20 } as const;
export const AN1_RXC_EMPTY = 0xffff_ffff;
/** Completion status codes (RXC_POP bits 19:16). */
export const AN1_RXST = { OK: 0, CRC: 1, TRUNCATED: 2, REDIRECTED: 3, BUFFER_ERROR: 4, DMA_ERROR: 5 } as const;

export interface Completion {
  readonly bqi: number;
  readonly slot: number;
  readonly status: number;
  readonly length: number;
}

export function decodeCompletion(w: number): Completion {
  return { bqi: w >>> 26, slot: (w >>> 20) & 0x3f, status: (w >>> 16) & 0xf, length: w & 0xffff };
}

export class An1Kit {
  constructor(
    private readonly bus: SystemBus,
    readonly slot: number,
    readonly base: number,
  ) {}

  read(reg: An1Register): number {
    return this.bus.read32(this.base + AN1_REGS[reg]);
  }
  write(reg: An1Register, value: number): void {
    this.bus.write32(this.base + AN1_REGS[reg], value);
  }

  bqiOffset(bqi: number, reg: An1BqiRegister): number {
    return AN1_BQI.TABLE + AN1_BQI.STRIDE * bqi + AN1_BQI[reg];
  }
  readBqi(bqi: number, reg: An1BqiRegister): number {
    return this.bus.read32(this.base + this.bqiOffset(bqi, reg));
  }
  writeBqi(bqi: number, reg: An1BqiRegister, value: number): void {
    this.bus.write32(this.base + this.bqiOffset(bqi, reg), value);
  }

  /** Write ring slot `slot` of `bqi`: DESC_ADDR then DESC_LEN (on-board registers). */
  writeDescriptor(bqi: number, slot: number, addr: number, length: number): void {
    const at = this.base + AN1_BQI.TABLE + AN1_BQI.STRIDE * bqi + AN1_BQI.DESC + 8 * slot;
    this.bus.write32(at, addr);
    this.bus.write32(at + 4, length);
  }

  /**
   * Open `bqi` with a ring of 2^log2 slots and post `buffers` after the ones already filled
   * (descriptors first, then BQ_POSTED, as the register map asks), enabling it if asked.
   */
  openRing(bqi: number, log2: number, buffers: readonly { addr: number; length: number }[], enable = true): void {
    this.writeBqi(bqi, 'BQ_CTRL', log2 << 8);
    const filled = this.readBqi(bqi, 'BQ_FILLED');
    buffers.forEach((b, k) => this.writeDescriptor(bqi, (filled + k) & ((1 << log2) - 1), b.addr, b.length));
    this.writeBqi(bqi, 'BQ_POSTED', (filled + buffers.length) & 0xffff);
    if (enable) this.writeBqi(bqi, 'BQ_CTRL', (log2 << 8) | 1);
  }

  /** Pop the completion FIFO until empty (at most `max` entries). */
  popCompletions(max = 128): Completion[] {
    const out: Completion[] = [];
    for (let k = 0; k < max; k++) {
      const w = this.read('RXC_POP');
      if (w === AN1_RXC_EMPTY) break;
      out.push(decodeCompletion(w));
    }
    return out;
  }

  /** Queue a frame for transmission: TX_ADDR then TX_LEN (the write enqueues). */
  transmit(addr: number, length: number): void {
    this.write('TX_ADDR', addr);
    this.write('TX_LEN', length);
  }
}

const NAME_BY_OFFSET = new Map<number, string>(Object.entries(AN1_REGS).map(([n, o]) => [o, n]));
const BQ_NAMES = ['BQ_CTRL', 'BQ_POSTED', 'BQ_FILLED', 'BQ_DROPS'] as const;

export function an1Namer(): RegisterNamer {
  return {
    name(offset: number, _size: AccessSize): string | undefined {
      const n = NAME_BY_OFFSET.get(offset);
      if (n !== undefined) return n;
      if (offset >= AN1_BQI.TABLE && offset < AN1_BQI.TABLE + 64 * AN1_BQI.STRIDE) {
        const bqi = (offset - AN1_BQI.TABLE) >>> 10;
        const r = (offset - AN1_BQI.TABLE) & (AN1_BQI.STRIDE - 1);
        if (r < 0x10 && (r & 3) === 0) return `BQ[${bqi}].${BQ_NAMES[r >>> 2]!.slice(3)}`;
        if (r >= AN1_BQI.DESC && r < AN1_BQI.DESC + 64 * 8) {
          const k = (r - AN1_BQI.DESC) >>> 3;
          return `BQ[${bqi}].DESC_${(r & 4) === 0 ? 'ADDR' : 'LEN'}[${k}]`;
        }
      }
      if (offset < 0x1000) return undefined; // option ROM
      return `AN1+0x${offset.toString(16)}`;
    },
    decode(register: string, value: number): string {
      if (register === 'CSR') return decodeBits(AN1_CSR, value);
      if (register === 'ISR' || register === 'IMR') return decodeBits(AN1_ISR, value);
      if (register === 'RXC_POP' && value !== AN1_RXC_EMPTY) {
        const c = decodeCompletion(value);
        return `bqi ${c.bqi} slot ${c.slot} status ${c.status} ${c.length} B`;
      }
      return '';
    },
  };
}
