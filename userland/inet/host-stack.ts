/**
 * A host's IPv4 + ARP + TCP stack on one interface, sans-I/O: link frames in (`receiveFrame`),
 * link frames out (`takeFrames`), timers driven by `poll(now)` at `pollAt()`. This is the object
 * the emulator's three organizations link (library, single server, monolithic kernel) and the
 * tests drive directly. Time is integer nanoseconds; randomness (ISNs, ephemeral ports) comes
 * from the injected RandomSource.
 *
 * Link framing is Ethernet II or the AN1 header (an1.ts). On AN1, each TCP socket carries the
 * BQI fields of paper §3.4: `an1.txDstBqi` goes in DST_BQI of every frame it sends, `an1.txSpare`
 * in SPARE (the BQI we want to receive on, during the handshake), and the SPARE of the frames it
 * receives is recorded in `an1.rxSpare` (the peer's BQI).
 *
 * Policy: no forwarding; packets to another subnet are dropped and counted (no gateway);
 * IP fragments are refused and counted (we always send DF and clamp the MSS to the MTU).
 */
import { AN1_HEADER_LEN, emitAn1Header, parseAn1 } from './an1.ts';
import { ArpCache, type ArpConfig, DEFAULT_ARP_CONFIG } from './arp-cache.ts';
import { ARP_LEN, ArpOp, emitArp, parseArp } from './arp.ts';
import { ETHERNET_HEADER_LEN, EtherType, emitEthernetHeader, parseEthernet } from './ethernet.ts';
import { IPV4_HEADER_LEN, IpProtocol, Ipv4View, emitIpv4Header } from './ipv4.ts';
import { type Ipv4Addr, type MacAddr, MAC_BROADCAST, type Ns, type RandomSource, invariant, writeMac } from './result.ts';
import {
  type TcpCallError, type TcpConfig, type TcpError, type TcpSnapshot, type TcpState,
  DEFAULT_TCP_CONFIG, TcpConnection, rstReplyFor,
} from './tcp.ts';
import { type TcpRepr, TcpView, emitTcp, tcpBufferLen } from './tcp-wire.ts';

export type LinkKind = 'ethernet' | 'an1';

export interface HostStackOptions {
  readonly link?: LinkKind;
  readonly mac: MacAddr;
  readonly ip: Ipv4Addr;
  /** On-link prefix length (default 24). */
  readonly prefixLen?: number;
  /** IP MTU of the link (default 1500); the advertised MSS is at most mtu − 40. */
  readonly mtu?: number;
  readonly ttl?: number;
  readonly random: RandomSource;
  readonly tcp?: Partial<TcpConfig>;
  readonly arp?: Partial<ArpConfig>;
  /** AN1 only: the switch short address for a destination (default 0: no switches, paper §4). */
  readonly an1ShortAddressOf?: (mac: MacAddr) => number;
  /** Bound on frames waiting in `takeFrames` before the oldest are dropped (default 4096). */
  readonly maxTxQueue?: number;
  /**
   * Pad every outgoing frame with zeros to at least this many bytes (default 0: no padding).
   * 60 gives Ethernet's 64-byte minimum once the device appends the FCS, for devices that do not
   * pad by themselves. Receivers ignore padding (lengths come from the IP header).
   */
  readonly minFrameBytes?: number;
}

export interface StackCounters {
  framesIn: number;
  framesOut: number;
  framesDroppedTxQueueFull: number;
  linkErrors: number;
  linkNotForUs: number;
  ipIn: number;
  ipOut: number;
  ipBadHeader: number;
  ipNotForUs: number;
  ipFragmentsRefused: number;
  ipUnknownProtocol: number;
  ipNoRoute: number;
  tcpIn: number;
  tcpBadSegment: number;
  tcpNoConnection: number;
  tcpRstsForUnmatched: number;
  tcpListenOverflow: number;
  arpIn: number;
  arpBad: number;
}

