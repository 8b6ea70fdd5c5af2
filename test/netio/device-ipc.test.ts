/**
 * The device path by Mach IPC (net_device_open, kernel/netio/device-ipc.ts): default traffic
 * arrives as messages (one frame inline each) on the port the caller named, frames leave as
 * messages to the device's port; malformed messages are refused and nothing leaves; only a holder
 * of the module's privileged port may open it; a full queue drops and counts; when the port dies or
 * the device's last right goes, traffic returns to the default channel.
 */
import { describe, expect, it } from 'vitest';
import { KERN, MACH_MSG } from '../../kernel/abi/errors.ts';
import { MACH_MSG_OPTION, MSG_SIZE_MAX, MSG_TYPE, msghBits, PORT_RIGHT, PORT_TYPE, type MsgItem, type ReceivedMsg } from '../../kernel/abi/message.ts';
import { NETIO_DEVICE_MSG, NETIO_ERR, NETIO_LINK } from '../../kernel/abi/netio.ts';
import { Puppet } from '../kernel/harness.ts';
import { an1World, createVia, ethWorld, MAC_A, MAC_B, MAC_C, rawEthSpec, rawFrame, registry } from './netio-hosts.ts';

const ok = <T>(r: T | 'blocked' | 'dead'): T => {
  if (r === 'blocked' || r === 'dead') throw new Error(`call ${r}`);
  return r;
};

type Reg = ReturnType<typeof registry>;

/** A receive right in the registry puppet and the device opened on it. */
function openDevice(reg: Reg, link: 'ethernet' | 'an1' = 'ethernet', qlimit = 16): { rx: number; dev: number } {
  const rx = ok(reg.p.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE })).name;
  expect(ok(reg.p.call('mach_port_set_qlimit', { name: rx, qlimit })).kr).toBe(KERN.SUCCESS);
  const d = ok(reg.p.call('net_device_open', { priv: reg.priv, link: NETIO_LINK[link], port: rx }));
  expect(d.kr).toBe(KERN.SUCCESS);
  return { rx, dev: d.name };
}

/** Every message waiting on `rx`, without blocking. */
function receiveAll(p: Puppet, rx: number): ReceivedMsg[] {
  const out: ReceivedMsg[] = [];
  for (;;) {
    const r = ok(p.call('mach_msg', { option: MACH_MSG_OPTION.RCV_MSG | MACH_MSG_OPTION.RCV_TIMEOUT, msg: null, rcvName: rx, rcvSize: MSG_SIZE_MAX, timeoutMs: 0, notify: 0 }));
    if (r.kr !== KERN.SUCCESS) return out;
    out.push(r.msg!);
  }
}

function sendTo(p: Puppet, dev: number, items: readonly MsgItem[], id: number = NETIO_DEVICE_MSG.FRAME_OUT): number {
  const msg = { bits: msghBits(MSG_TYPE.COPY_SEND), remote: dev, local: 0, id, items };
  return ok(p.call('mach_msg', { option: MACH_MSG_OPTION.SEND_MSG, msg, rcvName: 0, rcvSize: 0, timeoutMs: 0, notify: 0 })).kr;
}

const inline = (m: ReceivedMsg): Uint8Array => {
  const it = m.items[0];
  if (it?.type !== 'inline') throw new Error('no inline item');
  return it.data;
};

