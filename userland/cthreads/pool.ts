/**
 * C-Threads multiplexed over a task's kernel threads (Cooper & Draves, CMU-CS-88-154; the Mach
 * 3.0 cprocs implementation), as the paper's protocol library used them (P §3.2: "multiple threads
 * of control and synchronization are provided by user-level C Thread primitives rather than kernel
 * primitives"). Two kinds of C-thread share one set of conditions:
 *
 * - **Wired** C-threads: the task's kernel threads running ordinary code (an application thread
 *   that calls into the library). One blocks with `wait(condition)`; while it waits, its kernel
 *   thread runs the pool's ready C-threads (a user-level switch, `switchCycles`).
 * - **Pool** C-threads (`fork`): generators yielding system calls (trapped by whichever kernel
 *   thread runs them) or pool operations — a condition wait, or `kwait`: wait in the kernel on a
 *   semaphore (the network I/O module's notification), deferred until the kernel thread that runs
 *   it has nothing else to run.
 *
 * When a waiting kernel thread has no ready C-thread (every C-thread is blocked), it must wait in
 * the kernel, and that is charged as the kernel charges it: it takes one pool C-thread's `kwait`
 * and traps `semaphore_(timed)wait` on its semaphore — the packet-arrival notification is the
 * task's one kernel wait — and runs that C-thread when the trap returns. With no `kwait` to take
 * (another kernel thread waits on each), it parks: `semaphore_wait` on a park semaphore of its own
 * (created by trap at first use, then reused), and whoever makes its condition true unparks it
 * with `semaphore_signal` — a trap, as Mach's cthreads wake an idle kernel thread by a message.
 * A signal to a waiter whose kernel thread is awake (it is running a pool C-thread, or the signal
 * comes from its own kernel thread) costs no trap.
 *
 * Mutexes: the library holds a mutex only between traps (the engine is never touched across a
 * trap), so a lock never finds the mutex held — no kernel thread can run in between. `withLock`
 * charges the uncontended lock + unlock pair (Bershad, Redell & Ellis 1992: 0.91 µs with
 * restartable atomic sequences) and counts contention, which would be a library bug.
 *
 * The upcall kernel thread: when a wired kernel thread blocks in the kernel outside the pool (the
 * application asleep, waiting on a port of its own, an RPC; `cthreadAware` wraps the application's
 * main and calls `beforeBlocking`) while pool C-threads have no kernel thread — a ready C-thread, a
 * kwait nobody traps for — a second kernel thread of the task takes them for that time, as under
 * C-Threads on Mach 3.0 a cthread blocked in the kernel holds its own kernel thread (cprocs.c:
 * `cthread_fork` makes one per cthread unless a kernel limit is set). It is created at the first
 * need (`thread_create`), parks on a semaphore of its own when the application's thread is back,
 * and is woken (`semaphore_signal`) at the next such block; every cost is the kernel's own (traps,
 * wake-ups, context switches). An application call that waits in the pool still takes the kwait
 * itself, so a round trip's path has no trap more.
 *
 * Not modelled: preemption between pool C-threads (none in C-Threads either: a C-thread runs until
 * it blocks); a pool C-thread that is ready while the application computes outside the pool (no
 * trap) waits until the application's next trap or library call: on the one CPU an equal-priority
 * kernel thread would get the CPU only at the quantum's end, and a computing application does not
 * tell the pool it is away.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestContext } from '../../kernel/abi/guest.ts';
import { MACH_MSG_OPTION } from '../../kernel/abi/message.ts';
import type { SyscallArgs, SyscallName, SyscallResults, TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { sys } from '../mach/syscalls.ts';
import { CTHREAD_SWITCH_CYCLES, CTHREAD_SYNC_OP_CYCLES } from './cthreads.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

/**
 * Uncontended mutex_lock + mutex_unlock with restartable atomic sequences: 0.91 µs = 22.75 cycles
 * at 25 MHz (Bershad, Redell & Ellis, ASPLOS V 1992, Table 2; Mach 3.0 on a DECstation 5000/200).
 * Mirrored as `cthreads.mutexCycles` in the cost table (task parameter `cthreadMutexCycles`).
 */
