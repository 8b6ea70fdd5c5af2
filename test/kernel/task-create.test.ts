/**
 * task_create with memory inheritance, vm_inherit and the registered-port array (issue 17 item 2:
 * the primitive under fork; Mach KP ch.3, mach-semantics.md §tasks): SHARE pages are one page in
 * both tasks, COPY pages are a snapshot, NONE pages absent; the child's name space is empty but its
 * registered ports are inherited; bad input gets a kernel error code.
 */
import { describe, expect, it } from 'vitest';
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestContext } from '../../kernel/abi/guest.ts';
import { MACH_MSG_OPTION, MACH_PORT_NULL, PORT_RIGHT, MSG_TYPE, VM_INHERIT } from '../../kernel/abi/message.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { send } from '../../userland/mach/ipc.ts';
import { sys } from '../../userland/mach/syscalls.ts';
import { boot, Puppet } from './harness.ts';

function names(...ns: number[]): Uint8Array {
  const b = new Uint8Array(4 * ns.length);
  ns.forEach((n, i) => { b[4 * i] = n & 0xff; b[4 * i + 1] = (n >>> 8) & 0xff; b[4 * i + 2] = (n >>> 16) & 0xff; b[4 * i + 3] = (n >>> 24) & 0xff; });
  return b;
}

function ok<T>(r: T | 'blocked' | 'dead'): T {
  if (r === 'blocked' || r === 'dead') throw new Error(String(r));
  return r;
}

