/**
 * C-Threads multiplexed over a task's kernel threads (userland/cthreads/pool.ts): a blocked
 * C-thread costs no trap while another can run; when none can, the task waits in the kernel on
 * the semaphore a pool C-thread waits for (one trap), or a kernel thread parks (a trap) and the
 * signal that ends its wait is a trap too. Counted with the kernel's own trap counters.
 */
import { describe, expect, it } from 'vitest';
import type { GuestContext } from '../../kernel/abi/guest.ts';
import type { Kernel } from '../../kernel/kernel.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { KERN } from '../../kernel/abi/errors.ts';
import { CthreadPool, PoolCondition, type PoolBody } from '../../userland/cthreads/pool.ts';
import { sys } from '../../userland/mach/syscalls.ts';
import { boot } from './harness.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;
const kclock = function* (): G<number> {
  return (yield* sys.clock_get_ns({})).ns;
};

function runTask(program: (ctx: GuestContext, kernel: Kernel) => G<void>, nsMax = 1e9) {
  const { world, kernel } = boot();
  const task = kernel.spawn('pool', (ctx) => program(ctx, kernel));
  world.sched.runUntil(() => !task.alive, { nsMax });
  return { world, kernel, task };
}

describe('C-Threads pool', () => {
  it('a kernel thread with nothing to run waits in the kernel once, on the semaphore its pool C-thread waits for; the wake-up is a user-level hand-off', () => {
    let pool: CthreadPool | undefined;
    let trapsInAwait = -1;
    let got = false;
    const { task } = runTask(function* (ctx, kernel) {
      const p = new CthreadPool(ctx, kclock);
      pool = p;
      const sem = (yield* sys.semaphore_create({ value: 0 })).name;
      const done = new PoolCondition();
      let arrivals = 0;
      const netBody: PoolBody = function* () {
        for (;;) {
          const r = (yield { pool: 'kwait', sem, deadlineNs: Number.POSITIVE_INFINITY }) as { kr: number };
          if (r.kr !== KERN.SUCCESS) return;
          arrivals++;
          yield* p.broadcast(done);
        }
      };
      const net = p.fork(netBody);
      // Another kernel thread plays the network I/O module: it signals the semaphore later.
      yield* sys.thread_create({ priority: 0, program: function* () {
        yield* sys.thread_sleep_ns({ ns: 200_000 });
        yield* sys.semaphore_signal({ sem });
        yield* sys.thread_exit({});
      } });
      const me = [...kernel.tasks.values()].find((t) => t.name === 'pool')!.threads[0]!;
      const before = me.trapsTotal;
      got = yield* p.wait(done, Number.POSITIVE_INFINITY, net);
      trapsInAwait = me.trapsTotal - before;
      yield* sys.debug_log({ text: `arrivals=${arrivals}` });
      yield* sys.task_exit({ code: 0 });
    });
    expect(task.log.join(' ')).toContain('arrivals=1');
    expect(got).toBe(true);
    // One trap (the semaphore wait) for the whole wait: no clock read, no park, no signal.
    expect(trapsInAwait).toBe(1);
    expect(pool!.stats).toMatchObject({ kernelWaitsTotal: 1, parksTotal: 0, unparksTotal: 0, kwaitKicksTotal: 0 });
  });

  it('a timed wait returns false at its deadline; a kwait deadline runs the C-thread without a signal', () => {
    let timedOut: boolean | undefined;
    let fired = -1;
    let t0 = 0;
    runTask(function* (ctx) {
      const p = new CthreadPool(ctx, kclock);
      const sem = (yield* sys.semaphore_create({ value: 0 })).name;
      const c = new PoolCondition();
      t0 = yield* kclock();
      p.fork(function* () {
        const r = (yield { pool: 'kwait', sem, deadlineNs: t0 + 3_000_000 }) as { kr: number };
        fired = r.kr === KERN.OPERATION_TIMED_OUT ? yield* kclock() : -2;
        yield* p.broadcast(c);
      });
      timedOut = !(yield* p.wait(c, t0 + 1_000_000));
      const t1 = yield* kclock();
      expect(t1 - t0).toBeGreaterThanOrEqual(1_000_000);
      expect(t1 - t0).toBeLessThan(2_000_000);
      expect(yield* p.wait(c)).toBe(true); // the C-thread's own deadline wakes it, and it signals
      yield* sys.task_exit({ code: 0 });
    });
    expect(timedOut).toBe(true);
    expect(fired - t0).toBeGreaterThanOrEqual(3_000_000);
  });

  it('two kernel threads in ping-pong through conditions: every hand-off that must sleep parks in the kernel and is woken by a trap', () => {
    const rounds = 50;
    let pool: CthreadPool | undefined;
    let perRoundNs = 0;
    const { task } = runTask(function* (ctx) {
      const p = new CthreadPool(ctx, kclock);
      pool = p;
      const ping = new PoolCondition('ping');
      const pong = new PoolCondition('pong');
      let turn = 0; // 0: ping's turn, 1: pong's
      let finished = false;
      yield* sys.thread_create({ priority: 0, program: function* () {
        for (let i = 0; i < rounds; i++) {
          while (turn !== 1) yield* p.wait(pong);
          turn = 0;
          yield* p.signal(ping);
        }
        finished = true;
        yield* sys.thread_exit({});
      } });
      yield* sys.thread_sleep_ns({ ns: 10_000 }); // let the other thread park first
      const t0 = yield* kclock();
      for (let i = 0; i < rounds; i++) {
        turn = 1;
        yield* p.signal(pong);
        while (turn !== 0) yield* p.wait(ping);
      }
      perRoundNs = ((yield* kclock()) - t0) / rounds;
      while (!finished) yield* sys.thread_sleep_ns({ ns: 10_000 });
      yield* sys.task_exit({ code: 0 });
    });
    expect(task.exit).toEqual({ kind: 'exit', code: 0 });
    const s = pool!.stats;
    // Every round at least one side finds nothing to run, parks, and is unparked by the other's signal (a trap).
    expect(s.parksTotal).toBeGreaterThanOrEqual(rounds);
    expect(s.unparksTotal).toBeGreaterThanOrEqual(rounds);
    expect(s.unparksTotal).toBeLessThanOrEqual(s.parksTotal);
    expect(s.kernelWaitsTotal).toBe(0);
    // Kernel hand-offs, not user-level switches: far above two C-thread switches (2 × 2 µs).
    expect(perRoundNs).toBeGreaterThan(50_000);

  });

  it('many kernel threads waiting on one pool C-thread: none is lost (the ones with nothing to take park and are handed the work)', () => {
    const threads = 6;
    let served = 0;
    let pool: CthreadPool | undefined;
    const { task } = runTask(function* (ctx) {
      const p = new CthreadPool(ctx, kclock);
      pool = p;
      const sem = (yield* sys.semaphore_create({ value: 0 })).name;
      const conds = Array.from({ length: threads }, (_, i) => new PoolCondition(`c${i}`));
      const ready = Array.from({ length: threads }, () => false);
      let next = 0;
      p.fork(function* () {
        for (;;) {
          const r = (yield { pool: 'kwait', sem, deadlineNs: Number.POSITIVE_INFINITY }) as { kr: number };
          if (r.kr !== KERN.SUCCESS) return;
          ready[next] = true;
          yield* p.signal(conds[next++]!);
        }
      });
      for (let i = 1; i < threads; i++) {
        yield* sys.thread_create({ priority: 0, program: function* () {
          while (!ready[i]) yield* p.wait(conds[i]!);
          served++;
          yield* sys.thread_exit({});
        } });
      }
      yield* sys.thread_create({ priority: 0, program: function* () {
        for (let i = 0; i < threads; i++) {
          yield* sys.thread_sleep_ns({ ns: 100_000 });
          yield* sys.semaphore_signal({ sem });
        }
        yield* sys.thread_exit({});
      } });
      while (!ready[0]) yield* p.wait(conds[0]!);
      served++;
      while (served < threads) yield* sys.thread_sleep_ns({ ns: 100_000 });
      yield* sys.task_exit({ code: 0 });
    }, 5e8);
    expect(task.exit).toEqual({ kind: 'exit', code: 0 });
    expect(served).toBe(threads);
    expect(pool!.stats.parksTotal).toBeGreaterThan(0);
    expect(pool!.stats.mutexContendedTotal).toBe(0);
  });
});