export const CTHREAD_MUTEX_CYCLES = 23;

/** Shortest kernel timed wait the pool asks for (ns), as the library's waits always did. */
const KWAIT_MIN_NS = 1000;

/** A pool operation (what a pool C-thread yields besides a system call). */
export type PoolOp =
  | { readonly pool: 'wait'; readonly c: PoolCondition }
  /** Wait in the kernel on `sem` until it is signalled or `deadlineNs` (pool clock) passes; resumed with `{ kr }`. */
  | { readonly pool: 'kwait'; readonly sem: number; readonly deadlineNs: number };

export type PoolYield = TrapRequest | PoolOp;
export type PoolBody = () => Generator<PoolYield, void, TrapResult>;

/** A wired C-thread (a kernel thread) blocked in `wait`. */
interface Waiter {
  signalled: boolean;
  /** running: its kernel thread is in the pool, awake; kernel: trapped on a kwait's semaphore; parked: on its park semaphore. */
  state: 'running' | 'kernel' | 'parked';
  /** The semaphore its kernel thread is blocked on (kernel, parked). */
  sem: number;
  /** Someone already signalled `sem` for it. */
  kicked: boolean;
}

export class PoolThread {
  state: 'ready' | 'running' | 'wait' | 'kwait' | 'done' = 'ready';
  resume: TrapResult | undefined = undefined;
  /** kwait: the semaphore, the deadline, and the waiter whose kernel thread traps for it. */
  sem = 0;
  deadlineNs = Number.POSITIVE_INFINITY;
  claimedBy: Waiter | undefined = undefined;
  constructor(
    readonly id: number,
    readonly gen: Generator<PoolYield, void, TrapResult>,
  ) {}
}

export class PoolCondition {
  readonly waiters: (Waiter | PoolThread)[] = [];
  constructor(readonly name = 'condition') {}
}

export class PoolMutex {
  held = false;
  constructor(readonly name = 'mutex') {}
}

export interface PoolStats {
  /** User-level C-thread switches. */
  switchesTotal: number;
  /** Kernel waits taken for a pool C-thread's kwait (the notification semaphore). */
  kernelWaitsTotal: number;
  /** Kernel waits with nothing to take (park) and the traps that ended them (unpark). */
  parksTotal: number;
  unparksTotal: number;
  /** Traps that re-armed or ended another kernel thread's kwait (semaphore_signal). */
  kwaitKicksTotal: number;
  /** Kernel waits on several kwaits at once (semaphore_wait_any; select/poll), also counted in kernelWaitsTotal. */
  kernelWaitAnyTotal: number;
  mutexPairsTotal: number;
  /** Blocking traps a wired kernel thread made outside the pool's own waits (the application asleep in the kernel, an RPC). */
  blockingOutsideTotal: number;
  /** The upcall kernel thread: created (thread_create, at most once), woken to take the pool's work, and its kernel waits. */
  upcallThreadsCreated: number;
  upcallWakesTotal: number;
  upcallKernelWaitsTotal: number;
  /** Pool C-threads the upcall kernel thread ran (network passes: input, timers). */
  upcallRunsTotal: number;
  /** A lock found the mutex held: never, by construction (see the file comment). */
  mutexContendedTotal: number;
}

