/**
 * Kernel driver for the PMAD-AA (Am7990 LANCE with 128 KB on-board buffer) — the canonical
 * sequence of ../shared/hw/lance-pmad-aa.md §5, written from the register descriptions with the
 * driver's own constants (lance-regs.ts).
 *
 * Every byte crosses the TURBOchannel by programmed I/O: descriptors by 16-bit loads/stores,
 * frames by block copies (bus.readBlock / writeBlock on the SRAM window, one PIO charge each).
 * Callers run the driver inside a CPU body (kernel work, an interrupt handler), so the charges
 * land on the CPU's time line. Every path that reads the board (attach, init, the interrupt
 * handler, a frame's copy-out) is a generator with a sync point before each read
 * (kernel/dev/sync.ts), so a read sees the chip as it is at the read's CPU-local time; writes
 * (descriptors, CSRs, frames) are stamped and applied at their time by the bus.
 *
 * Buffer layout (LANCE address = SRAM offset): init block at 0, receive ring at 0x20, transmit
 * ring after it, then receive buffers and transmit buffers of `bufferBytes` each. The defaults
 * (64 receive, 16 transmit, 1536-byte buffers) use 122 KB of the 128 KB.
 *
 * Receive upcall: for each received frame the interrupt path calls the registered handler with a
 * `LanceRxFrame` that can read the first bytes by PIO (to demultiplex) and copy the frame, or a
 * range of it, by PIO straight into a destination (e.g. a channel's region in RAM), before the
 * driver hands the descriptors back to the chip. The frame reference is valid only during the
 * call. With no handler registered, the default copies the whole frame out (onFrame).
 *
 * Recovery as NetBSD/Linux do it: MERR, a transmit BUFF/UFLO, TXON or RXON found off, or the
 * transmit watchdog → full re-initialization (STOP, rebuild the rings, INIT, IDON, STRT). MISS,
 * BABL, CERR, receive CRC/BUFF/OFLO errors are counted and the rings keep running.
 */
import type { PhysicalBus } from '../../../emulator/bus/index.ts';
import { crc32 } from '../../../emulator/bits/crc32.ts';
import { assert } from '../../../emulator/sim/assert.ts';
import { Priority, type Scheduler, type SimEvent } from '../../../emulator/sim/scheduler.ts';
import type { DriverEnv } from '../driver-env.ts';
import { isSync, SYNC, type Sync } from '../sync.ts';
import {
  ETHER_FCS,
  ETHER_MAX_DATA,
  ETHER_MIN_DATA,
  LE_CSR0,
  LE_D_ADDR,
  LE_D_BCNT,
  LE_D_FLAGS,
  LE_D_MISC,
  LE_DESC_BYTES,
  LE_IB,
  LE_MODE,
  LE_RMD1,
  LE_TMD1,
  LE_TMD3,
  leBcnt,
  MODULE_NAMES,
  PMAD,
} from './lance-regs.ts';

export interface LanceDriverConfig {
  /** TURBOchannel slot (0..2 options, 6 the KN02's on-board Ethernet). */
  readonly slot: number;
  /** Base of the slot in physical address space (DecStation5000.slotBase(slot)). */
  readonly slotBase: number;
  /** log2 of the ring sizes (0..7). */
  readonly rxRingLog2?: number;
  readonly txRingLog2?: number;
  /** Bytes per buffer (≥ 64; 1536 holds a whole frame). */
  readonly bufferBytes?: number;
  readonly promiscuous?: boolean;
  /** Logical address filter, 4 words (multicast hash). */
  readonly ladrf?: readonly [number, number, number, number];
  /** Frames waiting for a transmit descriptor, at most. */
  readonly txQueueMax?: number;
  /** Override the station address read from the ESAR. */
  readonly stationAddress?: Uint8Array;
  /** Re-initialize when transmits make no progress for this long (NetBSD: 5 s). */
  readonly watchdogNs?: number;
}

/** A received frame as the handler sees it: valid only during the handler call. */
export interface LanceRxFrame {
  /** Frame bytes from the destination address to the end of data (FCS excluded). */
  readonly length: number;
  /** Read the first `n` bytes by PIO into `dst` (or a new array) and return it (yield* it). */
  readHeader(n: number, dst?: Uint8Array): Sync<Uint8Array>;
  /** Copy frame bytes [srcOffset, srcOffset + count) by PIO into `dst` at `dstOffset` (yield* it). */
  copyTo(dst: Uint8Array, dstOffset?: number, srcOffset?: number, count?: number): Sync;
}
/** A receive upcall; one that reads the frame is a generator (yield* frame.copyTo(...)). */
export type LanceReceiveHandler = (frame: LanceRxFrame) => unknown;

