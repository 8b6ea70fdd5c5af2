/**
 * semaphore_wait_any (issue 17 item 2): one waiter, many semaphores — the kernel primitive under
 * the library's select/poll. Pending signals, wake-up by any member, leaving the other queues,
 * exact timeouts, destroy, and every bad argument answered with a kernel error code.
 */
import { describe, expect, it } from 'vitest';
import { KERN } from '../../kernel/abi/errors.ts';
import { PORT_RIGHT } from '../../kernel/abi/message.ts';
import { SEMAPHORE_WAIT_ANY_MAX, type Semaphore } from '../../kernel/sync/semaphore.ts';
import type { Kernel } from '../../kernel/kernel.ts';
import { boot, Puppet } from './harness.ts';

function names(...ns: number[]): Uint8Array {
  const b = new Uint8Array(4 * ns.length);
  ns.forEach((n, i) => { b[4 * i] = n & 0xff; b[4 * i + 1] = (n >>> 8) & 0xff; b[4 * i + 2] = (n >>> 16) & 0xff; b[4 * i + 3] = (n >>> 24) & 0xff; });
  return b;
}

function sems(p: Puppet, kernel: Kernel, values: number[]): { name: number; obj: Semaphore }[] {
  return values.map((v) => {
    const s = p.call('semaphore_create', { value: v });
    if (s === 'blocked' || s === 'dead') throw new Error(s);
    const o = kernel.lookupKernelObject<Semaphore>(p.task, s.name, 'semaphore');
    if (!o.ok) throw new Error('lookup');
    return { name: s.name, obj: o.object };
  });
}

