/**
 * The DEC SRC AN1 TURBOchannel host controller (the board the paper used on its switchless
 * 100 Mb/s AN1 segment).
 *
 * Provenance. Facts: the paper (§3.3 descriptors written by the host into on-board registers,
 * BQI-named rings of host buffers, DMA of whole frames with their network headers; §3.4 BQI 0 is
 * the kernel's protected default; §4 DMA to and from host memory, the 40 ns real-time clock that
 * user processes map, the 1500-byte default packet; Acknowledgments: the BQI firmware), collected
 * in ../shared/hw/an1-autonet.md §§1–6. Register map, link header and behaviour follow that
 * note's §8 PROPOSAL (no public register map exists). Departures and additions, with reasons:
 * - Completion status codes 4 (buffer error: unaligned or zero-length descriptor) and 5 (DMA
 *   error: buffer not RAM), TX_STATUS 3 (shorter than the link header), the counters RXERRS,
 *   DMAERRS, DESCERRS, OVERRUNS, RXFRAMES and TX_FAILED: §8 has no way to report the misuse the
 *   issue asks to report ("error status and counters, never a throw").
 * - Frames failing CRC or length checks are counted (RXERRS, ISR.RXERR) and discarded, never
 *   posted with status 1: a corrupted BQI field must not choose a ring. Code 1 stays reserved.
 * - Link header fields are big-endian (network order, as the EtherType in TYPE); §8.4 is silent.
 * - RESET keeps the clock running (§8.3) and lets a frame already on the wire finish.
 * - BQ_CTRL writes that change RINGLOG2 while buffers are outstanding, or set it above 6, and
 *   BQ_POSTED writes that post more buffers than the ring holds, are refused (guest error,
 *   DESCERRS): accepting them would let descriptors alias.
 *
 * Modelled: the register pages of §8.2 with declared access kinds (registers.ts); the BQI table
 * and 64 × 64 on-board descriptors; a one-processor firmware engine running a FirmwareProgram
 * (firmware-port.ts) on the 40 ns clock, whose host-visible effects commit when each step's
 * cycles have elapsed; a receive DMA engine and a transmit DMA engine (TURBOchannel bus master:
 * setup + per-byte time from the cost table; bytes land in RAM when a transfer ends, all or
 * nothing); receive staging for 4 frames; a 32-entry transmit queue feeding 2 on-board transmit
 * buffers (DMA of frame k+1 overlaps the wire time of frame k); a 128-entry completion FIFO; the
 * clock page (exact ticks of simulated time); the option ROM ("AN1-TC  "); one interrupt line,
 * asserted while CSR.INTEN and (ISR & IMR) ≠ 0; internal loopback (CSR.LOOPBACK).
 * Not modelled: the alternate port and LINKCHG (no link failure is modelled), switches, CPU
 * cycles stolen by DMA, contention between the two DMA engines (together ≤ 50 MB/s of the
 * TURBOchannel's ~100 MB/s), cache effects of DMA.
 */
import { crc32, fcsOk, writeFcs } from '../../bits/crc32.ts';
import { RegisterFile, type RegisterDef } from '../../bits/register-file.ts';
import type { AccessSize, BusTarget, CostReader, DmaPort, InterruptLine } from '../../bus/index.ts';
import { buildOptionRom } from '../../host/turbochannel.ts';
import { AN1_LINK_MBPS, type An1LinkEndpoint, type An1LinkPort } from '../../net/an1-link.ts';
import { assert, bug } from '../../sim/assert.ts';
import { Priority, type Scheduler, type SimEvent } from '../../sim/scheduler.ts';
import { AN1_CLOCK_40NS, bytesOnWireNs, nsToCycles, type Ns } from '../../sim/time.ts';
import type { Trace } from '../../sim/trace.ts';
import type {
  BoardCounter,
  FirmwareCosts,
  FirmwarePort,
  FirmwareProgram,
  IsrFlag,
  RxFrameView,
  RxStatus,
  TxResult,
  TxStatus,
} from './firmware-port.ts';
import {
  AN1_DECODED_BYTES,
  AN1_LIMITS,
  AN1_PAGE,
  AN1_ROM_IDENTITY,
  BQ_CTRL_BITS,
  BQ_CTRL_RESET_BQI0,
  BQI_ENTRY_REGS,
  CLEAR_ON_READ_REGS,
  CSR_BITS,
  CSR_PAGE_REGS,
  hostWritable,
  ISR_BITS,
  packCompletion,
  RXC_EMPTY,
  TX_PAGE_REGS,
} from './registers.ts';

export interface An1ControllerContext {
  readonly sched: Scheduler;
  readonly trace: Trace;
  readonly costs: CostReader;
}

export interface An1ControllerOptions {
  /** Component path for traces, e.g. `ws-a.an1`. */
  readonly name: string;
  /** 48-bit station UID (UID_HI:UID_LO). */
  readonly uid: number;
}

const ISR_OF: Record<IsrFlag, number> = {
  rxDone: ISR_BITS.RXDONE,
  txDone: ISR_BITS.TXDONE,
  rxDrop: ISR_BITS.RXDROP,
  rxErr: ISR_BITS.RXERR,
  txErr: ISR_BITS.TXERR,
};
const COUNTERS: readonly BoardCounter[] = ['drops', 'rxErrs', 'dmaErrs', 'descErrs', 'overruns', 'rxFrames'];
const COUNTER_REG: Record<BoardCounter, string> = {
  drops: 'DROPS',
  rxErrs: 'RXERRS',
  dmaErrs: 'DMAERRS',
  descErrs: 'DESCERRS',
  overruns: 'OVERRUNS',
  rxFrames: 'RXFRAMES',
};

