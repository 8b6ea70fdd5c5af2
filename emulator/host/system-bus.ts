/**
 * The KN02 physical address space as the CPU sees it: RAM from 0, TURBOchannel slots from
 * 0x1E000000 (each 4 MB, decoded by the option's own glue), and the system slot's CSR.
 * Timed accesses charge the CPU (one charge per access, one per block) and reach devices at the
 * CPU's local time (DESIGN.md "Causality"):
 * - a write to a device (a register, board memory reached by programmed I/O, the KN02 CSR) issued
 *   while the CPU's local clock is ahead of the global one is stamped with the local time and
 *   queued; one scheduler event applies the queue in stamp order, each write at its stamp
 *   (Priority.cpuWrite: before the device's own steps at that instant). An interrupt taken by
 *   the burst holds back its writes stamped after the interrupt and returns them pushed by the
 *   handler's duration (`hold`/`release`, called by the CPU);
 * - a read of a device is answered at the read's time: the CPU suspends a generator body at a
 *   sync point before the read (cpu.ts), so the read runs when the global clock has caught up.
 *   A read ahead of the clock is allowed only for registers whose value is a function of time
 *   alone (the AN1 clock page: `BusTarget.timeDetermined`); any other is a causality violation,
 *   counted with the first place it happened (`causality`), and the tests require none.
 * - RAM is not queued: CPU stores reach RAM when the body's code runs, and a CPU load sees its own
 *   stores. A store through the bus or a guest's memory view that is ahead of the clock is noted
 *   (Ram.noteCpuStore), so a device's DMA reads RAM as of its own time. Stores the kernel makes
 *   straight into its RAM view are not noted: the kernel hands a buffer to a device only by a
 *   register write after filling it, and that write is timed. (docs/foundation.md)
 */
import { assert, bug } from '../sim/assert.ts';
import { Priority, type Scheduler, type SimEvent } from '../sim/scheduler.ts';
import type { Ns } from '../sim/time.ts';
import type { AccessSize, BusTarget, CycleSink, PhysAddr, PhysicalBus } from '../bus/index.ts';
import type { Ram } from '../memory/ram.ts';
import { KN02_CSR_ADDR, type Kn02InterruptController } from './interrupts.ts';
import { TC_SLOT_COUNT, TC_SLOT_SIZE, TC_SLOTS_BASE } from './turbochannel.ts';

export interface SystemBusCosts {
  readonly ramWordAccessCycles: number;
  readonly memcpyCyclesPerByte: number;
  readonly memcpySetupCycles: number;
  readonly csrAccessCycles: number;
}

const ALL_ONES: Record<AccessSize, number> = { 1: 0xff, 2: 0xffff, 4: 0xffff_ffff };

/**
 * A timed write waiting for the global clock to reach its stamp. The records are reused (a free
 * list in the bus): one is taken when a write is queued and given back once it is applied.
 */
interface PendingWrite {
  stampNs: number;
  /** undefined: the KN02 CSR. */
  target: BusTarget | undefined;
  offset: number;
  size: AccessSize;
  value: number;
  /** A block write's bytes (copied into `store` when queued), else undefined. */
  bytes: Uint8Array | undefined;
  /** The record's own buffer for block writes, kept with the record for the next one. */
  store: Uint8Array | undefined;
}

/** A block write's buffer is at least this long (a LANCE frame fits: one buffer per record). */
const BLOCK_STORE_MIN = 2048;

/** The causality check's counters (DESIGN.md "Causality"; a test requires zero violations). */
export interface CausalityStats {
  /** Writes issued ahead of the clock and applied at their stamps. */
  writesQueued: number;
  /** Device reads answered ahead of the clock for a time-determined register (exact). */
  timeDeterminedReads: number;
  /** Violations: a device read answered before its time (no sync point before it). */
  readsAhead: number;
  /** Violations: a queued write applied at a time other than its stamp. */
  writesMistimed: number;
  /** Where the first violation happened (a short stack), for the test's message. */
  firstViolation: string | undefined;
}

