/**
 * What a guest program is, as the kernel runs it (DESIGN.md "Guest execution"). Pure types.
 *
 * A guest thread is a generator. It yields trap requests (plain data, see syscalls.ts) and is
 * resumed with their results. Between traps it runs ahead of the clock and records the cycles
 * it would have used with `ctx.spend(cycles)`; they are charged at its next trap. A guest holds
 * only integer names and its own memory, never a reference to a kernel or device object.
 * A guest that throws, yields garbage or faults ends with a recorded reason.
 */
import type { TrapRequest, TrapResult } from './syscalls.ts';

export type GuestThread = Generator<TrapRequest, void, TrapResult>;

export type GuestParams = Readonly<Record<string, number | string | boolean>>;

/**
 * A guest's view of its task's memory: every access is translated through the task's map.
 * u16/u32 accesses must be aligned (MIPS address error otherwise). An access outside the map,
 * against its protection, or misaligned throws a MemoryFault; the kernel sees the fault and
 * raises an exception (the task's exception port, else the task ends with the reason). RAM
 * accesses cost nothing beyond what the guest spends; device pages are timed bus reads.
 * Values are little-endian (the DECstation's R3000 runs little-endian).
 */
export interface GuestMemory {
  read8(addr: number): number;
  read16(addr: number): number;
  read32(addr: number): number;
  write8(addr: number, value: number): void;
  write16(addr: number, value: number): void;
  write32(addr: number, value: number): void;
  readBytes(addr: number, length: number): Uint8Array;
  writeBytes(addr: number, bytes: Uint8Array): void;
}

export type FaultKind = 'unmapped' | 'protection' | 'alignment' | 'range';

/** Thrown into a guest by a bad memory access (the kernel has already recorded it). */
export class MemoryFault extends Error {
  override readonly name = 'MemoryFault';
  constructor(
    readonly address: number,
    readonly fault: FaultKind,
    readonly write: boolean,
  ) {
    super(`${write ? 'write' : 'read'} fault (${fault}) at 0x${(address >>> 0).toString(16)}`);
  }
}

export interface GuestContext {
  /** The task's memory, through its map. */
  readonly mem: GuestMemory;
  /**
   * Account `cycles` of user-mode computation, charged at the next trap — under `category` (a
   * protocol layer's name such as 'tcp_output', for per-layer accounting) when given, else 'user'.
   */
  spend(cycles: number, category?: string): void;
  /** The task's start-up parameters (like argv). */
  readonly params: GuestParams;
  /** The task's id on its host, for logs only (it grants nothing). */
  readonly taskId: number;
}

export type GuestProgram = (ctx: GuestContext) => GuestThread;

/** Why a task ended. */
export type TaskExit =
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'guest-error'; readonly message: string }
  | { readonly kind: 'killed'; readonly by: string };
