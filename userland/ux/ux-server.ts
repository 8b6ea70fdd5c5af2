/**
 * The single trusted server (Mach 3.0 + UX-like; DESIGN "The three organizations", P §1.2): one
 * privileged task, started at boot, that owns ALL of the host's TCP with one engine (HostStack)
 * and reaches the Ethernet through the network I/O module's default channel (shared-memory ring +
 * semaphore + net_send, as the registry does). Applications never touch the network: every socket
 * call is a Mach RPC from their emulation library (ux-sockets.ts) to the client's session port
 * here, with the data inline in the request (write) or the reply (read). Per write:
 * app → mach_msg → server → TCP → net_send → device.
 *
 * Departure (docs/ux.md): the paper's UX36 mapped the LANCE into the server ("mapped Ethernet");
 * here the module's default channel stands in for it — a frame is copied once from the board into
 * the ring either way, and once into the board on output (net_send's PIO); the semaphore signal
 * and the server's input thread wake-up stand for UX's interrupt-to-input-thread hand-off.
 *
 * Threads (two kernel threads sharing this task's state; they interleave only at traps):
 *  - the request thread receives on a port set holding the service port (HELLO and notifications)
 *    and every client's session port (socket calls); a call that cannot finish at once (read with
 *    no data, accept with no connection, connect, a write with a full send buffer) is parked: its
 *    reply right is kept and the thread goes on serving other clients;
 *  - the network thread waits on the default channel's semaphore (timed by the engine's timers and
 *    parked reads' deadlines), feeds frames to the engine, runs timers, sends what results and
 *    answers parked calls whose condition now holds.
 * Rule (as the registry's): a record's state changes before the first trap of any step acting on it.
 *
 * Client death: the server asks for a dead-name notification on each client's task port (sent in
 * HELLO); when it fires, the client's open connections are aborted (RST), its listeners closed,
 * its parked calls dropped and its session port destroyed. Sockets the client had closed stay
 * in the engine until their FIN exchange ends, as in BSD.
 *
 * Bad input never crashes the server: unknown ids, missing or wrong words, foreign fds and
 * oversized data get an error reply; rights and out-of-line memory a request should not carry are
 * released; a request without a reply right is dropped and counted.
 */
import { KERN, MACH_MSG } from '../../kernel/abi/errors.ts';
import type { GuestContext, GuestProgram } from '../../kernel/abi/guest.ts';
import { MACH_MSG_OPTION, MACH_PORT_DEAD, MACH_PORT_NULL, MSG_SIZE_MAX, MSG_TYPE, NOTIFY, PORT_RIGHT, TASK_PORT, type MachMsg, type MsgItem, type PortName, type ReceivedMsg } from '../../kernel/abi/message.ts';
import { encodeChannelSpec } from '../../kernel/abi/netio.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { HostStack, chargeInput, chargeOutput, type TcpListener, type TcpSocket, type UdpCallError, type UdpSocket } from '../inet/index.ts';
import { buildMsg, receive, send } from '../mach/ipc.ts';
import { sys } from '../mach/syscalls.ts';
import { libCosts } from '../netlib/costs.ts';
import { xorshift } from '../netlib/frames.ts';
import { RawChannel } from '../netlib/raw-channel.ts';
import { macJoin } from '../netlib/registry-proto.ts';
import { SOCK_ERR } from '../netlib/tcp-lib.ts';
import { uxCosts } from './costs.ts';
import { UX_IO_MAX, UX_MSG, UX_SERVICE } from './ux-proto.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

/** Receive slots and transmit pages of the default channel (all of the host's frames pass it). */
const RX_SLOTS = 64;
const TX_PAGES = 16;
/** Limits: clients, sockets per client, parked accepts per listener, queued output frames. */
const CLIENTS_MAX = 256;
const FDS_MAX = 256;
const ACCEPTS_MAX = 16;
/** Parked polls per client (each holds a reply right); entries per poll (NOFILE, as the library's). */
const POLLS_MAX = 16;
const POLL_ENTRIES_MAX = 64;
/** poll bits (userland/netlib/socket-api.ts POLL): IN, OUT, ERR, HUP may be asked for; NVAL is reported. */
const POLL_IN = 0x1;
const POLL_OUT = 0x4;
const POLL_ERR = 0x8;
const POLL_HUP = 0x10;
const POLL_NVAL = 0x20;

interface ParkedPoll {
  readonly reply: Reply;
  readonly entries: readonly { readonly fd: number; readonly events: number }[];
  readonly deadline: number;
}

interface Reply {
  readonly name: PortName;
  readonly id: number;
  /** The reply right's type as received (send-once, or send): the disposition to move it back with. */
  readonly disposition: number;
  /**
   * The request thread may send this reply together with its next receive (one mach_msg, as a MIG
   * server loop does: the client then runs by stack hand-off). False once the call is parked.
   */
  combine: boolean;
}