/** Pending timed writes at most (a limit on everything; a runaway body hits it, not the heap). */
export const PENDING_WRITES_MAX = 1 << 16;

export class SystemBus implements PhysicalBus {
  private readonly slots: (BusTarget | undefined)[] = new Array<BusTarget | undefined>(TC_SLOT_COUNT).fill(undefined);
  busErrors = 0;
  /** The address of the last bus error, for diagnostics. */
  lastBusErrorAddr = -1;

  readonly causality: CausalityStats = { writesQueued: 0, timeDeterminedReads: 0, readsAhead: 0, writesMistimed: 0, firstViolation: undefined };
  /**
   * Timed writes not yet applied, in stamp order (a FIFO: stamps never decrease), from index
   * `head` on; the applied ones before it are dropped when the queue empties or grows long.
   */
  private readonly pending: PendingWrite[] = [];
  private head = 0;
  /** Applied records, for reuse by the next queued writes. */
  private readonly freeWrites: PendingWrite[] = [];
  private readonly applyEvent: SimEvent;

  constructor(
    private readonly ram: Ram,
    private readonly cpu: CycleSink,
    private readonly intc: Kn02InterruptController,
    private readonly costs: SystemBusCosts,
    private readonly sched: Scheduler,
    name = 'bus',
  ) {
    this.applyEvent = sched.createEvent(`${name}.cpu-writes`, Priority.cpuWrite, () => this.applyDue());
  }

  // ---- the timed-write queue ---------------------------------------------------------------

  /** Queue a write; `block`: a block write's bytes, copied here (the caller may reuse its array). */
  private enqueue(stampNs: number, target: BusTarget | undefined, offset: number, size: AccessSize, value: number, block: Uint8Array | undefined): void {
    if (this.pending.length - this.head >= PENDING_WRITES_MAX) assert(false, 'timed-write queue overflow');
    let w = this.freeWrites.pop();
    if (w === undefined) w = { stampNs, target, offset, size, value, bytes: undefined, store: undefined };
    else {
      w.stampNs = stampNs;
      w.target = target;
      w.offset = offset;
      w.size = size;
      w.value = value;
    }
    if (block !== undefined) {
      let store = w.store;
      if (store === undefined || store.length < block.length) store = w.store = new Uint8Array(Math.max(BLOCK_STORE_MIN, block.length));
      store.set(block);
      w.bytes = store.subarray(0, block.length);
    } else w.bytes = undefined;
    this.pending.push(w);
    this.causality.writesQueued++;
    if (!this.applyEvent.scheduled) this.sched.schedule(this.applyEvent, stampNs);
  }

  private applyDue(): void {
    const now = this.sched.now;
    const q = this.pending;
    // Each write is taken off the queue before it is applied, and its record given back after.
    while (this.head < q.length && q[this.head]!.stampNs <= now) {
      const w = q[this.head]!;
      this.head++;
      this.applyWrite(w.stampNs, w.target, w.offset, w.size, w.value, w.bytes);
      w.target = undefined;
      w.bytes = undefined;
      this.freeWrites.push(w);
    }
    this.compact();
    const next = q[this.head];
    if (next !== undefined) this.sched.schedule(this.applyEvent, next.stampNs);
  }

  /** Drop the applied entries before `head`: at once when none is left, else when they are many. */
  private compact(): void {
    const q = this.pending;
    const h = this.head;
    if (h === 0) return;
    if (h === q.length) {
      q.length = 0;
      this.head = 0;
    } else if (h >= 1024 && h * 2 >= q.length) {
      for (let i = h; i < q.length; i++) q[i - h] = q[i]!;
      q.length -= h;
      this.head = 0;
    }
  }

