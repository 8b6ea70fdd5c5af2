/**
 * UDP in the engine (RFC 768, RFC 1122 §4.1.3): the header and its checksum (pseudo-header, the
 * 0 → 0xFFFF rule, checksum 0 accepted on receive), sendto/recvfrom/connect, and ICMP port
 * unreachable — generated for a datagram to no socket, delivered as ECONNREFUSED to a connected one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HostStack, IpProtocol, UdpSocket, UdpView, emitUdp, finish, pseudoHeaderSum, sum16, parseAn1, parseEthernet, parseIpv4,
  parseIcmpUnreachable, icmpUnreachableMessage, emitIpv4, emitEthernet, EtherType, UDP_RECV_SPACE,
} from '../../../userland/inet/index.ts';
import { TestRng, IP_A, IP_B, MAC_A, MAC_B } from './sim-net.ts';

const runs = { numRuns: Number(process.env['FC_NUM_RUNS'] ?? 100) };

function pair(link: 'ethernet' | 'an1' = 'ethernet'): { a: HostStack; b: HostStack; pump: () => number } {
  const a = new HostStack({ link, mac: MAC_A, ip: IP_A, random: new TestRng(1) });
  const b = new HostStack({ link, mac: MAC_B, ip: IP_B, random: new TestRng(2) });
  const pump = (): number => {
    let n = 0;
    for (let k = 0; k < 10; k++) {
      const fa = a.takeFrames();
      const fb = b.takeFrames();
      if (fa.length + fb.length === 0) break;
      for (const f of fa) { b.receiveFrame(0, f); n++; }
      for (const f of fb) { a.receiveFrame(0, f); n++; }
    }
    return n;
  };
  return { a, b, pump };
}

const sock = (s: UdpSocket | string): UdpSocket => {
  if (typeof s === 'string') throw new Error(s);
  return s;
};

/** A UDP datagram in an Ethernet frame from B to A, with the UDP checksum field forced to `csum` when given. */
function udpFrame(srcPort: number, dstPort: number, payload: Uint8Array, csum?: number): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  emitUdp({ srcPort, dstPort, payload }, u, 0, IP_B, IP_A);
  if (csum !== undefined) { u[6] = csum >>> 8; u[7] = csum & 0xff; }
  const ip = new Uint8Array(20 + u.length);
  emitIpv4({ tos: 0, identification: 7, dontFragment: true, moreFragments: false, fragmentOffset8: 0, ttl: 64, protocol: 17, src: IP_B, dst: IP_A, payload: u }, ip);
  const f = new Uint8Array(14 + ip.length);
  emitEthernet({ dst: MAC_A, src: MAC_B, etherType: EtherType.IPV4, payload: ip }, f);
  return f;
}

