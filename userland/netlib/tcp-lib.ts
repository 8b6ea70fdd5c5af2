/**
 * The protocol library linked into applications (P §3.2): a BSD-like socket interface over the
 * engine (userland/inet), one engine instance per connection driven from the connection's own
 * channel — the channel IS the connection, so arriving frames need no protocol-control-block
 * lookup — with frames read from and built in the channel's shared region and sent with net_send.
 *
 * Connection set-up goes through the registry server (REG_MSG requests; the grant carries the
 * channel's send right, region, semaphore and the TCB snapshot, which the library imports).
 * Normal close is done here: FIN exchange, then RELEASE to the registry (which holds TIME-WAIT).
 *
 * Threads (P §3.2: "multiple threads of control and synchronization are provided by user-level
 * C Thread primitives rather than kernel primitives"): each connection has a network C-thread
 * (userland/cthreads/pool.ts) that runs the connection's input — the upcall — and its timers,
 * sends what results, broadcasts the connection's condition, and waits for the channel's
 * semaphore with the engine's next deadline (the TCP timers run on the user-level clock).
 * Application calls (write, read, close) run the engine's output side themselves and wait on the
 * condition; the engine is touched under a C-Threads mutex. No kernel semaphore between the
 * library's own threads: a task's kernel thread traps only when none of its C-threads can run,
 * and then on the channel's semaphore (the network I/O module's notification). While the
 * application's kernel thread is blocked in the kernel outside the library, the task's upcall
 * kernel thread waits on that semaphore instead (CthreadPool.beforeBlocking). See docs/library.md.
 *
 * Costs: every protocol step is charged with ctx.spend from LIB_COSTS (userland/netlib/costs.ts,
 * mirrored in the cost table as lib.*): socket call, user copy, TCP/IP/link per segment, checksum
 * per byte. Data reaches the region once (the user copy on write) and leaves it once (the user
 * copy on read); the frame built in the transmit area is charged only for its headers.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestContext } from '../../kernel/abi/guest.ts';
import { MSG_TYPE, PORT_RIGHT, VM_PROT, type MsgItem, type PortName, type ReceivedMsg } from '../../kernel/abi/message.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { NETIO_ROUTE_BYTES } from '../../kernel/abi/netio.ts';
import { HostStack, chargeInput, chargeOutput, type TcpSocket, type TcpSnapshot } from '../inet/index.ts';
import { receive, rpc, send } from '../mach/ipc.ts';
import { sys } from '../mach/syscalls.ts';
import { libCosts, type LibCostName } from './costs.ts';
import { xorshift } from './frames.ts';
import { RawChannel } from './raw-channel.ts';
import { CthreadPool, cthreadAware, PoolCondition, PoolMutex, type PoolThread } from '../cthreads/pool.ts';
import { UserClock } from './user-clock.ts';
import { openRegistryLink, serviceRequest } from './service-link.ts';
import { encodeSnapshot, macHi, macJoin, macLo, parseGrant, parsePass, passItems, REG_ERR, REG_MSG, type GrantWords } from './registry-proto.ts';
import { POLL, POLL_FDS_MAX, type PollFd } from './socket-api.ts';
import type { SharedFds } from './fork.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

export const SOCK_ERR = { EBADF: -9, EINVAL: -22, ENOTCONN: -57, EPIPE: -32, ECONNRESET: -54, ETIMEDOUT: -60, ECONNREFUSED: -61, EADDRINUSE: -48, ENOBANDWIDTH: -2710 } as const;

/** One established connection in this task. */
export class LibConn {
  readonly stack: HostStack;
  readonly sock: TcpSocket;
  readonly ch: RawChannel;
  private unreturned = 0;
  /** Guards the engine and the channel's transmit pages (held between traps only). */
  readonly mu = new PoolMutex('conn');
  /** Signalled by the network thread after each input pass: what application calls wait on. */
  readonly cond = new PoolCondition('conn');
  /** Conditions of poll/select calls watching this connection, broadcast with `cond`. */
  readonly watchers = new Set<PoolCondition>();
  /**
   * Rerouting (docs/reroute.md): the route generation this connection last took from its control
   * page, and the route (link-header destination bytes) its frames carry since; undefined while
   * the connection keeps the route it was granted.
   */
  private routeGen = 0;
  private route: Uint8Array | undefined = undefined;
  /** Reroutes this connection has taken up. */
  reroutesSeen = 0;
  /** The connection's network C-thread (start()). */
  net: PoolThread | undefined = undefined;
  /** The network thread should exit (close, pass); the channel is gone (revoked). */
  stopped = false;
  dead = false;
  /** The network thread has left its loop (it will touch neither the engine nor the channel again). */
  netExited = false;
  constructor(
    private readonly lib: TcpLib,
    readonly grant: { readonly channel: PortName; readonly w: GrantWords },
    now: number,
    snap: TcpSnapshot,
  ) {
    const w = grant.w;
    const link = lib.link;
    this.ch = new RawChannel(lib.ctx, { channel: grant.channel, address: w.address, sem: w.sem });
    this.stack = new HostStack({
      link, mac: macJoin(w.localMacHi, w.localMacLo), ip: w.localIp >>> 0, random: xorshift(lib.seed ^ snap.iss),
      tcp: { mslNs: lib.mslNs }, arp: { entryTimeoutNs: 1e15 },
    });
    this.stack.arp.insert(now, snap.endpoints.remoteIp, macJoin(w.peerMacHi, w.peerMacLo));
    lib.ctx.spend(lib.c.tcbTransferCycles);
    const s = this.stack.importConnection(now, snap);
    if (typeof s === 'string') throw new Error(`import failed: ${s}`);
    this.sock = s;
    if (link === 'an1') {
      s.an1.txDstBqi = w.peerBqi;
      s.an1.txSpare = w.bqi;
    }
  }