// Effect log opcodes (committed at the end of a firmware step).
/** BQI 0's entry: BQ_CTRL resets enabled (one list, so its register layout is compiled once). */
const BQI0_ENTRY_REGS: readonly RegisterDef[] = BQI_ENTRY_REGS.map((d) => (d.name === 'BQ_CTRL' ? { ...d, reset: BQ_CTRL_RESET_BQI0 } : d));

const OP_RX_DMA = 1;
const OP_RX_RELEASE = 2;
const OP_COMPLETION = 3;
const OP_FILLED = 4;
const OP_TX_POP = 5;
const OP_TX_DMA = 6;
const OP_TX_COMPLETE = 7;
const OP_RAISE = 8;
const OP_COUNT = 9;

type Job = 'rxDmaDone' | 'rxFrame' | 'txDone' | 'txStart';

/** Functional statistics for scenarios and reports (not visible to the host). */
export interface An1Stats {
  framesArrived: number;
  framesDelivered: number;
  framesSent: number;
  firmwareSteps: number;
  firmwareCycles: number;
  dmaBytesToHost: number;
  dmaBytesFromHost: number;
}

export class An1Controller implements BusTarget, An1LinkEndpoint {
  readonly name: string;
  private readonly sched: Scheduler;
  private readonly trace: Trace;
  private readonly rom: Uint8Array;
  readonly csr = new RegisterFile('an1-csr', CSR_PAGE_REGS);
  readonly txRegs = new RegisterFile('an1-tx', TX_PAGE_REGS);
  private readonly bqiFiles: RegisterFile[] = [];
  private readonly iCsr: number;
  private readonly iIsr: number;
  private readonly iImr: number;
  private readonly iMaxFrame: number;
  private readonly counterIndex: readonly number[];
  private readonly clearOnRead: ReadonlySet<number>;
  // BQI entry register indices (same in every entry).
  private readonly iCtrl: number;
  private readonly iPosted: number;
  private readonly iFilled: number;
  private readonly iBqDrops: number;
  private readonly iDesc0: number;

  private line: InterruptLine | undefined = undefined;
  private link: An1LinkPort | undefined = undefined;

  // Costs, read once.
  private readonly fwCosts: FirmwareCosts;
  private readonly dmaSetupNs: number;
  private readonly dmaNsPerByte: number;
  private readonly loopbackFramingNs: number;

  // Transmit queue (on-board, 32 entries): ring of (addr, len, time the host enqueued it).
  private readonly txqAddr = new Uint32Array(AN1_LIMITS.txQueueEntries);
  private readonly txqLen = new Uint32Array(AN1_LIMITS.txQueueEntries);
  /** Two-part entries (TX_HDR_* addition): header part's address and length (0: one part). */
  private readonly txqHdrAddr = new Uint32Array(AN1_LIMITS.txQueueEntries);
  private readonly txqHdrLen = new Uint32Array(AN1_LIMITS.txQueueEntries);
  private poppedHdrAddr = 0;
  private poppedHdrLen = 0;
  private readonly txqAt = new Float64Array(AN1_LIMITS.txQueueEntries);
  private txqHead = 0;
  private txqCount = 0;

  // Receive completion FIFO.
  private readonly rxc = new Uint32Array(AN1_LIMITS.rxcEntries);
  private rxcHead = 0;
  private rxcCount = 0;

  // Receive: staging, DMA.
  private readonly staging: Uint8Array[] = [];
  private readonly stagingCrcOk: boolean[] = [];
  private rxDmaFrame: Uint8Array | undefined = undefined;
  private rxDmaAddr = 0;
  private rxDmaLen = 0;
  private rxDmaDoneWaiting = false;
  private rxDmaOk = false;
  private readonly rxDmaEvent: SimEvent;

  // Transmit: DMA, on-board buffers, wire.
  private txDmaBusy = false;
  private txDmaAddr = 0;
  private txDmaLen = 0;
  private txDmaHdrAddr = 0;
  private txDmaHdrLen = 0;
  /** The frame the transmit DMA fetched at its start, and whether each part was RAM. */
  private txDmaFrame: Uint8Array | undefined = undefined;
  private txDmaHdrOk = false;
  private txDmaDataOk = false;
  private readonly txDmaEvent: SimEvent;
  private txBuffersInUse = 0;
  private readonly wireQueue: Uint8Array[] = [];
  private wireFrame: Uint8Array | undefined = undefined;
  private wireGeneration = 0;
  private wireLoopback = false;
  private readonly wireEvent: SimEvent;
  private readonly txResults: TxResult[] = [];

  // Firmware engine.
  private readonly firmware: FirmwareProgram;
  private readonly fwEvent: SimEvent;
  private stepActive = false;
  private stepCycles = 0;
  private readonly log: number[] = [];
  private inRxStep = false;
  private readonly rxView: RxFrameView & { frame: Uint8Array; crc: boolean };
  private readonly port: FirmwarePort;
  private generation = 0;

  // Clock page.
  private clockHiLatch = 0;

  readonly stats: An1Stats = {
    framesArrived: 0,
    framesDelivered: 0,
    framesSent: 0,
    firmwareSteps: 0,
    firmwareCycles: 0,
    dmaBytesToHost: 0,
    dmaBytesFromHost: 0,
  };