describe('UDP wire format', () => {
  it('emit then check round-trips, and the checksum covers the pseudo-header', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1472 }), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), (data, sp, dp) => {
      const b = new Uint8Array(8 + data.length);
      emitUdp({ srcPort: sp, dstPort: dp, payload: data }, b, 0, IP_A, IP_B);
      const v = UdpView.check(b, IP_A, IP_B);
      expect(v.ok).toBe(true);
      if (!v.ok) return;
      expect(v.value.srcPort).toBe(sp);
      expect(v.value.dstPort).toBe(dp);
      expect(Array.from(v.value.payload)).toEqual(Array.from(data));
      expect(v.value.checksum).not.toBe(0); // always computed, never "none"
      // Another destination address: the pseudo-header differs, so the checksum fails.
      expect(UdpView.check(b, IP_A, IP_B ^ 1).ok).toBe(false);
    }), runs);
  });

  it('a computed checksum of 0 is sent as 0xFFFF (RFC 768), and it verifies', () => {
    // Find a 2-byte payload whose checksum computes to 0: fix the sum by the payload word.
    const b = new Uint8Array(10);
    emitUdp({ srcPort: 1000, dstPort: 2000, payload: new Uint8Array(2) }, b, 0, IP_A, IP_B, { checksum: false });
    const s = sum16(b, 0, 10, pseudoHeaderSum(IP_A, IP_B, 17, 10));
    // Choose payload word w with s + w ≡ 0xFFFF (ones' complement), so the final sum is all ones and the complement 0.
    const w = (0xffff - s) & 0xffff;
    const payload = Uint8Array.of(w >>> 8, w & 0xff);
    emitUdp({ srcPort: 1000, dstPort: 2000, payload }, b, 0, IP_A, IP_B, { checksum: false });
    expect(finish(sum16(b, 0, 10, pseudoHeaderSum(IP_A, IP_B, 17, 10)))).toBe(0); // the computed checksum is 0
    emitUdp({ srcPort: 1000, dstPort: 2000, payload }, b, 0, IP_A, IP_B);
    expect((b[6]! << 8) | b[7]!).toBe(0xffff);
    expect(UdpView.check(b, IP_A, IP_B).ok).toBe(true);
  });

  it('checksum 0 on receive means "none": accepted unverified; a wrong non-zero checksum is dropped', () => {
    const { a } = pair();
    const s = sock(a.udpBind(53));
    a.arp.insert(0, IP_B, MAC_B);
    a.receiveFrame(0, udpFrame(4000, 53, Uint8Array.of(1, 2, 3), 0));
    expect(a.counters.udpIn).toBe(1);
    a.receiveFrame(0, udpFrame(4000, 53, Uint8Array.of(1, 2, 3), 0x1234));
    expect(a.counters.udpBadDatagram).toBe(1);
    const d = s.recvFrom();
    expect(d !== null && typeof d !== 'string' && Array.from(d.data)).toEqual([1, 2, 3]);
    expect(s.recvFrom()).toBe(null);
  });

  it('a length field below 8 or beyond the datagram is refused; bytes past it are ignored', () => {
    const b = new Uint8Array(20);
    emitUdp({ srcPort: 1, dstPort: 2, payload: new Uint8Array(4) }, b, 0, IP_A, IP_B);
    expect(UdpView.check(b, IP_A, IP_B).ok).toBe(true); // 12-byte datagram, 8 bytes of trailer
    b[4] = 0; b[5] = 7;
    expect(UdpView.check(b, IP_A, IP_B).ok).toBe(false);
    b[4] = 0; b[5] = 21;
    expect(UdpView.check(b, IP_A, IP_B).ok).toBe(false);
  });
});

describe('UDP sockets', () => {
  it('sendto / recvfrom both ways, with the source address', () => {
    const { a, b, pump } = pair();
    const sa = sock(a.udpBind(0));
    const sb = sock(b.udpBind(7));
    expect(sa.localPort).toBeGreaterThanOrEqual(49152);
    expect(sa.sendTo(0, Uint8Array.of(9, 8, 7), IP_B, 7)).toBe(3);
    pump();
    const d = sb.recvFrom();
    if (d === null || typeof d === 'string') throw new Error('nothing received');
    expect(d.srcIp).toBe(IP_A);
    expect(d.srcPort).toBe(sa.localPort);
    expect(sb.sendTo(0, d.data, d.srcIp, d.srcPort)).toBe(3);
    pump();
    const e = sa.recvFrom();
    expect(e !== null && typeof e !== 'string' && Array.from(e.data)).toEqual([9, 8, 7]);
  });

  it('EADDRINUSE, EMSGSIZE (DF: MTU − 28), EDESTADDRREQ', () => {
    const { a } = pair();
    sock(a.udpBind(99));
    expect(a.udpBind(99)).toBe('EADDRINUSE');
    const s = sock(a.udpBind(0));
    expect(s.sendTo(0, new Uint8Array(1473), IP_B, 9)).toBe('EMSGSIZE');
    expect(s.sendTo(0, new Uint8Array(1472), IP_B, 9)).toBe(1472);
    expect(s.sendTo(0, new Uint8Array(1))).toBe('EDESTADDRREQ');
  });

  it('a connected socket receives only from its peer', () => {
    const { a, b, pump } = pair();
    const sa = sock(a.udpBind(1000));
    sa.connect(IP_B, 2000);
    const other = sock(b.udpBind(2001));
    const peer = sock(b.udpBind(2000));
    other.sendTo(0, Uint8Array.of(1), IP_A, 1000);
    peer.sendTo(0, Uint8Array.of(2), IP_A, 1000);
    pump();
    const d = sa.recvFrom();
    expect(d !== null && typeof d !== 'string' && d.data[0]).toBe(2);
    expect(sa.recvFrom()).toBe(null);
    expect(a.counters.udpWrongPeer).toBe(1);
  });

  it('the receive queue holds at most udp_recvspace bytes', () => {
    const { a, b, pump } = pair();
    const sa = sock(a.udpBind(1000));
    const sb = sock(b.udpBind(0));
    b.arp.insert(0, IP_A, MAC_A);
    const n = Math.floor(UDP_RECV_SPACE / 1000) + 3;
    for (let i = 0; i < n; i++) sb.sendTo(0, new Uint8Array(1000), IP_A, 1000);
    pump();
    expect(sa.pendingCount).toBe(Math.floor(UDP_RECV_SPACE / 1000));
    expect(a.counters.udpQueueFull).toBe(3);
  });
});