/** What the caller writes a transmit frame through (PIO into the descriptor's buffer). */
export interface LanceTxWriter {
  /** Write `src` at frame offset `offset`. */
  write(offset: number, src: Uint8Array): void;
}

export type LanceTxError = 'retry' | 'late-collision' | 'lost-carrier' | 'underflow' | 'reset';

export interface LanceTxDone {
  readonly ok: boolean;
  readonly length: number;
  /** 0, 1, or 2 meaning "more than one" (the chip reports no exact count); 16 on RTRY. */
  readonly collisions: number;
  readonly deferred: boolean;
  readonly error?: LanceTxError;
}

export interface LanceDriverCounters {
  interrupts: number;
  spuriousInterrupts: number;
  framesSent: number;
  bytesSent: number;
  txErrors: number;
  txCollisions: number;
  txOneCollision: number;
  txMoreCollisions: number;
  txRetryErrors: number;
  txLateCollisions: number;
  txLostCarrier: number;
  txUnderflows: number;
  txDeferred: number;
  txQueued: number;
  txQueueDrops: number;
  txDroppedOnReset: number;
  framesReceived: number;
  bytesReceived: number;
  rxCrcErrors: number;
  rxBufferErrors: number;
  rxOverflows: number;
  rxFramingErrors: number;
  rxErrors: number;
  /** MISS flags seen (the chip has one flag, so several lost frames may count once). */
  rxMissed: number;
  babbles: number;
  heartbeatErrors: number;
  memoryErrors: number;
  reinits: number;
  watchdogResets: number;
}

const DEFAULTS = { rxRingLog2: 6, txRingLog2: 4, bufferBytes: 1536, txQueueMax: 256, watchdogNs: 5_000_000_000 } as const;
const INIT_POLLS_MAX = 100;
const RX_RING_ADDR = 0x20;
const BUFFERS_ALIGN = 0x100;

/** Per-segment view of a received frame (a chain of buffers). */
interface RxSegment {
  addr: number;
  length: number;
}

export class LanceDriver {
  readonly counters: LanceDriverCounters = {
    interrupts: 0, spuriousInterrupts: 0, framesSent: 0, bytesSent: 0, txErrors: 0, txCollisions: 0,
    txOneCollision: 0, txMoreCollisions: 0, txRetryErrors: 0, txLateCollisions: 0, txLostCarrier: 0,
    txUnderflows: 0, txDeferred: 0, txQueued: 0, txQueueDrops: 0, txDroppedOnReset: 0, framesReceived: 0,
    bytesReceived: 0, rxCrcErrors: 0, rxBufferErrors: 0, rxOverflows: 0, rxFramingErrors: 0, rxErrors: 0,
    rxMissed: 0, babbles: 0, heartbeatErrors: 0, memoryErrors: 0, reinits: 0, watchdogResets: 0,
  };
  /** Station address (wire order), from the ESAR at attach. */
  readonly stationAddress = new Uint8Array(6);
  /** Called when a transmit descriptor completes (or is dropped by a reset). */
  onTransmitDone: ((done: LanceTxDone) => void) | undefined = undefined;
  /** The default receive handler's output: a copy of each frame (without FCS). */
  onFrame: ((frame: Uint8Array) => void) | undefined = undefined;
  /** Called once after each interrupt's receive drain (the network I/O module signals once per batch here). */
  onReceiveBatchEnd: (() => void) | undefined = undefined;

  private readonly bus: PhysicalBus;
  private readonly base: number;
  private readonly nRx: number;
  private readonly nTx: number;
  private readonly bufBytes: number;
  private readonly txRingAddr: number;
  private readonly rxBufAddr: number;
  private readonly txBufAddr: number;
  private readonly txQueueMax: number;
  private readonly txQueue: Uint8Array[] = [];
  private readonly txLength: number[];
  private rxIndex = 0;
  private txProd = 0;
  private txCons = 0;
  private txOutstanding = 0;
  /** Last CSR number written to RAP (the driver is the only writer). */
  private rap = -1;
  private running = false;
  private attached = false;
  private handler: LanceReceiveHandler | undefined = undefined;
  private promiscuous: boolean;
  private ladrf: [number, number, number, number];
  private readonly costs: { intr: number; rx: number; tx: number; pollNs: number; stopNs: number };
  private readonly watchdog: SimEvent;
  private readonly watchdogNs: number;
  private lastTxProgressNs = 0;
  private readonly rxFrame: RxFrameRef;
  private readonly txWriter: TxWriter;

