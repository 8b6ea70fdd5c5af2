import { describe, expect, it } from 'vitest';
import { BOOTSTRAP, KERN, MACH_MSG } from '../../kernel/abi/errors.ts';
import {
  MACH_MSG_OPTION,
  MACH_PORT_DEAD,
  MACH_PORT_NULL,
  MSG_TYPE,
  NOTIFY,
  PORT_RIGHT,
  PORT_TYPE,
  msghBits,
  type MachMsg,
  type MsgItem,
} from '../../kernel/abi/message.ts';
import { MemoryFault } from '../../kernel/abi/guest.ts';
import { boot, Puppet } from './harness.ts';

const SEND = MACH_MSG_OPTION.SEND_MSG;
const RCV = MACH_MSG_OPTION.RCV_MSG;

function msg(remote: number, items: MsgItem[] = [], rd: number = MSG_TYPE.COPY_SEND, local = 0, ld = 0, id = 1): MachMsg {
  return { bits: msghBits(rd, ld), remote, local, id, items };
}

function setup() {
  const { world, kernel } = boot();
  const a = new Puppet(world, kernel, 'a');
  const b = new Puppet(world, kernel, 'b');
  return { world, kernel, a, b };
}

function sendArgs(m: MachMsg | null, option: number = SEND, timeoutMs = 0) {
  return { option, msg: m, rcvName: 0, rcvSize: 0, timeoutMs, notify: 0 };
}
function rcvArgs(name: number, option: number = RCV, timeoutMs = 0, rcvSize = 1 << 20) {
  return { option, msg: null, rcvName: name, rcvSize, timeoutMs, notify: 0 };
}

/** a allocates a port and gives b a send right to it through the bootstrap service. */
function connect(a: Puppet, b: Puppet, service = 'svc'): { aRecv: number; bSend: number } {
  const p = a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
  if (p === 'blocked' || p === 'dead') throw new Error('allocate');
  expect(a.call('bootstrap_register', { service, name: p.name })).toEqual({ kr: KERN.SUCCESS });
  const l = b.call('bootstrap_look_up', { service });
  if (l === 'blocked' || l === 'dead') throw new Error('look up');
  expect(l.kr).toBe(KERN.SUCCESS);
  return { aRecv: p.name, bSend: l.name };
}