interface UxSock {
  readonly fd: number;
  kind: 'new' | 'listen' | 'conn' | 'dgram';
  port: number;
  /** UDP (issue 17): the engine's socket once bound. */
  udp?: UdpSocket;
  listener: TcpListener | undefined;
  sock: TcpSocket | undefined;
  readonly accepts: Reply[];
  connect: Reply | undefined;
  read: { readonly reply: Reply; readonly max: number; readonly deadline: number } | undefined;
  write: { readonly reply: Reply; readonly data: Uint8Array; done: number } | undefined;
}

interface Client {
  readonly task: PortName;
  readonly session: PortName;
  readonly fds: Map<number, UxSock>;
  nextFd: number;
  /** poll calls waiting for an entry to become ready (or their deadline). */
  readonly polls: ParkedPoll[];
}

/** Counters a test or scenario reads from the task log (`ux: {...}`). */
export interface UxStats {
  clients: number;
  sockets: number;
  parked: number;
  connections: number;
  requests: number;
  errorReplies: number;
  malformed: number;
  deadClients: number;
  aborted: number;
  framesIn: number;
  framesOut: number;
}

const udpErrOf = (e: UdpCallError): number =>
  e === 'ECONNREFUSED' ? SOCK_ERR.ECONNREFUSED : e === 'EADDRINUSE' ? SOCK_ERR.EADDRINUSE : e === 'EMSGSIZE' ? -40 : e === 'EDESTADDRREQ' ? -39 : e === 'EHOSTUNREACH' ? -65 : SOCK_ERR.EINVAL;

const sockErrOf = (e: string | null): number =>
  e === 'ECONNRESET' ? SOCK_ERR.ECONNRESET : e === 'ETIMEDOUT' ? SOCK_ERR.ETIMEDOUT : e === 'ECONNREFUSED' ? SOCK_ERR.ECONNREFUSED : SOCK_ERR.ENOTCONN;