  constructor(
    ctx: An1ControllerContext,
    readonly options: An1ControllerOptions,
    firmware: FirmwareProgram,
    private readonly dma: DmaPort,
  ) {
    this.name = options.name;
    this.sched = ctx.sched;
    this.trace = ctx.trace;
    this.firmware = firmware;
    this.rom = buildOptionRom(AN1_ROM_IDENTITY);
    const c = ctx.costs;
    this.fwCosts = {
      rxDispatchCycles: c.get('an1.fwRxDispatchCycles'),
      rxCheckCycles: c.get('an1.fwRxCheckCycles'),
      rxBqiLookupCycles: c.get('an1.fwRxBqiLookupCycles'),
      rxDescriptorCycles: c.get('an1.fwRxDescriptorCycles'),
      rxDmaSetupCycles: c.get('an1.fwRxDmaSetupCycles'),
      rxCompleteCycles: c.get('an1.fwRxCompleteCycles'),
      rxDiscardCycles: c.get('an1.fwRxDiscardCycles'),
      txStartCycles: c.get('an1.fwTxStartCycles'),
      txDoneCycles: c.get('an1.fwTxDoneCycles'),
    };
    this.dmaSetupNs = c.get('an1.dmaSetupNs');
    this.dmaNsPerByte = c.get('an1.dmaNsPerByte');
    this.loopbackFramingNs = c.get('an1.wireFramingNs');
    this.romReadCycles = c.get('tc.romReadCycles');
    this.ioReadCycles = c.get('tc.ioReadCycles');
    this.ioWriteCycles = c.get('tc.ioWriteCycles');

    for (let b = 0; b < AN1_LIMITS.bqiCount; b++) {
      const defs = b === 0 ? BQI0_ENTRY_REGS : BQI_ENTRY_REGS;
      this.bqiFiles.push(new RegisterFile(`an1-bqi${b}`, defs));
    }
    const f0 = this.bqiFiles[0]!;
    this.iCtrl = f0.index('BQ_CTRL');
    this.iPosted = f0.index('BQ_POSTED');
    this.iFilled = f0.index('BQ_FILLED');
    this.iBqDrops = f0.index('BQ_DROPS');
    this.iDesc0 = f0.index('DESC_ADDR0');
    assert(f0.index('DESC_LEN0') === this.iDesc0 + 1 && f0.index('DESC_ADDR1') === this.iDesc0 + 2, 'descriptor registers are not interleaved');
    this.iCsr = this.csr.index('CSR');
    this.iIsr = this.csr.index('ISR');
    this.iImr = this.csr.index('IMR');
    this.iMaxFrame = this.csr.index('MAXFRAME');
    this.counterIndex = COUNTERS.map((k) => this.csr.index(COUNTER_REG[k]));
    this.clearOnRead = new Set(CLEAR_ON_READ_REGS.map((n) => this.csr.index(n)));

    this.rxDmaEvent = this.sched.createEvent(`${this.name}.rx-dma`, Priority.device, () => this.onRxDmaEnd());
    this.txDmaEvent = this.sched.createEvent(`${this.name}.tx-dma`, Priority.device, () => this.onTxDmaEnd());
    this.wireEvent = this.sched.createEvent(`${this.name}.wire`, Priority.device, () => this.onWireEnd());
    this.fwEvent = this.sched.createEvent(`${this.name}.firmware`, Priority.device, () => this.onFirmwareEvent());

    const self = this;
    this.rxView = {
      frame: new Uint8Array(0),
      crc: false,
      get length() {
        return this.frame.length;
      },
      get crcOk() {
        return this.crc;
      },
      headerU16(offset: number) {
        const f = this.frame;
        return offset + 1 < f.length ? (f[offset]! << 8) | f[offset + 1]! : 0;
      },
    };
    this.port = this.makePort(self);
    this.resetBoard();
  }

  private readonly romReadCycles: number;
  private readonly ioReadCycles: number;
  private readonly ioWriteCycles: number;

  // ---- Wiring ---------------------------------------------------------------------------------

  connectInterrupt(line: InterruptLine): void {
    this.line = line;
    this.updateIrq();
  }

  connectLink(port: An1LinkPort): void {
    this.link = port;
    this.refreshLinkUp();
  }

  // ---- BusTarget --------------------------------------------------------------------------------

  accessCycles(offset: number, _size: AccessSize, isWrite: boolean): number {
    if (offset < AN1_PAGE.csr) return this.romReadCycles;
    return isWrite ? this.ioWriteCycles : this.ioReadCycles;
  }

  read(offset: number, size: AccessSize, atNs: Ns): number {
    return this.access(offset, size, atNs, true);
  }

  /** The clock page counts 40 ns ticks of the read's own time: a function of time alone. */
  timeDetermined(offset: number, _size: AccessSize): boolean {
    return (offset & ~0xfff) === AN1_PAGE.clock;
  }

  peek(offset: number, size: AccessSize): number {
    return this.access(offset, size, this.sched.now, false);
  }

  write(offset: number, size: AccessSize, value: number, atNs: Ns): void {
    if (offset < AN1_PAGE.csr) return this.guestError(`write of 0x${(value >>> 0).toString(16)} to option ROM offset 0x${offset.toString(16)}`);
    if (size !== 4 || (offset & 3) !== 0) return this.guestError(`${size}-byte write at 0x${offset.toString(16)}: registers take aligned 32-bit writes`);
    const v = value >>> 0;
    const page = offset & ~0xfff;
    const off = offset & 0xfff;
    if (page === AN1_PAGE.csr) return this.writeCsrPage(off, v, atNs);
    if (page === AN1_PAGE.tx) return this.writeTxPage(off, v, atNs);
    if (offset >= AN1_PAGE.bqiTable && offset < AN1_DECODED_BYTES) return this.writeBqi(offset, v);
    this.guestError(`write to read-only or unimplemented offset 0x${offset.toString(16)}`);
  }

  /** Functional write: stores the value with no side effects (tests and loaders only). */
  poke(offset: number, _size: AccessSize, value: number): void {
    const page = offset & ~0xfff;
    const off = offset & 0xfff;
    if (page === AN1_PAGE.csr) {
      const i = this.csr.indexAt(off);
      if (i >= 0) this.csr.raw[i] = value >>> 0;
    } else if (page === AN1_PAGE.tx) {
      const i = this.txRegs.indexAt(off);
      if (i >= 0) this.txRegs.raw[i] = value >>> 0;
    } else if (offset >= AN1_PAGE.bqiTable && offset < AN1_DECODED_BYTES) {
      const rel = offset - AN1_PAGE.bqiTable;
      const f = this.bqiFiles[rel >>> 10]!;
      const i = f.indexAt(rel & 0x3ff);
      if (i >= 0) f.raw[i] = value >>> 0;
    }
  }