export interface An1SocketFields {
  /** DST_BQI written in every frame this connection sends (the peer's BQI; 0 = kernel default). */
  txDstBqi: number;
  /** SPARE written in every frame this connection sends (our BQI during the handshake). */
  txSpare: number;
  /** SPARE of the last frame received for this connection (the peer's BQI), or null. */
  rxSpare: number | null;
}

const NEVER = Number.POSITIVE_INFINITY;

function connKey(remoteIp: Ipv4Addr, remotePort: number, localPort: number): string {
  return `${remoteIp}:${remotePort}:${localPort}`;
}

/** The socket interface over one TCP connection. All calls take the current time. */
export class TcpSocket {
  readonly an1: An1SocketFields = { txDstBqi: 0, txSpare: 0, rxSpare: null };
  /** @internal */ listener: TcpListener | null = null;
  /** @internal */ accepted = false;

  constructor(private readonly stack: HostStack, readonly conn: TcpConnection) {}

  get state(): TcpState { return this.conn.state; }
  get error(): TcpError | null { return this.conn.error; }
  get localPort(): number { return this.conn.endpoints.localPort; }
  get remoteIp(): Ipv4Addr { return this.conn.endpoints.remoteIp; }
  get remotePort(): number { return this.conn.endpoints.remotePort; }
  get readableBytes(): number { return this.conn.readableBytes; }
  get writableBytes(): number { return this.conn.writableBytes; }
  /** The peer has closed its side and everything it sent has been read. */
  get eof(): boolean { return this.conn.eof; }
  get isEstablished(): boolean { return this.conn.isSynchronized; }

  write(now: Ns, data: Uint8Array): number | TcpCallError {
    const r = this.conn.write(now, data);
    this.stack.flush(now, this);
    return r;
  }
  read(now: Ns, max?: number): Uint8Array {
    const r = this.conn.read(now, max);
    this.stack.flush(now, this);
    return r;
  }
  shutdown(now: Ns): TcpCallError | null {
    const r = this.conn.shutdown(now);
    this.stack.flush(now, this);
    return r;
  }
  close(now: Ns): TcpCallError | null {
    const r = this.conn.close(now);
    this.stack.flush(now, this);
    return r;
  }
  abort(now: Ns): void {
    this.conn.abort(now);
    this.stack.flush(now, this);
  }
}

export class TcpListener {
  /** @internal */ readonly acceptQueue: TcpSocket[] = [];
  /** @internal */ embryonic = 0;
  closed = false;

  constructor(private readonly stack: HostStack, readonly port: number, readonly backlog: number) {}

  /** The next established connection, or null. */
  accept(): TcpSocket | null {
    const s = this.acceptQueue.shift() ?? null;
    if (s !== null) s.accepted = true;
    return s;
  }
  get pendingCount(): number { return this.acceptQueue.length; }
  close(now: Ns): void {
    this.closed = true;
    this.stack.unlisten(now, this);
  }
}

export class HostStack {
  readonly link: LinkKind;
  readonly mac: MacAddr;
  readonly ip: Ipv4Addr;
  readonly netmask: number;
  readonly mtu: number;
  readonly ttl: number;
  readonly tcpConfig: TcpConfig;
  readonly arp: ArpCache;
  readonly counters: StackCounters = {
    framesIn: 0, framesOut: 0, framesDroppedTxQueueFull: 0, linkErrors: 0, linkNotForUs: 0,
    ipIn: 0, ipOut: 0, ipBadHeader: 0, ipNotForUs: 0, ipFragmentsRefused: 0, ipUnknownProtocol: 0,
    ipNoRoute: 0, tcpIn: 0, tcpBadSegment: 0, tcpNoConnection: 0, tcpRstsForUnmatched: 0,
    tcpListenOverflow: 0, arpIn: 0, arpBad: 0,
  };