describe('ICMP port unreachable', () => {
  it('a datagram to no socket is answered with an ICMP port unreachable quoting it; a connected sender gets ECONNREFUSED once', () => {
    const { a, b, pump } = pair();
    const sa = sock(a.udpBind(1000));
    expect(sa.connect(IP_B, 4444)).toBe(null);
    expect(sa.sendTo(0, Uint8Array.of(1, 2))).toBe(2);
    // Deliver B's answer by hand to look at it.
    pump();
    expect(b.counters.udpNoPort).toBe(1);
    expect(b.counters.icmpUnreachOut).toBe(1);
    expect(a.counters.icmpUnreachIn).toBe(1);
    expect(sa.recvFrom()).toBe('ECONNREFUSED');
    expect(sa.recvFrom()).toBe(null); // reported once (so_error is cleared)
    expect(sa.sendTo(0, Uint8Array.of(3))).toBe(1);
  });

  it('the message quotes the IP header and the UDP ports; an unconnected socket is not told', () => {
    const { a, b } = pair();
    a.arp.insert(0, IP_B, MAC_B);
    b.arp.insert(0, IP_A, MAC_A);
    const sa = sock(a.udpBind(1000));
    sa.sendTo(0, Uint8Array.of(1), IP_B, 4444);
    for (const f of a.takeFrames()) b.receiveFrame(0, f);
    const [reply] = b.takeFrames();
    const e = parseEthernet(reply!);
    const ip = e.ok ? parseIpv4(e.value.payload) : undefined;
    if (ip === undefined || !ip.ok) throw new Error('no IPv4 reply');
    expect(ip.value.protocol).toBe(IpProtocol.ICMP);
    const m = parseIcmpUnreachable(ip.value.payload);
    expect(m.ok && m.value).toMatchObject({ code: 3, origSrc: IP_A, origDst: IP_B, origProtocol: 17, origSrcPort: 1000, origDstPort: 4444 });
    a.receiveFrame(0, reply!);
    expect(a.counters.icmpUnreachIn).toBe(1);
    expect(sa.recvFrom()).toBe(null);
  });

  it('a connected socket is told only about its own peer: an unreachable quoting another destination is ignored', () => {
    const { a, b } = pair();
    a.arp.insert(0, IP_B, MAC_B);
    b.arp.insert(0, IP_A, MAC_A);
    const sa = sock(a.udpBind(1000));
    sa.connect(IP_B, 5555);
    // A forged unreachable about (IP_A:1000 → IP_B:4444): another peer.
    const u = new Uint8Array(9);
    emitUdp({ srcPort: 1000, dstPort: 4444, payload: Uint8Array.of(0) }, u, 0, IP_A, IP_B);
    const orig = new Uint8Array(20 + 9);
    emitIpv4({ tos: 0, identification: 1, dontFragment: true, moreFragments: false, fragmentOffset8: 0, ttl: 64, protocol: 17, src: IP_A, dst: IP_B, payload: u }, orig);
    const icmp = icmpUnreachableMessage(3, orig);
    const ip = new Uint8Array(20 + icmp.length);
    emitIpv4({ tos: 0, identification: 2, dontFragment: true, moreFragments: false, fragmentOffset8: 0, ttl: 64, protocol: 1, src: IP_B, dst: IP_A, payload: icmp }, ip);
    const f = new Uint8Array(14 + ip.length);
    emitEthernet({ dst: MAC_A, src: MAC_B, etherType: EtherType.IPV4, payload: ip }, f);
    a.receiveFrame(0, f);
    expect(a.counters.icmpUnreachIn).toBe(1);
    expect(sa.error).toBe(null);
    // The same message about its own peer's port sets the error.
    u.fill(0);
    emitUdp({ srcPort: 1000, dstPort: 5555, payload: Uint8Array.of(0) }, u, 0, IP_A, IP_B);
    emitIpv4({ tos: 0, identification: 1, dontFragment: true, moreFragments: false, fragmentOffset8: 0, ttl: 64, protocol: 17, src: IP_A, dst: IP_B, payload: u }, orig);
    const icmp2 = icmpUnreachableMessage(3, orig);
    emitIpv4({ tos: 0, identification: 2, dontFragment: true, moreFragments: false, fragmentOffset8: 0, ttl: 64, protocol: 1, src: IP_B, dst: IP_A, payload: icmp2 }, ip);
    emitEthernet({ dst: MAC_A, src: MAC_B, etherType: EtherType.IPV4, payload: ip }, f);
    a.receiveFrame(0, f);
    expect(sa.error).toBe('ECONNREFUSED');
  });

  it('an ICMP message with a bad checksum is dropped and counted', () => {
    const m = icmpUnreachableMessage(3, new Uint8Array(28).fill(0x45, 0, 1));
    m[1] = 1; // code changed after the checksum
    expect(parseIcmpUnreachable(m).ok).toBe(false);
  });
});

