/**
 * The Mach-like microkernel: tasks, threads, a priority run queue on the host's one CPU, ports
 * and mach_msg (ipc/), virtual memory (vm/), semaphores (sync/), exceptions, the bootstrap name
 * service, and the system-call dispatcher derived from kernel/abi's one table.
 *
 * Guest threads are generators stepped inside CPU bursts: one burst = the user computation
 * recorded since the last trap + the trap path + the service. A service either answers at once
 * or blocks the thread; a blocked thread is resumed later (by an interrupt, a timer callout or
 * another thread) with its result, or — a sender that found a full queue — runs its trap again.
 *
 * Nothing a guest does can make this code throw: requests are decoded and validated first; a
 * thread that faults, throws or yields garbage raises an exception message to its task's
 * exception port, or (no port, or the handler refuses) ends its task with the reason recorded.
 *
 * Kernel modules (drivers, the network I/O module) use the "kernel-internal API" section:
 * kernel-object ports and rights, semaphores, wired memory objects, device-page mappings and
 * copyin/copyout. See docs/kernel.md.
 */
import type { HostPort } from '../emulator/bus/index.ts';
import { assert, bug } from '../emulator/sim/assert.ts';
import { TimingWheel } from '../emulator/sim/timing-wheel.ts';
import { R3000_25MHZ } from '../emulator/sim/time.ts';
import { BOOTSTRAP, KERN, MACH_MSG } from './abi/errors.ts';
import { MemoryFault, type GuestContext, type GuestParams, type GuestProgram, type TaskExit } from './abi/guest.ts';
import { EXC, EXC_MSG_ID, MACH_MSG_OPTION, MACH_PORT_NULL, NOTIFY, PORT_RIGHT, TASK_PORT, TASK_PORT_REGISTER_MAX, VM_PROT, type PortName } from './abi/message.ts';
import {
  decodeTrap,
  SYSCALL_TABLE,
  type CoreSyscallName,
  type ModuleSyscallName,
  type SyscallArgs,
  type SyscallName,
  type SyscallResults,
  type TrapRequest,
  type TrapResult,
} from './abi/syscalls.ts';
import { BootstrapRegistry } from './bootstrap.ts';
import { Ipc, type KMsg, type KObject, type Port, Space } from './ipc/ipc.ts';
import { Semaphore, SEMAPHORE_WAIT_ANY_MAX } from './sync/semaphore.ts';
import { isSync, SYNC, type Sync } from './dev/sync.ts';
import { PRIORITY_DEFAULT, PRIORITY_MAX, PRIORITY_USER_MAX, Task, Thread, THREADS_PER_TASK_MAX } from './task.ts';
import { FrameAllocator, PAGE_SIZE } from './vm/frames.ts';
import { createGuestMemory } from './vm/guest-memory.ts';
import { MemoryObject } from './vm/memory-object.ts';
import { pageRange, VmMap } from './vm/vm-map.ts';

export { PRIORITY_DEFAULT, PRIORITY_MAX, PRIORITY_USER_MAX, Task, Thread, THREADS_PER_TASK_MAX };
export type { ThreadState } from './task.ts';

/** A service's answer: a result now, or BLOCKED (the service arranged a later wake-up). */
export const BLOCKED = Symbol('blocked');
export type ServiceAnswer<K extends SyscallName> = SyscallResults[K] | typeof BLOCKED;
export type Service<K extends SyscallName> = (t: Thread, req: SyscallArgs<K>) => ServiceAnswer<K>;
export type ServiceTable = { readonly [K in CoreSyscallName]: Service<K> };

export interface KernelCosts {
  readonly trapCycles: number;
  readonly nullServiceCycles: number;
  readonly contextSwitchCycles: number;
  readonly handoffCycles: number;
  readonly wakeupCycles: number;
  /** Scheduling quantum: how long a thread keeps the CPU against runnable threads of its own priority. */
  readonly quantumNs: number;
  readonly interruptEntryCycles: number;
  readonly msgSendCycles: number;
  readonly msgReceiveCycles: number;
  readonly msgRightCycles: number;
  readonly portOpCycles: number;
  readonly vmOpCycles: number;
  readonly vmPageCycles: number;
  readonly pageZeroCycles: number;
  readonly semaphoreCycles: number;
  readonly exceptionCycles: number;
  readonly threadCreateCycles: number;
  readonly memcpySetupCycles: number;
  readonly memcpyCyclesPerByte: number;
}

/** The KN02 system CSR (interrupt pending bits 7:0, enables 23:16); the kernel's own constant. */
const KN02_CSR = 0x1ff0_0000;
/** Frames below this are the kernel's (text, data, drivers' fixed buffers): 2 MB. */
export const KERNEL_RESERVED_BYTES = 2 * 1024 * 1024;
/** Tasks alive on one host at most. */
export const TASKS_MAX = 1024;
export const TASK_LOG_LINES_MAX = 1_000;

export interface SpawnOptions {
  readonly params?: GuestParamsLike;
  readonly privileged?: boolean;
  readonly priority?: number;
}
type GuestParamsLike = Readonly<Record<string, number | string | boolean>>;

/** Why an exception was raised and what the thread does if the handler says "resume". */
type Deferred = { readonly kind: 'unwound' } | { readonly kind: 'done' } | { readonly kind: 'trap'; readonly req: TrapRequest } | { readonly kind: 'bad-trap' };

/** Kinds of the core kernel's objects (kernel modules add their own, e.g. 'netio-channel'). */
export const KOBJ_KIND = {
  TASK: 'task',
  HOST: 'host',
  HOST_PRIV: 'host-priv',
  SEMAPHORE: 'semaphore',
  MEMORY_OBJECT: 'memory-object',
  EXCEPTION_REPLY: 'exception-reply',
} as const;

/** The task's kernel object (its port is the task port). */
class TaskObject implements KObject {
  readonly kind = 'task';
  constructor(readonly task: Task) {}
}
/** The host's ports: host (anyone) and host-privileged (privileged tasks only). */
class HostObject implements KObject {
  constructor(readonly kind: 'host' | 'host-priv') {}
}

export type LookupResult<T> = { readonly ok: true; readonly object: T; readonly port: Port } | { readonly ok: false; readonly kr: number };

export class Kernel {
  readonly tasks = new Map<number, Task>();
  private readonly runQueue: Thread[] = [];
  private nextTaskId = 1;
  private nextThreadId = 1;
  private nextObjectId = 1;
  /** The thread that ran the last user burst (a switch away from it costs a context switch). */
  private lastThread: Thread | undefined = undefined;
  /** The CPU went idle since the last user burst: the next thread is switched to from idle. */
  private cpuIdled = false;
  /**
   * A mach_msg RPC that handed its message to a waiting receiver and then blocked in its own
   * receive: the CPU goes straight to that receiver with a stack hand-off (MK40, CONT §3), which
   * costs kernel.handoffCycles instead of a full context switch.
   */
  private handoff: { readonly from: Thread; readonly to: Thread } | undefined = undefined;
  /** The thread most recently woken (mach_msg looks at it to detect a hand-off). */
  private lastWoken: Thread | undefined = undefined;
  handoffsTotal = 0;
  /** The thread whose generator is being stepped (memory faults are charged to it). */
  private current: Thread | undefined = undefined;
  readonly wheel: TimingWheel;
  readonly costs: KernelCosts;
  readonly frames: FrameAllocator;
  readonly ipc: Ipc;
  readonly bootstrap: BootstrapRegistry;
  readonly hostPort: Port;
  readonly hostPrivPort: Port;
  contextSwitchesTotal = 0;
  trapsTotal = 0;
  exceptionsTotal = 0;
  private readonly services: ServiceTable;