export class CthreadPool {
  private readonly ready: PoolThread[] = [];
  private readonly kwaiting: PoolThread[] = [];
  private readonly parked: Waiter[] = [];
  private readonly freeParkSems: number[] = [];
  private nextId = 1;
  /** The pool's own kernel waits (kwait, park, wait_any), by request: not the application blocking outside the library. */
  private readonly ownRequests = new WeakSet<object>();
  /** Wired kernel threads now blocked in the kernel outside the pool's own waits (beforeBlocking .. afterBlocking). */
  private blockedOutside = 0;
  /** The upcall kernel thread's waiter, once it runs; creating: its thread_create was made. */
  private upcall: Waiter | undefined = undefined;
  private upcallCreating = false;
  /** The pool of each task, by the task's memory (every kernel thread of a task sees the same). */
  private static readonly byTask = new WeakMap<object, CthreadPool>();
  readonly switchCycles: number;
  readonly mutexCycles: number;
  readonly stats: PoolStats = { switchesTotal: 0, kernelWaitsTotal: 0, parksTotal: 0, unparksTotal: 0, kwaitKicksTotal: 0, kernelWaitAnyTotal: 0, mutexPairsTotal: 0, blockingOutsideTotal: 0, upcallThreadsCreated: 0, upcallWakesTotal: 0, upcallKernelWaitsTotal: 0, upcallRunsTotal: 0, mutexContendedTotal: 0 };

  /** `now`: the clock kwait deadlines and timed waits are on (ns). */
  constructor(
    private readonly ctx: GuestContext,
    private readonly now: () => G<number>,
  ) {
    const p = ctx.params;
    const sw = p['cthreadSwitchCycles'];
    const mu = p['cthreadMutexCycles'];
    this.switchCycles = typeof sw === 'number' && sw >= 0 ? sw : CTHREAD_SWITCH_CYCLES;
    this.mutexCycles = typeof mu === 'number' && mu >= 0 ? mu : CTHREAD_MUTEX_CYCLES;
    CthreadPool.byTask.set(ctx.mem, this);
  }

  /** The pool of the task whose context this is, if its library made one. */
  static of(ctx: GuestContext): CthreadPool | undefined {
    return CthreadPool.byTask.get(ctx.mem);
  }

  /** A trap of the pool's own: marked so that `cthreadAware` does not take it for the application blocking. */
  private *own<K extends SyscallName>(name: K, args: SyscallArgs<K>): G<SyscallResults[K]> {
    const req = { sys: name, ...args } as unknown as TrapRequest;
    this.ownRequests.add(req);
    const r: TrapResult = yield req;
    return r as SyscallResults[K];
  }

  /** Whether `req` is one of the pool's own kernel waits. */
  isOwn(req: TrapRequest): boolean {
    return this.ownRequests.has(req);
  }

  /** cthread_fork: a new ready pool C-thread. No trap. */
  fork(body: PoolBody): PoolThread {
    const t = new PoolThread(this.nextId++, body());
    this.ready.push(t);
    return t;
  }

  /** Run `fn` holding `m` (lock + unlock, never across a trap). */
  withLock<T>(m: PoolMutex, fn: () => T): T {
    this.ctx.spend(this.mutexCycles);
    this.stats.mutexPairsTotal++;
    if (m.held) this.stats.mutexContendedTotal++;
    m.held = true;
    try {
      return fn();
    } finally {
      m.held = false;
    }
  }

  /** condition_signal: wake the first waiter (Mesa). A trap only if its kernel thread sleeps in the kernel. */
  *signal(c: PoolCondition): G<void> {
    this.ctx.spend(CTHREAD_SYNC_OP_CYCLES);
    const w = c.waiters.shift();
    if (w !== undefined) yield* this.wake(w);
  }

  /** condition_broadcast: wake every waiter. */
  *broadcast(c: PoolCondition): G<void> {
    this.ctx.spend(CTHREAD_SYNC_OP_CYCLES);
    for (const w of c.waiters.splice(0)) yield* this.wake(w);
  }

  private *wake(w: Waiter | PoolThread): G<void> {
    if (w instanceof PoolThread) {
      w.state = 'ready';
      this.ready.push(w);
      return;
    }
    w.signalled = true;
    if (w.state === 'running' || w.kicked) return;
    w.kicked = true;
    if (w.state === 'parked') {
      this.unlist(this.parked, w);
      this.stats.unparksTotal++;
    } else this.stats.kwaitKicksTotal++;
    yield* sys.semaphore_signal({ sem: w.sem });
  }

