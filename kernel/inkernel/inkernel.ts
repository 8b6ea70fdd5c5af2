/**
 * The monolithic (Ultrix-like) baseline: TCP/IP in the kernel behind BSD socket system calls
 * (DESIGN "The three organizations": `write` trap → copyin → TCP → driver). One protocol stack
 * per host — the shared sans-I/O engine, linked in through protocol.ts by studies/ at boot —
 * driven from three places, as 4.3BSD drives its own:
 *
 * - system calls (module 'inkernel', numbers 80–88 in kernel/abi/syscalls.ts), run on the
 *   calling thread: socket layer cost, copyin on send (kernel.copyin charges the copy), the
 *   engine's output, frames to the driver; copyout on recv (kernel.copyout).
 * - the device interrupt: the driver's receive upcall copies each frame into a kernel buffer (an
 *   mbuf: the LANCE by PIO out of the board's buffer, the AN1 from its BQI 0 kernel buffers —
 *   Ultrix's AN1 driver used BQI 0 only, tables.json "systems"), queues it on ipintrq and posts
 *   the network software interrupt (netisr) once per interrupt batch.
 * - netisr (a kernel soft interrupt): engine input per frame, then output, then wake-ups.
 * - TCP timers: one kernel wheel timer at the engine's next deadline, run as a soft interrupt.
 *
 * Blocking (sbwait/sorwakeup): a call that must wait blocks its thread with `kernel.block` and
 * sets `thread.restart` to its own request, so the wake-up re-runs the call inside the kernel
 * without a new trap (as 4.3BSD's sosend/soreceive loop back after sbwait); how far a send got
 * is kept per thread. A waiter is woken only when its condition holds (data, space, connection,
 * error), checked after every input, timer and call — one wake-up per wait, like sorwakeup.
 *
 * Guest input never throws: bad descriptors, ports and user buffers are error codes (EFAULT for
 * a buffer outside the caller's readable/writable pages). A task's sockets are reset (RST) when it
 * dies abnormally and closed (FIN) when it exits; its descriptors are released either way.
 */
import { assert } from '../../emulator/sim/assert.ts';
import { WheelTimer } from '../../emulator/sim/timing-wheel.ts';
import { KERN } from '../abi/errors.ts';
import { VM_PROT } from '../abi/message.ts';
import { SOCK_ERRNO } from '../abi/socket.ts';
import type { SyscallArgs, SyscallResults, TrapRequest } from '../abi/syscalls.ts';
import type { An1Driver } from '../dev/an1/an1-driver.ts';
import type { LanceDriver } from '../dev/lance/lance-driver.ts';
import { BLOCKED, type Kernel, type Task, type Thread } from '../kernel.ts';
import type { InetListener, InetSocket, InetStack, InetStackFactory, InetUdpError, InetUdpSocket } from './protocol.ts';
import type { Sync } from '../dev/sync.ts';

/** poll event bits a caller may ask for: IN, OUT, ERR, HUP (POSIX values; kernel/abi has no poll constants, userland's socket-api.ts POLL mirrors them). */
const POLL_KNOWN = 0x1 | 0x4 | 0x8 | 0x10;
/** Descriptors per task (4.3BSD NOFILE was 64). */
export const INKERNEL_FDS_MAX = 64;
/** ipintrq and the AN1 interface output queue (4.3BSD IFQ_MAXLEN). */
export const IFQ_MAXLEN = 50;
/** Threads blocked in socket calls on one host, at most. */
export const INKERNEL_WAITERS_MAX = 1024;
/** 4.3BSD so_snd.sb_lowat for TCP: a sender waits for this much space (or all it has left to send). */
export const SB_LOWAT = 2048;
/** 4.3BSD SOMAXCONN. */
export const SOMAXCONN = 5;
/** AN1 transmit pages (kernel buffers the controller DMAs frames from). */
const AN1_TX_PAGES = 32;

export interface InKernelConfig {
  readonly link: 'ethernet' | 'an1';
  readonly lance?: LanceDriver;
  readonly an1?: An1Driver;
  /** 48-bit MAC as an integer; the host's IP address. */
  readonly mac: number;
  readonly ip: number;
  /** The protocol engine studies/ links in (userland/inet HostStack). */
  readonly stack: InetStackFactory;
}

type KFile =
  | { kind: 'new'; port: number }
  | { kind: 'listen'; port: number; listener: InetListener }
  | { kind: 'conn'; sock: InetSocket }
  /** UDP (issue 17): unbound until bind, connect or the first sendto. */
  | { kind: 'dgram'; port: number; sock: InetUdpSocket | undefined };

interface Waiter {
  readonly thread: Thread;
  readonly ready: () => boolean;
}

export interface InKernelStats {
  framesIn: number;
  framesOut: number;
  badFramesIn: number;
  ipintrqDrops: number;
  txDrops: number;
  netisrRuns: number;
  timerRuns: number;
  wakeups: number;
  copyFaults: number;
  resetsOnDeath: number;
}

type SockResult = { readonly kr: number; readonly n: number };

