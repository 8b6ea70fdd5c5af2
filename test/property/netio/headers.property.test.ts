/**
 * Protection properties over full headers (issue 13 item 5), each with a mutant of the guarded
 * code it kills (test/system/isolation/mutants.mjs):
 * - templates: generated over the whole Ethernet + IPv4 + TCP and AN1 + IPv4 + TCP headers (any
 *   subset of their fields, any values); a frame carrying the template passes, and changing any
 *   one byte is refused exactly when the byte is inside a template field;
 * - demultiplexing: generated IPv4/TCP frames with IP options (IHL 5..15), fragments and other
 *   protocols: the key is the 4-tuple read at the TCP header's real offset;
 * - net_send's range check: a (offset, length) is refused as out of range exactly when the frame
 *   would end beyond the region, whatever the offset alone.
 * Every property runs FC_NUM_RUNS times (test/setup.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KERN } from '../../../kernel/abi/errors.ts';
import { NETIO_ERR } from '../../../kernel/abi/netio.ts';
import { classify, tcpKey, udpBoundKey, udpKey } from '../../../kernel/netio/demux.ts';
import { compileTemplate, makeTemplate, type TemplateField } from '../../../kernel/netio/template.ts';
import { createVia, ethWorld, MAC_A, MAC_B, rawEthSpec, registry } from '../../netio/netio-hosts.ts';

/** Every field of the link + IPv4 + TCP headers: [name, offset, length]. */
function headerFields(link: 'ethernet' | 'an1'): [string, number, number][] {
  const l = link === 'ethernet' ? 14 : 20;
  const linkF: [string, number, number][] =
    link === 'ethernet'
      ? [['eth.dst', 0, 6], ['eth.src', 6, 6], ['eth.type', 12, 2]]
      : [['an1.dstShort', 0, 2], ['an1.dstBqi', 2, 2], ['an1.dstUid', 4, 6], ['an1.srcUid', 10, 6], ['an1.type', 16, 2], ['an1.spare', 18, 2]];
  return [
    ...linkF,
    ['ip.vihl', l, 1], ['ip.tos', l + 1, 1], ['ip.len', l + 2, 2], ['ip.id', l + 4, 2], ['ip.frag', l + 6, 2], ['ip.ttl', l + 8, 1], ['ip.proto', l + 9, 1],
    ['ip.csum', l + 10, 2], ['ip.src', l + 12, 4], ['ip.dst', l + 16, 4],
    ['tcp.sport', l + 20, 2], ['tcp.dport', l + 22, 2], ['tcp.seq', l + 24, 4], ['tcp.ack', l + 28, 4], ['tcp.off', l + 32, 2], ['tcp.win', l + 34, 2],
    ['tcp.csum', l + 36, 2], ['tcp.urg', l + 38, 2],
  ];
}

const templateCase = (link: 'ethernet' | 'an1') => {
  const all = headerFields(link);
  return fc
    .record({
      pick: fc.array(fc.boolean(), { minLength: all.length, maxLength: all.length }),
      seed: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      body: fc.integer({ min: 0, max: 200 }),
      at: fc.nat(),
      xor: fc.integer({ min: 1, max: 255 }),
    })
    .map(({ pick, seed, body, at, xor }) => {
      const fields: TemplateField[] = [];
      all.forEach(([name, offset, len], i) => {
        if (pick[i] === true) fields.push({ name, offset, bytes: seed.slice(offset, offset + len) });
      });
      const hl = (link === 'ethernet' ? 14 : 20) + 40;
      return { fields, frame: seed.slice(0, hl), length: hl + body, at: at % hl, xor };
    });
};