  /**
   * End a pool C-thread's kwait now (resumed with KERN.SUCCESS): free if no kernel thread traps
   * for it (it becomes ready; the caller then waits, which runs it), else one semaphore_signal.
   */
  *endKwait(t: PoolThread): G<void> {
    if (t.state !== 'kwait') return;
    if (t.claimedBy === undefined) {
      this.unlist(this.kwaiting, t);
      t.state = 'ready';
      t.resume = { kr: KERN.SUCCESS };
      this.ready.push(t);
      return;
    }
    this.stats.kwaitKicksTotal++;
    yield* sys.semaphore_signal({ sem: t.sem });
  }

  /** A kwaiting C-thread's deadline moved earlier: free unless a kernel thread is already trapped with a later timeout. */
  *advanceDeadline(t: PoolThread, deadlineNs: number): G<void> {
    if (t.state !== 'kwait' || deadlineNs >= t.deadlineNs) return;
    const claimed = t.claimedBy !== undefined;
    t.deadlineNs = deadlineNs;
    if (claimed) yield* this.endKwait(t);
  }

  /**
   * Block the calling kernel thread's C-thread until `c` is signalled (true) or `deadlineNs`
   * (pool clock) passes (false). Meanwhile run ready pool C-threads; with none, wait in the
   * kernel for a kwait (`prefer` first) or park.
   *
   * `any` (select/poll: one waiter, many connections): the kwaits of these C-threads are taken
   * together — while two or more of them have no kernel thread, this kernel thread traps
   * `semaphore_wait_any` on all their semaphores (until the earliest of their deadlines and
   * ours) and runs the one whose semaphore woke it, so an event on any of them reaches the
   * waiter. Without `any` a wait takes one kwait, as before.
   */
  *wait(c: PoolCondition, deadlineNs = Number.POSITIVE_INFINITY, prefer?: PoolThread, any?: readonly PoolThread[]): G<boolean> {
    this.ctx.spend(CTHREAD_SYNC_OP_CYCLES);
    const w: Waiter = { signalled: false, state: 'running', sem: 0, kicked: false };
    c.waiters.push(w);
    let ranOthers = false;
    for (;;) {
      if (w.signalled) break;
      const t = this.ready.shift();
      if (t !== undefined) {
        this.ctx.spend(this.switchCycles);
        this.stats.switchesTotal++;
        ranOthers = true;
        yield* this.run(t);
        continue;
      }
      // Nothing to run: this kernel thread has to wait in the kernel.
      const group = any === undefined ? [] : any.filter((g) => g.state === 'kwait' && g.claimedBy === undefined);
      if (group.length >= 2) {
        const r = yield* this.waitAny(w, group, deadlineNs);
        if (r === 'timeout') {
          this.unlist(c.waiters, w);
          if (ranOthers) this.switchBack();
          yield* this.handOff();
          return false;
        }
        if (r === 'error') {
          this.unlist(c.waiters, w);
          return false;
        }
        if (r === 'ran') ranOthers = true;
        continue;
      }
      if (group.length === 1) prefer = group[0];
      const k = this.claimable(prefer);
      const timed = deadlineNs !== Number.POSITIVE_INFINITY || (k !== undefined && k.deadlineNs !== Number.POSITIVE_INFINITY);
      const now = timed ? yield* this.now() : 0;
      if (w.signalled) break;
      if (now >= deadlineNs) {
        this.unlist(c.waiters, w);
        if (ranOthers) this.switchBack();
        yield* this.handOff();
        return false;
      }
      if (k !== undefined && k.state === 'kwait' && k.claimedBy === undefined) {
        if (k.deadlineNs <= now) {
          // Its timer is due already: run it without a kernel wait.
          this.unlist(this.kwaiting, k);
          k.resume = { kr: KERN.OPERATION_TIMED_OUT };
          ranOthers = true;
          yield* this.run(k);
          continue;
        }
        yield* this.handOff(k);
        if (w.signalled) break;
        if (k.state !== 'kwait' || k.claimedBy !== undefined) continue; // taken while we trapped
        const until = Math.min(k.deadlineNs, deadlineNs);
        k.claimedBy = w;
        w.state = 'kernel';
        w.sem = k.sem;
        w.kicked = false;
        this.stats.kernelWaitsTotal++;
        const r = until === Number.POSITIVE_INFINITY ? yield* this.own('semaphore_wait', { sem: k.sem }) : yield* this.own('semaphore_timedwait', { sem: k.sem, ns: Math.max(KWAIT_MIN_NS, Math.ceil(until - now)) });
        w.state = 'running';
        k.claimedBy = undefined;
        if (k.state !== 'kwait') continue;
        // Its own event (a signal, an error, its deadline): it runs. Only our deadline: it stays for the next taker.
        if (r.kr === KERN.OPERATION_TIMED_OUT && k.deadlineNs > until) continue;
        this.unlist(this.kwaiting, k);
        k.resume = { kr: r.kr };
        ranOthers = true;
        yield* this.run(k);
        continue;
      }
      // Every kwait has its kernel thread: park until signalled (or our deadline).
      if (w.signalled) break;
      const sem = this.freeParkSems.pop() ?? (yield* sys.semaphore_create({ value: 0 })).name;
      if (w.signalled || this.ready.length > 0 || this.claimable(prefer) !== undefined) {
        this.freeParkSems.push(sem); // things moved while we trapped: look again
        continue;
      }
      w.state = 'parked';
      w.sem = sem;
      w.kicked = false;
      this.parked.push(w);
      this.stats.parksTotal++;
      const r = deadlineNs === Number.POSITIVE_INFINITY ? yield* this.own('semaphore_wait', { sem }) : yield* this.own('semaphore_timedwait', { sem, ns: Math.max(KWAIT_MIN_NS, Math.ceil(deadlineNs - now)) });
      this.unlist(this.parked, w);
      w.state = 'running';
      // A kick that raced with our timeout leaves a count behind: that semaphore is spent.
      if (!(w.kicked && r.kr === KERN.OPERATION_TIMED_OUT)) this.freeParkSems.push(sem);
      if (r.kr !== KERN.SUCCESS && r.kr !== KERN.OPERATION_TIMED_OUT) {
        this.unlist(c.waiters, w);
        return false; // the semaphore is gone: the task is going away
      }
    }
    if (ranOthers) this.switchBack();
    yield* this.handOff();
    return true;
  }

