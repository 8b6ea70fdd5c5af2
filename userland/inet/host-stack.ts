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
import { IcmpType, IcmpUnreachCode, icmpUnreachableMessage, parseIcmpUnreachable } from './icmp.ts';
import { UDP_HEADER_LEN, UdpView, emitUdp } from './udp-wire.ts';
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
  udpIn: number;
  udpOut: number;
  udpBadDatagram: number;
  /** Datagrams to a port no socket is bound to (each answered by an ICMP port unreachable, RFC 1122 §4.1.3.1). */
  udpNoPort: number;
  /** Datagrams to a connected socket from another peer (dropped, as 4.3BSD's in_pcblookup). */
  udpWrongPeer: number;
  /** Datagrams dropped because the socket's receive queue was full (4.3BSD sbappendaddr failing). */
  udpQueueFull: number;
  icmpIn: number;
  icmpBad: number;
  icmpUnreachIn: number;
  icmpUnreachOut: number;
}

/** Errors of the UDP socket calls. */
export type UdpCallError = 'EINVAL' | 'EADDRINUSE' | 'EMSGSIZE' | 'EDESTADDRREQ' | 'ECONNREFUSED' | 'EHOSTUNREACH' | 'ENOTCONN';

/** One received datagram, with where it came from (and on AN1 the SPARE of its link header: the sender's BQI). */
export interface UdpDatagram {
  readonly srcIp: Ipv4Addr;
  readonly srcPort: number;
  readonly data: Uint8Array;
  /** AN1: the SPARE field of the link header it arrived with (the BQI the sender receives on; 0 = none). */
  readonly an1Spare: number;
}

/**
 * 4.4BSD's udp_recvspace (40 × (1024 + sizeof(struct sockaddr_in)) = 41600 bytes, netinet/udp_usrreq.c):
 * a socket's receive queue holds at most this many bytes of data; more is dropped and counted.
 */
export const UDP_RECV_SPACE = 41600;
/** BQIs learned per UDP socket (AN1 discovery) at most; the oldest is forgotten first. */
export const UDP_LEARNED_BQIS_MAX = 256;
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

/**
 * A UDP socket (RFC 768) with the BSD calls: sendTo, recvFrom, connect (a default destination, and
 * only its datagrams are received; an ICMP port unreachable for it becomes ECONNREFUSED on the next
 * call, RFC 1122 §4.1.3.3), close. Datagrams are never fragmented (DF): a payload larger than the
 * link MTU less 28 bytes is EMSGSIZE.
 *
 * AN1 (P §2.2: connectionless protocols "discover" the index value of their peer by examining the
 * link-level headers of incoming messages): every datagram carries `an1.txSpare` (the BQI this
 * socket receives on) in SPARE; the SPARE of each datagram received is learned for its source
 * (ip, port), and a reply to that source goes to that BQI. Until a peer's BQI is known, datagrams
 * to it go to DST_BQI 0 (the peer kernel's buffers).
 */
export class UdpSocket {
  readonly an1: { txSpare: number; readonly learned: Map<string, number> } = { txSpare: 0, learned: new Map() };
  /** The connected peer, or null. */
  remote: { readonly ip: Ipv4Addr; readonly port: number } | null = null;
  /** A pending asynchronous error (so_error): returned, and cleared, by the next call. */
  error: UdpCallError | null = null;
  closed = false;
  private readonly queue: UdpDatagram[] = [];
  private queuedBytes = 0;

  constructor(private readonly stack: HostStack, readonly localPort: number) {}

  get pendingCount(): number { return this.queue.length; }

  /** Restrict to one peer and make it the default destination (ip 0: dissolve the association). */
  connect(ip: Ipv4Addr, port: number): UdpCallError | null {
    if (this.closed) return 'EINVAL';
    if (ip === 0) { this.remote = null; return null; }
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return 'EINVAL';
    this.remote = { ip: ip >>> 0, port };
    this.error = null;
    return null;
  }

  /** The BQI datagrams to (ip, port) go to: the one learned from its datagrams, else 0. */
  peerBqi(ip: Ipv4Addr, port: number): number {
    return this.an1.learned.get(`${ip >>> 0}:${port}`) ?? 0;
  }

