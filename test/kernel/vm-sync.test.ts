import { describe, expect, it } from 'vitest';
import { KERN } from '../../kernel/abi/errors.ts';
import { MemoryFault } from '../../kernel/abi/guest.ts';
import { EXC, EXC_MSG_ID, MACH_MSG_OPTION, MSG_TYPE, NOTIFY, PORT_RIGHT, PORT_TYPE, TASK_PORT, VM_PROT, msghBits } from '../../kernel/abi/message.ts';
import type { Semaphore } from '../../kernel/sync/semaphore.ts';
import { sys } from '../../userland/mach/syscalls.ts';
import { receive, reply } from '../../userland/mach/ipc.ts';
import { boot, Puppet } from './harness.ts';

describe('virtual memory', () => {
  it('vm_allocate gives zeroed private pages; protections are enforced; deallocation unmaps', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'a', { catchFaults: true });
    const r = a.call('vm_allocate', { address: 0, size: 10_000, anywhere: true });
    if (r === 'blocked' || r === 'dead') throw new Error(r);
    expect(r.kr).toBe(0);
    expect(a.task.map.pageCount).toBe(3);
    expect(a.mem((c) => c.mem.read32(r.address + 8188))).toBe(0);
    a.mem((c) => c.mem.writeBytes(r.address + 4090, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])));
    expect(a.mem((c) => [...c.mem.readBytes(r.address + 4090, 10)])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(a.call('vm_protect', { address: r.address, size: 4096, setMax: false, prot: VM_PROT.READ })).toEqual({ kr: 0 });
    const f = a.mem((c) => c.mem.write8(r.address, 1));
    expect(f).toBeInstanceOf(MemoryFault);
    expect((f as MemoryFault).fault).toBe('protection');
    expect(a.task.alive).toBe(true); // the handler thread resumed it
    // A page-straddling write that faults half-way changes nothing.
    expect(a.mem((c) => c.mem.writeBytes(r.address + 4090, new Uint8Array(10)))).toBeInstanceOf(MemoryFault);
    expect(a.mem((c) => c.mem.read8(r.address + 4095))).toBe(6);
    expect(a.call('vm_protect', { address: r.address, size: 4096, setMax: true, prot: VM_PROT.READ })).toEqual({ kr: 0 });
    expect(a.call('vm_protect', { address: r.address, size: 4096, setMax: false, prot: VM_PROT.DEFAULT })).toEqual({ kr: KERN.PROTECTION_FAILURE });
    expect(a.call('vm_deallocate', { address: r.address, size: 10_000 })).toEqual({ kr: 0 });
    expect(a.mem((c) => c.mem.read8(r.address + 5000))).toBeInstanceOf(MemoryFault);
    expect(a.task.map.pageCount).toBe(0);
    expect(kernel.exceptionsTotal).toBe(3);
  });

  it('a memory object mapped in two tasks: the same physical pages, each sees the other\'s writes', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'a');
    const b = new Puppet(world, kernel, 'b');
    const o = a.call('memory_object_create', { size: 8192 });
    if (o === 'blocked' || o === 'dead') throw new Error(o);
    const ma = a.call('vm_map', { object: o.name, offset: 0, size: 8192, address: 0, anywhere: true, prot: VM_PROT.DEFAULT });
    if (ma === 'blocked' || ma === 'dead') throw new Error(ma);
    // Hand the object to b by message.
    const p = b.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (p === 'blocked' || p === 'dead') throw new Error(p);
    b.call('bootstrap_register', { service: 'b', name: p.name });
    const bs = a.call('bootstrap_look_up', { service: 'b' });
    if (bs === 'blocked' || bs === 'dead') throw new Error(bs);
    a.call('mach_msg', { option: MACH_MSG_OPTION.SEND_MSG, msg: { bits: msghBits(MSG_TYPE.COPY_SEND), remote: bs.name, local: 0, id: 1, items: [{ type: 'port', name: o.name, disposition: MSG_TYPE.COPY_SEND }] }, rcvName: 0, rcvSize: 0, timeoutMs: 0, notify: 0 });
    const got = b.call('mach_msg', { option: MACH_MSG_OPTION.RCV_MSG, msg: null, rcvName: p.name, rcvSize: 4096, timeoutMs: 0, notify: 0 });
    if (got === 'blocked' || got === 'dead' || got.msg === undefined) throw new Error('rcv');
    const it0 = got.msg.items[0];
    if (it0?.type !== 'port') throw new Error('item');
    const mb = b.call('vm_map', { object: it0.name, offset: 4096, size: 4096, address: 0, anywhere: true, prot: VM_PROT.DEFAULT });
    if (mb === 'blocked' || mb === 'dead') throw new Error(mb);
    expect(mb.kr).toBe(0);
    a.mem((c) => c.mem.write32(ma.address + 4096 + 16, 0xcafebabe));
    expect(b.mem((c) => c.mem.read32(mb.address + 16))).toBe(0xcafebabe);
    b.mem((c) => c.mem.write32(mb.address, 7));
    expect(a.mem((c) => c.mem.read32(ma.address + 4096))).toBe(7);
    expect(a.task.map.lookup(ma.address + 4096)?.frame).toBe(b.task.map.lookup(mb.address)?.frame);
    // After a dies, b's mapping still works (the frames are shared, reference-counted).
    kernel.endTask(a.task, { kind: 'killed', by: 'test' });
    expect(b.mem((c) => c.mem.read32(mb.address + 16))).toBe(0xcafebabe);
  });

  it('kernel-internal API: wired object mapped into a task, physical addresses, device page, copyin/copyout', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'a');
    const free0 = kernel.frames.freeCount;
    const obj = kernel.createWiredObject(4)!;
    const m = kernel.mapObject(a.task, obj, VM_PROT.DEFAULT);
    expect(m.kr).toBe(0);
    expect(m.physAddrs).toHaveLength(4);
    kernel.host.ram[m.physAddrs[2]! + 8] = 0x5a; // a device DMAs into page 2
    expect(a.mem((c) => c.mem.read8(m.address + 2 * 4096 + 8))).toBe(0x5a);
    expect(a.task.map.lookup(m.address)?.wired).toBe(1);
    expect(kernel.copyout(a.task, m.address + 100, new Uint8Array([9, 8, 7]))).toBe(0);
    expect(kernel.copyin(a.task, m.address + 100, 3)).toEqual({ kr: 0, bytes: new Uint8Array([9, 8, 7]) });
    expect(kernel.copyin(a.task, m.address + 4 * 4096 - 1, 2).kr).toBe(KERN.INVALID_ADDRESS);
    expect(kernel.copyin(a.task, 0, 4).kr).toBe(KERN.INVALID_ADDRESS);
    expect(kernel.unmapObject(a.task, m.address, 4)).toBe(0);
    expect(a.mem((c) => c.mem.read8(m.address))).toBeInstanceOf(MemoryFault);
    kernel.freeObject(obj);
    expect(kernel.frames.freeCount).toBe(free0);
    // A device page (the KN02 system CSR page stands in for the AN1 clock page): read-only, timed.
    const b = new Puppet(world, kernel, 'b');
    const d = kernel.mapDevicePage(b.task, 0x1ff0_0000);
    expect(d.kr).toBe(0);
    expect(typeof b.mem((c) => c.mem.read32(d.address))).toBe('number');
    expect(kernel.mapDevicePage(b.task, 4096).kr).toBe(KERN.INVALID_ADDRESS);
    expect(b.mem((c) => c.mem.write32(d.address, 0))).toBeInstanceOf(MemoryFault);
    expect(b.task.alive).toBe(false);
  });
});

