import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import {
  HostStack, ArpCache, DEFAULT_ARP_CONFIG, ArpOp, EtherType, MAC_BROADCAST, TcpFlag, Seq32,
  emitArp, emitEthernet, emitIpv4, emitTcp, parseAn1, parseArp, parseEthernet, parseIpv4, parseTcp,
  type TcpListener, type TcpSocket, type TcpRepr,
} from '../../../userland/inet/index.ts';
import { SimNet, TestRng, NO_FAULTS, IP_A, IP_B, MAC_A, MAC_B } from './sim-net.ts';

const MS = 1_000_000;
const S = 1_000_000_000;

function stack(link: 'ethernet' | 'an1' = 'ethernet'): HostStack {
  return new HostStack({ link, mac: MAC_A, ip: IP_A, random: new TestRng(9) });
}

function arpFrame(op: 1 | 2, senderMac: number, senderIp: number, targetMac: number, targetIp: number, dst: number): Uint8Array {
  const arp = new Uint8Array(28);
  emitArp({ op, senderMac, senderIp, targetMac, targetIp }, arp);
  const f = new Uint8Array(14 + 28);
  emitEthernet({ dst, src: senderMac, etherType: EtherType.ARP, payload: arp }, f);
  return f;
}

function tcpFrame(seg: TcpRepr, src = IP_B, dst = IP_A, ipOpts: { mf?: boolean; frag?: number } = {}): Uint8Array {
  const tcp = new Uint8Array(20 + (seg.mss === null ? 0 : 4) + seg.payload.length);
  emitTcp(seg, tcp, 0, src, dst);
  const ip = new Uint8Array(20 + tcp.length);
  emitIpv4({
    tos: 0, identification: 1, dontFragment: false, moreFragments: ipOpts.mf ?? false,
    fragmentOffset8: ipOpts.frag ?? 0, ttl: 64, protocol: 6, src, dst, payload: tcp,
  }, ip);
  const f = new Uint8Array(14 + ip.length);
  emitEthernet({ dst: MAC_A, src: MAC_B, etherType: EtherType.IPV4, payload: ip }, f);
  return f;
}

function decode(frame: Uint8Array): { eth: ReturnType<typeof parseEthernet>; tcp: TcpRepr | null } {
  const eth = parseEthernet(frame);
  if (!eth.ok || eth.value.etherType !== EtherType.IPV4) return { eth, tcp: null };
  const ip = parseIpv4(eth.value.payload);
  if (!ip.ok) return { eth, tcp: null };
  const t = parseTcp(ip.value.payload, ip.value.src, ip.value.dst);
  return { eth, tcp: t.ok ? t.value : null };
}

const syn = (srcPort: number, dstPort: number, seq = 1000): TcpRepr => ({
  srcPort, dstPort, seq: Seq32.from(seq), ack: Seq32.from(0), flags: TcpFlag.SYN, window: 8192,
  urgentPtr: 0, mss: 1460, payload: new Uint8Array(0),
});

