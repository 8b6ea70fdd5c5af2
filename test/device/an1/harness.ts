/**
 * Black-box bench for the AN1 controller, built on the devkit (emulator/devkit, docs/devkit.md): a
 * DECstation with the board in a slot, a link, and the devkit's link peer as a wire probe that
 * injects raw frames. Tests touch the board only through the physical bus (timed
 * read32/write32; frames written into RAM with CPU stores) and the wire; RAM is inspected and
 * canaries are laid through the named backdoor (`backdoorRam`, `backdoorFill`: functional access,
 * never a driver's); register constants are declared
 * HERE (QEMU qtest style), never imported from the model or the driver.
 */
import { crc32, writeFcs } from '../../../emulator/bits/crc32.ts';
import { createDevkit, type Devkit } from '../../../emulator/devkit/index.ts';
import type { DecStation5000, SimContext } from '../../../emulator/host/decstation.ts';
import type { An1Link } from '../../../emulator/net/an1-link.ts';
import type { FaultConfig } from '../../../emulator/net/faults.ts';
import type { Scheduler } from '../../../emulator/sim/scheduler.ts';
import type { Trace } from '../../../emulator/sim/trace.ts';
import { createBqiFirmware } from '../../../firmware/an1/main.ts';

/** The test's own transcription of the AN1 register map (hw/an1-autonet.md §8, docs/an1.md). */
export const R = {
  SLOT: 1,
  SLOT_BASE: 0x1e40_0000,
  KN02_CSR: 0x1ff0_0000,
  ROM_MODULE: 0x440,
  ROM_VENDOR: 0x420,
  CSR: 0x1000,
  ISR: 0x1004,
  IMR: 0x1008,
  UID_LO: 0x100c,
  UID_HI: 0x1010,
  SHORTADDR: 0x1014,
  MAXFRAME: 0x1018,
  NBQI: 0x101c,
  RINGSLOTS: 0x1020,
  FWREV: 0x1024,
  DROPS: 0x1028,
  RXERRS: 0x102c,
  DMAERRS: 0x1030,
  DESCERRS: 0x1034,
  OVERRUNS: 0x1038,
  RXFRAMES: 0x103c,
  TX_ADDR: 0x2000,
  TX_LEN: 0x2004,
  TX_FREE: 0x2008,
  TX_DONE: 0x200c,
  TX_STATUS: 0x2010,
  TX_FAILED: 0x2014,
  TX_HDR_ADDR: 0x2018,
  TX_HDR_LEN: 0x201c,
  RXC_POP: 0x3000,
  RXC_COUNT: 0x3004,
  CLOCK: 0x4000,
  CLOCK_HI: 0x4004,
  BQI_TABLE: 0x10000,
  BQI_STRIDE: 0x400,
  BQ_CTRL: 0x0,
  BQ_POSTED: 0x4,
  BQ_FILLED: 0x8,
  BQ_DROPS: 0xc,
  BQ_DESC: 0x100,
} as const;
export const CSR = { RESET: 1, RXEN: 2, TXEN: 4, INTEN: 8, LOOPBACK: 16, LINKUP: 0x100 } as const;
export const ISR = { RXDONE: 1, TXDONE: 2, RXDROP: 4, RXERR: 8, TXERR: 16 } as const;
export const RXST = { OK: 0, TRUNCATED: 2, REDIRECTED: 3, BUFFER_ERROR: 4, DMA_ERROR: 5 } as const;
export const HDR = 20;
export const RXC_EMPTY = 0xffff_ffff;

export function bqiOff(bqi: number, reg: number): number {
  return R.BQI_TABLE + R.BQI_STRIDE * bqi + reg;
}
export function descOff(bqi: number, slot: number): number {
  return bqiOff(bqi, R.BQ_DESC + 8 * slot);
}
export function decodeCompletion(w: number): { bqi: number; slot: number; status: number; length: number } {
  return { bqi: w >>> 26, slot: (w >>> 20) & 0x3f, status: (w >>> 16) & 0xf, length: w & 0xffff };
}

/** A link header + payload (no CRC), big-endian fields. */
export function makeFrame(dstBqi: number, payload: Uint8Array, spare = 0): Uint8Array {
  const f = new Uint8Array(HDR + payload.length);
  f[0] = 0x12;
  f[1] = 0x34;
  f[2] = (dstBqi >>> 8) & 0xff;
  f[3] = dstBqi & 0xff;
  for (let i = 0; i < 6; i++) {
    f[4 + i] = 0xa0 + i;
    f[10 + i] = 0xb0 + i;
  }
  f[16] = 0x88;
  f[17] = 0xb5;
  f[18] = (spare >>> 8) & 0xff;
  f[19] = spare & 0xff;
  f.set(payload, HDR);
  return f;
}

