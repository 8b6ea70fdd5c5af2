/**
 * The kernel's core: tasks, threads, a priority run queue on the host's one CPU, and the
 * system-call dispatcher derived from kernel/abi's table. Guest threads are generators stepped
 * inside CPU bursts: one burst = the user computation recorded since the last trap + the trap
 * path + the service. A service either answers at once or blocks the thread; a blocked thread is
 * resumed later (by an interrupt, a timer callout or another thread) with its result.
 *
 * Nothing a guest does can make this code throw: requests are decoded and validated first,
 * guest exceptions are caught and end the task with the reason recorded.
 */
import type { HostPort } from '../emulator/bus/index.ts';
import { assert } from '../emulator/sim/assert.ts';
import { TimingWheel, WheelTimer } from '../emulator/sim/timing-wheel.ts';
import { KERN } from './abi/errors.ts';
import type { GuestContext, GuestParams, GuestProgram, GuestThread, TaskExit } from './abi/guest.ts';
import {
  decodeTrap,
  SYSCALL_TABLE,
  type SyscallArgs,
  type SyscallName,
  type SyscallResults,
  type TrapRequest,
  type TrapResult,
} from './abi/syscalls.ts';

/** Thread states as a union (STYLE.md): why a thread is not running is part of its state. */
export type ThreadState =
  | { readonly kind: 'runnable' }
  | { readonly kind: 'blocked'; readonly on: string }
  | { readonly kind: 'dead' };

/** Priorities: higher runs first; equal priorities round-robin at each trap. */
export const PRIORITY_DEFAULT = 12;
export const PRIORITY_MAX = 31;

/** A task may hold this many threads at most (a limit on everything). */
export const THREADS_PER_TASK_MAX = 256;

export class Thread {
  state: ThreadState = { kind: 'runnable' };
  /** What the thread is resumed with at its next step. */
  resumeValue: TrapResult | undefined = undefined;
  /** User cycles recorded by spend() since the last trap. */
  spentCycles = 0;
  trapsTotal = 0;
  readonly timer: WheelTimer;

  constructor(
    readonly id: number,
    readonly task: Task,
    readonly gen: GuestThread,
    public priority: number,
    onTimer: () => void,
  ) {
    this.timer = new WheelTimer(`thread${id}`, onTimer);
  }
}

export class Task {
  readonly threads: Thread[] = [];
  exit: TaskExit | undefined = undefined;
  readonly log: string[] = [];

  constructor(
    readonly id: number,
    readonly name: string,
    readonly privileged: boolean,
    readonly params: GuestParams,
  ) {}

  get alive(): boolean {
    return this.exit === undefined;
  }
}

/** A service's answer: a result now, or BLOCKED (the service arranged a later wake-up). */
export const BLOCKED = Symbol('blocked');
export type ServiceAnswer<K extends SyscallName> = SyscallResults[K] | typeof BLOCKED;
export type ServiceTable = { readonly [K in SyscallName]: (t: Thread, req: SyscallArgs<K>) => ServiceAnswer<K> };

export interface KernelCosts {
  readonly trapCycles: number;
  readonly nullServiceCycles: number;
  readonly contextSwitchCycles: number;
  readonly interruptEntryCycles: number;
}

/** The KN02 system CSR (interrupt pending bits 7:0, enables 23:16); the kernel's own constant. */
const KN02_CSR = 0x1ff0_0000;

export interface SpawnOptions {
  readonly params?: GuestParams;
  readonly privileged?: boolean;
  readonly priority?: number;
}

export class Kernel {
  readonly tasks = new Map<number, Task>();
  private readonly runQueue: Thread[] = [];
  private nextTaskId = 1;
  private nextThreadId = 1;
  /** The thread that ran the last user burst (a switch away from it costs a context switch). */
  private lastThread: Thread | undefined = undefined;
  readonly wheel: TimingWheel;
  readonly costs: KernelCosts;
  contextSwitchesTotal = 0;
  trapsTotal = 0;
  private readonly services: ServiceTable;

  constructor(readonly host: HostPort) {
    const c = host.costs;
    this.costs = {
      trapCycles: c.get('kernel.trapCycles'),
      nullServiceCycles: c.get('kernel.nullServiceCycles'),
      contextSwitchCycles: c.get('kernel.contextSwitchCycles'),
      interruptEntryCycles: c.get('kernel.interruptEntryCycles'),
    };
    this.wheel = new TimingWheel(host.sched, 1, `${host.name}.kernel.timers`);
    this.services = this.buildServices();
    host.cpu.dispatcher = () => this.dispatch();
    host.cpu.hardwareIrqHandler = () => this.hardwareInterrupt();
  }

  // ---- Interrupts --------------------------------------------------------------------------

  private readonly irqHandlers: ((() => void) | undefined)[] = new Array<(() => void) | undefined>(8).fill(undefined);
  /** Hardware interrupts taken, and ones no driver claimed (their source is then masked). */
  interruptsTotal = 0;
  strayInterruptsTotal = 0;

