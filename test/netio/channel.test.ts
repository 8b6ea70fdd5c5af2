/**
 * The network I/O module through real traps: who may create channels, net_send's checks (right,
 * range, length, template on a kernel copy, rate), Ethernet software demultiplexing into the
 * region with one semaphore signal per batch, the default channel and drops, AN1 BQI delivery and
 * buffer hand-back, transmit accounting (TX_SENT / TX_DONE), revocation (close, owner death), and
 * passing a channel's rights by Mach message (the region mapped by the receiver with vm_map).
 */
import { describe, expect, it } from 'vitest';
import { KERN } from '../../kernel/abi/errors.ts';
import { MemoryFault } from '../../kernel/abi/guest.ts';
import { MACH_MSG_OPTION, MSG_TYPE, msghBits, PORT_RIGHT, PORT_TYPE } from '../../kernel/abi/message.ts';
import { encodeChannelSpec, NETIO_CTL, NETIO_ERR, NETIO_MAGIC, rxSlotOffset } from '../../kernel/abi/netio.ts';
import { RawChannel } from '../../userland/netlib/raw-channel.ts';
import { Puppet } from '../kernel/harness.ts';
import { an1World, createVia, ET, ethWorld, MAC_A, MAC_B, MAC_C, rawEthSpec, rawFrame, registry, txOffset } from './netio-hosts.ts';

const ok = <T>(r: T | 'blocked' | 'dead'): T => {
  if (r === 'blocked' || r === 'dead') throw new Error(`call ${r}`);
  return r;
};

describe('creating channels', () => {
  it('needs the privileged port, which only a privileged task can obtain', () => {
    const { world, a } = ethWorld();
    const user = new Puppet(world, a.kernel, 'user');
    expect(ok(user.call('task_get_special_port', { which: 5 })).kr).toBe(KERN.NO_ACCESS);
    expect(ok(user.call('net_priv_port', { hostPriv: 0 })).kr).not.toBe(KERN.SUCCESS);
    const sem = ok(user.call('semaphore_create', { value: 0 })).name;
    const spec = encodeChannelSpec(rawEthSpec(MAC_A, MAC_B));
    // A semaphore, a made-up name, nothing: none is the privileged port.
    for (const priv of [sem, 12345, 0]) {
      expect(ok(user.call('net_channel_create', { priv, task: 0, link: 1, rxSlots: 8, txPages: 1, spec })).kr).not.toBe(KERN.SUCCESS);
    }
    expect(a.netio.channels.size).toBe(0);
    const reg = registry(world, a);
    expect(createVia(reg, rawEthSpec(MAC_A, MAC_B)).kr).toBe(KERN.SUCCESS);
  });

  it('maps the region into the owner named by its task port, with the layout the ABI promises', () => {
    const { world, a } = ethWorld();
    const reg = registry(world, a);
    const app = new Puppet(world, a.kernel, 'app');
    const taskName = a.kernel.insertSendRight(reg.p.task, app.task.selfPort!).name;
    const g = createVia(reg, rawEthSpec(MAC_A, MAC_B), { task: taskName, rxSlots: 8, txPages: 2 });
    expect(g.kr).toBe(KERN.SUCCESS);
    const ctl = app.mem((ctx) => [NETIO_CTL.MAGIC, NETIO_CTL.RX_SLOTS, NETIO_CTL.TX_OFFSET, NETIO_CTL.TX_BYTES, NETIO_CTL.LINK].map((o) => ctx.mem.read32(g.address + o)));
    expect(ctl).toEqual([NETIO_MAGIC, 8, txOffset(8), 2 * 4096, 1]);
    // The registry has the send right; the app has the semaphore; the region is not the registry's.
    expect(ok(reg.p.call('mach_port_type', { name: g.name })).type & PORT_TYPE.SEND).not.toBe(0);
    expect(ok(app.call('mach_port_type', { name: g.sem })).type & PORT_TYPE.SEND).not.toBe(0);
    expect(reg.p.mem((ctx) => ctx.mem.read32(g.address))).toBeInstanceOf(MemoryFault);
  });

  it('refuses a key that is installed already, malformed specs and bad sizes', () => {
    const { world, a } = ethWorld();
    const reg = registry(world, a);
    expect(createVia(reg, rawEthSpec(MAC_A, MAC_B)).kr).toBe(KERN.SUCCESS);
    expect(createVia(reg, rawEthSpec(MAC_A, MAC_B)).kr).toBe(NETIO_ERR.KEY_IN_USE);
    expect(createVia(reg, rawEthSpec(MAC_A, MAC_C), { rxSlots: 0 }).kr).toBe(KERN.INVALID_ARGUMENT);
    expect(createVia(reg, rawEthSpec(MAC_A, MAC_C), { link: 'an1' }).kr).toBe(NETIO_ERR.NO_DEVICE);
    const bad = ok(reg.p.call('net_channel_create', { priv: reg.priv, task: 0, link: 1, rxSlots: 8, txPages: 1, spec: Uint8Array.of(1, 9, 0, 0) }));
    expect(bad.kr).toBe(KERN.INVALID_ARGUMENT);
  });
});