  private readonly random: RandomSource;
  private readonly linkHeaderLen: number;
  private readonly an1ShortAddressOf: (mac: MacAddr) => number;
  private readonly maxTxQueue: number;
  private readonly minFrameBytes: number;
  private readonly sockets = new Map<string, TcpSocket>();
  private readonly listeners = new Map<number, TcpListener>();
  private txQueue: Uint8Array[] = [];
  private ipId = 0;

  constructor(opts: HostStackOptions) {
    this.link = opts.link ?? 'ethernet';
    this.mac = opts.mac;
    this.ip = opts.ip >>> 0;
    const prefix = opts.prefixLen ?? 24;
    invariant(prefix >= 0 && prefix <= 32, 'prefixLen');
    this.netmask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    this.mtu = opts.mtu ?? 1500;
    invariant(this.mtu >= 68 && this.mtu <= 65535, 'mtu');
    this.ttl = opts.ttl ?? 64;
    this.random = opts.random;
    const tcp: TcpConfig = { ...DEFAULT_TCP_CONFIG, ...opts.tcp };
    this.tcpConfig = { ...tcp, mss: Math.min(tcp.mss, this.mtu - 40) };
    this.arp = new ArpCache({ ...DEFAULT_ARP_CONFIG, ...opts.arp });
    this.linkHeaderLen = this.link === 'ethernet' ? ETHERNET_HEADER_LEN : AN1_HEADER_LEN;
    this.an1ShortAddressOf = opts.an1ShortAddressOf ?? (() => 0);
    this.maxTxQueue = opts.maxTxQueue ?? 4096;
    this.minFrameBytes = opts.minFrameBytes ?? 0;
    this.ipId = this.random.nextU32() & 0xffff;
  }

  // ---------------------------------------------------------------------------------
  // Driving the stack
  // ---------------------------------------------------------------------------------

  /** Frames ready for the link, in order. */
  takeFrames(): Uint8Array[] {
    const out = this.txQueue;
    this.txQueue = [];
    return out;
  }

  /** Next deadline (ns) at which `poll` must run, or null. */
  pollAt(): Ns | null {
    let t = this.arp.pollAt() ?? NEVER;
    for (const s of this.sockets.values()) {
      const d = s.conn.pollAt();
      if (d !== null && d < t) t = d;
    }
    return t === NEVER ? null : t;
  }

  /** Runs every timer due at `now`. */
  poll(now: Ns): void {
    for (const ip of this.arp.onTimer(now)) this.sendArpRequest(ip);
    for (const s of [...this.sockets.values()]) {
      const d = s.conn.pollAt();
      if (d !== null && d <= now) {
        s.conn.onTimer(now);
        this.flush(now, s);
      }
    }
  }

  /** One link frame from the wire (no FCS). Never throws on any bytes. */
  receiveFrame(now: Ns, frame: Uint8Array): void {
    this.counters.framesIn += 1;
    let etherType: number;
    let payload: Uint8Array;
    let dst: MacAddr;
    let spare = 0;
    if (this.link === 'ethernet') {
      const e = parseEthernet(frame);
      if (!e.ok) { this.counters.linkErrors += 1; return; }
      ({ etherType, payload, dst } = e.value);
    } else {
      const a = parseAn1(frame);
      if (!a.ok) { this.counters.linkErrors += 1; return; }
      ({ etherType, payload, dst, spare } = a.value);
    }
    if (dst !== this.mac && dst !== MAC_BROADCAST) { this.counters.linkNotForUs += 1; return; }
    if (etherType === EtherType.ARP) this.receiveArp(now, payload);
    else if (etherType === EtherType.IPV4) this.receiveIpv4(now, payload, spare);
    else this.counters.linkNotForUs += 1;
  }

  // ---------------------------------------------------------------------------------
  // Sockets
  // ---------------------------------------------------------------------------------

  listen(port: number, backlog = 5): TcpListener | TcpCallError {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return 'EINVAL';
    if (this.listeners.has(port)) return 'EISCONN';
    const l = new TcpListener(this, port, Math.max(1, backlog));
    this.listeners.set(port, l);
    return l;
  }

