/**
 * C-Threads (Cooper & Draves, CMU-CS-88-154; mach-semantics.md §7) as the paper's library used
 * them: user-level threads multiplexed on one kernel thread, switched in user space for a few
 * dozen cycles, with mutexes, conditions (Mesa semantics), join, detach and yield.
 *
 * A C-thread is a generator. It yields either a system call (the whole kernel thread traps, as
 * with -lco_threads: a blocking trap holds the kernel thread) or a C-threads operation that may
 * block it at user level (lock, condition wait, join, yield); the scheduler then switches to
 * another ready C-thread, charging CTHREAD_SWITCH_CYCLES of user time. Non-blocking operations
 * (unlock, signal, broadcast, fork, detach) are plain calls. When no C-thread is ready the kernel
 * thread blocks on a kernel semaphore (the idle semaphore): another kernel thread of the task, or a
 * kernel module (e.g. the network I/O module signalling packet arrival), wakes it with
 * semaphore_signal, after which the `onIdleWake` hooks run and may make C-threads ready.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestContext, GuestProgram } from '../../kernel/abi/guest.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { sys } from '../mach/syscalls.ts';

/**
 * User-level context switch, in CPU cycles: save and restore the 9 callee-saved registers, sp, fp
 * and ra (24 loads/stores) and move the thread between queues (~15 instructions) ≈ 40 instructions
 * ≈ 50 cycles ("little more than a coroutine switch", MB92 §2.3; CONT Table 4 counts a kernel
 * switch at 250 instructions). Mirrored as `cthreads.switchCycles` in the cost table; scenarios
 * pass an override through the task parameter `cthreadSwitchCycles`.
 */
export const CTHREAD_SWITCH_CYCLES = 50;
/** A mutex or condition operation that does not block: a test-and-set and a branch or two. */
export const CTHREAD_SYNC_OP_CYCLES = 6;
/** C-threads per task at most (a limit on everything). */
export const CTHREADS_MAX = 1024;

export class Mutex {
  holder: Cthread | undefined = undefined;
  readonly waiters: Cthread[] = [];
  constructor(readonly name = 'mutex') {}
}

export class Condition {
  readonly waiters: { t: Cthread; m: Mutex }[] = [];
  constructor(readonly name = 'condition') {}
}

export type CthreadOp =
  | { readonly ct: 'yield' }
  | { readonly ct: 'lock'; readonly m: Mutex }
  | { readonly ct: 'wait'; readonly c: Condition; readonly m: Mutex; readonly deadlineNs?: number }
  | { readonly ct: 'sleep'; readonly deadlineNs: number }
  | { readonly ct: 'join'; readonly t: Cthread };

/** A C-thread waiting with a deadline (sleep, or a timed condition wait). */
interface CtTimer {
  readonly t: Cthread;
  readonly deadlineNs: number;
  readonly wait: { readonly c: Condition; readonly m: Mutex } | undefined;
}
/** Timers pending at once, at most. */
export const CTHREAD_TIMERS_MAX = CTHREADS_MAX;
/** With timers pending, the scheduler reads the clock at least every this many switches. */
const TIMER_CHECK_SWITCHES = 16;

export type CthreadYield = TrapRequest | CthreadOp;
/** What a C-thread is resumed with: a trap's result, or (after a C-threads op) the join value. */
export type CthreadResume = TrapResult | unknown;
export type CthreadBody<T = unknown> = (pkg: Cthreads, arg?: unknown) => Generator<CthreadYield, T, CthreadResume>;
type G<T> = Generator<CthreadYield, T, CthreadResume>;

export class Cthread {
  state: 'ready' | 'running' | 'blocked' | 'done' = 'ready';
  resume: CthreadResume = undefined;
  result: unknown = undefined;
  detached = false;
  joiner: Cthread | undefined = undefined;
  data: unknown = undefined;
  timer: CtTimer | undefined = undefined;
  constructor(
    readonly id: number,
    readonly gen: Generator<CthreadYield, unknown, CthreadResume>,
  ) {}
}

/** Run a system-call stub inside a C-thread (the scheduler passes the trap's result back in). */
export function* inCthread<T>(stub: Generator<TrapRequest, T, TrapResult>): G<T> {
  return yield* stub as unknown as G<T>;
}

export class Cthreads {
  readonly ready: Cthread[] = [];
  private nextId = 1;
  live = 0;
  current: Cthread | undefined = undefined;
  /** The kernel semaphore the kernel thread blocks on when no C-thread is ready (a send right name). */
  idleSemaphore = 0;
  /** Run after each wake from the idle semaphore (before the ready queue is looked at again). */
  readonly idleWakeHooks: (() => void)[] = [];
  switchesTotal = 0;
  idleWaitsTotal = 0;
  private readonly timers: CtTimer[] = [];
  private switchesSinceClock = 0;
  readonly switchCycles: number;

