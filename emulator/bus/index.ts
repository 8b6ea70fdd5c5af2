/**
 * The interfaces through which the kernel (and tests) reach the machine: a physical bus with
 * timed and functional access, interrupt lines, and DMA ports for devices. This is the only part
 * of emulator/ that kernel/ may import (DESIGN.md "Layers").
 *
 * Timed accesses cost CPU cycles, charged to the running CPU burst (never an event of their own)
 * and have device side effects at the CPU's local time. Functional accesses (`peek*`/`poke*`)
 * are free and side-effect free: for tests, dumps and loaders only.
 */
import type { Rng } from '../sim/rng.ts';
import type { Scheduler } from '../sim/scheduler.ts';
import type { Ns } from '../sim/time.ts';
import type { Trace } from '../sim/trace.ts';

/** A 32-bit physical address (KN02: RAM from 0, TURBOchannel slots from 0x1E000000). */
export type PhysAddr = number;

export type AccessSize = 1 | 2 | 4;

/** What a device window on the bus implements. Offsets are relative to the window's base. */
export interface BusTarget {
  readonly name: string;
  /** A timed read at simulated time `atNs` (the CPU's local time). */
  read(offset: number, size: AccessSize, atNs: Ns): number;
  write(offset: number, size: AccessSize, value: number, atNs: Ns): void;
  /** Functional access: no time, no side effects (a read must not clear status bits). */
  peek(offset: number, size: AccessSize): number;
  poke(offset: number, size: AccessSize, value: number): void;
  /** CPU cycles one access costs (includes the TURBOchannel transaction). */
  accessCycles(offset: number, size: AccessSize, isWrite: boolean): number;
  /**
   * Optional fast paths for programmed I/O of a whole buffer: one charge and one copy
   * (DESIGN.md "Speed"). Targets without them get word-by-word accesses. `writeBlock` copies
   * `src` during the call and never keeps it (the bus reuses a queued write's bytes).
   */
  readBlock?(offset: number, dst: Uint8Array, atNs: Ns): void;
  writeBlock?(offset: number, src: Uint8Array, atNs: Ns): void;
  blockCycles?(offset: number, length: number, isWrite: boolean): number;
  /**
   * True when a read at (offset, size) returns a function of its time alone (a free-running
   * clock): the bus may then answer it ahead of the global clock without a sync point.
   */
  timeDetermined?(offset: number, size: AccessSize): boolean;
}

/** Timed and functional access to the physical address space. */
export interface PhysicalBus {
  read8(addr: PhysAddr): number;
  read16(addr: PhysAddr): number;
  read32(addr: PhysAddr): number;
  write8(addr: PhysAddr, value: number): void;
  write16(addr: PhysAddr, value: number): void;
  write32(addr: PhysAddr, value: number): void;
  /** Programmed-I/O block copies (bcopy to/from a device window or RAM). */
  readBlock(addr: PhysAddr, dst: Uint8Array): void;
  writeBlock(addr: PhysAddr, src: Uint8Array): void;
  /**
   * True when `addr` decodes to something. An access to an address that decodes to nothing is
   * a bus error: it reads as all ones, the write is dropped, and `busErrors` counts it (on the
   * DECstation an empty TURBOchannel slot bus-errors; that is how software probes).
   */
  probe(addr: PhysAddr): boolean;
  readonly busErrors: number;
  peek8(addr: PhysAddr): number;
  peek16(addr: PhysAddr): number;
  peek32(addr: PhysAddr): number;
  poke8(addr: PhysAddr, value: number): void;
  poke16(addr: PhysAddr, value: number): void;
  poke32(addr: PhysAddr, value: number): void;
  peekBlock(addr: PhysAddr, dst: Uint8Array): void;
  pokeBlock(addr: PhysAddr, src: Uint8Array): void;
}

/** A level-sensitive interrupt request line from a device to the interrupt controller. */
export interface InterruptLine {
  set(asserted: boolean): void;
  readonly asserted: boolean;
}

/**
 * Bus-master access to host RAM for a device (AN1 DMA). Returns false, moving nothing, when any
 * byte of [addr, addr+length) lies outside RAM: the device then sets its own error status.
 */
export interface DmaPort {
  read(addr: PhysAddr, dst: Uint8Array): boolean;
  write(addr: PhysAddr, src: Uint8Array): boolean;
  /** Bytes of RAM (addresses [0, size) are RAM). */
  readonly ramSize: number;
}

/** Where CPU cycles are charged; timed bus accesses charge here. */
export interface CycleSink {
  charge(cycles: number, category: string): void;
  /** The CPU's local time: the running burst's start plus what it has charged so far. */
  localNow(): Ns;
}

/** Read access to the machine's cost table (values in each constant's declared unit). */
export interface CostReader {
  get(name: string): number;
  has(name: string): boolean;
}

/** The CPU as the kernel drives it (emulator/host/cpu.ts implements it). */
export interface CpuPort extends CycleSink {
  readonly name: string;
  readonly isBusy: boolean;
  /** Start a burst now; the CPU must be free. `onDone` runs when its cycles have elapsed. */
  execute(
    category: string,
    body: () => unknown,
    options?: { readonly interruptible?: boolean; readonly onDone?: () => void },
  ): void;
  chargeNs(durationNs: number, category?: string): void;
  /** Ask for the dispatcher to run now if the CPU is free. */
  kick(): void;
  /** Run `handler` at interrupt level at the current local time (a timer callout). */
  postSoftInterrupt(handler: () => unknown): void;
  hardwareIrqHandler: () => unknown;
  /** True when the running body's local clock is ahead of the global one (a read must sync first). */
  readonly isAhead: boolean;
  /** Enter a masked section (splimp): interrupts due in it are taken at its end (nests). */
  splRaise(): void;
  /** Leave it (splx). */
  splLower(): void;
  dispatcher: () => void;
  readonly cyclesByCategory: ReadonlyMap<string, number>;
}

/** Everything the kernel may touch of its machine (kernel/ reaches the hardware only so). */
export interface HostPort {
  readonly name: string;
  readonly sched: Scheduler;
  readonly trace: Trace;
  /** This host's stream; fork it per kernel component. */
  readonly rng: Rng;
  readonly costs: CostReader;
  readonly cpu: CpuPort;
  readonly bus: PhysicalBus;
  readonly ramSize: number;
  /**
   * RAM as the kernel addresses it directly (KSEG0, unmapped): page tables, kernel buffers and
   * user pages are bytes here. Reads and writes through it are free; kernel code charges its
   * copies explicitly from the cost table (cpu.memcpy*), as the bus does for block moves.
   */
  readonly ram: Uint8Array;
  /**
   * A CPU store of `length` bytes at physical `addr`, at CPU-local time `stampNs`, is about to
   * land in RAM (call before storing): a DMA before that time must not see it.
   */
  noteCpuStore(addr: PhysAddr, length: number, stampNs: number): void;
}