  constructor(readonly host: HostPort) {
    const c = host.costs;
    this.costs = {
      trapCycles: c.get('kernel.trapCycles'),
      nullServiceCycles: c.get('kernel.nullServiceCycles'),
      contextSwitchCycles: c.get('kernel.contextSwitchCycles'),
      handoffCycles: c.get('kernel.handoffCycles'),
      wakeupCycles: c.get('kernel.wakeupCycles'),
      quantumNs: c.get('kernel.quantumNs'),
      interruptEntryCycles: c.get('kernel.interruptEntryCycles'),
      msgSendCycles: c.get('kernel.msgSendCycles'),
      msgReceiveCycles: c.get('kernel.msgReceiveCycles'),
      msgRightCycles: c.get('kernel.msgRightCycles'),
      portOpCycles: c.get('kernel.portOpCycles'),
      vmOpCycles: c.get('kernel.vmOpCycles'),
      vmPageCycles: c.get('kernel.vmPageCycles'),
      pageZeroCycles: c.get('kernel.pageZeroCycles'),
      semaphoreCycles: c.get('kernel.semaphoreCycles'),
      exceptionCycles: c.get('kernel.exceptionCycles'),
      threadCreateCycles: c.get('kernel.threadCreateCycles'),
      memcpySetupCycles: c.get('cpu.memcpySetupCycles'),
      memcpyCyclesPerByte: c.get('cpu.memcpyCyclesPerByte'),
    };
    this.wheel = new TimingWheel(host.sched, 1, `${host.name}.kernel.timers`);
    this.frames = new FrameAllocator(host.ram, Math.min(Math.floor(KERNEL_RESERVED_BYTES / PAGE_SIZE), Math.floor(host.ram.length / PAGE_SIZE / 4)));
    this.ipc = new Ipc({
      charge: (cycles, category) => host.cpu.charge(cycles, category),
      frames: this.frames,
      costs: this.costs,
      trace: (kind, a, b) => {
        if (host.trace.on) host.trace.record(this.source, kind, a, b);
      },
    });
    this.ipc.ramOf = () => host.ram;
    this.ipc.senderRetry = (t) => {
      if (t.state.kind !== 'blocked') return;
      this.wheel.cancel(t.timer);
      t.onTimeout = undefined;
      this.makeRunnable(t, undefined);
    };
    this.ipc.senderWake = (t, r) => {
      t.restart = undefined;
      this.wake(t, r);
    };
    this.bootstrap = new BootstrapRegistry(this.ipc);
    this.hostPort = this.createKernelPort(new HostObject('host'));
    this.hostPrivPort = this.createKernelPort(new HostObject('host-priv'));
    this.services = this.buildServices();
    host.cpu.dispatcher = () => this.dispatch();
    host.cpu.hardwareIrqHandler = () => this.hardwareInterrupt();
  }

  // ---- Interrupts --------------------------------------------------------------------------

  private readonly irqHandlers: ((() => unknown) | undefined)[] = new Array<(() => unknown) | undefined>(8).fill(undefined);
  /**
   * The last value the kernel wrote to the KN02 CSR (interrupt enables, LEDs): software's own
   * copy, so enabling a source is one timed write and never a read-modify-write.
   */
  private csrShadow = -1;
  /** Hardware interrupts taken, and ones no driver claimed (their source is then masked). */
  interruptsTotal = 0;
  strayInterruptsTotal = 0;

  /**
   * Attach a driver's handler to KN02 I/O interrupt bit `bit` (the TURBOchannel slot number; 6 is
   * the on-board Ethernet) and enable the source in the system CSR. The handler may be a
   * generator (it reads its device: kernel/dev/sync.ts).
   */
  registerInterrupt(bit: number, handler: () => unknown): void {
    if (!(Number.isInteger(bit) && bit >= 0 && bit < 8)) bug(`no KN02 interrupt bit ${bit}`);
    if (!(this.irqHandlers[bit] === undefined)) bug(`interrupt bit ${bit} already has a handler`);
    this.irqHandlers[bit] = handler;
    this.setInterruptEnable(bit, true);
  }

  setInterruptEnable(bit: number, enabled: boolean): void {
    const bus = this.host.bus;
    if (this.csrShadow < 0) this.csrShadow = bus.peek32(KN02_CSR) & 0xffff_ff00;
    const mask = 1 << (16 + bit);
    this.csrShadow = (enabled ? this.csrShadow | mask : this.csrShadow & ~mask) >>> 0;
    bus.write32(KN02_CSR, this.csrShadow);
  }

  /**
   * The CPU's hardware interrupt 0: read the system CSR, run the handler of each pending and
   * enabled source, lowest bit first (NetBSD's KN02 dispatch: pending = CSR & (CSR >> 16)).
   */
  private *hardwareInterrupt(): Sync {
    const cpu = this.host.cpu;
    cpu.charge(this.costs.interruptEntryCycles, 'interrupt');
    this.interruptsTotal++;
    if (cpu.isAhead) yield SYNC;
    const csr = this.host.bus.read32(KN02_CSR);
    const pending = csr & (csr >>> 16) & 0xff;
    for (let bit = 0; bit < 8; bit++) {
      if ((pending & (1 << bit)) === 0) continue;
      const h = this.irqHandlers[bit];
      if (h !== undefined) {
        const r = h();
        if (isSync(r)) yield* r;
      } else {
        // Nobody claims it: mask it so a stuck line cannot hold the CPU forever.
        this.strayInterruptsTotal++;
        this.setInterruptEnable(bit, false);
        this.host.trace.record(this.source, 'irq.stray', bit);
      }
    }
  }

  /** Run kernel code at interrupt level as soon as possible (a software interrupt; may be a generator). */
  postKernelWork(work: () => unknown): void {
    this.host.cpu.postSoftInterrupt(work);
  }

  private get source(): string {
    return `${this.host.name}.kernel`;
  }

  // ---- Tasks and threads -------------------------------------------------------------------

  /** Create a task with one thread running `program` (undefined when the host's task limit is reached). */
  spawn(name: string, program: GuestProgram, options: SpawnOptions = {}): Task {
    if (!(this.liveTasks() < TASKS_MAX)) bug(`more than ${TASKS_MAX} tasks on ${this.host.name}`);
    const task = this.newTask(name, options.privileged ?? false, options.params ?? {});
    this.addThread(task, program, options.priority ?? PRIORITY_DEFAULT);
    this.host.trace.record(this.source, 'task.spawn', task.id, 0, name);
    return task;
  }

  /** A task with an empty map and name space, its guest-memory view and its task port; no thread yet. */
  private newTask(name: string, privileged: boolean, params: GuestParams): Task {
    const space = new Space(undefined);
    const map = new VmMap(this.frames);
    const task = new Task(this.nextTaskId++, name, privileged, params, space, map);
    space.task = task;
    task.mem = createGuestMemory(map, this.host.ram, this.host.bus, {
      fault: (f) => {
        const cur = this.current;
        if (cur !== undefined && cur.task === task && cur.fault === undefined) cur.fault = f;
      },
      beforeDeviceAccess: () => {
        const cur = this.current;
        if (cur === undefined) return;
        cur.chargeSpent(this.chargeCpu);
      },
      beforeStore: (phys, length) => {
        // The guest stands at the CPU's local time plus the cycles it has recorded since.
        const cur = this.current;
        const cpu = this.host.cpu;
        if (cur === undefined || !cpu.isAhead && cur.spentCycles === 0) return;
        this.host.noteCpuStore(phys, length, cpu.localNow() + cur.spentCycles * R3000_25MHZ.periodNs);
      },
    });
    task.selfPort = this.createKernelPort(new TaskObject(task));
    this.tasks.set(task.id, task);
    return task;
  }