  constructor(
    private readonly env: DriverEnv,
    private readonly config: LanceDriverConfig,
  ) {
    this.bus = env.host.bus;
    this.base = config.slotBase;
    const rl = config.rxRingLog2 ?? DEFAULTS.rxRingLog2;
    const tl = config.txRingLog2 ?? DEFAULTS.txRingLog2;
    assert(Number.isInteger(rl) && rl >= 0 && rl <= 7 && Number.isInteger(tl) && tl >= 0 && tl <= 7, 'LANCE rings are 1..128 entries (log2 0..7)');
    this.nRx = 1 << rl;
    this.nTx = 1 << tl;
    this.bufBytes = config.bufferBytes ?? DEFAULTS.bufferBytes;
    assert(this.bufBytes >= 64 && this.bufBytes <= 4096, 'LANCE buffers are 64..4096 bytes');
    this.txRingAddr = RX_RING_ADDR + this.nRx * LE_DESC_BYTES;
    const ringsEnd = this.txRingAddr + this.nTx * LE_DESC_BYTES;
    this.rxBufAddr = Math.ceil(ringsEnd / BUFFERS_ALIGN) * BUFFERS_ALIGN;
    this.txBufAddr = this.rxBufAddr + this.nRx * this.bufBytes;
    assert(this.txBufAddr + this.nTx * this.bufBytes <= PMAD.SRAM_BYTES, 'LANCE rings and buffers exceed the 128 KB buffer');
    this.txQueueMax = config.txQueueMax ?? DEFAULTS.txQueueMax;
    this.txLength = new Array<number>(this.nTx).fill(0);
    const c = env.host.costs;
    this.costs = {
      intr: c.get('lance.driverInterruptCycles'),
      rx: c.get('lance.driverRxFrameCycles'),
      tx: c.get('lance.driverTxFrameCycles'),
      pollNs: c.get('lance.driverPollDelayNs'),
      stopNs: c.get('lance.driverStopDelayNs'),
    };
    this.watchdogNs = config.watchdogNs ?? DEFAULTS.watchdogNs;
    this.watchdog = env.host.sched.createEvent(`${env.host.name}.lance-driver.watchdog`, Priority.timer, () => this.watchdogFired());
    this.rxFrame = new RxFrameRef(this.bus, this.base, env.host.cpu);
    this.txWriter = new TxWriter(this.bus);
    this.promiscuous = config.promiscuous ?? false;
    const l = config.ladrf ?? [0, 0, 0, 0];
    this.ladrf = [l[0], l[1], l[2], l[3]];
  }

  /**
   * Change the receive filter. MODE and LADRF are read only at INIT, so a running chip is
   * re-initialized (as NetBSD does for multicast-list changes; hw doc §5 step 20).
   */
  *setFilter(filter: { readonly promiscuous?: boolean; readonly multicast?: readonly Uint8Array[] }): Sync<boolean> {
    if (filter.promiscuous !== undefined) this.promiscuous = filter.promiscuous;
    if (filter.multicast !== undefined) this.ladrf = lanceLadrf(filter.multicast);
    return this.running ? yield* this.reinit('filter change') : true;
  }

  get isRunning(): boolean {
    return this.running;
  }
  /** Transmit descriptors free now (a frame written with transmitFrom needs one). */
  /** Frames in the transmit ring not yet completed (the network I/O module's reroute accounting). */
  get txInRing(): number {
    return this.txOutstanding;
  }
  get txSlotsFree(): number {
    return this.nTx - this.txOutstanding;
  }
  get txQueueLength(): number {
    return this.txQueue.length;
  }

  /** Receive upcall for every good frame; undefined restores the default copy-out handler. */
  setReceiveHandler(handler: LanceReceiveHandler | undefined): void {
    this.handler = handler;
  }

  // ---- registers ---------------------------------------------------------------------------

  private selectCsr(n: number): void {
    if (this.rap === n) return;
    this.bus.write16(this.base + PMAD.RAP, n);
    this.rap = n;
  }
  /** Read CSR n at the CPU-local time (a sync point before the read; the RAP write is timed). */
  private *readCsr(n: number): Sync<number> {
    this.selectCsr(n);
    if (this.env.host.cpu.isAhead) yield SYNC;
    return this.bus.read16(this.base + PMAD.RDP);
  }
  private writeCsr(n: number, v: number): void {
    this.selectCsr(n);
    this.bus.write16(this.base + PMAD.RDP, v);
  }
  /**
   * Read a 16-bit word of the board. Not a sync point itself: every caller writes
   * `if (cpu.isAhead) yield SYNC;` just before it (no generator is made per read).
   */
  private rd16Synced(lanceAddr: number): number {
    return this.bus.read16(this.base + lanceAddr);
  }
  private wr16(lanceAddr: number, v: number): void {
    this.bus.write16(this.base + lanceAddr, v);
  }