  /** Run `fn` on the engine holding the connection's mutex (a C-Threads lock + unlock; never across a trap). */
  locked<T>(fn: () => T): T {
    return this.lib.pool.withLock(this.mu, fn);
  }

  /** Send every frame the engine produced. */
  *flush(): G<number> {
    return yield* this.sendFrames(this.locked(() => this.stack.takeFrames()));
  }

  /** Send `frames` (taken from the engine under the mutex), one transmit page each, round robin. */
  *sendFrames(frames: readonly Uint8Array[]): G<number> {
    const c = this.lib.c;
    let kr: number = KERN.SUCCESS;
    // The registry may have rerouted the channel (its control page says so): the new route goes
    // over each frame's destination bytes before it is written (part of building the header).
    const gen = frames.length > 0 ? this.ch.routeGen() : this.routeGen;
    if (gen !== this.routeGen) {
      this.routeGen = gen;
      this.route = this.ch.route(NETIO_ROUTE_BYTES[this.lib.link]);
      this.reroutesSeen++;
    }
    for (const f of frames) {
      chargeOutput(this.lib.spendLayer, c, f, this.lib.link === 'an1' ? 20 : 14);
      if (this.route !== undefined) f.set(this.route, 0);
      // A page no frame in flight still reads from (AN1 DMAs the body after net_send returns).
      const w0 = this.ch.txPageWaits;
      const at = yield* this.ch.claimTxPageWait();
      this.lib.txPageWaits += this.ch.txPageWaits - w0;
      if (at < 0) return KERN.INVALID_ARGUMENT; // a channel without transmit pages
      // The payload already sits in the region's socket buffer (charged at write); only headers are built here.
      this.lib.ctx.mem.writeBytes(this.ch.grant.address + at, f);
      kr = yield* this.ch.sendFromPage(at, f.length);
      this.unreturned = 0; // net_send hands consumed AN1 slots back (piggy-back)
      this.lib.framesSent++;
    }
    return kr;
  }

  /** Process every frame in the ring (the upcall), then due timers; send what results. Returns frames processed. */
  *input(now: number): G<number> {
    const c = this.lib.c;
    const an1 = this.lib.link === 'an1';
    const { n, frames } = this.locked(() => {
      const n = this.ch.available();
      for (let k = 0; k < n; k++) {
        const s = this.ch.peek();
        if (s.length > 0) {
          const f = this.ch.read(s.offset, s.length);
          chargeInput(this.lib.spendLayer, c, f, an1 ? 20 : 14);
          const k = this.stack.counters;
          const bad0 = k.linkErrors + k.ipBadHeader + k.tcpBadSegment;
          this.stack.receiveFrame(now, f);
          this.lib.framesReceived++;
          this.lib.badFramesIn += k.linkErrors + k.ipBadHeader + k.tcpBadSegment - bad0;
        }
        this.ch.consume();
      }
      const due = this.stack.pollAt();
      if (due !== null && due <= now) this.stack.poll(now);
      return { n, frames: this.stack.takeFrames() };
    });
    this.unreturned += n;
    yield* this.sendFrames(frames);
    // AN1: consumed slots ride back on the next net_send; net_rx_done only when half the ring
    // waits to go back, or on a pass that received nothing (a timer's).
    if (an1 && this.unreturned > 0 && (this.unreturned >= this.ch.rxSlots / 2 || n === 0)) {
      yield* this.ch.rxDone();
      this.unreturned = 0;
    }
    return n;
  }

  /**
   * Fork the connection's network C-thread (P §3.2: "network packet arrival notification is done
   * via a lightweight semaphore that a library thread is waiting on"; "separate threads per
   * connection that are upcalled"): it runs the connection's input — the upcall: the channel is
   * the connection, no control-block lookup — and the due timers, sends what results, broadcasts
   * the connection's condition to the application calls waiting on it, and waits for the
   * channel's semaphore with the engine's next deadline (a `kwait`: the task's kernel thread traps
   * on the semaphore only when no C-thread of the task can run). No trap here.
   */
  start(): void {
    const conn = this;
    const lib = this.lib;
    this.net = lib.pool.fork(function* () {
      while (!conn.stopped) {
        const now = yield* lib.now();
        yield* conn.input(now);
        yield* lib.pool.broadcast(conn.cond);
        if (conn.watchers.size > 0) for (const wc of [...conn.watchers]) yield* lib.pool.broadcast(wc);
        if (conn.stopped || conn.ch.available() > 0) continue;
        const due = conn.locked(() => conn.stack.pollAt());
        const deadline = due === null ? Number.POSITIVE_INFINITY : due;
        const r = (yield { pool: 'kwait', sem: conn.ch.grant.sem, deadlineNs: deadline }) as { readonly kr: number };
        if (deadline - now > 100_000_000_000) lib.clockMayHaveWrapped();
        lib.ctx.spend(lib.c.upcallCycles);
        if (r.kr !== KERN.SUCCESS && r.kr !== KERN.OPERATION_TIMED_OUT) {
          conn.dead = true; // the channel was revoked (or passed away): nothing more arrives here
          break;
        }
      }
      conn.netExited = true;
      yield* lib.pool.broadcast(conn.cond);
      for (const wc of [...conn.watchers]) yield* lib.pool.broadcast(wc);
    });
  }