  /**
   * The kernel wait of `wait(..., any)` over `group` (≥ 2 unclaimed kwaits): 'ran' when a pool
   * C-thread ran (its event, or its deadline), 'again' when things moved meanwhile, 'timeout' at
   * the waiter's own deadline, 'error' if the kernel refused the set (cannot happen with live
   * channels: each has its own semaphore).
   */
  private *waitAny(w: Waiter, group: readonly PoolThread[], deadlineNs: number): G<'ran' | 'again' | 'timeout' | 'error'> {
    const now = yield* this.now();
    if (w.signalled) return 'again';
    if (now >= deadlineNs) return 'timeout';
    const due = group.find((k) => k.state === 'kwait' && k.claimedBy === undefined && k.deadlineNs <= now);
    if (due !== undefined) {
      // Its timer is due already: run it without a kernel wait.
      this.unlist(this.kwaiting, due);
      due.resume = { kr: KERN.OPERATION_TIMED_OUT };
      yield* this.run(due);
      return 'ran';
    }
    yield* this.handOff(undefined, group.length);
    if (w.signalled || group.some((k) => k.state !== 'kwait' || k.claimedBy !== undefined)) return 'again';
    let until = deadlineNs;
    for (const k of group) until = Math.min(until, k.deadlineNs);
    const sems = new Uint8Array(4 * group.length);
    group.forEach((k, i) => {
      k.claimedBy = w;
      sems[4 * i] = k.sem & 0xff;
      sems[4 * i + 1] = (k.sem >>> 8) & 0xff;
      sems[4 * i + 2] = (k.sem >>> 16) & 0xff;
      sems[4 * i + 3] = (k.sem >>> 24) & 0xff;
    });
    // A kick (wake, endKwait) signals one of these semaphores: any of them ends the trap.
    w.state = 'kernel';
    w.sem = group[0]!.sem;
    w.kicked = false;
    this.stats.kernelWaitsTotal++;
    this.stats.kernelWaitAnyTotal++;
    const timed = until !== Number.POSITIVE_INFINITY;
    const r = yield* this.own('semaphore_wait_any', { sems, timed, ns: timed ? Math.max(KWAIT_MIN_NS, Math.ceil(until - now)) : 0 });
    w.state = 'running';
    for (const k of group) k.claimedBy = undefined;
    if (r.kr === KERN.OPERATION_TIMED_OUT) {
      let ran = false;
      for (const k of group) {
        if (k.state !== 'kwait' || k.deadlineNs > until) continue;
        this.unlist(this.kwaiting, k);
        k.resume = { kr: KERN.OPERATION_TIMED_OUT };
        yield* this.run(k);
        ran = true;
      }
      return ran ? 'ran' : 'again';
    }
    const k = group[r.index];
    if (k === undefined) return 'error';
    if (k.state !== 'kwait') return 'again';
    // Its own event (a signal, or an error such as a revoked channel's dead semaphore): it runs.
    this.unlist(this.kwaiting, k);
    k.resume = { kr: r.kr };
    yield* this.run(k);
    return 'ran';
  }