  // ---- probe, init, start, stop (hw doc §5 steps 1-10, 20, 21) -----------------------------

  /**
   * Step 1-2: check the option ROM names a PMAD-AA, read the station address from the ESAR,
   * stop the chip and hook the interrupt. False when no PMAD-AA answers in the slot.
   */
  *attach(): Sync<boolean> {
    assert(!this.attached, 'LANCE driver attached twice');
    const bus = this.bus;
    const cpu = this.env.host.cpu;
    if (!bus.probe(this.base + PMAD.ROM_MODULE)) return false;
    let name = '';
    for (let i = 0; i < 8; i++) {
      if (cpu.isAhead) yield SYNC;
      name += String.fromCharCode(bus.read32(this.base + PMAD.ROM_MODULE + 4 * i) & 0xff);
    }
    if (!(MODULE_NAMES as readonly string[]).includes(name)) return false;
    const esar = new Uint8Array(32);
    for (let n = 0; n < 32; n++) {
      if (cpu.isAhead) yield SYNC;
      esar[n] = bus.read8(this.base + PMAD.ESAR + PMAD.ESAR_STRIDE * n);
    }
    // Linux's check: the test pattern at 24..27 (hw doc §4.1).
    if (esar[24] !== 0xff || esar[25] !== 0x00 || esar[26] !== 0x55 || esar[27] !== 0xaa) return false;
    this.stationAddress.set(this.config.stationAddress ?? esar.subarray(0, 6));
    this.writeCsr(0, LE_CSR0.STOP);
    this.env.registerInterrupt(this.config.slot, () => this.interrupt());
    this.attached = true;
    return true;
  }

  /** Steps 3-10: stop, build the rings, INIT, wait for IDON, start. False when the chip fails. */
  *init(): Sync<boolean> {
    assert(this.attached, 'LANCE driver: init before attach');
    const cpu = this.env.host.cpu;
    this.running = false;
    this.writeCsr(0, LE_CSR0.STOP);
    cpu.chargeNs(this.costs.stopNs, 'pio');
    this.writeCsr(3, 0);
    this.buildRings();
    this.writeCsr(1, 0); // init block at LANCE address 0
    this.writeCsr(2, 0);
    this.writeCsr(0, LE_CSR0.INIT);
    let csr0 = 0;
    for (let i = 0; i < INIT_POLLS_MAX; i++) {
      csr0 = yield* this.readCsr(0);
      if ((csr0 & (LE_CSR0.IDON | LE_CSR0.ERR)) !== 0) break;
      cpu.chargeNs(this.costs.pollNs, 'pio');
    }
    if ((csr0 & LE_CSR0.IDON) === 0 || (csr0 & LE_CSR0.ERR) !== 0) {
      this.writeCsr(0, LE_CSR0.STOP);
      const trace = this.env.host.trace;
      if (trace.on) trace.record(`${this.env.host.name}.lance-driver`, 'lance.init-failed', csr0);
      return false;
    }
    // NetBSD style: acknowledge IDON, enable interrupts and start in one store.
    this.writeCsr(0, LE_CSR0.IDON | LE_CSR0.INEA | LE_CSR0.STRT);
    const after = yield* this.readCsr(0);
    if ((after & (LE_CSR0.TXON | LE_CSR0.RXON)) !== (LE_CSR0.TXON | LE_CSR0.RXON)) {
      this.writeCsr(0, LE_CSR0.STOP);
      return false;
    }
    this.running = true;
    this.lastTxProgressNs = cpu.localNow();
    this.refill();
    return true;
  }

  /** Step 21. */
  stop(): void {
    this.writeCsr(0, LE_CSR0.STOP);
    this.running = false;
    this.sched().cancel(this.watchdog);
  }

