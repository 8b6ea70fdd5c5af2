/**
 * AN1 BQI discovery (issue 17, P §2.2): a channel created with `discoverBqi` may send to BQI 0 or
 * to a (DST_UID, DST_BQI) it has received a frame from (that frame's SRC_UID, SPARE) — learned by
 * the module in the receive path, per channel, while the channel lives — and to nothing else. The
 * attacker's frames are valid in every field (the template passes) except the BQI under test.
 */
import { describe, expect, it } from 'vitest';
import { KERN } from '../../kernel/abi/errors.ts';
import { NETIO_ERR, type NetioChannelSpec } from '../../kernel/abi/netio.ts';
import { NETIO_DISCOVERED_MAX } from '../../kernel/netio/netio.ts';
import { an1World, createVia, registry, txOffset } from './netio-hosts.ts';

const ok = <T>(r: T | 'blocked' | 'dead'): T => {
  if (r === 'blocked' || r === 'dead') throw new Error(`call ${r}`);
  return r;
};
const UID_A = 0x08002b_00000a;
const UID_B = 0x08002b_00000b;
const UID_C = 0x08002b_00000c;
const mac6 = (m: number): number[] => [0, 1, 2, 3, 4, 5].map((i) => Math.floor(m / 2 ** (8 * (5 - i))) & 0xff);
const u16 = (v: number): number[] => [v >>> 8, v & 0xff];

/** An AN1 frame of `length` bytes: link header (DST_SHORT 0) + IPv4 type + filler. */
function frame(dstBqi: number, dstUid: number, srcUid: number, spare: number, length = 100, fill = 0x33): Uint8Array {
  const f = new Uint8Array(length).fill(fill);
  f.set([0, 0, ...u16(dstBqi), ...mac6(dstUid), ...mac6(srcUid), 0x08, 0x00, ...u16(spare)], 0);
  return f;
}

/** A bound UDP socket's spec on AN1: sender fields and SPARE pinned, DST_BQI left to discovery. */
const discoverySpec = (me: number, bqi: number): NetioChannelSpec => ({
  demux: { kind: 'none' }, isDefault: false, bqi, discoverBqi: true,
  template: [{ offset: 0, bytes: Uint8Array.of(0, 0) }, { offset: 10, bytes: Uint8Array.of(...mac6(me), 0x08, 0x00, ...u16(bqi)) }],
});
/** A sender on A to `dstBqi` with SPARE free (so a test can name any return BQI). */
const senderSpec = (dstBqi: number, dst: number): NetioChannelSpec => ({
  demux: { kind: 'none' }, isDefault: false,
  template: [{ offset: 0, bytes: Uint8Array.of(0, 0, ...u16(dstBqi), ...mac6(dst)) }, { offset: 10, bytes: Uint8Array.of(...mac6(UID_A), 0x08, 0x00) }],
});

function setup() {
  const w = an1World(7);
  const rb = registry(w.world, w.b);
  const ra = registry(w.world, w.a);
  const sb = ok(rb.p.call('net_bqi_reserve', { priv: rb.priv })).bqi;
  const server = createVia(rb, discoverySpec(UID_B, sb), { link: 'an1', rxSlots: 4, txPages: 1 });
  expect(server.kr).toBe(KERN.SUCCESS);
  const client = createVia(ra, senderSpec(sb, UID_B), { link: 'an1', rxSlots: 4, txPages: 1 });
  expect(client.kr).toBe(KERN.SUCCESS);
  const at = txOffset(4);
  /** `reg` sends `f` on channel `name` (a region with 4 receive slots). */
  const send = (reg: typeof rb, name: number, address: number, f: Uint8Array): number => {
    reg.p.mem((ctx) => ctx.mem.writeBytes(address + at, f));
    const kr = ok(reg.p.call('net_send', { channel: name, offset: at, length: f.length })).kr;
    w.world.sched.runFor(1_000_000);
    return kr;
  };
  /** The client on A sends one frame to the server whose SPARE (return BQI) is `spare`; B's ring is drained. */
  const hello = (spare: number): void => {
    expect(send(ra, client.name, client.address, frame(sb, UID_B, UID_A, spare))).toBe(KERN.SUCCESS);
    rb.p.mem((ctx) => ctx.mem.write32(server.address + 0x0c, ctx.mem.read32(server.address + 0x08)));
    ok(rb.p.call('net_rx_done', { channel: server.name }));
  };
  return { ...w, ra, rb, sb, server, client, send, hello };
}

