/**
 * The measuring clock a user program reads (P §4): on AN1 hosts the controller's 40 ns clock page,
 * mapped read-only into the task (parameter `clockPage`), read without a trap and extended past its
 * 32-bit wrap (≈ 172 s) from the last reading; re-synchronised with one clock_get_ns trap at the
 * first reading and after any wait that may have outlasted a wrap. Without the page: the kernel
 * clock, a trap per reading (as gettimeofday is).
 */
import type { GuestMemory } from '../../kernel/abi/guest.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { sys } from '../mach/syscalls.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

/** Nanoseconds per tick of the AN1 clock page (P §4: "ticks at the rate of 40 ns"). */
const TICK_NS = 40;

export class UserClock {
  private baseNs = -1;
  private lastTicks = 0;

  /** `page`: the clock page's address in this task, 0 when it has none. */
  constructor(
    private readonly mem: GuestMemory,
    readonly page: number,
  ) {}

  /** A clock page address from a program's parameters (0: none). */
  static pageOf(params: Readonly<Record<string, unknown>>): number {
    const v = params['clockPage'];
    return typeof v === 'number' ? v : 0;
  }

  *now(): G<number> {
    if (this.page === 0 || this.baseNs < 0) {
      const ns = (yield* sys.clock_get_ns({})).ns;
      if (this.page !== 0) {
        this.baseNs = ns;
        this.lastTicks = this.mem.read32(this.page);
      }
      return ns;
    }
    const ticks = this.mem.read32(this.page);
    this.baseNs += ((ticks - this.lastTicks) >>> 0) * TICK_NS;
    this.lastTicks = ticks;
    return this.baseNs;
  }

  /** After a wait that may have outlasted the counter's wrap: the next reading re-synchronises. */
  mayHaveWrapped(): void {
    this.baseNs = -1;
  }
}