export class InKernelNet {
  readonly stack: InetStack;
  readonly stats: InKernelStats = {
    framesIn: 0, framesOut: 0, badFramesIn: 0, ipintrqDrops: 0, txDrops: 0, netisrRuns: 0, timerRuns: 0, wakeups: 0, copyFaults: 0, resetsOnDeath: 0,
  };
  private readonly files = new Map<Task, Map<number, KFile>>();
  private readonly waiters: Waiter[] = [];
  /** A blocked send's progress (bytes taken from the user buffer) or a started connect, per thread. */
  private readonly progress = new Map<Thread, { readonly req: object; done: number }>();
  /** poll's deadline timers, one per thread that ever polled with a timeout. */
  private readonly pollTimers = new WeakMap<Thread, WheelTimer>();
  private readonly ipintrq: Uint8Array[] = [];
  private netisrPosted = false;
  private readonly timer: WheelTimer;
  private timerDeadline = Number.POSITIVE_INFINITY;
  private readonly c: {
    send: number; sendPerByte: number; recv: number; recvPerByte: number; control: number; mbuf: number; netisr: number; callout: number; wakeup: number;
    tcpIn: number; tcpInPerByte: number; tcpOut: number; tcpOutPerByte: number; ipOut: number; ipintr: number; ipintrPerByte: number;
    link: number; memcpySetup: number; memcpyPerByte: number; clusterWrite: number;
    udpSend: number; udpRecv: number; udpOut: number; udpOutPerByte: number; udpIn: number; udpInPerByte: number;
  };
  /** recvfrom calls whose timeout fired (the restarted call returns ETIMEDOUT). */
  private readonly timedOut = new Set<Thread>();
  private readonly linkHeaderBytes: number;
  /** AN1: free kernel transmit pages, pages in flight (oldest first), frames waiting for a page. */
  private readonly an1TxFree: number[] = [];
  private readonly an1TxInFlight: number[] = [];
  private readonly an1Ifq: Uint8Array[] = [];
  /** The size of the last write on each local TCP port: below inkernel.clusterWriteBytes it sits in small mbufs, which tcp_output copies. */
  private readonly lastWriteBytes = new Map<number, number>();

  constructor(
    private readonly kernel: Kernel,
    private readonly config: InKernelConfig,
  ) {
    assert(config.link === 'ethernet' ? config.lance !== undefined : config.an1 !== undefined, 'inkernel: the link needs its driver');
    const costs = kernel.host.costs;
    this.c = {
      send: costs.get('inkernel.sendEntryCycles'),
      sendPerByte: costs.get('inkernel.sendCyclesPerByte'),
      recv: costs.get('inkernel.recvEntryCycles'),
      recvPerByte: costs.get('inkernel.recvCyclesPerByte'),
      control: costs.get('inkernel.controlCallCycles'),
      mbuf: costs.get('inkernel.rxMbufCycles'),
      netisr: costs.get('inkernel.netisrCycles'),
      callout: costs.get('inkernel.calloutCycles'),
      wakeup: costs.get('inkernel.wakeupCycles'),
      tcpIn: costs.get('inkernel.tcpInputCycles'),
      tcpInPerByte: costs.get('inkernel.tcpInputCyclesPerByte'),
      tcpOut: costs.get('inkernel.tcpOutputCycles'),
      tcpOutPerByte: costs.get('inkernel.tcpOutputCyclesPerByte'),
      ipOut: costs.get('inkernel.ipOutputCycles'),
      ipintr: costs.get('inkernel.ipintrCycles'),
      ipintrPerByte: costs.get('inkernel.ipintrCyclesPerByte'),
      link: costs.get('lib.linkCycles'),
      clusterWrite: costs.get('inkernel.clusterWriteBytes'),
      memcpySetup: costs.get('cpu.memcpySetupCycles'),
      memcpyPerByte: costs.get('cpu.memcpyCyclesPerByte'),
      udpSend: costs.get('inkernel.udpSendEntryCycles'),
      udpRecv: costs.get('inkernel.udpRecvEntryCycles'),
      udpOut: costs.get('inkernel.udpOutputCycles'),
      udpOutPerByte: costs.get('inkernel.udpOutputCyclesPerByte'),
      udpIn: costs.get('inkernel.udpInputCycles'),
      udpInPerByte: costs.get('inkernel.udpInputCyclesPerByte'),
    };
    this.linkHeaderBytes = config.link === 'ethernet' ? 14 : 20;
    this.stack = config.stack({ link: config.link, mac: config.mac, ip: config.ip, random: kernel.host.rng.fork('inkernel.tcp'), ...(config.link === 'ethernet' ? { minFrameBytes: 60 } : {}) });
    this.timer = new WheelTimer(`${kernel.host.name}.inkernel.tcp`, () => this.timerFired());
    if (config.link === 'ethernet') {
      const d = config.lance!;
      const self = this;
      d.setReceiveHandler(function* (f): Sync {
        // The interrupt copies the frame out of the board into an mbuf chain it allocates.
        self.kernel.host.cpu.charge(self.c.mbuf, 'driver');
        const buf = new Uint8Array(f.length);
        yield* f.copyTo(buf);
        self.enqueueInput(buf);
      });
      d.onReceiveBatchEnd = () => this.postNetisr();
    } else {
      const d = config.an1!;
      const pool = kernel.createWiredObject(AN1_TX_PAGES);
      assert(pool !== undefined, 'inkernel: no RAM for the AN1 transmit pages');
      this.an1TxFree.push(...pool.physAddrs);
      d.setReceiveHandler(0, {
        frame: (_bqi, _slot, addr, length, status) => {
          // BQI 0: the controller DMAed the frame into a kernel buffer; copy it into an mbuf and re-post the buffer.
          if (status === 0 || status === 3) {
            const ram = this.kernel.host.ram;
            const n = Math.min(length, 4096);
            this.kernel.host.cpu.charge(this.c.mbuf + this.c.memcpySetup + n * this.c.memcpyPerByte, 'driver');
            this.enqueueInput(ram.slice(addr, addr + n));
          }
          d.postBuffers(0, [addr]);
        },
        batchEnd: () => this.postNetisr(),
      });
      d.onTransmitDone((retired) => {
        for (let k = 0; k < retired && this.an1TxInFlight.length > 0; k++) this.an1TxFree.push(this.an1TxInFlight.shift()!);
        this.an1Drain();
      });
    }
    kernel.registerService('socket', (t) => this.socket(t));
    kernel.registerService('bind', (t, r) => this.bind(t, r));
    kernel.registerService('listen', (t, r) => this.listen(t, r));
    kernel.registerService('accept', (t, r) => this.accept(t, r));
    kernel.registerService('connect', (t, r) => this.connect(t, r));
    kernel.registerService('send', (t, r) => this.send(t, r));
    kernel.registerService('recv', (t, r) => this.recv(t, r));
    kernel.registerService('shutdown', (t, r) => this.shutdown(t, r));
    kernel.registerService('close', (t, r) => this.close(t, r));
    kernel.registerService('poll', (t, r) => this.poll(t, r));
    kernel.registerService('socket_dgram', (t) => this.socketDgram(t));
    kernel.registerService('sendto', (t, r) => this.sendto(t, r));
    kernel.registerService('recvfrom', (t, r) => this.recvfrom(t, r));
    kernel.onTaskDeath((task) => {
      const table = this.files.get(task);
      if (table === undefined) return;
      this.files.delete(task);
      // Run at interrupt level: the RSTs and FINs go through the driver on the CPU's time line.
      kernel.postKernelWork(() => this.releaseFiles(table, task.exit?.kind === 'exit'));
    });
  }