describe('ARP', () => {
  it('answers a request for our address and learns the asker', () => {
    const h = stack();
    h.receiveFrame(0, arpFrame(ArpOp.REQUEST, MAC_B, IP_B, 0, IP_A, MAC_BROADCAST));
    const [f] = h.takeFrames();
    expect(f).toBeDefined();
    const e = parseEthernet(f as Uint8Array);
    expect(e.ok && e.value.dst).toBe(MAC_B);
    const a = e.ok ? parseArp(e.value.payload) : null;
    expect(a?.ok && a.value).toEqual({ op: ArpOp.REPLY, senderMac: MAC_A, senderIp: IP_A, targetMac: MAC_B, targetIp: IP_B });
    expect(h.arp.lookup(0, IP_B)).toBe(MAC_B);
  });
  it('ignores requests for other addresses and does not learn strangers', () => {
    const h = stack();
    h.receiveFrame(0, arpFrame(ArpOp.REQUEST, MAC_B, IP_B, 0, 0x0a090063, MAC_BROADCAST));
    expect(h.takeFrames()).toEqual([]);
    expect(h.arp.lookup(0, IP_B)).toBeNull();
  });
  it('queues packets while resolving, retries, flushes on reply', () => {
    const h = stack();
    const s = h.connect(0, IP_B, 80) as TcpSocket;
    expect(s.state).toBe('SYN-SENT');
    const [req] = h.takeFrames();
    const e = parseEthernet(req as Uint8Array);
    expect(e.ok && e.value.dst).toBe(MAC_BROADCAST);
    expect(e.ok && e.value.etherType).toBe(EtherType.ARP);
    expect(h.pollAt()).toBe(DEFAULT_ARP_CONFIG.requestIntervalNs);
    h.poll(1 * S);
    expect(h.takeFrames().length).toBe(1); // a retry
    h.receiveFrame(1 * S + MS, arpFrame(ArpOp.REPLY, MAC_B, IP_B, MAC_A, IP_A, MAC_A));
    const out = h.takeFrames();
    expect(out.length).toBe(1);
    const d = decode(out[0] as Uint8Array);
    expect(d.eth.ok && d.eth.value.dst).toBe(MAC_B);
    expect(d.tcp?.flags).toBe(TcpFlag.SYN);
  });
  it('gives up after maxRequests and counts the dropped frames', () => {
    const h = stack();
    h.connect(0, IP_B, 80);
    let t = 0;
    for (let i = 0; i < 10; i++) {
      const p = h.pollAt();
      if (p === null) break;
      t = Math.min(p, 20 * S);
      h.poll(t);
      if (h.arp.counters.framesDroppedUnresolved > 0) break;
    }
    expect(h.arp.counters.requestsSent).toBe(DEFAULT_ARP_CONFIG.maxRequests);
    expect(h.arp.counters.framesDroppedUnresolved).toBeGreaterThan(0);
  });
  it('cache entries expire', () => {
    const c = new ArpCache({ ...DEFAULT_ARP_CONFIG, entryTimeoutNs: 10 * S });
    c.insert(0, IP_B, MAC_B);
    expect(c.lookup(9 * S, IP_B)).toBe(MAC_B);
    expect(c.lookup(10 * S, IP_B)).toBeNull();
  });
  it('the waiting queue is bounded', () => {
    const c = new ArpCache({ ...DEFAULT_ARP_CONFIG, maxQueuedPerHost: 2 });
    expect(c.enqueue(0, IP_B, new Uint8Array(1))).toBe(true);
    expect(c.enqueue(0, IP_B, new Uint8Array(2))).toBe(false);
    c.enqueue(0, IP_B, new Uint8Array(3));
    expect(c.counters.framesDroppedQueueFull).toBe(1);
    expect(c.insert(0, IP_B, MAC_B).map((f) => f.length)).toEqual([2, 3]);
  });
});