  private access(offset: number, size: AccessSize, atNs: Ns, timed: boolean): number {
    if (offset < AN1_PAGE.csr) {
      let v = 0;
      for (let i = size - 1; i >= 0; i--) v = (v << 8) | (this.rom[offset + i] ?? 0);
      return v >>> 0;
    }
    if (size !== 4 || (offset & 3) !== 0) {
      if (timed) this.guestError(`${size}-byte read at 0x${offset.toString(16)}: registers take aligned 32-bit reads`);
      return 0;
    }
    const page = offset & ~0xfff;
    const off = offset & 0xfff;
    switch (page) {
      case AN1_PAGE.csr:
        return this.readCsrPage(off, timed);
      case AN1_PAGE.tx: {
        if (off === 0x08) return AN1_LIMITS.txQueueEntries - this.txqCount;
        const v = this.txRegs.read(off);
        if (v !== undefined) return v;
        break;
      }
      case AN1_PAGE.rxc:
        if (off === 0x00) return this.popCompletion(timed);
        if (off === 0x04) return this.rxcCount;
        break;
      case AN1_PAGE.clock: {
        const ticks = nsToCycles(AN1_CLOCK_40NS, atNs);
        if (off === 0x00) {
          if (timed) this.clockHiLatch = Math.floor(ticks / 4294967296) >>> 0;
          return ticks % 4294967296 >>> 0;
        }
        if (off === 0x04) return timed ? this.clockHiLatch : Math.floor(ticks / 4294967296) >>> 0;
        break;
      }
      default:
        if (offset >= AN1_PAGE.bqiTable && offset < AN1_DECODED_BYTES) {
          const rel = offset - AN1_PAGE.bqiTable;
          const v = this.bqiFiles[rel >>> 10]!.read(rel & 0x3ff);
          if (v !== undefined) return v;
        }
    }
    if (timed) this.guestError(`read of unimplemented offset 0x${offset.toString(16)}`);
    return 0;
  }

  // ---- Control/status page ----------------------------------------------------------------------

  private readCsrPage(off: number, timed: boolean): number {
    const i = this.csr.indexAt(off);
    if (i < 0) {
      if (timed) this.guestError(`read of unimplemented CSR offset 0x${off.toString(16)}`);
      return 0;
    }
    if (i === this.iCsr) this.refreshLinkUp();
    const v = this.csr.readIndex(i);
    if (timed && this.clearOnRead.has(i)) this.csr.raw[i] = 0;
    return v;
  }

  private writeCsrPage(off: number, v: number, atNs: Ns): void {
    const i = this.csr.indexAt(off);
    if (i < 0) return this.guestError(`write to unimplemented CSR offset 0x${off.toString(16)}`);
    const def = this.csr.def(i);
    if (!hostWritable(def)) return this.guestError(`write of 0x${v.toString(16)} to read-only ${def.name}: ignored`);
    // MAXFRAME is range-checked on the value the bus presented, before the register's 13-bit
    // field could cut it (9192 must not become 1000).
    if (i === this.iMaxFrame && (v < AN1_LIMITS.headerBytes || v > AN1_LIMITS.maxFrameCeiling)) {
      return this.guestError(`MAXFRAME ${v} refused: must lie in [${AN1_LIMITS.headerBytes}, ${AN1_LIMITS.maxFrameCeiling}]`);
    }
    this.csr.writeIndex(i, v);
    if (i === this.iCsr) {
      if ((this.csr.raw[i]! & CSR_BITS.RESET) !== 0) {
        this.resetBoard();
        if (this.trace.on) this.trace.record(this.name, 'an1.reset');
        return;
      }
      const old = this.csr.lastOld;
      if ((this.csr.raw[i]! & CSR_BITS.TXEN) !== 0 && (old & CSR_BITS.TXEN) === 0) this.kick(atNs);
      if (((this.csr.raw[i]! ^ old) & CSR_BITS.LOOPBACK) !== 0 && this.wireFrame !== undefined) {
        this.guestError('CSR.LOOPBACK changed while a frame is on the wire');
      }
    }
    this.updateIrq();
  }

  // ---- Transmit page ----------------------------------------------------------------------------

  private writeTxPage(off: number, v: number, atNs: Ns): void {
    const i = this.txRegs.indexAt(off);
    if (i < 0) return this.guestError(`write to unimplemented TX offset 0x${off.toString(16)}`);
    const name = this.txRegs.def(i).name;
    if (name !== 'TX_ADDR' && name !== 'TX_LEN' && name !== 'TX_HDR_ADDR' && name !== 'TX_HDR_LEN') return this.guestError(`write to read-only ${name}`);
    this.txRegs.writeIndex(i, v);
    if (name !== 'TX_LEN') return;
    if (this.txqCount >= AN1_LIMITS.txQueueEntries) {
      return this.guestError(`TX_LEN written with the transmit queue full (TX_FREE = 0): frame refused`);
    }
    const slot = (this.txqHead + this.txqCount) % AN1_LIMITS.txQueueEntries;
    this.txqAddr[slot] = this.txRegs.get('TX_ADDR');
    this.txqLen[slot] = v;
    let hdrLen = this.txRegs.get('TX_HDR_LEN');
    if (hdrLen > v) {
      this.guestError(`TX_HDR_LEN ${hdrLen} exceeds TX_LEN ${v}: clamped`);
      hdrLen = v;
    }
    this.txqHdrAddr[slot] = this.txRegs.get('TX_HDR_ADDR');
    this.txqHdrLen[slot] = hdrLen;
    this.txRegs.set('TX_HDR_LEN', 0);
    this.txqAt[slot] = Math.max(atNs, this.sched.now);
    this.txqCount++;
    if (this.trace.observer !== undefined) this.trace.observer.level(this.name, 'tx queue', this.txqCount, this.txqAt[slot]!);
    this.kick(atNs);
  }