  /** One datagram to (ip, port), or to the connected peer when `ip` is undefined: bytes sent or an error. */
  sendTo(now: Ns, data: Uint8Array, ip?: Ipv4Addr, port?: number, opts: { readonly an1DstBqi?: number } = {}): number | UdpCallError {
    if (this.closed) return 'EINVAL';
    const e = this.takeError();
    if (e !== null) return e;
    let dst: Ipv4Addr;
    let dport: number;
    if (ip === undefined) {
      if (this.remote === null) return 'EDESTADDRREQ';
      dst = this.remote.ip;
      dport = this.remote.port;
    } else {
      dst = ip >>> 0;
      dport = port ?? 0;
    }
    if (!Number.isInteger(dport) || dport <= 0 || dport > 65535 || dst === 0) return 'EINVAL';
    if (data.length > this.stack.udpMaxPayload) return 'EMSGSIZE';
    this.stack.sendUdp(now, this, dst, dport, data, opts.an1DstBqi ?? this.peerBqi(dst, dport));
    return data.length;
  }

  /** The next datagram, or null when none is queued; a pending error first. */
  recvFrom(): UdpDatagram | UdpCallError | null {
    const e = this.takeError();
    if (e !== null) return e;
    const d = this.queue.shift();
    if (d === undefined) return null;
    this.queuedBytes -= d.data.length;
    return d;
  }

  takeError(): UdpCallError | null {
    const e = this.error;
    this.error = null;
    return e;
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.stack.udpUnbind(this);
  }

  /** @internal A datagram for this socket's port. */
  deliver(_now: Ns, d: UdpDatagram): void {
    const r = this.remote;
    if (r !== null && (d.srcIp !== r.ip || d.srcPort !== r.port)) { this.stack.counters.udpWrongPeer += 1; return; }
    if (this.queuedBytes + d.data.length > UDP_RECV_SPACE) { this.stack.counters.udpQueueFull += 1; return; }
    if (d.an1Spare !== 0) {
      const k = `${d.srcIp >>> 0}:${d.srcPort}`;
      const m = this.an1.learned;
      m.delete(k);
      m.set(k, d.an1Spare);
      if (m.size > UDP_LEARNED_BQIS_MAX) m.delete(m.keys().next().value!);
    }
    this.queue.push(d);
    this.queuedBytes += d.data.length;
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
    tcpListenOverflow: 0, arpIn: 0, arpBad: 0, udpIn: 0, udpOut: 0, udpBadDatagram: 0, udpNoPort: 0, udpWrongPeer: 0,
    udpQueueFull: 0, icmpIn: 0, icmpBad: 0, icmpUnreachIn: 0, icmpUnreachOut: 0,
  };

  private readonly random: RandomSource;
  private readonly linkHeaderLen: number;
  private readonly an1ShortAddressOf: (mac: MacAddr) => number;
  private readonly maxTxQueue: number;
  private readonly minFrameBytes: number;
  private readonly sockets = new Map<string, TcpSocket>();
  private readonly listeners = new Map<number, TcpListener>();
  private readonly udpSockets = new Map<number, UdpSocket>();
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
    if (ip.protocol === IpProtocol.UDP) { this.receiveUdp(now, ip, spare); return; }
    if (ip.protocol === IpProtocol.ICMP) { this.receiveIcmp(ip); return; }
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
  // UDP (RFC 768) and the ICMP it needs
  // ---------------------------------------------------------------------------------

  /** A UDP socket bound to `port` (0: an ephemeral port), or an error. One socket per local port. */
  udpBind(port = 0): UdpSocket | UdpCallError {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return 'EINVAL';
    let p = port;
    if (p === 0) {
      const span = 65536 - 49152;
      const start = this.random.nextU32() % span;
      let found = 0;
      for (let i = 0; i < span && found === 0; i++) {
        const c = 49152 + ((start + i) % span);
        if (!this.udpSockets.has(c)) found = c;
      }
      if (found === 0) return 'EADDRINUSE';
      p = found;
    }
    if (this.udpSockets.has(p)) return 'EADDRINUSE';
    const s = new UdpSocket(this, p);
    this.udpSockets.set(p, s);
    return s;
  }

  /**
   * The link address of an on-link host: from the cache, or null after sending an ARP request
   * (the reply fills the cache). For a server that resolves on behalf of others (the registry).
   */
  resolve(now: Ns, ip: Ipv4Addr): MacAddr | null {
    const m = this.arp.lookup(now, ip >>> 0);
    if (m !== null) return m;
    if (((ip >>> 0) & this.netmask) === (this.ip & this.netmask)) this.sendArpRequest(ip >>> 0);
    return null;
  }

  /** The UDP socket bound to `port`, or null. */
  findUdpSocket(port: number): UdpSocket | null {
    return this.udpSockets.get(port) ?? null;
  }

  /** @internal */
  udpUnbind(s: UdpSocket): void {
    if (this.udpSockets.get(s.localPort) === s) this.udpSockets.delete(s.localPort);
  }

