/**
 * The AN1 kernel driver: reset, BQI 0 with a ring of kernel buffers, BQI rings on behalf of the
 * network I/O module, transmit, the interrupt handler, and the clock page's address.
 *
 * Contract with the network I/O module (P §3.3; hw/an1-autonet.md §8.5):
 * - `configureBqi(bqi, slots)` then `postBuffers(bqi, pages)` then `enableBqi(bqi)`: descriptors
 *   are written into the board's registers, then BQ_POSTED is bumped (the board never sees a
 *   half-written descriptor). Buffers come back from the library through the module, which calls
 *   `postBuffers` again; the library never reaches the board.
 * - Received frames are reported per BQI, with the buffer's physical address, as
 *   `handler.frame(bqi, slot, physAddr, length, status)`, then once per BQI per interrupt
 *   `handler.batchEnd(bqi)`: one semaphore signal per batch (P §3.3 batching). The handler owns
 *   the buffer from then on and must re-post it when done.
 * - `transmit(physAddr, length)` queues a frame the caller has already checked against its
 *   template (P §3.4); the controller checks nothing. `onTransmitDone(retired, failed)` reports
 *   frames whose host buffer is no longer needed, oldest first.
 *
 * Kernel buffers for BQI 0: whoever builds the driver passes wired kernel pages
 * (`config.kernelBuffers`, e.g. from the kernel's `createWiredObject`; raw-an1 does). Without
 * them the driver falls back to a fixed range at the top of RAM (`AN1_KERNEL_BUFFER_PAGES`
 * pages), which the kernel's allocator hands out last but does not exclude.
 *
 * Causality (kernel/dev/sync.ts): every path that reads a register (attach, reset, the interrupt
 * handler, disableBqi) is a generator with a sync point before each read, so it sees the board
 * at the read's CPU-local time. The transmit path reads nothing: the driver counts the board's
 * free transmit-queue entries itself (TX_FREE read once at reset, one less per frame queued, one
 * more per frame the interrupt handler retires), so a trap that sends needs no sync point. The
 * clock page depends on time alone and is read without one.
 *
 * Costs: every register access is a timed bus access (charged by the bus: tc.ioRead/WriteCycles);
 * bookkeeping is charged from the cost table (an1.drv*), and so is invalidating the data-cache
 * lines of each received frame before its handler runs (cpu.dcache*: the DMA is not coherent with
 * the R3000's cache). Imports only emulator/bus and kernel/.
 */
import type { PhysAddr } from '../../../emulator/bus/index.ts';
import type { DriverEnv } from '../driver-env.ts';
import { SYNC, type Sync } from '../sync.ts';
import {
  AN1_CLOCK,
  AN1_CLOCK_PAGE,
  AN1_CSR,
  AN1_DESCERRS,
  AN1_DMAERRS,
  AN1_DROPS,
  AN1_HEADER_BYTES,
  AN1_IMR,
  AN1_ISR,
  AN1_MAXFRAME,
  AN1_MAXFRAME_CEILING,
  AN1_MAXFRAME_DEFAULT,
  AN1_MODULE_NAME,
  AN1_NBQI_VALUE,
  AN1_OVERRUNS,
  AN1_RINGSLOTS_VALUE,
  AN1_ROM_MODULE_OFFSET,
  AN1_RXC_COUNT,
  AN1_RXC_ENTRIES,
  AN1_RXC_POP,
  AN1_RXERRS,
  AN1_SHORTADDR,
  AN1_TX_ADDR,
  AN1_TX_DONE,
  AN1_TX_FAILED,
  AN1_TX_FREE,
  AN1_TX_HDR_ADDR,
  AN1_TX_HDR_LEN,
  AN1_TX_LEN,
  AN1_UID_HI,
  AN1_UID_LO,
  BQ_CTRL,
  BQ_CTRL_ENABLE,
  BQ_CTRL_RINGLOG2_SHIFT,
  BQ_FILLED,
  BQ_POSTED,
  bqiReg,
  CSR_INTEN,
  CSR_LOOPBACK,
  CSR_RESET,
  CSR_RXEN,
  CSR_TXEN,
  descAddrReg,
  ISR_RXDONE,
  ISR_RXDROP,
  ISR_RXERR,
  ISR_TXDONE,
  ISR_TXERR,
  KN02_SLOT_BASE,
  KN02_SLOT_SIZE,
  RXC_EMPTY,
  type An1RxStatus,
} from './an1-regs.ts';