  /** @internal */
  unlisten(now: Ns, l: TcpListener): void {
    if (this.listeners.get(l.port) === l) this.listeners.delete(l.port);
    for (const s of l.acceptQueue) s.abort(now);
    l.acceptQueue.length = 0;
  }

  connect(now: Ns, remoteIp: Ipv4Addr, remotePort: number, opts: { localPort?: number; an1TxSpare?: number } = {}): TcpSocket | TcpCallError {
    if (!Number.isInteger(remotePort) || remotePort <= 0 || remotePort > 65535) return 'EINVAL';
    const localPort = opts.localPort ?? this.ephemeralPort(remoteIp >>> 0, remotePort);
    if (localPort === null) return 'EINVAL';
    const key = connKey(remoteIp >>> 0, remotePort, localPort);
    if (this.sockets.has(key)) return 'EISCONN';
    const conn = new TcpConnection(this.tcpConfig, this.random, {
      localIp: this.ip, localPort, remoteIp: remoteIp >>> 0, remotePort,
    });
    const s = new TcpSocket(this, conn);
    if (opts.an1TxSpare !== undefined) s.an1.txSpare = opts.an1TxSpare;
    this.sockets.set(key, s);
    conn.connect(now);
    this.flush(now, s);
    return s;
  }

  /** Removes a connection from this stack without sending anything and returns its TCB. */
  exportConnection(s: TcpSocket): TcpSnapshot {
    const e = s.conn.endpoints;
    this.sockets.delete(connKey(e.remoteIp, e.remotePort, e.localPort));
    return s.conn.exportSnapshot();
  }

  /** Installs a connection handed over from another host (or this one). */
  importConnection(now: Ns, snap: TcpSnapshot): TcpSocket | TcpCallError {
    const e = snap.endpoints;
    const key = connKey(e.remoteIp, e.remotePort, e.localPort);
    if (this.sockets.has(key)) return 'EISCONN';
    const conn = TcpConnection.fromSnapshot(now, { ...snap, endpoints: { ...e, localIp: this.ip } }, this.tcpConfig, this.random);
    const s = new TcpSocket(this, conn);
    s.accepted = true;
    this.sockets.set(key, s);
    this.flush(now, s);
    return s;
  }

  get connectionCount(): number { return this.sockets.size; }

  /** The socket for a 4-tuple (including embryonic, not yet accepted ones), or null. */
  findSocket(remoteIp: Ipv4Addr, remotePort: number, localPort: number): TcpSocket | null {
    return this.sockets.get(connKey(remoteIp >>> 0, remotePort, localPort)) ?? null;
  }

  /** @internal Moves a socket's pending segments to the link and does its bookkeeping. */
  flush(now: Ns, s: TcpSocket): void {
    for (const seg of s.conn.takeSegments()) this.sendTcp(now, s.conn.endpoints.remoteIp, seg, s);
    const l = s.listener;
    if (l !== null && !s.accepted && s.conn.state !== 'SYN-RECEIVED' && s.conn.state !== 'LISTEN') {
      // An embryonic connection left SYN-RECEIVED: hand it to accept(), or forget it.
      l.embryonic -= 1;
      s.listener = null;
      if (s.conn.state !== 'CLOSED' && !l.closed) l.acceptQueue.push(s);
      else s.accepted = true;
    }
    if (s.conn.state === 'CLOSED') {
      const e = s.conn.endpoints;
      const key = connKey(e.remoteIp, e.remotePort, e.localPort);
      if (this.sockets.get(key) === s) this.sockets.delete(key);
    }
  }

  private ephemeralPort(remoteIp: Ipv4Addr, remotePort: number): number | null {
    // IANA dynamic range 49152–65535, first probe from the injected RandomSource.
    const span = 65536 - 49152;
    const start = this.random.nextU32() % span;
    for (let i = 0; i < span; i++) {
      const p = 49152 + ((start + i) % span);
      if (!this.sockets.has(connKey(remoteIp, remotePort, p)) && !this.listeners.has(p)) return p;
    }
    return null;
  }