describe.each(['ethernet', 'an1'] as const)('templates over full %s headers', (link) => {
  it('a frame carrying the template passes; one changed byte is refused iff it is in a template field', () => {
    fc.assert(
      fc.property(templateCase(link), ({ fields, frame, length, at, xor }) => {
        const m = compileTemplate(makeTemplate(link, fields));
        const f = new Uint8Array(length);
        f.set(frame, 0);
        expect(m(f, length)).toBe(-1);
        const inField = fields.some((x) => at >= x.offset && at < x.offset + x.bytes.length);
        const g = f.slice();
        g[at] = g[at]! ^ xor;
        const r = m(g, length);
        expect(r !== -1).toBe(inField);
        if (inField) expect(fields[r]!.offset <= at && at < fields[r]!.offset + fields[r]!.bytes.length).toBe(true); // the field reported is the one changed
        // Shorter than the template: refused whenever there is a template.
        if (fields.length > 0) expect(m(f.subarray(0, m.template.minLength - 1), m.template.minLength - 1)).not.toBe(-1);
      }),
    );
  });
});

describe('demultiplexing with IP options', () => {
  it('the key is the 4-tuple at the TCP header\'s real offset (IHL 5..15); fragments and other protocols have no key', () => {
    fc.assert(
      fc.property(
        fc.record({
          ihl: fc.integer({ min: 5, max: 15 }),
          src: fc.nat(0xffffffff), dst: fc.nat(0xffffffff), sport: fc.nat(65535), dport: fc.nat(65535),
          opts: fc.uint8Array({ minLength: 40, maxLength: 40 }),
          frag: fc.constantFrom(0, 0, 0, 0x2000, 0x0001, 0x4000),
          proto: fc.constantFrom(6, 6, 6, 17),
        }),
        ({ ihl, src, dst, sport, dport, opts, frag, proto }) => {
          const ip = 14;
          const tcp = ip + ihl * 4;
          const f = new Uint8Array(tcp + 20);
          f.set(MAC_B, 0);
          f.set(MAC_A, 6);
          f[12] = 0x08;
          f[13] = 0x00;
          f[ip] = 0x40 | ihl;
          f.set(opts.subarray(0, ihl * 4 - 20), ip + 20);
          f[ip + 6] = frag >>> 8;
          f[ip + 7] = frag & 0xff;
          f[ip + 9] = proto;
          f.set([src >>> 24, (src >>> 16) & 0xff, (src >>> 8) & 0xff, src & 0xff], ip + 12);
          f.set([dst >>> 24, (dst >>> 16) & 0xff, (dst >>> 8) & 0xff, dst & 0xff], ip + 16);
          f.set([sport >>> 8, sport & 0xff, dport >>> 8, dport & 0xff], tcp);
          const k = classify(f, f.length);
          const fragmented = (frag & 0x3fff) !== 0;
          if (fragmented) expect(k.cls).toBe('ip-fragment');
          else if (proto === 17) expect(k).toEqual({ cls: 'udp', key: udpKey(src, dst, sport, dport), key2: udpBoundKey(dst, dport) });
          else expect(k).toEqual({ cls: 'tcp', key: tcpKey(src, dst, sport, dport) });
        },
      ),
    );
  });
});

describe('net_send range check', () => {
  it('refuses (offset, length) as out of range exactly when the frame would end beyond the region', () => {
    const { world, a } = ethWorld(91);
    const reg = registry(world, a);
    const g = createVia(reg, rawEthSpec(MAC_A, MAC_B), { rxSlots: 1, txPages: 1 });
    const region = 3 * 4096;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: region + 2 * 4096 }), fc.integer({ min: 14, max: 1514 }), (offset, length) => {
        const r = reg.p.call('net_send', { channel: g.name, offset, length });
        if (r === 'blocked' || r === 'dead') throw new Error(`net_send ${r}`);
        world.sched.runFor(2_000_000);
        if (offset + length > region) expect(r.kr).toBe(KERN.INVALID_ADDRESS);
        else expect([KERN.SUCCESS, NETIO_ERR.TEMPLATE_MISMATCH]).toContain(r.kr);
      }),
    );
  });
});