  /** Apply a timed write; the check: it lands exactly at its stamp, never before or after. */
  private applyWrite(stampNs: number, target: BusTarget | undefined, offset: number, size: AccessSize, value: number, bytes: Uint8Array | undefined): void {
    const now = this.sched.now;
    if (stampNs !== now) this.violation('writesMistimed', `write stamped ${stampNs} applied at ${now}`);
    if (target === undefined) this.intc.write(value);
    else if (bytes !== undefined) target.writeBlock!(offset, bytes, stampNs as Ns);
    else target.write(offset, size, value, stampNs as Ns);
  }

  /** WriteHold: take out the writes stamped after `atNs` (an interrupt preempts the burst). */
  hold(atNs: number): unknown {
    const q = this.pending;
    let i = q.length;
    while (i > this.head && q[i - 1]!.stampNs > atNs) i--;
    if (i === q.length) return undefined;
    const held = q.splice(i);
    this.compact();
    this.rescheduleApply();
    return held;
  }

  /** WriteHold: put held writes back, `pushNs` later (the handler's duration). */
  release(token: unknown, pushNs: number): void {
    if (token === undefined) return;
    const held = token as PendingWrite[];
    for (const w of held) {
      w.stampNs += pushNs;
      // The handler's own writes lie before T + push: appending keeps the queue in order.
      const last = this.pending.length > this.head ? this.pending[this.pending.length - 1] : undefined;
      if (last !== undefined && last.stampNs > w.stampNs) assert(false, 'held writes out of order');
      this.pending.push(w);
    }
    this.rescheduleApply();
  }

  private rescheduleApply(): void {
    const next = this.pending[this.head];
    if (next === undefined) {
      if (this.applyEvent.scheduled) this.sched.cancel(this.applyEvent);
    } else this.sched.reschedule(this.applyEvent, next.stampNs);
  }

  /** Timed writes waiting for their time (tests and diagnostics). */
  get pendingWrites(): number {
    return this.pending.length - this.head;
  }

  private violation(kind: 'readsAhead' | 'writesMistimed', what: string): void {
    this.causality[kind]++;
    if (this.causality.firstViolation === undefined) {
      const stack = (new Error().stack ?? '').split('\n').slice(3, 9).map((l) => l.trim()).join(' < ');
      this.causality.firstViolation = `${what}: ${stack}`;
    }
  }

  /** A device read at `at`: exact if the clock is there or the register depends on time alone. */
  private checkRead(t: BusTarget | undefined, offset: number, size: AccessSize, at: Ns): void {
    if (at <= this.sched.now) return;
    if (t !== undefined && t.timeDetermined?.(offset, size) === true) {
      this.causality.timeDeterminedReads++;
      return;
    }
    this.violation('readsAhead', `device read at ${at} answered at ${this.sched.now}`);
  }

  /** A device write at `at`: queued if ahead of the clock, else applied now. */
  private timedWrite(at: number, target: BusTarget | undefined, offset: number, size: AccessSize, value: number): void {
    if (at > this.sched.now) this.enqueue(at, target, offset, size, value, undefined);
    else this.applyWrite(at, target, offset, size, value, undefined);
  }

  attachSlot(slot: number, target: BusTarget): void {
    if (!(slot >= 0 && slot < TC_SLOT_COUNT)) bug(`no slot ${slot}`);
    if (!(this.slots[slot] === undefined)) bug(`slot ${slot} is already occupied`);
    this.slots[slot] = target;
  }

  slotTarget(slot: number): BusTarget | undefined {
    return this.slots[slot];
  }

  probe(addr: PhysAddr): boolean {
    if (addr >= 0 && addr < this.ram.size) return true;
    if (addr >>> 0 === KN02_CSR_ADDR) return true;
    return this.decodeSlot(addr) !== undefined;
  }

  private decodeSlot(addr: PhysAddr): BusTarget | undefined {
    const a = addr >>> 0;
    if (a < TC_SLOTS_BASE) return undefined;
    const slot = Math.floor((a - TC_SLOTS_BASE) / TC_SLOT_SIZE);
    return slot < TC_SLOT_COUNT ? this.slots[slot] : undefined;
  }