  /** Largest datagram payload: DF is always set, so one link MTU less the IP and UDP headers. */
  get udpMaxPayload(): number {
    return this.mtu - IPV4_HEADER_LEN - UDP_HEADER_LEN;
  }

  private receiveUdp(now: Ns, ip: Ipv4View, spare: number): void {
    const u = UdpView.check(ip.payload, ip.src, ip.dst);
    if (!u.ok) { this.counters.udpBadDatagram += 1; return; }
    const v = u.value;
    const s = this.udpSockets.get(v.dstPort);
    if (s === undefined) {
      this.counters.udpNoPort += 1;
      // RFC 1122 §3.2.2: never about a datagram from a broadcast, multicast or zero source.
      const src = ip.src;
      const bad = src === 0 || src === 0xffffffff || (src >>> 28) === 0xe || (src | this.netmask) >>> 0 === 0xffffffff;
      if (!bad) this.sendIcmpUnreachable(now, ip, IcmpUnreachCode.PORT, spare);
      return;
    }
    this.counters.udpIn += 1;
    s.deliver(now, { srcIp: ip.src, srcPort: v.srcPort, data: v.payload.slice(), an1Spare: spare });
  }

  private receiveIcmp(ip: Ipv4View): void {
    this.counters.icmpIn += 1;
    if (ip.payload.length >= 1 && ip.payload[0] !== IcmpType.DEST_UNREACHABLE) return; // echo etc.: not answered
    const r = parseIcmpUnreachable(ip.payload);
    if (!r.ok) { this.counters.icmpBad += 1; return; }
    const m = r.value;
    this.counters.icmpUnreachIn += 1;
    if (m.origProtocol !== IpProtocol.UDP || m.origSrc !== this.ip) return;
    const s = this.udpSockets.get(m.origSrcPort);
    // 4.3BSD udp_ctlinput: the error goes to the socket connected to the quoted destination only.
    if (s === undefined || s.remote === null || s.remote.ip !== m.origDst || s.remote.port !== m.origDstPort) return;
    s.error = m.code === IcmpUnreachCode.PORT || m.code === IcmpUnreachCode.PROTOCOL ? 'ECONNREFUSED' : 'EHOSTUNREACH';
  }

  /** On AN1 the message goes to the BQI the offending datagram named in SPARE (its sender's: P §2.2 discovery). */
  private sendIcmpUnreachable(now: Ns, offending: Ipv4View, code: number, spare: number): void {
    const msg = icmpUnreachableMessage(code, offending.buf.subarray(0, offending.totalLength));
    this.counters.icmpUnreachOut += 1;
    this.sendDatagram(now, offending.src, IpProtocol.ICMP, msg.length, (f, at) => f.set(msg, at), spare, 0);
  }

  /** @internal One UDP datagram out (the socket checked the size). */
  sendUdp(now: Ns, s: UdpSocket, dst: Ipv4Addr, dstPort: number, data: Uint8Array, dstBqi: number): void {
    this.counters.udpOut += 1;
    const len = UDP_HEADER_LEN + data.length;
    this.sendDatagram(now, dst, IpProtocol.UDP, len, (f, at) => emitUdp({ srcPort: s.localPort, dstPort, payload: data }, f, at, this.ip, dst), dstBqi, s.an1.txSpare);
  }

  /** An IP datagram of `protocol` whose `len`-byte payload `write` puts at its offset; routed and resolved as TCP's. */
  private sendDatagram(now: Ns, dst: Ipv4Addr, protocol: number, len: number, write: (f: Uint8Array, at: number) => void, dstBqi: number, spare: number): void {
    const frame = new Uint8Array(this.linkHeaderLen + IPV4_HEADER_LEN + len);
    const ipOff = this.linkHeaderLen;
    emitIpv4Header({
      tos: 0, identification: this.ipId, dontFragment: true, moreFragments: false, fragmentOffset8: 0,
      ttl: this.ttl, protocol, src: this.ip, dst,
    }, len, frame, ipOff);
    this.ipId = (this.ipId + 1) & 0xffff;
    write(frame, ipOff + IPV4_HEADER_LEN);
    this.writeLinkHeader(frame, 0, EtherType.IPV4, dstBqi, spare);
    this.counters.ipOut += 1;
    if ((dst & this.netmask) !== (this.ip & this.netmask)) { this.counters.ipNoRoute += 1; return; }
    const mac = this.arp.lookup(now, dst);
    if (mac !== null) {
      this.transmitResolved(frame, mac);
      return;
    }
    if (this.arp.enqueue(now, dst, frame)) this.sendArpRequest(dst);
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