export const AN1_PAGE_BYTES = 4096;
/** Kernel buffers for BQI 0, taken from the top of RAM (see the header). */
export const AN1_KERNEL_BUFFER_PAGES = 64;

export interface An1RxHandler {
  frame(bqi: number, slot: number, physAddr: PhysAddr, length: number, status: An1RxStatus): void;
  /** Called once per BQI after the frames of one interrupt's batch (signal once here). */
  batchEnd?(bqi: number): void;
}

export type An1TxDoneHandler = (retired: number, failed: number) => void;

export interface An1DriverConfig {
  /** TURBOchannel option slot (0..2) holding the board; also its KN02 interrupt bit. */
  readonly slot: number;
  readonly shortAddr?: number;
  readonly maxFrame?: number;
  /** Internal loopback (tests). */
  readonly loopback?: boolean;
  /** Pages for BQI 0's ring; default: the top AN1_KERNEL_BUFFER_PAGES pages of RAM. */
  readonly kernelBuffers?: readonly PhysAddr[];
}

export type BqiResult = 'ok' | 'bad-bqi' | 'bad-size' | 'busy' | 'not-configured';

interface Ring {
  configured: boolean;
  enabled: boolean;
  size: number;
  posted: number;
  filled: number;
  readonly addr: Uint32Array;
  readonly len: Uint32Array;
}

export interface An1DriverStats {
  interrupts: number;
  rxFrames: number;
  rxBatches: number;
  rxUnclaimed: number;
  rxErrorStatus: number;
  rxDesync: number;
  txQueued: number;
  txSent: number;
  txFailed: number;
  txQueueFull: number;
  drops: number;
  rxErrs: number;
  dmaErrs: number;
  descErrs: number;
  overruns: number;
  /** Data-cache lines invalidated over received frames before their handler saw them. */
  cacheLinesInvalidated: number;
}

export class An1Driver {
  readonly base: PhysAddr;
  private readonly rings: Ring[] = [];
  private readonly handlers: (An1RxHandler | undefined)[] = new Array<An1RxHandler | undefined>(AN1_NBQI_VALUE).fill(undefined);
  private txDoneHandler: An1TxDoneHandler | undefined = undefined;
  private txFree = 0;
  private txDoneSeen = 0;
  private txFailedSeen = 0;
  private attached = false;
  private uidValue = 0;
  private readonly kernelBuffers: readonly PhysAddr[];
  private readonly touched: number[] = [];
  private readonly touchedFlag = new Uint8Array(AN1_NBQI_VALUE);
  private readonly costs: {
    intr: number; rxFrame: number; post: number; tx: number; txDone: number;
    lineBytes: number; lineCycles: number; isolateCycles: number;
  };
  readonly stats: An1DriverStats = {
    interrupts: 0,
    rxFrames: 0,
    rxBatches: 0,
    rxUnclaimed: 0,
    rxErrorStatus: 0,
    rxDesync: 0,
    txQueued: 0,
    txSent: 0,
    txFailed: 0,
    txQueueFull: 0,
    drops: 0,
    rxErrs: 0,
    dmaErrs: 0,
    descErrs: 0,
    overruns: 0,
    cacheLinesInvalidated: 0,
  };