describe('net_send', () => {
  it('sends a conforming frame and refuses mismatches, bad ranges and bad names; nothing refused leaves', () => {
    const { world, a, sent } = ethWorld();
    const reg = registry(world, a);
    const g = createVia(reg, rawEthSpec(MAC_A, MAC_B), { rxSlots: 8, txPages: 1 });
    const at = txOffset(8);
    const put = (f: Uint8Array): void => void reg.p.mem((ctx) => ctx.mem.writeBytes(g.address + at, f));
    put(rawFrame(MAC_B, MAC_A, 100));
    expect(ok(reg.p.call('net_send', { channel: g.name, offset: at, length: 100 })).kr).toBe(KERN.SUCCESS);
    // Impersonation: another source MAC, another destination, another EtherType.
    for (const f of [rawFrame(MAC_B, MAC_C, 100), rawFrame(MAC_C, MAC_A, 100), rawFrame(MAC_B, MAC_A, 100, 0x5a, 0x0800)]) {
      put(f);
      expect(ok(reg.p.call('net_send', { channel: g.name, offset: at, length: 100 })).kr).toBe(NETIO_ERR.TEMPLATE_MISMATCH);
    }
    put(rawFrame(MAC_B, MAC_A, 100));
    expect(ok(reg.p.call('net_send', { channel: g.name, offset: at, length: 13 })).kr).toBe(NETIO_ERR.BAD_LENGTH);
    expect(ok(reg.p.call('net_send', { channel: g.name, offset: at, length: 1515 })).kr).toBe(NETIO_ERR.BAD_LENGTH);
    expect(ok(reg.p.call('net_send', { channel: g.name, offset: 10 * 4096 - 50, length: 100 })).kr).toBe(KERN.INVALID_ADDRESS);
    expect(ok(reg.p.call('net_send', { channel: g.name, offset: 0xffff_ff00, length: 1000 })).kr).toBe(KERN.INVALID_ADDRESS);
    expect(ok(reg.p.call('net_send', { channel: 4242, offset: at, length: 100 })).kr).toBe(KERN.INVALID_NAME);
    expect(ok(reg.p.call('net_send', { channel: reg.priv, offset: at, length: 100 })).kr).toBe(KERN.INVALID_ARGUMENT);
    world.sched.runFor(5_000_000);
    expect(sent.get('A')!.length).toBe(1);
    expect(a.netio.stats.txRefusedTemplate).toBe(3);
    const refused = reg.p.mem((ctx) => ctx.mem.read32(g.address + NETIO_CTL.TX_REFUSED));
    expect(refused).toBe(3);
  });

  it('blocks the sender while the LANCE ring is full and sends every frame in order', () => {
    const { world, a, sent } = ethWorld();
    const reg = registry(world, a);
    const g = createVia(reg, rawEthSpec(MAC_A, MAC_B), { rxSlots: 1, txPages: 1 });
    const at = txOffset(1);
    reg.p.mem((ctx) => ctx.mem.writeBytes(g.address + at, rawFrame(MAC_B, MAC_A, 1514)));
    for (let i = 0; i < 40; i++) {
      reg.p.mem((ctx) => ctx.mem.write8(g.address + at + 20, i));
      expect(ok(reg.p.call('net_send', { channel: g.name, offset: at, length: 1514 }, 1e10)).kr).toBe(KERN.SUCCESS);
    }
    world.sched.runFor(100_000_000);
    const out = sent.get('A')!;
    expect(out.map((f) => f[20])).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(a.netio.stats.txBlocked).toBeGreaterThan(0);
  });

  it('rate control: a send the token bucket cannot cover blocks until it can, at the exact refill time (wire bytes)', () => {
    const { world, a, sent } = ethWorld();
    const reg = registry(world, a);
    // 100 kB/s, depth 1000 wire bytes; a 600-byte frame is 624 wire bytes (FCS, preamble, gap).
    const g = createVia(reg, rawEthSpec(MAC_A, MAC_B, { rate: { bytesPerSecond: 100_000, burstBytes: 1000 } }), { rxSlots: 1 });
    const at = txOffset(1);
    reg.p.mem((ctx) => ctx.mem.writeBytes(g.address + at, rawFrame(MAC_B, MAC_A, 600)));
    const t0 = world.sched.now;
    expect(ok(reg.p.call('net_send', { channel: g.name, offset: at, length: 600 })).kr).toBe(KERN.SUCCESS);
    const t1 = world.sched.now; // the first frame's tokens were taken between t0 and t1
    // 376 tokens left: the second frame waits for 248 more, 2.48 ms at 100 kB/s, blocked (no CPU).
    reg.p.start('net_send', { channel: g.name, offset: at, length: 600 });
    expect(reg.p.thread.state).toMatchObject({ kind: 'blocked', on: 'net_send' });
    world.sched.runUntil(() => world.sched.now >= t1 + 1_000_000, { nsMax: 2_000_000 }); // the first frame's transmit-done is over
    const busy0 = a.host.cpu.busyNsTotal;
    world.sched.runUntil(() => world.sched.now >= t1 + 2_150_000, { nsMax: 2_000_000 });
    expect(reg.p.thread.state).toMatchObject({ kind: 'blocked', on: 'net_send' });
    expect(a.host.cpu.busyNsTotal - busy0).toBe(0); // the wait itself costs no CPU
    world.sched.runUntil(() => reg.p.thread.state.kind !== 'blocked', { nsMax: 10_000_000 });
    expect(world.sched.now - t0).toBeGreaterThanOrEqual(2_480_000);
    expect(world.sched.now - t1).toBeLessThan(2_480_000 + 100_000);
    world.sched.runFor(5_000_000);
    expect(sent.get('A')!.length).toBe(2);
    expect(a.netio.stats.txRateBlocked).toBe(1);
    expect(a.netio.stats.txRefusedRate).toBe(0);
    const ch = [...a.netio.channels.values()].find((c) => c.bucket !== undefined)!;
    expect(ch.counters.wireBytesSent).toBe(2 * 624);
  });

  it('rate control: best-effort channels share what the reservations leave, re-shared as channels come and go', () => {
    const { world, a } = ethWorld();
    const reg = registry(world, a);
    const burst = 4000;
    const r1 = createVia(reg, rawEthSpec(MAC_A, MAC_B, { rate: { bytesPerSecond: 1_000_000, burstBytes: burst } }), { rxSlots: 1 });
    const s1 = createVia(reg, rawEthSpec(MAC_A, MAC_C, { rate: { bytesPerSecond: 0, burstBytes: burst } }), { rxSlots: 1 });
    const rate = (name: number): number => [...a.netio.channels.values()].find((c) => c.port !== undefined && reg.p.task.space.entries.get(name)?.port === c.port)!.bucket!.bytesPerSecond;
    expect(rate(r1.name)).toBe(1_000_000);
    expect(rate(s1.name)).toBe(250_000);
    const s2 = createVia(reg, rawEthSpec(MAC_C, MAC_A, { rate: { bytesPerSecond: 0, burstBytes: burst } }), { rxSlots: 1 });
    expect(rate(s1.name)).toBe(125_000);
    expect(rate(s2.name)).toBe(125_000);
    expect(ok(reg.p.call('net_channel_close', { channel: r1.name })).kr).toBe(KERN.SUCCESS);
    expect(rate(s1.name)).toBe(625_000);
    expect(ok(reg.p.call('net_channel_close', { channel: s2.name })).kr).toBe(KERN.SUCCESS);
    expect(rate(s1.name)).toBe(1_250_000);
  });
});