  /**
   * task_create (Mach KP ch.3; mach-semantics.md §tasks): a child of `parent` with an empty name
   * space; its map empty, or (inheritMemory) inherited page by page per vm_inherit; the parent's
   * exception port and registered ports inherited as kernel-held send rights. Not privileged:
   * privilege stands for holding the host-privileged port, and the child's name space is empty.
   * Mach's task_create starts no thread (thread_create on the child's task port does); a guest
   * thread is a generator that cannot be cloned at a trap, so here the child's first thread runs
   * `program` at once — the continuation a fork's child returns into. Returns a send right to the
   * child's task port in the parent, or RESOURCE_SHORTAGE (task limit, no frames for a copy).
   */
  private taskCreate(t: Thread, inheritMemory: boolean, program: GuestProgram, priority: number): SyscallResults['task_create'] {
    const c = this.costs;
    const cpu = this.host.cpu;
    cpu.charge(c.threadCreateCycles + c.vmOpCycles, 'task');
    const parent = t.task;
    if (!(this.liveTasks() < TASKS_MAX)) return { kr: KERN.RESOURCE_SHORTAGE, task: 0 };
    const child = this.newTask(`${parent.name}.child`, false, parent.params);
    child.parentId = parent.id;
    if (inheritMemory) {
      const ram = this.host.ram;
      const r = parent.map.inheritInto(child.map, (from, to) => ram.copyWithin(to * PAGE_SIZE, from * PAGE_SIZE, (from + 1) * PAGE_SIZE));
      cpu.charge((r.shared + r.copied) * c.vmPageCycles + r.copied * (c.memcpySetupCycles + PAGE_SIZE * c.memcpyCyclesPerByte), 'vm');
      if (r.kr !== KERN.SUCCESS) {
        this.endTask(child, { kind: 'killed', by: 'task_create: no frames for the inherited map' });
        return { kr: r.kr, task: 0 };
      }
    }
    if (parent.exceptionPort !== undefined && !parent.exceptionPort.dead) {
      this.ipc.copySend(parent.exceptionPort);
      child.exceptionPort = parent.exceptionPort;
    }
    for (const p of parent.registeredPorts) {
      if (p !== undefined && !p.dead) this.ipc.copySend(p);
      child.registeredPorts.push(p !== undefined && !p.dead ? p : undefined);
    }
    this.host.trace.record(this.source, 'task.create', child.id, parent.id, child.name);
    const th = this.addThread(child, program, priority < 0 ? t.priority : priority);
    if (th === undefined) {
      this.endTask(child, { kind: 'killed', by: 'task_create: no thread' });
      return { kr: KERN.RESOURCE_SHORTAGE, task: 0 };
    }
    const r = this.insertSendRight(parent, child.selfPort!);
    if (r.kr !== KERN.SUCCESS) {
      this.endTask(child, { kind: 'killed', by: 'task_create: no name for the task port' });
      return { kr: r.kr, task: 0 };
    }
    return { kr: KERN.SUCCESS, task: r.name };
  }

  /** The registered-port array of a task, released (task death, mach_ports_register). */
  private releaseRegistered(task: Task): void {
    const old = task.registeredPorts;
    task.registeredPorts = [];
    for (const p of old) if (p !== undefined) this.ipc.releaseSend(p);
  }