  constructor(
    private readonly env: DriverEnv,
    readonly config: An1DriverConfig,
  ) {
    this.base = KN02_SLOT_BASE + KN02_SLOT_SIZE * config.slot;
    for (let b = 0; b < AN1_NBQI_VALUE; b++) {
      this.rings.push({
        configured: false,
        enabled: false,
        size: 0,
        posted: 0,
        filled: 0,
        addr: new Uint32Array(AN1_RINGSLOTS_VALUE),
        len: new Uint32Array(AN1_RINGSLOTS_VALUE),
      });
    }
    const ramTop = env.host.ramSize;
    this.kernelBuffers =
      config.kernelBuffers ?? Array.from({ length: AN1_KERNEL_BUFFER_PAGES }, (_, i) => ramTop - (AN1_KERNEL_BUFFER_PAGES - i) * AN1_PAGE_BYTES);
    const c = env.host.costs;
    this.costs = {
      intr: c.get('an1.drvIntrCycles'),
      rxFrame: c.get('an1.drvRxPerFrameCycles'),
      post: c.get('an1.drvPostPerBufferCycles'),
      tx: c.get('an1.drvTxPerFrameCycles'),
      txDone: c.get('an1.drvTxDoneCycles'),
      lineBytes: c.get('cpu.dcacheLineBytes'),
      lineCycles: c.get('cpu.dcacheInvalidateLineCycles'),
      isolateCycles: c.get('cpu.dcacheInvalidateSetupCycles'),
    };
  }

  // ---- Register access ------------------------------------------------------------------------

  /** A register read at the CPU-local time (a sync point first): `yield* this.rd(off)`. */
  private *rd(off: number): Sync<number> {
    if (this.env.host.cpu.isAhead) yield SYNC;
    return this.env.host.bus.read32(this.base + off);
  }
  private wr(off: number, v: number): void {
    this.env.host.bus.write32(this.base + off, v >>> 0);
  }
  private charge(cycles: number): void {
    this.env.host.cpu.charge(cycles, 'an1');
  }

  // ---- Probe, attach, reset -------------------------------------------------------------------

  /** True when the slot holds an AN1 (module name "AN1-TC  " in its option ROM). */
  *probe(): Sync<boolean> {
    const bus = this.env.host.bus;
    if (!bus.probe(this.base)) return false;
    let name = '';
    for (let i = 0; i < 8; i++) name += String.fromCharCode((yield* this.rd(AN1_ROM_MODULE_OFFSET + 4 * i)) & 0xff);
    return name === AN1_MODULE_NAME;
  }

  /** Probe, reset, set up BQI 0 with kernel buffers, hook the interrupt. False: no board. */
  *attach(): Sync<boolean> {
    if (this.attached) return true;
    if (!(yield* this.probe())) return false;
    yield* this.reset();
    this.env.registerInterrupt(this.config.slot, () => this.interrupt());
    this.attached = true;
    return true;
  }

  /**
   * Reset the board and the driver's shadow state, then bring it up: MAXFRAME, SHORTADDR, BQI 0's
   * ring of kernel buffers, interrupts, receive and transmit. Buffers the network I/O module had
   * posted are forgotten (it must re-create its BQIs).
   */
  *reset(): Sync {
    this.wr(AN1_CSR, CSR_RESET);
    for (const r of this.rings) {
      r.configured = false;
      r.enabled = false;
      r.size = 0;
      r.posted = 0;
      r.filled = 0;
    }
    const bqi0 = this.rings[0]!;
    bqi0.configured = true;
    bqi0.enabled = true; // the board enables BQI 0 with a 64-slot ring at reset
    bqi0.size = AN1_RINGSLOTS_VALUE;
    this.txFree = yield* this.rd(AN1_TX_FREE);
    this.txDoneSeen = 0;
    this.txFailedSeen = 0;
    this.uidValue = (yield* this.rd(AN1_UID_LO)) + ((yield* this.rd(AN1_UID_HI)) & 0xffff) * 4294967296;
    const maxFrame = this.config.maxFrame ?? AN1_MAXFRAME_DEFAULT;
    if (maxFrame !== AN1_MAXFRAME_DEFAULT && maxFrame >= AN1_HEADER_BYTES && maxFrame <= AN1_MAXFRAME_CEILING) this.wr(AN1_MAXFRAME, maxFrame);
    if (this.config.shortAddr !== undefined) this.wr(AN1_SHORTADDR, this.config.shortAddr & 0xffff);
    this.postBuffers(0, this.kernelBuffers.slice(0, AN1_RINGSLOTS_VALUE));
    this.wr(AN1_IMR, ISR_RXDONE | ISR_TXDONE | ISR_RXDROP | ISR_RXERR | ISR_TXERR);
    this.wr(AN1_CSR, CSR_RXEN | CSR_TXEN | CSR_INTEN | (this.config.loopback === true ? CSR_LOOPBACK : 0));
  }