  private buildRings(): void {
    const bus = this.bus;
    const ib = new Uint8Array(LE_IB.BYTES);
    const v = new DataView(ib.buffer);
    v.setUint16(LE_IB.MODE, this.promiscuous ? LE_MODE.PROM : 0, true);
    const a = this.stationAddress;
    for (let i = 0; i < 3; i++) v.setUint16(LE_IB.PADR + 2 * i, a[2 * i]! | (a[2 * i + 1]! << 8), true);
    for (let i = 0; i < 4; i++) v.setUint16(LE_IB.LADRF + 2 * i, this.ladrf[i]! & 0xffff, true);
    v.setUint16(LE_IB.RDRA, RX_RING_ADDR & 0xffff, true);
    v.setUint16(LE_IB.RLEN, (Math.log2(this.nRx) << 13) | ((RX_RING_ADDR >>> 16) & 0xff), true);
    v.setUint16(LE_IB.TDRA, this.txRingAddr & 0xffff, true);
    v.setUint16(LE_IB.TLEN, (Math.log2(this.nTx) << 13) | ((this.txRingAddr >>> 16) & 0xff), true);
    bus.writeBlock(this.base + 0, ib);
    // Descriptors: address and count first, the OWN-carrying word last (hw doc §5 step 5).
    for (let i = 0; i < this.nRx; i++) this.giveRx(i);
    for (let i = 0; i < this.nTx; i++) {
      const d = this.txRingAddr + LE_DESC_BYTES * i;
      const buf = this.txBufAddr + this.bufBytes * i;
      this.wr16(d + LE_D_ADDR, buf & 0xffff);
      this.wr16(d + LE_D_BCNT, 0xf000);
      this.wr16(d + LE_D_MISC, 0);
      this.wr16(d + LE_D_FLAGS, (buf >>> 16) & 0xff);
    }
    this.rxIndex = 0;
    this.txProd = 0;
    this.txCons = 0;
    this.txOutstanding = 0;
  }

  /** Hand receive descriptor i (back) to the chip. */
  private giveRx(i: number): void {
    const d = RX_RING_ADDR + LE_DESC_BYTES * i;
    const buf = this.rxBufAddr + this.bufBytes * i;
    this.wr16(d + LE_D_ADDR, buf & 0xffff);
    this.wr16(d + LE_D_BCNT, leBcnt(this.bufBytes));
    this.wr16(d + LE_D_MISC, 0);
    this.wr16(d + LE_D_FLAGS, LE_RMD1.OWN | ((buf >>> 16) & 0xff));
  }

  /** Step 20: full re-initialization; frames in the transmit ring are lost (counted, reported). */
  *reinit(reason: string): Sync<boolean> {
    this.counters.reinits++;
    const trace = this.env.host.trace;
    if (trace.on) trace.record(`${this.env.host.name}.lance-driver`, 'lance.reinit', this.txOutstanding, 0, reason);
    const lost = this.txOutstanding;
    for (let k = 0; k < lost; k++) {
      const slot = (this.txCons + k) % this.nTx;
      this.counters.txDroppedOnReset++;
      this.onTransmitDone?.({ ok: false, length: this.txLength[slot]!, collisions: 0, deferred: false, error: 'reset' });
    }
    this.txOutstanding = 0;
    return yield* this.init();
  }

  // ---- transmit (steps 11-14) ----------------------------------------------------------------

  /**
   * Queue a frame (destination address .. end of data, no FCS; 14..1514 bytes, padded here to
   * 60). Returns false when the frame is refused (bad size, or the send queue is full).
   */
  transmit(frame: Uint8Array): boolean {
    const cpu = this.env.host.cpu;
    cpu.splRaise();
    try {
      return this.transmitMasked(frame);
    } finally {
      cpu.splLower();
    }
  }

  private transmitMasked(frame: Uint8Array): boolean {
    if (frame.length < 14 || frame.length > ETHER_MAX_DATA) {
      this.counters.txErrors++;
      return false;
    }
    if (this.running && this.txOutstanding < this.nTx && this.txQueue.length === 0) {
      this.putFrame(frame);
      return true;
    }
    if (this.txQueue.length >= this.txQueueMax) {
      this.counters.txQueueDrops++;
      return false;
    }
    this.txQueue.push(frame.slice());
    this.counters.txQueued++;
    return true;
  }

  /**
   * Write a frame of `length` bytes straight into a free transmit buffer through `fill` (the
   * caller copies from its own source by PIO) and hand it to the chip. False, with nothing
   * written, when no descriptor is free (or frames are queued ahead) or the length is out of
   * range; retry from onTransmitDone.
   */
  transmitFrom(length: number, fill: (w: LanceTxWriter) => void): boolean {
    // Frames already queued go first: a direct write never overtakes them.
    if (!this.running || this.txOutstanding >= this.nTx || this.txQueue.length > 0 || length < 14 || length > ETHER_MAX_DATA) return false;
    const cpu = this.env.host.cpu;
    cpu.splRaise();
    try {
      this.put(length, fill);
    } finally {
      cpu.splLower();
    }
    return true;
  }