describe('semaphore_wait_any', () => {
  it('takes the first pending signal in the caller\'s order without blocking', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'a');
    const [s1, s2, s3] = sems(a, kernel, [0, 2, 1]);
    expect(a.call('semaphore_wait_any', { sems: names(s1!.name, s2!.name, s3!.name), timed: false, ns: 0 })).toEqual({ kr: KERN.SUCCESS, index: 1 });
    expect(s2!.obj.count).toBe(1);
    expect(a.call('semaphore_wait_any', { sems: names(s3!.name, s2!.name), timed: true, ns: 0 })).toEqual({ kr: KERN.SUCCESS, index: 0 });
    expect(s3!.obj.count).toBe(0);
    expect(a.call('semaphore_wait_any', { sems: names(s1!.name, s3!.name), timed: true, ns: 0 })).toEqual({ kr: KERN.OPERATION_TIMED_OUT, index: -1 });
  });

  it('blocks until any member is signalled, reports which, and leaves the other queues', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'a');
    const ss = sems(a, kernel, [0, 0, 0]);
    for (const k of [2, 0, 1]) {
      a.start('semaphore_wait_any', { sems: names(...ss.map((s) => s.name)), timed: false, ns: 0 });
      expect(a.collect('semaphore_wait_any', 1e6)).toBe('blocked');
      expect(ss.map((s) => s.obj.waiters.length)).toEqual([1, 1, 1]);
      kernel.postKernelWork(() => kernel.semaphoreSignal(ss[k]!.obj)); // an interrupt handler signals
      expect(a.collect('semaphore_wait_any')).toEqual({ kr: KERN.SUCCESS, index: k });
      expect(ss.map((s) => s.obj.waiters.length)).toEqual([0, 0, 0]);
      expect(ss.map((s) => s.obj.count)).toEqual([0, 0, 0]); // the signal was consumed by the waiter
    }
    // A later signal to a semaphore it no longer waits on is counted, not lost to a gone waiter.
    kernel.postKernelWork(() => kernel.semaphoreSignal(ss[0]!.obj));
    world.sched.runFor(100_000);
    expect(ss[0]!.obj.count).toBe(1);
  });

  it('times out exactly after ns of simulated time, in no queue afterwards', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'a');
    const ss = sems(a, kernel, [0, 0]);
    // Measured between two clock traps of the puppet (which adds its own command hand-over), and
    // compared with semaphore_timedwait measured the same way: the same wait, plus only the copy-in
    // and the second lookup.
    const measure = (f: () => unknown): number => {
      const t0 = a.call('clock_get_ns', {});
      const r = f();
      const t1 = a.call('clock_get_ns', {});
      if (typeof t0 !== 'object' || typeof t1 !== 'object') throw new Error('clock');
      expect((r as { kr: number }).kr).toBe(KERN.OPERATION_TIMED_OUT);
      return t1.ns - t0.ns;
    };
    for (const ns of [50_000, 1_000_000, 7_000_000]) {
      const any = measure(() => a.call('semaphore_wait_any', { sems: names(ss[0]!.name, ss[1]!.name), timed: true, ns }));
      const one = measure(() => a.call('semaphore_timedwait', { sem: ss[0]!.name, ns }));
      expect(any).toBeGreaterThanOrEqual(ns);
      expect(Math.abs(any - one)).toBeLessThan(5_000);
      expect(ss.map((s) => s.obj.waiters.length)).toEqual([0, 0]);
    }
  });

  it('a member destroyed while waiting ends the wait with KERN_TERMINATED and its index', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'a');
    const ss = sems(a, kernel, [0, 0]);
    a.start('semaphore_wait_any', { sems: names(ss[0]!.name, ss[1]!.name), timed: true, ns: 1e9 });
    expect(a.collect('semaphore_wait_any', 1e6)).toBe('blocked');
    kernel.postKernelWork(() => ss[1]!.obj.destroy());
    expect(a.collect('semaphore_wait_any')).toEqual({ kr: KERN.TERMINATED, index: 1 });
    expect(ss[0]!.obj.waiters.length).toBe(0);
  });

  it('bad arguments get kernel error codes (each request valid except the field under test)', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'a');
    const ss = sems(a, kernel, [0, 0, 1]);
    const [n0, n1, n2] = ss.map((s) => s.name) as [number, number, number];
    const port = a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (typeof port !== 'object') throw new Error('port');
    const call = (sems: Uint8Array): unknown => a.call('semaphore_wait_any', { sems, timed: true, ns: 0 });
    expect(call(new Uint8Array(0))).toEqual({ kr: KERN.INVALID_ARGUMENT, index: -1 });
    expect(call(names(n0, n2).subarray(0, 7))).toEqual({ kr: KERN.INVALID_ARGUMENT, index: -1 }); // ragged
    expect(call(names(n0, n1, n0, n2))).toEqual({ kr: KERN.INVALID_ARGUMENT, index: -1 }); // a name twice
    const many = sems(a, kernel, Array.from({ length: SEMAPHORE_WAIT_ANY_MAX }, () => 0)).map((s) => s.name);
    expect(call(names(...many, n2))).toEqual({ kr: KERN.INVALID_ARGUMENT, index: -1 });
    // The largest set is accepted: n2's pending signal is found at the end.
    expect(call(names(...many.slice(1), n2))).toEqual({ kr: KERN.SUCCESS, index: SEMAPHORE_WAIT_ANY_MAX - 1 });
    const notSem = call(names(n0, port.name, n1)) as { kr: number; index: number };
    expect(notSem.index).toBe(1);
    expect(notSem.kr).not.toBe(KERN.SUCCESS);
    expect(call(names(n0, n1, 0xdead_beef))).toEqual({ kr: KERN.INVALID_NAME, index: 2 });
    // Nothing was consumed or left queued by the refused calls.
    expect(ss.map((s) => s.obj.waiters.length)).toEqual([0, 0, 0]);
    expect(a.call('semaphore_wait_any', { sems: names(n0, n1), timed: true, ns: 0 })).toEqual({ kr: KERN.OPERATION_TIMED_OUT, index: -1 });
    // A malformed trap (not bytes) is a bad trap: the thread gets an exception, the emulator goes on.
    expect(a.task.alive).toBe(true);
  });

  it('a task that dies while waiting leaves no queue entry behind', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'a');
    const ss = sems(a, kernel, [0, 0]);
    const objs = ss.map((s) => s.obj);
    a.start('semaphore_wait_any', { sems: names(ss[0]!.name, ss[1]!.name), timed: false, ns: 0 });
    expect(a.collect('semaphore_wait_any', 1e6)).toBe('blocked');
    kernel.endTask(a.task, { kind: 'exit', code: 0 });
    world.sched.runFor(100_000);
    expect(objs.map((o) => o.waiters.length)).toEqual([0, 0]);
  });
});