  /**
   * Before an application call decides output: frames that reached the ring, or a timer that fell
   * due, while no kernel thread of the task ran the network C-thread (the application was outside
   * the library: computing, or asleep in the kernel) are run now, on the caller's thread — the
   * same input pass the network C-thread makes, under the same mutex. When there is nothing it
   * costs one read of the ring's head: the timer is read from the network C-thread's kwait
   * deadline (the engine's next deadline as the C-thread last saw it; an application call that
   * moved it earlier has advanced it), without the mutex (with it, for a C-thread that has not
   * waited yet). Without it a write acts on a stale engine: an ACK waiting in the ring leaves
   * snd_una behind, and Nagle (RFC 896) holds a small write until the next full segment (a sender
   * that slept between 1-byte writes had them held for seconds). In 4.3BSD the ACK was taken at
   * interrupt time; in the paper's library its network thread is upcalled on the semaphore (P §3.2).
   */
  *catchUp(now: number): G<void> {
    const net = this.net;
    // 'running': the C-thread is in the middle of its own pass (trapped in a send); 'wait', 'done': it is leaving.
    if (this.stopped || this.dead || this.netExited || net === undefined || (net.state !== 'kwait' && net.state !== 'ready')) return;
    // A C-thread that has not waited yet (forked, never run: an application that never waited) has no deadline on record.
    const due = net.state === 'kwait' ? net.deadlineNs : (this.locked(() => this.stack.pollAt()) ?? Number.POSITIVE_INFINITY);
    if (this.ch.available() === 0 && due > now) return;
    yield* this.input(now);
    yield* this.lib.pool.broadcast(this.cond);
  }

  /** After the application sent something: the network thread's wait gets the engine's earlier deadline. */
  *kickIfEarlier(): G<void> {
    const due = this.locked(() => this.stack.pollAt());
    if (due !== null && this.net !== undefined) yield* this.lib.pool.advanceDeadline(this.net, due);
  }

  /** An application call waits for the network thread (at most maxNs); false when the connection's channel is gone. */
  *wait(maxNs = Number.POSITIVE_INFINITY): G<boolean> {
    if (this.dead || this.netExited) return false;
    const deadline = maxNs === Number.POSITIVE_INFINITY ? maxNs : (yield* this.lib.now()) + Math.max(1000, Math.ceil(maxNs));
    yield* this.lib.pool.wait(this.cond, deadline, this.net);
    return !this.dead;
  }

  /**
   * Stop the network thread (close, pass) and wait until it has left its loop, so that nothing
   * runs the engine or reads the ring behind the caller's back (a TCB exported for passing is the
   * last word).
   */
  *stop(): G<void> {
    this.stopped = true;
    if (this.net !== undefined) yield* this.lib.pool.endKwait(this.net);
    while (!this.netExited) yield* this.lib.pool.wait(this.cond, Number.POSITIVE_INFINITY, this.net);
  }
}

export class TcpLib {
  readonly c: Record<LibCostName, number>;
  readonly link: 'ethernet' | 'an1';
  readonly mslNs: number;
  readonly seed: number;
  private readonly fds = new Map<number, { kind: 'new'; port: number } | { kind: 'listen'; port: number; pre?: PreAccept } | { kind: 'conn'; conn: LibConn }>();
  /** poll/select calls that started a pre-accept thread (a kernel thread blocked in ACCEPT). */
  preAcceptsTotal = 0;
  nextFd = 3;
  /** Descriptors of connections shared across fork, served by the registry (fork.ts; undefined until a fork). */
  shared: SharedFds | undefined = undefined;
  framesSent = 0;
  /** Frames the engine refused as malformed (bad checksum, bad header): corruption between two libraries. */
  badFramesIn = 0;
  /** Closes not finished within the linger time, handed to the registry to finish. */
  closesHandedOver = 0;
  /** Times a sender slept because every transmit page of its connection still had a frame in flight. */
  txPageWaits = 0;
  framesReceived = 0;
  private readonly clock: UserClock;
  /** The task's C-threads as this library uses them (userland/cthreads/pool.ts): network threads, conditions, mutexes. */
  readonly pool: CthreadPool;
  /** Set by connect/accept: the last set-up's phases (µs). */
  lastSetup: { totalUs: number; registry: GrantWords | undefined; importUs: number } = { totalUs: 0, registry: undefined, importUs: 0 };

