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

export interface GuestContext {
  /** Account `cycles` of user-mode computation, charged at the next trap. */
  spend(cycles: number): void;
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