describe('IPv4 and TCP demultiplexing', () => {
  function resolved(): HostStack {
    const h = stack();
    h.receiveFrame(0, arpFrame(ArpOp.REQUEST, MAC_B, IP_B, 0, IP_A, MAC_BROADCAST));
    h.takeFrames();
    return h;
  }
  it('a SYN to a closed port gets RST+ACK', () => {
    const h = resolved();
    h.receiveFrame(0, tcpFrame(syn(5555, 81)));
    const [f] = h.takeFrames();
    const d = decode(f as Uint8Array);
    expect(d.tcp?.flags).toBe(TcpFlag.RST | TcpFlag.ACK);
    expect(d.tcp?.ack).toBe(1001);
    expect(h.counters.tcpRstsForUnmatched).toBe(1);
  });
  it('a new SYN above RCV.NXT reopens a 4-tuple in TIME-WAIT (RFC 1122 §4.2.2.13)', () => {
    let n = 0;
    const rising = { nextU32: () => (n += 1_000_000) >>> 0 }; // A's ISNs grow, like a BSD ISN clock
    const net = new SimNet(NO_FAULTS, new TestRng(8), { random: rising });
    const [A, B] = net.hosts;
    const l = B.listen(80) as TcpListener;
    const c1 = A.connect(0, IP_B, 80, { localPort: 40000 }) as TcpSocket;
    net.pump();
    net.runUntil(() => c1.state === 'ESTABLISHED', S);
    net.runUntil(() => false, net.now + MS);
    const s1 = l.accept() as TcpSocket;
    s1.close(net.now); // the server closes first: it will sit in TIME-WAIT
    net.pump();
    net.runUntil(() => c1.state === 'CLOSE-WAIT', net.now + S);
    c1.close(net.now);
    net.pump();
    net.runUntil(() => s1.state === 'TIME-WAIT' && c1.state === 'CLOSED', net.now + S);
    expect(s1.state).toBe('TIME-WAIT');
    const c2 = A.connect(net.now, IP_B, 80, { localPort: 40000 }) as TcpSocket;
    net.pump();
    net.runUntil(() => c2.state === 'ESTABLISHED', net.now + S);
    expect(Seq32.gt(c2.conn.iss, s1.conn.rcvNxt)).toBe(true);
    expect(c2.state).toBe('ESTABLISHED');
    expect(s1.state).toBe('CLOSED');
    net.runUntil(() => l.pendingCount > 0, net.now + S);
    const s2 = l.accept() as TcpSocket;
    expect(s2).not.toBe(s1);
    expect(s2.state).toBe('ESTABLISHED');
  });
  it('fragments are refused and counted', () => {
    const h = resolved();
    h.listen(80);
    h.receiveFrame(0, tcpFrame(syn(5555, 80), IP_B, IP_A, { mf: true }));
    h.receiveFrame(0, tcpFrame(syn(5555, 80), IP_B, IP_A, { frag: 100 }));
    expect(h.takeFrames()).toEqual([]);
    expect(h.counters.ipFragmentsRefused).toBe(2);
  });
  it('bad checksums and foreign destinations are dropped and counted', () => {
    const h = resolved();
    h.listen(80);
    const f = tcpFrame(syn(5555, 80));
    const bad = f.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
    bad[14 + 20 + 16] = (bad[14 + 20 + 16] ?? 0) ^ 1; // TCP checksum byte
    h.receiveFrame(0, bad);
    h.receiveFrame(0, tcpFrame(syn(5555, 80), IP_B, 0x0a090077));
    expect(h.takeFrames()).toEqual([]);
    expect(h.counters.tcpBadSegment).toBe(1);
    expect(h.counters.ipNotForUs).toBe(1);
  });
  it('the listener backlog bounds embryonic + unaccepted connections', () => {
    const h = resolved();
    const l = h.listen(80, 2) as TcpListener;
    for (let p = 6000; p < 6005; p++) h.receiveFrame(0, tcpFrame(syn(p, 80)));
    expect(h.takeFrames().length).toBe(2);
    expect(h.counters.tcpListenOverflow).toBe(3);
    expect(l.accept()).toBeNull();
  });
  it('never throws on random frames', () => {
    const h = resolved();
    h.listen(80);
    const r = new TestRng(3);
    for (let i = 0; i < 3000; i++) {
      const n = r.int(0, 120);
      const f = new Uint8Array(n);
      for (let j = 0; j < n; j++) f[j] = r.nextU32() & 0xff;
      if (n >= 14 && i % 2 === 0) { f.set([2, 0, 0, 0, 0, 1], 0); f[12] = 8; f[13] = i % 4 === 0 ? 0 : 6; }
      h.receiveFrame(i, f);
    }
    expect(h.counters.framesIn).toBe(3001); // + the ARP request of resolved()
  });
});

describe('minimum frame size', () => {
  it('pads short frames when asked, and padded frames are understood', () => {
    const A = new HostStack({ mac: MAC_A, ip: IP_A, random: new TestRng(1), minFrameBytes: 60 });
    const B = new HostStack({ mac: MAC_B, ip: IP_B, random: new TestRng(2), minFrameBytes: 60 });
    const l = B.listen(80) as TcpListener;
    const c = A.connect(0, IP_B, 80) as TcpSocket;
    for (let i = 0; i < 20; i++) {
      const fa = A.takeFrames();
      const fb = B.takeFrames();
      for (const f of [...fa, ...fb]) expect(f.length).toBeGreaterThanOrEqual(60);
      for (const f of fa) B.receiveFrame(i, f);
      for (const f of fb) A.receiveFrame(i, f);
    }
    expect(c.state).toBe('ESTABLISHED');
    expect(l.accept()?.state).toBe('ESTABLISHED');
  });
});