  private constructor(
    readonly ctx: GuestContext,
    readonly registry: PortName,
    readonly replyPort: PortName,
    readonly taskPort: PortName,
  ) {
    const p = ctx.params;
    this.c = libCosts(p);
    this.link = p['link'] === 'an1' ? 'an1' : 'ethernet';
    this.mslNs = typeof p['mslNs'] === 'number' ? p['mslNs'] : 30_000_000_000;
    this.seed = (typeof p['seed'] === 'number' ? p['seed'] : 7) ^ ctx.taskId;
    this.clock = new UserClock(ctx.mem, UserClock.pageOf(p));
    this.pool = new CthreadPool(ctx, () => this.now());
  }

  /** A protocol layer's cycles, charged under the layer's name (per-layer accounting, mb93-layers). */
  readonly spendLayer = (cycles: number, category: string): void => this.ctx.spend(cycles, category);

  /** Find the registry server (bootstrap) and set up the library; undefined if there is none. */
  static *init(ctx: GuestContext): G<TcpLib | undefined> {
    const l = yield* openRegistryLink();
    return l === undefined ? undefined : new TcpLib(ctx, l.server, l.replyPort, l.taskPort);
  }

  /** The user-level clock (userland/netlib/user-clock.ts: the AN1 clock page, else a trap). */
  *now(): G<number> {
    return yield* this.clock.now();
  }

  /** After a wait that may have outlasted the clock's wrap: the next now() re-synchronises. */
  clockMayHaveWrapped(): void {
    this.clock.mayHaveWrapped();
  }

  conn(fd: number): LibConn | undefined {
    const e = this.fds.get(fd);
    return e?.kind === 'conn' ? e.conn : undefined;
  }

  socket(): number {
    const fd = this.nextFd++;
    this.fds.set(fd, { kind: 'new', port: 0 });
    return fd;
  }

  bind(fd: number, port: number): number {
    const e = this.fds.get(fd);
    if (e === undefined || e.kind !== 'new') return SOCK_ERR.EBADF;
    e.port = port;
    return 0;
  }

  private *request(id: number, values: number[]) {
    return yield* serviceRequest({ server: this.registry, replyPort: this.replyPort, taskPort: this.taskPort }, id, values);
  }

  *listen(fd: number, backlog = 5): G<number> {
    const e = this.fds.get(fd);
    if (e === undefined || e.kind !== 'new' || e.port === 0) return SOCK_ERR.EINVAL;
    this.ctx.spend(this.c.socketCallCycles);
    const r = yield* this.request(REG_MSG.LISTEN, [e.port, backlog]);
    const it = r.msg?.items[0];
    const kr = it?.type === 'int32' ? (it.values[0] ?? -1) : r.kr;
    if (kr !== KERN.SUCCESS) return kr === REG_ERR.ADDR_IN_USE ? SOCK_ERR.EADDRINUSE : SOCK_ERR.EINVAL;
    this.fds.set(fd, { kind: 'listen', port: e.port });
    return 0;
  }

  private *adopt(t0: number, r: { kr: number; msg: ReceivedMsg | undefined }): G<number> {
    const g = parseGrant(r.msg);
    if (typeof g === 'number') {
      return g === REG_ERR.ADDR_IN_USE ? SOCK_ERR.EADDRINUSE : g === REG_ERR.TIMED_OUT ? SOCK_ERR.ETIMEDOUT : g === REG_ERR.CONN_REFUSED ? SOCK_ERR.ECONNREFUSED : g === REG_ERR.NO_BANDWIDTH ? SOCK_ERR.ENOBANDWIDTH : SOCK_ERR.EINVAL;
    }
    const t1 = yield* this.now();
    const conn = new LibConn(this, g, t1, g.snap);
    yield* conn.flush();
    conn.start();
    const t2 = yield* this.now();
    this.lastSetup = { totalUs: Math.round((t2 - t0) / 1000), registry: g.w, importUs: Math.round((t2 - t1) / 1000) };
    const fd = this.nextFd++;
    this.fds.set(fd, { kind: 'conn', conn });
    return fd;
  }

  /** The descriptors of established connections (fork: each is shared). */
  connFds(): number[] {
    return [...this.fds].flatMap(([fd, e]) => (e.kind === 'conn' ? [fd] : []));
  }

  /**
   * Fork (fork.ts): take connection `fd` out of this table — its network thread stopped, the frames
   * left in its ring run — and export its TCB; the caller hands both to the registry.
   */
  *detach(fd: number): G<{ conn: LibConn; snap: TcpSnapshot } | undefined> {
    const conn = this.conn(fd);
    if (conn === undefined) return undefined;
    yield* conn.stop();
    if (!conn.dead) yield* conn.input(yield* this.now());
    this.ctx.spend(this.c.tcbTransferCycles);
    const snap = conn.stack.exportConnection(conn.sock);
    this.fds.delete(fd);
    return { conn, snap };
  }