  // ---- BQI table --------------------------------------------------------------------------------

  private writeBqi(offset: number, v: number): void {
    const rel = offset - AN1_PAGE.bqiTable;
    const bqi = rel >>> 10;
    const f = this.bqiFiles[bqi]!;
    const i = f.indexAt(rel & 0x3ff);
    if (i < 0) return this.guestError(`write to unimplemented BQI ${bqi} offset 0x${(rel & 0x3ff).toString(16)}`);
    if (i === this.iFilled || i === this.iBqDrops) return this.guestError(`write to read-only ${f.def(i).name} of BQI ${bqi}`);
    const outstanding = (f.raw[this.iPosted]! - f.raw[this.iFilled]!) & 0xffff;
    f.writeIndex(i, v);
    if (i === this.iCtrl) {
      const oldLog2 = (f.lastOld & BQ_CTRL_BITS.RINGLOG2_MASK) >>> BQ_CTRL_BITS.RINGLOG2_SHIFT;
      const log2 = (f.raw[i]! & BQ_CTRL_BITS.RINGLOG2_MASK) >>> BQ_CTRL_BITS.RINGLOG2_SHIFT;
      if (log2 > AN1_LIMITS.ringLog2Max || (log2 !== oldLog2 && outstanding !== 0)) {
        f.raw[i] = f.lastOld;
        this.bump(this.counterIndex[3]!);
        this.guestError(
          log2 > AN1_LIMITS.ringLog2Max
            ? `BQI ${bqi}: ring size 2^${log2} exceeds RINGSLOTS`
            : `BQI ${bqi}: ring size changed with ${outstanding} buffers outstanding`,
        );
      }
    } else if (i === this.iPosted) {
      const size = 1 << ((f.raw[this.iCtrl]! & BQ_CTRL_BITS.RINGLOG2_MASK) >>> BQ_CTRL_BITS.RINGLOG2_SHIFT);
      const now = (f.raw[i]! - f.raw[this.iFilled]!) & 0xffff;
      if (now > size) {
        f.raw[i] = f.lastOld;
        this.bump(this.counterIndex[3]!);
        this.guestError(`BQI ${bqi}: BQ_POSTED ${v & 0xffff} would post ${now} buffers on a ring of ${size}`);
      }
    }
  }

  // ---- Completion FIFO --------------------------------------------------------------------------

  private popCompletion(timed: boolean): number {
    if (this.rxcCount === 0) return RXC_EMPTY;
    const v = this.rxc[this.rxcHead]!;
    if (timed) {
      this.rxcHead = (this.rxcHead + 1) % AN1_LIMITS.rxcEntries;
      this.rxcCount--;
    }
    return v;
  }

  // ---- Link endpoint ----------------------------------------------------------------------------

  frameArrived(frame: Uint8Array): void {
    this.stats.framesArrived++;
    if (this.trace.observer !== undefined) this.trace.observer.frameArrived(this.name, frame, this.sched.now);
    const csr = this.csr.raw[this.iCsr]!;
    const held = this.staging.length + (this.rxDmaFrame !== undefined ? 1 : 0);
    if ((csr & CSR_BITS.RXEN) === 0 || held >= AN1_LIMITS.rxStagingFrames) {
      this.bump(this.counterIndex[4]!);
      if ((csr & CSR_BITS.RXEN) !== 0) {
        this.raiseBits(ISR_BITS.RXDROP);
        if (this.trace.on) this.trace.record(this.name, 'an1.rx.overrun', frame.length);
      }
      return;
    }
    this.staging.push(frame);
    this.stagingCrcOk.push(fcsOk(frame));
    if (this.trace.observer !== undefined) this.observeLevels();
    this.kick(this.sched.now);
  }

  // ---- Firmware engine --------------------------------------------------------------------------

  private kick(at: number): void {
    if (this.stepActive) return;
    const t = Math.max(at, this.sched.now);
    if (this.fwEvent.scheduled) {
      if (this.fwEvent.time <= t) return;
      this.sched.cancel(this.fwEvent);
    }
    this.sched.schedule(this.fwEvent, t);
  }

  private onFirmwareEvent(): void {
    if (this.stepActive) {
      this.stepActive = false;
      this.commit();
    }
    this.runNextStep();
  }

