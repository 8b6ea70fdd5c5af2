/**
 * Rerouting in the network I/O module (issue 17 item 3, docs/reroute.md): net_channel_reroute
 * replaces a live channel's route (the template's link-header destination) atomically; frames
 * queued in the device leave as checked, frames waiting in net_send (device full, token bucket)
 * and frames built for the old route leave with the new one, every other template field still
 * binds; only a holder of the privileged port may reroute, and only a template that pins the
 * whole route.
 */
import { describe, expect, it } from 'vitest';
import { KERN } from '../../kernel/abi/errors.ts';
import { NETIO_CTL, NETIO_ERR, rxSlotOffset } from '../../kernel/abi/netio.ts';
import { Puppet } from '../kernel/harness.ts';
import { an1World, createVia, ethWorld, MAC_A, MAC_B, MAC_C, rawEthSpec, rawFrame, registry, txOffset } from './netio-hosts.ts';

const ok = <T>(r: T | 'blocked' | 'dead'): T => {
  if (r === 'blocked' || r === 'dead') throw new Error(`call ${r}`);
  return r;
};
const MAC_D = Uint8Array.of(8, 0, 0x2b, 0, 0, 0xd);
const dstOf = (f: Uint8Array): string => [...f.subarray(0, 6)].join(':');

describe('net_channel_reroute (Ethernet)', () => {
  it('a sender waiting in its token bucket, and frames built for the old route, leave with the new one; other fields still bind', () => {
    const { world, a, sent } = ethWorld();
    const reg = registry(world, a);
    const g = createVia(reg, rawEthSpec(MAC_A, MAC_B, { rate: { bytesPerSecond: 100_000, burstBytes: 1000 } }), { rxSlots: 1 });
    const ch = [...a.netio.channels.values()][0]!;
    const at = txOffset(1);
    const put = (f: Uint8Array): void => void reg.p.mem((ctx) => ctx.mem.writeBytes(g.address + at, f));
    put(rawFrame(MAC_B, MAC_A, 600, 1));
    expect(ok(reg.p.call('net_send', { channel: g.name, offset: at, length: 600 })).kr).toBe(KERN.SUCCESS);
    // The second frame (old route) passes its check and waits for the bucket.
    put(rawFrame(MAC_B, MAC_A, 600, 2));
    reg.p.start('net_send', { channel: g.name, offset: at, length: 600 });
    expect(reg.p.thread.state).toMatchObject({ kind: 'blocked', on: 'net_send' });
    expect(a.netio.reroute(ch, MAC_C)).toBe(KERN.SUCCESS);
    expect(ok(reg.p.collect('net_send', 1e8)).kr).toBe(KERN.SUCCESS);
    // Built for the old route after the switch (the library had not looked yet): given the new one.
    put(rawFrame(MAC_B, MAC_A, 600, 3));
    expect(ok(reg.p.call('net_send', { channel: g.name, offset: at, length: 600 }, 1e8)).kr).toBe(KERN.SUCCESS);
    put(rawFrame(MAC_C, MAC_A, 600, 4));
    expect(ok(reg.p.call('net_send', { channel: g.name, offset: at, length: 600 }, 1e8)).kr).toBe(KERN.SUCCESS);
    // The rewrite launders nothing: the old route with another source, or a route never approved.
    for (const f of [rawFrame(MAC_B, MAC_D, 600, 5), rawFrame(MAC_D, MAC_A, 600, 6), rawFrame(MAC_B, MAC_A, 600, 7, 0x0800)]) {
      put(f);
      expect(ok(reg.p.call('net_send', { channel: g.name, offset: at, length: 600 }, 1e8)).kr).toBe(NETIO_ERR.TEMPLATE_MISMATCH);
    }
    world.sched.runFor(50_000_000);
    const out = sent.get('A')!;
    expect(out.map((f) => [dstOf(f), f[20]])).toEqual([[dstOf(MAC_B), 1], [dstOf(MAC_C), 2], [dstOf(MAC_C), 3], [dstOf(MAC_C), 4]]);
    expect(out.every((f) => dstOf(f.subarray(6)) === dstOf(MAC_A))).toBe(true);
    expect(ch.rerouteRewritten).toBe(2);
    expect(a.netio.rerouteStats).toMatchObject({ reroutes: 1, rewritten: 2, refused: 0 });
    // The control page tells the library.
    const ctl = reg.p.mem((ctx) => [ctx.mem.read32(g.address + NETIO_CTL.ROUTE_GEN), ...ctx.mem.readBytes(g.address + NETIO_CTL.ROUTE, 6)]);
    expect(ctl).toEqual([1, ...MAC_C]);
  });

  it('frames in the LANCE ring leave as checked; senders blocked on the full device leave with the new route; no frame is half-updated', () => {
    const { world, a, sent } = ethWorld();
    const reg = registry(world, a);
    const g = createVia(reg, rawEthSpec(MAC_A, MAC_B), { rxSlots: 1, txPages: 1 });
    const ch = [...a.netio.channels.values()][0]!;
    const at = txOffset(1);
    reg.p.mem((ctx) => ctx.mem.writeBytes(g.address + at, rawFrame(MAC_B, MAC_A, 1514)));
    let switchedAt = -1;
    for (let i = 0; i < 40; i++) {
      reg.p.mem((ctx) => ctx.mem.write8(g.address + at + 20, i));
      reg.p.start('net_send', { channel: g.name, offset: at, length: 1514 });
      if (switchedAt < 0 && reg.p.thread.state.kind === 'blocked' && reg.p.thread.state.on === 'net_send') {
        // Frame i is checked (old route) and waits for a descriptor; the ring holds the earlier ones.
        switchedAt = i;
        expect(a.netio.reroute(ch, MAC_C)).toBe(KERN.SUCCESS);
        expect(a.netio.rerouteStats.queuedAtLastSwitch).toBeGreaterThan(0);
      }
      expect(ok(reg.p.collect('net_send', 1e10)).kr).toBe(KERN.SUCCESS);
    }
    world.sched.runFor(100_000_000);
    expect(switchedAt).toBeGreaterThan(0);
    const out = sent.get('A')!;
    expect(out.map((f) => f[20])).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const queued = a.netio.rerouteStats.queuedAtLastSwitch;
    // Whole old route, then whole new route, in order: the frames in the ring at the switch as checked.
    expect(out.map((f) => dstOf(f))).toEqual(out.map((_, i) => dstOf(i < switchedAt ? MAC_B : MAC_C)));
    expect(queued).toBeLessThanOrEqual(switchedAt);
    expect(ch.rerouteRewritten).toBe(40 - switchedAt);
  });

  it('only the privileged port reroutes, only a template pinning the whole route, never the default channel', () => {
    const { world, a } = ethWorld();
    const reg = registry(world, a);
    const g = createVia(reg, rawEthSpec(MAC_A, MAC_B), { rxSlots: 1 });
    const app = new Puppet(world, a.kernel, 'app');
    // The app holds the channel's send right (as a library does) but not the privileged port.
    const appCh = a.kernel.insertSendRight(app.task, [...a.netio.channels.values()][0]!.port!).name;
    const sem = ok(app.call('semaphore_create', { value: 0 })).name;
    for (const priv of [0, appCh, sem, 4242]) {
      expect(ok(app.call('net_channel_reroute', { priv, channel: appCh, route: MAC_C })).kr).not.toBe(KERN.SUCCESS);
    }
    // The privileged port with something that is not a channel.
    expect(ok(reg.p.call('net_channel_reroute', { priv: reg.priv, channel: reg.priv, route: MAC_C })).kr).not.toBe(KERN.SUCCESS);
    // Wrong route length.
    expect(ok(reg.p.call('net_channel_reroute', { priv: reg.priv, channel: g.name, route: MAC_C.subarray(0, 5) })).kr).toBe(NETIO_ERR.NOT_ROUTABLE);
    // A template that leaves the destination free (a bound datagram socket's) has no route to change.
    const free = createVia(reg, { demux: { kind: 'raw', etherType: 0x88b6, srcMac: MAC_C }, isDefault: false, template: [{ offset: 6, bytes: MAC_A }] }, { rxSlots: 1 });
    expect(ok(reg.p.call('net_channel_reroute', { priv: reg.priv, channel: free.name, route: MAC_C })).kr).toBe(NETIO_ERR.NOT_ROUTABLE);
    const def = createVia(reg, { demux: { kind: 'none' }, isDefault: true, template: [{ offset: 0, bytes: MAC_B }] }, { rxSlots: 1 });
    expect(ok(reg.p.call('net_channel_reroute', { priv: reg.priv, channel: def.name, route: MAC_C })).kr).toBe(NETIO_ERR.NOT_ROUTABLE);
    expect(a.netio.rerouteStats.reroutes).toBe(0);
    expect([...a.netio.channels.values()].every((c) => c.routeGen === 0)).toBe(true);
    // The registry (privileged, holding the channel) may.
    expect(ok(reg.p.call('net_channel_reroute', { priv: reg.priv, channel: g.name, route: MAC_C })).kr).toBe(KERN.SUCCESS);
    expect(app.mem((ctx) => ctx.mem.read32(g.address + NETIO_CTL.ROUTE_GEN))).not.toBe(1); // the region is the registry's, not the app's
    expect([...a.netio.channels.values()][0]!.routeGen).toBe(1);
    // A closed channel: its right is a dead name.
    expect(ok(reg.p.call('net_channel_close', { channel: g.name })).kr).toBe(KERN.SUCCESS);
    expect(ok(reg.p.call('net_channel_reroute', { priv: reg.priv, channel: g.name, route: MAC_B })).kr).not.toBe(KERN.SUCCESS);
  });
});