  /**
   * A wired kernel thread is about to block in the kernel outside the pool's own waits (the
   * application asleep in `thread_sleep`, waiting for a message on a port of its own, an RPC).
   * Work it leaves behind — a ready C-thread, a kwait no kernel thread traps for: a connection's
   * arriving segments and timers — needs a kernel thread of its own meanwhile, as under C-Threads
   * on Mach 3.0 a cthread blocked in the kernel holds its kernel thread and `cthread_fork` gives
   * each cthread one (cprocs.c: `cproc_create` makes a kernel thread unless
   * `cthread_set_kernel_limit` was reached; the default is no limit). So: a parked kernel thread
   * of the task takes it (one `semaphore_signal`), else the task's **upcall kernel thread** —
   * created at the first need (`thread_create`, one trap, once), then woken from its park
   * (`semaphore_signal`); it traps on the channel semaphore(s) and runs the network C-threads as
   * the semaphore or their timers wake it. Nothing is charged when nothing is left behind (an
   * application call waiting in the library keeps its one kernel wait). Pair with afterBlocking.
   */
  *beforeBlocking(): G<void> {
    this.stats.blockingOutsideTotal++;
    this.blockedOutside++;
    yield* this.provide();
  }

  /**
   * A kernel thread that is not the application's (a pre-accept thread) made work for the pool
   * and leaves: while the application's thread is blocked outside, give it a kernel thread now.
   */
  *leaving(): G<void> {
    if (this.blockedOutside > 0) yield* this.provide();
  }

  /** Give work without a kernel thread one: a parked wired thread, else the upcall kernel thread. */
  private *provide(): G<void> {
    if (this.ready.length + this.unclaimedKwaits() === 0) return;
    if (this.parked.length > 0) {
      yield* this.handOff();
      return;
    }
    const u = this.upcall;
    if (u === undefined) {
      if (this.upcallCreating) return; // made, not yet run: it looks when it first runs
      this.upcallCreating = true;
      this.stats.upcallThreadsCreated++;
      const r = yield* sys.thread_create({ program: () => this.upcallLoop(), priority: -1 });
      if (r.kr !== KERN.SUCCESS) this.upcallCreating = false;
      return;
    }
    if (u.kicked || u.state === 'running') return; // awake: it looks again before it next waits
    // Parked, or trapped on one kwait while another now has no kernel thread: wake it to take them all.
    u.kicked = true;
    this.stats.upcallWakesTotal++;
    yield* sys.semaphore_signal({ sem: u.sem });
  }