  /**
   * Connection passing (P §3.2, inetd → daemon): move an established connection to the task that
   * holds the receive right `dest`, by one ordinary Mach message — the channel's, the region's and
   * the semaphore's send rights (all MOVE_SEND) and the TCB — then unmap the region here. This task
   * keeps nothing: its names for the three are gone, so the channel cannot be used from here any
   * more. Neither the registry server nor the network I/O module is involved; frames arriving in
   * transit wait in the ring (the semaphore counts the signals) for the receiver.
   */
  *pass(fd: number, dest: PortName): G<number> {
    const conn = this.conn(fd);
    if (conn === undefined) return SOCK_ERR.EBADF;
    yield* conn.stop();
    this.ctx.spend(this.c.tcbTransferCycles);
    const snap = conn.stack.exportConnection(conn.sock);
    this.fds.delete(fd);
    const kr = yield* send(dest, REG_MSG.PASS, passItems(conn.ch.grant.channel, conn.grant.w, snap));
    if (kr !== KERN.SUCCESS) return kr; // the rights stay here; the connection is dropped with the task
    yield* sys.vm_deallocate({ address: conn.ch.grant.address, size: conn.grant.w.regionBytes });
    return KERN.SUCCESS;
  }

  /**
   * Receive a connection passed with `pass` on `port` (a receive right of this task): map the
   * region by its memory-object right (vm_map), and resume the connection from the TCB. A new fd
   * or a negative error.
   */
  *receivePassed(port: PortName): G<number> {
    const r = yield* receive(port);
    const g = parsePass(r.msg);
    if (typeof g === 'number') return SOCK_ERR.EINVAL;
    const m = yield* sys.vm_map({ object: g.w.region, offset: 0, size: g.w.regionBytes, address: 0, anywhere: true, prot: VM_PROT.DEFAULT });
    if (m.kr !== KERN.SUCCESS) return SOCK_ERR.EBADF;
    const t = yield* this.now();
    const conn = new LibConn(this, { channel: g.channel, w: { ...g.w, address: m.address } }, t, g.snap);
    yield* conn.flush();
    conn.start(); // its first input runs the frames that reached the ring in transit
    const fd = this.nextFd++;
    this.fds.set(fd, { kind: 'conn', conn });
    return fd;
  }

  /**
   * Accept one connection on a listening socket: a new fd (or a negative error). `rate`: a
   * reservation for the connection in wire bytes/s (0: best effort), as for connect.
   */
  *accept(fd: number, rate = 0): G<number> {
    const e = this.fds.get(fd);
    if (e === undefined || e.kind !== 'listen') return SOCK_ERR.EINVAL;
    this.ctx.spend(this.c.socketCallCycles);
    const pre = e.pre;
    if (pre !== undefined) {
      // A poll started an ACCEPT on its own thread: take its result (waiting for it if needed).
      while (pre.results.length === 0 && pre.inflight) yield* this.pool.wait(pre.cond);
      const r = pre.results.shift();
      if (r !== undefined) return r;
    }
    const t0 = yield* this.now();
    return yield* this.adopt(t0, yield* this.request(REG_MSG.ACCEPT, rate !== 0 ? [e.port, rate] : [e.port]));
  }

  /**
   * Active open: fd becomes connected (returns 0) or a negative error. `rate`: a reservation for
   * the connection's channel in wire bytes/s (P §3.5; the registry admits it against the link's
   * reservable capacity, else REG_ERR.NO_BANDWIDTH); 0: best effort, a share of what is unreserved.
   */
  *connect(fd: number, ip: number, port: number, rate = 0): G<number> {
    const e = this.fds.get(fd);
    if (e === undefined || e.kind !== 'new') return SOCK_ERR.EINVAL;
    this.ctx.spend(this.c.socketCallCycles);
    const t0 = yield* this.now();
    const r = yield* this.request(REG_MSG.CONNECT, rate !== 0 ? [ip >>> 0, port, e.port, rate] : [ip >>> 0, port, e.port]);
    const nfd = yield* this.adopt(t0, r);
    if (nfd < 0) return nfd;
    const ent = this.fds.get(nfd)!;
    this.fds.delete(nfd);
    this.fds.set(fd, ent);
    return 0;
  }

