/** The channel spec carried by net_channel_create: round trip, and hostile bytes never throw. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeChannelSpec, encodeChannelSpec, type NetioChannelSpec } from '../../kernel/abi/netio.ts';

const u32 = fc.nat({ max: 0xffff_ffff });
const u16 = fc.nat({ max: 0xffff });
const specArb: fc.Arbitrary<NetioChannelSpec> = fc
  .record({
    demux: fc.oneof(
      fc.constant({ kind: 'none' as const }),
      fc.record({ kind: fc.constant('tcp' as const), remoteIp: u32, localIp: u32, remotePort: u16, localPort: u16 }),
      fc.record({ kind: fc.constant('raw' as const), etherType: u16, srcMac: fc.uint8Array({ minLength: 6, maxLength: 6 }) }),
    ),
    isDefault: fc.boolean(),
    fields: fc.array(fc.record({ offset: fc.nat({ max: 100 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }), { maxLength: 10 }),
    rate: fc.option(fc.record({ bytesPerSecond: fc.integer({ min: 1, max: 0xffff_ffff }), burstBytes: fc.integer({ min: 1, max: 0xffff_ffff }) }), { nil: undefined }),
    bqi: fc.option(u16, { nil: undefined }),
  })
  .map(({ demux, isDefault, fields, rate, bqi }) => {
    const used = new Set<number>();
    const template = fields.filter((f) => {
      for (let i = 0; i < f.bytes.length; i++) if (used.has(f.offset + i)) return false;
      for (let i = 0; i < f.bytes.length; i++) used.add(f.offset + i);
      return true;
    });
    return { demux, isDefault, template, ...(rate !== undefined ? { rate } : {}), ...(bqi !== undefined ? { bqi } : {}) };
  });

describe('channel spec encoding', () => {
  it('decode(encode(s)) = s', () => {
    fc.assert(
      fc.property(specArb, (s) => {
        expect(decodeChannelSpec(encodeChannelSpec(s))).toEqual(s);
      }),
    );
  });
  it('never throws on arbitrary bytes, and refuses truncations and overlapping fields', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void decodeChannelSpec(b)));
    fc.assert(
      fc.property(specArb, fc.nat(), (s, cut) => {
        const b = encodeChannelSpec(s);
        if (b.length > 4) expect(decodeChannelSpec(b.subarray(0, 4 + (cut % (b.length - 4))))).toBeUndefined();
      }),
    );
    const overlap = encodeChannelSpec({ demux: { kind: 'none' }, isDefault: false, template: [{ offset: 0, bytes: Uint8Array.of(1, 2) }, { offset: 1, bytes: Uint8Array.of(3) }] });
    expect(decodeChannelSpec(overlap)).toBeUndefined();
  });
});