  /** put() of a whole frame held in memory (its bytes are the buffer's from offset 0). */
  private putFrame(frame: Uint8Array): void {
    this.txFrame = frame;
    try {
      this.put(frame.length, this.fillFromFrame);
    } finally {
      this.txFrame = undefined;
    }
  }
  private txFrame: Uint8Array | undefined = undefined;
  private readonly fillFromFrame = (w: LanceTxWriter): void => {
    const f = this.txFrame;
    if (f !== undefined) w.write(0, f);
  };

  private put(length: number, fill: (w: LanceTxWriter) => void): void {
    assert(this.txOutstanding < this.nTx, 'transmit ring overrun');
    const cpu = this.env.host.cpu;
    cpu.charge(this.costs.tx, 'driver');
    const slot = this.txProd;
    const buf = this.txBufAddr + this.bufBytes * slot;
    const bus = this.bus;
    const base = this.base + buf;
    // One writer per driver, aimed at this buffer for the call (saved and restored around it,
    // so a fill that transmits again through the driver cannot redirect this frame's writes).
    const w = this.txWriter;
    const savedBase = w.base;
    const savedLength = w.length;
    w.base = base;
    w.length = length;
    try {
      fill(w);
    } finally {
      w.base = savedBase;
      w.length = savedLength;
    }
    const sent = Math.max(length, ETHER_MIN_DATA);
    if (length < ETHER_MIN_DATA) bus.writeBlock(base + length, new Uint8Array(ETHER_MIN_DATA - length));
    const d = this.txRingAddr + LE_DESC_BYTES * slot;
    this.wr16(d + LE_D_BCNT, leBcnt(sent));
    this.wr16(d + LE_D_MISC, 0);
    this.wr16(d + LE_D_FLAGS, LE_TMD1.OWN | LE_TMD1.STP | LE_TMD1.ENP | ((buf >>> 16) & 0xff));
    this.txLength[slot] = length;
    this.txProd = (slot + 1) % this.nTx;
    if (this.txOutstanding === 0) this.lastTxProgressNs = cpu.localNow();
    this.txOutstanding++;
    this.writeCsr(0, LE_CSR0.INEA | LE_CSR0.TDMD);
    this.armWatchdog();
  }

  /** Move queued frames into free descriptors. */
  private refill(): void {
    while (this.running && this.txQueue.length > 0 && this.txOutstanding < this.nTx) {
      const f = this.txQueue.shift()!;
      this.putFrame(f);
    }
  }

  // ---- interrupt (steps 15-19) ---------------------------------------------------------------

  private *interrupt(): Sync {
    const cpu = this.env.host.cpu;
    cpu.charge(this.costs.intr, 'driver');
    this.counters.interrupts++;
    this.selectCsr(0);
    if (cpu.isAhead) yield SYNC;
    const csr0 = this.bus.read16(this.base + PMAD.RDP);
    if ((csr0 & LE_CSR0.INTR) === 0) {
      this.counters.spuriousInterrupts++;
      return;
    }
    const flags = csr0 & (LE_CSR0.BABL | LE_CSR0.CERR | LE_CSR0.MISS | LE_CSR0.MERR | LE_CSR0.RINT | LE_CSR0.TINT | LE_CSR0.IDON);
    this.writeCsr(0, flags | LE_CSR0.INEA);
    let reinit: string | undefined;
    if ((csr0 & LE_CSR0.BABL) !== 0) this.counters.babbles++;
    if ((csr0 & LE_CSR0.CERR) !== 0) this.counters.heartbeatErrors++;
    if ((csr0 & LE_CSR0.MISS) !== 0) this.counters.rxMissed++;
    if ((csr0 & LE_CSR0.MERR) !== 0) {
      this.counters.memoryErrors++;
      reinit = 'MERR';
    }
    if ((csr0 & LE_CSR0.RINT) !== 0) {
      yield* this.drainRx();
      this.onReceiveBatchEnd?.();
    }
    if ((csr0 & LE_CSR0.TINT) !== 0) reinit = (yield* this.drainTx()) ?? reinit;
    if (reinit === undefined && this.running && (csr0 & (LE_CSR0.TXON | LE_CSR0.RXON)) !== (LE_CSR0.TXON | LE_CSR0.RXON)) {
      reinit = 'TXON/RXON off';
    }
    if (reinit !== undefined) yield* this.reinit(reinit);
    this.refill();
  }