  /** The blocking trap of beforeBlocking returned. The upcall kernel thread keeps what it holds until its next wake-up, then parks. */
  afterBlocking(): void {
    if (this.blockedOutside > 0) this.blockedOutside--;
  }

  /**
   * The upcall kernel thread (P §3.2: "separate threads per connection that are upcalled"; the
   * notification is "a lightweight semaphore that a library thread is waiting on"). While a wired
   * kernel thread is blocked outside the pool it takes the pool's work: runs ready C-threads, traps
   * on an unclaimed kwait's semaphore until it is signalled or the C-thread's deadline (on several
   * at once with `semaphore_wait_any`, as a poll does), and runs the C-thread that woke — the
   * connection's input pass (segments in, ACKs and window updates out) or its timers
   * (retransmission, delayed ACK). Otherwise it gives back what it holds (a parked wired thread is
   * woken for work left unclaimed) and parks on a semaphore of its own. Its traps, wake-ups and
   * context switches are the kernel's own charges, on this thread.
   */
  private *upcallLoop(): G<void> {
    const w: Waiter = { signalled: false, state: 'running', sem: 0, kicked: false };
    const made = yield* sys.semaphore_create({ value: 0 });
    if (made.kr !== KERN.SUCCESS) {
      this.upcallCreating = false;
      return;
    }
    const park = made.name;
    this.upcall = w;
    for (;;) {
      if (this.blockedOutside > 0) {
        const t = this.ready.shift();
        if (t !== undefined) {
          this.ctx.spend(this.switchCycles);
          this.stats.switchesTotal++;
          this.stats.upcallRunsTotal++;
          yield* this.run(t);
          continue;
        }
        const group = this.kwaiting.filter((k) => k.claimedBy === undefined);
        if (group.length >= 2) {
          this.stats.upcallKernelWaitsTotal++;
          const r = yield* this.waitAny(w, group, Number.POSITIVE_INFINITY);
          if (r === 'ran') this.stats.upcallRunsTotal++;
          if (r !== 'error') continue;
        } else if (group.length === 1) {
          const k = group[0]!;
          const timed = k.deadlineNs !== Number.POSITIVE_INFINITY;
          const now = timed ? yield* this.now() : 0;
          if (k.state !== 'kwait' || k.claimedBy !== undefined) continue; // taken while we read the clock
          if (timed && k.deadlineNs <= now) {
            this.unlist(this.kwaiting, k);
            k.resume = { kr: KERN.OPERATION_TIMED_OUT };
            this.stats.upcallRunsTotal++;
            yield* this.run(k);
            continue;
          }
          const until = k.deadlineNs;
          k.claimedBy = w;
          w.state = 'kernel';
          w.sem = k.sem;
          w.kicked = false;
          this.stats.upcallKernelWaitsTotal++;
          const r = timed ? yield* sys.semaphore_timedwait({ sem: k.sem, ns: Math.max(KWAIT_MIN_NS, Math.ceil(until - now)) }) : yield* sys.semaphore_wait({ sem: k.sem });
          w.state = 'running';
          k.claimedBy = undefined;
          if (k.state !== 'kwait') continue;
          if (r.kr === KERN.OPERATION_TIMED_OUT && k.deadlineNs > until) continue; // its deadline moved later meanwhile
          this.unlist(this.kwaiting, k);
          k.resume = { kr: r.kr };
          this.stats.upcallRunsTotal++;
          yield* this.run(k);
          continue;
        }
      }
      // Nothing to take, or the application's kernel thread is back: work left unclaimed goes to a
      // parked wired kernel thread; then park until the next blocking call outside the pool.
      yield* this.handOff();
      if (this.blockedOutside > 0 && (this.ready.length > 0 || this.unclaimedKwaits() > 0)) continue;
      w.state = 'parked';
      w.sem = park;
      w.kicked = false;
      const r = yield* sys.semaphore_wait({ sem: park });
      w.state = 'running';
      if (r.kr !== KERN.SUCCESS) return; // the semaphore is gone: the task is going away
    }
  }