describe('AN1 BQI discovery (network I/O module)', () => {
  it('a bound socket\'s channel sends to BQI 0 always, to a peer\'s BQI only after a frame from it, and never to one it has not heard from', () => {
    const { rb, server, send, hello, sentA, b } = setup();
    const reply = (bqi: number, uid = UID_A) => send(rb, server.name, server.address, frame(bqi, uid, UID_B, server.bqi));
    const cb = 17;
    const victim = 18;
    expect(reply(0)).toBe(KERN.SUCCESS); // the peer kernel's buffers: always allowed
    expect(reply(cb)).toBe(NETIO_ERR.BQI_UNDISCOVERED); // nothing received yet
    hello(cb);
    expect(reply(cb)).toBe(KERN.SUCCESS);
    // The attacker: a frame valid in every field, to a BQI on A it never received from.
    expect(reply(victim)).toBe(NETIO_ERR.BQI_UNDISCOVERED);
    // The BQI is bound to the UID it came from: the same number at another host is not discovered.
    expect(reply(cb, UID_C)).toBe(NETIO_ERR.BQI_UNDISCOVERED);
    const ch = [...b.netio.channels.values()].find((c) => c.bqi === server.bqi)!;
    expect(ch.counters.refusedBqi).toBe(3);
    expect(b.netio.stats.txRefusedBqi).toBe(3);
    // What left B: BQI 0 and the discovered BQI, nothing else (sentA is A's side: B's frames are counted by the module).
    expect(ch.counters.sent).toBe(2);
    void sentA;
  });

  it('discovery is per channel and lives with it: another channel of the same task, or the same task after the channel closed, cannot use it', () => {
    const { world, rb, server, send, hello, b } = setup();
    const cb = 21;
    hello(cb);
    expect(send(rb, server.name, server.address, frame(cb, UID_A, UID_B, server.bqi))).toBe(KERN.SUCCESS);
    // A second discovery channel in the same task has heard nothing.
    const s2b = ok(rb.p.call('net_bqi_reserve', { priv: rb.priv })).bqi;
    const s2 = createVia(rb, discoverySpec(UID_B, s2b), { link: 'an1', rxSlots: 4, txPages: 1 });
    expect(send(rb, s2.name, s2.address, frame(cb, UID_A, UID_B, s2b))).toBe(NETIO_ERR.BQI_UNDISCOVERED);
    // The first channel closes: it cannot send any more, and a new channel on the very same BQI starts with nothing.
    expect(ok(rb.p.call('net_channel_close', { channel: server.name })).kr).toBe(KERN.SUCCESS);
    expect(ok(rb.p.call('net_send', { channel: server.name, offset: txOffset(4), length: 100 })).kr).not.toBe(KERN.SUCCESS);
    world.sched.runFor(5_000_000); // past the DMA quarantine: the BQI is back with its reserver
    const again = createVia(rb, discoverySpec(UID_B, server.bqi), { link: 'an1', rxSlots: 4, txPages: 1 });
    expect(again.kr).toBe(KERN.SUCCESS);
    expect(send(rb, again.name, again.address, frame(cb, UID_A, UID_B, server.bqi))).toBe(NETIO_ERR.BQI_UNDISCOVERED);
    expect(b.netio.stats.txRefusedBqi).toBe(2);
  });

  it(`remembers at most ${NETIO_DISCOVERED_MAX} peers per channel, forgetting the one heard from least recently`, () => {
    const { rb, server, send, hello } = setup();
    for (let k = 0; k <= NETIO_DISCOVERED_MAX; k++) hello(100 + k); // one more than the bound
    const reply = (bqi: number) => send(rb, server.name, server.address, frame(bqi, UID_A, UID_B, server.bqi));
    expect(reply(100)).toBe(NETIO_ERR.BQI_UNDISCOVERED); // the oldest went
    expect(reply(101)).toBe(KERN.SUCCESS);
    expect(reply(100 + NETIO_DISCOVERED_MAX)).toBe(KERN.SUCCESS);
  });

  it('a frame with SPARE 0 teaches nothing; a channel without discovery keeps its template\'s BQI rule', () => {
    const { rb, server, send, hello } = setup();
    hello(0);
    expect(send(rb, server.name, server.address, frame(0, UID_A, UID_B, server.bqi))).toBe(KERN.SUCCESS);
    expect([...Array(63).keys()].slice(1).map((q) => send(rb, server.name, server.address, frame(q, UID_A, UID_B, server.bqi))).every((kr) => kr === NETIO_ERR.BQI_UNDISCOVERED)).toBe(true);
  });
});