  private runNextStep(): void {
    const now = this.sched.now;
    let job: Job | undefined;
    let wakeAt = Infinity;
    if (this.rxDmaDoneWaiting) job = 'rxDmaDone';
    else if (this.staging.length > 0 && this.rxDmaFrame === undefined) job = 'rxFrame';
    else if (this.txResults.length > 0) job = 'txDone';
    else if (this.txqCount > 0 && (this.csr.raw[this.iCsr]! & CSR_BITS.TXEN) !== 0 && !this.txDmaBusy && this.txBuffersInUse < AN1_LIMITS.txBuffers) {
      const at = this.txqAt[this.txqHead]!;
      if (at <= now) job = 'txStart';
      else wakeAt = at;
    }
    if (job === undefined) {
      if (wakeAt !== Infinity) this.sched.schedule(this.fwEvent, wakeAt);
      return;
    }
    this.stepActive = true;
    this.stepCycles = 0;
    this.log.length = 0;
    const port = this.port;
    switch (job) {
      case 'rxDmaDone':
        this.rxDmaDoneWaiting = false;
        this.firmware.rxDmaDone(port, this.rxDmaOk);
        break;
      case 'rxFrame':
        this.rxView.frame = this.staging[0]!;
        this.rxView.crc = this.stagingCrcOk[0]!;
        this.inRxStep = true;
        this.firmware.rxFrame(port);
        this.inRxStep = false;
        break;
      case 'txDone':
        this.firmware.txDone(port, this.txResults.shift()!);
        break;
      case 'txStart':
        this.firmware.txStart(port);
        break;
    }
    // A step that consumed nothing would spin: every rxFrame step must release or DMA its frame.
    if (job === 'rxFrame' && !(this.logHas(OP_RX_DMA) || this.logHas(OP_RX_RELEASE))) bug(`${this.name}: firmware left a staged frame unhandled`);
    if (job === 'txStart' && !this.logHas(OP_TX_POP)) bug(`${this.name}: firmware txStart popped nothing`);
    const cycles = Math.max(1, this.stepCycles);
    this.stats.firmwareSteps++;
    this.stats.firmwareCycles += cycles;
    this.sched.schedule(this.fwEvent, now + cycles * AN1_CLOCK_40NS.periodNs);
    if (this.trace.observer !== undefined) this.trace.observer.span(this.name, `firmware ${job}`, now, now + cycles * AN1_CLOCK_40NS.periodNs, cycles);
  }

  private logHas(op: number): boolean {
    const log = this.log;
    for (let k = 0; k < log.length; k += 5) if (log[k] === op) return true;
    return false;
  }

  private emit(op: number, a = 0, b = 0, c = 0, d = 0): void {
    this.log.push(op, a, b, c, d);
  }

  private commit(): void {
    const log = this.log;
    let raise = 0;
    for (let k = 0; k < log.length; k += 5) {
      const a = log[k + 1]!;
      const b = log[k + 2]!;
      const c = log[k + 3]!;
      const d = log[k + 4]!;
      switch (log[k]) {
        case OP_RX_DMA:
          this.startRxDma(a, b);
          break;
        case OP_RX_RELEASE:
          this.staging.shift();
          this.stagingCrcOk.shift();
          break;
        case OP_COMPLETION: {
          if (!(this.rxcCount < AN1_LIMITS.rxcEntries)) bug(`${this.name}: firmware overflowed the completion FIFO`);
          this.rxc[(this.rxcHead + this.rxcCount) % AN1_LIMITS.rxcEntries] = packCompletion(a, b, c, d);
          this.rxcCount++;
          if (this.trace.on) this.trace.record(this.name, 'an1.rx.complete', a, (b << 16) | d, String(c));
          break;
        }
        case OP_FILLED:
          this.bqiFiles[a]!.raw[this.iFilled] = b & 0xffff;
          break;
        case OP_TX_POP:
          this.poppedHdrAddr = this.txqHdrAddr[this.txqHead]!;
          this.poppedHdrLen = this.txqHdrLen[this.txqHead]!;
          this.txqHead = (this.txqHead + 1) % AN1_LIMITS.txQueueEntries;
          this.txqCount--;
          break;
        case OP_TX_DMA:
          this.startTxDma(a, b);
          break;
        case OP_TX_COMPLETE:
          this.txRegs.set('TX_STATUS', a);
          if (a === 0) this.txRegs.set('TX_DONE', (this.txRegs.get('TX_DONE') + 1) >>> 0);
          else this.txRegs.set('TX_FAILED', (this.txRegs.get('TX_FAILED') + 1) >>> 0);
          break;
        case OP_RAISE:
          raise |= a;
          break;
        case OP_COUNT: {
          const which = COUNTERS[a]!;
          if (which === 'rxFrames') {
            const i = this.counterIndex[a]!;
            this.csr.raw[i] = (this.csr.raw[i]! + 1) >>> 0;
            this.stats.framesDelivered++;
          } else this.bump(this.counterIndex[a]!);
          if (which === 'drops') {
            const f = this.bqiFiles[b]!;
            f.raw[this.iBqDrops] = Math.min(0xffff_ffff, f.raw[this.iBqDrops]! + 1);
            if (this.trace.on) this.trace.record(this.name, 'an1.rx.drop', b);
          }
          break;
        }
        default:
          bug(`${this.name}: bad effect opcode ${log[k]}`);
      }
    }
    log.length = 0;
    if (this.trace.observer !== undefined) this.observeLevels();
    if (raise !== 0) this.raiseBits(raise);
  }

