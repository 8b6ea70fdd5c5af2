/**
 * Lightweight semaphores in the event-counter style the paper's buffer layer relies on
 * (P §3.2–3.3; Mach 3.0 evc, mach-semantics.md §6): a count of pending signals, `signal`
 * callable at interrupt level by kernel modules (the network I/O module, drivers) or by a trap,
 * `wait` that consumes a pending signal or blocks, with an optional timeout. Signals are never
 * lost: with nobody waiting they are counted (up to COUNT_MAX). Several waiters queue FIFO (as
 * xnu's semaphores; CMU evc allowed one). A semaphore is a kernel object named by a send right.
 */
import { KERN } from '../abi/errors.ts';
import type { KObject, Port } from '../ipc/ipc.ts';
import type { Thread } from '../task.ts';

export const SEMAPHORE_COUNT_MAX = 0x7fff_ffff;
export const SEMAPHORE_WAITERS_MAX = 256;
/** semaphore_wait_any: most semaphores one waiter may wait on (NOFILE = 64 descriptors in 4.3BSD / Ultrix 4, as select's). */
export const SEMAPHORE_WAIT_ANY_MAX = 64;

export class Semaphore implements KObject {
  readonly kind = 'semaphore';
  count: number;
  readonly waiters: Thread[] = [];
  destroyed = false;
  port: Port | undefined = undefined;
  signalsTotal = 0;

  constructor(
    readonly id: number,
    initial: number,
    /** Installed by the kernel: wake a waiter with a result (`from`: this semaphore, for semaphore_wait_any). */
    private readonly wakeThread: (t: Thread, kr: number, from: Semaphore) => void,
    private readonly onDestroy: (s: Semaphore) => void,
  ) {
    this.count = Math.min(initial, SEMAPHORE_COUNT_MAX);
  }

  /** Wake one waiter, or count the signal. Safe at interrupt level. */
  signal(): void {
    if (this.destroyed) return;
    this.signalsTotal++;
    const t = this.waiters.shift();
    if (t !== undefined) {
      t.waitCancel = undefined;
      this.wakeThread(t, KERN.SUCCESS, this);
    } else if (this.count < SEMAPHORE_COUNT_MAX) this.count++;
  }

  /** Wake every waiter and clear pending signals (xnu semaphore_signal_all). */
  signalAll(): void {
    if (this.destroyed) return;
    this.count = 0;
    for (const t of this.waiters.splice(0)) {
      t.waitCancel = undefined;
      this.wakeThread(t, KERN.SUCCESS, this);
    }
  }

  /** Consume a pending signal: true if one was there (the caller then does not block). */
  tryWait(): boolean {
    if (this.count > 0) {
      this.count--;
      return true;
    }
    return false;
  }

  /** Queue a waiter (bounded); false when the queue is full. */
  enqueue(t: Thread): boolean {
    if (this.waiters.length >= SEMAPHORE_WAITERS_MAX) return false;
    this.waiters.push(t);
    t.waitCancel = () => {
      const i = this.waiters.indexOf(t);
      if (i >= 0) this.waiters.splice(i, 1);
    };
    return true;
  }

  /** Destroy: waiters return KERN_TERMINATED. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const t of this.waiters.splice(0)) {
      t.waitCancel = undefined;
      this.wakeThread(t, KERN.TERMINATED, this);
    }
    this.onDestroy(this);
  }

  onNoSenders(): void {
    this.destroy();
  }
  onPortDestroyed(): void {
    this.destroy();
  }
}