describe('Ethernet receive (software demultiplexing)', () => {
  it('demultiplexes into the channel region, one signal per batch; unmatched frames go to the default channel or are dropped', () => {
    const { world, a, b } = ethWorld();
    const reg = registry(world, b);
    const g = createVia(reg, rawEthSpec(MAC_B, MAC_A), { rxSlots: 4 });
    const send = (f: Uint8Array): void => a.kernel.postKernelWork(() => void a.driver.transmit(f));
    for (let i = 0; i < 3; i++) send(rawFrame(MAC_B, MAC_A, 200, i + 1));
    world.sched.runFor(10_000_000);
    const view = reg.p.mem((ctx) => ({
      head: ctx.mem.read32(g.address + NETIO_CTL.RX_HEAD),
      lens: [0, 1, 2].map((s) => ctx.mem.read32(g.address + NETIO_CTL.LENGTHS + 4 * s)),
      bytes: [0, 1, 2].map((s) => ctx.mem.read8(g.address + rxSlotOffset(s) + 100)),
      signals: ctx.mem.read32(g.address + NETIO_CTL.SIGNALS),
    })) as { head: number; lens: number[]; bytes: number[]; signals: number };
    expect(view).toMatchObject({ head: 3, lens: [200, 200, 200], bytes: [1, 2, 3] });
    expect(view.signals).toBeGreaterThan(0);
    expect(b.netio.channels.get(1)!.sem.count).toBe(view.signals);
    // Unmatched: no default channel → dropped and counted; a default channel → delivered there.
    send(rawFrame(MAC_B, MAC_C, 80));
    world.sched.runFor(5_000_000);
    expect(b.netio.stats.rxDropNoChannel).toBe(1);
    const d = createVia(reg, { demux: { kind: 'none' }, isDefault: true, template: [] }, { rxSlots: 4 });
    expect(d.kr).toBe(KERN.SUCCESS);
    send(rawFrame(MAC_B, MAC_C, 80));
    world.sched.runFor(5_000_000);
    expect(b.netio.stats.rxToDefault).toBe(1);
    // The ring of 4 is full after one more: further frames are counted drops.
    for (let i = 0; i < 3; i++) send(rawFrame(MAC_B, MAC_A, 200));
    world.sched.runFor(10_000_000);
    const s = b.netio.stats;
    expect(s.rxDropRingFull).toBe(2);
    expect(s.rxArrived).toBe(s.rxDelivered + s.rxToDefault + s.rxDropNoChannel + s.rxDropRingFull + s.rxDropError);
    // The library frees slots (RX_TAIL): frames flow again.
    reg.p.mem((ctx) => ctx.mem.write32(g.address + NETIO_CTL.RX_TAIL, 4));
    send(rawFrame(MAC_B, MAC_A, 200));
    world.sched.runFor(5_000_000);
    expect(reg.p.mem((ctx) => ctx.mem.read32(g.address + NETIO_CTL.RX_HEAD))).toBe(5);
  });

  it('takes each keyed frame through the stock driver\'s net_kmsg (one hand-off, a memory copy into the slot); the default channel not', () => {
    const { world, a, b } = ethWorld();
    const reg = registry(world, b);
    createVia(reg, rawEthSpec(MAC_B, MAC_A), { rxSlots: 8 });
    const costs = b.kernel.host.costs;
    const kmsg = costs.get('netio.rxKmsgCycles');
    const setup = costs.get('cpu.memcpySetupCycles');
    const perByte = costs.get('cpu.memcpyCyclesPerByte');
    const cpu = b.kernel.host.cpu;
    const cat = (k: string): number => cpu.cyclesByCategory.get(k) ?? 0;
    const charged = (length: number): { kmsg: number; copy: number; delivered: number } => {
      const k0 = cat('net_kmsg');
      const c0 = cat('copy');
      const d0 = b.netio.stats.rxDelivered;
      a.kernel.postKernelWork(() => void a.driver.transmit(rawFrame(MAC_B, MAC_A, length)));
      world.sched.runFor(5_000_000);
      return { kmsg: cat('net_kmsg') - k0, copy: cat('copy') - c0, delivered: b.netio.stats.rxDelivered - d0 };
    };
    const small = charged(200);
    const large = charged(1400);
    expect(small.delivered).toBe(1);
    expect(large.delivered).toBe(1);
    expect(small.kmsg).toBe(kmsg);
    expect(large.kmsg).toBe(kmsg);
    expect(small.copy).toBe(setup + 200 * perByte);
    expect(large.copy).toBe(setup + 1400 * perByte);
    // The default channel stands in for the mapped device (docs/ux.md): the board's PIO copy only.
    const d = createVia(reg, { demux: { kind: 'none' }, isDefault: true, template: [] }, { rxSlots: 4 });
    expect(d.kr).toBe(KERN.SUCCESS);
    const k0 = cat('net_kmsg');
    const c0 = cat('copy');
    const t0 = b.netio.stats.rxToDefault;
    a.kernel.postKernelWork(() => void a.driver.transmit(rawFrame(MAC_B, MAC_C, 1400)));
    world.sched.runFor(5_000_000);
    expect(b.netio.stats.rxToDefault - t0).toBe(1);
    expect(cat('net_kmsg') - k0).toBe(0);
    expect(cat('copy') - c0).toBe(0);
  });

  it('sends IP fragments to the default channel', () => {
    const { world, a, b } = ethWorld();
    const reg = registry(world, b);
    const d = createVia(reg, { demux: { kind: 'none' }, isDefault: true, template: [] }, { rxSlots: 4 });
    const tcp = createVia(reg, { demux: { kind: 'tcp', remoteIp: 1, localIp: 2, remotePort: 3, localPort: 4 }, isDefault: false, template: [] });
    expect([d.kr, tcp.kr]).toEqual([0, 0]);
    const f = rawFrame(MAC_B, MAC_A, 80, 0, 0x0800);
    const v = new DataView(f.buffer);
    f[14] = 0x45;
    f[23] = 6;
    v.setUint32(26, 1);
    v.setUint32(30, 2);
    v.setUint16(34, 3);
    v.setUint16(36, 4);
    v.setUint16(20, 0x2000); // MF: a first fragment
    a.kernel.postKernelWork(() => void a.driver.transmit(f));
    world.sched.runFor(5_000_000);
    v.setUint16(20, 0);
    a.kernel.postKernelWork(() => void a.driver.transmit(f));
    world.sched.runFor(5_000_000);
    expect(b.netio.stats).toMatchObject({ rxFragments: 1, rxToDefault: 1, rxDelivered: 1 });
  });
});

