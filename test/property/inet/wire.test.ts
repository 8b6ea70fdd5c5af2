import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  type EthernetRepr, parseEthernet, emitEthernet, ethernetBufferLen,
  type An1Repr, parseAn1, emitAn1, an1BufferLen,
  type ArpRepr, parseArp, emitArp, arpBufferLen, ArpOp,
  type Ipv4Repr, parseIpv4, emitIpv4, ipv4BufferLen,
  type TcpRepr, parseTcp, emitTcp, tcpBufferLen, Seq32,
  internetChecksum, sum16, finish, pseudoHeaderSum,
} from '../../../userland/inet/index.ts';

const mac = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const ip = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 0xff });
const payload = (max: number) => fc.uint8Array({ maxLength: max });
const anyBytes = fc.uint8Array({ maxLength: 200 });

/** Typed arrays compared by content, so reprs holding subarrays compare equal to fresh ones. */
function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return Array.from(x);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}

/** Every emitted byte is written: fill with a canary first and check `emit` returns bufferLen. */
function emitExact<R>(r: R, len: number, emit: (r: R, buf: Uint8Array, off: number) => number): Uint8Array {
  const buf = new Uint8Array(len + 8).fill(0xa5);
  const n = emit(r, buf, 4);
  expect(n).toBe(len);
  expect(Array.from(buf.subarray(0, 4))).toEqual([0xa5, 0xa5, 0xa5, 0xa5]);
  expect(Array.from(buf.subarray(4 + len))).toEqual([0xa5, 0xa5, 0xa5, 0xa5]);
  return buf.subarray(4, 4 + len);
}

describe('Ethernet II', () => {
  const repr = fc.record({ dst: mac, src: mac, etherType: u16, payload: payload(64) });
  it('parse(emit(r)) = r and emit writes exactly bufferLen bytes', () => {
    fc.assert(fc.property(repr, (r: EthernetRepr) => {
      const b = emitExact(r, ethernetBufferLen(r), emitEthernet);
      const p = parseEthernet(b);
      expect(p.ok && plain(p.value)).toEqual(plain(r));
    }));
  });
  it('parse never throws', () => {
    fc.assert(fc.property(anyBytes, (b) => { parseEthernet(b); }));
  });
});

describe('AN1 link header (an1-autonet.md §8.4)', () => {
  const repr = fc.record({ dstShort: u16, dstBqi: u16, dst: mac, src: mac, etherType: u16, spare: u16, payload: payload(64) });
  it('parse(emit(r)) = r, 20-byte header', () => {
    fc.assert(fc.property(repr, (r: An1Repr) => {
      const b = emitExact(r, an1BufferLen(r), emitAn1);
      expect(b.length).toBe(20 + r.payload.length);
      const p = parseAn1(b);
      expect(p.ok && plain(p.value)).toEqual(plain(r));
    }));
  });
  it('parse never throws', () => {
    fc.assert(fc.property(anyBytes, (b) => { parseAn1(b); }));
  });
});

describe('ARP', () => {
  const repr = fc.record({
    op: fc.constantFrom(ArpOp.REQUEST, ArpOp.REPLY), senderMac: mac, senderIp: ip, targetMac: mac, targetIp: ip,
  });
  it('parse(emit(r)) = r', () => {
    fc.assert(fc.property(repr, (r: ArpRepr) => {
      const b = emitExact(r, arpBufferLen(r), emitArp);
      const p = parseArp(b);
      expect(p.ok && p.value).toEqual(r);
    }));
  });
  it('parse never throws', () => {
    fc.assert(fc.property(anyBytes, (b) => { parseArp(b); }));
  });
});

