/**
 * BQI lifetime in the network I/O module (issue 13 F1/F2): a BQI the registry reserved (and
 * offered to a peer) goes back to the registry when its channel closes — never to the free pool
 * — and frames naming it fall back to BQI 0 (the default channel) until the registry frees it.
 */
import { describe, expect, it } from 'vitest';
import { KERN } from '../../kernel/abi/errors.ts';
import { NETIO_ERR } from '../../kernel/abi/netio.ts';
import { an1World, createVia, registry } from './netio-hosts.ts';

const ok = <T>(r: T | 'blocked' | 'dead'): T => {
  if (r === 'blocked' || r === 'dead') throw new Error(`call ${r}`);
  return r;
};
const an1Spec = (dstBqi: number, extra: object = {}) => ({
  demux: { kind: 'none' } as const,
  isDefault: false,
  template: [
    { offset: 0, bytes: Uint8Array.of(0, 0, dstBqi >>> 8, dstBqi & 0xff) },
    { offset: 16, bytes: Uint8Array.of(0x88, 0xb5) },
  ],
  ...extra,
});

describe('BQI lifetime (module)', () => {
  it('a reserved BQI outlives its channel: not handed out again until the reserver releases it, and only once it is unbound', () => {
    const { world, b } = an1World();
    const rb = registry(world, b);
    const r = ok(rb.p.call('net_bqi_reserve', { priv: rb.priv }));
    expect(r.kr).toBe(KERN.SUCCESS);
    const g = createVia(rb, an1Spec(0, { bqi: r.bqi }), { link: 'an1', rxSlots: 4 });
    expect([g.kr, g.bqi]).toEqual([KERN.SUCCESS, r.bqi]);
    // Bound: the reserver cannot free it under the channel.
    expect(ok(rb.p.call('net_bqi_release', { priv: rb.priv, bqi: r.bqi })).kr).toBe(NETIO_ERR.BQI_NOT_RESERVED);
    expect(ok(rb.p.call('net_channel_close', { channel: g.name })).kr).toBe(KERN.SUCCESS);
    world.sched.runFor(10_000_000); // well past the DMA quarantine
    // Every other BQI is taken by reservations and channels: the closed channel's BQI is not among them.
    const got = new Set<number>();
    for (let i = 0; i < 70; i++) {
      const x = ok(rb.p.call('net_bqi_reserve', { priv: rb.priv }));
      if (x.kr === KERN.SUCCESS) got.add(x.bqi);
    }
    const picked = createVia(rb, an1Spec(0), { link: 'an1', rxSlots: 4 });
    expect(picked.kr).toBe(NETIO_ERR.NO_BQI);
    expect(got.has(r.bqi)).toBe(false);
    expect(got.size).toBe(62);
    // The reserver frees it; then (and only then) it is handed out again.
    expect(ok(rb.p.call('net_bqi_release', { priv: rb.priv, bqi: r.bqi })).kr).toBe(KERN.SUCCESS);
    const again = ok(rb.p.call('net_bqi_reserve', { priv: rb.priv }));
    expect([again.kr, again.bqi]).toEqual([KERN.SUCCESS, r.bqi]);
  });

  it('a BQI the module picked (no reservation) is free again after the DMA quarantine', () => {
    const { world, b } = an1World();
    const rb = registry(world, b);
    const g = createVia(rb, an1Spec(0), { link: 'an1', rxSlots: 4 });
    expect(g.kr).toBe(KERN.SUCCESS);
    ok(rb.p.call('net_channel_close', { channel: g.name }));
    world.sched.runFor(10_000_000);
    expect(ok(rb.p.call('net_bqi_reserve', { priv: rb.priv })).bqi).toBe(g.bqi);
  });
});