  private *drainRx(): Sync {
    const cpu = this.env.host.cpu;
    for (let n = 0; n < this.nRx; n++) {
      const first = this.rxIndex;
      if (cpu.isAhead) yield SYNC;
      const flags = this.rd16Synced(RX_RING_ADDR + LE_DESC_BYTES * first + LE_D_FLAGS);
      if ((flags & LE_RMD1.OWN) !== 0) return;
      // Collect the frame's descriptors STP..ENP (or up to an error).
      let count = 1;
      let last = first;
      let lastFlags = flags;
      while ((lastFlags & (LE_RMD1.ENP | LE_RMD1.ERR)) === 0 && count < this.nRx) {
        const next = (last + 1) % this.nRx;
        if (cpu.isAhead) yield SYNC;
        const f = this.rd16Synced(RX_RING_ADDR + LE_DESC_BYTES * next + LE_D_FLAGS);
        if ((f & LE_RMD1.OWN) !== 0) return; // the chip is still filling the chain
        last = next;
        lastFlags = f;
        count++;
      }
      cpu.charge(this.costs.rx, 'driver');
      if ((flags & LE_RMD1.STP) === 0) {
        this.counters.rxErrors++;
      } else if ((lastFlags & LE_RMD1.ERR) !== 0) {
        this.counters.rxErrors++;
        if ((lastFlags & LE_RMD1.CRC) !== 0) this.counters.rxCrcErrors++;
        if ((lastFlags & LE_RMD1.BUFF) !== 0) this.counters.rxBufferErrors++;
        if ((lastFlags & LE_RMD1.OFLO) !== 0) this.counters.rxOverflows++;
        if ((lastFlags & LE_RMD1.FRAM) !== 0) this.counters.rxFramingErrors++;
      } else {
        if (cpu.isAhead) yield SYNC;
        const mcnt = this.rd16Synced(RX_RING_ADDR + LE_DESC_BYTES * last + LE_D_MISC) & 0x0fff;
        yield* this.deliver(first, count, mcnt - ETHER_FCS);
      }
      for (let k = 0; k < count; k++) this.giveRx((first + k) % this.nRx);
      this.rxIndex = (last + 1) % this.nRx;
    }
  }

  private *deliver(first: number, count: number, length: number): Sync {
    if (length < 14) {
      this.counters.rxErrors++;
      return;
    }
    const ref = this.rxFrame;
    let left = length;
    let nSegs = 0;
    for (let k = 0; k < count && left > 0; k++) {
      const i = (first + k) % this.nRx;
      const n = Math.min(this.bufBytes, left);
      ref.setSegment(nSegs++, this.rxBufAddr + this.bufBytes * i, n);
      left -= n;
    }
    this.counters.framesReceived++;
    this.counters.bytesReceived += length;
    ref.reset(nSegs, length);
    try {
      if (this.handler !== undefined) {
        const r = this.handler(ref);
        if (isSync(r)) yield* r;
      } else {
        const copy = new Uint8Array(length);
        yield* ref.copyTo(copy);
        this.onFrame?.(copy);
      }
    } finally {
      ref.reset(0, 0);
    }
  }

  /** Returns a reason to re-initialize, if any. */
  private *drainTx(): Sync<string | undefined> {
    const c = this.counters;
    const cpu = this.env.host.cpu;
    let reason: string | undefined;
    while (this.txOutstanding > 0) {
      const slot = this.txCons;
      const d = this.txRingAddr + LE_DESC_BYTES * slot;
      if (cpu.isAhead) yield SYNC;
      const flags = this.rd16Synced(d + LE_D_FLAGS);
      if ((flags & LE_TMD1.OWN) !== 0) break;
      const length = this.txLength[slot]!;
      const deferred = (flags & LE_TMD1.DEF) !== 0;
      if (deferred) c.txDeferred++;
      let done: LanceTxDone;
      if ((flags & LE_TMD1.ERR) !== 0) {
        if (cpu.isAhead) yield SYNC;
        const tmd3 = this.rd16Synced(d + LE_D_MISC);
        c.txErrors++;
        let error: LanceTxError = 'retry';
        if ((tmd3 & (LE_TMD3.BUFF | LE_TMD3.UFLO)) !== 0) {
          c.txUnderflows++;
          error = 'underflow';
          reason = 'transmit BUFF/UFLO';
        } else if ((tmd3 & LE_TMD3.LCOL) !== 0) {
          c.txLateCollisions++;
          error = 'late-collision';
        } else if ((tmd3 & LE_TMD3.LCAR) !== 0) {
          c.txLostCarrier++;
          error = 'lost-carrier';
        } else if ((tmd3 & LE_TMD3.RTRY) !== 0) {
          c.txRetryErrors++;
          c.txCollisions += 16;
        }
        done = { ok: false, length, collisions: error === 'retry' ? 16 : 0, deferred, error };
      } else {
        const collisions = (flags & LE_TMD1.MORE) !== 0 ? 2 : (flags & LE_TMD1.ONE) !== 0 ? 1 : 0;
        if (collisions === 1) c.txOneCollision++;
        if (collisions === 2) c.txMoreCollisions++;
        c.txCollisions += collisions;
        c.framesSent++;
        c.bytesSent += length;
        done = { ok: true, length, collisions, deferred };
      }
      this.txCons = (slot + 1) % this.nTx;
      this.txOutstanding--;
      this.lastTxProgressNs = cpu.localNow();
      this.onTransmitDone?.(done);
      if (reason !== undefined) break;
    }
    return reason;
  }