  constructor(readonly ctx: GuestContext) {
    const p = ctx.params['cthreadSwitchCycles'];
    this.switchCycles = typeof p === 'number' && p >= 0 ? p : CTHREAD_SWITCH_CYCLES;
  }

  /** cthread_fork: a new ready C-thread running body(pkg, arg). */
  fork<T>(body: CthreadBody<T>, arg?: unknown): Cthread | undefined {
    if (this.live >= CTHREADS_MAX) return undefined;
    const t = new Cthread(this.nextId++, body(this, arg) as Generator<CthreadYield, unknown, CthreadResume>);
    this.live++;
    this.ready.push(t);
    return t;
  }

  detach(t: Cthread): void {
    t.detached = true;
  }

  self(): Cthread | undefined {
    return this.current;
  }

  /** mutex_unlock: hand the mutex to the first waiter (FIFO), which becomes ready. */
  unlock(m: Mutex): void {
    this.ctx.spend(CTHREAD_SYNC_OP_CYCLES);
    const next = m.waiters.shift();
    m.holder = next;
    if (next !== undefined) this.makeReady(next, undefined);
  }

  tryLock(m: Mutex): boolean {
    this.ctx.spend(CTHREAD_SYNC_OP_CYCLES);
    if (m.holder !== undefined) return false;
    m.holder = this.current;
    return true;
  }

  /** condition_signal: wake at least one waiter if any (not remembered otherwise). */
  signal(c: Condition): void {
    this.ctx.spend(CTHREAD_SYNC_OP_CYCLES);
    const w = c.waiters.shift();
    if (w !== undefined) this.reacquire(w.t, w.m);
  }

  broadcast(c: Condition): void {
    this.ctx.spend(CTHREAD_SYNC_OP_CYCLES);
    for (const w of c.waiters.splice(0)) this.reacquire(w.t, w.m);
  }

  /** A woken condition waiter must get its mutex back before it runs. */
  private reacquire(t: Cthread, m: Mutex): void {
    this.cancelTimer(t);
    if (t.resume === undefined) t.resume = false; // a timed wait that did not time out
    if (m.holder === undefined) {
      m.holder = t;
      this.makeReady(t, undefined);
    } else m.waiters.push(t);
  }

  private makeReady(t: Cthread, value: CthreadResume): void {
    t.state = 'ready';
    if (value !== undefined || t.resume === undefined) t.resume = value;
    this.ready.push(t);
  }

  private cancelTimer(t: Cthread): void {
    const tm = t.timer;
    if (tm === undefined) return;
    t.timer = undefined;
    const i = this.timers.indexOf(tm);
    if (i >= 0) this.timers.splice(i, 1);
  }

  private addTimer(t: Cthread, deadlineNs: number, wait: CtTimer['wait']): boolean {
    if (this.timers.length >= CTHREAD_TIMERS_MAX) return false;
    const tm: CtTimer = { t, deadlineNs, wait };
    t.timer = tm;
    this.timers.push(tm);
    return true;
  }

  /** Fire every timer due at `nowNs`: sleepers become ready, timed waiters leave their condition (timed out). */
  private fireTimers(nowNs: number): void {
    this.switchesSinceClock = 0;
    for (const tm of [...this.timers]) {
      if (tm.deadlineNs > nowNs) continue;
      this.cancelTimer(tm.t);
      if (tm.wait === undefined) {
        this.makeReady(tm.t, undefined);
        continue;
      }
      const ws = tm.wait.c.waiters;
      const i = ws.findIndex((w) => w.t === tm.t);
      if (i < 0) continue; // already signalled
      ws.splice(i, 1);
      tm.t.resume = true; // timed out
      this.reacquire(tm.t, tm.wait.m);
    }
  }

  private earliestDeadline(): number {
    let d = Infinity;
    for (const tm of this.timers) d = Math.min(d, tm.deadlineNs);
    return d;
  }

  // Blocking operations: use with yield* inside a C-thread.
  *lock(m: Mutex): G<void> {
    if (!this.tryLock(m)) yield { ct: 'lock', m };
  }
  *wait(c: Condition, m: Mutex): G<void> {
    yield { ct: 'wait', c, m };
  }
  *join(t: Cthread): G<unknown> {
    return yield { ct: 'join', t };
  }
  /** condition_wait with a timeout: true if it timed out (the mutex is held again either way). */
  *timedWait(c: Condition, m: Mutex, ns: number): G<boolean> {
    const now = yield* inCthread(sys.clock_get_ns({}));
    return (yield { ct: 'wait', c, m, deadlineNs: now.ns + Math.max(0, ns) }) === true;
  }
  /** Block this C-thread (only) for `ns`. */
  *sleep(ns: number): G<void> {
    const now = yield* inCthread(sys.clock_get_ns({}));
    yield { ct: 'sleep', deadlineNs: now.ns + Math.max(0, ns) };
  }
  *yield(): G<void> {
    yield { ct: 'yield' };
  }

