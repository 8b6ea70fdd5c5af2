/**
 * Hostile system calls from guest tasks (xv6 usertests "ridiculous pointers to system calls"):
 * each gets the right Mach error, none crashes anything, and the kernel's books stay balanced.
 */
import { describe, expect, it } from 'vitest';
import { BOOTSTRAP, KERN, MACH_MSG } from '../../kernel/abi/errors.ts';
import { MemoryFault } from '../../kernel/abi/guest.ts';
import { MACH_MSG_OPTION, MACH_PORT_DEAD, MSG_TYPE, PORT_RIGHT, TASK_PORT, VM_PROT, msghBits, type MachMsg } from '../../kernel/abi/message.ts';
import { boot, Puppet } from './harness.ts';

const SEND = MACH_MSG_OPTION.SEND_MSG;
const RCV = MACH_MSG_OPTION.RCV_MSG;
const send = (m: unknown, option: number = SEND | MACH_MSG_OPTION.SEND_TIMEOUT) => ({ option, msg: m as MachMsg, rcvName: 0, rcvSize: 0, timeoutMs: 0, notify: 0 });
const rcv = (name: number) => ({ option: RCV | MACH_MSG_OPTION.RCV_TIMEOUT, msg: null, rcvName: name, rcvSize: 65536, timeoutMs: 0, notify: 0 });
const m = (remote: number, rd: number = MSG_TYPE.COPY_SEND, extra: Partial<MachMsg> = {}): MachMsg => ({ bits: msghBits(rd), remote, local: 0, id: 1, items: [], ...extra });

function setup() {
  const { world, kernel } = boot();
  const a = new Puppet(world, kernel, 'a');
  const b = new Puppet(world, kernel, 'b');
  const p = a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
  if (p === 'blocked' || p === 'dead') throw new Error(p);
  a.call('mach_port_insert_right', { name: p.name, disposition: MSG_TYPE.MAKE_SEND });
  a.call('bootstrap_register', { service: 'a', name: p.name });
  const l = b.call('bootstrap_look_up', { service: 'a' });
  if (l === 'blocked' || l === 'dead') throw new Error(l);
  return { world, kernel, a, b, aRecv: p.name, bSend: l.name };
}