  private busError(addr: PhysAddr): void {
    this.busErrors++;
    this.lastBusErrorAddr = addr >>> 0;
  }

  private isRam(addr: PhysAddr, size: number): boolean {
    return addr >= 0 && addr + size <= this.ram.size;
  }

  private readTimed(addr: PhysAddr, size: AccessSize): number {
    if (!(Number.isInteger(addr))) bug(`bus address ${addr} is not an integer`);
    if (this.isRam(addr, size)) {
      this.cpu.charge(this.costs.ramWordAccessCycles, 'memory');
      return this.ramRead(addr, size);
    }
    if (addr >>> 0 === KN02_CSR_ADDR && size === 4) {
      this.checkRead(undefined, 0, 4, this.cpu.localNow());
      this.cpu.charge(this.costs.csrAccessCycles, 'pio');
      return this.intc.read();
    }
    const t = this.decodeSlot(addr);
    if (t === undefined) {
      this.busError(addr);
      return ALL_ONES[size];
    }
    const offset = (addr >>> 0) % TC_SLOT_SIZE;
    const at: Ns = this.cpu.localNow();
    this.checkRead(t, offset, size, at);
    this.cpu.charge(t.accessCycles(offset, size, false), 'pio');
    return t.read(offset, size, at);
  }

  private writeTimed(addr: PhysAddr, size: AccessSize, value: number): void {
    if (!(Number.isInteger(addr))) bug(`bus address ${addr} is not an integer`);
    if (this.isRam(addr, size)) {
      this.ram.noteCpuStore(addr, size, this.cpu.localNow());
      this.cpu.charge(this.costs.ramWordAccessCycles, 'memory');
      this.ramWrite(addr, size, value);
      return;
    }
    if (addr >>> 0 === KN02_CSR_ADDR && size === 4) {
      const at: Ns = this.cpu.localNow();
      this.cpu.charge(this.costs.csrAccessCycles, 'pio');
      this.timedWrite(at, undefined, 0, 4, value);
      return;
    }
    const t = this.decodeSlot(addr);
    if (t === undefined) {
      this.busError(addr);
      return;
    }
    const offset = (addr >>> 0) % TC_SLOT_SIZE;
    const at: Ns = this.cpu.localNow();
    this.cpu.charge(t.accessCycles(offset, size, true), 'pio');
    this.timedWrite(at, t, offset, size, value);
  }

  private ramRead(addr: number, size: AccessSize): number {
    const v = this.ram.view;
    return size === 1 ? v.getUint8(addr) : size === 2 ? v.getUint16(addr, true) : v.getUint32(addr, true);
  }
  private ramWrite(addr: number, size: AccessSize, value: number): void {
    const v = this.ram.view;
    if (size === 1) v.setUint8(addr, value & 0xff);
    else if (size === 2) v.setUint16(addr, value & 0xffff, true);
    else v.setUint32(addr, value >>> 0, true);
  }

  read8(addr: PhysAddr): number {
    return this.readTimed(addr, 1);
  }
  read16(addr: PhysAddr): number {
    return this.readTimed(addr, 2);
  }
  read32(addr: PhysAddr): number {
    return this.readTimed(addr, 4);
  }
  write8(addr: PhysAddr, value: number): void {
    this.writeTimed(addr, 1, value);
  }
  write16(addr: PhysAddr, value: number): void {
    this.writeTimed(addr, 2, value);
  }
  write32(addr: PhysAddr, value: number): void {
    this.writeTimed(addr, 4, value);
  }