describe('task_create', () => {
  it('inherits pages per vm_inherit: SHARE is one page, COPY a snapshot, NONE absent; the name space starts empty', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'parent');
    const share = ok(a.call('vm_allocate', { address: 0, size: 4096, anywhere: true })).address;
    const copy = ok(a.call('vm_allocate', { address: 0, size: 4096, anywhere: true })).address;
    const none = ok(a.call('vm_allocate', { address: 0, size: 4096, anywhere: true })).address;
    a.mem((m) => { m.mem.write32(share, 0x11); m.mem.write32(copy, 0x22); m.mem.write32(none, 0x33); });
    expect(ok(a.call('vm_inherit', { address: share, size: 4096, inheritance: VM_INHERIT.SHARE })).kr).toBe(KERN.SUCCESS);
    expect(ok(a.call('vm_inherit', { address: none, size: 4096, inheritance: VM_INHERIT.NONE })).kr).toBe(KERN.SUCCESS);
    const port = ok(a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE })).name;
    const seen: Record<string, number> = {};
    const child = function* (ctx: GuestContext): Generator<TrapRequest, void, TrapResult> {
      seen['share'] = ctx.mem.read32(share);
      seen['copy'] = ctx.mem.read32(copy);
      ctx.mem.write32(share, 0x44); // the parent sees it
      ctx.mem.write32(copy, 0x55); // the parent does not
      seen['portType'] = (yield* sys.mach_port_type({ name: port })).kr;
      // Last: the fault ends the child (no exception port).
      try {
        ctx.mem.read32(none);
        seen['none'] = 1;
      } catch {
        seen['none'] = -1;
      }
      yield* sys.task_exit({ code: 0 });
    };
    const r = ok(a.call('task_create', { inheritMemory: true, program: child, priority: -1 }));
    expect(r.kr).toBe(KERN.SUCCESS);
    world.sched.runFor(10_000_000);
    expect(seen).toEqual({ share: 0x11, copy: 0x22, none: -1, portType: KERN.INVALID_NAME });
    a.mem((m) => {
      expect(m.mem.read32(share)).toBe(0x44);
      expect(m.mem.read32(copy)).toBe(0x22);
    });
    // The child's task port: a send right in the parent, dead once the child exited.
    expect(ok(a.call('mach_port_type', { name: r.task })).kr).toBe(KERN.SUCCESS);
    const childTask = [...kernel.tasks.values()].find((t) => t.name === 'parent.child');
    expect(childTask?.alive).toBe(false);
    expect(childTask?.parentId).toBe(a.task.id);
  });

  it('inheritMemory false gives an empty map; registered ports reach the child; the parent keeps its own', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'parent');
    const page = ok(a.call('vm_allocate', { address: 0, size: 4096, anywhere: true })).address;
    const rcv = ok(a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE })).name;
    const snd = ok(a.call('mach_port_insert_right', { name: rcv, disposition: MSG_TYPE.MAKE_SEND })).name;
    expect(ok(a.call('mach_ports_register', { ports: names(snd, MACH_PORT_NULL) })).kr).toBe(KERN.SUCCESS);
    const got: { mapped?: boolean; ports?: readonly number[]; sent?: number } = {};
    const child = function* (ctx: GuestContext): Generator<TrapRequest, void, TrapResult> {
      const l = yield* sys.mach_ports_lookup({});
      got.ports = l.ports;
      const p0 = l.ports[0] ?? 0;
      got.sent = yield* send(p0, 4242, []);
      // Last: the fault ends the child (no exception port).
      try {
        ctx.mem.read32(page);
        got.mapped = true;
      } catch {
        got.mapped = false;
      }
      yield* sys.task_exit({ code: 0 });
    };
    expect(ok(a.call('task_create', { inheritMemory: false, program: child, priority: -1 })).kr).toBe(KERN.SUCCESS);
    world.sched.runFor(10_000_000);
    expect(got.mapped).toBe(false);
    expect(got.ports?.length).toBe(2);
    expect(got.ports?.[1]).toBe(MACH_PORT_NULL);
    expect(got.sent).toBe(KERN.SUCCESS);
    const m = ok(a.call('mach_msg', { option: MACH_MSG_OPTION.RCV_MSG | MACH_MSG_OPTION.RCV_TIMEOUT, msg: null, rcvName: rcv, rcvSize: 1024, timeoutMs: 0, notify: 0 }));
    expect(m.msg?.id).toBe(4242);
    // The parent's own lookup still works, and clearing the array drops the kernel's rights.
    expect(ok(a.call('mach_ports_lookup', {})).ports.length).toBe(2);
    expect(ok(a.call('mach_ports_register', { ports: new Uint8Array(0) })).kr).toBe(KERN.SUCCESS);
    expect(ok(a.call('mach_ports_lookup', {})).ports).toEqual([]);
  });

  it('answers bad input with kernel error codes', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'parent');
    const page = ok(a.call('vm_allocate', { address: 0, size: 4096, anywhere: true })).address;
    expect(ok(a.call('vm_inherit', { address: page, size: 4096, inheritance: 3 })).kr).toBe(KERN.INVALID_ARGUMENT);
    expect(ok(a.call('vm_inherit', { address: page + 8192, size: 4096, inheritance: VM_INHERIT.SHARE })).kr).toBe(KERN.INVALID_ADDRESS);
    expect(ok(a.call('vm_inherit', { address: 0x8000_0000, size: 4096, inheritance: VM_INHERIT.SHARE })).kr).toBe(KERN.INVALID_ADDRESS);
    expect(ok(a.call('mach_ports_register', { ports: new Uint8Array(5) })).kr).toBe(KERN.INVALID_ARGUMENT);
    expect(ok(a.call('mach_ports_register', { ports: names(0, 0, 0, 0) })).kr).toBe(KERN.INVALID_ARGUMENT);
    expect(ok(a.call('mach_ports_register', { ports: names(0x12345) })).kr).toBe(KERN.INVALID_NAME);
    const rcv = ok(a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE })).name;
    expect(ok(a.call('mach_ports_register', { ports: names(rcv) })).kr).toBe(KERN.INVALID_RIGHT); // a receive right only
    // A program that is not a function: the trap's argument check refuses it (the thread is the misbehaving one).
    expect(a.call('task_create', { inheritMemory: true, program: 42 as never, priority: -1 })).toBe('dead');
  });
});
