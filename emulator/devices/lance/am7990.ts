/**
 * AMD Am7990 LANCE: the chip core, independent of the board it sits on.
 *
 * Provenance: ../shared/hw/lance-pmad-aa.md (facts restated from the AMD Am7990/Am79C90 and PCnet
 * datasheet pages and from public drivers; source keys in its table S). Written from that digest;
 * no emulator or driver code was ported.
 *
 * Ports (injected by the board): the chip's memory bus (`LanceMemory`: on the PMAD-AA, only the
 * on-board SRAM), its /INTR pin, and an Ethernet port on a segment (the transceiver).
 *
 * Modelled:
 * - RAP/RDP; CSR0 with every bit's access kind (registers.ts), ERR/INTR as live ORs (CERR sets ERR
 *   but not INTR), /INTR = INTR ∧ INEA re-evaluated on every change; STOP clears every other bit
 *   and wins over bits written with it; INIT and STRT clear STOP and stay set; INEA written while
 *   the chip stays stopped is ignored (Am7990, MAME); CSR1–3 only while stopped; INIT only from
 *   the stopped state (written while running, even with INIT still set: ignored, guest error).
 * - STOP halts all activity at once: a frame on the wire is cut off (the segment delivers only
 *   the bytes sent so far, which receivers drop), one not yet started never goes out, nothing is
 *   written back.
 * - INIT reads the 24-byte init block after `lance.initNs`; IDON then. INIT|STRT in one write,
 *   or STRT before IDON, starts the chip when the init completes (MAME accepts both).
 * - STRT turns TXON/RXON on (not INIT) subject to MODE.DTX/DRX.
 * - Transmit: ring polled on STRT, on TDMD (after `lance.tdmdLatencyNs`, TDMD reads 1 until
 *   then), after every completion, and every 1.6 ms while idle. Chains STP..ENP; a non-ENP buffer
 *   followed by an unowned descriptor gives ERR + BUFF|UFLO and turns TXON off; OWN without STP
 *   is released and skipped (MAME). FCS appended unless DTCR. BABL (frame still sent) when more
 *   than 1518 bytes go on the wire. Completion writes TMD3 then TMD1 (OWN last) with
 *   ERR/MORE/ONE/DEF, LCOL/LCAR/RTRY/TDR; TINT; CERR when the transceiver gave no heartbeat.
 * - Receive: RXON; runts (< 64 bytes) dropped silently; address filter (PROM, PADR, broadcast,
 *   LADRF hash); MISS without writing anything or advancing when the current RMD was not owned
 *   when the frame's reception started (the board reports when the host set its OWN);
 *   chaining over any number of buffers; BUFF when the next is not owned (and OFLO too when more
 *   than the receive FIFO's worth of the frame was still to come); the FCS is stored and counted in
 *   MCNT; CRC on FCS mismatch; RINT.
 * - Loopback: LOOP+INTL loops internally (wire frames ignored), LOOP alone goes to the wire and
 *   back; frames outside 8..32 bytes are not looped (MAME); the receiver checks the CRC only with
 *   DTCR; COLL forces collisions (→ RTRY).
 * - MERR when the chip addresses memory that does not answer (on the PMAD-AA: beyond the 128 KB
 *   SRAM); TXON and RXON drop (GX).
 * - BSWP swaps the bytes of buffer data (not of the init block or descriptors).
 * Not modelled: FIFO underflow from memory contention (the host never stalls the chip), FRAM
 * (no dribble bits on the segment), the exact moment of each DMA word: a received frame is stored
 * and its descriptors written at its last bit; a transmit frame is gathered when it is polled.
 *
 * Guest misuse never throws: the chip sets its own bits where the datasheet has one and reports
 * a `guestError` trace in every case.
 */
import { RegisterFile } from '../../bits/register-file.ts';
import { crc32, fcsOk, writeFcs } from '../../bits/crc32.ts';
import { bug } from '../../sim/assert.ts';
import { Priority, type Scheduler, type SimEvent } from '../../sim/scheduler.ts';
import type { Ns } from '../../sim/time.ts';
import type { Trace } from '../../sim/trace.ts';
import {
  ATTEMPTS_MAX,
  BIT_NS,
  EthernetSegment,
  JAM_BITS,
  SLOT_BITS,
  type EthernetMac,
  type EthernetPort,
  type TransmitOutcome,
} from '../../net/ethernet-segment.ts';
import {
  bcntLength,
  CSR0,
  CSR0_ERR_SOURCES,
  CSR0_INTR_SOURCES,
  CSR3,
  DESC,
  ETHER,
  INIT_ALIGN_MASK,
  INIT_BLOCK,
  LANCE_CSRS,
  LANCE_RAP,
  MCNT_MASK,
  MODE,
  RING_ALIGN_MASK,
  RING_WORD,
  RMD1,
  TMD1,
  TMD3,
} from './registers.ts';