  /** Descriptors open on this host (all tasks). */
  get openFiles(): number {
    let n = 0;
    for (const t of this.files.values()) n += t.size;
    return n;
  }
  get blockedThreads(): number {
    return this.waiters.length;
  }

  private now(): number {
    return this.kernel.host.cpu.localNow();
  }
  private charge(cycles: number, category: string): void {
    this.kernel.host.cpu.charge(cycles, category);
  }

  // ---- Input: interrupt → ipintrq → netisr ----------------------------------------------------

  private enqueueInput(frame: Uint8Array): void {
    if (this.ipintrq.length >= IFQ_MAXLEN) {
      this.stats.ipintrqDrops++;
      return;
    }
    this.ipintrq.push(frame);
  }

  private postNetisr(): void {
    if (this.netisrPosted || this.ipintrq.length === 0) return;
    this.netisrPosted = true;
    this.kernel.postKernelWork(() => this.netisr());
  }

  private netisr(): void {
    this.netisrPosted = false;
    this.stats.netisrRuns++;
    const k = this.stack.counters;
    for (let guard = 0; guard < IFQ_MAXLEN && this.ipintrq.length > 0; guard++) {
      const f = this.ipintrq.shift()!;
      // MB93's kernel-column rows, each under its own name: netisr, ipintr, tcp_input.
      this.charge(this.c.netisr, 'netisr');
      const data = tcpDataBytes(f, this.linkHeaderBytes);
      if (data >= -1) this.charge(Math.round(this.c.ipintr + this.c.ipintrPerByte * Math.max(0, data)), 'ipintr');
      if (data >= 0) this.charge(Math.round(this.c.tcpIn + this.c.tcpInPerByte * data), 'tcp_input');
      else if (data === -1) {
        const u = udpDataBytes(f, this.linkHeaderBytes);
        if (u >= 0) this.charge(Math.round(this.c.udpIn + this.c.udpInPerByte * u), 'udp_input');
      }
      const bad0 = k.linkErrors + k.ipBadHeader + k.tcpBadSegment;
      this.stack.receiveFrame(this.now(), f);
      this.stats.framesIn++;
      this.stats.badFramesIn += k.linkErrors + k.ipBadHeader + k.tcpBadSegment - bad0;
    }
    this.afterEngine();
    if (this.ipintrq.length > 0) this.postNetisr();
  }

  private timerFired(): void {
    this.timerDeadline = Number.POSITIVE_INFINITY;
    this.kernel.host.cpu.postSoftInterrupt(() => {
      this.stats.timerRuns++;
      this.charge(this.c.callout, 'timer');
      const now = this.now();
      const due = this.stack.pollAt();
      if (due !== null && due <= now) this.stack.poll(now);
      this.afterEngine();
    });
  }

  /** After any engine activity: frames to the driver, wake-ups whose condition holds, the timer at the next deadline. */
  private afterEngine(): void {
    this.output();
    this.wakeReady();
    const due = this.stack.pollAt();
    const d = due === null ? Number.POSITIVE_INFINITY : Math.max(due, this.now() + 1);
    if (d !== this.timerDeadline) {
      this.kernel.wheel.cancel(this.timer);
      this.timerDeadline = d;
      if (d !== Number.POSITIVE_INFINITY) this.kernel.wheel.arm(this.timer, d);
    }
  }

  // ---- Output: engine → driver ------------------------------------------------------------------