describe('revocation', () => {
  it('close: the right becomes a dead name, the region goes, the key is gone, the frames are freed', () => {
    const { world, a, b } = ethWorld();
    const reg = registry(world, b);
    const free0 = b.kernel.frames.freeCount;
    const g = createVia(reg, rawEthSpec(MAC_B, MAC_A), { rxSlots: 4 });
    expect(b.kernel.frames.freeCount).toBe(free0 - 6);
    expect(ok(reg.p.call('net_channel_close', { channel: g.name })).kr).toBe(KERN.SUCCESS);
    expect(ok(reg.p.call('mach_port_type', { name: g.name })).type & PORT_TYPE.DEAD_NAME).not.toBe(0);
    expect(ok(reg.p.call('net_send', { channel: g.name, offset: 0, length: 60 })).kr).toBe(KERN.INVALID_CAPABILITY);
    for (let p = 0; p < 6; p++) expect(reg.p.task.map.lookup(g.address + p * 4096)).toBeUndefined();
    a.kernel.postKernelWork(() => void a.driver.transmit(rawFrame(MAC_B, MAC_A, 100)));
    world.sched.runFor(5_000_000);
    expect(b.netio.stats).toMatchObject({ rxDelivered: 0, rxDropNoChannel: 1 });
    expect(b.kernel.frames.freeCount).toBe(free0);
    // The key is free again.
    expect(createVia(reg, rawEthSpec(MAC_B, MAC_A)).kr).toBe(KERN.SUCCESS);
    // The old region is gone from the owner's map (last: the fault ends the puppet).
    const g2 = b.netio.channels.get(2)!;
    if (g2.regionAddressIn(reg.p.task.map) !== g.address) expect(reg.p.mem((ctx) => ctx.mem.read32(g.address))).toBeInstanceOf(MemoryFault);
  });

  it("the owner's death closes its channels and wakes a sender blocked on them", () => {
    const { world, a } = ethWorld();
    const reg = registry(world, a);
    const app = new Puppet(world, a.kernel, 'app');
    const taskName = a.kernel.insertSendRight(reg.p.task, app.task.selfPort!).name;
    const g = createVia(reg, rawEthSpec(MAC_A, MAC_B), { task: taskName });
    expect(a.netio.channels.size).toBe(1);
    a.kernel.endTask(app.task, { kind: 'killed', by: 'test' });
    expect(a.netio.channels.size).toBe(0);
    expect(ok(reg.p.call('net_send', { channel: g.name, offset: 0, length: 60 })).kr).toBe(KERN.INVALID_CAPABILITY);
  });
});