  /**
   * Attach a driver's handler to KN02 I/O interrupt bit `bit` (the TURBOchannel slot number; 6 is
   * the on-board Ethernet) and enable the source in the system CSR.
   */
  registerInterrupt(bit: number, handler: () => void): void {
    assert(Number.isInteger(bit) && bit >= 0 && bit < 8, `no KN02 interrupt bit ${bit}`);
    assert(this.irqHandlers[bit] === undefined, `interrupt bit ${bit} already has a handler`);
    this.irqHandlers[bit] = handler;
    this.setInterruptEnable(bit, true);
  }

  setInterruptEnable(bit: number, enabled: boolean): void {
    const bus = this.host.bus;
    const csr = bus.read32(KN02_CSR);
    const mask = 1 << (16 + bit);
    bus.write32(KN02_CSR, enabled ? csr | mask : csr & ~mask);
  }

  /**
   * The CPU's hardware interrupt 0: read the system CSR, run the handler of each pending and
   * enabled source, lowest bit first (NetBSD's KN02 dispatch: pending = CSR & (CSR >> 16)).
   */
  private hardwareInterrupt(): void {
    const cpu = this.host.cpu;
    cpu.charge(this.costs.interruptEntryCycles, 'interrupt');
    this.interruptsTotal++;
    const csr = this.host.bus.read32(KN02_CSR);
    const pending = csr & (csr >>> 16) & 0xff;
    for (let bit = 0; bit < 8; bit++) {
      if ((pending & (1 << bit)) === 0) continue;
      const h = this.irqHandlers[bit];
      if (h !== undefined) h();
      else {
        // Nobody claims it: mask it so a stuck line cannot hold the CPU forever.
        this.strayInterruptsTotal++;
        this.setInterruptEnable(bit, false);
        this.host.trace.record(this.source, 'irq.stray', bit);
      }
    }
  }

  /** Run kernel code at interrupt level as soon as possible (a software interrupt). */
  postKernelWork(work: () => void): void {
    this.host.cpu.postSoftInterrupt(work);
  }

  private get source(): string {
    return `${this.host.name}.kernel`;
  }

  /** Create a task with one thread running `program`. */
  spawn(name: string, program: GuestProgram, options: SpawnOptions = {}): Task {
    const task = new Task(this.nextTaskId++, name, options.privileged ?? false, options.params ?? {});
    this.tasks.set(task.id, task);
    this.addThread(task, program, options.priority ?? PRIORITY_DEFAULT);
    this.host.trace.record(this.source, 'task.spawn', task.id, 0, name);
    return task;
  }

  addThread(task: Task, program: GuestProgram, priority: number): Thread | undefined {
    if (task.threads.length >= THREADS_PER_TASK_MAX || !task.alive) return undefined;
    const id = this.nextThreadId++;
    let thread: Thread | undefined;
    const ctx: GuestContext = {
      spend: (cycles: number) => {
        // A guest passing garbage here only hurts itself: it is charged nothing for it.
        if (thread !== undefined && Number.isFinite(cycles) && cycles > 0) thread.spentCycles += cycles;
      },
      params: task.params,
      taskId: task.id,
    };
    let gen: GuestThread;
    try {
      gen = program(ctx);
    } catch (e) {
      this.endTask(task, { kind: 'guest-error', message: `program failed to start: ${errorText(e)}` });
      return undefined;
    }
    thread = new Thread(id, task, gen, Math.min(Math.max(priority, 0), PRIORITY_MAX), () => this.onThreadTimer(thread!));
    task.threads.push(thread);
    this.makeRunnable(thread, undefined);
    return thread;
  }

  /** Wake a blocked thread with its trap's result. */
  wake(thread: Thread, result: TrapResult): void {
    if (thread.state.kind !== 'blocked') return;
    this.wheel.cancel(thread.timer);
    this.makeRunnable(thread, result);
  }

  private makeRunnable(thread: Thread, result: TrapResult | undefined): void {
    thread.state = { kind: 'runnable' };
    thread.resumeValue = result;
    this.runQueue.push(thread);
    this.host.cpu.kick();
  }

  /** Pick the highest-priority runnable thread (FIFO among equals). */
  private pickNext(): Thread | undefined {
    let bestIndex = -1;
    for (let i = 0; i < this.runQueue.length; i++) {
      const t = this.runQueue[i]!;
      if (t.state.kind !== 'runnable') continue;
      if (bestIndex < 0 || t.priority > this.runQueue[bestIndex]!.priority) bestIndex = i;
    }
    if (bestIndex < 0) {
      this.runQueue.length = 0;
      return undefined;
    }
    const [t] = this.runQueue.splice(bestIndex, 1);
    return t;
  }