  private output(): void {
    for (const f of this.stack.takeFrames()) {
      // tcp_output, ip_output and the link header, each under its MB93 row's name; the data was
      // copied into the kernel at copyin.
      const data = tcpDataBytes(f, this.linkHeaderBytes);
      if (data >= 0) this.charge(Math.round(this.c.tcpOut + this.c.tcpOutPerByte * data), 'tcp_output');
      // m_copy shares clusters by reference but copies small mbufs: data written in pieces below a
      // cluster is copied again for every segment that carries it (P §4: Ultrix avoids the copy
      // only for writes of 1024 bytes or more).
      if (data > 0 && (this.lastWriteBytes.get(tcpSrcPort(f, this.linkHeaderBytes)) ?? Number.POSITIVE_INFINITY) < this.c.clusterWrite) {
        this.charge(this.c.memcpySetup + data * this.c.memcpyPerByte, 'tcp_output');
      }
      else if (data === -1) {
        const u = udpDataBytes(f, this.linkHeaderBytes);
        if (u >= 0) this.charge(Math.round(this.c.udpOut + this.c.udpOutPerByte * u), 'udp_output');
      }
      if (data >= -1) this.charge(this.c.ipOut, 'ip_output');
      this.charge(this.c.link, 'ether_output');
      this.stats.framesOut++;
      if (this.config.link === 'ethernet') {
        if (!this.config.lance!.transmit(f)) this.stats.txDrops++;
      } else if (this.an1Ifq.length >= IFQ_MAXLEN) {
        this.stats.txDrops++;
      } else {
        this.an1Ifq.push(f);
      }
    }
    if (this.config.link === 'an1') this.an1Drain();
  }

  /** AN1: frames from the interface queue into free kernel transmit pages, DMAed from there. */
  private an1Drain(): void {
    const d = this.config.an1!;
    const ram = this.kernel.host.ram;
    while (this.an1Ifq.length > 0 && this.an1TxFree.length > 0) {
      const f = this.an1Ifq[0]!;
      const page = this.an1TxFree[this.an1TxFree.length - 1]!;
      ram.set(f, page); // the mbuf chain the controller DMAs: its bytes were charged when they were made
      if (!d.transmit(page, f.length)) return; // the board's queue is full: retry at transmit-done
      this.an1Ifq.shift();
      this.an1TxFree.pop();
      this.an1TxInFlight.push(page);
    }
  }

  // ---- Blocking ---------------------------------------------------------------------------------

  /** Block `t` in its socket call until `ready()`; the wake-up re-runs `req` in the kernel. */
  private wait(t: Thread, req: object, ready: () => boolean): SockResult | typeof BLOCKED {
    if (this.waiters.length >= INKERNEL_WAITERS_MAX) return { kr: KERN.RESOURCE_SHORTAGE, n: SOCK_ERRNO.ENOBUFS };
    const w: Waiter = { thread: t, ready };
    this.waiters.push(w);
    t.restart = req as TrapRequest;
    t.waitCancel = () => {
      const i = this.waiters.indexOf(w);
      if (i >= 0) this.waiters.splice(i, 1);
      this.progress.delete(t);
    };
    return this.kernel.block(t, 'sbwait', this.c.wakeup);
  }