  /**
   * poll(2) over this task's library sockets (issue 17 item 2; docs/library.md "select and poll"):
   * one application thread waits until any of several sockets is ready. A connection is readable
   * when data, end of stream or an error is there (read would not block), writable when its send
   * buffer has room (or an error: write would not block); ERR on a reset / timed-out / refused
   * connection, HUP once it is reset or the peer's FIN arrived after our own shutdown (nothing
   * more can move); a listening socket is readable when an accepted connection waits for accept();
   * a descriptor not open gives NVAL; an unconnected socket HUP. Returns the revents per entry, or
   * EINVAL for bad arguments (not an array, more than POLL_FDS_MAX entries, a non-integer fd,
   * unknown event bits, a negative or NaN timeout).
   *
   * The wait is the library's own structure: a PoolCondition of this call is added to each polled
   * connection's watchers, which its network C-thread broadcasts after every input pass; the
   * caller waits on it with the connections' network C-threads as the `any` set, so when no
   * C-thread can run its kernel thread sleeps in one `semaphore_wait_any` on all their channel
   * semaphores (userland/cthreads/pool.ts). A listener's pending connection lives in the registry
   * until ACCEPT, so polling a listener for IN starts a pre-accept: a kernel thread of the task
   * (thread_create) makes the ACCEPT RPC on a reply port of its own, adopts the connection, queues
   * its fd for accept() and broadcasts the listener's watchers, then exits.
   */
  *poll(fds: readonly PollFd[], timeoutNs = Number.POSITIVE_INFINITY): G<number[] | number> {
    if (!Array.isArray(fds) || fds.length > POLL_FDS_MAX) return SOCK_ERR.EINVAL;
    if (typeof timeoutNs !== 'number' || !(timeoutNs >= 0)) return SOCK_ERR.EINVAL;
    const known = POLL.IN | POLL.OUT | POLL.ERR | POLL.HUP;
    for (const f of fds as readonly unknown[]) {
      if (typeof f !== 'object' || f === null) return SOCK_ERR.EINVAL;
      const { fd, events } = f as { fd?: unknown; events?: unknown };
      if (!Number.isSafeInteger(fd) || !Number.isSafeInteger(events) || ((events as number) & ~known) !== 0) return SOCK_ERR.EINVAL;
    }
    this.ctx.spend(this.c.socketCallCycles, 'select');
    const cond = new PoolCondition('poll');
    const watched: Set<PoolCondition>[] = [];
    const conns: LibConn[] = [];
    for (const f of fds) {
      const e = this.fds.get(f.fd);
      if (e?.kind === 'conn') {
        if (!conns.includes(e.conn)) conns.push(e.conn);
        e.conn.watchers.add(cond);
        watched.push(e.conn.watchers);
      } else if (e?.kind === 'listen' && (f.events & POLL.IN) !== 0) {
        const pre = (e.pre ??= { inflight: false, results: [], cond: new PoolCondition('accept'), watchers: new Set(), replyPort: 0 });
        pre.watchers.add(cond);
        watched.push(pre.watchers);
        if (!pre.inflight && pre.results.length === 0) yield* this.startPreAccept(f.fd, e.port, pre);
      }
    }
    try {
      const start = yield* this.now();
      const deadline = timeoutNs === Number.POSITIVE_INFINITY ? timeoutNs : start + timeoutNs;
      for (;;) {
        const now = yield* this.now();
        for (const c of conns) yield* c.catchUp(now);
        const rev = fds.map((f) => this.revents(f));
        if (rev.some((x) => x !== 0) || now >= deadline) return rev;
        const nets = conns.filter((c) => !c.stopped && !c.dead && !c.netExited && c.net !== undefined).map((c) => c.net!);
        if (!(yield* this.pool.wait(cond, deadline, undefined, nets))) {
          // Our deadline (the next pass returns), or the task is going away: one more look.
          if ((yield* this.now()) < deadline) return fds.map((f) => this.revents(f));
        }
      }
    } finally {
      for (const w of watched) w.delete(cond);
    }
  }

  /** One entry's revents (POLL bits) from the state as it is now. */
  private revents(f: PollFd): number {
    const e = this.fds.get(f.fd);
    if (e === undefined) return POLL.NVAL;
    if (e.kind === 'new') return POLL.HUP;
    if (e.kind === 'listen') return (f.events & POLL.IN) !== 0 && e.pre !== undefined && e.pre.results.length > 0 ? POLL.IN : 0;
    const conn = e.conn;
    const s = conn.sock;
    const err = s.error !== null || conn.dead;
    let r = 0;
    if ((f.events & POLL.IN) !== 0 && (s.readableBytes > 0 || s.eof || err)) r |= POLL.IN;
    const canSend = s.state === 'ESTABLISHED' || s.state === 'CLOSE-WAIT';
    if ((f.events & POLL.OUT) !== 0 && (err || (canSend && s.writableBytes > 0))) r |= POLL.OUT;
    if (err) r |= POLL.ERR;
    if (err || s.state === 'CLOSED' || (s.eof && !canSend)) r |= POLL.HUP;
    return r;
  }

  /** A kernel thread that makes one ACCEPT RPC for a polled listener and queues the result for accept(). */
  private *startPreAccept(listenFd: number, port: number, pre: PreAccept): G<void> {
    if (pre.replyPort === 0) {
      const rp = yield* sys.mach_reply_port({});
      if (rp.kr !== KERN.SUCCESS) return;
      pre.replyPort = rp.name;
    }
    pre.inflight = true;
    this.preAcceptsTotal++;
    const lib = this;
    const r = yield* sys.thread_create({
      priority: -1,
      program: function* () {
        const t0 = yield* lib.now();
        const reply = yield* rpc(lib.registry, pre.replyPort, REG_MSG.ACCEPT, [
          { type: 'int32', values: [port] },
          { type: 'port', name: lib.taskPort, disposition: MSG_TYPE.COPY_SEND },
        ]);
        const fd = yield* lib.adopt(t0, reply);
        const l = lib.fds.get(listenFd);
        if (fd >= 0 && (l === undefined || l.kind !== 'listen' || l.pre !== pre)) {
          yield* lib.close(fd); // the listener was closed meanwhile: nobody will accept it
          yield* sys.thread_exit({});
          return;
        }
        pre.results.push(fd);
        pre.inflight = false;
        yield* lib.pool.broadcast(pre.cond);
        for (const wc of [...pre.watchers]) yield* lib.pool.broadcast(wc);
        yield* lib.pool.leaving(); // its network C-thread, if the application's thread is away
        yield* sys.thread_exit({});
      },
    });
    if (r.kr !== KERN.SUCCESS) pre.inflight = false;
  }