  private liveTasks(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.alive) n++;
    return n;
  }

  addThread(task: Task, program: GuestProgram, priority: number): Thread | undefined {
    if (!task.alive) return undefined;
    if (task.threads.length >= THREADS_PER_TASK_MAX) {
      // Forget dead threads (a create/exit loop must not grow the array without bound).
      const live = task.threads.filter((t) => t.state.kind !== 'dead');
      task.threads.length = 0;
      task.threads.push(...live);
      if (live.length >= THREADS_PER_TASK_MAX) return undefined;
    }
    const id = this.nextThreadId++;
    const thread = new Thread(id, task, undefined, clampPriority(priority, task.privileged), () => this.onThreadTimer(thread));
    const ctx: GuestContext = {
      spend: (cycles: number, category?: string) => {
        // A guest passing garbage here only hurts itself: it is charged nothing for it. The
        // cycles go to the thread running now (a library's network thread may use its task's
        // main context), so they are charged in the burst that did the work. A category names
        // the protocol layer for per-layer accounting (cpu.cyclesByCategory); time is the same.
        if (!(Number.isFinite(cycles) && cycles > 0)) return;
        const t = this.current ?? thread;
        if (typeof category !== 'string' || category === '' || category.length > 32) t.spentCycles += cycles;
        else {
          const m = (t.spentByCategory ??= new Map());
          if (m.size < 16 || m.has(category)) m.set(category, (m.get(category) ?? 0) + cycles);
          else t.spentCycles += cycles;
        }
      },
      mem: task.mem!,
      params: task.params,
      taskId: task.id,
    };
    try {
      thread.gen = program(ctx);
    } catch (e) {
      this.endTask(task, { kind: 'guest-error', message: `program failed to start: ${errorText(e)}` });
      return undefined;
    }
    task.threads.push(thread);
    this.makeRunnable(thread, undefined);
    return thread;
  }

  /** Wake a blocked thread with its trap's result. */
  wake(thread: Thread, result: TrapResult): void {
    if (thread.state.kind !== 'blocked') return;
    this.lastWoken = thread;
    thread.woken = true;
    this.wheel.cancel(thread.timer);
    thread.onTimeout = undefined;
    thread.waitCancel = undefined;
    this.makeRunnable(thread, result);
  }

  private makeRunnable(thread: Thread, result: TrapResult | undefined): void {
    thread.state = { kind: 'runnable' };
    thread.resumeValue = result;
    this.runQueue.push(thread);
    this.observeRunQueue();
    this.host.cpu.kick();
  }

  /** The run queue's length for a timeline (studies/trace; observer only, never in the fingerprint). */
  private observeRunQueue(): void {
    const o = this.host.trace.observer;
    if (o !== undefined) o.level(this.source, 'run queue', this.runQueue.length, this.host.cpu.localNow());
  }

  /** Pick the highest-priority runnable thread (FIFO among equals). */
  private pickNext(): Thread | undefined {
    let bestIndex = -1;
    for (let i = 0; i < this.runQueue.length; i++) {
      const t = this.runQueue[i]!;
      if (t.state.kind !== 'runnable') continue;
      if (bestIndex < 0 || t.effectivePriority > this.runQueue[bestIndex]!.effectivePriority) bestIndex = i;
    }
    if (bestIndex < 0) {
      this.runQueue.length = 0;
      this.observeRunQueue();
      return undefined;
    }
    // A hand-off target runs next unless something of higher priority is waiting.
    const h = this.handoff;
    if (h !== undefined && h.to.state.kind === 'runnable' && h.to.effectivePriority >= this.runQueue[bestIndex]!.effectivePriority) {
      const i = this.runQueue.indexOf(h.to);
      if (i >= 0) bestIndex = i;
    }
    // Take it out in place (splice would make an array per dispatch).
    const q = this.runQueue;
    const t = q[bestIndex];
    for (let i = bestIndex; i + 1 < q.length; i++) q[i] = q[i + 1]!;
    q.length--;
    this.observeRunQueue();
    return t;
  }

  private dispatch(): void {
    const thread = this.pickNext();
    if (thread === undefined) {
      // Idle until an interrupt or a kick. Mach runs its idle thread meanwhile, so whatever runs
      // next is switched to from it (MB93's "wake user thread" includes that switch).
      this.cpuIdled = true;
      return;
    }
    // One burst at a time per CPU: the thread is kept in a field, so the body and the end-of-burst
    // callback are made once per kernel, not per burst.
    this.burstThread = thread;
    this.host.cpu.execute('user', this.burstBody, this.burstOptions);
  }

  /** The thread of the burst the CPU runs (set by dispatch; read at the burst's start and end). */
  private burstThread: Thread | undefined = undefined;
  private readonly burstBody = (): Sync => this.runBurst(this.burstThread!);
  private readonly burstOptions = { onDone: (): void => this.afterBurst(this.burstThread!) };
  /** Charges a thread's recorded user cycles to the CPU (made once, not per trap). */
  private readonly chargeCpu = (cycles: number, category: string): void => this.host.cpu.charge(cycles, category);

  private afterBurst(thread: Thread): void {
    if (thread.state.kind !== 'runnable' || this.runQueue.includes(thread)) return;
    // Mach does not reschedule at a trap that did not block: the thread keeps the CPU until it
    // blocks, yields, is preempted by a higher priority, or its quantum ends (then it goes
    // behind its equals). It goes first among its equals; pickNext still prefers a higher priority.
    if (!thread.yieldRequested && this.host.cpu.localNow() < thread.quantumEndNs) {
      thread.continuing = true;
      this.runQueue.unshift(thread);
    } else this.runQueue.push(thread);
    thread.yieldRequested = false;
    this.observeRunQueue();
  }

  private *runBurst(thread: Thread): Sync {
    const cpu = this.host.cpu;
    const handoff = this.handoff;
    this.handoff = undefined;
    if (!thread.continuing) thread.quantumEndNs = cpu.localNow() + this.costs.quantumNs;
    thread.continuing = false;
    const handedOff = handoff !== undefined && handoff.from === this.lastThread && handoff.to === thread && !this.cpuIdled;
    if (thread.woken) {
      // A thread that blocked runs again through the scheduler's wake-up path; an RPC's stack
      // hand-off goes straight to the receiver and skips it.
      thread.woken = false;
      if (!handedOff) cpu.charge(thread.wakeupCycles ?? this.costs.wakeupCycles, 'wakeup');
      thread.wakeupCycles = undefined;
    }
    if (this.cpuIdled) {
      this.cpuIdled = false;
      cpu.charge(this.costs.contextSwitchCycles, 'context-switch');
      this.contextSwitchesTotal++;
      this.lastThread = thread;
    } else if (this.lastThread !== thread) {
      if (handedOff) {
        cpu.charge(this.costs.handoffCycles, 'context-switch');
        this.handoffsTotal++;
      } else if (this.lastThread !== undefined) {
        cpu.charge(this.costs.contextSwitchCycles, 'context-switch');
        this.contextSwitchesTotal++;
      }
      this.lastThread = thread;
    }
    let req: TrapRequest;
    if (thread.restart !== undefined) {
      // A sender parked on a full queue runs its trap again (inside the kernel: no new trap entry).
      req = thread.restart;
      thread.restart = undefined;
    } else {
      const resume = thread.resumeValue;
      thread.resumeValue = undefined;
      const gen = thread.gen;
      if (gen === undefined) {
        this.endThread(thread);
        return;
      }
      // The step's fields are read inside the try: a hostile "generator" may return anything.
      let stepDone = false;
      let stepValue: unknown = undefined;
      let thrown: unknown = undefined;
      let threw = false;
      this.current = thread;
      try {
        const raw: unknown = gen.next(resume as TrapResult);
        if (typeof raw !== 'object' || raw === null) throw new TypeError('generator step is not an object');
        const r = raw as { done?: unknown; value?: unknown };
        stepDone = r.done === true;
        stepValue = r.value;
      } catch (e) {
        threw = true;
        thrown = e;
      } finally {
        this.current = undefined;
      }
      thread.chargeSpent(this.chargeCpu);
      const fault = thread.fault;
      thread.fault = undefined;
      if (fault !== undefined) {
        let deferred: Deferred;
        if (threw) deferred = { kind: 'unwound' };
        else if (stepDone) deferred = { kind: 'done' };
        else {
          // The guest caught the fault and trapped: that trap runs if the handler resumes it.
          const d = decodeTrap(stepValue);
          deferred = d.ok ? { kind: 'trap', req: d.req } : { kind: 'bad-trap' };
        }
        this.raiseException(thread, EXC.BAD_ACCESS, fault.fault === 'protection' ? KERN.PROTECTION_FAILURE : KERN.INVALID_ADDRESS, fault.address, `thread ${thread.id}: ${fault.message}`, deferred);
        return;
      }
      if (threw) {
        const what = thrown instanceof MemoryFault ? thrown.message : `threw: ${errorText(thrown)}`;
        this.raiseException(thread, EXC.SOFTWARE, 0, 0, `thread ${thread.id} ${what}`, { kind: 'unwound' });
        return;
      }
      if (stepDone) {
        this.endThread(thread);
        return;
      }
      cpu.charge(this.costs.trapCycles, 'trap');
      thread.trapsTotal++;
      this.trapsTotal++;
      const decoded = decodeTrap(stepValue);
      if (!decoded.ok) {
        this.raiseException(thread, EXC.BAD_INSTRUCTION, 0, 0, `thread ${thread.id}: ${decoded.error}`, { kind: 'bad-trap' });
        return;
      }
      req = decoded.req;
    }
    thread.depressed = false;
    if (this.host.trace.on) this.host.trace.record(this.source, 'trap', SYSCALL_TABLE[req.sys].number, thread.id);
    const service = (this.services as Partial<Record<SyscallName, unknown>>)[req.sys] ?? this.moduleServices.get(req.sys);
    let answer: unknown = service === undefined ? { kr: KERN.FAILURE } : (service as (t: Thread, r: TrapRequest) => unknown)(thread, req);
    // A service that reads a device is a generator (kernel/dev/sync.ts): drive it here.
    if (isSync(answer)) answer = yield* answer;
    if (answer === BLOCKED) {
      if (!(thread.state.kind !== 'runnable' || thread.restart !== undefined)) bug(`service ${req.sys} answered BLOCKED without blocking`);
      return;
    }
    if (thread.state.kind === 'runnable') thread.resumeValue = answer as TrapResult;
  }

  /**
   * Block `thread` (a service returns the result). `wakeupCycles`: the wake-up path this wait's
   * wake-up pays instead of kernel.wakeupCycles (a module whose waits wake by another path, e.g.
   * the monolithic kernel's sleep/wakeup, calibrated on its own published row).
   */
  block(thread: Thread, on: string, wakeupCycles?: number): typeof BLOCKED {
    thread.state = { kind: 'blocked', on };
    thread.wakeupCycles = wakeupCycles;
    return BLOCKED;
  }

  /** Block with a timeout: `onTimeout` runs (at interrupt level) if nothing woke the thread by then. */
  private blockFor(thread: Thread, on: string, ns: number | undefined, onTimeout: () => void): typeof BLOCKED {
    if (ns !== undefined) {
      thread.onTimeout = onTimeout;
      this.wheel.arm(thread.timer, this.host.cpu.localNow() + ns);
    }
    return this.block(thread, on);
  }

  private onThreadTimer(thread: Thread): void {
    // A kernel timer callout runs at interrupt level on the CPU.
    this.host.cpu.postSoftInterrupt(() => {
      this.host.cpu.charge(this.costs.nullServiceCycles, 'timer');
      const action = thread.onTimeout;
      thread.onTimeout = undefined;
      if (thread.state.kind !== 'blocked' || action === undefined) return;
      thread.waitCancel?.();
      thread.waitCancel = undefined;
      action();
    });
  }

  private endThread(thread: Thread): void {
    this.killThread(thread);
    if (thread.task.threads.every((t) => t.state.kind === 'dead') && thread.task.alive) {
      this.endTask(thread.task, { kind: 'exit', code: 0 });
    }
  }

  private killThread(t: Thread): void {
    t.state = { kind: 'dead' };
    this.wheel.cancel(t.timer);
    t.waitCancel?.();
    t.waitCancel = undefined;
    t.onTimeout = undefined;
    t.restart = undefined;
    t.gen = undefined;
  }

  /**
   * End a task: every thread dies; every right it holds is released (its ports die, their send
   * rights elsewhere become dead names and dead-name notifications fire; its send rights may fire
   * no-senders); every mapping goes; its task port dies. The reason is recorded (and traced).
   */
  endTask(task: Task, reason: TaskExit): void {
    // A task of another host's kernel: ending it here would tear down this kernel's state with its rights.
    assert(this.tasks.get(task.id) === task, `endTask: task ${task.id} (${task.name}) does not belong to ${this.host.name}`);
    if (!task.alive) return;
    task.exit = reason;
    for (const t of task.threads) this.killThread(t);
    if (reason.kind === 'guest-error') this.host.trace.guestError(this.source, `task ${task.id} (${task.name}): ${reason.message}`, task.id);
    else this.host.trace.record(this.source, 'task.exit', task.id, reason.kind === 'exit' ? reason.code : -1, reason.kind);
    this.ipc.destroySpace(task.space);
    task.map.destroy();
    if (task.exceptionPort !== undefined) {
      const p = task.exceptionPort;
      task.exceptionPort = undefined;
      this.ipc.releaseSend(p);
    }
    this.releaseRegistered(task);
    if (task.selfPort !== undefined) this.ipc.destroyKernelPort(task.selfPort);
    for (const hook of this.taskDeathHooks) hook(task);
  }

  /**
   * End `task` and every task it created with task_create, transitively (a harness's kill of a
   * process group: Mach's children are independent tasks, and a child blocked for ever would
   * otherwise outlive an adversary that was killed). Children of a task already dead are ended too.
   */
  endTaskTree(task: Task, reason: TaskExit): void {
    const ids = new Set([task.id]);
    this.endTask(task, reason);
    for (let grew = true; grew; ) {
      grew = false;
      for (const t of this.tasks.values()) {
        if (t.parentId === undefined || !ids.has(t.parentId) || ids.has(t.id)) continue;
        ids.add(t.id);
        this.endTask(t, reason);
        grew = true;
      }
    }
  }

  private readonly taskDeathHooks: ((task: Task) => void)[] = [];
  /** Kernel modules learn of task death here (e.g. the network I/O module closes its channels). */
  onTaskDeath(hook: (task: Task) => void): void {
    this.taskDeathHooks.push(hook);
  }

  // ---- Exceptions ----------------------------------------------------------------------------

  /**
   * A thread faulted or misbehaved: send exception_raise to the task's exception port with a
   * send-once reply right to a kernel port; the thread waits. A KERN_SUCCESS reply resumes it
   * (if its generator survived the fault) or ends just that thread; any other reply, a dead or
   * missing port, or a destroyed reply right ends the task with the reason.
   */
  private raiseException(thread: Thread, exc: number, code: number, subcode: number, reason: string, deferred: Deferred): void {
    const task = thread.task;
    this.exceptionsTotal++;
    this.host.cpu.charge(this.costs.exceptionCycles, 'exception');
    const excPort = task.exceptionPort;
    if (excPort === undefined || excPort.dead) {
      this.endTask(task, { kind: 'guest-error', message: reason });
      return;
    }
    this.host.trace.record(this.source, 'exception', task.id, exc, reason);
    this.block(thread, 'exception');
    let replyPort: Port | undefined = undefined;
    const replyObject: KObject = {
      kind: 'exception-reply',
      onMessage: (kmsg: KMsg) => {
        const first = kmsg.items[0];
        const kr = kmsg.id === NOTIFY.SEND_ONCE ? KERN.FAILURE : first !== undefined && first.type === 'int32' && first.values.length > 0 ? first.values[0]! : KERN.FAILURE;
        this.ipc.destroyKmsg(kmsg);
        if (replyPort !== undefined) this.ipc.destroyKernelPort(replyPort);
        this.finishException(thread, kr, reason, deferred);
        return MACH_MSG.SUCCESS;
      },
    };
    replyPort = this.createKernelPort(replyObject);
    this.ipc.makeSendOnce(replyPort);
    this.ipc.copySend(excPort);
    this.ipc.kernelSend({ kind: 'send', port: excPort }, EXC_MSG_ID, [{ type: 'int32', values: [task.id, thread.id, exc, code >>> 0, subcode >>> 0] }], {
      kind: 'send-once',
      port: replyPort,
    });
  }

  private finishException(thread: Thread, kr: number, reason: string, deferred: Deferred): void {
    const task = thread.task;
    if (!task.alive || thread.state.kind !== 'blocked') return;
    if (kr !== KERN.SUCCESS) {
      this.endTask(task, { kind: 'guest-error', message: `${reason} (exception not handled: ${kr})` });
      return;
    }
    switch (deferred.kind) {
      case 'unwound':
      case 'done':
        this.endThread(thread);
        return;
      case 'trap':
        thread.restart = deferred.req;
        this.makeRunnable(thread, undefined);
        return;
      case 'bad-trap':
        this.makeRunnable(thread, { kr: KERN.INVALID_ARGUMENT });
        return;
    }
  }

  // ---- Kernel-internal API (drivers, network I/O module) ------------------------------------

  /** A port received by the kernel and bound to `object`: a send right to it is a capability to the object. */
  createKernelPort(object: KObject): Port {
    const p = this.ipc.newPort('kernel', object);
    assert(p !== undefined, 'out of ports for a kernel object');
    return p;
  }

  /** Insert a new send right to `port` into `task`'s space; returns its name (merged with an existing one). */
  insertSendRight(task: Task, port: Port): { kr: number; name: number } {
    if (!task.alive) return { kr: KERN.INVALID_TASK, name: 0 };
    if (port.dead) return { kr: KERN.INVALID_CAPABILITY, name: 0 };
    this.ipc.makeSend(port);
    const name = this.ipc.copyoutSend(task.space, port);
    return name === undefined ? { kr: KERN.NO_SPACE, name: 0 } : { kr: KERN.SUCCESS, name };
  }

  /**
   * The kernel object behind `name` in `task`'s space, which must be a send right to a live
   * kernel port of kind `kind`. Errors: KERN_INVALID_NAME (no such name), KERN_INVALID_RIGHT
   * (not a send right, e.g. a receive or send-once right), KERN_INVALID_CAPABILITY (a dead name,
   * or not a kernel object), KERN_INVALID_ARGUMENT (another kind of object).
   */
  lookupKernelObject<T extends KObject>(task: Task, name: number, kind: string): LookupResult<T> {
    const e = task.space.entries.get(name);
    if (e === undefined) return { ok: false, kr: KERN.INVALID_NAME };
    if (e.deadRefs > 0 && e.port === undefined) return { ok: false, kr: KERN.INVALID_CAPABILITY };
    if (e.sendRefs === 0 || e.port === undefined) return { ok: false, kr: KERN.INVALID_RIGHT };
    const p = e.port;
    if (p.dead || p.receiver !== 'kernel' || p.kobject === undefined) return { ok: false, kr: KERN.INVALID_CAPABILITY };
    if (p.kobject.kind !== kind) return { ok: false, kr: KERN.INVALID_ARGUMENT };
    return { ok: true, object: p.kobject as T, port: p };
  }

  /**
   * Does `name` in `task` name the host-privileged port? KERN_SUCCESS, or the error to return
   * (KERN_INVALID_HOST for a right to something else) — for privileged module calls.
   */
  checkHostPriv(task: Task, name: number): number {
    const h = this.lookupKernelObject<HostObject>(task, name, KOBJ_KIND.HOST_PRIV);
    if (h.ok) return KERN.SUCCESS;
    return h.kr === KERN.INVALID_ARGUMENT ? KERN.INVALID_HOST : h.kr;
  }

  /** The task behind a task-port name (a capability to that task), for module calls taking a task. */
  lookupTask(task: Task, name: number): { ok: true; task: Task } | { ok: false; kr: number } {
    const r = this.lookupKernelObject<TaskObject>(task, name, KOBJ_KIND.TASK);
    return r.ok ? { ok: true, task: r.object.task } : { ok: false, kr: r.kr };
  }

  /** Destroy a kernel-object port: its send rights become dead names; dead-name notifications fire. */
  destroyPort(port: Port): void {
    this.ipc.destroyKernelPort(port);
  }

  /**
   * A semaphore with `initial` pending signals and its port (names come from insertSendRight).
   * By default the calling module holds a send right of its own, so the semaphore lives until it
   * calls `sem.destroy()`; with `moduleHeld` false (semaphore_create) it dies with its last send right.
   */
  createSemaphore(initial = 0, moduleHeld = true): Semaphore {
    let sem: Semaphore | undefined = undefined;
    sem = new Semaphore(
      this.nextObjectId++,
      initial,
      (t, kr, from) => {
        const set = t.waitAny;
        if (set === undefined) {
          this.wake(t, { kr });
          return;
        }
        // semaphore_wait_any: `from` dequeued it; leave the other queues, report which one.
        t.waitAny = undefined;
        for (const o of set) if (o !== from) removeWaiter(o as Semaphore, t);
        this.wake(t, { kr, index: set.indexOf(from) });
      },
      (s) => {
        if (s.port !== undefined && !s.port.dead) this.ipc.destroyKernelPort(s.port);
      },
    );
    sem.port = this.createKernelPort(sem);
    if (moduleHeld) this.ipc.makeSend(sem.port);
    return sem;
  }

  /** Signal a semaphore from kernel code (interrupt level included); charged to the running body. */
  semaphoreSignal(sem: Semaphore): void {
    this.host.cpu.charge(this.costs.semaphoreCycles, 'semaphore');
    sem.signal();
  }

  /** Allocate `pages` zeroed, wired frames as a memory object the calling module holds. */
  createWiredObject(pages: number): MemoryObject | undefined {
    if (!Number.isSafeInteger(pages) || pages <= 0 || pages > 4096) return undefined;
    const frames = this.frames.allocMany(pages);
    if (frames === undefined) return undefined;
    this.host.cpu.charge(pages * (this.costs.pageZeroCycles + this.costs.vmPageCycles), 'vm');
    return new MemoryObject(this.nextObjectId++, frames, true, this.frames, () => {});
  }

  /**
   * Map `object` into `task` (anywhere, or at `address`), protection `prot` (max = prot).
   * Returns the task address and each page's physical address.
   */
  mapObject(task: Task, object: MemoryObject, prot: number = VM_PROT.DEFAULT, address?: number): { kr: number; address: number; physAddrs: number[] } {
    if (!task.alive) return { kr: KERN.INVALID_TASK, address: 0, physAddrs: [] };
    if (object.freed) return { kr: KERN.INVALID_ARGUMENT, address: 0, physAddrs: [] };
    this.host.cpu.charge(this.costs.vmOpCycles + object.frames.length * this.costs.vmPageCycles, 'vm');
    const r = task.map.mapFrames(address ?? 0, address === undefined, object.frames, prot & VM_PROT.ALL, prot & VM_PROT.ALL);
    if (r.kr !== KERN.SUCCESS) return { kr: r.kr, address: 0, physAddrs: [] };
    if (object.wired) task.map.wire(r.address, object.size, true);
    object.mappedInto.add(task.map);
    return { kr: KERN.SUCCESS, address: r.address, physAddrs: object.physAddrs };
  }

  /**
   * Revocation: take `object`'s pages out of every task map it was mapped into (by the module or
   * by the tasks' own vm_map), wherever they are. Pages a task already gave back are not there to
   * remove. After this no task can reach the frames; they return to the pool once the object is freed.
   */
  revokeObject(object: MemoryObject): number {
    const frames = new Set(object.frames);
    let pages = 0;
    for (const map of object.mappedInto) {
      this.host.cpu.charge(this.costs.vmOpCycles, 'vm');
      const n = map.revokeFrames(frames);
      this.host.cpu.charge(n * this.costs.vmPageCycles, 'vm');
      pages += n;
    }
    object.mappedInto.clear();
    return pages;
  }

  /** Remove `pages` pages at `address` from `task`'s map (unwiring them). */
  unmapObject(task: Task, address: number, pages: number): number {
    if (!task.alive) return KERN.SUCCESS; // death already unmapped everything
    this.host.cpu.charge(this.costs.vmOpCycles, 'vm');
    return task.map.deallocate(address, pages * PAGE_SIZE);
  }

  /** Release the module's hold on an object; frames return to the pool when no mapping holds them. */
  freeObject(object: MemoryObject): void {
    object.free();
  }

  /** Map one physical device page (e.g. the AN1 clock page) read-only into `task`. */
  mapDevicePage(task: Task, physAddr: number): { kr: number; address: number } {
    if (!task.alive) return { kr: KERN.INVALID_TASK, address: 0 };
    if (physAddr % PAGE_SIZE !== 0 || physAddr < this.host.ramSize) return { kr: KERN.INVALID_ADDRESS, address: 0 };
    this.host.cpu.charge(this.costs.vmOpCycles, 'vm');
    return task.map.mapDevice(physAddr);
  }

  /** Copy `length` bytes in from a task's memory (readable pages only), charged as a copy. */
  copyin(task: Task, address: number, length: number): { kr: number; bytes: Uint8Array } {
    const empty = new Uint8Array(0);
    if (!Number.isSafeInteger(length) || length < 0 || length > 16 * 1024 * 1024) return { kr: KERN.INVALID_ARGUMENT, bytes: empty };
    if (length === 0) return { kr: KERN.SUCCESS, bytes: empty };
    const frames = task.map.framesOf(address, length, VM_PROT.READ);
    if (frames === undefined) return { kr: KERN.INVALID_ADDRESS, bytes: empty };
    this.host.cpu.charge(this.costs.memcpySetupCycles + length * this.costs.memcpyCyclesPerByte, 'copy');
    const out = new Uint8Array(length);
    this.moveBytes(task, address, length, (phys, off, n) => out.set(this.host.ram.subarray(phys, phys + n), off));
    return { kr: KERN.SUCCESS, bytes: out };
  }

  /** Copy bytes out into a task's memory (writable pages only), charged as a copy. */
  copyout(task: Task, address: number, bytes: Uint8Array): number {
    if (bytes.length === 0) return KERN.SUCCESS;
    const frames = task.map.framesOf(address, bytes.length, VM_PROT.WRITE);
    if (frames === undefined) return KERN.INVALID_ADDRESS;
    this.host.cpu.charge(this.costs.memcpySetupCycles + bytes.length * this.costs.memcpyCyclesPerByte, 'copy');
    this.moveBytes(task, address, bytes.length, (phys, off, n) => this.host.ram.set(bytes.subarray(off, off + n), phys));
    return KERN.SUCCESS;
  }

  private moveBytes(task: Task, address: number, length: number, step: (phys: number, offset: number, n: number) => void): void {
    let done = 0;
    while (done < length) {
      const a = address + done;
      const m = task.map.lookup(a)!;
      const off = a % PAGE_SIZE;
      const n = Math.min(length - done, PAGE_SIZE - off);
      step(m.phys + off, done, n);
      done += n;
    }
  }

  /** Publish a kernel port in the bootstrap registry (kernel servers, tests). */
  publish(service: string, port: Port): number {
    this.ipc.makeSend(port);
    return this.bootstrap.register(service, port);
  }

  // ---- System calls --------------------------------------------------------------------------

  private readonly moduleServices = new Map<SyscallName, unknown>();

  /** A kernel module serves one of the table's module system calls (e.g. the network I/O module's traps). */
  registerService<K extends ModuleSyscallName>(name: K, service: Service<K>): void {
    if (this.moduleServices.has(name)) bug(`system call ${name} registered twice`);
    this.moduleServices.set(name, service);
  }

  private buildServices(): ServiceTable {
    const cpu = this.host.cpu;
    const c = this.costs;
    const ipc = this.ipc;
    const ok = { kr: KERN.SUCCESS } as const;
    const portOp = (): void => cpu.charge(c.portOpCycles, 'ipc');
    const semOf = (t: Thread, name: number): LookupResult<Semaphore> => {
      cpu.charge(c.semaphoreCycles, 'semaphore');
      return this.lookupKernelObject<Semaphore>(t.task, name, 'semaphore');
    };
    const semWait = (t: Thread, name: number, ns: number | undefined): { kr: number } | typeof BLOCKED => {
      const s = semOf(t, name);
      if (!s.ok) return { kr: s.kr };
      if (s.object.tryWait()) return ok;
      if (ns === 0) return { kr: KERN.OPERATION_TIMED_OUT };
      if (!s.object.enqueue(t)) return { kr: KERN.RESOURCE_SHORTAGE };
      return this.blockFor(t, 'semaphore', ns, () => this.wake(t, { kr: KERN.OPERATION_TIMED_OUT }));
    };
    /**
     * One waiter, many semaphores (select/poll under a user-level library: issue 17 item 2). The
     * names are copied in as an array of u32; each is looked up (charged as semaphore_wait's
     * lookup). Bad arguments: an empty or ragged array, more than SEMAPHORE_WAIT_ANY_MAX names or a
     * name given twice → KERN_INVALID_ARGUMENT (index -1); a name that is not a semaphore → its
     * lookup error with its index. Else the first semaphore in order with a pending signal is
     * consumed; otherwise the thread joins every queue and the first signal (or destroy:
     * KERN_TERMINATED) wakes it with that semaphore's index; timeout → KERN_OPERATION_TIMED_OUT, -1.
     */
    const semWaitAny = (t: Thread, req: SyscallArgs<'semaphore_wait_any'>): SyscallResults['semaphore_wait_any'] | typeof BLOCKED => {
      const b = req.sems;
      cpu.charge(c.memcpySetupCycles + b.length * c.memcpyCyclesPerByte, 'copy');
      const n = b.length / 4;
      if (b.length === 0 || !Number.isInteger(n) || n > SEMAPHORE_WAIT_ANY_MAX) return { kr: KERN.INVALID_ARGUMENT, index: -1 };
      const names: number[] = [];
      for (let i = 0; i < n; i++) names.push((b[4 * i]! | (b[4 * i + 1]! << 8) | (b[4 * i + 2]! << 16) | (b[4 * i + 3]! << 24)) >>> 0);
      if (new Set(names).size !== n) return { kr: KERN.INVALID_ARGUMENT, index: -1 };
      const sems: Semaphore[] = [];
      for (let i = 0; i < n; i++) {
        const s = semOf(t, names[i]!);
        if (!s.ok) return { kr: s.kr, index: i };
        sems.push(s.object);
      }
      for (let i = 0; i < n; i++) if (sems[i]!.tryWait()) return { kr: KERN.SUCCESS, index: i };
      if (req.timed && req.ns === 0) return { kr: KERN.OPERATION_TIMED_OUT, index: -1 };
      for (let i = 0; i < n; i++) {
        if (!sems[i]!.enqueue(t)) {
          for (let j = 0; j < i; j++) removeWaiter(sems[j]!, t);
          t.waitCancel = undefined;
          return { kr: KERN.RESOURCE_SHORTAGE, index: i };
        }
      }
      t.waitAny = sems;
      t.waitCancel = () => {
        for (const s of sems) removeWaiter(s, t);
        t.waitAny = undefined;
      };
      return this.blockFor(t, 'semaphore', req.timed ? req.ns : undefined, () => this.wake(t, { kr: KERN.OPERATION_TIMED_OUT, index: -1 }));
    };
    return {
      null_trap: () => {
        cpu.charge(c.nullServiceCycles, 'trap');
        return ok;
      },
      task_exit: (t, req) => {
        this.endTask(t.task, { kind: 'exit', code: req.code });
        return BLOCKED;
      },
      thread_yield: (t) => {
        // The burst ends with the thread behind its equals: another runnable thread of equal priority runs first.
        cpu.charge(c.nullServiceCycles, 'trap');
        t.yieldRequested = true;
        return ok;
      },
      clock_get_ns: () => {
        cpu.charge(c.nullServiceCycles, 'trap');
        return { kr: KERN.SUCCESS, ns: cpu.localNow() };
      },
      thread_sleep_ns: (t, req) => {
        cpu.charge(c.nullServiceCycles, 'trap');
        return this.blockFor(t, 'sleep', req.ns, () => this.wake(t, ok));
      },
      debug_log: (t, req) => {
        cpu.charge(c.nullServiceCycles, 'trap');
        if (t.task.log.length < TASK_LOG_LINES_MAX) t.task.log.push(req.text);
        this.host.trace.record(this.source, 'task.log', t.task.id, 0, req.text);
        return ok;
      },
      thread_create: (t, req) => {
        cpu.charge(c.threadCreateCycles, 'thread');
        const th = this.addThread(t.task, req.program, req.priority < 0 ? t.priority : req.priority);
        return th === undefined ? { kr: KERN.RESOURCE_SHORTAGE, thread: 0 } : { kr: KERN.SUCCESS, thread: th.id };
      },
      thread_exit: (t) => {
        this.endThread(t);
        return BLOCKED;
      },
      thread_set_priority: (t, req) => {
        cpu.charge(c.nullServiceCycles, 'trap');
        const max = t.task.privileged ? PRIORITY_MAX : PRIORITY_USER_MAX;
        if (req.priority < 0 || req.priority > max) return { kr: KERN.INVALID_VALUE };
        t.priority = req.priority;
        return ok;
      },
      thread_switch: (t, req) => {
        cpu.charge(c.nullServiceCycles, 'trap');
        if (req.depress) t.depressed = true;
        t.yieldRequested = true;
        return ok;
      },
      task_get_special_port: (t, req) => {
        portOp();
        let port: Port | undefined;
        switch (req.which) {
          case TASK_PORT.KERNEL:
            port = t.task.selfPort;
            break;
          case TASK_PORT.HOST:
            port = this.hostPort;
            break;
          case TASK_PORT.EXCEPTION:
            port = t.task.exceptionPort;
            break;
          case TASK_PORT.HOST_PRIV:
            if (!t.task.privileged) return { kr: KERN.NO_ACCESS, name: 0 };
            port = this.hostPrivPort;
            break;
          case TASK_PORT.BOOTSTRAP:
            return { kr: KERN.SUCCESS, name: MACH_PORT_NULL }; // the name service is a set of traps here
          default:
            return { kr: KERN.INVALID_ARGUMENT, name: 0 };
        }
        if (port === undefined || port.dead) return { kr: KERN.SUCCESS, name: MACH_PORT_NULL };
        return this.insertSendRight(t.task, port);
      },
      task_set_special_port: (t, req) => {
        portOp();
        if (req.which !== TASK_PORT.EXCEPTION) return { kr: KERN.INVALID_ARGUMENT };
        let port: Port | undefined = undefined;
        if (req.name !== MACH_PORT_NULL) {
          const e = t.task.space.entries.get(req.name);
          if (e === undefined) return { kr: KERN.INVALID_NAME };
          if (e.sendRefs === 0 || e.port === undefined) return { kr: KERN.INVALID_RIGHT };
          port = e.port;
          ipc.copySend(port);
        }
        const old = t.task.exceptionPort;
        t.task.exceptionPort = port;
        if (old !== undefined) ipc.releaseSend(old);
        return ok;
      },
      task_terminate: (t, req) => {
        portOp();
        const r = this.lookupKernelObject<TaskObject>(t.task, req.task, 'task');
        if (!r.ok) return { kr: r.kr };
        this.endTask(r.object.task, { kind: 'killed', by: `task ${t.task.id} (${t.task.name})` });
        return t.task.alive ? ok : BLOCKED;
      },
      task_create: (t, req) => this.taskCreate(t, req.inheritMemory, req.program, req.priority),
      mach_ports_register: (t, req) => {
        portOp();
        const b = req.ports;
        if (b.length % 4 !== 0 || b.length / 4 > TASK_PORT_REGISTER_MAX) return { kr: KERN.INVALID_ARGUMENT };
        const ports: (Port | undefined)[] = [];
        for (let i = 0; i < b.length; i += 4) {
          const name = (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
          if (name === MACH_PORT_NULL) {
            ports.push(undefined);
            continue;
          }
          const e = t.task.space.entries.get(name);
          if (e === undefined) return { kr: KERN.INVALID_NAME };
          if (e.sendRefs === 0 || e.port === undefined) return { kr: KERN.INVALID_RIGHT };
          ports.push(e.port);
        }
        for (const p of ports) if (p !== undefined) ipc.copySend(p);
        this.releaseRegistered(t.task);
        t.task.registeredPorts = ports;
        return ok;
      },
      mach_ports_lookup: (t) => {
        portOp();
        const names: PortName[] = [];
        for (const p of t.task.registeredPorts) {
          if (p === undefined || p.dead) {
            names.push(MACH_PORT_NULL);
            continue;
          }
          const r = this.insertSendRight(t.task, p);
          if (r.kr !== KERN.SUCCESS) return { kr: r.kr, ports: [] };
          names.push(r.name);
        }
        return { kr: KERN.SUCCESS, ports: names };
      },
      mach_reply_port: (t) => {
        portOp();
        return ipc.allocateReceive(t.task.space);
      },
      mach_port_allocate: (t, req) => {
        portOp();
        switch (req.right) {
          case PORT_RIGHT.RECEIVE:
            return ipc.allocateReceive(t.task.space);
          case PORT_RIGHT.PORT_SET:
            return ipc.allocatePortSet(t.task.space);
          case PORT_RIGHT.DEAD_NAME:
            return ipc.allocateDeadName(t.task.space);
          default:
            return { kr: KERN.INVALID_VALUE, name: 0 };
        }
      },
      mach_port_deallocate: (t, req) => {
        portOp();
        return { kr: ipc.deallocate(t.task.space, req.name) };
      },
      mach_port_destroy: (t, req) => {
        portOp();
        return { kr: ipc.destroyName(t.task.space, req.name) };
      },
      mach_port_mod_refs: (t, req) => {
        portOp();
        return { kr: ipc.modRefs(t.task.space, req.name, req.right, req.delta) };
      },
      mach_port_get_refs: (t, req) => {
        portOp();
        return ipc.getRefs(t.task.space, req.name, req.right);
      },
      mach_port_type: (t, req) => {
        portOp();
        const e = t.task.space.entries.get(req.name);
        return e === undefined ? { kr: KERN.INVALID_NAME, type: 0 } : { kr: KERN.SUCCESS, type: e.type };
      },
      mach_port_insert_right: (t, req) => {
        portOp();
        return ipc.insertRight(t.task.space, req.name, req.disposition);
      },
      mach_port_move_member: (t, req) => {
        portOp();
        return { kr: ipc.moveMember(t.task.space, req.member, req.after) };
      },
      mach_port_set_qlimit: (t, req) => {
        portOp();
        return { kr: ipc.setQlimit(t.task.space, req.name, req.qlimit) };
      },
      mach_port_request_notification: (t, req) => {
        portOp();
        return ipc.requestNotification(t.task.space, req.name, req.variant, req.sync, req.notify, req.disposition);
      },
      mach_msg: (t, req) => this.machMsg(t, req),
      bootstrap_register: (t, req) => {
        portOp();
        const e = t.task.space.entries.get(req.name);
        if (e === undefined) return { kr: KERN.INVALID_NAME };
        if (e.port === undefined || (e.sendRefs === 0 && !e.receive)) return { kr: KERN.INVALID_RIGHT };
        if (e.sendRefs > 0) ipc.copySend(e.port);
        else ipc.makeSend(e.port);
        return { kr: this.bootstrap.register(req.service, e.port) };
      },
      bootstrap_look_up: (t, req) => {
        portOp();
        const p = this.bootstrap.lookUp(req.service);
        if (p === undefined) return { kr: BOOTSTRAP.UNKNOWN_SERVICE, name: 0 };
        return this.insertSendRight(t.task, p);
      },
      vm_allocate: (t, req) => {
        cpu.charge(c.vmOpCycles, 'vm');
        const r = t.task.map.allocate(req.address, req.size, req.anywhere);
        if (r.kr === KERN.SUCCESS) cpu.charge(Math.ceil(req.size / PAGE_SIZE) * (c.pageZeroCycles + c.vmPageCycles), 'vm');
        return r;
      },
      vm_deallocate: (t, req) => {
        cpu.charge(c.vmOpCycles, 'vm');
        return { kr: t.task.map.deallocate(req.address, req.size) };
      },
      vm_protect: (t, req) => {
        cpu.charge(c.vmOpCycles, 'vm');
        return { kr: t.task.map.protect(req.address, req.size, req.setMax, req.prot) };
      },
      vm_inherit: (t, req) => {
        cpu.charge(c.vmOpCycles, 'vm');
        return { kr: t.task.map.setInheritance(req.address, req.size, req.inheritance) };
      },
      vm_wire: (t, req) => {
        cpu.charge(c.vmOpCycles, 'vm');
        const hk = this.checkHostPriv(t.task, req.hostPriv);
        if (hk !== KERN.SUCCESS) return { kr: hk };
        if ((req.access & ~VM_PROT.ALL) !== 0) return { kr: KERN.INVALID_ARGUMENT };
        return { kr: t.task.map.wire(req.address, req.size, req.access !== VM_PROT.NONE) };
      },
      memory_object_create: (t, req) => {
        cpu.charge(c.vmOpCycles, 'vm');
        const pages = Math.ceil(req.size / PAGE_SIZE);
        if (pages === 0 || pages > 4096) return { kr: KERN.INVALID_ARGUMENT, name: 0 };
        const frames = this.frames.allocMany(pages);
        if (frames === undefined) return { kr: KERN.RESOURCE_SHORTAGE, name: 0 };
        cpu.charge(pages * c.pageZeroCycles, 'vm');
        const obj = new MemoryObject(this.nextObjectId++, frames, false, this.frames, (o) => {
          if (o.port !== undefined && !o.port.dead) ipc.destroyKernelPort(o.port);
        });
        obj.port = this.createKernelPort(obj);
        const r = this.insertSendRight(t.task, obj.port);
        if (r.kr !== KERN.SUCCESS) obj.free();
        return r;
      },
      vm_map: (t, req) => {
        cpu.charge(c.vmOpCycles, 'vm');
        const o = this.lookupKernelObject<MemoryObject>(t.task, req.object, 'memory-object');
        if (!o.ok) return { kr: o.kr, address: 0 };
        if ((req.prot & ~VM_PROT.ALL) !== 0) return { kr: KERN.INVALID_ARGUMENT, address: 0 };
        if (req.offset % PAGE_SIZE !== 0) return { kr: KERN.INVALID_ARGUMENT, address: 0 };
        const first = req.offset / PAGE_SIZE;
        const pages = Math.ceil(req.size / PAGE_SIZE);
        if (pages === 0 || first + pages > o.object.frames.length) return { kr: KERN.INVALID_ARGUMENT, address: 0 };
        if (!req.anywhere && pageRange(req.address, req.size) === undefined) return { kr: KERN.INVALID_ADDRESS, address: 0 };
        cpu.charge(pages * c.vmPageCycles, 'vm');
        const m = t.task.map.mapFrames(req.address, req.anywhere, o.object.frames.slice(first, first + pages), req.prot, VM_PROT.ALL);
        if (m.kr !== KERN.SUCCESS) return m;
        if (o.object.wired) t.task.map.wire(m.address, pages * PAGE_SIZE, true); // a wired object stays wired in every map
        o.object.mappedInto.add(t.task.map);
        return m;
      },
      semaphore_create: (t, req) => {
        cpu.charge(c.semaphoreCycles, 'semaphore');
        const s = this.createSemaphore(Math.min(req.value, 0x7fff_ffff), false);
        const r = this.insertSendRight(t.task, s.port!);
        if (r.kr !== KERN.SUCCESS) s.destroy();
        return r;
      },
      semaphore_destroy: (t, req) => {
        const s = semOf(t, req.sem);
        if (!s.ok) return { kr: s.kr };
        s.object.destroy();
        return ok;
      },
      semaphore_signal: (t, req) => {
        const s = semOf(t, req.sem);
        if (!s.ok) return { kr: s.kr };
        s.object.signal();
        return ok;
      },
      semaphore_signal_all: (t, req) => {
        const s = semOf(t, req.sem);
        if (!s.ok) return { kr: s.kr };
        s.object.signalAll();
        return ok;
      },
      semaphore_wait: (t, req) => semWait(t, req.sem, undefined),
      semaphore_timedwait: (t, req) => semWait(t, req.sem, req.ns),
      semaphore_wait_any: semWaitAny,
    };
  }

  /** mach_msg: send, receive, or both (RPC). */
  private machMsg(t: Thread, req: SyscallArgs<'mach_msg'>): SyscallResults['mach_msg'] | typeof BLOCKED {
    const opt = req.option;
    const msToNs = (ms: number): number => Math.min(ms, 1e9) * 1_000_000;
    let woken: Thread | undefined = undefined;
    if ((opt & MACH_MSG_OPTION.SEND_MSG) !== 0) {
      this.lastWoken = undefined;
      const r = this.ipc.send(t.task, req.msg);
      woken = this.lastWoken;
      if (r === 'full') {
        if ((opt & MACH_MSG_OPTION.SEND_TIMEOUT) !== 0 && req.timeoutMs === 0) return { kr: MACH_MSG.SEND_TIMED_OUT };
        const remote = (req.msg as { remote: number }).remote;
        if (!this.ipc.waitSend(t.task, remote, t)) return { kr: MACH_MSG.SEND_NO_BUFFER };
        t.restart = { sys: 'mach_msg', ...req } as TrapRequest;
        const timeout = (opt & MACH_MSG_OPTION.SEND_TIMEOUT) !== 0 ? msToNs(req.timeoutMs) : undefined;
        return this.blockFor(t, 'send', timeout, () => {
          t.restart = undefined;
          this.wake(t, { kr: MACH_MSG.SEND_TIMED_OUT });
        });
      }
      if (r !== MACH_MSG.SUCCESS) return { kr: r };
      if (t.state.kind === 'dead') return BLOCKED; // the message ended the sender's own task
    }
    if ((opt & MACH_MSG_OPTION.RCV_MSG) !== 0) {
      const r = this.ipc.receive(t.task, req.rcvName, req.rcvSize, opt);
      if (r !== 'block') return r;
      const timed = (opt & MACH_MSG_OPTION.RCV_TIMEOUT) !== 0;
      if (timed && req.timeoutMs === 0) return { kr: MACH_MSG.RCV_TIMED_OUT };
      const queued = this.ipc.waitReceive(t.task, req.rcvName, {
        thread: t,
        rcvSize: req.rcvSize,
        option: opt,
        onMessage: (result) => this.wake(t, result),
      });
      if (!queued) return { kr: MACH_MSG.RCV_INVALID_NAME };
      if (woken !== undefined && woken !== t) this.handoff = { from: t, to: woken };
      return this.blockFor(t, 'receive', timed ? msToNs(req.timeoutMs) : undefined, () => this.wake(t, { kr: MACH_MSG.RCV_TIMED_OUT }));
    }
    return { kr: MACH_MSG.SUCCESS };
  }
}

function clampPriority(p: number, privileged: boolean): number {
  const max = privileged ? PRIORITY_MAX : PRIORITY_USER_MAX;
  return Number.isFinite(p) ? Math.min(Math.max(Math.trunc(p), 0), max) : PRIORITY_DEFAULT;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Take `t` out of a semaphore's wait queue (semaphore_wait_any leaving the queues it did not wake from). */
function removeWaiter(s: Semaphore, t: Thread): void {
  const i = s.waiters.indexOf(t);
  if (i >= 0) s.waiters.splice(i, 1);
}