/** The chip's memory bus. Addresses are 24-bit; an access that nothing answers fails (MERR). */
export interface LanceMemory {
  /** Bytes that answer, from address 0. */
  readonly size: number;
  read16(addr: number): number;
  write16(addr: number, value: number): void;
  read(addr: number, dst: Uint8Array): void;
  write(addr: number, src: Uint8Array): void;
  /**
   * True when the board calls `Am7990.memoryWritten` on every write to this memory that does not
   * come from the chip: then an idle transmit poll can be parked (see `pollRing`).
   */
  readonly reportsHostWrites?: boolean;
}

export interface LanceTiming {
  readonly initNs: number;
  readonly tdmdLatencyNs: number;
  readonly txPollPeriodNs: number;
  readonly rxFifoBytes: number;
}

export interface LanceOptions {
  /** Trace source, e.g. `ws-a.lance`. */
  readonly name: string;
  readonly sched: Scheduler;
  readonly trace: Trace;
  readonly timing: LanceTiming;
  readonly memory: LanceMemory;
  /** The /INTR pin (active = true). */
  readonly irq: (asserted: boolean) => void;
  /** Board rule: CSR3 must be 0 (PMAD-AA, hw doc §1.3); a nonzero write is reported. */
  readonly csr3MustBeZero?: boolean;
}

/** Statistics the chip does not have registers for (for studies and tests; not architectural). */
export interface LanceStats {
  framesTransmitted: number;
  transmitErrors: number;
  collisions: number;
  framesReceived: number;
  /** Frames lost to MISS (the chip only has one flag; this counts every one). */
  framesMissed: number;
  crcErrors: number;
  bufferErrors: number;
  runtsDropped: number;
  framesFiltered: number;
  framesIgnoredRxOff: number;
  babbles: number;
  memoryErrors: number;
  /** Transmissions cut off or withdrawn by STOP. */
  transmitsAborted: number;
}

interface InitParams {
  mode: number;
  readonly padr: Uint8Array;
  readonly ladrf: number[];
  rdra: number;
  rlen: number;
  tdra: number;
  tlen: number;
}

/** A frame handed to the medium, waiting for its outcome. */
interface TxInFlight {
  /** Descriptor indices STP..ENP in ring order. */
  readonly first: number;
  readonly last: number;
  readonly wireBytes: number;
  /** External loopback: the frame comes back to the chip's own receiver. */
  readonly loopFrame: Uint8Array | undefined;
}

const CSR0_W1C = CSR0.BABL | CSR0.CERR | CSR0.MISS | CSR0.MERR | CSR0.RINT | CSR0.TINT | CSR0.IDON;
const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] as const;

/** Raised internally when the chip's memory does not answer; never leaves this file. */
class MemoryError {
  constructor(readonly addr: number) {}
}

export class Am7990 implements EthernetMac {
  readonly name: string;
  readonly csr = new RegisterFile('am7990', LANCE_CSRS);
  readonly rapReg = new RegisterFile('am7990-rap', LANCE_RAP);
  readonly stats: LanceStats = {
    framesTransmitted: 0,
    transmitErrors: 0,
    collisions: 0,
    framesReceived: 0,
    framesMissed: 0,
    crcErrors: 0,
    bufferErrors: 0,
    runtsDropped: 0,
    framesFiltered: 0,
    framesIgnoredRxOff: 0,
    babbles: 0,
    memoryErrors: 0,
    transmitsAborted: 0,
  };
  private readonly sched: Scheduler;
  private readonly trace: Trace;
  private readonly timing: LanceTiming;
  private readonly mem: LanceMemory;
  private readonly irq: (asserted: boolean) => void;
  private readonly csr3MustBeZero: boolean;
  private readonly i0: number;
  private irqAsserted = false;

  private readonly params: InitParams = {
    mode: 0,
    padr: new Uint8Array(6),
    ladrf: [0, 0, 0, 0],
    rdra: 0,
    rlen: 1,
    tdra: 0,
    tlen: 1,
  };
  private initializedOnce = false;
  private startAfterInit = false;
  private rxIndex = 0;
  /**
   * When the host last handed the current receive descriptor to the chip (its OWN going 0 → 1,
   * reported by the board); −∞ when it was owned before the chip moved onto it.
   */
  private rxOwnGrantNs = -Infinity;
  private txIndex = 0;
  private txInFlight: TxInFlight | undefined = undefined;
  private port: EthernetPort | undefined = undefined;

  private readonly initEvent: SimEvent;
  private readonly pollEvent: SimEvent;
  private readonly loopEvent: SimEvent;
  private loopOutcome: TransmitOutcome | undefined = undefined;
  private loopFrame: Uint8Array | undefined = undefined;

  constructor(options: LanceOptions) {
    this.name = options.name;
    this.sched = options.sched;
    this.trace = options.trace;
    this.timing = options.timing;
    this.mem = options.memory;
    this.irq = options.irq;
    this.csr3MustBeZero = options.csr3MustBeZero ?? false;
    this.i0 = this.csr.index('CSR0');
    this.initEvent = this.sched.createEvent(`${this.name}.init`, Priority.device, () => this.completeInit());
    this.pollEvent = this.sched.createEvent(`${this.name}.tx-poll`, Priority.device, () => this.pollTransmit());
    this.loopEvent = this.sched.createEvent(`${this.name}.loopback`, Priority.device, () => this.completeLoopback());
  }