describe('hostile system calls', () => {
  it('names never allocated', () => {
    const { a } = setup();
    for (const name of [1, 0x5500, 0xdead00, 0xffff_fffe, MACH_PORT_DEAD]) {
      expect(a.call('mach_msg', send(m(name)))).toEqual({ kr: MACH_MSG.SEND_INVALID_DEST });
      expect(a.call('mach_msg', rcv(name))).toEqual({ kr: MACH_MSG.RCV_INVALID_NAME });
      expect(a.call('mach_port_deallocate', { name })).toEqual({ kr: KERN.INVALID_NAME });
      expect(a.call('mach_port_destroy', { name })).toEqual({ kr: KERN.INVALID_NAME });
      expect(a.call('mach_port_mod_refs', { name, right: PORT_RIGHT.SEND, delta: 1 })).toEqual({ kr: KERN.INVALID_NAME });
      expect(a.call('semaphore_signal', { sem: name })).toEqual({ kr: KERN.INVALID_NAME });
      expect(a.call('vm_map', { object: name, offset: 0, size: 4096, address: 0, anywhere: true, prot: 3 })).toEqual({ kr: KERN.INVALID_NAME, address: 0 });
      expect(a.call('task_terminate', { task: name })).toEqual({ kr: KERN.INVALID_NAME });
    }
    expect(a.task.alive).toBe(true);
  });

  it('a name valid in one task means nothing (or the holder\'s own right) in another', () => {
    const { a, b, aRecv, bSend } = setup();
    // b uses a's receive-right name; a uses b's send-right name.
    const r = b.call('mach_msg', rcv(aRecv));
    expect(r !== 'blocked' && r !== 'dead' && r.kr).not.toBe(0);
    const t = a.call('mach_port_type', { name: bSend });
    expect(t !== 'blocked' && t !== 'dead' && (t.kr === KERN.INVALID_NAME || bSend === aRecv)).toBe(true);
  });

  it('names whose rights were moved away', () => {
    const { a, b, bSend } = setup();
    const q = b.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (q === 'blocked' || q === 'dead') throw new Error(q);
    expect(b.call('mach_msg', send({ ...m(bSend), items: [{ type: 'port', name: q.name, disposition: MSG_TYPE.MOVE_RECEIVE }] }))).toEqual({ kr: 0 });
    expect(b.call('mach_msg', rcv(q.name))).toEqual({ kr: MACH_MSG.RCV_INVALID_NAME });
    expect(b.call('mach_msg', send({ ...m(bSend), items: [{ type: 'port', name: q.name, disposition: MSG_TYPE.MAKE_SEND }] }))).toEqual({ kr: MACH_MSG.SEND_INVALID_RIGHT });
    // MOVE_SEND of the only reference, then use it again.
    expect(b.call('mach_msg', send(m(bSend, MSG_TYPE.MOVE_SEND)))).toEqual({ kr: 0 });
    expect(b.call('mach_msg', send(m(bSend)))).toEqual({ kr: MACH_MSG.SEND_INVALID_DEST });
    expect(a.task.alive && b.task.alive).toBe(true);
  });

  it('rights of the wrong kind', () => {
    const { a, b, aRecv, bSend } = setup();
    // Receive with a send right; MAKE_SEND from a send right; MOVE_SEND_ONCE from a send right.
    expect(b.call('mach_msg', rcv(bSend))).toEqual({ kr: MACH_MSG.RCV_INVALID_NAME });
    expect(b.call('mach_msg', send(m(bSend, MSG_TYPE.MAKE_SEND)))).toEqual({ kr: MACH_MSG.SEND_INVALID_DEST });
    expect(b.call('mach_msg', send(m(bSend, MSG_TYPE.MOVE_SEND_ONCE)))).toEqual({ kr: MACH_MSG.SEND_INVALID_DEST });
    expect(b.call('mach_msg', send(m(bSend, MSG_TYPE.MOVE_RECEIVE)))).toEqual({ kr: MACH_MSG.SEND_INVALID_HEADER });
    expect(b.call('mach_msg', send({ ...m(bSend), local: bSend, bits: msghBits(MSG_TYPE.COPY_SEND, MSG_TYPE.MAKE_SEND_ONCE) }))).toEqual({ kr: MACH_MSG.SEND_INVALID_REPLY });
    expect(b.call('mach_port_mod_refs', { name: bSend, right: PORT_RIGHT.RECEIVE, delta: -1 })).toEqual({ kr: KERN.INVALID_RIGHT });
    expect(b.call('mach_port_insert_right', { name: bSend, disposition: MSG_TYPE.MAKE_SEND })).toEqual({ kr: KERN.INVALID_RIGHT, name: 0 });
    // A port used as a semaphore, a semaphore used as a memory object, a receive right as a capability.
    expect(b.call('semaphore_signal', { sem: bSend })).toEqual({ kr: KERN.INVALID_CAPABILITY });
    const s = a.call('semaphore_create', { value: 0 });
    if (s === 'blocked' || s === 'dead') throw new Error(s);
    expect(a.call('vm_map', { object: s.name, offset: 0, size: 4096, address: 0, anywhere: true, prot: 3 })).toEqual({ kr: KERN.INVALID_ARGUMENT, address: 0 });
    expect(a.call('semaphore_signal', { sem: aRecv })).toEqual({ kr: KERN.INVALID_CAPABILITY });
    // Port-set rights cannot be sent.
    const set = a.call('mach_port_allocate', { right: PORT_RIGHT.PORT_SET });
    if (set === 'blocked' || set === 'dead') throw new Error(set);
    expect(a.call('mach_msg', send({ ...m(aRecv), items: [{ type: 'port', name: set.name, disposition: MSG_TYPE.COPY_SEND }] }))).toEqual({ kr: MACH_MSG.SEND_INVALID_RIGHT });
  });

  it('malformed messages and arguments', () => {
    const { b, bSend } = setup();
    const bad: unknown[] = [
      null,
      {},
      { bits: -1, remote: bSend, local: 0, id: 1 },
      { bits: msghBits(MSG_TYPE.COPY_SEND) | 0x10000, remote: bSend, local: 0, id: 1 },
      { bits: msghBits(99), remote: bSend, local: 0, id: 1 },
      { bits: msghBits(MSG_TYPE.COPY_SEND), remote: 1.5, local: 0, id: 1 },
    ];
    for (const x of bad) {
      const r = b.call('mach_msg', send(x));
      expect(r !== 'blocked' && r !== 'dead' && r.kr).toBeGreaterThan(0);
    }
    const badItems: unknown[] = [
      'x',
      [{ type: 'bogus' }],
      [{ type: 'inline', data: [1, 2, 3] }],
      [{ type: 'int32', values: [1.5] }],
      [{ type: 'port', name: bSend, disposition: 3 }],
      new Array(65).fill({ type: 'int32', values: [] }),
      [{ type: 'ool', address: 0x10000, size: -1, deallocate: false }],
    ];
    for (const items of badItems) expect(b.call('mach_msg', send({ ...m(bSend), items }))).toEqual({ kr: MACH_MSG.SEND_INVALID_TYPE });
    expect(b.call('mach_msg', send({ ...m(bSend), items: [{ type: 'inline', data: new Uint8Array(70_000) }] }))).toEqual({ kr: MACH_MSG.SEND_NO_BUFFER });
    // Generic argument validation: the task ends (no exception port) with the reason.
    expect(b.call('mach_msg', send(42))).toBe('dead');
    expect(b.task.exit).toMatchObject({ kind: 'guest-error' });
  });

  it('misaligned, out-of-range and other tasks\' addresses', () => {
    const { a, b, bSend } = setup();
    const mine = a.call('vm_allocate', { address: 0, size: 8192, anywhere: true });
    if (mine === 'blocked' || mine === 'dead') throw new Error(mine);
    // b sends a's region out of line: b has no such mapping.
    expect(b.call('mach_msg', send({ ...m(bSend), items: [{ type: 'ool', address: mine.address, size: 100, deallocate: false }] }))).toEqual({ kr: MACH_MSG.SEND_INVALID_MEMORY });
    expect(b.call('vm_protect', { address: mine.address, size: 4096, setMax: false, prot: 1 })).toEqual({ kr: KERN.INVALID_ADDRESS });
    expect(b.call('vm_allocate', { address: 0x7fff_f000, size: 8192, anywhere: false })).toEqual({ kr: KERN.INVALID_ADDRESS, address: 0 });
    expect(b.call('vm_allocate', { address: 0, size: 4096, anywhere: false })).toEqual({ kr: KERN.INVALID_ADDRESS, address: 0 });
    expect(b.call('vm_allocate', { address: 0, size: 2 ** 40, anywhere: true })).toEqual({ kr: KERN.NO_SPACE, address: 0 });
    expect(b.call('vm_allocate', { address: 0, size: 17 * 1024 * 1024, anywhere: true })).toEqual({ kr: KERN.NO_SPACE, address: 0 });
    expect(b.call('vm_deallocate', { address: 0xffff_f000, size: 0x2000 })).toEqual({ kr: KERN.INVALID_ADDRESS });
    expect(b.call('memory_object_create', { size: 2 ** 50 })).toEqual({ kr: KERN.INVALID_ARGUMENT, name: 0 });
    // Huge OOL.
    expect(b.call('mach_msg', send({ ...m(bSend), items: [{ type: 'ool', address: 0x10000, size: 2 ** 30, deallocate: false }] }))).toEqual({ kr: MACH_MSG.SEND_NO_BUFFER });
    // a's own misaligned access faults (its task ends: no exception handler).
    const f = a.mem((ctx) => ctx.mem.read32(mine.address + 2));
    expect(f).toBeInstanceOf(MemoryFault);
    expect((f as MemoryFault).fault).toBe('alignment');
    expect(a.task.alive).toBe(false);
    expect(b.task.alive).toBe(true);
  });

  it('messages to dead ports and overflowing queues', () => {
    const { kernel, a, b, aRecv, bSend } = setup();
    for (let i = 0; i < 5; i++) expect(b.call('mach_msg', send(m(bSend)))).toEqual({ kr: 0 });
    expect(b.call('mach_msg', send(m(bSend)))).toEqual({ kr: MACH_MSG.SEND_TIMED_OUT });
    // Send-once rights ignore the queue limit.
    const so = a.call('mach_port_insert_right', { name: aRecv, disposition: MSG_TYPE.MAKE_SEND_ONCE });
    if (so === 'blocked' || so === 'dead') throw new Error(so);
    expect(a.call('mach_msg', send(m(so.name, MSG_TYPE.MOVE_SEND_ONCE)))).toEqual({ kr: 0 });
    // A blocked sender is released with SEND_INVALID_DEST when the port dies.
    b.start('mach_msg', send(m(bSend), SEND));
    expect(b.collect('mach_msg', 1e6)).toBe('blocked');
    const kmsgs = kernel.ipc.kmsgsLive;
    expect(kmsgs).toBe(6);
    expect(a.call('mach_port_destroy', { name: aRecv })).toEqual({ kr: 0 });
    expect(b.collect('mach_msg')).toEqual({ kr: MACH_MSG.SEND_INVALID_DEST });
    expect(kernel.ipc.kmsgsLive).toBe(0);
    expect(b.call('mach_msg', send(m(bSend)))).toEqual({ kr: MACH_MSG.SEND_INVALID_DEST });
    expect(b.call('bootstrap_look_up', { service: 'a' })).toEqual({ kr: BOOTSTRAP.UNKNOWN_SERVICE, name: 0 });
  });

  it('privilege: only privileged tasks get the host-privileged port; vm_wire needs it', () => {
    const { world, kernel, b } = setup();
    const priv = new Puppet(world, kernel, 'registry', { privileged: true });
    expect(b.call('task_get_special_port', { which: TASK_PORT.HOST_PRIV })).toEqual({ kr: KERN.NO_ACCESS, name: 0 });
    const hp = priv.call('task_get_special_port', { which: TASK_PORT.HOST_PRIV });
    if (hp === 'blocked' || hp === 'dead') throw new Error(hp);
    expect(hp.kr).toBe(0);
    const host = b.call('task_get_special_port', { which: TASK_PORT.HOST });
    if (host === 'blocked' || host === 'dead') throw new Error(host);
    const mem = b.call('vm_allocate', { address: 0, size: 4096, anywhere: true });
    const pm = priv.call('vm_allocate', { address: 0, size: 4096, anywhere: true });
    if (mem === 'blocked' || mem === 'dead' || pm === 'blocked' || pm === 'dead') throw new Error('alloc');
    expect(b.call('vm_wire', { hostPriv: host.name, address: mem.address, size: 4096, access: VM_PROT.READ })).toEqual({ kr: KERN.INVALID_HOST });
    expect(b.call('vm_wire', { hostPriv: 12345, address: mem.address, size: 4096, access: VM_PROT.READ })).toEqual({ kr: KERN.INVALID_NAME });
    expect(priv.call('vm_wire', { hostPriv: hp.name, address: pm.address, size: 4096, access: VM_PROT.READ | VM_PROT.WRITE })).toEqual({ kr: 0 });
    expect(priv.task.map.lookup(pm.address)?.wired).toBe(1);
    // The capability can be handed on by message: then the receiver holds it (that is the point of capabilities).
    expect(b.call('thread_set_priority', { priority: 31 })).toEqual({ kr: KERN.INVALID_VALUE });
    expect(priv.call('thread_set_priority', { priority: 31 })).toEqual({ kr: 0 });
  });

  it('task_terminate needs a task port; a task port kills its task and goes dead', () => {
    const { world, kernel, a, b } = setup();
    const tp = a.call('task_get_special_port', { which: TASK_PORT.KERNEL });
    if (tp === 'blocked' || tp === 'dead') throw new Error(tp);
    const c = new Puppet(world, kernel, 'c');
    expect(c.call('task_terminate', { task: tp.name })).toEqual({ kr: KERN.INVALID_NAME });
    expect(b.call('task_terminate', { task: tp.name })).toEqual({ kr: KERN.INVALID_NAME });
    void kernel;
    expect(a.call('task_terminate', { task: tp.name })).toBe('dead');
    expect(a.task.exit).toMatchObject({ kind: 'killed' });
  });

  it('exhausting limits: names, threads; messages to a kernel object without a message interface', () => {
    const { world, kernel, a } = setup();
    let last = { kr: 0, name: 0 };
    let n = 0;
    for (; n < 5000 && last.kr === 0; n++) last = call(a.call('mach_port_allocate', { right: PORT_RIGHT.DEAD_NAME }));
    expect(last.kr).toBe(KERN.NO_SPACE);
    expect(a.task.space.entries.size).toBe(4096);
    let threads = 0;
    const spin = kernel.spawn('spawner', function* () {
      for (let i = 0; i < 300; i++) {
        const r = yield { sys: 'thread_create', priority: 0, program: function* () { yield { sys: 'thread_sleep_ns', ns: 1e9 }; } } as never;
        if ((r as { kr: number }).kr === 0) threads++;
        else break;
      }
    });
    world.sched.runUntil(() => !spin.alive || threads >= 255, { nsMax: 1e9 });
    world.sched.runFor(1e6);
    expect(threads).toBe(255);
    // A message to a kernel object's port (no message interface) is refused and destroyed.
    const b = new Puppet(world, kernel, 'b');
    const tp = call(b.call('task_get_special_port', { which: TASK_PORT.KERNEL }));
    const before = kernel.ipc.kmsgsLive;
    expect(b.call('mach_msg', send(m(tp.name)))).toEqual({ kr: MACH_MSG.SEND_INVALID_DEST });
    expect(kernel.ipc.kmsgsLive).toBe(before);
  });

  it('threads whose "program" is not a well-behaved generator end their task, never the emulator', () => {
    const weird: unknown[] = [
      () => 5,
      () => null,
      () => ({ next: () => undefined }),
      () => ({ next: () => ({ get done(): boolean { throw new Error('getter'); }, value: 1 }) }),
      () => {
        let n = 0;
        return { next: () => (n++ < 3 ? { done: false, value: { sys: 'null_trap', extra: () => 1 } } : { done: true, value: undefined }) };
      },
      () => {
        throw new Error('at start');
      },
    ];
    for (const program of weird) {
      const { world, kernel } = boot();
      const parent = kernel.spawn('parent', function* () {
        yield { sys: 'thread_create', priority: -1, program } as never;
        yield { sys: 'thread_sleep_ns', ns: 1_000_000 } as never;
      });
      const other = kernel.spawn('bystander', function* () {
        yield { sys: 'thread_sleep_ns', ns: 2_000_000 } as never;
      });
      world.sched.runUntil(() => !parent.alive && !other.alive, { nsMax: 1e9 });
      expect(other.exit).toEqual({ kind: 'exit', code: 0 });
      expect(parent.exit).toBeDefined();
    }
  });

  it('getters and changing objects: every guest value is read once, validated, then used', () => {
    const { world, kernel, a, b, bSend } = setup();
    // A message whose header getter throws: the send buffer is unreadable.
    const throwing = { get bits(): number { throw new Error('no'); }, remote: bSend, local: 0, id: 1 };
    expect(b.call('mach_msg', send(throwing))).toEqual({ kr: MACH_MSG.SEND_INVALID_DATA });
    // An item that reads as COPY_SEND when validated and MOVE_RECEIVE when copied in.
    let flips = 0;
    const item = { type: 'port', name: bSend, get disposition(): number { return flips++ === 0 ? MSG_TYPE.COPY_SEND : MSG_TYPE.MOVE_RECEIVE; } };
    expect(b.call('mach_msg', send({ ...m(bSend), items: [item] }))).toEqual({ kr: 0 });
    expect(flips).toBe(1);
    // An array element that changes between reads.
    let reads = 0;
    const items: unknown[] = [];
    Object.defineProperty(items, 0, { get: () => (reads++ === 0 ? { type: 'int32', values: [1] } : { type: 'port', name: bSend, disposition: MSG_TYPE.MOVE_RECEIVE }), enumerable: true });
    items.length = 1;
    expect(b.call('mach_msg', send({ ...m(bSend), items }))).toEqual({ kr: 0 });
    expect(reads).toBe(1);
    // Trap arguments with getters (yielded directly: the stubs would read them first).
    let n = 0;
    let allocated = { kr: -1, address: 0 };
    const changing = kernel.spawn('changing', function* () {
      allocated = (yield { sys: 'vm_allocate', address: 0, get size(): number { return n++ === 0 ? 4096 : 2 ** 60; }, anywhere: true } as never) as typeof allocated;
    });
    const thrower = kernel.spawn('thrower', function* () {
      yield { sys: 'vm_deallocate', get address(): number { throw new Error('boom'); }, size: 1 } as never;
    });
    world.sched.runUntil(() => !changing.alive && !thrower.alive, { nsMax: 1e8 });
    expect(allocated.kr).toBe(0);
    expect(n).toBe(1);
    expect(thrower.exit).toMatchObject({ kind: 'guest-error' });
    const got = a.call('mach_msg', { option: RCV | MACH_MSG_OPTION.RCV_TIMEOUT, msg: null, rcvName: 0x100, rcvSize: 65536, timeoutMs: 0, notify: 0 });
    expect(got !== 'blocked' && got !== 'dead' && got.kr).toBe(0);
  });
});

function call<T>(r: T | 'blocked' | 'dead'): T {
  if (r === 'blocked' || r === 'dead') throw new Error(`call ${r}`);
  return r;
}