describe('IPv4', () => {
  const repr = fc.record({
    tos: u8, identification: u16, dontFragment: fc.boolean(), moreFragments: fc.boolean(),
    fragmentOffset8: fc.integer({ min: 0, max: 0x1fff }), ttl: u8, protocol: u8, src: ip, dst: ip,
    payload: payload(100),
  });
  it('parse(emit(r)) = r, header checksum verifies', () => {
    fc.assert(fc.property(repr, (r: Ipv4Repr) => {
      const b = emitExact(r, ipv4BufferLen(r), emitIpv4);
      expect(internetChecksum(b, 0, 20)).toBe(0);
      const p = parseIpv4(b);
      expect(p.ok && plain(p.value)).toEqual(plain(r));
    }));
  });
  it('trailing link padding is ignored (length from the header)', () => {
    fc.assert(fc.property(repr, fc.uint8Array({ minLength: 1, maxLength: 40 }), (r, pad) => {
      const b = new Uint8Array(ipv4BufferLen(r) + pad.length);
      emitIpv4(r, b, 0);
      b.set(pad, ipv4BufferLen(r));
      const p = parseIpv4(b);
      expect(p.ok && plain(p.value)).toEqual(plain(r));
    }));
  });
  it('options are skipped', () => {
    const r: Ipv4Repr = { tos: 0, identification: 1, dontFragment: true, moreFragments: false, fragmentOffset8: 0, ttl: 64, protocol: 6, src: 0x0a000001, dst: 0x0a000002, payload: new Uint8Array([1, 2, 3]) };
    const b = new Uint8Array(24 + 3);
    const plainHdr = new Uint8Array(23);
    emitIpv4(r, plainHdr, 0);
    b.set(plainHdr.subarray(0, 20), 0);
    b[0] = 0x46; // IHL 6
    b[3] = 27;
    b.set([1, 1, 1, 0], 20); // NOP NOP NOP EOL
    b.set([1, 2, 3], 24);
    b[10] = 0; b[11] = 0;
    const c = internetChecksum(b, 0, 24);
    b[10] = c >> 8; b[11] = c & 0xff;
    const p = parseIpv4(b);
    expect(p.ok && Array.from(p.value.payload)).toEqual([1, 2, 3]);
  });
  it('a flipped header byte fails the checksum, never throws', () => {
    fc.assert(fc.property(repr, fc.nat(19), fc.integer({ min: 1, max: 255 }), (r, pos, x) => {
      const b = new Uint8Array(ipv4BufferLen(r));
      emitIpv4(r, b, 0);
      b[pos] = (b[pos] ?? 0) ^ x;
      expect(parseIpv4(b).ok).toBe(false);
    }));
  });
  it('parse never throws', () => {
    fc.assert(fc.property(anyBytes, fc.boolean(), (b, v) => { parseIpv4(b, { verifyChecksum: v }); }));
  });
});

describe('TCP', () => {
  const repr = fc.record({
    srcPort: u16, dstPort: u16, seq: ip.map(Seq32.from), ack: ip.map(Seq32.from),
    flags: fc.integer({ min: 0, max: 63 }), window: u16, urgentPtr: u16,
    mss: fc.option(u16, { nil: null }), payload: payload(100),
  });
  it('parse(emit(r)) = r with the pseudo-header checksum', () => {
    fc.assert(fc.property(repr, ip, ip, (r: TcpRepr, src, dst) => {
      const b = emitExact(r, tcpBufferLen(r), (rr, buf, off) => emitTcp(rr, buf, off, src, dst));
      expect(finish(sum16(b, 0, b.length, pseudoHeaderSum(src, dst, 6, b.length)))).toBe(0);
      const p = parseTcp(b, src, dst);
      expect(p.ok && plain(p.value)).toEqual(plain(r));
    }));
  });
  it('a single corrupted byte or a wrong pseudo-header is detected', () => {
    fc.assert(fc.property(repr, ip, ip, fc.nat(), fc.integer({ min: 1, max: 255 }), (r, src, dst, pos, x) => {
      const b = new Uint8Array(tcpBufferLen(r));
      emitTcp(r, b, 0, src, dst);
      const c = b.slice();
      const i = pos % c.length;
      c[i] = (c[i] ?? 0) ^ x;
      expect(parseTcp(c, src, dst).ok).toBe(false);
      expect(parseTcp(b, (src ^ 0x01000000) >>> 0, dst).ok).toBe(false);
    }));
  });
  it('unknown options are skipped and MSS still found; malformed options never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 32 }), u16, fc.integer({ min: 2, max: 35 }), (opts, mssVal, unkLen) => {
      // Unknown option (kind 99, length unkLen) padded with NOPs, then MSS, then junk after END.
      const optBytes = [99, unkLen, ...new Array<number>(unkLen - 2).fill(0xee), 2, 4, mssVal >> 8, mssVal & 0xff, 0];
      const optLen = Math.ceil(optBytes.length / 4) * 4;
      const b = new Uint8Array(20 + optLen);
      b[12] = ((20 + optLen) / 4) << 4;
      b.set(optBytes, 20);
      const p = parseTcp(b, 1, 2, { verifyChecksum: false });
      expect(p.ok && p.value.mss).toBe(mssVal);
      const junkLen = Math.ceil(opts.length / 4) * 4;
      const junk = new Uint8Array(20 + junkLen);
      junk[12] = ((20 + junkLen) / 4) << 4;
      junk.set(opts, 20);
      const q = parseTcp(junk, 1, 2, { verifyChecksum: false });
      expect(q.ok).toBe(true);
    }));
  });
  it('parse never throws', () => {
    fc.assert(fc.property(anyBytes, ip, ip, fc.boolean(), (b, s, d, v) => { parseTcp(b, s, d, { verifyChecksum: v }); }));
  });
});

describe('Internet checksum', () => {
  it('RFC 1071 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2', () => {
    const b = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(sum16(b, 0, b.length)).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
  });
  it('a buffer with its checksum appended sums to zero (even lengths)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => {
      const b = raw.length % 2 === 0 ? raw : raw.subarray(1);
      const c = internetChecksum(b);
      const all = new Uint8Array(b.length + 2);
      all.set(b, 0);
      all[b.length] = c >> 8;
      all[b.length + 1] = c & 0xff;
      expect(internetChecksum(all)).toBe(0);
    }));
  });
});