  /** Attach the chip's transceiver to a segment port. */
  connect(port: EthernetPort): void {
    if (!(this.port === undefined)) bug(`${this.name}: already connected`);
    this.port = port;
  }

  get csr0(): number {
    return this.csr.raw[this.i0]!;
  }
  private setCsr0(v: number): void {
    this.csr.raw[this.i0] = v & 0xffff;
  }
  private has(bit: number): boolean {
    return (this.csr0 & bit) !== 0;
  }
  get interruptAsserted(): boolean {
    return this.irqAsserted;
  }

  // ---- host interface: RAP and RDP ---------------------------------------------------------

  readRap(): number {
    return this.rapReg.readIndex(0);
  }

  writeRap(value: number): void {
    this.wake();
    if ((value & ~0x3) !== 0) this.guestError(`RAP write 0x${hex(value)} sets reserved bits 15:2 (kept: ${value & 3})`, value);
    this.rapReg.writeIndex(0, value);
  }

  /** Functional read of the CSR RAP selects (no side effects, no catch-up). */
  peekRdp(): number {
    return this.csr.readIndex(this.rapReg.raw[0]! & 3);
  }

  readRdp(atNs: Ns): number {
    this.catchUp(atNs);
    // CSR1-3 read while running: the datasheet leaves it undefined; this model returns the
    // stored value (a defined answer; Ultrix reportedly reads them while running, GX).
    return this.peekRdp();
  }

  writeRdp(value: number, atNs: Ns): void {
    this.wake();
    this.catchUp(atNs);
    const n = this.rapReg.raw[0]! & 3;
    const v = value & 0xffff;
    if (n === 0) {
      this.writeCsr0(v, atNs);
      return;
    }
    if (!this.has(CSR0.STOP)) {
      this.guestError(`CSR${n} written (0x${hex(v)}) while the chip is running: ignored (CSR1-3 need STOP)`, n, v);
      return;
    }
    if (n === 3) {
      if ((v & ~(CSR3.BSWP | CSR3.ACON | CSR3.BCON)) !== 0) this.guestError(`CSR3 write 0x${hex(v)} sets reserved bits`, v);
      if (this.csr3MustBeZero && (v & 7) !== 0) this.guestError(`CSR3 = 0x${hex(v & 7)}: this board requires CSR3 = 0 (BSWP/ACON/BCON off)`, v);
    }
    if (n === 1 && (v & 1) !== 0) this.guestError(`CSR1 = 0x${hex(v)}: init block address must be word aligned (bit 0 ignored)`, v);
    this.csr.writeIndex(n, v);
  }

  private writeCsr0(v: number, atNs: Ns): void {
    const old = this.csr0;
    if ((v & CSR0.STOP) !== 0) {
      this.stop();
      return;
    }
    // The register file applies w1c flags, rw INEA and the set-only commands.
    this.csr.writeIndex(this.i0, v & (CSR0_W1C | CSR0.INEA | CSR0.TDMD | CSR0.STRT | CSR0.INIT));
    const rising = this.csr0 & ~old;
    if ((v & CSR0.INIT) !== 0 && (old & CSR0.STOP) === 0) {
      // The datasheet's order is STOP, then INIT: INIT is honoured only from the stopped state.
      // INIT stays set after a normal start, so the check is on the bit written, not on its edge.
      this.guestError('INIT written while the chip is not stopped (set STOP first): ignored', v);
      if ((rising & CSR0.INIT) !== 0) this.setCsr0(this.csr0 & ~CSR0.INIT);
    } else if ((rising & CSR0.INIT) !== 0) {
      this.setCsr0(this.csr0 & ~CSR0.STOP);
      this.startAfterInit = false;
      this.sched.reschedule(this.initEvent, atNs + this.timing.initNs);
      if (this.trace.on) this.trace.record(this.name, 'lance.init', this.iadr());
    }
    if ((rising & CSR0.STRT) !== 0) {
      this.setCsr0(this.csr0 & ~CSR0.STOP);
      if (this.initEvent.scheduled) this.startAfterInit = true;
      else this.start(atNs);
    }
    if (this.has(CSR0.STOP) && this.has(CSR0.INEA)) {
      this.guestError('INEA written while the chip stays stopped: ignored on the Am7990');
      this.setCsr0(this.csr0 & ~CSR0.INEA);
    }
    // A stopped chip has nothing to poll: TDMD does not stick (STOP clears every other bit).
    if (this.has(CSR0.STOP)) this.setCsr0(this.csr0 & ~CSR0.TDMD);
    if ((v & CSR0.TDMD) !== 0 && this.has(CSR0.TXON) && this.txInFlight === undefined && !this.loopEvent.scheduled) {
      const at = atNs + this.timing.tdmdLatencyNs;
      if (!this.pollEvent.scheduled || this.pollEvent.time > at) this.sched.reschedule(this.pollEvent, at);
    }
    this.refresh();
  }

