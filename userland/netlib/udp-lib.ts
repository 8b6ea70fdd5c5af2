/**
 * UDP in the protocol library (issue 17): datagram sockets with socket/bind/connect/sendto/
 * recvfrom/close over the engine (userland/inet), one engine instance and one network I/O channel
 * per socket, as TCP has per connection. The registry server allocates the port and the channel
 * (REG_MSG.UDP_BIND): the template pins the socket's own addresses and port (a connected socket's
 * also the peer's), the channel's key is the bound port or the 4-tuple.
 *
 * AN1 (P §2.2, "connectionless protocols can also use this facility by 'discovering' the index
 * value of their peer by examining the link-level headers of incoming messages"): every datagram
 * carries the socket's BQI in SPARE; the engine learns the BQI of each source from the datagrams it
 * receives and replies to it (a server's bound socket: the network I/O module lets its channel name
 * only BQI 0 or a BQI it has received frames from; kernel/netio, docs/netio.md). A connected
 * socket's peer BQI is bound at connect by the two registries (the paper's address-binding step,
 * P §5) and pinned in its template. A datagram to a peer whose BQI is not known goes to BQI 0: the
 * peer's kernel buffers and registry, which drops it (a bound socket reaches an AN1 peer only after
 * hearing from it).
 *
 * Threads: no network C-thread (UDP has no timers): recvfrom runs the ring itself and, with nothing
 * there, waits on the channel's semaphore (the module's notification). Link addresses: a connected
 * socket gets its peer's from the registry (its ARP); a source's is learned from the datagrams it
 * sends us; any other destination is resolved by the registry (REG_MSG.RESOLVE) before the first
 * datagram to it.
 *
 * Costs: socket layer and the user copy ('sosend' / 'soreceive', LIB_COSTS), the protocol layers
 * per datagram (udp_output, ip_output, ether_output; mbuf_queue, ipintr, udp_input: layer-costs.ts).
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestContext } from '../../kernel/abi/guest.ts';
import type { PortName } from '../../kernel/abi/message.ts';
import { NETIO_ERR } from '../../kernel/abi/netio.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { HostStack, chargeInput, chargeOutput, readMac, readU32, type UdpCallError, type UdpSocket } from '../inet/index.ts';
import { sys } from '../mach/syscalls.ts';
import { libCosts, type LibCostName } from './costs.ts';
import { xorshift } from './frames.ts';
import { RawChannel } from './raw-channel.ts';
import { macJoin, parseUdpGrant, REG_ERR, REG_MSG } from './registry-proto.ts';
import { SOCK_ERR } from './tcp-lib.ts';
import { UserClock } from './user-clock.ts';
import { openRegistryLink, serviceRequest } from './service-link.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

export const UDP_ERR = { ...SOCK_ERR, EMSGSIZE: -40, EDESTADDRREQ: -39, EHOSTUNREACH: -65, EISCONN: -56 } as const;

const errOf = (e: UdpCallError): number =>
  e === 'ECONNREFUSED' ? UDP_ERR.ECONNREFUSED : e === 'EMSGSIZE' ? UDP_ERR.EMSGSIZE : e === 'EDESTADDRREQ' ? UDP_ERR.EDESTADDRREQ
    : e === 'EHOSTUNREACH' ? UDP_ERR.EHOSTUNREACH : e === 'EADDRINUSE' ? UDP_ERR.EADDRINUSE : UDP_ERR.EINVAL;

/** One bound datagram socket of this task: its engine, engine socket and channel. */
export class LibUdpSocket {
  readonly stack: HostStack;
  readonly sock: UdpSocket;
  readonly ch: RawChannel;
  private unreturned = 0;
  framesSent = 0;
  framesReceived = 0;
  constructor(
    private readonly lib: UdpLib,
    readonly channel: PortName,
    readonly w: { readonly address: number; readonly sem: number; readonly bqi: number; readonly peerBqi: number; readonly localIp: number; readonly localMacHi: number; readonly localMacLo: number; readonly peerMacHi: number; readonly peerMacLo: number; readonly regionBytes: number },
    readonly localPort: number,
    remote: { readonly ip: number; readonly port: number } | undefined,
  ) {
    this.ch = new RawChannel(lib.ctx, { channel, address: w.address, sem: w.sem });
    this.stack = new HostStack({ link: lib.link, mac: macJoin(w.localMacHi, w.localMacLo), ip: w.localIp >>> 0, random: xorshift(lib.seed ^ localPort), arp: { entryTimeoutNs: 1e15 } });
    const s = this.stack.udpBind(localPort);
    if (typeof s === 'string') throw new Error(`udp bind in a fresh engine: ${s}`);
    this.sock = s;
    s.an1.txSpare = w.bqi;
    if (remote !== undefined) {
      this.stack.arp.insert(0, remote.ip, macJoin(w.peerMacHi, w.peerMacLo));
      s.connect(remote.ip, remote.port);
      // AN1: the peer port's BQI, bound by the registries (the channel's template pins it).
      if (lib.link === 'an1') s.an1.learned.set(`${remote.ip >>> 0}:${remote.port}`, w.peerBqi);
    }
  }