  /** Pool C-threads blocked in kwait with no kernel thread trapped for them. */
  unclaimedKwaits(): number {
    let n = 0;
    for (const t of this.kwaiting) if (t.claimedBy === undefined) n++;
    return n;
  }

  /** Kernel threads parked in the pool. */
  parkedCount(): number {
    return this.parked.length;
  }

  private switchBack(): void {
    this.ctx.spend(this.switchCycles);
    this.stats.switchesTotal++;
  }

  private claimable(prefer: PoolThread | undefined): PoolThread | undefined {
    if (prefer !== undefined && prefer.state === 'kwait' && prefer.claimedBy === undefined) return prefer;
    let best: PoolThread | undefined = undefined;
    for (const t of this.kwaiting) if (t.claimedBy === undefined && (best === undefined || t.deadlineNs < best.deadlineNs)) best = t;
    return best;
  }

  /**
   * Before this kernel thread leaves the pool or sleeps: work that nobody will otherwise run (a
   * ready C-thread, a kwait no kernel thread takes, besides `taking`) goes to a parked kernel thread.
   */
  private *handOff(taking?: PoolThread, takingCount = taking !== undefined ? 1 : 0): G<void> {
    if (this.parked.length === 0) return;
    const left = this.ready.length + this.unclaimedKwaits() - takingCount;
    if (left <= 0) return;
    const p = this.parked.shift()!;
    p.kicked = true;
    this.stats.unparksTotal++;
    yield* sys.semaphore_signal({ sem: p.sem });
  }

  /** Run pool C-thread `t` on the calling kernel thread until it blocks or ends; its traps are this kernel thread's. */
  private *run(t: PoolThread): G<void> {
    t.state = 'running';
    for (;;) {
      const v = t.resume;
      t.resume = undefined;
      const step = t.gen.next(v as TrapResult);
      if (step.done === true) {
        t.state = 'done';
        return;
      }
      const y = step.value;
      if ('pool' in y) {
        if (y.pool === 'kwait') {
          t.state = 'kwait';
          t.sem = y.sem;
          t.deadlineNs = y.deadlineNs;
          this.kwaiting.push(t);
        } else {
          t.state = 'wait';
          y.c.waiters.push(t);
        }
        return;
      }
      t.resume = yield y;
    }
  }

  private unlist<T>(list: T[], x: T): void {
    const i = list.indexOf(x);
    if (i >= 0) list.splice(i, 1);
  }
}

/** Whether a trap may block the calling kernel thread (a sleep, a semaphore wait, a message receive). */
export function mayBlock(req: TrapRequest): boolean {
  switch (req.sys) {
    case 'thread_sleep_ns':
    case 'semaphore_wait':
    case 'semaphore_timedwait':
    case 'semaphore_wait_any':
      return true;
    case 'mach_msg':
      return (req.option & MACH_MSG_OPTION.RCV_MSG) !== 0;
    default:
      return false;
  }
}

/**
 * Run a wired kernel thread's program (an application's main) C-Threads-aware: before each trap
 * that may block, other than the pool's own waits, the task's pool hands the work it would leave
 * behind to another kernel thread (CthreadPool.beforeBlocking) — as cprocs' `cthread_mach_msg`
 * manages the kernel threads a blocking receive ties up. Without a pool (no library yet) it only
 * passes the traps through.
 */
export function* cthreadAware<T>(ctx: GuestContext, g: Generator<TrapRequest, T, TrapResult>): Generator<TrapRequest, T, TrapResult> {
  let v: TrapResult | undefined = undefined;
  for (;;) {
    const step = g.next(v as TrapResult);
    if (step.done === true) return step.value;
    const req = step.value;
    const pool = CthreadPool.of(ctx);
    if (pool === undefined || pool.isOwn(req) || !mayBlock(req)) {
      v = yield req;
      continue;
    }
    yield* pool.beforeBlocking();
    try {
      v = yield req;
    } finally {
      pool.afterBlocking();
    }
  }
}