  private makePort(self: An1Controller): FirmwarePort {
    const files = this.bqiFiles;
    const iCtrl = this.iCtrl;
    const iPosted = this.iPosted;
    const iFilled = this.iFilled;
    const iDesc0 = this.iDesc0;
    const inRange = (bqi: number): boolean => Number.isInteger(bqi) && bqi >= 0 && bqi < AN1_LIMITS.bqiCount;
    const slotOk = (slot: number): boolean => Number.isInteger(slot) && slot >= 0 && slot < AN1_LIMITS.ringSlotsMax;
    return {
      costs: this.fwCosts,
      bqiCount: AN1_LIMITS.bqiCount,
      ringSlotsMax: AN1_LIMITS.ringSlotsMax,
      headerBytes: AN1_LIMITS.headerBytes,
      crcBytes: AN1_LIMITS.crcBytes,
      spend(cycles: number) {
        if (!(Number.isInteger(cycles) && cycles >= 0)) bug(`firmware spent ${cycles} cycles`);
        self.stepCycles += cycles;
      },
      maxFrame: () => this.csr.raw[this.iMaxFrame]!,
      bqiEnabled: (bqi) => inRange(bqi) && (files[bqi]!.raw[iCtrl]! & BQ_CTRL_BITS.ENABLE) !== 0,
      bqiRingLog2: (bqi) => (inRange(bqi) ? (files[bqi]!.raw[iCtrl]! & BQ_CTRL_BITS.RINGLOG2_MASK) >>> BQ_CTRL_BITS.RINGLOG2_SHIFT : 0),
      bqiPosted: (bqi) => (inRange(bqi) ? files[bqi]!.raw[iPosted]! : 0),
      bqiFilled: (bqi) => (inRange(bqi) ? files[bqi]!.raw[iFilled]! : 0),
      descAddr: (bqi, slot) => (inRange(bqi) && slotOk(slot) ? files[bqi]!.raw[iDesc0 + 2 * slot]! : 0),
      descLen: (bqi, slot) => (inRange(bqi) && slotOk(slot) ? files[bqi]!.raw[iDesc0 + 2 * slot + 1]! : 0),
      completionSpace: () => AN1_LIMITS.rxcEntries - this.rxcCount - this.pendingCompletions(),
      rxFrame: () => (this.inRxStep ? this.rxView : undefined),
      rxStartDma: (addr, length) => {
        if (!(this.inRxStep && length >= 0 && length <= this.rxView.frame.length)) bug(`${this.name}: bad receive DMA request`);
        this.emit(OP_RX_DMA, addr >>> 0, length);
      },
      rxRelease: () => {
        if (!(this.inRxStep)) bug(`${this.name}: rxRelease outside a receive step`);
        this.emit(OP_RX_RELEASE);
      },
      postCompletion: (bqi: number, slot: number, status: RxStatus, length: number) => {
        if (!(inRange(bqi) && slotOk(slot) && length >= 0 && length <= 0xffff)) bug(`${this.name}: bad completion`);
        this.emit(OP_COMPLETION, bqi, slot, status, length);
      },
      setBqiFilled: (bqi, filled) => {
        if (!(inRange(bqi))) bug(`${this.name}: bad BQI ${bqi}`);
        this.emit(OP_FILLED, bqi, filled & 0xffff);
      },
      txQueued: () => this.txqCount,
      txHeadAddr: () => this.txqAddr[this.txqHead]!,
      txHeadLen: () => this.txqLen[this.txqHead]!,
      txPop: () => {
        if (!(this.txqCount > 0 && !this.logHas(OP_TX_POP))) bug(`${this.name}: bad transmit pop`);
        this.emit(OP_TX_POP);
      },
      txStartDma: (addr, length) => {
        if (!(length >= AN1_LIMITS.headerBytes && length <= AN1_LIMITS.maxFrameCeiling)) bug(`${this.name}: bad transmit DMA request`);
        this.emit(OP_TX_DMA, addr >>> 0, length);
      },
      txComplete: (status: TxStatus) => this.emit(OP_TX_COMPLETE, status),
      raise: (flag) => this.emit(OP_RAISE, ISR_OF[flag]),
      count: (counter, bqi = 0) => this.emit(OP_COUNT, COUNTERS.indexOf(counter), inRange(bqi) ? bqi : 0),
      guestError: (text) => this.guestError(`firmware: ${text}`),
    };
  }

  /** Completions requested by the step in progress (not yet in the FIFO). */
  private pendingCompletions(): number {
    let n = 0;
    for (let k = 0; k < this.log.length; k += 5) if (this.log[k] === OP_COMPLETION) n++;
    return n;
  }

  // ---- DMA engines and the wire -----------------------------------------------------------------

  private dmaTimeNs(bytes: number): number {
    return this.dmaSetupNs + Math.ceil(bytes * this.dmaNsPerByte);
  }

  private startRxDma(addr: number, length: number): void {
    if (!(this.rxDmaFrame === undefined && this.staging.length > 0)) bug(`${this.name}: receive DMA already busy`);
    this.rxDmaFrame = this.staging.shift()!;
    this.stagingCrcOk.shift();
    this.rxDmaAddr = addr;
    this.rxDmaLen = length;
    this.sched.schedule(this.rxDmaEvent, this.sched.now + this.dmaTimeNs(length));
    if (this.trace.observer !== undefined) this.trace.observer.span(this.name, 'rx dma', this.sched.now, this.rxDmaEvent.time, length, this.rxDmaFrame);
  }

  private onRxDmaEnd(): void {
    const frame = this.rxDmaFrame;
    if (!(frame !== undefined)) bug(`${this.name}: receive DMA ended with no frame`);
    this.rxDmaOk = this.dma.write(this.rxDmaAddr, frame.subarray(0, this.rxDmaLen));
    if (this.rxDmaOk) this.stats.dmaBytesToHost += this.rxDmaLen;
    this.rxDmaFrame = undefined;
    this.rxDmaDoneWaiting = true;
    this.kick(this.sched.now);
  }

  private startTxDma(addr: number, length: number): void {
    if (this.txDmaBusy) bug(`${this.name}: transmit DMA already busy`);
    this.txDmaBusy = true;
    this.txBuffersInUse++;
    this.txDmaAddr = addr;
    this.txDmaLen = length;
    this.txDmaHdrAddr = this.poppedHdrAddr;
    this.txDmaHdrLen = this.poppedHdrLen;
    // The engine fetches host memory as the transfer starts (as of its own time, not the end's):
    // a buffer the host rewrites after this point does not change the frame.
    const frame = new Uint8Array(this.txDmaLen + AN1_LIMITS.crcBytes);
    const h = this.txDmaHdrLen;
    this.txDmaHdrOk = h === 0 || ((this.txDmaHdrAddr & 3) === 0 && this.dma.read(this.txDmaHdrAddr, frame.subarray(0, h)));
    this.txDmaDataOk = this.txDmaHdrOk && this.dma.read(this.txDmaAddr, frame.subarray(h, this.txDmaLen));
    this.txDmaFrame = frame;
    // A two-part frame is two transfers: one more arbitration and address cycle.
    const extraNs = this.txDmaHdrLen > 0 ? this.dmaSetupNs : 0;
    this.sched.schedule(this.txDmaEvent, this.sched.now + this.dmaTimeNs(length) + extraNs);
    if (this.trace.observer !== undefined) this.trace.observer.span(this.name, 'tx dma', this.sched.now, this.txDmaEvent.time, length);
  }