  private errOf(conn: LibConn): number {
    const e = conn.sock.error;
    return e === 'ECONNRESET' ? SOCK_ERR.ECONNRESET : e === 'ETIMEDOUT' ? SOCK_ERR.ETIMEDOUT : e === 'ECONNREFUSED' ? SOCK_ERR.ECONNREFUSED : SOCK_ERR.ENOTCONN;
  }

  /** Write all of `data` (blocking while the send buffer is full); bytes written or a negative error. */
  *write(fd: number, data: Uint8Array): G<number> {
    if (this.shared?.has(fd) === true) return yield* this.shared.write(fd, data);
    const conn = this.conn(fd);
    if (conn === undefined) return SOCK_ERR.EBADF;
    this.ctx.spend(this.c.socketCallCycles, 'sosend');
    let off = 0;
    while (off < data.length) {
      const now = yield* this.now();
      yield* conn.catchUp(now);
      if (conn.sock.error !== null) return this.errOf(conn);
      const w = conn.locked(() => {
        const n = conn.sock.write(now, data.subarray(off));
        return typeof n === 'string' ? undefined : { n, frames: conn.stack.takeFrames() };
      });
      if (w === undefined) return SOCK_ERR.EPIPE;
      this.ctx.spend(this.c.copyCyclesPerByte * w.n, 'sosend');
      off += w.n;
      yield* conn.sendFrames(w.frames);
      yield* conn.kickIfEarlier();
      if (off < data.length && !(yield* conn.wait())) return conn.sock.error !== null ? this.errOf(conn) : SOCK_ERR.ECONNRESET;
    }
    return off;
  }

  /** Read up to `max` bytes (blocking until some arrive); empty at end of stream; a negative error. */
  *read(fd: number, max: number, timeoutNs = Number.POSITIVE_INFINITY): G<Uint8Array | number> {
    if (this.shared?.has(fd) === true) return yield* this.shared.read(fd, max);
    const conn = this.conn(fd);
    if (conn === undefined) return SOCK_ERR.EBADF;
    this.ctx.spend(this.c.socketCallCycles, 'soreceive');
    const start = timeoutNs === Number.POSITIVE_INFINITY ? 0 : yield* this.now();
    for (;;) {
      const now = yield* this.now();
      const got = conn.locked(() => (conn.sock.readableBytes > 0 ? { d: conn.sock.read(now, max), frames: conn.stack.takeFrames() } : undefined));
      if (got !== undefined) {
        this.ctx.spend(this.c.copyCyclesPerByte * got.d.length, 'soreceive');
        yield* conn.sendFrames(got.frames); // a window update may be due
        yield* conn.kickIfEarlier();
        return got.d;
      }
      if (conn.sock.error !== null) return this.errOf(conn);
      if (conn.sock.eof) return new Uint8Array(0);
      if (timeoutNs !== Number.POSITIVE_INFINITY && now - start >= timeoutNs) return new Uint8Array(0);
      if (!(yield* conn.wait(timeoutNs === Number.POSITIVE_INFINITY ? timeoutNs : timeoutNs - (now - start)))) return conn.sock.error !== null ? this.errOf(conn) : SOCK_ERR.ECONNRESET;
    }
  }

  /**
   * Rerouting (issue 17 item 3, docs/reroute.md): ask the registry to send this connection's
   * frames to the next hop `hop` from now on (Ethernet: a station address, the peer's own or an
   * approved gateway's; AN1: a DST_SHORT). The request carries the connection's channel right as
   * proof (as RELEASE does); the registry checks it and the hop, and changes the channel's
   * template in the network I/O module. The library takes the new route from the control page
   * before its next frame. Returns 0, or the registry's / module's code (REG_ERR.NOT_OWNER,
   * REG_ERR.NO_ROUTE, REG_ERR.INVALID, NETIO_ERR.*); EBADF for a descriptor that is no connection.
   */
  *reroute(fd: number, hop: number): G<number> {
    const conn = this.conn(fd);
    if (conn === undefined) return SOCK_ERR.EBADF;
    this.ctx.spend(this.c.socketCallCycles);
    const s = conn.sock;
    const r = yield* rpc(this.registry, this.replyPort, REG_MSG.REROUTE, [
      { type: 'int32', values: [s.localPort, s.remoteIp >>> 0, s.remotePort, macHi(hop), macLo(hop)] },
      { type: 'port', name: this.taskPort, disposition: MSG_TYPE.COPY_SEND },
      { type: 'port', name: conn.ch.grant.channel, disposition: MSG_TYPE.COPY_SEND }, // proves we hold the connection
    ]);
    const it = r.msg?.items[0];
    return it?.type === 'int32' ? (it.values[0] ?? -1) : r.kr;
  }

  /** Reroutes the connection on `fd` has taken up (its frames carry the route of the last one), or −1. */
  reroutesSeen(fd: number): number {
    return this.conn(fd)?.reroutesSeen ?? -1;
  }