  /** Send every frame the engine produced, one transmit page each. Returns the last net_send's code. */
  *flush(): G<number> {
    const lib = this.lib;
    let kr: number = KERN.SUCCESS;
    for (const f of this.stack.takeFrames()) {
      chargeOutput(lib.spendLayer, lib.c, f, lib.link === 'an1' ? 20 : 14);
      const at = yield* this.ch.claimTxPageWait();
      if (at < 0) return KERN.INVALID_ARGUMENT;
      lib.ctx.mem.writeBytes(this.ch.grant.address + at, f);
      kr = yield* this.ch.sendFromPage(at, f.length);
      this.unreturned = 0;
      this.framesSent++;
    }
    return kr;
  }

  /** Take every frame in the ring into the engine (learning the link address of each source). */
  *input(now: number): G<number> {
    const lib = this.lib;
    const lh = lib.link === 'an1' ? 20 : 14;
    const n = this.ch.available();
    for (let k = 0; k < n; k++) {
      const s = this.ch.peek();
      if (s.length > 0) {
        const f = this.ch.read(s.offset, s.length);
        chargeInput(lib.spendLayer, lib.c, f, lh);
        // The source's link address (a reply goes back to it): Ethernet bytes 6..11, AN1 SRC_UID 10..15.
        if (f.length >= lh + 20) {
          const src = readU32(f, lh + 12);
          if (!this.stack.arp.has(src)) this.stack.arp.insert(now, src, readMac(f, lib.link === 'an1' ? 10 : 6));
        }
        this.stack.receiveFrame(now, f);
        this.framesReceived++;
      }
      this.ch.consume();
    }
    this.unreturned += n;
    if (lib.link === 'an1' && this.unreturned >= this.ch.rxSlots / 2) {
      yield* this.ch.rxDone();
      this.unreturned = 0;
    }
    return n;
  }
}

export class UdpLib {
  readonly c: Record<LibCostName, number>;
  readonly link: 'ethernet' | 'an1';
  readonly seed: number;
  private readonly clock: UserClock;
  private readonly fds = new Map<number, { kind: 'new' } | { kind: 'udp'; s: LibUdpSocket }>();
  private nextFd = 3;

  private constructor(
    readonly ctx: GuestContext,
    private readonly registry: PortName,
    private readonly replyPort: PortName,
    private readonly taskPort: PortName,
  ) {
    const p = ctx.params;
    this.c = libCosts(p);
    this.link = p['link'] === 'an1' ? 'an1' : 'ethernet';
    this.seed = (typeof p['seed'] === 'number' ? p['seed'] : 7) ^ ctx.taskId;
    this.clock = new UserClock(ctx.mem, UserClock.pageOf(p));
  }

  readonly spendLayer = (cycles: number, category: string): void => this.ctx.spend(cycles, category);

  /** Find the registry server; undefined if there is none. */
  static *init(ctx: GuestContext): G<UdpLib | undefined> {
    const l = yield* openRegistryLink();
    return l === undefined ? undefined : new UdpLib(ctx, l.server, l.replyPort, l.taskPort);
  }

  *now(): G<number> {
    return yield* this.clock.now();
  }

  /** The socket behind `fd` (tests and tools). */
  socketOf(fd: number): LibUdpSocket | undefined {
    const e = this.fds.get(fd);
    return e?.kind === 'udp' ? e.s : undefined;
  }

  socket(): number {
    const fd = this.nextFd++;
    this.fds.set(fd, { kind: 'new' });
    return fd;
  }

  private *request(id: number, values: number[]) {
    return yield* serviceRequest({ server: this.registry, replyPort: this.replyPort, taskPort: this.taskPort }, id, values);
  }

  private *grant(fd: number, port: number, remote: { ip: number; port: number } | undefined): G<number> {
    this.ctx.spend(this.c.socketCallCycles);
    const r = yield* this.request(REG_MSG.UDP_BIND, [port, remote?.ip ?? 0, remote?.port ?? 0]);
    const g = parseUdpGrant(r.msg);
    if (typeof g === 'number') {
      return g === REG_ERR.ADDR_IN_USE ? UDP_ERR.EADDRINUSE : g === REG_ERR.TIMED_OUT ? UDP_ERR.EHOSTUNREACH : g === REG_ERR.CONN_REFUSED ? UDP_ERR.ECONNREFUSED : UDP_ERR.EINVAL;
    }
    this.fds.set(fd, { kind: 'udp', s: new LibUdpSocket(this, g.channel, g.w, g.localPort, remote) });
    return 0;
  }

  /** Bind to `port` (0: an ephemeral one): 0 or a negative error. */
  *bind(fd: number, port: number): G<number> {
    const e = this.fds.get(fd);
    if (e === undefined || e.kind !== 'new') return UDP_ERR.EINVAL;
    return yield* this.grant(fd, port, undefined);
  }