  /**
   * STOP: every other CSR0 bit clears; all activity ends at once (RAP and CSR1-3 are kept). A
   * frame on the wire is cut off mid-stream (the segment delivers only its first bytes, which
   * receivers drop as a runt or an FCS error); a frame still deferring or backing off never
   * starts; nothing is written back to its descriptors, which stay chip-owned until the host
   * rebuilds the ring.
   */
  private stop(): void {
    this.setCsr0(CSR0.STOP);
    this.sched.cancel(this.initEvent);
    this.sched.cancel(this.pollEvent);
    this.startAfterInit = false;
    if (this.txInFlight !== undefined && this.port?.busy === true) {
      this.stats.transmitsAborted++;
      this.port.abort();
    }
    this.txInFlight = undefined;
    if (this.loopEvent.scheduled) this.sched.cancel(this.loopEvent);
    this.loopFrame = undefined;
    this.loopOutcome = undefined;
    if (this.trace.on) this.trace.record(this.name, 'lance.stop');
    this.refresh();
  }

  private start(atNs: Ns): void {
    if (!this.initializedOnce) this.guestError('STRT with no completed INIT: rings default to one entry at address 0');
    this.setCsr0(this.csr0 | CSR0.STRT);
    const m = this.params.mode;
    let v = this.csr0 & ~(CSR0.TXON | CSR0.RXON);
    if ((m & MODE.DTX) === 0) v |= CSR0.TXON;
    if ((m & MODE.DRX) === 0) v |= CSR0.RXON;
    this.setCsr0(v);
    if ((v & CSR0.TXON) !== 0) this.sched.reschedule(this.pollEvent, Math.max(atNs + this.timing.tdmdLatencyNs, this.sched.now));
    if (this.trace.on) this.trace.record(this.name, 'lance.start', v);
  }

  /**
   * Bring the chip's own pending internal work up to the host's access time: the init-block read
   * completes at its time even when the host polls CSR0 inside one CPU burst. (Wire events are
   * never pulled forward: they depend on other stations.)
   */
  private catchUp(atNs: Ns): void {
    if (this.initEvent.scheduled && this.initEvent.time <= atNs) {
      const t = this.initEvent.time;
      this.sched.cancel(this.initEvent);
      this.completeInit(t);
    }
  }

  private iadr(): number {
    return (((this.csr.get('CSR2') & 0xff) << 16) | this.csr.get('CSR1')) & INIT_ALIGN_MASK;
  }

  private completeInit(atNs: number = this.sched.now): void {
    this.wake();
    const base = this.iadr();
    const p = this.params;
    try {
      const mode = this.rd16(base + INIT_BLOCK.MODE);
      for (let i = 0; i < 3; i++) {
        const w = this.rd16(base + INIT_BLOCK.PADR + 2 * i);
        p.padr[2 * i] = w & 0xff;
        p.padr[2 * i + 1] = w >>> 8;
      }
      for (let i = 0; i < 4; i++) p.ladrf[i] = this.rd16(base + INIT_BLOCK.LADRF + 2 * i);
      const rlo = this.rd16(base + INIT_BLOCK.RDRA_LO);
      const rhi = this.rd16(base + INIT_BLOCK.RDRA_HI);
      const tlo = this.rd16(base + INIT_BLOCK.TDRA_LO);
      const thi = this.rd16(base + INIT_BLOCK.TDRA_HI);
      p.mode = mode;
      p.rdra = (((rhi & RING_WORD.ADDR_HI) << 16) | rlo) & RING_ALIGN_MASK;
      p.tdra = (((thi & RING_WORD.ADDR_HI) << 16) | tlo) & RING_ALIGN_MASK;
      p.rlen = 1 << (rhi >>> RING_WORD.LEN_SHIFT);
      p.tlen = 1 << (thi >>> RING_WORD.LEN_SHIFT);
      if ((mode & MODE.RESERVED) !== 0) this.guestError(`init block MODE 0x${hex(mode)} sets reserved bits 14:7`, mode);
      if ((p.padr[0]! & 1) !== 0) this.guestError('init block PADR is a group address (bit 0 of byte 0 set)');
      if ((rhi & RING_WORD.RESERVED) !== 0 || (thi & RING_WORD.RESERVED) !== 0) {
        this.guestError(
          `init block ring-length words 0x${hex(rhi)}/0x${hex(thi)} set reserved bits 12:8 (RLEN/TLEN are log2 entries in bits 15:13): rings of ${p.rlen}/${p.tlen} entries`,
          rhi,
          thi,
        );
      }
      if (((rlo | tlo) & 7) !== 0) this.guestError('init block ring base not 8-byte aligned: low 3 bits ignored', rlo, tlo);
    } catch (e) {
      if (!(e instanceof MemoryError)) throw e;
      this.memoryError(e, 'reading the init block');
      this.refresh();
      return;
    }
    this.initializedOnce = true;
    this.rxIndex = 0;
    this.rxOwnGrantNs = -Infinity;
    this.txIndex = 0;
    this.setCsr0(this.csr0 | CSR0.IDON);
    if (this.trace.on) this.trace.record(this.name, 'lance.idon', p.rlen, p.tlen);
    if (this.startAfterInit) {
      this.startAfterInit = false;
      this.start(atNs as Ns);
    }
    this.refresh();
  }