  /** Handle a C-threads operation of the running thread; true if it keeps running. */
  private op(t: Cthread, o: CthreadOp): boolean {
    switch (o.ct) {
      case 'yield':
        this.makeReady(t, undefined);
        return false;
      case 'lock':
        if (o.m.holder === undefined) {
          o.m.holder = t;
          return true;
        }
        if (o.m.holder === t) {
          // Not recursive (CT): relocking your own mutex deadlocks; here it blocks forever too.
        }
        t.state = 'blocked';
        o.m.waiters.push(t);
        return false;
      case 'wait':
        if (o.m.holder !== t) {
          t.resume = KERN.INVALID_ARGUMENT;
          return true; // waiting without holding the mutex: refused
        }
        if (o.deadlineNs !== undefined && !this.addTimer(t, o.deadlineNs, { c: o.c, m: o.m })) {
          t.resume = true; // no timer left: time out at once
          return true;
        }
        t.state = 'blocked';
        t.resume = undefined;
        o.c.waiters.push({ t, m: o.m });
        this.unlock(o.m);
        return false;
      case 'sleep':
        if (!this.addTimer(t, o.deadlineNs, undefined)) return true;
        t.state = 'blocked';
        return false;
      case 'join':
        if (o.t.state === 'done') {
          t.resume = o.t.result;
          return true;
        }
        if (o.t.joiner !== undefined || o.t === t || o.t.detached) {
          t.resume = undefined;
          return true;
        }
        o.t.joiner = t;
        t.state = 'blocked';
        return false;
    }
  }

  private finish(t: Cthread, value: unknown): void {
    t.state = 'done';
    t.result = value;
    this.live--;
    if (t.joiner !== undefined) this.makeReady(t.joiner, value);
  }

  /**
   * The scheduler, run by the task's kernel thread. Returns when every C-thread has finished,
   * or when `stopWhen` says so (main's return ends the task in cthreadsMain).
   */
  *run(stopWhen: () => boolean): Generator<TrapRequest, void, TrapResult> {
    let last: Cthread | undefined = undefined;
    while (!stopWhen()) {
      if (this.timers.length > 0 && (this.ready.length === 0 || this.switchesSinceClock >= TIMER_CHECK_SWITCHES)) {
        this.fireTimers((yield* sys.clock_get_ns({})).ns);
      }
      const t = this.ready.shift();
      if (t === undefined) {
        if (this.live === 0) return;
        this.idleWaitsTotal++;
        if (this.timers.length > 0) {
          const now = (yield* sys.clock_get_ns({})).ns;
          const wait = Math.max(0, this.earliestDeadline() - now);
          const r = yield* sys.semaphore_timedwait({ sem: this.idleSemaphore, ns: wait });
          if (r.kr !== KERN.SUCCESS && r.kr !== KERN.OPERATION_TIMED_OUT) return;
        } else {
          const r = yield* sys.semaphore_wait({ sem: this.idleSemaphore });
          if (r.kr !== KERN.SUCCESS) return; // the semaphore is gone: nothing can wake us
        }
        for (const h of this.idleWakeHooks) h();
        continue;
      }
      this.switchesSinceClock++;
      if (last !== undefined && last !== t) {
        this.ctx.spend(this.switchCycles);
        this.switchesTotal++;
      }
      last = t;
      this.current = t;
      t.state = 'running';
      for (;;) {
        let step: IteratorResult<CthreadYield, unknown>;
        const value = t.resume;
        t.resume = undefined;
        step = t.gen.next(value);
        if (step.done === true) {
          this.finish(t, step.value);
          break;
        }
        const y = step.value;
        if (typeof y === 'object' && y !== null && 'ct' in y) {
          if (this.op(t, y)) continue;
          break;
        }
        // A system call: the kernel thread traps on the C-thread's behalf.
        t.resume = yield y as TrapRequest;
        if (stopWhen()) return;
      }
      this.current = undefined;
    }
  }

  /** Wake the scheduler from another kernel thread of the task (after making C-threads ready). */
  *kick(): Generator<TrapRequest, void, TrapResult> {
    yield* sys.semaphore_signal({ sem: this.idleSemaphore });
  }
}

/**
 * A task's program that runs `main` as its first C-thread (cthread_init + main). Main returning
 * ends the task with its return value as exit code (0 if not a number).
 */
export function cthreadsMain(main: CthreadBody<unknown>): GuestProgram {
  return function* (ctx) {
    const pkg = new Cthreads(ctx);
    const s = yield* sys.semaphore_create({ value: 0 });
    pkg.idleSemaphore = s.name;
    const m = pkg.fork(main)!;
    yield* pkg.run(() => m.state === 'done');
    const code = typeof m.result === 'number' && Number.isInteger(m.result) ? m.result : 0;
    yield* sys.task_exit({ code });
  };
}