  private wakeReady(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i]!;
      if (w.thread.state.kind !== 'blocked') {
        this.waiters.splice(i, 1);
        continue;
      }
      if (!w.ready()) {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      this.stats.wakeups++;
      w.thread.waitCancel = undefined;
      this.kernel.wake(w.thread, { kr: KERN.SUCCESS, n: 0 }); // the restart re-runs the call
    }
  }

  // ---- Descriptors --------------------------------------------------------------------------------

  private table(task: Task): Map<number, KFile> {
    let t = this.files.get(task);
    if (t === undefined) {
      t = new Map();
      this.files.set(task, t);
    }
    return t;
  }

  private file(t: Thread, fd: number): KFile | undefined {
    return this.files.get(t.task)?.get(fd);
  }

  private errnoOf(s: InetSocket): number {
    switch (s.error) {
      case 'ECONNREFUSED': return SOCK_ERRNO.ECONNREFUSED;
      case 'ECONNRESET': return SOCK_ERRNO.ECONNRESET;
      case 'ETIMEDOUT': return SOCK_ERRNO.ETIMEDOUT;
      default: return SOCK_ERRNO.ENOTCONN;
    }
  }

  private newFd(task: Task, f: KFile): number {
    const table = this.table(task);
    if (table.size >= INKERNEL_FDS_MAX) return SOCK_ERRNO.EMFILE;
    for (let fd = 3; fd < 3 + INKERNEL_FDS_MAX; fd++) {
      if (!table.has(fd)) {
        table.set(fd, f);
        return fd;
      }
    }
    return SOCK_ERRNO.EMFILE;
  }

  private portInUse(port: number): boolean {
    for (const table of this.files.values()) for (const f of table.values()) if (f.kind !== 'conn' && f.kind !== 'dgram' && f.port === port) return true;
    return false;
  }

  // ---- System calls --------------------------------------------------------------------------------

  private socket(t: Thread): SockResult {
    this.charge(this.c.control, 'socket');
    return { kr: KERN.SUCCESS, n: this.newFd(t.task, { kind: 'new', port: 0 }) };
  }

  private bind(t: Thread, r: SyscallArgs<'bind'>): SockResult {
    this.charge(this.c.control, 'socket');
    const f = this.file(t, r.fd);
    if (f === undefined) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EBADF };
    if (f.kind === 'dgram') {
      if (f.sock !== undefined || r.port > 65535) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EINVAL };
      return { kr: KERN.SUCCESS, n: this.udpBind(f, r.port) };
    }
    if (f.kind !== 'new' || f.port !== 0 || r.port === 0 || r.port > 65535) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EINVAL };
    if (this.portInUse(r.port)) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EADDRINUSE };
    f.port = r.port;
    return { kr: KERN.SUCCESS, n: 0 };
  }

  private listen(t: Thread, r: SyscallArgs<'listen'>): SockResult {
    this.charge(this.c.control, 'socket');
    const table = this.files.get(t.task);
    const f = table?.get(r.fd);
    if (f === undefined) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EBADF };
    if (f.kind !== 'new' || f.port === 0) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EINVAL };
    const l = this.stack.listen(f.port, Math.max(1, Math.min(r.backlog, SOMAXCONN)));
    if (typeof l === 'string') return { kr: KERN.SUCCESS, n: l === 'EISCONN' ? SOCK_ERRNO.EADDRINUSE : SOCK_ERRNO.EINVAL };
    table!.set(r.fd, { kind: 'listen', port: f.port, listener: l });
    return { kr: KERN.SUCCESS, n: 0 };
  }

  private accept(t: Thread, r: SyscallArgs<'accept'>): SockResult | typeof BLOCKED {
    if (!this.progress.has(t)) this.charge(this.c.control, 'socket');
    this.progress.delete(t);
    const f = this.file(t, r.fd);
    if (f === undefined) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EBADF };
    if (f.kind !== 'listen') return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EINVAL };
    const s = f.listener.accept();
    if (s === null) {
      this.progress.set(t, { req: r, done: 0 });
      const l = f.listener;
      return this.wait(t, r, () => l.pendingCount > 0 || this.file(t, r.fd) !== f);
    }
    const fd = this.newFd(t.task, { kind: 'conn', sock: s });
    if (fd < 0) {
      s.abort(this.now());
      this.afterEngine();
    }
    return { kr: KERN.SUCCESS, n: fd };
  }

  private connect(t: Thread, r: SyscallArgs<'connect'>): SockResult | typeof BLOCKED {
    const table = this.files.get(t.task);
    const f = table?.get(r.fd);
    const restarted = this.progress.get(t)?.req === r;
    this.progress.delete(t);
    if (f === undefined) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EBADF };
    if (f.kind === 'dgram') {
      this.charge(this.c.control, 'socket');
      if (r.port === 0 || r.port > 65535 || r.ip === 0) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EINVAL };
      const b = f.sock === undefined ? this.udpBind(f, 0) : 0;
      if (b < 0) return { kr: KERN.SUCCESS, n: b };
      const e = f.sock!.connect(r.ip >>> 0, r.port);
      return { kr: KERN.SUCCESS, n: e === null ? 0 : udpErrno(e) };
    }
    if (!restarted) {
      this.charge(this.c.control, 'socket');
      if (f.kind === 'conn') return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EISCONN };
      if (f.kind !== 'new' || r.port === 0 || r.port > 65535) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EINVAL };
      const s = this.stack.connect(this.now(), r.ip >>> 0, r.port, f.port !== 0 ? { localPort: f.port } : {});
      if (typeof s === 'string') return { kr: KERN.SUCCESS, n: s === 'EISCONN' ? SOCK_ERRNO.EADDRINUSE : SOCK_ERRNO.EINVAL };
      table!.set(r.fd, { kind: 'conn', sock: s });
      this.afterEngine();
    }
    const g = table!.get(r.fd);
    if (g === undefined || g.kind !== 'conn') return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EBADF };
    const s = g.sock;
    if (s.error !== null) return { kr: KERN.SUCCESS, n: this.errnoOf(s) };
    if (s.isEstablished) return { kr: KERN.SUCCESS, n: 0 };
    if (s.state === 'CLOSED') return { kr: KERN.SUCCESS, n: SOCK_ERRNO.ECONNREFUSED };
    this.progress.set(t, { req: r, done: 0 });
    return this.wait(t, r, () => s.isEstablished || s.error !== null || s.state === 'CLOSED' || this.file(t, r.fd) !== g);
  }

  private send(t: Thread, r: SyscallArgs<'send'>): SockResult | typeof BLOCKED {
    const p0 = this.progress.get(t);
    const prog = p0 !== undefined && p0.req === r ? p0 : { req: r, done: 0 };
    this.progress.delete(t);
    if (prog !== p0) this.charge(this.c.send, 'sosend');
    const f = this.file(t, r.fd);
    if (f === undefined) return { kr: KERN.SUCCESS, n: prog.done > 0 ? prog.done : SOCK_ERRNO.EBADF };
    if (f.kind !== 'conn') return { kr: KERN.SUCCESS, n: SOCK_ERRNO.ENOTCONN };
    const s = f.sock;
    if (this.lastWriteBytes.size < 65_536 || this.lastWriteBytes.has(s.localPort)) this.lastWriteBytes.set(s.localPort, r.length);
    while (prog.done < r.length) {
      if (s.error !== null) return { kr: KERN.SUCCESS, n: prog.done > 0 ? prog.done : this.errnoOf(s) };
      const left = r.length - prog.done;
      const space = s.writableBytes;
      if (space < Math.min(left, SB_LOWAT)) {
        if (s.state === 'CLOSED' || !s.isEstablished) return { kr: KERN.SUCCESS, n: prog.done > 0 ? prog.done : SOCK_ERRNO.EPIPE };
        this.progress.set(t, prog);
        return this.wait(t, r, () => s.writableBytes >= Math.min(r.length - prog.done, SB_LOWAT) || s.error !== null || s.state === 'CLOSED' || this.file(t, r.fd) !== f);
      }
      const k = Math.min(space, left);
      const c = this.kernel.copyin(t.task, r.address + prog.done, k);
      if (c.kr !== KERN.SUCCESS) {
        this.stats.copyFaults++;
        return { kr: KERN.INVALID_ADDRESS, n: SOCK_ERRNO.EFAULT };
      }
      this.charge(Math.round(this.c.sendPerByte * k), 'sosend');
      const n = s.write(this.now(), c.bytes);
      if (typeof n === 'string') return { kr: KERN.SUCCESS, n: prog.done > 0 ? prog.done : SOCK_ERRNO.EPIPE };
      prog.done += n;
      this.afterEngine();
      if (n === 0) break;
    }
    return { kr: KERN.SUCCESS, n: prog.done };
  }

  private recv(t: Thread, r: SyscallArgs<'recv'>): SockResult | typeof BLOCKED {
    this.progress.delete(t);
    // soreceive's fixed path is charged when the call completes (MB93's copyout/exit row is the work
    // after the wake-up), not before a call sleeps: a call that waits pays it once, on its restart.
    const done = (res: SockResult): SockResult => {
      this.charge(this.c.recv, 'soreceive');
      return res;
    };
    const f = this.file(t, r.fd);
    if (f === undefined) return done({ kr: KERN.SUCCESS, n: SOCK_ERRNO.EBADF });
    if (f.kind !== 'conn') return done({ kr: KERN.SUCCESS, n: SOCK_ERRNO.ENOTCONN });
    const s = f.sock;
    if (r.length === 0) return done({ kr: KERN.SUCCESS, n: 0 });
    if (s.readableBytes > 0) {
      const want = Math.min(r.length, s.readableBytes);
      // Check the whole destination first: a fault must not consume the data.
      if (t.task.map.framesOf(r.address, want, VM_PROT.WRITE) === undefined) {
        this.stats.copyFaults++;
        return done({ kr: KERN.INVALID_ADDRESS, n: SOCK_ERRNO.EFAULT });
      }
      this.charge(this.c.recv, 'soreceive');
      const d = s.read(this.now(), want);
      const kr = this.kernel.copyout(t.task, r.address, d);
      assert(kr === KERN.SUCCESS, 'inkernel: copyout after a successful check');
      this.charge(Math.round(this.c.recvPerByte * d.length), 'soreceive');
      this.afterEngine(); // a window update may be due
      return { kr: KERN.SUCCESS, n: d.length };
    }
    if (s.error !== null) return done({ kr: KERN.SUCCESS, n: this.errnoOf(s) });
    if (s.eof || s.state === 'CLOSED') return done({ kr: KERN.SUCCESS, n: 0 });
    this.progress.set(t, { req: r, done: 0 });
    return this.wait(t, r, () => s.readableBytes > 0 || s.eof || s.error !== null || s.state === 'CLOSED' || this.file(t, r.fd) !== f);
  }

  /**
   * poll(2) (issue 17 item 2; the library's TcpLib.poll has the same semantics): a waiter whose
   * condition is "any entry has revents, or the deadline passed", woken by the same check after
   * every input, timer and call as a recv (4.3BSD's select sleeps on selwait and is woken by
   * selwakeup from the same places), plus a kernel timer at the deadline. A restart re-runs the
   * call in the kernel; the deadline is kept in the thread's progress record.
   */
  private poll(t: Thread, r: SyscallArgs<'poll'>): { kr: number; n: number; revents: number[] } | typeof BLOCKED {
    const p0 = this.progress.get(t);
    const restarted = p0 !== undefined && p0.req === r;
    this.progress.delete(t);
    if (!restarted) this.charge(this.c.control, 'select');
    const b = r.fds;
    const count = b.length / 8;
    const bad = { kr: KERN.SUCCESS, n: SOCK_ERRNO.EINVAL, revents: [] as number[] };
    if (!Number.isInteger(count) || count > INKERNEL_FDS_MAX) return bad;
    const entries: { fd: number; events: number }[] = [];
    for (let i = 0; i < count; i++) {
      const fd = b[8 * i]! | (b[8 * i + 1]! << 8) | (b[8 * i + 2]! << 16) | (b[8 * i + 3]! << 24);
      const events = (b[8 * i + 4]! | (b[8 * i + 5]! << 8) | (b[8 * i + 6]! << 16) | (b[8 * i + 7]! << 24)) >>> 0;
      if ((events & ~POLL_KNOWN) !== 0) return bad;
      entries.push({ fd, events });
    }
    const now = this.now();
    const deadline = restarted ? p0.done : r.timed ? now + r.ns : Number.POSITIVE_INFINITY;
    const revents = entries.map((e) => this.revents(t, e.fd, e.events));
    const n = revents.filter((x) => x !== 0).length;
    if (n > 0 || now >= deadline) return { kr: KERN.SUCCESS, n, revents };
    this.progress.set(t, { req: r, done: deadline });
    if (deadline !== Number.POSITIVE_INFINITY) {
      let timer = this.pollTimers.get(t);
      if (timer === undefined) {
        timer = new WheelTimer(`${this.kernel.host.name}.inkernel.poll`, () => this.kernel.host.cpu.postSoftInterrupt(() => {
          this.charge(this.c.callout, 'timer');
          this.wakeReady();
        }));
        this.pollTimers.set(t, timer);
      }
      this.kernel.wheel.cancel(timer);
      this.kernel.wheel.arm(timer, deadline);
    }
    const w = this.wait(t, r, () => this.now() >= deadline || entries.some((e) => this.revents(t, e.fd, e.events) !== 0));
    return w === BLOCKED ? w : { ...w, revents: [] };
  }

  /** One poll entry's revents now (POLL bits: IN 1, OUT 4, ERR 8, HUP 16, NVAL 32). */
  private revents(t: Thread, fd: number, events: number): number {
    const f = this.file(t, fd);
    if (f === undefined) return 0x20;
    if (f.kind === 'new') return 0x10;
    if (f.kind === 'listen') return (events & 0x1) !== 0 && f.listener.pendingCount > 0 ? 0x1 : 0;
    if (f.kind === 'dgram') {
      // A datagram socket (4.3BSD soreadable/sowriteable for UDP): readable with a datagram or a
      // pending error queued, always writable (no send buffer is held), ERR with so_error.
      const u = f.sock;
      const uerr = u !== undefined && u.error !== null;
      let urv = 0;
      if ((events & 0x1) !== 0 && (uerr || (u !== undefined && u.pendingCount > 0))) urv |= 0x1;
      if ((events & 0x4) !== 0) urv |= 0x4;
      if (uerr) urv |= 0x8;
      return urv;
    }
    const s = f.sock;
    const err = s.error !== null;
    const canSend = s.state === 'ESTABLISHED' || s.state === 'CLOSE-WAIT';
    let rv = 0;
    if ((events & 0x1) !== 0 && (s.readableBytes > 0 || s.eof || err)) rv |= 0x1;
    // 4.3BSD sowriteable: room for sb_lowat bytes.
    if ((events & 0x4) !== 0 && (err || (canSend && s.writableBytes >= SB_LOWAT))) rv |= 0x4;
    if (err) rv |= 0x8;
    if (err || s.state === 'CLOSED' || (s.eof && !canSend)) rv |= 0x10;
    return rv;
  }

  private shutdown(t: Thread, r: SyscallArgs<'shutdown'>): SockResult {
    this.charge(this.c.control, 'socket');
    const f = this.file(t, r.fd);
    if (f === undefined) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EBADF };
    if (f.kind !== 'conn') return { kr: KERN.SUCCESS, n: SOCK_ERRNO.ENOTCONN };
    const e = f.sock.shutdown(this.now());
    this.afterEngine();
    return { kr: KERN.SUCCESS, n: e === null ? 0 : SOCK_ERRNO.ENOTCONN };
  }

  /** close: the descriptor goes at once; the kernel finishes the connection (FIN, TIME-WAIT) on its own. */
  private close(t: Thread, r: SyscallArgs<'close'>): SockResult {
    this.charge(this.c.control, 'socket');
    const table = this.files.get(t.task);
    const f = table?.get(r.fd);
    if (f === undefined) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EBADF };
    table!.delete(r.fd);
    this.closeFile(f, true);
    this.afterEngine(); // also wakes other threads of the task blocked on this descriptor
    return { kr: KERN.SUCCESS, n: 0 };
  }

  private closeFile(f: KFile, graceful: boolean): void {
    const now = this.now();
    if (f.kind === 'dgram') f.sock?.close();
    else if (f.kind === 'listen') f.listener.close(now);
    else if (f.kind === 'conn') {
      const s = f.sock;
      if (s.state === 'CLOSED') return;
      if (graceful) s.close(now);
      else {
        s.abort(now);
        this.stats.resetsOnDeath++;
      }
    }
  }

  // ---- UDP (issue 17) ------------------------------------------------------------------------------

  private socketDgram(t: Thread): SockResult {
    this.charge(this.c.control, 'socket');
    return { kr: KERN.SUCCESS, n: this.newFd(t.task, { kind: 'dgram', port: 0, sock: undefined }) };
  }

  /** in_pcbbind: the engine's UDP socket on `port` (0: ephemeral); 0 or a negative errno. */
  private udpBind(f: KFile & { kind: 'dgram' }, port: number): number {
    const s = this.stack.udpBind(port);
    if (typeof s === 'string') return udpErrno(s);
    f.sock = s;
    f.port = s.localPort;
    return 0;
  }

  /** sendto: one datagram, copied in and sent at once (UDP keeps no send buffer: 4.3BSD udp_output). */
  private sendto(t: Thread, r: SyscallArgs<'sendto'>): SockResult {
    this.charge(this.c.udpSend, 'sosend');
    const f = this.file(t, r.fd);
    if (f === undefined) return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EBADF };
    if (f.kind !== 'dgram') return { kr: KERN.SUCCESS, n: SOCK_ERRNO.EINVAL };
    if (f.sock === undefined) {
      const b = this.udpBind(f, 0);
      if (b < 0) return { kr: KERN.SUCCESS, n: b };
    }
    const s = f.sock!;
    const c = this.kernel.copyin(t.task, r.address, r.length);
    if (c.kr !== KERN.SUCCESS) {
      this.stats.copyFaults++;
      return { kr: KERN.INVALID_ADDRESS, n: SOCK_ERRNO.EFAULT };
    }
    const n = r.ip === 0 ? s.sendTo(this.now(), c.bytes) : s.sendTo(this.now(), c.bytes, r.ip >>> 0, r.port);
    this.afterEngine();
    return { kr: KERN.SUCCESS, n: typeof n === 'string' ? udpErrno(n) : n };
  }

  /** recvfrom: the next datagram (blocking, at most timeoutNs when > 0); its source in ip and port. */
  private recvfrom(t: Thread, r: SyscallArgs<'recvfrom'>): SyscallResults['recvfrom'] | typeof BLOCKED {
    const timedOut = this.timedOut.delete(t);
    this.progress.delete(t);
    const f = this.file(t, r.fd);
    const res = (n: number, ip = 0, port = 0) => ({ kr: KERN.SUCCESS, n, ip, port });
    if (f === undefined) return res(SOCK_ERRNO.EBADF);
    if (f.kind !== 'dgram' || f.sock === undefined) return res(SOCK_ERRNO.EINVAL);
    const s = f.sock;
    if (s.pendingCount > 0 || s.error !== null) {
      const d = s.recvFrom();
      this.charge(this.c.udpRecv, 'soreceive');
      if (d === null) return res(SOCK_ERRNO.EINVAL);
      if (typeof d === 'string') return res(udpErrno(d));
      const data = d.data.subarray(0, Math.min(d.data.length, r.length));
      if (data.length > 0 && t.task.map.framesOf(r.address, data.length, VM_PROT.WRITE) === undefined) {
        this.stats.copyFaults++;
        return { kr: KERN.INVALID_ADDRESS, n: SOCK_ERRNO.EFAULT, ip: 0, port: 0 };
      }
      if (data.length > 0) this.kernel.copyout(t.task, r.address, data);
      return res(data.length, d.srcIp, d.srcPort);
    }
    if (timedOut) return res(SOCK_ERRNO.ETIMEDOUT);
    this.progress.set(t, { req: r, done: 0 });
    const w = this.wait(t, r, () => s.pendingCount > 0 || s.error !== null || this.file(t, r.fd) !== f);
    if (w === BLOCKED && r.timeoutNs > 0) {
      t.onTimeout = () => {
        this.timedOut.add(t);
        this.kernel.wake(t, { kr: KERN.SUCCESS, n: 0 }); // the restart returns ETIMEDOUT
      };
      this.kernel.wheel.arm(t.timer, this.now() + r.timeoutNs);
    }
    return w as SyscallResults['recvfrom'] | typeof BLOCKED;
  }

  /** A task died: its descriptors go; connections are reset (abnormal end) or closed (exit). */
  private releaseFiles(table: Map<number, KFile>, exited: boolean): void {
    for (const f of table.values()) this.closeFile(f, exited);
    table.clear();
    this.afterEngine();
  }
}