  readBlock(addr: PhysAddr, dst: Uint8Array): void {
    if (this.isRam(addr, dst.length)) {
      this.cpu.charge(this.costs.memcpySetupCycles + dst.length * this.costs.memcpyCyclesPerByte, 'copy');
      dst.set(this.ram.bytes.subarray(addr, addr + dst.length));
      return;
    }
    const t = this.decodeSlot(addr);
    const offset = (addr >>> 0) % TC_SLOT_SIZE;
    if (t === undefined || offset + dst.length > TC_SLOT_SIZE) {
      this.busError(addr);
      dst.fill(0xff);
      return;
    }
    if (t.readBlock !== undefined && t.blockCycles !== undefined) {
      const at = this.cpu.localNow();
      this.checkRead(t, offset, 1, at);
      this.cpu.charge(t.blockCycles(offset, dst.length, false), 'pio');
      t.readBlock(offset, dst, at);
      return;
    }
    for (let i = 0; i < dst.length; i++) dst[i] = this.readTimed(addr + i, 1);
  }

  writeBlock(addr: PhysAddr, src: Uint8Array): void {
    if (this.isRam(addr, src.length)) {
      this.ram.noteCpuStore(addr, src.length, this.cpu.localNow());
      this.cpu.charge(this.costs.memcpySetupCycles + src.length * this.costs.memcpyCyclesPerByte, 'copy');
      this.ram.bytes.set(src, addr);
      return;
    }
    const t = this.decodeSlot(addr);
    const offset = (addr >>> 0) % TC_SLOT_SIZE;
    if (t === undefined || offset + src.length > TC_SLOT_SIZE) {
      this.busError(addr);
      return;
    }
    if (t.writeBlock !== undefined && t.blockCycles !== undefined) {
      const at = this.cpu.localNow();
      this.cpu.charge(t.blockCycles(offset, src.length, true), 'pio');
      if (at > this.sched.now) this.enqueue(at, t, offset, 1, 0, src);
      else t.writeBlock(offset, src, at);
      return;
    }
    for (let i = 0; i < src.length; i++) this.writeTimed(addr + i, 1, src[i]!);
  }

  // Functional access: free, no side effects, bus errors are not counted.
  private peek(addr: PhysAddr, size: AccessSize): number {
    if (this.isRam(addr, size)) return this.ramRead(addr, size);
    if (addr >>> 0 === KN02_CSR_ADDR) return this.intc.read();
    const t = this.decodeSlot(addr);
    return t === undefined ? ALL_ONES[size] : t.peek((addr >>> 0) % TC_SLOT_SIZE, size);
  }
  private poke(addr: PhysAddr, size: AccessSize, value: number): void {
    if (this.isRam(addr, size)) return this.ramWrite(addr, size, value);
    const t = this.decodeSlot(addr);
    if (t !== undefined) t.poke((addr >>> 0) % TC_SLOT_SIZE, size, value);
  }
  peek8(addr: PhysAddr): number {
    return this.peek(addr, 1);
  }
  peek16(addr: PhysAddr): number {
    return this.peek(addr, 2);
  }
  peek32(addr: PhysAddr): number {
    return this.peek(addr, 4);
  }
  poke8(addr: PhysAddr, value: number): void {
    this.poke(addr, 1, value);
  }
  poke16(addr: PhysAddr, value: number): void {
    this.poke(addr, 2, value);
  }
  poke32(addr: PhysAddr, value: number): void {
    this.poke(addr, 4, value);
  }
  peekBlock(addr: PhysAddr, dst: Uint8Array): void {
    if (this.isRam(addr, dst.length)) {
      dst.set(this.ram.bytes.subarray(addr, addr + dst.length));
      return;
    }
    for (let i = 0; i < dst.length; i++) dst[i] = this.peek(addr + i, 1);
  }
  pokeBlock(addr: PhysAddr, src: Uint8Array): void {
    if (this.isRam(addr, src.length)) {
      this.ram.bytes.set(src, addr);
      return;
    }
    for (let i = 0; i < src.length; i++) this.poke(addr + i, 1, src[i]!);
  }
}