  // ---------------------------------------------------------------------------------
  // Input
  // ---------------------------------------------------------------------------------

  private receiveArp(now: Ns, payload: Uint8Array): void {
    this.counters.arpIn += 1;
    const r = parseArp(payload);
    if (!r.ok) { this.counters.arpBad += 1; return; }
    const a = r.value;
    if (a.senderIp === this.ip || a.senderMac === MAC_BROADCAST) return;
    const forUs = a.targetIp === this.ip;
    // RFC 826 "merge": refresh a known sender; learn it if the packet is addressed to us.
    if (forUs || this.arp.has(a.senderIp)) {
      const waiting = this.arp.insert(now, a.senderIp, a.senderMac);
      for (const f of waiting) this.transmitResolved(f, a.senderMac);
    }
    if (forUs && a.op === ArpOp.REQUEST) {
      this.arp.counters.repliesSent += 1;
      this.sendArp(ArpOp.REPLY, a.senderMac, a.senderIp, a.senderMac);
    }
  }

  private receiveIpv4(now: Ns, payload: Uint8Array, spare: number): void {
    this.counters.ipIn += 1;
    const r = Ipv4View.check(payload);
    if (!r.ok) { this.counters.ipBadHeader += 1; return; }
    const ip = r.value;
    if (ip.dst !== this.ip) { this.counters.ipNotForUs += 1; return; }
    if (ip.isFragment) { this.counters.ipFragmentsRefused += 1; return; }
    if (ip.protocol !== IpProtocol.TCP) { this.counters.ipUnknownProtocol += 1; return; }
    const t = TcpView.check(ip.payload, ip.src, ip.dst);
    if (!t.ok) { this.counters.tcpBadSegment += 1; return; }
    this.counters.tcpIn += 1;
    const v = t.value;
    const seg: TcpRepr = {
      srcPort: v.srcPort, dstPort: v.dstPort, seq: v.seq, ack: v.ack, flags: v.flags,
      window: v.window, urgentPtr: v.urgentPtr, mss: v.mss, payload: v.payload,
    };
    const src = ip.src;
    let s = this.sockets.get(connKey(src, seg.srcPort, seg.dstPort));
    if (s !== undefined && this.listeners.has(seg.dstPort) && s.conn.acceptsNewSyn(seg)) {
      // RFC 1122 §4.2.2.13: a new incarnation reuses the 4-tuple of a connection in TIME-WAIT.
      s.conn.endTimeWait();
      this.sockets.delete(connKey(src, seg.srcPort, seg.dstPort));
      s = undefined;
    }
    if (s !== undefined) {
      s.an1.rxSpare = spare;
      s.conn.onSegment(now, seg);
      this.flush(now, s);
      return;
    }
    const l = this.listeners.get(seg.dstPort);
    if (l !== undefined && !l.closed && (seg.flags & 0x02) !== 0 && (seg.flags & 0x14) === 0) {
      // SYN without ACK/RST for a listener: a new embryonic connection (4.3BSD sonewconn).
      if (l.embryonic + l.acceptQueue.length >= l.backlog) { this.counters.tcpListenOverflow += 1; return; }
      const conn = new TcpConnection(this.tcpConfig, this.random, {
        localIp: this.ip, localPort: seg.dstPort, remoteIp: src, remotePort: seg.srcPort,
      });
      conn.listen();
      const ns = new TcpSocket(this, conn);
      ns.an1.rxSpare = spare;
      ns.listener = l;
      l.embryonic += 1;
      this.sockets.set(connKey(src, seg.srcPort, seg.dstPort), ns);
      conn.onSegment(now, seg);
      this.flush(now, ns);
      return;
    }
    if (l !== undefined && !l.closed) {
      // Non-SYN to a listening port: LISTEN-state rules (RFC 793 p.65): RST ignored, ACK gets a reset.
      if ((seg.flags & 0x04) !== 0) return;
    }
    this.counters.tcpNoConnection += 1;
    const rst = rstReplyFor(seg);
    if (rst !== null) {
      this.counters.tcpRstsForUnmatched += 1;
      this.sendTcp(now, src, rst, null);
    }
  }

