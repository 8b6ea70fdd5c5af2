import { describe, expect, it } from 'vitest';
import { Condition, Cthreads, cthreadsMain, Mutex, type Cthread, type CthreadBody } from '../../userland/cthreads/cthreads.ts';
import { sys } from '../../userland/mach/syscalls.ts';
import { boot } from './harness.ts';

function run(main: CthreadBody<unknown>) {
  const { world, kernel } = boot();
  const task = kernel.spawn('ct', cthreadsMain(main));
  world.sched.runUntil(() => !task.alive, { nsMax: 1e9 });
  return { world, kernel, task };
}

describe('C-threads', () => {
  it('fork, yield and join interleave user-level threads on one kernel thread, cheaper than kernel switches', () => {
    const order: string[] = [];
    let pkgSeen: Cthreads | undefined;
    const { kernel, task } = run(function* (pkg) {
      pkgSeen = pkg;
      const worker: CthreadBody<number> = function* (p, arg) {
        for (let i = 0; i < 3; i++) {
          order.push(`${String(arg)}${i}`);
          yield* p.yield();
        }
        return arg === 'a' ? 1 : 2;
      };
      const a = pkg.fork(worker, 'a')!;
      const b = pkg.fork(worker, 'b')!;
      const ra = yield* pkg.join(a);
      const rb = yield* pkg.join(b);
      order.push(`joined ${String(ra)} ${String(rb)}`);
      return 7;
    });
    expect(order).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'joined 1 2']);
    expect(task.exit).toEqual({ kind: 'exit', code: 7 });
    expect(pkgSeen!.switchesTotal).toBeGreaterThanOrEqual(6);
    expect(kernel.contextSwitchesTotal).toBe(0);
    expect(task.threads).toHaveLength(1);
  });

  it('mutex and condition: a bounded buffer with producer and consumer (Mesa semantics)', () => {
    const got: number[] = [];
    run(function* (pkg) {
      const m = new Mutex();
      const notEmpty = new Condition();
      const notFull = new Condition();
      const buf: number[] = [];
      const producer = pkg.fork(function* (p) {
        for (let i = 0; i < 10; i++) {
          yield* p.lock(m);
          while (buf.length >= 2) yield* p.wait(notFull, m);
          buf.push(i);
          p.signal(notEmpty);
          p.unlock(m);
        }
      })!;
      const consumer = pkg.fork(function* (p) {
        for (let i = 0; i < 10; i++) {
          yield* p.lock(m);
          while (buf.length === 0) yield* p.wait(notEmpty, m);
          got.push(buf.shift()!);
          p.broadcast(notFull);
          p.unlock(m);
          yield* sys.null_trap({}); // a system call from a C-thread traps the kernel thread
        }
      })!;
      yield* pkg.join(producer);
      yield* pkg.join(consumer);
      return 0;
    });
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('when every C-thread is idle the task blocks on its kernel semaphore; another kernel thread wakes it', () => {
    let pkg: Cthreads | undefined;
    const { world, kernel } = boot();
    const cond = new Condition();
    const m = new Mutex();
    let flag = false;
    let waiter: Cthread | undefined;
    const task = kernel.spawn(
      'ct',
      cthreadsMain(function* (p) {
        pkg = p;
        waiter = p.fork(function* (q) {
          yield* q.lock(m);
          while (!flag) yield* q.wait(cond, m);
          q.unlock(m);
          return 'woken';
        });
        return yield* p.join(waiter!);
      }),
    );
    world.sched.runUntil(() => pkg !== undefined && pkg.idleWaitsTotal > 0 && task.threads[0]!.state.kind === 'blocked', { nsMax: 1e8 });
    expect(task.threads[0]!.state).toEqual({ kind: 'blocked', on: 'semaphore' });
    // A second kernel thread of the task (an "interrupt thread") makes the waiter ready and kicks the scheduler.
    kernel.addThread(task, function* () {
      yield* sys.thread_sleep_ns({ ns: 100_000 });
      flag = true;
      pkg!.signal(cond);
      yield* pkg!.kick();
    }, 12);
    world.sched.runUntil(() => !task.alive, { nsMax: 1e8 });
    expect(waiter?.result).toBe('woken');
    expect(task.exit).toEqual({ kind: 'exit', code: 0 });
  });
});

describe('C-threads timers', () => {
  it('sleep blocks one C-thread only; a timed condition wait times out or is signalled', () => {
    const events: string[] = [];
    const { task, world } = run(function* (pkg) {
      const m = new Mutex();
      const c = new Condition();
      const sleeper = pkg.fork(function* (p) {
        yield* p.sleep(200_000);
        events.push('slept');
      })!;
      const busy = pkg.fork(function* (p) {
        for (let i = 0; i < 3; i++) {
          events.push(`busy${i}`);
          yield* p.yield();
        }
      })!;
      const timed = pkg.fork(function* (p) {
        yield* p.lock(m);
        const first = yield* p.timedWait(c, m, 50_000);
        events.push(`timedout=${String(first)}`);
        const second = yield* p.timedWait(c, m, 10_000_000);
        events.push(`timedout=${String(second)}`);
        p.unlock(m);
      })!;
      yield* pkg.sleep(100_000);
      yield* pkg.lock(m);
      pkg.signal(c);
      pkg.unlock(m);
      for (const t of [sleeper, busy, timed]) yield* pkg.join(t);
      return 0;
    });
    expect(task.exit).toEqual({ kind: 'exit', code: 0 });
    expect(events.slice(0, 3)).toEqual(['busy0', 'busy1', 'busy2']);
    expect(events.indexOf('timedout=true')).toBeLessThan(events.indexOf('timedout=false'));
    expect(events).toContain('slept');
    expect(events.indexOf('timedout=false')).toBeLessThan(events.indexOf('slept'));
    expect(world.sched.now).toBeGreaterThan(200_000);
    expect(world.sched.now).toBeLessThan(1_000_000);
  });
});