describe('AN1 link', () => {
  it('two AN1 hosts connect; BQIs travel in DST_BQI and SPARE', () => {
    const A = new HostStack({ link: 'an1', mac: MAC_A, ip: IP_A, random: new TestRng(1) });
    const B = new HostStack({ link: 'an1', mac: MAC_B, ip: IP_B, random: new TestRng(2) });
    const seen: { from: 'A' | 'B'; frame: Uint8Array }[] = [];
    const exchange = (now: number): void => {
      for (let i = 0; i < 50; i++) {
        const fa = A.takeFrames();
        const fb = B.takeFrames();
        if (fa.length + fb.length === 0) return;
        for (const f of fa) { seen.push({ from: 'A', frame: f }); B.receiveFrame(now, f); }
        for (const f of fb) { seen.push({ from: 'B', frame: f }); A.receiveFrame(now, f); }
      }
    };
    const l = B.listen(80) as TcpListener;
    const s = A.connect(0, IP_B, 80, { an1TxSpare: 7 }) as TcpSocket;
    exchange(0);
    expect(s.state).toBe('ESTABLISHED');
    const first = parseAn1(seen[0]?.frame as Uint8Array);
    expect(first.ok && first.value.etherType).toBe(EtherType.ARP);
    expect(first.ok && first.value.dst).toBe(MAC_BROADCAST);
    const synFrame = seen.find((x) => x.from === 'A' && parseAn1(x.frame).ok && (parseAn1(x.frame) as { ok: true; value: { etherType: number } }).value.etherType === EtherType.IPV4);
    const synHdr = parseAn1(synFrame?.frame as Uint8Array);
    expect(synHdr.ok && synHdr.value.spare).toBe(7);
    expect(synHdr.ok && synHdr.value.dst).toBe(MAC_B);
    const srv = l.accept() as TcpSocket;
    expect(srv).not.toBeNull();
    expect(srv.an1.rxSpare).toBe(7); // the BQI A asked to receive on (paper §3.4)
    srv.an1.txDstBqi = srv.an1.rxSpare ?? 0;
    srv.write(MS, new TextEncoder().encode('over AN1'));
    seen.length = 0;
    exchange(MS);
    const data = parseAn1(seen.find((x) => x.from === 'B')?.frame as Uint8Array);
    expect(data.ok && data.value.dstBqi).toBe(7);
    expect(data.ok && data.value.dst).toBe(MAC_A);
    expect(new TextDecoder().decode(s.read(MS))).toBe('over AN1');
  });
});

describe('connection hand-off between stacks (issue 8)', () => {
  it('export from one stack, import into another with the same addresses: the stream continues', () => {
    const net = new SimNet(NO_FAULTS, new TestRng(6));
    const [A, B] = net.hosts;
    const l = B.listen(80) as TcpListener;
    const cli = A.connect(0, IP_B, 80) as TcpSocket;
    net.pump();
    net.runUntil(() => cli.state === 'ESTABLISHED', 10 * S);
    net.runUntil(() => false, net.now + 10 * MS);
    const srv = l.accept() as TcpSocket;
    cli.write(net.now, new TextEncoder().encode('before '));
    net.pump();
    net.runUntil(() => srv.readableBytes === 7, net.now + S);
    // The registry server (B) hands the connection to a library (B2) that owns the same address.
    const snap = B.exportConnection(srv);
    expect(B.connectionCount).toBe(0);
    const B2 = new HostStack({ mac: MAC_B, ip: IP_B, random: new TestRng(77) });
    const moved = B2.importConnection(net.now, snap) as TcpSocket;
    expect(moved.state).toBe('ESTABLISHED');
    (net as unknown as { hosts: HostStack[] }).hosts[1] = B2;
    expect(new TextDecoder().decode(moved.read(net.now))).toBe('before ');
    cli.write(net.now, new TextEncoder().encode('after'));
    net.pump();
    net.runUntil(() => moved.readableBytes === 5, net.now + 10 * S);
    expect(new TextDecoder().decode(moved.read(net.now))).toBe('after');
  });
});

describe('architecture', () => {
  it('userland/inet imports nothing outside itself and uses no wall clock, randomness or async', () => {
    const dir = path.resolve(import.meta.dirname, '../../../userland/inet');
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
      const src = fs.readFileSync(path.join(dir, f), 'utf8');
      for (const m of src.matchAll(/from\s+'([^']+)'/g)) {
        const spec = m[1] ?? '';
        expect(spec.startsWith('./') && !spec.includes('/..') && spec.endsWith('.ts'), `${f}: ${spec}`).toBe(true);
      }
      const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      for (const banned of [/\bDate\b/, /\bperformance\b/, /Math\.random/, /\bsetTimeout\b/, /\bsetInterval\b/, /\bPromise\b/, /\basync\b/, /\bawait\b/, /\bprocess\./, /\brequire\(/]) {
        expect(banned.test(code), `${f} uses ${banned}`).toBe(false);
      }
    }
  });
});
