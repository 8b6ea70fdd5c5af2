/**
 * Scheduling as Mach does it: a trap that does not block keeps the CPU for the thread's quantum
 * (kernel.quantumNs, Mach's min_quantum = hz / 10) against runnable threads of its own priority;
 * thread_yield gives the CPU to an equal at once; a higher priority takes it at the next trap.
 * A thread that blocked pays the scheduler's wake-up path (kernel.wakeupCycles) when it next runs,
 * except when an RPC hands the CPU straight to it.
 */
import { describe, expect, it } from 'vitest';
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { nullRpcClient, nullRpcServer } from '../../userland/apps/kernel-primitives.ts';
import { sys } from '../../userland/mach/syscalls.ts';
import { boot } from './harness.ts';

const MS = 1_000_000;

/** Task main: start a second thread at `priority` (-1: the same), then read the clock in a loop for `spinNs`, optionally yielding once at `yieldAtNs`. */
function race(o: { spinNs: number; yieldAtNs?: number; priority: number }): { program: GuestProgram; seen: { aStart: number; aEnd: number; bStart: number } } {
  const seen = { aStart: -1, aEnd: -1, bStart: -1 };
  const program: GuestProgram = function* () {
    yield* sys.thread_create({
      priority: o.priority,
      program: function* () {
        seen.bStart = (yield* sys.clock_get_ns({})).ns;
        yield* sys.thread_exit({});
      },
    });
    const t0 = (yield* sys.clock_get_ns({})).ns;
    seen.aStart = t0;
    let yielded = false;
    for (let t = t0; t - t0 < o.spinNs; t = (yield* sys.clock_get_ns({})).ns) {
      if (o.yieldAtNs !== undefined && !yielded && t - t0 >= o.yieldAtNs) {
        yielded = true;
        yield* sys.thread_yield({});
      }
    }
    seen.aEnd = (yield* sys.clock_get_ns({})).ns;
  };
  return { program, seen };
}

describe('scheduling quantum', () => {
  it('a thread that traps without blocking keeps the CPU for its quantum against an equal', () => {
    const { world, kernel } = boot();
    const quantum = kernel.costs.quantumNs;
    expect(quantum).toBe(100 * MS);
    const r = race({ spinNs: 150 * MS, priority: -1 });
    kernel.spawn('racer', r.program);
    world.sched.runFor(400 * MS);
    // B was runnable from the start, yet ran only when A's quantum ended (A had made ~15 000 traps).
    expect(r.seen.bStart - r.seen.aStart).toBeGreaterThanOrEqual(quantum - 50_000);
    expect(r.seen.bStart - r.seen.aStart).toBeLessThan(quantum + 100_000);
    expect(r.seen.aEnd).toBeGreaterThan(r.seen.bStart); // A resumed after B and finished its spin
  });

  it('thread_yield hands the CPU to a runnable equal at once', () => {
    const { world, kernel } = boot();
    const r = race({ spinNs: 30 * MS, yieldAtNs: 10 * MS, priority: -1 });
    kernel.spawn('racer', r.program);
    world.sched.runFor(100 * MS);
    expect(r.seen.bStart - r.seen.aStart).toBeGreaterThanOrEqual(10 * MS);
    expect(r.seen.bStart - r.seen.aStart).toBeLessThan(10 * MS + 100_000);
  });

  it('a runnable thread of higher priority runs at the next trap', () => {
    const { world, kernel } = boot();
    const r = race({ spinNs: 30 * MS, priority: 20 });
    kernel.spawn('racer', r.program, { priority: 10 });
    world.sched.runFor(100 * MS);
    expect(r.seen.bStart).toBeGreaterThanOrEqual(0);
    expect(r.seen.aStart === -1 || r.seen.bStart <= r.seen.aStart).toBe(true);
  });
});

describe('wake-up path', () => {
  it('a thread woken from a semaphore pays kernel.wakeupCycles once; an RPC hand-off does not', () => {
    const { world, kernel } = boot();
    const cpu = kernel.host.cpu;
    const wake = (): number => cpu.cyclesByCategory.get('wakeup') ?? 0;
    const log: string[] = [];
    kernel.spawn('pair', function* () {
      const s = yield* sys.semaphore_create({ value: 0 });
      yield* sys.thread_create({
        priority: -1,
        program: function* () {
          yield* sys.thread_sleep_ns({ ns: 1 * MS });
          log.push(`before-signal ${wake()}`);
          yield* sys.semaphore_signal({ sem: s.name });
          yield* sys.thread_exit({});
        },
      });
      yield* sys.semaphore_wait({ sem: s.name });
      log.push(`after-wait ${wake()}`);
    });
    world.sched.runFor(10 * MS);
    const w = kernel.costs.wakeupCycles;
    expect(w).toBe(1490);
    // Between the signal and the waiter's return: exactly one wake-up path (the waiter's).
    const [before, after] = log.map((l) => Number(l.split(' ')[1]));
    expect(after! - before!).toBe(w);
  });

  it('RPCs hand the CPU to the receiver by stack hand-off: no wake-up path, whatever the number of round trips', () => {
    const wakeupsFor = (rounds: number): number => {
      const { world, kernel } = boot();
      kernel.spawn('srv', nullRpcServer);
      const cli = kernel.spawn('cli', nullRpcClient, { params: { rounds } });
      world.sched.runUntil(() => !cli.alive, { nsMax: 1_000 * MS });
      return (kernel.host.cpu.cyclesByCategory.get('wakeup') ?? 0) / kernel.costs.wakeupCycles;
    };
    const few = wakeupsFor(10);
    expect(wakeupsFor(200)).toBe(few); // 190 more round trips, not one more wake-up path
    expect(few).toBeLessThan(10);
  });
});

describe('user cycles', () => {
  it('ctx.spend charges the thread that runs, whichever thread the context was made for', () => {
    const { world, kernel } = boot();
    const seen: number[] = [];
    kernel.spawn('spender', function* (ctx) {
      const s = yield* sys.semaphore_create({ value: 0 });
      yield* sys.thread_create({
        priority: -1,
        program: function* () {
          const t0 = (yield* sys.clock_get_ns({})).ns;
          ctx.spend(250_000); // the main thread's context, used by this thread (as a library's network thread does)
          const t1 = (yield* sys.clock_get_ns({})).ns;
          seen.push(t1 - t0);
          yield* sys.semaphore_signal({ sem: s.name });
          yield* sys.thread_exit({});
        },
      });
      yield* sys.semaphore_wait({ sem: s.name });
    });
    world.sched.runFor(100 * MS);
    // 250 000 cycles at 40 ns = 10 ms, in the burst that spent them (plus the clock trap).
    expect(seen).toHaveLength(1);
    expect(seen[0]!).toBeGreaterThanOrEqual(10 * MS);
    expect(seen[0]!).toBeLessThan(10 * MS + 50_000);
  });
});
