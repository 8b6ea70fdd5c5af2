/**
 * Code that reads a device runs as a generator: before each timed read it yields at a *sync
 * point* when the CPU's local clock is ahead of the global one, and the CPU resumes it once the
 * clock has caught up (emulator/host/cpu.ts, DESIGN.md "Causality"). Writes need no sync point:
 * the bus stamps and queues them.
 *
 *     const csr0 = (yield* synced(cpu), this.readCsr(0));   // or: if (cpu.isAhead) yield SYNC;
 *
 * A Sync<T> is driven by the CPU when it is a burst's body (or returned by one); outside a burst
 * (boot-time set-up, tests driving the bus) nothing is ahead, and `runUntimed` drives it.
 */
/** A code path that may read a device: yields at sync points, returns T. */
export type Sync<T = void> = Generator<unknown, T, undefined>;

/** What a sync point yields (any value works; this one reads well in a debugger). */
export const SYNC = 'sync' as const;

/** True for a generator (a body or handler that returned a Sync), false for a plain result. */
export function isSync(v: unknown): v is Sync<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { next?: unknown }).next === 'function' && typeof (v as { throw?: unknown }).throw === 'function';
}

/**
 * Drive `g` to its end where no clock can be ahead (outside a burst: boot set-up, tests). A sync
 * point reached here means the caller is inside a burst and should `yield*` instead: that is a
 * bug, and the bus's causality check counts the read that follows.
 */
export function runUntimed<T>(g: Sync<T>): T {
  for (;;) {
    const r = g.next();
    if (r.done === true) return r.value;
  }
}