describe('semaphores', () => {
  it('counts pending signals, wakes a waiter, times out, and is signalled from interrupt level', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'a');
    const s = a.call('semaphore_create', { value: 2 });
    if (s === 'blocked' || s === 'dead') throw new Error(s);
    expect(a.call('semaphore_wait', { sem: s.name })).toEqual({ kr: 0 });
    expect(a.call('semaphore_wait', { sem: s.name })).toEqual({ kr: 0 });
    expect(a.call('semaphore_timedwait', { sem: s.name, ns: 0 })).toEqual({ kr: KERN.OPERATION_TIMED_OUT });
    expect(a.call('semaphore_timedwait', { sem: s.name, ns: 50_000 })).toEqual({ kr: KERN.OPERATION_TIMED_OUT });
    const sem = kernel.lookupKernelObject<Semaphore>(a.task, s.name, 'semaphore');
    if (!sem.ok) throw new Error('lookup');
    a.start('semaphore_wait', { sem: s.name });
    expect(a.collect('semaphore_wait', 1e6)).toBe('blocked');
    kernel.postKernelWork(() => kernel.semaphoreSignal(sem.object)); // an interrupt handler signals
    expect(a.collect('semaphore_wait')).toEqual({ kr: 0 });
    kernel.postKernelWork(() => {
      kernel.semaphoreSignal(sem.object);
      kernel.semaphoreSignal(sem.object);
    });
    world.sched.runFor(100_000);
    expect(sem.object.count).toBe(2);
    expect(a.call('semaphore_destroy', { sem: s.name })).toEqual({ kr: 0 });
    expect(a.call('semaphore_wait', { sem: s.name })).toEqual({ kr: KERN.INVALID_CAPABILITY });
  });

  it('a kernel module hands a semaphore to a task by inserting a send right', () => {
    const { world, kernel } = boot();
    const a = new Puppet(world, kernel, 'a');
    const sem = kernel.createSemaphore(0);
    const r = kernel.insertSendRight(a.task, sem.port!);
    expect(r.kr).toBe(0);
    a.start('semaphore_wait', { sem: r.name });
    kernel.semaphoreSignal(sem);
    expect(a.collect('semaphore_wait')).toEqual({ kr: 0 });
    // A second insertion merges under the same name; the task dropping every reference does not
    // destroy the module's semaphore.
    expect(kernel.insertSendRight(a.task, sem.port!)).toEqual(r);
    expect(a.call('mach_port_deallocate', { name: r.name })).toEqual({ kr: 0 });
    expect(a.call('mach_port_deallocate', { name: r.name })).toEqual({ kr: 0 });
    expect(a.call('mach_port_deallocate', { name: r.name })).toEqual({ kr: KERN.INVALID_NAME });
    expect(sem.destroyed).toBe(false);
    const r2 = kernel.insertSendRight(a.task, sem.port!);
    expect(r2.kr).toBe(0);
    // Destroying the object's port: the task's name becomes a dead name; lookups say so.
    kernel.destroyPort(sem.port!);
    expect(a.call('mach_port_type', { name: r2.name })).toEqual({ kr: 0, type: PORT_TYPE.DEAD_NAME });
    expect(kernel.lookupKernelObject(a.task, r2.name, 'semaphore')).toEqual({ ok: false, kr: KERN.INVALID_CAPABILITY });
    expect(sem.destroyed).toBe(true);
  });
});