  /** The pages of BQI 0's kernel ring. */
  get kernelBufferPages(): readonly PhysAddr[] {
    return this.kernelBuffers;
  }

  /** The board's 48-bit UID (read at reset). */
  get uid(): number {
    return this.uidValue;
  }

  // ---- BQIs ------------------------------------------------------------------------------------

  /**
   * Give `bqi` (1..63) a ring of `slots` descriptors (a power of two, ≤ 64), empty and disabled.
   * Refused while the BQI is enabled or still holds posted buffers.
   */
  configureBqi(bqi: number, slots: number): BqiResult {
    if (!Number.isInteger(bqi) || bqi < 1 || bqi >= AN1_NBQI_VALUE) return 'bad-bqi';
    const log2 = Math.log2(slots);
    if (!Number.isInteger(log2) || log2 < 0 || slots > AN1_RINGSLOTS_VALUE) return 'bad-size';
    const r = this.rings[bqi]!;
    if (r.enabled || ((r.posted - r.filled) & 0xffff) !== 0) return 'busy';
    this.wr(bqiReg(bqi, BQ_CTRL), log2 << BQ_CTRL_RINGLOG2_SHIFT);
    r.configured = true;
    r.size = slots;
    return 'ok';
  }

  enableBqi(bqi: number): BqiResult {
    if (!Number.isInteger(bqi) || bqi < 0 || bqi >= AN1_NBQI_VALUE) return 'bad-bqi';
    const r = this.rings[bqi]!;
    if (!r.configured) return 'not-configured';
    this.wr(bqiReg(bqi, BQ_CTRL), BQ_CTRL_ENABLE | (Math.log2(r.size) << BQ_CTRL_RINGLOG2_SHIFT));
    r.enabled = true;
    return 'ok';
  }

  /**
   * Stop delivering on `bqi` (its frames fall back to BQI 0) and take back the buffers posted
   * and not yet filled; they are returned to the caller. A frame whose DMA had already begun may
   * still complete into one of them within one frame time; callers wait that long before reuse.
   */
  *disableBqi(bqi: number): Sync<PhysAddr[]> {
    if (!Number.isInteger(bqi) || bqi < 1 || bqi >= AN1_NBQI_VALUE) return [];
    const r = this.rings[bqi]!;
    if (!r.configured) return [];
    this.wr(bqiReg(bqi, BQ_CTRL), Math.log2(r.size) << BQ_CTRL_RINGLOG2_SHIFT);
    r.enabled = false;
    const filled = (yield* this.rd(bqiReg(bqi, BQ_FILLED))) & 0xffff;
    const out: PhysAddr[] = [];
    for (let s = filled; ((r.posted - s) & 0xffff) !== 0; s = (s + 1) & 0xffff) out.push(r.addr[s & (r.size - 1)]!);
    this.wr(bqiReg(bqi, BQ_POSTED), filled);
    r.posted = filled;
    r.filled = filled;
    return out;
  }

  isEnabled(bqi: number): boolean {
    return this.rings[bqi]?.enabled ?? false;
  }