  // ---------------------------------------------------------------------------------
  // Output
  // ---------------------------------------------------------------------------------

  private sendTcp(now: Ns, dst: Ipv4Addr, seg: TcpRepr, s: TcpSocket | null): void {
    const tcpLen = tcpBufferLen(seg);
    const frame = new Uint8Array(this.linkHeaderLen + IPV4_HEADER_LEN + tcpLen);
    const ipOff = this.linkHeaderLen;
    emitIpv4Header({
      tos: 0, identification: this.ipId, dontFragment: true, moreFragments: false, fragmentOffset8: 0,
      ttl: this.ttl, protocol: IpProtocol.TCP, src: this.ip, dst,
    }, tcpLen, frame, ipOff);
    this.ipId = (this.ipId + 1) & 0xffff;
    emitTcp(seg, frame, ipOff + IPV4_HEADER_LEN, this.ip, dst);
    this.writeLinkHeader(frame, 0, EtherType.IPV4, s === null ? 0 : s.an1.txDstBqi, s === null ? 0 : s.an1.txSpare);
    this.counters.ipOut += 1;
    if ((dst & this.netmask) !== (this.ip & this.netmask)) { this.counters.ipNoRoute += 1; return; }
    const mac = this.arp.lookup(now, dst);
    if (mac !== null) {
      this.transmitResolved(frame, mac);
      return;
    }
    if (this.arp.enqueue(now, dst, frame)) this.sendArpRequest(dst);
  }

  private writeLinkHeader(frame: Uint8Array, dst: MacAddr, etherType: number, dstBqi: number, spare: number): void {
    if (this.link === 'ethernet') {
      emitEthernetHeader(dst, this.mac, etherType, frame, 0);
    } else {
      emitAn1Header({ dstShort: 0, dstBqi, dst, src: this.mac, etherType, spare }, frame, 0);
    }
  }

  private transmitResolved(frame: Uint8Array, mac: MacAddr): void {
    if (this.link === 'ethernet') {
      writeMac(frame, 0, mac);
    } else {
      writeMac(frame, 4, mac);
      const short = this.an1ShortAddressOf(mac) & 0xffff;
      frame[0] = short >>> 8;
      frame[1] = short & 0xff;
    }
    this.enqueueTx(frame);
  }

  private enqueueTx(frameIn: Uint8Array): void {
    let frame = frameIn;
    if (frame.length < this.minFrameBytes) {
      frame = new Uint8Array(this.minFrameBytes);
      frame.set(frameIn, 0);
    }
    if (this.txQueue.length >= this.maxTxQueue) {
      this.txQueue.shift();
      this.counters.framesDroppedTxQueueFull += 1;
    }
    this.txQueue.push(frame);
    this.counters.framesOut += 1;
  }

  private sendArpRequest(ip: Ipv4Addr): void {
    this.sendArp(ArpOp.REQUEST, MAC_BROADCAST, ip, 0);
  }

  private sendArp(op: 1 | 2, linkDst: MacAddr, targetIp: Ipv4Addr, targetMac: MacAddr): void {
    const frame = new Uint8Array(this.linkHeaderLen + ARP_LEN);
    this.writeLinkHeader(frame, linkDst, EtherType.ARP, 0, 0);
    emitArp({ op, senderMac: this.mac, senderIp: this.ip, targetMac, targetIp }, frame, this.linkHeaderLen);
    if (this.link === 'an1') {
      const short = linkDst === MAC_BROADCAST ? 0xffff : this.an1ShortAddressOf(linkDst) & 0xffff;
      frame[0] = short >>> 8;
      frame[1] = short & 0xff;
    }
    this.enqueueTx(frame);
  }
}