export const uxServer: GuestProgram = function* (ctx: GuestContext) {
  const p = ctx.params;
  const num = (k: string, d: number): number => (typeof p[k] === 'number' ? (p[k] as number) : d);
  const ip = num('ip', 0) >>> 0;
  const mac = macJoin(num('macHi', 0), num('macLo', 0));
  const c = libCosts(p);
  const u = uxCosts(p);
  const logStats = p['logStats'] === true;
  const probe = p['probe'] === true;
  const stats: UxStats = { clients: 0, sockets: 0, parked: 0, connections: 0, requests: 0, errorReplies: 0, malformed: 0, deadClients: 0, aborted: 0, framesIn: 0, framesOut: 0 };

  const hp = yield* sys.task_get_special_port({ which: TASK_PORT.HOST_PRIV });
  const pr = yield* sys.net_priv_port({ hostPriv: hp.name });
  if (pr.kr !== KERN.SUCCESS) {
    yield* sys.debug_log({ text: `ux: no privileged port (${pr.kr})` });
    return;
  }
  const def = yield* sys.net_channel_create({
    priv: pr.name, task: 0, link: 1, rxSlots: RX_SLOTS, txPages: TX_PAGES,
    spec: encodeChannelSpec({ demux: { kind: 'none' }, isDefault: true, template: [] }),
  });
  if (def.kr !== KERN.SUCCESS) {
    yield* sys.debug_log({ text: `ux: no default channel (${def.kr})` });
    return;
  }
  const ch = new RawChannel(ctx, { channel: def.name, address: def.address, sem: def.sem });
  const { name: portSet } = yield* sys.mach_port_allocate({ right: PORT_RIGHT.PORT_SET });
  const { name: service } = yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE });
  yield* sys.mach_port_insert_right({ name: service, disposition: MSG_TYPE.MAKE_SEND });
  yield* sys.mach_port_set_qlimit({ name: service, qlimit: 16 });
  yield* sys.mach_port_move_member({ member: service, after: portSet });
  const reg = yield* sys.bootstrap_register({ service: UX_SERVICE, name: service });
  const stack = new HostStack({ link: 'ethernet', mac, ip, random: xorshift(num('seed', 1) ^ ip), tcp: { mslNs: num('mslNs', 30_000_000_000) } });

  const bySession = new Map<PortName, Client>();
  const byTask = new Map<PortName, Client>();
  /** Output frames in engine order (two threads send; the one already sending drains the queue). */
  const outQ: Uint8Array[] = [];
  let sending = false;
  /** The deadline the network thread waits with (Infinity: none). */
  let netDeadline = Number.POSITIVE_INFINITY;
  /** The request thread's reply to the call it is serving, sent with its next receive. */
  let combined: { readonly msg: MachMsg; readonly name: PortName } | undefined = undefined;

  const now = function* (): G<number> {
    return (yield* sys.clock_get_ns({})).ns;
  };

  function* flushOut(x: GuestContext): G<void> {
    for (const f of stack.takeFrames()) outQ.push(f);
    if (sending) return;
    sending = true;
    for (let f = outQ.shift(); f !== undefined; f = outQ.shift()) {
      // Headers are built here; the payload stands in the socket buffer's mbufs, which the mapped
      // driver copied to the board by PIO — net_send's PIO is that copy.
      chargeOutput((n, k) => x.spend(n, k), c, f, 14);
      const at = yield* ch.claimTxPageWait();
      if (at < 0) break;
      ctx.mem.writeBytes(def.address + at, f);
      yield* ch.sendFromPage(at, f.length);
      stats.framesOut++;
    }
    sending = false;
  }

  /** The network thread re-arms its wait when something now falls due earlier than it waits for. */
  function* kickIfEarlier(deadline: number | null): G<void> {
    if (deadline !== null && deadline < netDeadline) {
      netDeadline = deadline;
      yield* sys.semaphore_signal({ sem: def.sem });
    }
  }

  function* replyTo(r: Reply, result: number, data?: Uint8Array, extra: readonly number[] = []): G<void> {
    if (result < 0) stats.errorReplies++;
    const items: MsgItem[] = [{ type: 'int32', values: [result, ...extra] }];
    if (data !== undefined) items.push({ type: 'inline', data });
    if (r.combine && combined === undefined) {
      r.combine = false;
      combined = { msg: buildMsg(r.name, r.id + 100, items, { remoteDisposition: r.disposition }), name: r.name };
      return;
    }
    r.combine = false;
    const kr = yield* send(r.name, r.id + 100, items, { remoteDisposition: r.disposition });
    // A failed send moves nothing: the reply right (now a dead name: the client died) is still ours.
    if (kr !== KERN.SUCCESS) yield* sys.mach_port_deallocate({ name: r.name });
  }

  const sockCount = (): number => {
    let n = 0;
    let parked = 0;
    for (const cl of bySession.values()) {
      n += cl.fds.size;
      for (const s of cl.fds.values()) parked += s.accepts.length + (s.connect ? 1 : 0) + (s.read ? 1 : 0) + (s.write ? 1 : 0);
      parked += cl.polls.length;
    }
    stats.parked = parked;
    return n;
  };
  function* logState(): G<void> {
    stats.clients = bySession.size;
    stats.sockets = sockCount();
    stats.connections = stack.connectionCount;
    if (logStats) yield* sys.debug_log({ text: `ux: ${JSON.stringify(stats)}` });
  }

  const portTaken = (port: number): boolean => {
    for (const cl of bySession.values()) for (const s of cl.fds.values()) if (s.port === port && s.kind !== 'conn' && s.kind !== 'dgram') return true;
    return false;
  };

  /** Read reply: soreceive, the copy into the reply (uiomove), a window update if one is due. */
  function* readReply(x: GuestContext, s: UxSock, r: Reply, max: number, t: number): G<void> {
    const sock = s.sock!;
    const d = sock.read(t, Math.max(1, Math.min(max, UX_IO_MAX)));
    x.spend(Math.round(u.soreceiveCycles + (u.soreceiveCyclesPerByte + u.copyCyclesPerByte) * d.length), 'soreceive');
    yield* flushOut(x);
    yield* replyTo(r, d.length, d);
  }

  /** Write: sosend (fixed, per byte, the copy out of the request) and TCP output; true when all is in the send buffer. */
  const writeSome = (s: UxSock, w: { data: Uint8Array; done: number }, t: number): number | undefined => {
    const sock = s.sock!;
    if (sock.error !== null) return sockErrOf(sock.error);
    const n = sock.write(t, w.data.subarray(w.done));
    if (typeof n === 'string') return SOCK_ERR.EPIPE;
    w.done += n;
    return undefined;
  };

  /** One poll entry's revents (the library's rules: docs/library.md "select and poll"). */
  const revents = (cl: Client, fd: number, events: number): number => {
    const s = cl.fds.get(fd);
    if (s === undefined) return POLL_NVAL;
    if (s.kind === 'new') return POLL_HUP;
    if (s.kind === 'listen') return (events & POLL_IN) !== 0 && s.listener !== undefined && s.listener.pendingCount > 0 ? POLL_IN : 0;
    const sock = s.sock;
    if (sock === undefined) return POLL_HUP;
    const err = sock.error !== null;
    const canSend = sock.state === 'ESTABLISHED' || sock.state === 'CLOSE-WAIT';
    let rv = 0;
    if ((events & POLL_IN) !== 0 && (sock.readableBytes > 0 || sock.eof || err)) rv |= POLL_IN;
    if ((events & POLL_OUT) !== 0 && (err || (canSend && sock.writableBytes > 0))) rv |= POLL_OUT;
    if (err) rv |= POLL_ERR;
    if (err || sock.state === 'CLOSED' || (sock.eof && !canSend)) rv |= POLL_HUP;
    return rv;
  };
  const pollAnswer = (cl: Client, entries: ParkedPoll['entries']): { n: number; data: Uint8Array } => {
    const data = new Uint8Array(4 * entries.length);
    let n = 0;
    entries.forEach((e, i) => {
      const rv = revents(cl, e.fd, e.events);
      if (rv !== 0) n++;
      data[4 * i] = rv;
    });
    return { n, data };
  };
  /** Answer the client's parked polls that are ready or due (either thread). */
  function* servicePolls(cl: Client, t: number): G<void> {
    for (const pp of [...cl.polls]) {
      const a = pollAnswer(cl, pp.entries);
      if (a.n === 0 && t < pp.deadline) continue;
      const i = cl.polls.indexOf(pp);
      if (i < 0) continue;
      cl.polls.splice(i, 1);
      yield* replyTo(pp.reply, a.n, a.data);
    }
  }

  /** UDP: one datagram into a reply — soreceive (the TCP-calibrated ux.soreceive* constants), the copy into the reply. */
  function* datagramReply(x: GuestContext, s: UxSock, r: Reply, max: number): G<void> {
    const d = s.udp!.recvFrom();
    if (d === null) return yield* replyTo(r, SOCK_ERR.EINVAL, new Uint8Array(0), [0, 0]);
    if (typeof d === 'string') return yield* replyTo(r, udpErrOf(d), new Uint8Array(0), [0, 0]);
    const data = d.data.subarray(0, Math.min(d.data.length, max, UX_IO_MAX));
    x.spend(Math.round(u.soreceiveCycles + (u.soreceiveCyclesPerByte + u.copyCyclesPerByte) * data.length), 'soreceive');
    yield* replyTo(r, data.length, data, [d.srcIp | 0, d.srcPort]);
  }

  /** Answer every parked call whose condition now holds (network thread, after input and timers). */
  function* serviceParked(x: GuestContext, t: number): G<void> {
    for (const cl of [...bySession.values()]) {
      if (cl.polls.length > 0) yield* servicePolls(cl, t);
      for (const s of [...cl.fds.values()]) {
        if (cl.fds.get(s.fd) !== s) continue;
        if (s.kind === 'dgram' && s.read !== undefined && s.udp !== undefined) {
          const rd = s.read;
          if (s.udp.pendingCount > 0 || s.udp.error !== null) {
            s.read = undefined;
            x.spend(u.sorwakeupCycles, 'sorwakeup');
            const tp = probe ? yield* now() : 0;
            yield* datagramReply(x, s, rd.reply, rd.max);
            if (probe) yield* sys.debug_log({ text: `ux: probe readReadyAt=${tp}` });
          } else if (t >= rd.deadline) {
            s.read = undefined;
            yield* replyTo(rd.reply, SOCK_ERR.ETIMEDOUT, new Uint8Array(0), [0, 0]);
          }
          continue;
        }
        const sock = s.sock;
        if (s.connect !== undefined && sock !== undefined) {
          const st = sock.state;
          if (st === 'ESTABLISHED' || st === 'CLOSE-WAIT' || st === 'CLOSED') {
            const r = s.connect;
            s.connect = undefined;
            yield* replyTo(r, st === 'CLOSED' ? sockErrOf(sock.error) : 0);
          }
        }
        if (s.read !== undefined && sock !== undefined) {
          const rd = s.read;
          if (sock.readableBytes > 0) {
            s.read = undefined;
            // sorwakeup: the server thread asleep in soreceive for this read is woken through the
            // emulated spl and a C-Threads condition (MB93's wake-up row); here the network thread
            // serves the parked read itself, so the wake-up is its cost alone.
            x.spend(u.sorwakeupCycles, 'sorwakeup');
            const tp = probe ? yield* now() : 0;
            yield* readReply(x, s, rd.reply, rd.max, t);
            if (probe) yield* sys.debug_log({ text: `ux: probe readReadyAt=${tp}` });
          } else if (sock.error !== null || sock.eof || t >= rd.deadline) {
            s.read = undefined;
            yield* replyTo(rd.reply, sock.error !== null ? sockErrOf(sock.error) : 0, new Uint8Array(0));
          }
        }
        if (s.write !== undefined && sock !== undefined) {
          const w = s.write;
          const err = sock.writableBytes > 0 || sock.error !== null ? writeSome(s, w, t) : undefined;
          if (err !== undefined || w.done === w.data.length) {
            s.write = undefined;
            yield* flushOut(x);
            yield* replyTo(w.reply, err ?? w.done);
          }
        }
        while (s.kind === 'listen' && s.listener !== undefined && s.accepts.length > 0 && cl.fds.size < FDS_MAX) {
          const a = s.listener.accept();
          if (a === null) break;
          const r = s.accepts.shift()!;
          const fd = cl.nextFd++;
          cl.fds.set(fd, newSock(fd, 'conn', a.localPort, a));
          yield* replyTo(r, fd);
        }
      }
    }
  }

  const newSock = (fd: number, kind: UxSock['kind'], port: number, sock?: TcpSocket): UxSock => ({
    fd, kind, port, listener: undefined, sock, accepts: [], connect: undefined, read: undefined, write: undefined,
  });

  /** Drop a parked reply right (its client is gone or the socket closed under it). */
  function* dropReply(r: Reply, result: number | undefined): G<void> {
    if (result !== undefined) yield* replyTo(r, result);
    else yield* sys.mach_port_deallocate({ name: r.name });
  }

  /** Close one socket of a client: parked calls get `result` (undefined: the client is dead, their rights are dropped). */
  function* closeSock(x: GuestContext, cl: Client, s: UxSock, t: number, abort: boolean, result: number | undefined): G<void> {
    cl.fds.delete(s.fd);
    const parked: Reply[] = [...s.accepts.splice(0)];
    if (s.connect) parked.push(s.connect);
    if (s.read) parked.push(s.read.reply);
    if (s.write) parked.push(s.write.reply);
    s.connect = undefined;
    s.read = undefined;
    s.write = undefined;
    if (s.listener !== undefined) s.listener.close(t);
    s.udp?.close();
    const sock = s.sock;
    if (sock !== undefined && sock.state !== 'CLOSED') {
      if (abort) {
        sock.abort(t);
        stats.aborted++;
      } else if (sock.error === null) sock.close(t); // the engine finishes the FIN exchange (BSD: the socket outlives its descriptor)
    }
    yield* flushOut(x);
    for (const r of parked) yield* dropReply(r, result);
    yield* kickIfEarlier(stack.pollAt());
  }

  /** A client task died: abort its connections (RST), close its listeners, release everything it held. */
  function* dropClient(x: GuestContext, cl: Client): G<void> {
    bySession.delete(cl.session);
    byTask.delete(cl.task);
    stats.deadClients++;
    const t = yield* now();
    for (const s of [...cl.fds.values()]) yield* closeSock(x, cl, s, t, true, undefined);
    for (const pp of cl.polls.splice(0)) yield* dropReply(pp.reply, undefined);
    yield* sys.mach_port_destroy({ name: cl.session });
    yield* sys.mach_port_destroy({ name: cl.task });
    yield* logState();
  }

  /** Release what a request should not carry (rights, out-of-line memory); true if there was any. */
  function* scrub(m: ReceivedMsg, keepPorts: number): G<boolean> {
    let bad = false;
    let ports = 0;
    for (const it of m.items) {
      if (it.type === 'port') {
        if (ports++ < keepPorts) continue;
        bad = true;
        if (it.name !== MACH_PORT_NULL && it.name !== MACH_PORT_DEAD) yield* sys.mach_port_deallocate({ name: it.name });
      } else if (it.type === 'ool') {
        bad = true;
        if (it.size > 0) yield* sys.vm_deallocate({ address: it.address, size: it.size });
      }
    }
    return bad;
  }

  function* hello(m: ReceivedMsg, r: Reply): G<void> {
    const it = m.items.find((i) => i.type === 'port');
    const task = it?.type === 'port' ? it.name : MACH_PORT_NULL;
    if (task === MACH_PORT_NULL || task === MACH_PORT_DEAD) {
      yield* replyTo(r, SOCK_ERR.EINVAL);
      return;
    }
    let cl = byTask.get(task);
    if (cl !== undefined) {
      yield* sys.mach_port_deallocate({ name: task }); // the reference this HELLO brought
    } else {
      if (byTask.size >= CLIENTS_MAX) {
        yield* sys.mach_port_deallocate({ name: task });
        yield* replyTo(r, SOCK_ERR.EINVAL);
        return;
      }
      const a = yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE });
      cl = { task, session: a.name, fds: new Map(), nextFd: 3, polls: [] };
      byTask.set(task, cl);
      bySession.set(a.name, cl);
      yield* sys.mach_port_set_qlimit({ name: a.name, qlimit: 16 });
      yield* sys.mach_port_move_member({ member: a.name, after: portSet });
      yield* sys.mach_port_request_notification({ name: task, variant: NOTIFY.DEAD_NAME, sync: 0, notify: service, disposition: MSG_TYPE.MAKE_SEND_ONCE });
    }
    const kr = yield* send(r.name, r.id + 100, [{ type: 'int32', values: [0] }, { type: 'port', name: cl.session, disposition: MSG_TYPE.MAKE_SEND }], { remoteDisposition: r.disposition });
    if (kr !== KERN.SUCCESS) yield* sys.mach_port_deallocate({ name: r.name });
  }

  function* onService(m: ReceivedMsg, r: Reply | undefined): G<void> {
    if (m.id === NOTIFY.DEAD_NAME) {
      const it = m.items.find((i) => i.type === 'port');
      const name = it?.type === 'port' ? it.name : MACH_PORT_NULL;
      const cl = byTask.get(name);
      if (cl !== undefined) yield* dropClient(ctx, cl);
      else if (name !== MACH_PORT_NULL) yield* sys.mach_port_destroy({ name });
      return;
    }
    if (m.id === UX_MSG.HELLO && r !== undefined) {
      const extra = yield* scrub(m, 1);
      if (extra) stats.malformed++;
      yield* hello(m, r);
      return;
    }
    stats.malformed++;
    yield* scrub(m, 0);
    if (r !== undefined) yield* replyTo(r, SOCK_ERR.EINVAL);
  }

  /** One socket call from a client (request thread). */
  function* onCall(cl: Client, m: ReceivedMsg, r: Reply): G<void> {
    ctx.spend(u.serverDispatchCycles, 'ux_dispatch');
    const ints = m.items.find((i) => i.type === 'int32');
    const v = ints?.type === 'int32' ? ints.values : [];
    const inl = m.items.find((i) => i.type === 'inline');
    const word = (k: number): number => (v[k] ?? 0) | 0;
    const s = cl.fds.get(word(0));
    const t = yield* now();
    switch (m.id) {
      case UX_MSG.SOCKET: {
        if (cl.fds.size >= FDS_MAX) return yield* replyTo(r, SOCK_ERR.EINVAL);
        const fd = cl.nextFd++;
        cl.fds.set(fd, newSock(fd, 'new', 0));
        return yield* replyTo(r, fd);
      }
      case UX_MSG.UDP_SOCKET: {
        if (cl.fds.size >= FDS_MAX) return yield* replyTo(r, SOCK_ERR.EINVAL);
        const fd = cl.nextFd++;
        cl.fds.set(fd, newSock(fd, 'dgram', 0));
        return yield* replyTo(r, fd);
      }
      case UX_MSG.SENDTO: {
        const data = inl?.type === 'inline' ? inl.data : new Uint8Array(0);
        if (s === undefined) return yield* replyTo(r, SOCK_ERR.EBADF);
        if (s.kind !== 'dgram' || data.length > UX_IO_MAX) return yield* replyTo(r, SOCK_ERR.EINVAL);
        // sosend with the TCP-calibrated ux.sosend* constants (MB93's server entry row; docs/udp.md).
        ctx.spend(Math.round(u.sosendCycles + (u.sosendCyclesPerByte + u.copyCyclesPerByte) * data.length), 'sosend');
        if (s.udp === undefined) {
          const b = stack.udpBind(0);
          if (typeof b === 'string') return yield* replyTo(r, udpErrOf(b));
          s.udp = b;
          s.port = b.localPort;
        }
        const tp = probe ? yield* now() : 0;
        const ip = word(1) >>> 0;
        const n = ip === 0 ? s.udp.sendTo(t, data) : s.udp.sendTo(t, data, ip, word(2));
        yield* flushOut(ctx);
        yield* replyTo(r, typeof n === 'string' ? udpErrOf(n) : n);
        if (probe) yield* sys.debug_log({ text: `ux: probe udpOutputAt=${tp}` });
        return;
      }
      case UX_MSG.RECVFROM: {
        if (s === undefined) return yield* replyTo(r, SOCK_ERR.EBADF, new Uint8Array(0), [0, 0]);
        const max = word(1);
        if (s.kind !== 'dgram' || s.udp === undefined || s.read !== undefined || max <= 0) return yield* replyTo(r, SOCK_ERR.EINVAL, new Uint8Array(0), [0, 0]);
        if (s.udp.pendingCount > 0 || s.udp.error !== null) return yield* datagramReply(ctx, s, r, max);
        const timeoutUs = word(2);
        const deadline = timeoutUs > 0 ? t + timeoutUs * 1000 : Number.POSITIVE_INFINITY;
        r.combine = false;
        s.read = { reply: r, max, deadline }; // parked: answered when a datagram, an error or the deadline comes
        return yield* kickIfEarlier(timeoutUs > 0 ? deadline : null);
      }
      case UX_MSG.BIND: {
        const port = word(1);
        if (s === undefined) return yield* replyTo(r, SOCK_ERR.EBADF);
        if (s.kind === 'dgram') {
          if (s.udp !== undefined || port < 0 || port > 65535) return yield* replyTo(r, SOCK_ERR.EINVAL);
          const b = stack.udpBind(port);
          if (typeof b === 'string') return yield* replyTo(r, udpErrOf(b));
          s.udp = b;
          s.port = b.localPort;
          return yield* replyTo(r, 0);
        }
        if (s.kind !== 'new' || port <= 0 || port > 65535) return yield* replyTo(r, SOCK_ERR.EINVAL);
        if (portTaken(port)) return yield* replyTo(r, SOCK_ERR.EADDRINUSE);
        s.port = port;
        return yield* replyTo(r, 0);
      }
      case UX_MSG.LISTEN: {
        if (s === undefined) return yield* replyTo(r, SOCK_ERR.EBADF);
        if (s.kind !== 'new' || s.port === 0) return yield* replyTo(r, SOCK_ERR.EINVAL);
        const l = stack.listen(s.port, Math.max(1, Math.min(64, word(1) || 5)));
        if (typeof l === 'string') return yield* replyTo(r, SOCK_ERR.EADDRINUSE);
        s.kind = 'listen';
        s.listener = l;
        return yield* replyTo(r, 0);
      }
      case UX_MSG.ACCEPT: {
        if (s === undefined) return yield* replyTo(r, SOCK_ERR.EBADF);
        if (s.kind !== 'listen' || s.listener === undefined || s.accepts.length >= ACCEPTS_MAX) return yield* replyTo(r, SOCK_ERR.EINVAL);
        const a = cl.fds.size < FDS_MAX ? s.listener.accept() : null;
        if (a === null) {
          r.combine = false;
          s.accepts.push(r); // parked: the network thread answers when a handshake completes
          return;
        }
        const fd = cl.nextFd++;
        cl.fds.set(fd, newSock(fd, 'conn', a.localPort, a));
        return yield* replyTo(r, fd);
      }
      case UX_MSG.CONNECT: {
        if (s === undefined) return yield* replyTo(r, SOCK_ERR.EBADF);
        const rport = word(2);
        if (s.kind === 'dgram') {
          if (rport <= 0 || rport > 65535 || word(1) === 0) return yield* replyTo(r, SOCK_ERR.EINVAL);
          if (s.udp === undefined) {
            const b = stack.udpBind(0);
            if (typeof b === 'string') return yield* replyTo(r, udpErrOf(b));
            s.udp = b;
            s.port = b.localPort;
          }
          const e = s.udp.connect(word(1) >>> 0, rport);
          return yield* replyTo(r, e === null ? 0 : udpErrOf(e));
        }
        if (s.kind !== 'new' || rport <= 0 || rport > 65535) return yield* replyTo(r, SOCK_ERR.EINVAL);
        const sock = stack.connect(t, word(1) >>> 0, rport, s.port !== 0 ? { localPort: s.port } : {});
        if (typeof sock === 'string') return yield* replyTo(r, sock === 'EISCONN' ? SOCK_ERR.EADDRINUSE : SOCK_ERR.EINVAL);
        s.kind = 'conn';
        s.sock = sock;
        r.combine = false;
        s.connect = r; // parked until ESTABLISHED or CLOSED
        yield* flushOut(ctx);
        return yield* kickIfEarlier(stack.pollAt());
      }
      case UX_MSG.WRITE: {
        const data = inl?.type === 'inline' ? inl.data : new Uint8Array(0);
        if (s === undefined) return yield* replyTo(r, SOCK_ERR.EBADF);
        if (s.kind !== 'conn' || s.sock === undefined || s.write !== undefined || s.connect !== undefined || data.length > UX_IO_MAX) return yield* replyTo(r, SOCK_ERR.EINVAL);
        ctx.spend(Math.round(u.sosendCycles + (u.sosendCyclesPerByte + u.copyCyclesPerByte) * data.length), 'sosend');
        const tp = probe ? yield* now() : 0;
        const w = { reply: r, data, done: 0 };
        const err = writeSome(s, w, t);
        if (err === undefined && w.done < data.length) {
          r.combine = false;
          s.write = w; // parked: the rest goes as the window opens
        }
        yield* flushOut(ctx);
        yield* kickIfEarlier(stack.pollAt());
        if (err !== undefined || w.done === data.length) yield* replyTo(r, err ?? w.done);
        if (probe) yield* sys.debug_log({ text: `ux: probe tcpOutputAt=${tp}` });
        return;
      }
      case UX_MSG.READ: {
        if (s === undefined) return yield* replyTo(r, SOCK_ERR.EBADF);
        const sock = s.sock;
        if (s.kind !== 'conn' || sock === undefined || s.read !== undefined || s.connect !== undefined) return yield* replyTo(r, SOCK_ERR.EINVAL);
        const max = word(1);
        if (max <= 0) return yield* replyTo(r, SOCK_ERR.EINVAL);
        if (sock.readableBytes > 0) return yield* readReply(ctx, s, r, max, t);
        if (sock.error !== null) return yield* replyTo(r, sockErrOf(sock.error), new Uint8Array(0));
        if (sock.eof) return yield* replyTo(r, 0, new Uint8Array(0));
        const timeoutUs = word(2);
        const deadline = timeoutUs > 0 ? t + timeoutUs * 1000 : Number.POSITIVE_INFINITY;
        r.combine = false;
        s.read = { reply: r, max, deadline }; // parked: answered when data, EOF, an error or the deadline comes
        return yield* kickIfEarlier(timeoutUs > 0 ? deadline : null);
      }
      case UX_MSG.SHUTDOWN: {
        if (s === undefined) return yield* replyTo(r, SOCK_ERR.EBADF);
        if (s.kind !== 'conn' || s.sock === undefined) return yield* replyTo(r, SOCK_ERR.ENOTCONN);
        const e = s.sock.shutdown(t);
        yield* flushOut(ctx);
        yield* kickIfEarlier(stack.pollAt());
        return yield* replyTo(r, e === null ? 0 : SOCK_ERR.ENOTCONN);
      }
      case UX_MSG.CLOSE: {
        if (s === undefined) return yield* replyTo(r, SOCK_ERR.EBADF);
        yield* closeSock(ctx, cl, s, t, false, SOCK_ERR.EBADF);
        yield* replyTo(r, 0);
        if (cl.polls.length > 0) yield* servicePolls(cl, t); // a poll on the closed fd: NVAL now
        return;
      }
      case UX_MSG.POLL: {
        const timeoutUs = word(0);
        const n = word(1);
        if (n < 0 || n > POLL_ENTRIES_MAX || v.length !== 2 + 2 * n || timeoutUs < -1 || cl.polls.length >= POLLS_MAX) return yield* replyTo(r, SOCK_ERR.EINVAL);
        const entries: { fd: number; events: number }[] = [];
        for (let i = 0; i < n; i++) {
          const events = word(3 + 2 * i);
          if ((events & ~(POLL_IN | POLL_OUT | POLL_ERR | POLL_HUP)) !== 0) return yield* replyTo(r, SOCK_ERR.EINVAL);
          entries.push({ fd: word(2 + 2 * i), events });
        }
        const a = pollAnswer(cl, entries);
        if (a.n > 0 || timeoutUs === 0) return yield* replyTo(r, a.n, a.data);
        const deadline = timeoutUs < 0 ? Number.POSITIVE_INFINITY : t + timeoutUs * 1000;
        r.combine = false;
        cl.polls.push({ reply: r, entries, deadline }); // parked: the network thread answers when one is ready or the deadline comes
        return yield* kickIfEarlier(timeoutUs > 0 ? deadline : null);
      }
      default:
        stats.malformed++;
        return yield* replyTo(r, SOCK_ERR.EINVAL);
    }
  }

  function* handle(m: ReceivedMsg): G<void> {
    stats.requests++;
    const rd = m.bits & 0xff;
    const r: Reply | undefined =
      m.remote !== MACH_PORT_NULL && m.remote !== MACH_PORT_DEAD && (rd === MSG_TYPE.PORT_SEND_ONCE || rd === MSG_TYPE.PORT_SEND) ? { name: m.remote, id: m.id, disposition: rd, combine: true } : undefined;
    if (m.local === service) return yield* onService(m, r);
    const cl = bySession.get(m.local);
    const extra = yield* scrub(m, 0);
    if (cl === undefined || r === undefined) {
      stats.malformed++;
      if (r !== undefined) yield* replyTo(r, SOCK_ERR.EINVAL);
      return;
    }
    if (extra) stats.malformed++;
    yield* onCall(cl, m, r);
  }

  /** Feed every frame waiting on the default channel to the engine. */
  function* drain(x: GuestContext, rx: RawChannel, t: number): G<number> {
    let n = 0;
    while (rx.available() > 0) {
      n++;
      const sl = rx.peek();
      const f = rx.read(sl.offset, sl.length);
      rx.consume();
      if (sl.length === 0) continue;
      stats.framesIn++;
      chargeInput((n, k) => x.spend(n, k), c, f, 14);
      stack.receiveFrame(t, f);
    }
    return n;
  }

  const earliestReadDeadline = (): number => {
    let d = Number.POSITIVE_INFINITY;
    for (const cl of bySession.values()) {
      for (const s of cl.fds.values()) if (s.read !== undefined && s.read.deadline < d) d = s.read.deadline;
      for (const pp of cl.polls) if (pp.deadline < d) d = pp.deadline;
    }
    return d;
  };

  const netThread: GuestProgram = function* (nctx) {
    // The receive ring is this thread's alone: its view charges the ring's bookkeeping to this thread.
    const rx = new RawChannel(nctx, { channel: def.name, address: def.address, sem: def.sem });
    for (;;) {
      const t = yield* now();
      const due = stack.pollAt();
      if (due !== null && due <= t) stack.poll(t);
      yield* drain(nctx, rx, t);
      yield* flushOut(nctx);
      yield* serviceParked(nctx, t);
      yield* flushOut(nctx);
      if (rx.available() > 0) continue;
      const t2 = yield* now();
      const next = Math.min(stack.pollAt() ?? Number.POSITIVE_INFINITY, earliestReadDeadline());
      netDeadline = next;
      const w = next === Number.POSITIVE_INFINITY ? yield* sys.semaphore_wait({ sem: def.sem }) : yield* sys.semaphore_timedwait({ sem: def.sem, ns: Math.max(1000, Math.ceil(next - t2)) });
      netDeadline = Number.POSITIVE_INFINITY;
      if (w.kr !== KERN.SUCCESS && w.kr !== KERN.OPERATION_TIMED_OUT) return;
      nctx.spend(c.upcallCycles);
    }
  };
  yield* sys.thread_create({ program: netThread, priority: -1 });
  yield* sys.debug_log({ text: `ux: up register=${reg.kr}` });
  for (;;) {
    const c1 = combined as { readonly msg: MachMsg; readonly name: PortName } | undefined; // set by replyTo, inside handle
    combined = undefined;
    const r = c1 === undefined ? yield* receive(portSet) : yield* sys.mach_msg({ option: MACH_MSG_OPTION.SEND_MSG | MACH_MSG_OPTION.RCV_MSG, msg: c1.msg, rcvName: portSet, rcvSize: MSG_SIZE_MAX, timeoutMs: 0, notify: MACH_PORT_NULL });
    if (c1 !== undefined && r.kr >= MACH_MSG.SEND_INVALID_DATA && r.kr < MACH_MSG.RCV_INVALID_NAME) {
      // The reply's send failed (its client died): nothing moved, nothing was received.
      yield* sys.mach_port_deallocate({ name: c1.name });
      continue;
    }
    if (r.kr !== KERN.SUCCESS || r.msg === undefined) continue;
    yield* handle(r.msg);
    if (logStats) yield* logState();
  }
};

/** Read the server's counters from the last `ux: {...}` line of its log. */
export function uxStatsFromLog(log: readonly string[]): UxStats | undefined {
  for (let i = log.length - 1; i >= 0; i--) {
    const l = log[i]!;
    if (l.startsWith('ux: {')) return JSON.parse(l.slice('ux: '.length)) as UxStats;
  }
  return undefined;
}