  /** Recompute ERR and INTR and drive /INTR. */
  private refresh(): void {
    let v = this.csr0 & ~(CSR0.ERR | CSR0.INTR);
    if ((v & CSR0_ERR_SOURCES) !== 0) v |= CSR0.ERR;
    if ((v & CSR0_INTR_SOURCES) !== 0) v |= CSR0.INTR;
    this.setCsr0(v);
    const line = (v & CSR0.INTR) !== 0 && (v & CSR0.INEA) !== 0;
    if (line !== this.irqAsserted) {
      this.irqAsserted = line;
      this.irq(line);
    }
  }

  private flag(bits: number): void {
    this.setCsr0(this.csr0 | bits);
  }

  // ---- memory --------------------------------------------------------------------------------

  private rd16(addr: number): number {
    const a = addr & 0xffffff;
    if (a + 2 > this.mem.size) throw new MemoryError(a);
    return this.mem.read16(a);
  }
  private wr16(addr: number, v: number): void {
    this.wake();
    const a = addr & 0xffffff;
    if (a + 2 > this.mem.size) throw new MemoryError(a);
    this.mem.write16(a, v & 0xffff);
  }
  private rdData(addr: number, dst: Uint8Array): void {
    if (addr + dst.length > this.mem.size) throw new MemoryError(addr);
    this.mem.read(addr, dst);
    if ((this.csr.get('CSR3') & CSR3.BSWP) !== 0) swapPairs(dst, addr);
  }
  private wrData(addr: number, src: Uint8Array): void {
    this.wake();
    if (addr + src.length > this.mem.size) throw new MemoryError(addr);
    if ((this.csr.get('CSR3') & CSR3.BSWP) !== 0) {
      const s = src.slice();
      swapPairs(s, addr);
      this.mem.write(addr, s);
    } else this.mem.write(addr, src);
  }

  private memoryError(e: MemoryError, doing: string): void {
    this.stats.memoryErrors++;
    this.guestError(`MERR: no memory answers at LANCE address 0x${hex(e.addr)} while ${doing}; TXON/RXON off`, e.addr);
    this.setCsr0((this.csr0 | CSR0.MERR) & ~(CSR0.TXON | CSR0.RXON));
    this.sched.cancel(this.pollEvent);
  }

  private rmd(i: number): number {
    return this.params.rdra + DESC.BYTES * i;
  }
  private tmd(i: number): number {
    return this.params.tdra + DESC.BYTES * i;
  }
  private bufAddr(desc: number, flags: number): number {
    return ((flags & 0xff) << 16) | this.rd16(desc + DESC.LADR);
  }

  // ---- transmit ------------------------------------------------------------------------------

  private pollTransmit(): void {
    this.setCsr0(this.csr0 & ~CSR0.TDMD);
    if (!this.has(CSR0.TXON) || this.txInFlight !== undefined || this.loopEvent.scheduled) return;
    try {
      this.pollRing();
    } catch (e) {
      if (!(e instanceof MemoryError)) throw e;
      this.memoryError(e, 'polling the transmit ring');
    }
    this.refresh();
  }

  private pollRing(): void {
    const p = this.params;
    for (let skipped = 0; skipped <= p.tlen; skipped++) {
      const d = this.tmd(this.txIndex);
      const flags = this.rd16(d + DESC.FLAGS);
      if ((flags & TMD1.OWN) === 0) {
        // Until something writes this chip's memory or registers or the chip itself acts, every
        // later poll finds the same descriptor without OWN and only polls again: park the poll
        // (the scheduler fires it virtually, at the same times and places in the order, with the
        // same fingerprint), and `wake` puts it back before anything that could change that.
        const period = this.timing.txPollPeriodNs;
        if (this.mem.reportsHostWrites === true) this.sched.park(this.pollEvent, this.sched.now + period, period);
        else this.sched.reschedule(this.pollEvent, this.sched.now + period);
        return;
      }
      if ((flags & TMD1.STP) !== 0) {
        this.gather(this.txIndex, flags);
        return;
      }
      this.guestError(`TMD ${this.txIndex} owned without STP outside a frame: released and skipped`, this.txIndex, flags);
      this.wr16(d + DESC.FLAGS, flags & ~TMD1.OWN);
      this.txIndex = (this.txIndex + 1) % p.tlen;
    }
  }