  /** Room left on `bqi`'s ring for more buffers. */
  ringRoom(bqi: number): number {
    const r = this.rings[bqi];
    return r === undefined || !r.configured ? 0 : r.size - ((r.posted - r.filled) & 0xffff);
  }

  /**
   * Post buffers (physical addresses, each `bytes` long, 4-byte aligned, inside RAM) on `bqi`'s
   * ring. Returns how many were posted: it stops at the first bad buffer or when the ring is full.
   */
  postBuffers(bqi: number, buffers: readonly PhysAddr[], bytes = AN1_PAGE_BYTES): number {
    const r = this.rings[bqi];
    if (r === undefined || !r.configured) return 0;
    const ram = this.env.host.ramSize;
    const room = this.ringRoom(bqi);
    let n = 0;
    for (; n < buffers.length && n < room; n++) {
      const a = buffers[n]!;
      if (!Number.isInteger(a) || (a & 3) !== 0 || a < 0 || bytes <= 0 || a + bytes > ram) break;
      const slot = (r.posted + n) & (r.size - 1);
      this.wr(descAddrReg(bqi, slot), a);
      this.wr(descAddrReg(bqi, slot) + 4, bytes);
      r.addr[slot] = a;
      r.len[slot] = bytes;
    }
    if (n === 0) return 0;
    r.posted = (r.posted + n) & 0xffff;
    this.wr(bqiReg(bqi, BQ_POSTED), r.posted);
    this.charge(this.costs.post * n);
    return n;
  }

  setReceiveHandler(bqi: number, handler: An1RxHandler | undefined): void {
    if (Number.isInteger(bqi) && bqi >= 0 && bqi < AN1_NBQI_VALUE) this.handlers[bqi] = handler;
  }

  // ---- Transmit --------------------------------------------------------------------------------

  /**
   * Queue a frame (link header included) at `physAddr`. False when the board's queue is full.
   * With `header`, a two-part frame: its first `header.length` bytes come from `header.addr`
   * (4-byte aligned) and the rest, `length − header.length` bytes, from `physAddr`.
   */
  transmit(physAddr: PhysAddr, length: number, header?: { readonly addr: PhysAddr; readonly length: number }): boolean {
    if (this.txFree <= 0) {
      this.stats.txQueueFull++;
      return false;
    }
    if (header !== undefined && header.length > 0) {
      this.wr(AN1_TX_HDR_ADDR, header.addr);
      this.wr(AN1_TX_HDR_LEN, header.length);
    }
    this.wr(AN1_TX_ADDR, physAddr);
    this.wr(AN1_TX_LEN, length);
    this.txFree--;
    this.stats.txQueued++;
    this.charge(this.costs.tx);
    return true;
  }

  onTransmitDone(handler: An1TxDoneHandler | undefined): void {
    this.txDoneHandler = handler;
  }

  // ---- Clock -----------------------------------------------------------------------------------

  /** Physical address of the clock page, for mapping read-only into a task (P §4). */
  clockPagePhysAddr(): PhysAddr {
    return this.base + AN1_CLOCK_PAGE;
  }

  /** Read the 40 ns clock from the kernel (low 32 bits). */
  readClock(): number {
    // A function of time alone: the bus answers it at the local time without a sync point.
    return this.env.host.bus.read32(this.base + AN1_CLOCK);
  }

  // ---- Interrupt -------------------------------------------------------------------------------