describe('AN1: BQI discovery from the link header (P §2.2)', () => {
  it('each datagram carries our BQI in SPARE; the receiver learns it and replies to it', () => {
    const { a, b, pump } = pair('an1');
    const client = sock(a.udpBind(0));
    client.an1.txSpare = 17;
    const server = sock(b.udpBind(7));
    server.an1.txSpare = 23;
    client.sendTo(0, Uint8Array.of(1), IP_B, 7);
    // The first frame (after ARP) goes to BQI 0: the server's BQI is not known yet.
    const out: Uint8Array[] = [];
    for (let k = 0; k < 6; k++) {
      const fa = a.takeFrames();
      const fb = b.takeFrames();
      out.push(...fa, ...fb);
      for (const f of fa) b.receiveFrame(0, f);
      for (const f of fb) a.receiveFrame(0, f);
    }
    const req = out.map((f) => parseAn1(f)).find((r) => r.ok && r.value.etherType === EtherType.IPV4 && r.value.src === MAC_A);
    expect(req?.ok && req.value.dstBqi).toBe(0);
    expect(req?.ok && req.value.spare).toBe(17);
    const d = server.recvFrom();
    if (d === null || typeof d === 'string') throw new Error('no request');
    expect(d.an1Spare).toBe(17);
    expect(server.peerBqi(IP_A, client.localPort)).toBe(17);
    server.sendTo(0, Uint8Array.of(2), d.srcIp, d.srcPort);
    const [rep] = b.takeFrames();
    const r = parseAn1(rep!);
    expect(r.ok && r.value.dstBqi).toBe(17);
    expect(r.ok && r.value.spare).toBe(23);
    a.receiveFrame(0, rep!);
    expect(client.peerBqi(IP_B, 7)).toBe(23);
    client.sendTo(0, Uint8Array.of(3), IP_B, 7);
    const [req2] = a.takeFrames();
    const r2 = parseAn1(req2!);
    expect(r2.ok && r2.value.dstBqi).toBe(23);
    void pump;
  });
});
