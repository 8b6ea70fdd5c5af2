/**
 * Tasks and threads as the kernel keeps them. A task is a container: an address map, a port name
 * space and its threads; a thread is a guest generator plus its scheduling and wait state.
 */
import { WheelTimer } from '../emulator/sim/timing-wheel.ts';
import type { GuestMemory, GuestParams, GuestThread, MemoryFault, TaskExit } from './abi/guest.ts';
import type { TrapRequest, TrapResult } from './abi/syscalls.ts';
import type { Port, Space } from './ipc/ipc.ts';
import type { VmMap } from './vm/vm-map.ts';

/** Thread states as a union (STYLE.md): why a thread is not running is part of its state. */
export type ThreadState =
  | { readonly kind: 'runnable' }
  | { readonly kind: 'blocked'; readonly on: string }
  | { readonly kind: 'dead' };

/** Priorities: higher runs first; equal priorities round-robin at each trap. */
export const PRIORITY_DEFAULT = 12;
/** Highest priority an unprivileged task's thread may take; privileged tasks reach PRIORITY_MAX. */
export const PRIORITY_USER_MAX = 24;
export const PRIORITY_MAX = 31;
/** A task may hold this many threads at most (a limit on everything). */
export const THREADS_PER_TASK_MAX = 256;

function chargeEntry(this: (cycles: number, category: string) => void, cycles: number, category: string): void {
  this(cycles, category);
}

export class Thread {
  state: ThreadState = { kind: 'runnable' };
  /** What the thread is resumed with at its next step. */
  resumeValue: TrapResult | undefined = undefined;
  /** A trap to run again at the thread's next burst instead of stepping the generator (a blocked send retrying). */
  restart: TrapRequest | undefined = undefined;
  /** Undo the thread's membership of a wait queue (timeout, termination). */
  waitCancel: (() => void) | undefined = undefined;
  /** semaphore_wait_any: the semaphores the thread waits on, in the caller's order (their queues all hold it). */
  waitAny: readonly object[] | undefined = undefined;
  /** What the wheel timer does when it fires (sleep end, receive or semaphore timeout). */
  onTimeout: (() => void) | undefined = undefined;
  /** A memory fault recorded during the current step. */
  fault: MemoryFault | undefined = undefined;
  /** When the thread's current quantum ends (CPU-local ns); set when it is dispatched afresh. */
  quantumEndNs = 0;
  /** Put back first among its equals after a trap that did not block (it keeps its quantum). */
  continuing = false;
  /** thread_yield / thread_switch: go behind its equals at the end of this burst. */
  yieldRequested = false;
  /** The wake-up path the current wait pays, when not kernel.wakeupCycles (set by `block`). */
  wakeupCycles: number | undefined = undefined;
  /** Woken from a block since its last burst: its next dispatch pays the wake-up path (kernel.wakeupCycles). */
  woken = false;
  /** Priority depressed below everything until the next trap (thread_switch). */
  depressed = false;
  /** User cycles recorded by spend() since the last trap. */
  spentCycles = 0;
  /** User cycles recorded by spend(cycles, category) since the last trap, by category (undefined or empty: none). */
  spentByCategory: Map<string, number> | undefined = undefined;
  trapsTotal = 0;
  readonly timer: WheelTimer;

  constructor(
    readonly id: number,
    readonly task: Task,
    public gen: GuestThread | undefined,
    public priority: number,
    onTimer: () => void,
  ) {
    this.timer = new WheelTimer(`thread${id}`, onTimer);
  }

  get effectivePriority(): number {
    return this.depressed ? -1 : this.priority;
  }

  /**
   * Hand what spend() recorded since the last charge to `charge`: the untagged cycles as 'user',
   * tagged ones under their own category (a protocol layer's name, for per-layer accounting).
   */
  chargeSpent(charge: (cycles: number, category: string) => void): void {
    charge(this.spentCycles, 'user');
    this.spentCycles = 0;
    const m = this.spentByCategory;
    if (m === undefined || m.size === 0) return;
    // The map is kept for the next trap (emptied, not dropped: no map per trap).
    m.forEach(chargeEntry, charge);
    m.clear();
  }
}

export class Task {
  readonly threads: Thread[] = [];
  exit: TaskExit | undefined = undefined;
  readonly log: string[] = [];
  /** The task's own kernel port (kobject 'task'); send rights to it are capabilities to the task. */
  selfPort: Port | undefined = undefined;
  /** Kernel-held send right to the exception port, or undefined. */
  exceptionPort: Port | undefined = undefined;
  /** Kernel-held send rights of the registered-port array (mach_ports_register; inherited by task_create). */
  registeredPorts: (Port | undefined)[] = [];
  /** The task that created this one with task_create (undefined for spawned tasks). */
  parentId: number | undefined = undefined;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly privileged: boolean,
    readonly params: GuestParams,
    readonly space: Space,
    readonly map: VmMap,
    public mem: GuestMemory | undefined = undefined,
  ) {}

  get alive(): boolean {
    return this.exit === undefined;
  }
}