describe('ports and mach_msg', () => {
  it('sends inline data between two tasks through a looked-up send right', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b);
    const data = new Uint8Array([1, 2, 3, 4, 5]);
    expect(b.call('mach_msg', sendArgs(msg(bSend, [{ type: 'inline', data }, { type: 'int32', values: [7, 0xffffffff] }])))).toEqual({ kr: 0 });
    const r = a.call('mach_msg', rcvArgs(aRecv));
    if (r === 'blocked' || r === 'dead') throw new Error(r);
    expect(r.kr).toBe(0);
    expect(r.msg?.local).toBe(aRecv);
    expect(r.msg?.items[0]).toEqual({ type: 'inline', data });
    expect(r.msg?.items[1]).toEqual({ type: 'int32', values: [7, 0xffffffff] });
    expect(r.msg?.seqno).toBe(0);
  });

  it('a receiver blocks until a message arrives, and times out when asked', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b);
    expect(a.call('mach_msg', rcvArgs(aRecv, RCV | MACH_MSG_OPTION.RCV_TIMEOUT, 0))).toEqual({ kr: MACH_MSG.RCV_TIMED_OUT });
    expect(a.call('mach_msg', rcvArgs(aRecv, RCV | MACH_MSG_OPTION.RCV_TIMEOUT, 2))).toEqual({ kr: MACH_MSG.RCV_TIMED_OUT });
    a.start('mach_msg', rcvArgs(aRecv));
    expect(b.call('mach_msg', sendArgs(msg(bSend, [], MSG_TYPE.COPY_SEND, 0, 0, 42)))).toEqual({ kr: 0 });
    const r = a.collect('mach_msg');
    if (r === 'blocked' || r === 'dead') throw new Error(r);
    expect(r.msg?.id).toBe(42);
  });

  it('RPC: a send-once reply right made by the client carries the reply back', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b);
    const reply = b.call('mach_reply_port', {});
    if (reply === 'blocked' || reply === 'dead') throw new Error(reply);
    b.start('mach_msg', { option: SEND | RCV, msg: msg(bSend, [], MSG_TYPE.COPY_SEND, reply.name, MSG_TYPE.MAKE_SEND_ONCE, 100), rcvName: reply.name, rcvSize: 4096, timeoutMs: 0, notify: 0 });
    const req = a.call('mach_msg', rcvArgs(aRecv));
    if (req === 'blocked' || req === 'dead' || req.msg === undefined) throw new Error('no request');
    expect(req.msg.bits & 0xff).toBe(MSG_TYPE.PORT_SEND_ONCE);
    const t = a.call('mach_port_type', { name: req.msg.remote });
    expect(t).toEqual({ kr: 0, type: PORT_TYPE.SEND_ONCE });
    expect(a.call('mach_msg', sendArgs(msg(req.msg.remote, [{ type: 'int32', values: [9] }], MSG_TYPE.MOVE_SEND_ONCE, 0, 0, 200)))).toEqual({ kr: 0 });
    const r = b.collect('mach_msg');
    if (r === 'blocked' || r === 'dead') throw new Error(r);
    expect(r.msg?.id).toBe(200);
    // The send-once right is gone from a's space.
    expect(a.call('mach_port_type', { name: req.msg.remote })).toEqual({ kr: KERN.INVALID_NAME, type: 0 });
  });

  it('moves and copies send rights, merging user references under one name', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b);
    const q = b.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (q === 'blocked' || q === 'dead') throw new Error(q);
    // b gives a two send rights to q (MAKE_SEND twice) in one message.
    const items: MsgItem[] = [
      { type: 'port', name: q.name, disposition: MSG_TYPE.MAKE_SEND },
      { type: 'port', name: q.name, disposition: MSG_TYPE.MAKE_SEND },
    ];
    expect(b.call('mach_msg', sendArgs(msg(bSend, items)))).toEqual({ kr: 0 });
    const r = a.call('mach_msg', rcvArgs(aRecv));
    if (r === 'blocked' || r === 'dead' || r.msg === undefined) throw new Error('rcv');
    const [i0, i1] = r.msg.items;
    expect(i0?.type === 'port' && i1?.type === 'port' && i0.name === i1.name).toBe(true);
    const name = i0?.type === 'port' ? i0.name : 0;
    expect(a.call('mach_port_get_refs', { name, right: PORT_RIGHT.SEND })).toEqual({ kr: 0, refs: 2 });
    // That name means nothing in b (or names b's own, different right).
    const inB = b.call('mach_port_type', { name });
    expect(inB !== 'blocked' && inB !== 'dead' && (inB.kr === KERN.INVALID_NAME || name === q.name)).toBe(true);
    expect(a.call('mach_port_deallocate', { name })).toEqual({ kr: 0 });
    expect(a.call('mach_port_deallocate', { name })).toEqual({ kr: 0 });
    expect(a.call('mach_port_deallocate', { name })).toEqual({ kr: KERN.INVALID_NAME });
  });

  it('moves a receive right: the old holder loses it, existing send rights keep working', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b);
    const q = b.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (q === 'blocked' || q === 'dead') throw new Error(q);
    expect(b.call('mach_port_insert_right', { name: q.name, disposition: MSG_TYPE.MAKE_SEND })).toEqual({ kr: 0, name: q.name });
    expect(b.call('mach_msg', sendArgs(msg(bSend, [{ type: 'port', name: q.name, disposition: MSG_TYPE.MOVE_RECEIVE }])))).toEqual({ kr: 0 });
    expect(b.call('mach_port_type', { name: q.name })).toEqual({ kr: 0, type: PORT_TYPE.SEND });
    expect(b.call('mach_msg', rcvArgs(q.name))).toEqual({ kr: MACH_MSG.RCV_INVALID_NAME });
    const r = a.call('mach_msg', rcvArgs(aRecv));
    if (r === 'blocked' || r === 'dead' || r.msg === undefined) throw new Error('rcv');
    const item = r.msg.items[0];
    if (item?.type !== 'port') throw new Error('item');
    expect(item.disposition).toBe(MSG_TYPE.PORT_RECEIVE);
    expect(b.call('mach_msg', sendArgs(msg(q.name, [], MSG_TYPE.COPY_SEND, 0, 0, 5)))).toEqual({ kr: 0 });
    const r2 = a.call('mach_msg', rcvArgs(item.name));
    expect(r2 !== 'blocked' && r2 !== 'dead' && r2.msg?.id).toBe(5);
  });

  it('out-of-line memory arrives as new pages in the receiver; move removes it from the sender', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b);
    const m = b.call('vm_allocate', { address: 0, size: 3 * 4096, anywhere: true });
    if (m === 'blocked' || m === 'dead') throw new Error(m);
    b.mem((ctx) => {
      for (let i = 0; i < 3 * 4096; i += 4) ctx.mem.write32(m.address + i, i);
    });
    const items: MsgItem[] = [
      { type: 'ool', address: m.address + 100, size: 5000, deallocate: false },
      { type: 'ool', address: m.address, size: 3 * 4096, deallocate: true },
    ];
    expect(b.call('mach_msg', sendArgs(msg(bSend, items)))).toEqual({ kr: 0 });
    const fault = b.mem((ctx) => ctx.mem.read32(m.address));
    expect(fault).toBeInstanceOf(MemoryFault);
    expect(b.task.alive).toBe(false); // b touched deallocated memory with no exception handler
    expect(b.task.exit).toMatchObject({ kind: 'guest-error' });
    const r = a.call('mach_msg', rcvArgs(aRecv));
    if (r === 'blocked' || r === 'dead' || r.msg === undefined) throw new Error('rcv');
    const [o1, o2] = r.msg.items;
    if (o1?.type !== 'ool' || o2?.type !== 'ool') throw new Error('items');
    expect(o1.size).toBe(5000);
    const got = a.mem((ctx) => [ctx.mem.read32(o1.address), ctx.mem.read32(o1.address + 4996), ctx.mem.read32(o2.address + 8192)]);
    expect(got).toEqual([100, 5096, 8192]);
  });

  it('port sets: a receive on the set takes messages from any member; a member cannot be received directly', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b, 's1');
    const p2 = a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    const set = a.call('mach_port_allocate', { right: PORT_RIGHT.PORT_SET });
    if (p2 === 'blocked' || p2 === 'dead' || set === 'blocked' || set === 'dead') throw new Error('alloc');
    expect(a.call('bootstrap_register', { service: 's2', name: p2.name })).toEqual({ kr: 0 });
    const s2 = b.call('bootstrap_look_up', { service: 's2' });
    if (s2 === 'blocked' || s2 === 'dead') throw new Error('lookup');
    expect(a.call('mach_port_move_member', { member: aRecv, after: set.name })).toEqual({ kr: 0 });
    expect(a.call('mach_port_move_member', { member: p2.name, after: set.name })).toEqual({ kr: 0 });
    expect(b.call('mach_msg', sendArgs(msg(s2.name, [], MSG_TYPE.COPY_SEND, 0, 0, 2)))).toEqual({ kr: 0 });
    expect(b.call('mach_msg', sendArgs(msg(bSend, [], MSG_TYPE.COPY_SEND, 0, 0, 1)))).toEqual({ kr: 0 });
    expect(a.call('mach_msg', rcvArgs(aRecv))).toEqual({ kr: MACH_MSG.RCV_IN_SET });
    const r1 = a.call('mach_msg', rcvArgs(set.name));
    const r2 = a.call('mach_msg', rcvArgs(set.name));
    if (r1 === 'blocked' || r1 === 'dead' || r2 === 'blocked' || r2 === 'dead') throw new Error('rcv');
    expect([r1.msg?.id, r1.msg?.local, r2.msg?.id, r2.msg?.local]).toEqual([2, p2.name, 1, aRecv]);
  });

  it('queue limits: a full queue times out senders (nothing moves), a blocked sender proceeds when room appears', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b);
    expect(a.call('mach_port_set_qlimit', { name: aRecv, qlimit: 2 })).toEqual({ kr: 0 });
    expect(a.call('mach_port_set_qlimit', { name: aRecv, qlimit: 17 })).toEqual({ kr: KERN.INVALID_VALUE });
    expect(b.call('mach_msg', sendArgs(msg(bSend)))).toEqual({ kr: 0 });
    expect(b.call('mach_msg', sendArgs(msg(bSend)))).toEqual({ kr: 0 });
    const q = b.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (q === 'blocked' || q === 'dead') throw new Error(q);
    const moving = msg(bSend, [{ type: 'port', name: q.name, disposition: MSG_TYPE.MOVE_RECEIVE }], MSG_TYPE.COPY_SEND, 0, 0, 3);
    expect(b.call('mach_msg', sendArgs(moving, SEND | MACH_MSG_OPTION.SEND_TIMEOUT, 0))).toEqual({ kr: MACH_MSG.SEND_TIMED_OUT });
    expect(b.call('mach_msg', sendArgs(moving, SEND | MACH_MSG_OPTION.SEND_TIMEOUT, 1))).toEqual({ kr: MACH_MSG.SEND_TIMED_OUT });
    expect(b.call('mach_port_type', { name: q.name })).toEqual({ kr: 0, type: PORT_TYPE.RECEIVE });
    b.start('mach_msg', sendArgs(moving));
    expect(b.collect('mach_msg', 1e6)).toBe('blocked');
    expect(a.call('mach_msg', rcvArgs(aRecv))).toMatchObject({ kr: 0 });
    expect(b.collect('mach_msg')).toEqual({ kr: 0 });
    expect(b.call('mach_port_type', { name: q.name })).toEqual({ kr: KERN.INVALID_NAME, type: 0 });
  });

  it('dead names, dead-name and no-senders notifications, messages to dead ports', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b);
    const notify = b.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (notify === 'blocked' || notify === 'dead') throw new Error('n');
    expect(b.call('mach_port_request_notification', { name: bSend, variant: NOTIFY.DEAD_NAME, sync: 0, notify: notify.name, disposition: MSG_TYPE.MAKE_SEND_ONCE })).toEqual({
      kr: 0,
      previous: 0,
    });
    // a asks for no-senders on its port, to a port of its own.
    const an = a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (an === 'blocked' || an === 'dead') throw new Error('n');
    expect(a.call('mach_port_request_notification', { name: aRecv, variant: NOTIFY.NO_SENDERS, sync: 0, notify: an.name, disposition: MSG_TYPE.MAKE_SEND_ONCE })).toMatchObject({ kr: 0 });
    // Drop b's right and the registry's: no-senders fires... the registry still holds one, so nothing yet.
    expect(a.call('mach_msg', rcvArgs(an.name, RCV | MACH_MSG_OPTION.RCV_TIMEOUT, 0))).toEqual({ kr: MACH_MSG.RCV_TIMED_OUT });
    // Destroy a's receive right: b's send right becomes a dead name and b is told.
    expect(a.call('mach_port_destroy', { name: aRecv })).toEqual({ kr: 0 });
    const t = b.call('mach_port_type', { name: bSend });
    expect(t).toEqual({ kr: 0, type: PORT_TYPE.DEAD_NAME });
    const n = b.call('mach_msg', rcvArgs(notify.name));
    if (n === 'blocked' || n === 'dead' || n.msg === undefined) throw new Error('notification');
    expect(n.msg.id).toBe(NOTIFY.DEAD_NAME);
    expect(n.msg.items[0]).toEqual({ type: 'port', name: bSend, disposition: MSG_TYPE.PORT_NAME });
    expect(b.call('mach_port_get_refs', { name: bSend, right: PORT_RIGHT.DEAD_NAME })).toEqual({ kr: 0, refs: 2 });
    expect(b.call('mach_msg', sendArgs(msg(bSend)))).toEqual({ kr: MACH_MSG.SEND_INVALID_DEST });
    expect(b.call('bootstrap_look_up', { service: 'svc' })).toEqual({ kr: BOOTSTRAP.UNKNOWN_SERVICE, name: 0 });
  });

  it('no-senders fires when the last send right goes', () => {
    const { a } = setup();
    const p = a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    const n = a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (p === 'blocked' || p === 'dead' || n === 'blocked' || n === 'dead') throw new Error('alloc');
    expect(a.call('mach_port_insert_right', { name: p.name, disposition: MSG_TYPE.MAKE_SEND })).toEqual({ kr: 0, name: p.name });
    expect(a.call('mach_port_request_notification', { name: p.name, variant: NOTIFY.NO_SENDERS, sync: 1, notify: n.name, disposition: MSG_TYPE.MAKE_SEND_ONCE })).toMatchObject({ kr: 0 });
    expect(a.call('mach_port_deallocate', { name: p.name })).toEqual({ kr: 0 });
    const r = a.call('mach_msg', rcvArgs(n.name, RCV | MACH_MSG_OPTION.RCV_TIMEOUT, 0));
    if (r === 'blocked' || r === 'dead') throw new Error(r);
    expect(r.msg?.id).toBe(NOTIFY.NO_SENDERS);
    expect(r.msg?.items[0]).toEqual({ type: 'int32', values: [1] });
  });

  it('send-once notification when a send-once right is destroyed unused', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b);
    const reply = b.call('mach_reply_port', {});
    if (reply === 'blocked' || reply === 'dead') throw new Error(reply);
    expect(b.call('mach_msg', sendArgs(msg(bSend, [], MSG_TYPE.COPY_SEND, reply.name, MSG_TYPE.MAKE_SEND_ONCE)))).toEqual({ kr: 0 });
    const r = a.call('mach_msg', rcvArgs(aRecv));
    if (r === 'blocked' || r === 'dead' || r.msg === undefined) throw new Error('rcv');
    expect(a.call('mach_port_deallocate', { name: r.msg.remote })).toEqual({ kr: 0 });
    const n = b.call('mach_msg', rcvArgs(reply.name, RCV | MACH_MSG_OPTION.RCV_TIMEOUT, 0));
    expect(n !== 'blocked' && n !== 'dead' && n.msg?.id).toBe(NOTIFY.SEND_ONCE);
  });

  it('port-destroyed notification hands the receive right to the backup port', () => {
    const { a } = setup();
    const p = a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    const backup = a.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (p === 'blocked' || p === 'dead' || backup === 'blocked' || backup === 'dead') throw new Error('alloc');
    expect(a.call('mach_port_request_notification', { name: p.name, variant: NOTIFY.PORT_DESTROYED, sync: 0, notify: backup.name, disposition: MSG_TYPE.MAKE_SEND_ONCE })).toMatchObject({ kr: 0 });
    expect(a.call('mach_port_mod_refs', { name: p.name, right: PORT_RIGHT.RECEIVE, delta: -1 })).toEqual({ kr: 0 });
    const r = a.call('mach_msg', rcvArgs(backup.name, RCV | MACH_MSG_OPTION.RCV_TIMEOUT, 0));
    if (r === 'blocked' || r === 'dead' || r.msg === undefined) throw new Error('rcv');
    expect(r.msg.id).toBe(NOTIFY.PORT_DESTROYED);
    const it0 = r.msg.items[0];
    expect(it0?.type === 'port' && it0.disposition).toBe(MSG_TYPE.PORT_RECEIVE);
  });

  it('task death releases every right: the peer sees dead names and the notifications', () => {
    const { world, kernel, a, b } = setup();
    const { bSend } = connect(a, b);
    const notify = b.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (notify === 'blocked' || notify === 'dead') throw new Error('n');
    b.call('mach_port_request_notification', { name: bSend, variant: NOTIFY.DEAD_NAME, sync: 0, notify: notify.name, disposition: MSG_TYPE.MAKE_SEND_ONCE });
    const portsBefore = kernel.ipc.portsLive;
    kernel.endTask(a.task, { kind: 'killed', by: 'test' });
    world.sched.runFor(1_000_000);
    expect(a.task.space.entries.size).toBe(0);
    expect(a.task.map.pageCount).toBe(0);
    expect(kernel.ipc.portsLive).toBeLessThan(portsBefore);
    expect(b.call('mach_port_type', { name: bSend })).toEqual({ kr: 0, type: PORT_TYPE.DEAD_NAME });
    const n = b.call('mach_msg', rcvArgs(notify.name, RCV | MACH_MSG_OPTION.RCV_TIMEOUT, 0));
    expect(n !== 'blocked' && n !== 'dead' && n.msg?.id).toBe(NOTIFY.DEAD_NAME);
  });

  it('dead rights in transit arrive as MACH_PORT_DEAD', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b);
    const q = b.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE });
    if (q === 'blocked' || q === 'dead') throw new Error(q);
    expect(b.call('mach_msg', sendArgs(msg(bSend, [{ type: 'port', name: q.name, disposition: MSG_TYPE.MAKE_SEND }])))).toEqual({ kr: 0 });
    expect(b.call('mach_port_destroy', { name: q.name })).toEqual({ kr: 0 });
    const r = a.call('mach_msg', rcvArgs(aRecv));
    if (r === 'blocked' || r === 'dead' || r.msg === undefined) throw new Error('rcv');
    expect(r.msg.items[0]).toEqual({ type: 'port', name: MACH_PORT_DEAD, disposition: MSG_TYPE.PORT_SEND });
    void MACH_PORT_NULL;
  });

  it('a message larger than the receive buffer: RCV_TOO_LARGE destroys it, or leaves it queued with RCV_LARGE', () => {
    const { a, b } = setup();
    const { aRecv, bSend } = connect(a, b);
    const big = [{ type: 'inline' as const, data: new Uint8Array(100) }];
    expect(b.call('mach_msg', sendArgs(msg(bSend, big)))).toEqual({ kr: 0 });
    expect(b.call('mach_msg', sendArgs(msg(bSend, big)))).toEqual({ kr: 0 });
    expect(a.call('mach_msg', rcvArgs(aRecv, RCV | MACH_MSG_OPTION.RCV_LARGE, 0, 64))).toEqual({ kr: MACH_MSG.RCV_TOO_LARGE, tooLargeSize: 24 + 4 + 100 });
    expect(a.call('mach_msg', rcvArgs(aRecv, RCV, 0, 64))).toEqual({ kr: MACH_MSG.RCV_TOO_LARGE, tooLargeSize: 128 });
    const r = a.call('mach_msg', rcvArgs(aRecv, RCV, 0, 128));
    expect(r !== 'blocked' && r !== 'dead' && r.msg?.size).toBe(128);
    expect(r !== 'blocked' && r !== 'dead' && r.msg?.seqno).toBe(1);
  });
});