describe('task ports', () => {
  it('a holder of a task port learns of the task\'s death through a dead-name notification', () => {
    const { world, kernel } = boot();
    const watcher = new Puppet(world, kernel, 'registry', { privileged: true });
    const inbox = watcher.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    const notify = watcher.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (inbox === 'blocked' || inbox === 'dead' || notify === 'blocked' || notify === 'dead') throw new Error('alloc');
    watcher.call('bootstrap_register', { service: 'registry', name: inbox.name });
    const app = new Puppet(world, kernel, 'app');
    const reg = app.call('bootstrap_look_up', { service: 'registry' });
    const self = app.call('task_get_special_port', { which: TASK_PORT.KERNEL });
    if (reg === 'blocked' || reg === 'dead' || self === 'blocked' || self === 'dead') throw new Error('lookup');
    expect(app.call('mach_msg', { option: MACH_MSG_OPTION.SEND_MSG, msg: { bits: msghBits(MSG_TYPE.COPY_SEND), remote: reg.name, local: 0, id: 1, items: [{ type: 'port', name: self.name, disposition: MSG_TYPE.MOVE_SEND }] }, rcvName: 0, rcvSize: 0, timeoutMs: 0, notify: 0 })).toEqual({ kr: 0 });
    const got = watcher.call('mach_msg', { option: MACH_MSG_OPTION.RCV_MSG, msg: null, rcvName: inbox.name, rcvSize: 4096, timeoutMs: 0, notify: 0 });
    if (got === 'blocked' || got === 'dead' || got.msg?.items[0]?.type !== 'port') throw new Error('rcv');
    const taskName = got.msg.items[0].name;
    expect(watcher.call('mach_port_request_notification', { name: taskName, variant: NOTIFY.DEAD_NAME, sync: 0, notify: notify.name, disposition: MSG_TYPE.MAKE_SEND_ONCE })).toMatchObject({ kr: 0 });
    app.call('task_exit', { code: 3 });
    const n = watcher.call('mach_msg', { option: MACH_MSG_OPTION.RCV_MSG, msg: null, rcvName: notify.name, rcvSize: 4096, timeoutMs: 0, notify: 0 });
    if (n === 'blocked' || n === 'dead') throw new Error('notification');
    expect(n.msg?.id).toBe(NOTIFY.DEAD_NAME);
    expect(n.msg?.items[0]).toEqual({ type: 'port', name: taskName, disposition: MSG_TYPE.PORT_NAME });
    expect(app.task.exit).toEqual({ kind: 'exit', code: 3 });
  });
});