export function withCrc(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length + 4);
  out.set(frame);
  writeFcs(out, frame.length, crc32(frame));
  return out;
}

/** The far end of the link as a test instrument: the devkit's link peer, sending frames as given (CRC included). */
export interface WireProbe {
  /** Everything that arrived, as on the wire (CRC included). */
  readonly arrived: readonly Uint8Array[];
  /** Queue frames (CRC included) to send back to back from now. */
  send(frames: readonly Uint8Array[]): void;
  readonly pending: number;
  /** Minimum spacing between frame starts, ns (lets the receiver keep up with tiny frames). */
  gapNsMin: number;
}

export interface Bench {
  readonly kit: Devkit;
  readonly sched: Scheduler;
  readonly trace: Trace;
  readonly ctx: SimContext;
  readonly host: DecStation5000;
  readonly probe: WireProbe;
  readonly link: An1Link;
  rd(off: number): number;
  wr(off: number, v: number): void;
  /** Functional read of RAM as memory holds it (no cache, no timing): inspection only. */
  backdoorRam(addr: number, length: number): Uint8Array;
  backdoorFill(addr: number, length: number, byte: number): void;
}

/** One host with the board in slot 1, its link's far end held by the devkit's link peer. */
export function buildBench(options: { seed?: number; ramBytes?: number; faults?: FaultConfig; costs?: Readonly<Record<string, number>> } = {}): Bench {
  const kit = createDevkit({
    seed: options.seed ?? 1,
    ramBytes: options.ramBytes ?? 8 * 1024 * 1024,
    ...(options.costs !== undefined ? { costs: options.costs } : {}),
    an1: {
      firmware: createBqiFirmware(),
      slot: R.SLOT,
      uid: 0x08002b_000042,
      ...(options.faults !== undefined ? { faults: [{}, options.faults] as const } : {}),
    },
  });
  const peer = kit.linkPeer;
  const probe: WireProbe = {
    get arrived() {
      return peer.arrivals.map((a) => a.frame);
    },
    send(frames) {
      for (const f of frames) peer.send(f, { crc: 'none' });
    },
    get pending() {
      return peer.pending;
    },
    get gapNsMin() {
      return peer.gapNsMin;
    },
    set gapNsMin(v: number) {
      peer.gapNsMin = v;
    },
  };
  const bus = kit.bus;
  return {
    kit,
    sched: kit.sched,
    trace: kit.trace,
    ctx: { sched: kit.sched, trace: kit.trace, rng: kit.rng, costs: kit.costs },
    host: kit.host,
    probe,
    link: kit.link!,
    rd: (off) => bus.read32(R.SLOT_BASE + off),
    wr: (off, v) => bus.write32(R.SLOT_BASE + off, v),
    backdoorRam: (addr, length) => {
      const out = new Uint8Array(length);
      bus.peekBlock(addr, out);
      return out;
    },
    backdoorFill: (addr, length, byte) => bus.pokeBlock(addr, new Uint8Array(length).fill(byte)),
  };
}

/** Drain the completion FIFO through the bus. */
export function popAll(b: Bench): { bqi: number; slot: number; status: number; length: number }[] {
  const out = [];
  for (let k = 0; k < 1000; k++) {
    const w = b.rd(R.RXC_POP);
    if (w === RXC_EMPTY) break;
    out.push(decodeCompletion(w));
  }
  return out;
}

/** Configure `bqi` with a ring of 2^log2 slots, post `buffers`, optionally enable. */
export function openRing(b: Bench, bqi: number, log2: number, buffers: readonly { addr: number; len: number }[], enable: boolean): void {
  b.wr(bqiOff(bqi, R.BQ_CTRL), log2 << 8);
  const filled = b.rd(bqiOff(bqi, R.BQ_FILLED));
  buffers.forEach((buf, k) => {
    const slot = (filled + k) & ((1 << log2) - 1);
    b.wr(descOff(bqi, slot), buf.addr);
    b.wr(descOff(bqi, slot) + 4, buf.len);
  });
  b.wr(bqiOff(bqi, R.BQ_POSTED), (filled + buffers.length) & 0xffff);
  if (enable) b.wr(bqiOff(bqi, R.BQ_CTRL), (log2 << 8) | 1);
}

/** Run until nothing is pending: the probe has sent everything and the board is idle (bounded). */
export function settle(b: Bench, nsMax = 50_000_000): void {
  const outcome = b.sched.runUntil(() => false, { nsMax });
  if (outcome !== 'idle') throw new Error(`bench did not settle within ${nsMax} ns`);
}