/** UDP call errors as errno values. */
function udpErrno(e: InetUdpError): number {
  switch (e) {
    case 'EADDRINUSE': return SOCK_ERRNO.EADDRINUSE;
    case 'EMSGSIZE': return SOCK_ERRNO.EMSGSIZE;
    case 'EDESTADDRREQ': return SOCK_ERRNO.EDESTADDRREQ;
    case 'ECONNREFUSED': return SOCK_ERRNO.ECONNREFUSED;
    case 'EHOSTUNREACH': return SOCK_ERRNO.EHOSTUNREACH;
    case 'ENOTCONN': return SOCK_ERRNO.ENOTCONN;
    default: return SOCK_ERRNO.EINVAL;
  }
}

/** The UDP data bytes of an IPv4 frame (−1: not UDP). */
function udpDataBytes(f: Uint8Array, linkHeaderBytes: number): number {
  const ip = linkHeaderBytes;
  if (f.length < ip + 28 || f[ip + 9] !== 17) return -1;
  const ihl = (f[ip]! & 0xf) * 4;
  const total = Math.min((f[ip + 2]! << 8) | f[ip + 3]!, f.length - ip);
  return total >= ihl + 8 ? total - ihl - 8 : -1;
}

/**
 * The TCP data bytes of a frame (for the per-byte part of a layer's cost): ≥ 0 for TCP, −1 for
 * another IPv4 protocol, −2 for anything else (ARP). Reads only what it checks is there.
 */
function tcpDataBytes(f: Uint8Array, linkHeaderBytes: number): number {
  const ip = linkHeaderBytes;
  if (f.length < ip + 20 || f[ip]! >>> 4 !== 4) return -2;
  if (linkHeaderBytes === 14 && ((f[12]! << 8) | f[13]!) !== 0x0800) return -2;
  const ihl = (f[ip]! & 0xf) * 4;
  const total = Math.min((f[ip + 2]! << 8) | f[ip + 3]!, f.length - ip);
  if (f[ip + 9] !== 6 || total < ihl + 20) return -1;
  return Math.max(0, total - ihl - (f[ip + ihl + 12]! >>> 4) * 4);
}

/** The TCP source port of a frame already known to carry TCP (tcpDataBytes ≥ 0). */
function tcpSrcPort(f: Uint8Array, linkHeaderBytes: number): number {
  const tcp = linkHeaderBytes + (f[linkHeaderBytes]! & 0xf) * 4;
  return (f[tcp]! << 8) | f[tcp + 1]!;
}