describe('exceptions', () => {
  it('a fault sends exception_raise to the exception port; a failure reply ends the task', () => {
    const { world, kernel } = boot();
    const handler = new Puppet(world, kernel, 'handler');
    const p = handler.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (p === 'blocked' || p === 'dead') throw new Error(p);
    handler.call('bootstrap_register', { service: 'exc', name: p.name });
    const victim = kernel.spawn('victim', function* (ctx) {
      const { name } = yield* sys.bootstrap_look_up({ service: 'exc' });
      yield* sys.task_set_special_port({ which: TASK_PORT.EXCEPTION, name });
      ctx.mem.read32(0x1234_0000);
    });
    const r = handler.call('mach_msg', { option: MACH_MSG_OPTION.RCV_MSG, msg: null, rcvName: p.name, rcvSize: 4096, timeoutMs: 0, notify: 0 });
    if (r === 'blocked' || r === 'dead' || r.msg === undefined) throw new Error('no exception message');
    expect(r.msg.id).toBe(EXC_MSG_ID);
    expect(r.msg.items[0]).toMatchObject({ type: 'int32', values: [victim.id, victim.threads[0]!.id, EXC.BAD_ACCESS, KERN.INVALID_ADDRESS, 0x1234_0000] });
    expect(victim.alive).toBe(true);
    handler.call('mach_msg', { option: MACH_MSG_OPTION.SEND_MSG, msg: { bits: msghBits(MSG_TYPE.MOVE_SEND_ONCE), remote: r.msg.remote, local: 0, id: r.msg.id + 100, items: [{ type: 'int32', values: [KERN.FAILURE] }] }, rcvName: 0, rcvSize: 0, timeoutMs: 0, notify: 0 });
    world.sched.runFor(1_000_000);
    expect(victim.exit).toMatchObject({ kind: 'guest-error' });
  });

  it('a handler that dies without replying ends the faulting task', () => {
    const { world, kernel } = boot();
    const handler = kernel.spawn('h', function* () {
      const { name } = yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE });
      yield* sys.bootstrap_register({ service: 'exc', name });
      yield* receive(name);
      // exits holding the send-once reply right
    });
    const victim = kernel.spawn('victim', function* (ctx) {
      yield* sys.thread_sleep_ns({ ns: 10_000 });
      const { name } = yield* sys.bootstrap_look_up({ service: 'exc' });
      yield* sys.task_set_special_port({ which: TASK_PORT.EXCEPTION, name });
      ctx.mem.write8(0, 1);
    });
    world.sched.runUntil(() => !victim.alive, { nsMax: 1e8 });
    expect(handler.alive).toBe(false);
    expect(victim.exit).toMatchObject({ kind: 'guest-error' });
    void reply;
  });

  it('a handler that resumes a thread which yielded an invalid trap: the trap returns KERN_INVALID_ARGUMENT', () => {
    const { world, kernel } = boot();
    const results: number[] = [];
    const task = kernel.spawn('t', function* () {
      const { name } = yield* sys.mach_reply_port({});
      yield* sys.mach_port_insert_right({ name, disposition: MSG_TYPE.MAKE_SEND });
      yield* sys.task_set_special_port({ which: TASK_PORT.EXCEPTION, name });
      yield* sys.thread_create({
        priority: 20,
        program: function* () {
          for (;;) {
            const r = yield* receive(name);
            if (r.msg !== undefined) yield* reply(r.msg, [{ type: 'int32', values: [KERN.SUCCESS] }]);
          }
        },
      });
      const bad = (yield { sys: 'vm_allocate', address: -5, size: 1, anywhere: true } as never) as { kr: number };
      results.push(bad.kr);
      const ok = yield* sys.null_trap({});
      results.push(ok.kr);
      yield* sys.task_exit({ code: 0 });
    });
    world.sched.runUntil(() => !task.alive, { nsMax: 1e8 });
    expect(results).toEqual([KERN.INVALID_ARGUMENT, KERN.SUCCESS]);
    expect(task.exit).toEqual({ kind: 'exit', code: 0 });
    expect(kernel.exceptionsTotal).toBe(1);
  });
});