describe('net_channel_reroute (AN1)', () => {
  const uid = (n: number): number[] => [8, 0, 0x2b, 0, 0, n];
  /** Template: DST_SHORT 0, DST_BQI, DST_UID (the route), SRC_UID, TYPE. */
  const spec = (dstBqi: number) => ({
    demux: { kind: 'none' } as const,
    isDefault: false,
    template: [
      { offset: 0, bytes: Uint8Array.of(0, 0, dstBqi >>> 8, dstBqi & 0xff, ...uid(0x0b)) },
      { offset: 10, bytes: Uint8Array.of(...uid(0x0a), 0x88, 0xb5) },
    ],
  });
  const frame = (dstBqi: number, length: number, fill: number): Uint8Array => {
    const f = new Uint8Array(length).fill(fill);
    f.set([0, 0, dstBqi >>> 8, dstBqi & 0xff, ...uid(0x0b), ...uid(0x0a), 0x88, 0xb5], 0);
    return f;
  };

  it('moves a channel to another of the peer\'s BQIs: DMAs queued at the switch land on the old one, later frames on the new one', () => {
    const { world, a, b, sentA } = an1World();
    const rb = registry(world, b);
    const g1 = createVia(rb, { demux: { kind: 'none' }, isDefault: false, template: [] }, { link: 'an1', rxSlots: 16 });
    const g2 = createVia(rb, { demux: { kind: 'none' }, isDefault: false, template: [] }, { link: 'an1', rxSlots: 16 });
    const ra = registry(world, a);
    const ga = createVia(ra, spec(g1.bqi), { link: 'an1', rxSlots: 4, txPages: 8 });
    const ch = [...a.netio.channels.values()][0]!;
    // A half-pinned route (DST_BQI and TYPE only) is not routable.
    const half = createVia(ra, { demux: { kind: 'none' }, isDefault: false, template: [{ offset: 2, bytes: Uint8Array.of(0, g1.bqi) }] }, { link: 'an1', rxSlots: 4 });
    expect(ok(ra.p.call('net_channel_reroute', { priv: ra.priv, channel: half.name, route: new Uint8Array(10) })).kr).toBe(NETIO_ERR.NOT_ROUTABLE);
    const page = (i: number): number => txOffset(4) + (i % 8) * 4096;
    for (let i = 0; i < 8; i++) ra.p.mem((ctx) => ctx.mem.writeBytes(ga.address + page(i), frame(g1.bqi, 1500, i)));
    for (let i = 0; i < 4; i++) expect(ok(ra.p.call('net_send', { channel: ga.name, offset: page(i), length: 1500 })).kr).toBe(KERN.SUCCESS);
    const route = Uint8Array.of(0, 0, 0, g2.bqi, ...uid(0x0b));
    expect(ok(ra.p.call('net_channel_reroute', { priv: ra.priv, channel: ga.name, route })).kr).toBe(KERN.SUCCESS);
    const queued = a.netio.rerouteStats.queuedAtLastSwitch;
    expect(queued).toBeGreaterThan(0); // 1500-byte DMAs outlast the traps: frames were still queued
    // Frames 4..7 were built for the old BQI: the module gives them the new one.
    for (let i = 4; i < 8; i++) expect(ok(ra.p.call('net_send', { channel: ga.name, offset: page(i), length: 1500 })).kr).toBe(KERN.SUCCESS);
    world.sched.runFor(5_000_000);
    const fills = (gr: typeof g1): number[] =>
      rb.p.mem((ctx) => {
        const head = ctx.mem.read32(gr.address + NETIO_CTL.RX_HEAD);
        return Array.from({ length: head }, (_, k) => ctx.mem.read8(gr.address + rxSlotOffset(k % 16) + 100));
      }) as number[];
    expect(fills(g1)).toEqual([0, 1, 2, 3]);
    expect(fills(g2)).toEqual([4, 5, 6, 7]);
    // On the wire: every header carries one whole route, old then new.
    expect(sentA.map((f) => [...f.subarray(0, 10)].join(','))).toEqual(Array.from({ length: 8 }, (_, i) => [0, 0, 0, i < 4 ? g1.bqi : g2.bqi, ...uid(0x0b)].join(',')));
    expect(ch.rerouteRewritten).toBe(4);
  });
});