  private onTxDmaEnd(): void {
    this.txDmaBusy = false;
    const frame = this.txDmaFrame!;
    this.txDmaFrame = undefined;
    const h = this.txDmaHdrLen;
    if (h > 0 && !this.txDmaHdrOk) this.guestError(`TX_HDR_ADDR 0x${this.txDmaHdrAddr.toString(16)} is unaligned or not RAM`);
    if (this.txDmaDataOk) {
      this.stats.dmaBytesFromHost += this.txDmaLen;
      writeFcs(frame, this.txDmaLen, crc32(frame, 0, this.txDmaLen));
      this.wireQueue.push(frame);
      this.startWire();
    } else {
      this.txBuffersInUse--;
      this.txResults.push('dma-error');
    }
    this.kick(this.sched.now);
  }

  private startWire(): void {
    if (this.wireFrame !== undefined) return;
    const frame = this.wireQueue.shift();
    if (frame === undefined) return;
    this.wireFrame = frame;
    this.wireGeneration = this.generation;
    this.wireLoopback = (this.csr.raw[this.iCsr]! & CSR_BITS.LOOPBACK) !== 0;
    let wireNs: number;
    if (!this.wireLoopback && this.link !== undefined) wireNs = this.link.transmit(frame);
    else wireNs = bytesOnWireNs(frame.length, AN1_LINK_MBPS) + this.loopbackFramingNs;
    this.stats.framesSent++;
    if (this.trace.on) this.trace.record(this.name, 'an1.tx', frame.length, this.wireLoopback ? 1 : 0);
    const obs = this.trace.observer;
    if (obs !== undefined) {
      obs.frameSent(this.name, frame);
      obs.wireStart('an1', this.name, frame, this.sched.now);
      obs.wireEnd('an1', this.name, frame, this.sched.now + wireNs, this.wireLoopback ? 'loopback' : 'sent');
    }
    this.sched.schedule(this.wireEvent, this.sched.now + wireNs);
  }

  private onWireEnd(): void {
    const frame = this.wireFrame;
    if (!(frame !== undefined)) bug(`${this.name}: wire end with no frame`);
    this.wireFrame = undefined;
    this.txBuffersInUse--; // after a reset the frame still held the buffer resetBoard counted
    if (this.wireGeneration === this.generation) {
      this.txResults.push('sent');
      if (this.wireLoopback) this.frameArrived(frame);
    }
    this.startWire();
    this.kick(this.sched.now);
  }

  /** Board queue levels for a timeline (observer only). */
  private observeLevels(): void {
    const obs = this.trace.observer!;
    obs.level(this.name, 'rx frames held', this.staging.length + (this.rxDmaFrame !== undefined ? 1 : 0), this.sched.now);
    obs.level(this.name, 'tx queue', this.txqCount, this.sched.now);
  }

  // ---- Interrupts, counters, reset --------------------------------------------------------------

  private raiseBits(bits: number): void {
    this.csr.raw[this.iIsr] = (this.csr.raw[this.iIsr]! | bits) >>> 0;
    this.updateIrq();
  }

  private updateIrq(): void {
    if (this.line === undefined) return;
    const csr = this.csr.raw[this.iCsr]!;
    const want = (csr & CSR_BITS.INTEN) !== 0 && (this.csr.raw[this.iIsr]! & this.csr.raw[this.iImr]!) !== 0;
    if (want !== this.line.asserted) this.line.set(want);
  }

  /** Saturating increment of a counter register. */
  private bump(index: number): void {
    this.csr.raw[index] = Math.min(0xffff_ffff, this.csr.raw[index]! + 1);
  }

  private refreshLinkUp(): void {
    const up = this.link?.up ?? false;
    const i = this.iCsr;
    this.csr.raw[i] = up ? this.csr.raw[i]! | CSR_BITS.LINKUP : this.csr.raw[i]! & ~CSR_BITS.LINKUP;
  }

  private resetBoard(): void {
    this.generation++;
    this.csr.reset();
    this.txRegs.reset();
    this.txRegs.set('TX_FREE', AN1_LIMITS.txQueueEntries);
    for (const f of this.bqiFiles) f.reset();
    this.csr.set('UID_LO', this.options.uid % 4294967296);
    this.csr.set('UID_HI', Math.floor(this.options.uid / 4294967296) & 0xffff);
    this.csr.set('FWREV', this.firmware.revision);
    this.refreshLinkUp();
    this.txqHead = 0;
    this.txqCount = 0;
    this.rxcHead = 0;
    this.rxcCount = 0;
    this.staging.length = 0;
    this.stagingCrcOk.length = 0;
    this.rxDmaFrame = undefined;
    this.rxDmaDoneWaiting = false;
    this.sched.cancel(this.rxDmaEvent);
    this.txDmaBusy = false;
    this.txDmaFrame = undefined;
    this.sched.cancel(this.txDmaEvent);
    this.wireQueue.length = 0;
    // A frame already on the wire finishes (its transmitter cannot stop mid-frame); it holds a buffer.
    this.txBuffersInUse = this.wireFrame !== undefined ? 1 : 0;
    this.txResults.length = 0;
    this.stepActive = false;
    this.log.length = 0;
    this.sched.cancel(this.fwEvent);
    this.firmware.reset();
    this.updateIrq();
  }

  private guestError(text: string): void {
    this.trace.guestError(this.name, text);
  }
}
