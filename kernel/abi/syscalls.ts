/**
 * The system-call ABI: ONE table from which the kernel's dispatcher and the user-level stubs are
 * both derived (xv6 kernel/syscall.c + user/usys.pl). A trap is plain data: `{ sys, ...args }`,
 * yielded by a guest thread; the result is plain data too. Pure data and types: userland imports
 * this file.
 *
 * Each argument has a kind that the kernel validates generically before any service runs, so a
 * guest that yields garbage gets KERN_INVALID_ARGUMENT (or is ended), never an emulator throw.
 */
import type { KernReturn } from './errors.ts';

/** How the kernel validates an argument. */
export type ArgKind =
  /** integer in [0, 2^32) */
  | 'u32'
  /** integer in [-2^31, 2^31) */
  | 'i32'
  /** non-negative safe integer (sizes, counts, ns) */
  | 'count'
  /** Uint8Array (inline data; the kernel copies it, charging the copy) */
  | 'bytes'
  /** boolean */
  | 'bool'
  /** short string (a name in the bootstrap service) */
  | 'string';

export interface SyscallSpec {
  /** Trap number, for traces and the dispatcher's dense table. */
  readonly number: number;
  readonly args: Readonly<Record<string, ArgKind>>;
  readonly doc: string;
}

export const SYSCALL_TABLE = {
  null_trap: { number: 0, args: {}, doc: 'do nothing: measures the trap path' },
  task_exit: { number: 1, args: { code: 'i32' }, doc: 'end the calling task with an exit code' },
  thread_yield: { number: 2, args: {}, doc: 'give the CPU to another runnable thread of equal priority' },
  clock_get_ns: { number: 3, args: {}, doc: 'simulated time in ns (a kernel clock, charged as a trap)' },
  thread_sleep_ns: { number: 4, args: { ns: 'count' }, doc: 'block the calling thread for ns nanoseconds' },
  debug_log: { number: 5, args: { text: 'string' }, doc: 'append a line to the task log (trace record)' },
} as const satisfies Readonly<Record<string, SyscallSpec>>;

export type SyscallName = keyof typeof SYSCALL_TABLE;

type KindType<K extends ArgKind> = K extends 'bytes'
  ? Uint8Array
  : K extends 'bool'
    ? boolean
    : K extends 'string'
      ? string
      : number;

type ArgsOf<K extends SyscallName> = (typeof SYSCALL_TABLE)[K]['args'];
export type SyscallArgs<K extends SyscallName> = {
  readonly [A in keyof ArgsOf<K>]: ArgsOf<K>[A] extends ArgKind ? KindType<ArgsOf<K>[A]> : never;
};

/** What each system call returns to the guest. */
export interface SyscallResults {
  null_trap: { readonly kr: KernReturn };
  task_exit: { readonly kr: KernReturn };
  thread_yield: { readonly kr: KernReturn };
  clock_get_ns: { readonly kr: KernReturn; readonly ns: number };
  thread_sleep_ns: { readonly kr: KernReturn };
  debug_log: { readonly kr: KernReturn };
}

export type TrapRequest = { [K in SyscallName]: { readonly sys: K } & SyscallArgs<K> }[SyscallName];
export type TrapResult = SyscallResults[SyscallName];

/** The longest string argument the kernel accepts (a limit on everything). */
export const STRING_ARG_MAX = 256;
/** The largest inline byte argument the kernel accepts in one trap. */
export const BYTES_ARG_MAX = 64 * 1024;

/** Validate one argument; returns an error phrase or undefined. */
export function checkArg(kind: ArgKind, value: unknown): string | undefined {
  switch (kind) {
    case 'u32':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffff_ffff ? undefined : 'not a u32';
    case 'i32':
      return Number.isInteger(value) && (value as number) >= -0x8000_0000 && (value as number) <= 0x7fff_ffff ? undefined : 'not an i32';
    case 'count':
      return Number.isSafeInteger(value) && (value as number) >= 0 ? undefined : 'not a count';
    case 'bytes':
      return value instanceof Uint8Array && value.length <= BYTES_ARG_MAX ? undefined : 'not bytes (or too long)';
    case 'bool':
      return typeof value === 'boolean' ? undefined : 'not a boolean';
    case 'string':
      return typeof value === 'string' && value.length <= STRING_ARG_MAX ? undefined : 'not a short string';
  }
}

/**
 * Validate a yielded value as a trap request: a plain object naming a known system call with
 * every argument of the right kind. Returns the request or an error phrase.
 */
export function decodeTrap(value: unknown): { ok: true; req: TrapRequest } | { ok: false; error: string } {
  if (typeof value !== 'object' || value === null) return { ok: false, error: 'trap request is not an object' };
  const sys = (value as { sys?: unknown }).sys;
  if (typeof sys !== 'string' || !Object.hasOwn(SYSCALL_TABLE, sys)) return { ok: false, error: `unknown system call ${String(sys)}` };
  const spec: SyscallSpec = SYSCALL_TABLE[sys as SyscallName];
  for (const [name, kind] of Object.entries(spec.args)) {
    const problem = checkArg(kind, (value as Record<string, unknown>)[name]);
    if (problem !== undefined) return { ok: false, error: `${sys}: argument ${name} ${problem}` };
  }
  return { ok: true, req: value as TrapRequest };
}