describe('device path by Mach IPC, Ethernet', () => {
  it('default traffic arrives as one message per frame; keyed traffic still goes to its channel; frames leave by message', () => {
    const { world, a, b, sent } = ethWorld();
    const reg = registry(world, b);
    const keyed = createVia(reg, rawEthSpec(MAC_B, MAC_A), { rxSlots: 4 });
    expect(keyed.kr).toBe(KERN.SUCCESS);
    const { rx, dev } = openDevice(reg);
    const frames = [rawFrame(MAC_B, MAC_C, 80, 1), rawFrame(MAC_B, MAC_C, 1514, 2), rawFrame(MAC_B, MAC_C, 60, 3)];
    for (const f of frames) a.kernel.postKernelWork(() => void a.driver.transmit(f));
    a.kernel.postKernelWork(() => void a.driver.transmit(rawFrame(MAC_B, MAC_A, 200, 9)));
    world.sched.runFor(10_000_000);
    const msgs = receiveAll(reg.p, rx);
    expect(msgs.map((m) => m.id)).toEqual([NETIO_DEVICE_MSG.FRAME_IN, NETIO_DEVICE_MSG.FRAME_IN, NETIO_DEVICE_MSG.FRAME_IN]);
    expect(msgs.map(inline)).toEqual(frames);
    const s = b.netio.stats;
    expect(s).toMatchObject({ rxToDefault: 3, rxDelivered: 1 });
    expect(s.rxArrived).toBe(s.rxDelivered + s.rxToDefault + s.rxDropNoChannel + s.rxDropRingFull + s.rxDropError);
    expect(b.netio.deviceIpc.stats.rxMessages).toBe(3);
    // Out: any frame (no template), as it is.
    const out = rawFrame(MAC_C, MAC_A, 300, 7); // even a source address not B's: the device path is privileged
    const before = sent.get('B')!.length;
    expect(sendTo(reg.p, dev, [{ type: 'inline', data: out }])).toBe(MACH_MSG.SUCCESS);
    world.sched.runFor(2_000_000);
    expect(sent.get('B')!.slice(before)).toEqual([out]);
    expect(b.netio.deviceIpc.stats.txMessages).toBe(1);
  });

  it('refuses malformed messages with a mach_msg error and sends nothing', () => {
    const { world, b, sent } = ethWorld();
    const reg = registry(world, b);
    const { dev } = openDevice(reg);
    const f = rawFrame(MAC_A, MAC_B, 100);
    const bad: { items: MsgItem[]; id?: number }[] = [
      { items: [] },
      { items: [{ type: 'inline', data: f }, { type: 'inline', data: f }] },
      { items: [{ type: 'int32', values: [1, 2, 3, 4] }] },
      { items: [{ type: 'inline', data: f.subarray(0, 13) }] },
      { items: [{ type: 'inline', data: new Uint8Array(1515) }] },
      { items: [{ type: 'inline', data: f }], id: NETIO_DEVICE_MSG.FRAME_IN },
      { items: [{ type: 'port', name: dev, disposition: MSG_TYPE.COPY_SEND }, { type: 'inline', data: f }] },
    ];
    for (const m of bad) expect(sendTo(reg.p, dev, m.items, m.id)).toBe(MACH_MSG.SEND_INVALID_DATA);
    world.sched.runFor(2_000_000);
    expect(sent.get('B')).toEqual([]);
    expect(b.netio.deviceIpc.stats).toMatchObject({ txMessages: 0, txRefusedMalformed: bad.length });
    // The device still works, and the right carried by the refused message was released.
    expect(ok(reg.p.call('mach_port_get_refs', { name: dev, right: PORT_RIGHT.SEND })).refs).toBe(1);
    expect(sendTo(reg.p, dev, [{ type: 'inline', data: f }])).toBe(MACH_MSG.SUCCESS);
    world.sched.runFor(2_000_000);
    expect(sent.get('B')).toEqual([f]);
  });

  it('only a holder of the privileged port may open it; bad arguments and a second open are refused', () => {
    const { world, b } = ethWorld();
    const user = new Puppet(world, b.kernel, 'user');
    const rx = ok(user.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE })).name;
    const sem = ok(user.call('semaphore_create', { value: 0 })).name;
    for (const priv of [0, sem, rx, 12345]) expect(ok(user.call('net_device_open', { priv, link: NETIO_LINK.ethernet, port: rx })).kr).not.toBe(KERN.SUCCESS);
    expect(b.netio.deviceIpc.stats.opened).toBe(0);
    const reg = registry(world, b);
    const rrx = ok(reg.p.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE })).name;
    expect(ok(reg.p.call('net_device_open', { priv: reg.priv, link: 9, port: rrx })).kr).toBe(KERN.INVALID_ARGUMENT);
    expect(ok(reg.p.call('net_device_open', { priv: reg.priv, link: NETIO_LINK.an1, port: rrx })).kr).toBe(NETIO_ERR.NO_DEVICE);
    expect(ok(reg.p.call('net_device_open', { priv: reg.priv, link: NETIO_LINK.ethernet, port: 4242 })).kr).toBe(KERN.INVALID_NAME);
    // A kernel object's port (the privileged port itself) is not somewhere to deliver frames.
    expect(ok(reg.p.call('net_device_open', { priv: reg.priv, link: NETIO_LINK.ethernet, port: reg.priv })).kr).toBe(KERN.INVALID_ARGUMENT);
    expect(ok(reg.p.call('net_device_open', { priv: reg.priv, link: NETIO_LINK.ethernet, port: rrx })).kr).toBe(KERN.SUCCESS);
    expect(ok(reg.p.call('net_device_open', { priv: reg.priv, link: NETIO_LINK.ethernet, port: rrx })).kr).toBe(NETIO_ERR.KEY_IN_USE);
  });

  it('a full queue drops and counts the frame', () => {
    const { world, a, b } = ethWorld();
    const reg = registry(world, b);
    const { rx } = openDevice(reg, 'ethernet', 1);
    for (let i = 0; i < 3; i++) a.kernel.postKernelWork(() => void a.driver.transmit(rawFrame(MAC_B, MAC_C, 100, i)));
    world.sched.runFor(10_000_000);
    expect(b.netio.deviceIpc.stats).toMatchObject({ rxMessages: 1, rxDropQueueFull: 2 });
    expect(b.netio.stats).toMatchObject({ rxToDefault: 1, rxDropRingFull: 2 });
    expect(receiveAll(reg.p, rx).map((m) => inline(m)[50])).toEqual([0]);
  });

  it('when the port dies or the device right goes, traffic returns to the default channel and the device right is a dead name', () => {
    const { world, a, b } = ethWorld();
    const reg = registry(world, b);
    expect(createVia(reg, { demux: { kind: 'none' }, isDefault: true, template: [] }, { rxSlots: 4 }).kr).toBe(KERN.SUCCESS);
    const send = (): void => a.kernel.postKernelWork(() => void a.driver.transmit(rawFrame(MAC_B, MAC_C, 100)));
    // The receive right destroyed.
    const d1 = openDevice(reg);
    send();
    world.sched.runFor(5_000_000);
    expect(b.netio.deviceIpc.stats.rxMessages).toBe(1);
    expect(ok(reg.p.call('mach_port_destroy', { name: d1.rx })).kr).toBe(KERN.SUCCESS);
    send();
    world.sched.runFor(5_000_000);
    expect(b.netio.deviceIpc.stats).toMatchObject({ rxMessages: 1, closed: 1 });
    expect(b.netio.defaultChannel('ethernet')!.counters.delivered).toBe(1);
    expect(ok(reg.p.call('mach_port_type', { name: d1.dev })).type & PORT_TYPE.DEAD_NAME).not.toBe(0);
    // The device's last send right dropped (no-senders).
    const d2 = openDevice(reg);
    send();
    world.sched.runFor(5_000_000);
    expect(b.netio.deviceIpc.stats.rxMessages).toBe(2);
    expect(ok(reg.p.call('mach_port_deallocate', { name: d2.dev })).kr).toBe(KERN.SUCCESS);
    send();
    world.sched.runFor(5_000_000);
    expect(b.netio.deviceIpc.stats).toMatchObject({ rxMessages: 2, closed: 2 });
    expect(b.netio.defaultChannel('ethernet')!.counters.delivered).toBe(2);
    expect(receiveAll(reg.p, d2.rx)).toHaveLength(1);
    // The holder's death: its rights go, the device closes, frames are dropped as before (no default channel left either).
    const reg2 = registry(world, b);
    openDevice(reg2);
    b.kernel.endTask(reg.p.task, { kind: 'exit', code: 0 });
    b.kernel.endTask(reg2.p.task, { kind: 'exit', code: 0 });
    world.sched.runFor(1_000_000);
    expect(b.netio.deviceIpc.stats.closed).toBe(3);
    const drops = b.netio.stats.rxDropNoChannel;
    send();
    world.sched.runFor(5_000_000);
    expect(b.netio.stats.rxDropNoChannel).toBe(drops + 1);
  });
});

describe('device path by Mach IPC, AN1', () => {
  it('BQI 0 frames arrive as messages and frames leave by message', () => {
    const { world, a, b, sentA } = an1World();
    const ra = registry(world, a);
    const rb = registry(world, b);
    const da = openDevice(ra, 'an1');
    const db = openDevice(rb, 'an1');
    const frame = (fill: number, length: number): Uint8Array => {
      const f = new Uint8Array(length).fill(fill);
      f.set([0, 0x0b, 0, 0], 0); // DST_BQI 0: the kernel's ring
      return f;
    };
    const out = [frame(1, 100), frame(2, 1520), frame(3, 20)];
    for (const f of out) expect(sendTo(ra.p, da.dev, [{ type: 'inline', data: f }])).toBe(MACH_MSG.SUCCESS);
    world.sched.runFor(2_000_000);
    expect(sentA).toEqual(out);
    const got = receiveAll(rb.p, db.rx);
    expect(got.map(inline)).toEqual(out);
    expect(b.netio.stats.rxToDefault).toBe(3);
    expect(sendTo(ra.p, da.dev, [{ type: 'inline', data: frame(4, 1521) }])).toBe(MACH_MSG.SEND_INVALID_DATA);
  });
});