  /** Read a frame STP..ENP from the ring starting at `first` and put it on the medium. */
  private gather(first: number, firstFlags: number): void {
    const p = this.params;
    const m = p.mode;
    const appendFcs = (m & MODE.DTCR) === 0;
    if ((firstFlags & TMD1.ENP) !== 0) {
      // The common case, a frame in one buffer that fits: read it straight into the frame (the
      // same reads, checks and bytes as the general path below, without the staging copy).
      const d = this.tmd(first);
      const len = bcntLength(this.rd16(d + DESC.BCNT));
      const wireBytes = len + (appendFcs ? ETHER.FCS : 0);
      if (wireBytes <= 4096 + ETHER.FCS) {
        const frame = new Uint8Array(wireBytes);
        this.rdData(this.bufAddr(d, firstFlags), len === wireBytes ? frame : frame.subarray(0, len));
        this.sendGathered(first, first, frame, wireBytes);
        return;
      }
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    let i = first;
    let flags = firstFlags;
    for (let n = 0; ; n++) {
      const d = this.tmd(i);
      const len = bcntLength(this.rd16(d + DESC.BCNT));
      if (n === 0 && (flags & TMD1.ENP) === 0 && len < 100) {
        this.guestError(`TMD ${i}: first buffer of a chained frame is ${len} bytes (the chip needs ≥ 100)`, i, len);
      }
      const buf = new Uint8Array(len);
      this.rdData(this.bufAddr(d, flags), buf);
      parts.push(buf);
      total += len;
      if ((flags & TMD1.ENP) !== 0) break;
      const next = (i + 1) % p.tlen;
      const nextFlags = next === first ? 0 : this.rd16(this.tmd(next) + DESC.FLAGS);
      if ((nextFlags & TMD1.OWN) === 0 || n + 1 >= p.tlen) {
        // A chain without ENP: the FIFO runs dry. The frame is abandoned, TXON drops.
        this.guestError(`TMD ${i}: frame has no ENP and TMD ${next} is not owned: BUFF|UFLO, transmitter off`, i, next);
        this.wr16(d + DESC.MISC, TMD3.BUFF | TMD3.UFLO);
        this.wr16(d + DESC.FLAGS, (flags & ~TMD1.OWN & ~(TMD1.MORE | TMD1.ONE | TMD1.DEF | TMD1.RES)) | TMD1.ERR);
        this.txIndex = next;
        this.stats.transmitErrors++;
        this.setCsr0((this.csr0 | CSR0.TINT) & ~CSR0.TXON);
        return;
      }
      // An intermediate buffer is released as soon as it has been read.
      this.wr16(d + DESC.FLAGS, flags & ~TMD1.OWN);
      i = next;
      flags = nextFlags;
      if ((flags & TMD1.STP) !== 0) this.guestError(`TMD ${i}: STP inside a chain`, i);
    }
    const wireBytes = total + (appendFcs ? ETHER.FCS : 0);
    const frame = new Uint8Array(Math.min(wireBytes, 4096 + ETHER.FCS));
    let at = 0;
    for (const part of parts) {
      const n = Math.min(part.length, frame.length - at);
      frame.set(part.subarray(0, n), at);
      at += n;
    }
    this.sendGathered(first, i, frame, wireBytes);
  }

  /** Put a gathered frame (TMDs `first`..`last`; `wireBytes` before truncation) on the medium. */
  private sendGathered(first: number, last: number, frame: Uint8Array, wireBytes: number): void {
    const m = this.params.mode;
    const appendFcs = (m & MODE.DTCR) === 0;
    if (wireBytes > frame.length) this.guestError(`transmit frame of ${wireBytes} bytes truncated to ${frame.length}`, wireBytes);
    if (appendFcs) writeFcs(frame, frame.length - ETHER.FCS, crc32(frame, 0, frame.length - ETHER.FCS));
    const loop = (m & MODE.LOOP) !== 0;
    const intl = (m & MODE.INTL) !== 0;
    this.txInFlight = { first, last, wireBytes: frame.length, loopFrame: loop && !intl ? frame : undefined };
    if (!loop) {
      if (frame.length < ETHER.MIN_FRAME) {
        this.guestError(`runt transmit: ${frame.length} bytes on the wire (drivers pad to 60 + FCS; the chip does not)`, frame.length);
      }
      if (frame.length > ETHER.MAX_FRAME) {
        this.stats.babbles++;
        this.flag(CSR0.BABL);
        this.guestError(`giant transmit: ${frame.length} bytes on the wire (> 1518): BABL`, frame.length);
      }
    }
    if (this.trace.on) this.trace.record(this.name, 'lance.tx', first, frame.length);
    if (this.trace.observer !== undefined) this.trace.observer.frameSent(this.name, frame);
    const attemptsMax = (m & MODE.DRTY) !== 0 ? 1 : ATTEMPTS_MAX;
    if ((loop && intl) || (m & MODE.COLL) !== 0 || this.port === undefined) {
      this.internalTransmit(frame, attemptsMax, loop && intl);
      return;
    }
    this.port.transmit({ frame, attemptsMax });
  }

  /** Internal loopback, forced collisions (COLL), or no transceiver attached. */
  private internalTransmit(frame: Uint8Array, attemptsMax: number, looped: boolean): void {
    const now = this.sched.now;
    const m = this.params.mode;
    let outcome: TransmitOutcome;
    if ((m & MODE.COLL) !== 0) {
      // Every attempt collides at once: jam, back off the minimum; RTRY after the last attempt.
      const attemptNs = (64 + JAM_BITS) * BIT_NS + SLOT_BITS * BIT_NS;
      outcome = {
        ok: false, deferred: false, collisions: attemptsMax, retryError: true, lateCollision: false,
        lostCarrier: false, heartbeat: true, tdrBitTimes: 64, startNs: now, endNs: now + attemptsMax * attemptNs,
      };
      this.loopFrame = undefined;
    } else {
      const attached = this.port !== undefined || looped;
      outcome = {
        ok: attached, deferred: false, collisions: 0, retryError: false, lateCollision: false,
        lostCarrier: !attached, heartbeat: attached, tdrBitTimes: 0, startNs: now,
        endNs: now + EthernetSegment.wireNs(frame.length),
      };
      this.loopFrame = looped ? frame : undefined;
    }
    this.loopOutcome = outcome;
    this.sched.reschedule(this.loopEvent, outcome.endNs);
  }

  private completeLoopback(): void {
    this.wake();
    const outcome = this.loopOutcome;
    const frame = this.loopFrame;
    this.loopOutcome = undefined;
    this.loopFrame = undefined;
    if (!(outcome !== undefined)) bug(`${this.name}: loopback completion without a frame`);
    if (frame !== undefined) this.loopbackReceive(frame);
    this.transmitDone(outcome);
  }

  /** The medium's verdict on the frame in flight (EthernetMac). */
  transmitDone(o: TransmitOutcome): void {
    this.wake();
    const tx = this.txInFlight;
    // STOP withdraws the request from the medium, so no verdict can arrive for a stopped frame.
    if (!(tx !== undefined)) bug(`${this.name}: transmit outcome with no frame in flight`);
    this.txInFlight = undefined;
    this.stats.collisions += o.collisions;
    if (tx.loopFrame !== undefined && o.ok) this.loopbackReceive(tx.loopFrame);
    const d = this.tmd(tx.last);
    try {
      const flags = this.rd16(d + DESC.FLAGS);
      let status = 0;
      let tmd3 = 0;
      if (o.lateCollision) tmd3 |= TMD3.LCOL;
      if (o.lostCarrier) tmd3 |= TMD3.LCAR;
      if (o.retryError) tmd3 |= TMD3.RTRY | (o.tdrBitTimes & TMD3.TDR);
      if (tmd3 !== 0) status |= TMD1.ERR;
      if (o.ok && o.collisions === 1) status |= TMD1.ONE;
      if (o.ok && o.collisions > 1) status |= TMD1.MORE;
      if (o.deferred) status |= TMD1.DEF;
      this.wr16(d + DESC.MISC, tmd3);
      this.wr16(d + DESC.FLAGS, (flags & (TMD1.STP | TMD1.ENP | TMD1.HADR)) | status);
      if (o.ok) this.stats.framesTransmitted++;
      else this.stats.transmitErrors++;
      if (!o.heartbeat) this.flag(CSR0.CERR);
      this.flag(CSR0.TINT);
      this.txIndex = (tx.last + 1) % this.params.tlen;
      if (this.trace.on) this.trace.record(this.name, 'lance.tint', tx.last, status | tmd3);
      // Back to back: the next descriptor is polled at once.
      if (this.has(CSR0.TXON)) this.sched.reschedule(this.pollEvent, this.sched.now);
    } catch (e) {
      if (!(e instanceof MemoryError)) throw e;
      this.memoryError(e, 'writing back a transmit descriptor');
    }
    this.refresh();
  }

  // ---- receive -------------------------------------------------------------------------------

  /** A frame (DA..FCS) arrived from the wire (EthernetMac). */
  frameArrived(frame: Uint8Array): void {
    if (this.trace.observer !== undefined) this.trace.observer.frameArrived(this.name, frame, this.sched.now);
    const m = this.params.mode;
    if (!this.has(CSR0.RXON)) {
      this.stats.framesIgnoredRxOff++;
      return;
    }
    // In loopback the receiver takes only the chip's own frame (loopbackReceive), never the wire's.
    if ((m & MODE.LOOP) !== 0) return;
    if (frame.length < ETHER.MIN_FRAME) {
      this.stats.runtsDropped++;
      return;
    }
    if (!this.accepts(frame)) {
      this.stats.framesFiltered++;
      return;
    }
    this.receive(frame, true);
  }

  private loopbackReceive(frame: Uint8Array): void {
    if (!this.has(CSR0.RXON)) return;
    const m = this.params.mode;
    const data = frame.length - ((m & MODE.DTCR) === 0 ? ETHER.FCS : 0);
    if (data < ETHER.LOOP_MIN || data > ETHER.LOOP_MAX) {
      this.guestError(`loopback frame of ${data} bytes: the Am7990 loops back only 8..32 bytes (+FCS)`, data);
      return;
    }
    if (!this.accepts(frame)) {
      this.stats.framesFiltered++;
      return;
    }
    this.receive(frame, (m & MODE.DTCR) !== 0);
  }

  /** Address filter (hw doc §2.2): PROM, own address, broadcast, then the LADRF hash. */
  accepts(frame: Uint8Array): boolean {
    const p = this.params;
    if ((p.mode & MODE.PROM) !== 0) return true;
    let own = true;
    let bcast = true;
    for (let i = 0; i < 6; i++) {
      const b = frame[i]!;
      if (b !== p.padr[i]) own = false;
      if (b !== BROADCAST[i]) bcast = false;
    }
    if (own || bcast) return true;
    if ((frame[0]! & 1) === 0) return false;
    const h = ladrfIndex(frame);
    return ((p.ladrf[h >>> 4]! >>> (h & 15)) & 1) !== 0;
  }

  private receive(frame: Uint8Array, checkCrc: boolean): void {
    try {
      this.store(frame, checkCrc);
    } catch (e) {
      if (!(e instanceof MemoryError)) throw e;
      this.memoryError(e, 'storing a received frame');
    }
    this.refresh();
  }

  private store(frame: Uint8Array, checkCrc: boolean): void {
    const p = this.params;
    const first = this.rxIndex;
    const firstFlags = this.rd16(this.rmd(first) + DESC.FLAGS);
    // MISS is decided when reception starts (the first bit after the SFD reached this station,
    // `frame.length` byte times ago): a buffer handed over during the frame comes too late.
    const startNs = this.sched.now - frame.length * 8 * BIT_NS;
    const late = this.rxOwnGrantNs > startNs;
    if ((firstFlags & RMD1.OWN) === 0 || late) {
      if (late && this.trace.on) this.trace.record(this.name, 'lance.miss-late-own', first, this.rxOwnGrantNs - startNs);
      this.stats.framesMissed++;
      this.flag(CSR0.MISS);
      if (this.trace.on) this.trace.record(this.name, 'lance.miss', first, frame.length);
      return;
    }
    let i = first;
    let flags = firstFlags;
    let stored = 0;
    for (;;) {
      const d = this.rmd(i);
      const len = bcntLength(this.rd16(d + DESC.BCNT));
      const n = Math.min(len, frame.length - stored);
      this.wrData(this.bufAddr(d, flags), frame.subarray(stored, stored + n));
      stored += n;
      const stp = i === first ? RMD1.STP : 0;
      const keep = flags & RMD1.HADR;
      if (stored === frame.length) {
        let status = stp | RMD1.ENP;
        let mcnt = frame.length & MCNT_MASK;
        if (checkCrc && !fcsOk(frame)) {
          status |= RMD1.ERR | RMD1.CRC;
          mcnt = 0;
          this.stats.crcErrors++;
        } else this.stats.framesReceived++;
        this.wr16(d + DESC.MISC, mcnt);
        this.wr16(d + DESC.FLAGS, keep | status);
        this.rxIndex = (i + 1) % p.rlen;
        this.rxOwnGrantNs = -Infinity;
        break;
      }
      const next = (i + 1) % p.rlen;
      const nextFlags = next === first ? 0 : this.rd16(this.rmd(next) + DESC.FLAGS);
      if ((nextFlags & RMD1.OWN) === 0) {
        // No buffer for the rest of the frame; OFLO too when more than a FIFO's worth was left.
        const rest = frame.length - stored;
        const oflo = rest > this.timing.rxFifoBytes ? RMD1.OFLO : 0;
        this.wr16(d + DESC.MISC, 0);
        this.wr16(d + DESC.FLAGS, keep | stp | RMD1.ERR | RMD1.BUFF | oflo);
        this.stats.bufferErrors++;
        this.guestError(`receive: frame of ${frame.length} bytes needs a buffer after RMD ${i} but RMD ${next} is not owned: BUFF${oflo !== 0 ? '|OFLO' : ''}`, i, frame.length);
        this.rxIndex = next;
        this.rxOwnGrantNs = -Infinity;
        break;
      }
      this.wr16(d + DESC.FLAGS, keep | stp);
      i = next;
      flags = nextFlags;
    }
    this.flag(CSR0.RINT);
    if (this.trace.on) this.trace.record(this.name, 'lance.rint', first, frame.length);
  }

  /**
   * LANCE address of the OWN-carrying word (RMD1) of the receive descriptor the chip will use
   * next: the board watches host writes there and reports a hand-over with `rxOwnGranted`.
   */
  get rxOwnWatchAddr(): number {
    return this.rmd(this.rxIndex) + DESC.FLAGS;
  }

  /**
   * Something other than the chip wrote its memory (the board's write hook, on every host or
   * functional write): a parked transmit poll must look again.
   */
  memoryWritten(): void {
    this.wake();
  }

  /** Unpark the transmit poll (a no-op unless it is parked): the chip's state may change. */
  private wake(): void {
    this.sched.unpark(this.pollEvent);
  }

  /** The host set OWN in the current receive descriptor at `atNs` (the board's write hook). */
  rxOwnGranted(atNs: Ns): void {
    this.rxOwnGrantNs = atNs;
  }

  private guestError(text: string, a = 0, b = 0): void {
    this.trace.guestError(this.name, text, a, b);
  }
}

/** LADRF bit index of a destination (hw doc §2.2): top 6 bits of the un-complemented CRC. */
export function ladrfIndex(frame: Uint8Array): number {
  const raw = (~crc32(frame, 0, 6)) >>> 0;
  return raw >>> 26;
}

function swapPairs(b: Uint8Array, addr: number): void {
  // Byte k of the stream sits at address addr+k; swapping is by 16-bit word of memory.
  for (let k = (addr & 1) === 0 ? 0 : 1; k + 1 < b.length; k += 2) {
    const t = b[k]!;
    b[k] = b[k + 1]!;
    b[k + 1] = t;
  }
}

function hex(v: number): string {
  return (v >>> 0).toString(16).padStart(4, '0');
}