describe('passing a channel by Mach message (connection passing, P §3.2)', () => {
  const SEND = MACH_MSG_OPTION.SEND_MSG;
  const RCV = MACH_MSG_OPTION.RCV_MSG;
  /** B: a registry puppet, app1 owning a channel (rxSlots 4, txPages 1) with its right, and app2 with a receive right app1 can send to. */
  function passWorld() {
    const { world, a, b } = ethWorld();
    const reg = registry(world, b);
    const app1 = new Puppet(world, b.kernel, 'app1');
    const app2 = new Puppet(world, b.kernel, 'app2', { catchFaults: true });
    const free0 = b.kernel.frames.freeCount;
    const g = createVia(reg, rawEthSpec(MAC_B, MAC_A), { task: b.kernel.insertSendRight(reg.p.task, app1.task.selfPort!).name, rxSlots: 4 });
    expect(g.kr).toBe(KERN.SUCCESS);
    const ch = [...b.netio.channels.values()][0]!;
    // What the registry's grant gives the owner: the channel's send right (the test inserts it).
    const chan1 = b.kernel.insertSendRight(app1.task, ch.port!).name;
    const rcv = ok(app2.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE })).name;
    const dest = b.kernel.insertSendRight(app1.task, app2.task.space.entries.get(rcv)!.port!).name;
    return { world, a, b, reg, app1, app2, free0, g, ch, chan1, rcv, dest };
  }
  const passMsg = (dest: number, chan: number, region: number, sem: number) => ({
    option: SEND, rcvName: 0, rcvSize: 0, timeoutMs: 0, notify: 0,
    msg: { bits: msghBits(MSG_TYPE.COPY_SEND, 0), remote: dest, local: 0, id: 1, items: [chan, region, sem].map((name) => ({ type: 'port' as const, name, disposition: MSG_TYPE.MOVE_SEND })) },
  });

  it('the receiver maps the same region with vm_map, sees frames that arrived in transit, and sends; the sender keeps nothing; netio is not called', () => {
    const { world, a, b, app1, app2, g, ch, chan1, rcv, dest } = passWorld();
    a.kernel.postKernelWork(() => void a.driver.transmit(rawFrame(MAC_B, MAC_A, 100, 0x11)));
    world.sched.runFor(5_000_000);
    expect(ch.counters.delivered).toBe(1);
    const before = { ...b.netio.stats };
    expect(ok(app1.call('mach_msg', passMsg(dest, chan1, g.region, g.sem))).kr).toBe(KERN.SUCCESS);
    // Moved: app1's names for the channel, the region and the semaphore are gone.
    expect(ok(app1.call('net_send', { channel: chan1, offset: txOffset(4), length: 60 })).kr).toBe(KERN.INVALID_NAME);
    expect(ok(app1.call('vm_map', { object: g.region, offset: 0, size: 6 * 4096, address: 0, anywhere: true, prot: 3 })).kr).toBe(KERN.INVALID_NAME);
    expect(ok(app1.call('semaphore_wait', { sem: g.sem })).kr).toBe(KERN.INVALID_NAME);
    // app1 unmaps its copy and dies: the message in transit holds the region, so the channel lives.
    expect(ok(app1.call('vm_deallocate', { address: g.address, size: 6 * 4096 })).kr).toBe(KERN.SUCCESS);
    b.kernel.endTask(app1.task, { kind: 'killed', by: 'test' });
    expect(b.netio.channels.size).toBe(1);
    const m = ok(app2.call('mach_msg', { option: RCV, msg: null, rcvName: rcv, rcvSize: 1 << 20, timeoutMs: 0, notify: 0 }));
    const [chan2, region2, sem2] = m.msg!.items.map((it) => (it.type === 'port' ? it.name : 0));
    const v = ok(app2.call('vm_map', { object: region2!, offset: 0, size: 6 * 4096, address: 0, anywhere: true, prot: 3 }));
    expect(v.kr).toBe(KERN.SUCCESS);
    expect(ch.regionAddressIn(app2.task.map)).toBe(v.address);
    // The same ring: the frame that arrived before the pass, and the semaphore's pending signal.
    expect(app2.mem((ctx) => [ctx.mem.read32(v.address + NETIO_CTL.MAGIC), ctx.mem.read32(v.address + NETIO_CTL.RX_HEAD), ctx.mem.read8(v.address + rxSlotOffset(0) + 50)])).toEqual([NETIO_MAGIC, 1, 0x11]);
    expect(ok(app2.call('semaphore_timedwait', { sem: sem2!, ns: 0 })).kr).toBe(KERN.SUCCESS);
    // The region is wired in the receiver's map too (the controller may DMA into it).
    expect(app2.task.map.lookup(v.address)!.wired).toBeGreaterThan(0);
    // app2 sends with the moved channel right, from its own mapping.
    app2.mem((ctx) => ctx.mem.writeBytes(v.address + txOffset(4), rawFrame(MAC_A, MAC_B, 80)));
    expect(ok(app2.call('net_send', { channel: chan2!, offset: txOffset(4), length: 80 })).kr).toBe(KERN.SUCCESS);
    expect(ch.counters.sent).toBe(1);
    // The pass itself made no call into the module: its statistics moved only by app1's refused
    // send after the pass and app2's send.
    expect(b.netio.stats).toEqual({ ...before, txRefusedRight: before.txRefusedRight + 1, txSent: before.txSent + 1 });
  });

  it("closing revokes every task's mapping of the region and frees its frames; the last holder's death closes it", () => {
    const { world, b, reg, app1, app2, free0, g, ch, chan1, rcv, dest } = passWorld();
    // app1 passes copies (it keeps its rights and mapping): both tasks map the region.
    const copy = passMsg(dest, chan1, g.region, g.sem);
    const items = copy.msg.items.map((it) => ({ ...it, disposition: MSG_TYPE.COPY_SEND }));
    expect(ok(app1.call('mach_msg', { ...copy, msg: { ...copy.msg, items } })).kr).toBe(KERN.SUCCESS);
    const m = ok(app2.call('mach_msg', { option: RCV, msg: null, rcvName: rcv, rcvSize: 1 << 20, timeoutMs: 0, notify: 0 }));
    const region2 = m.msg!.items[1]!.type === 'port' ? (m.msg!.items[1] as { name: number }).name : 0;
    const v = ok(app2.call('vm_map', { object: region2, offset: 0, size: 6 * 4096, address: 0, anywhere: true, prot: 3 }));
    expect(v.kr).toBe(KERN.SUCCESS);
    // app1 dies: app2 still holds the region, so the channel lives.
    b.kernel.endTask(app1.task, { kind: 'killed', by: 'test' });
    expect(b.netio.channels.size).toBe(1);
    // app2 drops its region right: nobody holds the region, the channel closes and app2's mapping goes.
    expect(ok(app2.call('mach_port_deallocate', { name: region2 })).kr).toBe(KERN.SUCCESS);
    expect(b.netio.channels.size).toBe(0);
    expect(ch.closed).toBe(true);
    expect(ch.regionAddressIn(app2.task.map)).toBeUndefined();
    expect(b.kernel.frames.freeCount).toBe(free0);
    expect(ok(reg.p.call('mach_port_type', { name: g.name })).type & PORT_TYPE.DEAD_NAME).not.toBe(0);
    world.sched.runFor(1_000_000);
    expect(app2.mem((ctx) => ctx.mem.read32(v.address))).toBeInstanceOf(MemoryFault);
  });
});