  private dispatch(): void {
    const thread = this.pickNext();
    if (thread === undefined) return; // idle until an interrupt or a kick
    this.host.cpu.execute('user', () => this.runBurst(thread), {
      onDone: () => {
        if (thread.state.kind === 'runnable' && !this.runQueue.includes(thread)) this.runQueue.push(thread);
      },
    });
  }

  private runBurst(thread: Thread): void {
    const cpu = this.host.cpu;
    if (this.lastThread !== thread) {
      if (this.lastThread !== undefined) {
        cpu.charge(this.costs.contextSwitchCycles, 'context-switch');
        this.contextSwitchesTotal++;
      }
      this.lastThread = thread;
    }
    const resume = thread.resumeValue;
    thread.resumeValue = undefined;
    let step: IteratorResult<TrapRequest, void>;
    try {
      step = thread.gen.next(resume as TrapResult);
    } catch (e) {
      cpu.charge(thread.spentCycles, 'user');
      thread.spentCycles = 0;
      this.endTask(thread.task, { kind: 'guest-error', message: `thread ${thread.id} threw: ${errorText(e)}` });
      return;
    }
    cpu.charge(thread.spentCycles, 'user');
    thread.spentCycles = 0;
    if (step.done === true) {
      this.endThread(thread);
      return;
    }
    cpu.charge(this.costs.trapCycles, 'trap');
    thread.trapsTotal++;
    this.trapsTotal++;
    const decoded = decodeTrap(step.value);
    if (!decoded.ok) {
      this.endTask(thread.task, { kind: 'guest-error', message: `thread ${thread.id}: ${decoded.error}` });
      return;
    }
    const req = decoded.req;
    if (this.host.trace.on) this.host.trace.record(this.source, 'trap', SYSCALL_TABLE[req.sys].number, thread.id);
    const service = this.services[req.sys] as (t: Thread, r: TrapRequest) => TrapResult | typeof BLOCKED;
    const answer = service(thread, req);
    if (answer === BLOCKED) {
      assert(thread.state.kind !== 'runnable', `service ${req.sys} answered BLOCKED without blocking`);
      return;
    }
    if (thread.state.kind === 'runnable') thread.resumeValue = answer;
  }

  block(thread: Thread, on: string): typeof BLOCKED {
    thread.state = { kind: 'blocked', on };
    return BLOCKED;
  }

  private onThreadTimer(thread: Thread): void {
    // A kernel timer callout runs at interrupt level on the CPU.
    this.host.cpu.postSoftInterrupt(() => {
      this.host.cpu.charge(this.costs.nullServiceCycles, 'timer');
      this.wake(thread, { kr: KERN.SUCCESS });
    });
  }

  private endThread(thread: Thread): void {
    thread.state = { kind: 'dead' };
    this.wheel.cancel(thread.timer);
    if (thread.task.threads.every((t) => t.state.kind === 'dead') && thread.task.alive) {
      this.endTask(thread.task, { kind: 'exit', code: 0 });
    }
  }

  /** End a task: every thread dies; the reason is recorded (and traced). */
  endTask(task: Task, reason: TaskExit): void {
    if (!task.alive) return;
    task.exit = reason;
    for (const t of task.threads) {
      t.state = { kind: 'dead' };
      this.wheel.cancel(t.timer);
    }
    if (reason.kind === 'guest-error') this.host.trace.guestError(this.source, `task ${task.id} (${task.name}): ${reason.message}`, task.id);
    else this.host.trace.record(this.source, 'task.exit', task.id, reason.kind === 'exit' ? reason.code : -1, reason.kind);
  }

  private buildServices(): ServiceTable {
    const cpu = this.host.cpu;
    const ok = { kr: KERN.SUCCESS } as const;
    return {
      null_trap: () => {
        cpu.charge(this.costs.nullServiceCycles, 'trap');
        return ok;
      },
      task_exit: (t, req) => {
        this.endTask(t.task, { kind: 'exit', code: req.code });
        return BLOCKED;
      },
      thread_yield: () => {
        // Every burst ends with the thread at the back of the run queue, so answering is
        // enough: another runnable thread of equal priority runs first.
        cpu.charge(this.costs.nullServiceCycles, 'trap');
        return ok;
      },
      clock_get_ns: () => {
        cpu.charge(this.costs.nullServiceCycles, 'trap');
        return { kr: KERN.SUCCESS, ns: cpu.localNow() };
      },
      thread_sleep_ns: (t, req) => {
        cpu.charge(this.costs.nullServiceCycles, 'trap');
        this.wheel.arm(t.timer, cpu.localNow() + req.ns);
        return this.block(t, 'sleep');
      },
      debug_log: (t, req) => {
        cpu.charge(this.costs.nullServiceCycles, 'trap');
        if (t.task.log.length < 1_000) t.task.log.push(req.text);
        this.host.trace.record(this.source, 'task.log', t.task.id, 0, req.text);
        return ok;
      },
    };
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