  /** The interrupt handler: acknowledge, drain the completion FIFO as one batch, retire transmits. */
  *interrupt(): Sync {
    this.stats.interrupts++;
    this.charge(this.costs.intr);
    const isr = yield* this.rd(AN1_ISR);
    if (isr === 0) return;
    this.wr(AN1_ISR, isr); // w1c: acknowledge before draining, so a later completion re-interrupts
    if ((isr & ISR_RXDONE) !== 0) yield* this.drainCompletions();
    if ((isr & (ISR_TXDONE | ISR_TXERR)) !== 0) yield* this.retireTransmits();
    if ((isr & ISR_RXDROP) !== 0) {
      this.stats.drops += yield* this.rd(AN1_DROPS);
      this.stats.overruns += yield* this.rd(AN1_OVERRUNS);
    }
    if ((isr & (ISR_RXERR | ISR_TXERR)) !== 0) {
      this.stats.rxErrs += yield* this.rd(AN1_RXERRS);
      this.stats.dmaErrs += yield* this.rd(AN1_DMAERRS);
      this.stats.descErrs += yield* this.rd(AN1_DESCERRS);
    }
  }

  private *drainCompletions(): Sync {
    const waiting = Math.min(yield* this.rd(AN1_RXC_COUNT), AN1_RXC_ENTRIES);
    if (waiting === 0) return;
    this.stats.rxBatches++;
    for (let k = 0; k < waiting; k++) {
      const w = yield* this.rd(AN1_RXC_POP);
      if (w === RXC_EMPTY) break;
      this.completion(w);
    }
    for (const bqi of this.touched) {
      this.touchedFlag[bqi] = 0;
      this.handlers[bqi]?.batchEnd?.(bqi);
    }
    this.touched.length = 0;
  }

  private completion(w: number): void {
    this.charge(this.costs.rxFrame);
    const bqi = w >>> 26;
    const slot = (w >>> 20) & 0x3f;
    const status = ((w >>> 16) & 0xf) as An1RxStatus;
    const length = w & 0xffff;
    const r = this.rings[bqi]!;
    if (r.size === 0 || slot !== (r.filled & (r.size - 1))) {
      this.stats.rxDesync++;
      this.env.host.trace.record(`${this.env.host.name}.an1`, 'an1.drv.desync', bqi, slot);
    }
    r.filled = (r.filled + 1) & 0xffff;
    const addr = r.addr[slot]!;
    this.stats.rxFrames++;
    if (status >= 4) this.stats.rxErrorStatus++;
    const h = this.handlers[bqi];
    if (h === undefined) {
      // Nobody consumes this BQI: give the buffer straight back.
      this.stats.rxUnclaimed++;
      this.postBuffers(bqi, [addr], r.len[slot]!);
      return;
    }
    if (this.touchedFlag[bqi] === 0) {
      this.touchedFlag[bqi] = 1;
      this.touched.push(bqi);
    }
    this.invalidate(Math.min(length, r.len[slot]!));
    h.frame(bqi, slot, addr, length, status);
  }

  /**
   * The R3000's data cache is not coherent with TURBOchannel DMA: lines of a buffer the CPU read
   * before (the library's last frame in that slot) would hide the bytes the controller has just
   * written. Before anyone reads a received frame the driver invalidates the lines it covers —
   * the cache isolated, one partial-word store a line (cpu.dcache*). Transmit needs nothing: the
   * cache is write-through, so memory already holds what the controller DMAs out.
   */
  private invalidate(bytes: number): void {
    const lines = Math.ceil(Math.max(0, bytes) / this.costs.lineBytes);
    if (lines === 0) return;
    this.stats.cacheLinesInvalidated += lines;
    this.charge(Math.ceil(this.costs.isolateCycles + lines * this.costs.lineCycles));
  }

  private *retireTransmits(): Sync {
    this.charge(this.costs.txDone);
    const done = yield* this.rd(AN1_TX_DONE);
    const failed = yield* this.rd(AN1_TX_FAILED);
    const sent = (done - this.txDoneSeen) >>> 0;
    const bad = (failed - this.txFailedSeen) >>> 0;
    this.txDoneSeen = done;
    this.txFailedSeen = failed;
    // Retired frames have left the board's queue: their entries are free again.
    this.txFree += sent + bad;
    this.stats.txSent += sent;
    this.stats.txFailed += bad;
    if (sent + bad > 0) this.txDoneHandler?.(sent + bad, bad);
  }
}

