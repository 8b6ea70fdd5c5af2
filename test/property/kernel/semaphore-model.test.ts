/**
 * Semaphores against a counter model: signals from interrupt level (a kernel module) and from a
 * trap are never lost, a waiter consumes exactly one, timed waits with nothing pending time out,
 * signal_all wakes the waiter and clears the count.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KERN } from '../../../kernel/abi/errors.ts';
import type { Kernel } from '../../../kernel/kernel.ts';
import type { Semaphore } from '../../../kernel/sync/semaphore.ts';
import type { World } from '../../../studies/world.ts';
import { boot, Puppet } from '../../kernel/harness.ts';

interface Model {
  count: number;
  waiting: boolean;
  woken: number;
}
interface Real {
  world: World;
  kernel: Kernel;
  sem: Semaphore;
  waiter: Puppet;
  signaller: Puppet;
  waiterName: number;
  signallerName: number;
}
type Cmd = fc.Command<Model, Real>;

function settle(m: Model, r: Real): void {
  r.world.sched.runFor(200_000);
  if (m.waiting && m.count > 0) {
    // The pending signal went to the waiter.
    m.count--;
    m.waiting = false;
    m.woken++;
  }
  if (!m.waiting) {
    const res = r.waiter.collect('semaphore_wait', 1);
    if (res !== 'blocked' && m.woken > 0) expect(res).toEqual({ kr: KERN.SUCCESS });
  }
  expect(r.sem.count).toBe(m.count);
  expect(r.sem.waiters.length).toBe(m.waiting ? 1 : 0);
}

class IrqSignal implements Cmd {
  constructor(readonly n: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    r.kernel.postKernelWork(() => {
      for (let i = 0; i < this.n; i++) r.kernel.semaphoreSignal(r.sem);
    });
    m.count += this.n;
    settle(m, r);
  }
  toString = () => `IrqSignal(${this.n})`;
}

class TrapSignal implements Cmd {
  check = () => true;
  run(m: Model, r: Real): void {
    expect(r.signaller.call('semaphore_signal', { sem: r.signallerName })).toEqual({ kr: KERN.SUCCESS });
    m.count++;
    settle(m, r);
  }
  toString = () => 'TrapSignal';
}

class TryWait implements Cmd {
  check = (m: Readonly<Model>) => !m.waiting;
  run(m: Model, r: Real): void {
    const res = r.signaller.call('semaphore_timedwait', { sem: r.signallerName, ns: 0 });
    if (m.count > 0) {
      expect(res).toEqual({ kr: KERN.SUCCESS });
      m.count--;
    } else expect(res).toEqual({ kr: KERN.OPERATION_TIMED_OUT });
    settle(m, r);
  }
  toString = () => 'TryWait';
}

class Wait implements Cmd {
  check = (m: Readonly<Model>) => !m.waiting;
  run(m: Model, r: Real): void {
    r.waiter.start('semaphore_wait', { sem: r.waiterName });
    if (m.count > 0) {
      m.count--;
      m.woken++;
    } else m.waiting = true;
    settle(m, r);
  }
  toString = () => 'Wait';
}

class SignalAll implements Cmd {
  check = () => true;
  run(m: Model, r: Real): void {
    expect(r.signaller.call('semaphore_signal_all', { sem: r.signallerName })).toEqual({ kr: KERN.SUCCESS });
    m.count = 0;
    if (m.waiting) {
      m.waiting = false;
      m.woken++;
    }
    settle(m, r);
  }
  toString = () => 'SignalAll';
}

describe('semaphores against a counter model', () => {
  it('no signal is lost or duplicated, whoever signals', () => {
    fc.assert(
      fc.property(
        fc.commands([fc.integer({ min: 1, max: 3 }).map((n) => new IrqSignal(n)), fc.constant(new TrapSignal()), fc.constant(new TryWait()), fc.constant(new Wait()), fc.constant(new Wait()), fc.constant(new SignalAll())], {
          maxCommands: 30,
        }),
        (cmds) => {
          const { world, kernel } = boot();
          const waiter = new Puppet(world, kernel, 'waiter');
          const signaller = new Puppet(world, kernel, 'signaller');
          const sem = kernel.createSemaphore(0);
          const real: Real = {
            world,
            kernel,
            sem,
            waiter,
            signaller,
            waiterName: kernel.insertSendRight(waiter.task, sem.port!).name,
            signallerName: kernel.insertSendRight(signaller.task, sem.port!).name,
          };
          fc.modelRun(() => ({ model: { count: 0, waiting: false, woken: 0 }, real }), cmds);
          expect(world.trace.guestErrorsTotal).toBe(0);
        },
      ),
      {},
    );
  });
});