describe('AN1 (hardware BQI demultiplexing)', () => {
  const an1Spec = (dstBqi: number) => ({
    demux: { kind: 'none' } as const,
    isDefault: false,
    template: [
      { offset: 2, bytes: Uint8Array.of(dstBqi >>> 8, dstBqi & 0xff) },
      { offset: 16, bytes: Uint8Array.of(0x88, 0xb5) },
    ],
  });
  const an1Frame = (dstBqi: number, length: number, fill: number): Uint8Array => {
    const f = new Uint8Array(length).fill(fill);
    f.set([0, 0x0b, dstBqi >>> 8, dstBqi & 0xff], 0);
    f[16] = 0x88;
    f[17] = 0xb5;
    return f;
  };

  it('delivers into the BQI ring, re-posts handed-back buffers, and sends what was checked, not what was rewritten later', () => {
    const { world, a, b, sentA } = an1World();
    const rb = registry(world, b);
    const gb = createVia(rb, an1Spec(0), { link: 'an1', rxSlots: 4 });
    expect(gb.kr).toBe(KERN.SUCCESS);
    expect(gb.bqi).toBeGreaterThan(0);
    const ra = registry(world, a);
    const ga = createVia(ra, an1Spec(gb.bqi), { link: 'an1', rxSlots: 4, txPages: 1 });
    const at = txOffset(4);
    let consumed = 0;
    for (let i = 0; i < 12; i++) {
      ra.p.mem((ctx) => ctx.mem.writeBytes(ga.address + at, an1Frame(gb.bqi, 300, i)));
      expect(ok(ra.p.call('net_send', { channel: ga.name, offset: at, length: 300 })).kr).toBe(KERN.SUCCESS);
      // Time of check vs time of use: rewrite the destination BQI right after the trap.
      ra.p.mem((ctx) => ctx.mem.write8(ga.address + at + 3, 0));
      world.sched.runFor(1_000_000);
      // B's library consumes everything and hands the buffers back.
      const seen = rb.p.mem((ctx) => {
        const head = ctx.mem.read32(gb.address + NETIO_CTL.RX_HEAD);
        const fills: number[] = [];
        for (let k = consumed; k < head; k++) fills.push(ctx.mem.read8(gb.address + rxSlotOffset(k % 4) + 100));
        ctx.mem.write32(gb.address + NETIO_CTL.RX_TAIL, head);
        return { head, fills };
      }) as { head: number; fills: number[] };
      expect(seen.fills).toEqual([i]);
      consumed = seen.head;
      expect(ok(rb.p.call('net_rx_done', { channel: gb.name })).kr).toBe(KERN.SUCCESS);
    }
    expect(sentA.length).toBe(12);
    for (const f of sentA) expect(f[3]).toBe(gb.bqi);
    // Copy-free: header from a kernel slot, body DMAed from the region (two-part descriptors).
    expect([a.netio.an1TxTwoPart, a.netio.an1TxCopied]).toEqual([12, 0]);
    expect(b.netio.stats).toMatchObject({ rxDelivered: 12, rxDesync: 0 });
    // A frame naming a BQI nobody holds lands in BQI 0: no default channel, so a counted drop.
    ra.p.mem((ctx) => ctx.mem.writeBytes(ga.address + at, an1Frame(gb.bqi, 300, 0)));
    b.netio.close(b.netio.channels.get(1)!, 'test');
    expect(ok(ra.p.call('net_send', { channel: ga.name, offset: at, length: 300 })).kr).toBe(KERN.SUCCESS);
    world.sched.runFor(2_000_000);
    expect(b.netio.stats.rxDelivered).toBe(12);
    expect(b.netio.stats.rxDropNoChannel).toBe(1);
  });

  it('counts transmissions in the control page: a transmit page is free again only once TX_DONE reaches its frame', () => {
    const { world, a, b } = an1World();
    const rb = registry(world, b);
    const gb = createVia(rb, an1Spec(0), { link: 'an1', rxSlots: 8 });
    const ra = registry(world, a);
    const ga = createVia(ra, an1Spec(gb.bqi), { link: 'an1', rxSlots: 4, txPages: 2 });
    const pages = [txOffset(4), txOffset(4) + 4096];
    ra.p.mem((ctx) => pages.forEach((at, i) => ctx.mem.writeBytes(ga.address + at, an1Frame(gb.bqi, 1500, i))));
    const ctl = () => ra.p.mem((ctx) => [ctx.mem.read32(ga.address + NETIO_CTL.TX_SENT), ctx.mem.read32(ga.address + NETIO_CTL.TX_DONE)]) as number[];
    /** What the library sees: a fresh view of the region (all pages busy until TX_DONE reaches today's TX_SENT). */
    const claim = () => ra.p.mem((ctx) => new RawChannel(ctx, { channel: ga.name, address: ga.address, sem: ga.sem }).claimTxPage());
    let inFlightSeen = 0;
    for (let i = 0; i < 6; i++) {
      expect(ok(ra.p.call('net_send', { channel: ga.name, offset: pages[i % 2]!, length: 1500 })).kr).toBe(KERN.SUCCESS);
      const [sent, done] = ctl();
      expect(sent).toBe(i + 1);
      expect(done).toBeLessThanOrEqual(sent!);
      if (done! < sent!) {
        inFlightSeen++;
        expect(claim()).toBeUndefined(); // the controller may still be reading every page
      }
    }
    expect(inFlightSeen).toBeGreaterThan(0); // 1500-byte DMAs (60 µs) outlast a trap: frames were in flight
    world.sched.runFor(2_000_000);
    expect(ctl()).toEqual([6, 6]);
    expect(claim()).toBe(pages[0]);
    expect([...b.netio.channels.values()].find((c) => c.bqi === gb.bqi)!.counters.delivered).toBe(6);
  });

  it('copies a frame whose body crosses a page (the region is not physically contiguous) and delivers it intact', () => {
    const { world, a, b, sentA } = an1World();
    const rb = registry(world, b);
    const gb = createVia(rb, an1Spec(0), { link: 'an1', rxSlots: 4 });
    const ra = registry(world, a);
    const ga = createVia(ra, an1Spec(gb.bqi), { link: 'an1', rxSlots: 4, txPages: 2 });
    const at = txOffset(4) + 4096 - 100;
    const f = an1Frame(gb.bqi, 300, 0);
    for (let k = 20; k < 300; k++) f[k] = (k * 13) & 0xff;
    ra.p.mem((ctx) => ctx.mem.writeBytes(ga.address + at, f));
    expect(ok(ra.p.call('net_send', { channel: ga.name, offset: at, length: 300 })).kr).toBe(KERN.SUCCESS);
    world.sched.runFor(1_000_000);
    expect([a.netio.an1TxTwoPart, a.netio.an1TxCopied]).toEqual([0, 1]);
    expect([...sentA[0]!]).toEqual([...f]);
    const got = rb.p.mem((ctx) => ctx.mem.readBytes(gb.address + rxSlotOffset(0), 300)) as Uint8Array;
    expect([...got]).toEqual([...f]);
  });

  it('a BQI reserved before the handshake is bound later by the channel spec; others cannot take or release it', () => {
    const { world, b } = an1World();
    const rb = registry(world, b);
    const r = ok(rb.p.call('net_bqi_reserve', { priv: rb.priv }));
    expect(r.kr).toBe(KERN.SUCCESS);
    // A channel without a reserved BQI gets another one.
    const other = createVia(rb, an1Spec(0), { link: 'an1', rxSlots: 4 });
    expect(other.bqi).not.toBe(r.bqi);
    // Binding an unreserved BQI is refused; the reserved one binds once.
    expect(createVia(rb, { ...an1Spec(0), bqi: other.bqi }, { link: 'an1', rxSlots: 4 }).kr).toBe(NETIO_ERR.BQI_NOT_RESERVED);
    const g = createVia(rb, { ...an1Spec(0), bqi: r.bqi }, { link: 'an1', rxSlots: 4 });
    expect([g.kr, g.bqi]).toEqual([KERN.SUCCESS, r.bqi]);
    expect(createVia(rb, { ...an1Spec(0), bqi: r.bqi }, { link: 'an1', rxSlots: 4 }).kr).toBe(NETIO_ERR.BQI_NOT_RESERVED);
    // Release: only reserved, unbound BQIs; only with the privileged port.
    const r2 = ok(rb.p.call('net_bqi_reserve', { priv: rb.priv }));
    expect(ok(rb.p.call('net_bqi_release', { priv: rb.priv, bqi: g.bqi })).kr).toBe(NETIO_ERR.BQI_NOT_RESERVED);
    const user = new Puppet(world, b.kernel, 'user');
    expect(ok(user.call('net_bqi_release', { priv: rb.priv, bqi: r2.bqi })).kr).not.toBe(KERN.SUCCESS);
    expect(ok(user.call('net_bqi_reserve', { priv: 1 })).kr).not.toBe(KERN.SUCCESS);
    expect(ok(rb.p.call('net_bqi_release', { priv: rb.priv, bqi: r2.bqi })).kr).toBe(KERN.SUCCESS);
  });
});