  // ---- watchdog (step 14) --------------------------------------------------------------------

  private sched(): Scheduler {
    return this.env.host.sched;
  }

  private armWatchdog(): void {
    if (this.watchdog.scheduled) return;
    this.sched().schedule(this.watchdog, Math.max(this.sched().now, this.lastTxProgressNs + this.watchdogNs));
  }

  private watchdogFired(): void {
    if (!this.running || this.txOutstanding === 0) return;
    const due = this.lastTxProgressNs + this.watchdogNs;
    if (this.sched().now < due) {
      this.sched().schedule(this.watchdog, due);
      return;
    }
    const self = this;
    this.env.postKernelWork(function* (): Sync {
      if (!self.running || self.txOutstanding === 0) return;
      self.counters.watchdogResets++;
      yield* self.reinit('watchdog');
    });
  }
}

/**
 * The logical address filter for a list of group addresses (hw doc §2.2): the top 6 bits of the
 * CRC-32 register (preset ~0, not complemented) over the 6 address bytes pick one of 64 bits.
 */
export function lanceLadrf(addresses: readonly Uint8Array[]): [number, number, number, number] {
  const words: [number, number, number, number] = [0, 0, 0, 0];
  for (const a of addresses) {
    if (a.length !== 6 || (a[0]! & 1) === 0) continue; // only group addresses go through the hash
    const index = (~crc32(a, 0, 6) >>> 0) >>> 26;
    words[index >>> 4] = words[index >>> 4]! | (1 << (index & 15));
  }
  return words;
}

/** What put() hands a transmit fill: writes land in one transmit buffer (reused; aimed per call). */
class TxWriter implements LanceTxWriter {
  base = 0;
  length = 0;
  constructor(private readonly bus: PhysicalBus) {}
  write(offset: number, src: Uint8Array): void {
    if (offset < 0 || offset + src.length > this.length) return;
    this.bus.writeBlock(this.base + offset, src);
  }
}

/** The handler's view of one received frame (reused; valid only during the call). */
class RxFrameRef implements LanceRxFrame {
  /** The frame's buffers: the first `nSegs` entries (kept and refilled, one object per ring slot at most). */
  private readonly segs: RxSegment[] = [];
  private nSegs = 0;
  length = 0;

  constructor(
    private readonly bus: PhysicalBus,
    private readonly base: number,
    private readonly cpu: { readonly isAhead: boolean },
  ) {}

  setSegment(k: number, addr: number, length: number): void {
    const s = this.segs[k];
    if (s === undefined) this.segs.push({ addr, length });
    else {
      s.addr = addr;
      s.length = length;
    }
  }

  reset(nSegs: number, length: number): void {
    this.nSegs = nSegs;
    this.length = length;
  }

  *readHeader(n: number, dst?: Uint8Array): Sync<Uint8Array> {
    const count = Math.max(0, Math.min(n, this.length));
    const out = dst ?? new Uint8Array(count);
    yield* this.copyTo(out, 0, 0, Math.min(count, out.length));
    return out;
  }

  *copyTo(dst: Uint8Array, dstOffset = 0, srcOffset = 0, count: number = this.length - srcOffset): Sync {
    // Clamp to the frame and to the destination: a bad range copies less, never throws.
    let left = Math.max(0, Math.min(count, this.length - srcOffset, dst.length - dstOffset));
    let src = Math.max(0, srcOffset);
    let at = Math.max(0, dstOffset);
    let segStart = 0;
    for (let k = 0; k < this.nSegs; k++) {
      const s = this.segs[k]!;
      if (left <= 0) break;
      const segEnd = segStart + s.length;
      if (src < segEnd) {
        const from = src - segStart;
        const n = Math.min(left, s.length - from);
        if (this.cpu.isAhead) yield SYNC;
        this.bus.readBlock(this.base + s.addr + from, dst.subarray(at, at + n));
        at += n;
        src += n;
        left -= n;
      }
      segStart = segEnd;
    }
  }
}