  *shutdown(fd: number): G<number> {
    if (this.shared?.has(fd) === true) return yield* this.shared.shutdown(fd);
    const conn = this.conn(fd);
    if (conn === undefined) return SOCK_ERR.EBADF;
    const now = yield* this.now();
    const r = conn.locked(() => conn.sock.shutdown(now));
    yield* conn.flush();
    yield* conn.kickIfEarlier();
    return r === null ? 0 : SOCK_ERR.ENOTCONN;
  }

  /**
   * Close: FIN exchange done by the library (P §3.4 "under normal operation, connection shutdown is
   * done by the protocol library"), waiting up to `lingerNs` for TIME-WAIT or CLOSED; then the
   * connection is released to the registry (which holds TIME-WAIT) and the channel closed. A close
   * that has not finished by then (data or FIN unacknowledged: a lossy path) is handed to the
   * registry with its TCB, and the registry's engine finishes it — retransmissions, FIN exchange,
   * TIME-WAIT — as a BSD kernel finishes a closed socket's output; the peer gets every byte.
   */
  *close(fd: number, lingerNs = 2_000_000_000): G<number> {
    if (this.shared?.has(fd) === true) return yield* this.shared.close(fd);
    const e = this.fds.get(fd);
    if (e === undefined) return SOCK_ERR.EBADF;
    this.fds.delete(fd);
    if (e.kind === 'listen') {
      yield* this.request(REG_MSG.UNLISTEN, [e.port]);
      return 0;
    }
    if (e.kind !== 'conn') return 0;
    const conn = e.conn;
    const t0 = yield* this.now();
    conn.locked(() => {
      if (conn.sock.error === null) conn.sock.close(t0);
    });
    yield* conn.flush();
    yield* conn.kickIfEarlier();
    for (;;) {
      const now = yield* this.now();
      const st = conn.sock.state;
      if (st === 'TIME-WAIT' || st === 'CLOSED' || now - t0 >= lingerNs) break;
      if (!(yield* conn.wait(lingerNs - (now - t0)))) break;
    }
    yield* conn.stop();
    const s = conn.sock;
    const items: MsgItem[] = [
      // timeWait = 1 unless the connection is fully closed (TIME-WAIT, or a close that timed out, is held by the registry)
      { type: 'int32', values: [s.localPort, s.remoteIp >>> 0, s.remotePort, s.state === 'CLOSED' ? 0 : 1] },
      { type: 'port', name: this.taskPort, disposition: MSG_TYPE.COPY_SEND },
      { type: 'port', name: conn.ch.grant.channel, disposition: MSG_TYPE.COPY_SEND }, // proves we hold the connection
    ];
    const handOver = s.state !== 'TIME-WAIT' && s.state !== 'CLOSED' && s.error === null;
    if (handOver) {
      // Unfinished: the registry takes the TCB over, so that its engine knows the connection
      // before the channel goes and the peer's next segment reaches the default channel.
      this.ctx.spend(this.c.tcbTransferCycles);
      items.push({ type: 'inline', data: encodeSnapshot(conn.stack.exportConnection(s)) });
    }
    // An RPC either way: the channel right in the message is the proof of ownership, and it must
    // still be alive when the registry reads the message (a right whose port died on the way
    // arrives dead, the RELEASE is refused, and the registry would inherit a connection that was
    // closed cleanly). So the channel is closed only after the registry has answered. The answer
    // comes on a reply port of this close's own (as MIG gives each thread its own): other threads
    // of the task may be waiting for the registry's answers to their requests on the shared one.
    const own = yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE });
    const replyTo = own.kr === KERN.SUCCESS ? own.name : this.replyPort;
    const r = yield* rpc(this.registry, replyTo, REG_MSG.RELEASE, items);
    if (own.kr === KERN.SUCCESS) yield* sys.mach_port_destroy({ name: own.name });
    const it = r.msg?.items[0];
    if (handOver) this.closesHandedOver += it?.type === 'int32' && it.values[0] === KERN.SUCCESS ? 1 : 0;
    yield* sys.net_channel_close({ channel: conn.ch.grant.channel });
    return 0;
  }
}

/**
 * A library application's program: main, then task_exit (as C's exit after main returns), so the
 * connections' network threads end with the task and the registry inherits anything left open.
 * Main runs C-Threads-aware (`cthreadAware`): while it blocks in the kernel outside the library,
 * its connections' network C-threads run on the task's upcall kernel thread (docs/library.md).
 */
export function libMain(main: (ctx: GuestContext) => Generator<TrapRequest, void, TrapResult>): (ctx: GuestContext) => Generator<TrapRequest, void, TrapResult> {
  return function* (ctx) {
    yield* cthreadAware(ctx, main(ctx));
    yield* sys.task_exit({ code: 0 });
  };
}

/** A listener's ACCEPT made ahead of accept() by poll/select (TcpLib.poll). */
interface PreAccept {
  inflight: boolean;
  /** Accepted fds (or negative errors) waiting for accept(). */
  readonly results: number[];
  /** Broadcast when a result arrives (accept() waits on it). */
  readonly cond: PoolCondition;
  /** Conditions of poll calls watching the listener. */
  readonly watchers: Set<PoolCondition>;
  /** The pre-accept thread's own reply port (the task's shared one serves the main thread's RPCs). */
  replyPort: PortName;
}