  /** The socket's local port (after bind or connect), or a negative error. */
  localPort(fd: number): number {
    return this.socketOf(fd)?.localPort ?? UDP_ERR.EBADF;
  }

  /**
   * Connect: only the peer's datagrams are received, it is the default destination, and an ICMP
   * port unreachable from it is reported (ECONNREFUSED). A bound socket is re-granted on the same
   * port with a connected channel (the old channel closed first).
   */
  *connect(fd: number, ip: number, port: number): G<number> {
    const e = this.fds.get(fd);
    if (e === undefined) return UDP_ERR.EBADF;
    let local = 0;
    if (e.kind === 'udp') {
      if (e.s.sock.remote !== null) return UDP_ERR.EISCONN;
      local = e.s.localPort;
      yield* this.closeSocket(e.s);
      this.fds.set(fd, { kind: 'new' });
    }
    return yield* this.grant(fd, local, { ip: ip >>> 0, port });
  }

  /** One datagram (to the connected peer when `ip` is undefined): bytes sent or a negative error. */
  *sendto(fd: number, data: Uint8Array, ip?: number, port?: number): G<number> {
    let e = this.fds.get(fd);
    if (e === undefined) return UDP_ERR.EBADF;
    if (e.kind === 'new') {
      if (ip === undefined) return UDP_ERR.EDESTADDRREQ;
      const b = yield* this.grant(fd, 0, undefined); // an implicit bind to an ephemeral port, as BSD
      if (b < 0) return b;
      e = this.fds.get(fd)!;
      if (e.kind !== 'udp') return UDP_ERR.EBADF;
    }
    const s = e.s;
    this.ctx.spend(this.c.socketCallCycles, 'sosend');
    const now = yield* this.now();
    yield* s.input(now); // an ICMP error or datagrams waiting are taken first
    if (ip !== undefined && s.sock.remote === null && s.stack.arp.lookup(now, ip >>> 0) === null) {
      const r = yield* this.request(REG_MSG.RESOLVE, [ip >>> 0]);
      const it = r.msg?.items[0];
      if (it?.type !== 'int32' || it.values[0] !== KERN.SUCCESS) return UDP_ERR.EHOSTUNREACH;
      s.stack.arp.insert(now, ip >>> 0, macJoin(it.values[1] ?? 0, it.values[2] ?? 0));
    }
    const n = s.sock.sendTo(now, data, ip, port);
    if (typeof n === 'string') return errOf(n);
    this.ctx.spend(this.c.copyCyclesPerByte * n, 'sosend');
    const kr = yield* s.flush();
    return kr === KERN.SUCCESS ? n : kr === NETIO_ERR.BQI_UNDISCOVERED ? UDP_ERR.EHOSTUNREACH : UDP_ERR.EINVAL;
  }

  /**
   * The next datagram (at most `max` bytes of it; the rest is discarded, as BSD without MSG_PEEK),
   * waiting up to `timeoutNs`: { data, ip, port }, a negative error, or null on timeout.
   */
  *recvfrom(fd: number, max: number, timeoutNs = Number.POSITIVE_INFINITY): G<{ readonly data: Uint8Array; readonly ip: number; readonly port: number } | number | null> {
    const e = this.fds.get(fd);
    if (e === undefined || e.kind !== 'udp') return UDP_ERR.EBADF;
    const s = e.s;
    this.ctx.spend(this.c.socketCallCycles, 'soreceive');
    const start = yield* this.now();
    for (;;) {
      const now = yield* this.now();
      yield* s.input(now);
      const d = s.sock.recvFrom();
      if (typeof d === 'string') return errOf(d);
      if (d !== null) {
        const data = d.data.length > max ? d.data.subarray(0, max) : d.data;
        this.ctx.spend(this.c.copyCyclesPerByte * data.length, 'soreceive');
        return { data, ip: d.srcIp, port: d.srcPort };
      }
      if (now - start >= timeoutNs) return null;
      if (s.ch.available() > 0) continue;
      if (this.link === 'an1') yield* s.ch.rxDone();
      const left = timeoutNs - (now - start);
      const r = left === Number.POSITIVE_INFINITY ? yield* sys.semaphore_wait({ sem: s.ch.grant.sem }) : yield* sys.semaphore_timedwait({ sem: s.ch.grant.sem, ns: Math.max(1000, Math.ceil(left)) });
      if (r.kr !== KERN.SUCCESS && r.kr !== KERN.OPERATION_TIMED_OUT) return UDP_ERR.ECONNRESET; // the channel was revoked
    }
  }

  private *closeSocket(s: LibUdpSocket): G<void> {
    s.sock.close();
    // Revocation unmaps the region from this task and frees it (kernel/netio); the registry sees the channel's death.
    yield* sys.net_channel_close({ channel: s.channel });
  }

  /** Close: the channel goes, and with it the port (the registry frees it on the channel's death). */
  *close(fd: number): G<number> {
    const e = this.fds.get(fd);
    if (e === undefined) return UDP_ERR.EBADF;
    this.fds.delete(fd);
    if (e.kind === 'udp') yield* this.closeSocket(e.s);
    return 0;
  }
}
