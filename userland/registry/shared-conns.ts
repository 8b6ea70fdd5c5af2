/**
 * The registry as trusted agent for connections shared across fork (issue 17 item 2; P §3.5:
 * "considerable programming effort would have been required to support the sharing semantics of
 * sockets by migrating shared connection state to a trusted agent"). docs/fork.md.
 *
 * SHARE (on the registry's request port): the library proves it holds the connection (its channel
 * right, as RELEASE does) and hands over the TCB; the registry closes the channel (the library's
 * rights to it become dead names and its region is unmapped: nothing of the connection is left in
 * any library), imports the TCB into its own engine — from then on the connection's frames reach
 * the default channel and its engine, as a close handed over to it does — and answers with the
 * connection's capability: a send right to a port of the registry's ("the connection port").
 *
 * Everything else is served by a thread of its own (started at the first SHARE: a registry that
 * never shares has no such thread, port set or cost), receiving on a port set that holds the
 * service port and every connection and ticket port:
 * - READ / WRITE / SHUTDOWN name a connection by id and carry a capability; a capability that is
 *   not that connection's port is refused (REG_ERR.NOT_OWNER). Reads are served in arrival order,
 *   each byte to exactly one reader; a write goes into the send buffer whole before the next
 *   writer's bytes (interleaving at write granularity, as a Unix socket shared across fork), and
 *   waits, in order, while the buffer is full. The network thread runs `progress` after every
 *   input pass, which answers the reads and writes that can proceed.
 * - Holders are the connection port's send rights: a holder closes by deallocating its right, and
 *   a task that dies releases its rights with its name space. The registry asks for the port's
 *   no-senders notification (the notification arrives on the port itself, in the set); when it
 *   comes and no fork ticket still names the connection, the last holder is gone and the engine
 *   closes the connection (FIN, TIME-WAIT held for 2·MSL). A notification older than the last
 *   send right made (its make-send count lower) is stale and only re-arms the request.
 * - FORK makes a ticket (a fresh port naming the caller's connections, proven by their
 *   capabilities) that the parent registers (mach_ports_register) before task_create; the child
 *   finds it with mach_ports_lookup and ADOPTs it: one capability per connection, and the ticket is
 *   destroyed. A ticket keeps its connections open (the parent may close before the child adopts);
 *   its no-senders (the child died first) drops it.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestContext, GuestProgram } from '../../kernel/abi/guest.ts';
import { MSG_TYPE, NOTIFY, PORT_RIGHT, type MsgItem, type PortName, type ReceivedMsg } from '../../kernel/abi/message.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import type { HostStack, TcpSocket } from '../inet/index.ts';
import { receive } from '../mach/ipc.ts';
import { sys } from '../mach/syscalls.ts';
import type { LibCostName } from '../netlib/costs.ts';
import { decodeSnapshot, REG_ERR, REG_QUOTA } from '../netlib/registry-proto.ts';
import { SHARED_FORK_MAX, SHARED_IO_MAX, SHARED_MSG } from '../netlib/shared-proto.ts';
import { validPort, validRemoteIp } from './limits.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

/** Live fork tickets one connection may be named by (forks not yet adopted; each is a port of the registry's). */
export const SHARED_TICKETS_PER_CONN = 16;

/** Socket errors in READ/WRITE replies (the library's SOCK_ERR values). */
const E = { EBADF: -9, ENOTCONN: -57, EPIPE: -32, ECONNRESET: -54, ETIMEDOUT: -60, ECONNREFUSED: -61 } as const;

/** What the service needs of a registry connection record (registry-server.ts ConnRec). */
export interface SharedConnRecord {
  readonly key: string;
  readonly owner: PortName;
  state: 'handshake' | 'completing' | 'handed' | 'released' | 'dead';
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
  readonly bqi: number;
  readonly peerBqi: number;
  readonly channel: PortName;
}

interface ReplyTo {
  readonly name: PortName;
  readonly id: number;
}

interface Shared {
  readonly id: number;
  /** The task port name (in the registry's space) of the task that SHAREd it (its quota). */
  readonly sharer: PortName;
  readonly key: string;
  readonly sock: TcpSocket;
  readonly port: PortName;
  readonly bqi: number;
  /** Send rights made to the connection port (each in a reply); a no-senders notification with a lower make-send count is stale. */
  makeCount: number;
  /** The last no-senders notification was current: no holder has a right. */
  noSenders: boolean;
  /** Live tickets naming the connection. */
  tickets: number;
  closed: boolean;
  readonly reads: { rep: ReplyTo; max: number }[];
  readonly writes: { rep: ReplyTo; data: Uint8Array; off: number }[];
  /** Bytes taken for a reader whose reply could not be delivered: the next reads get them first. */
  readonly returned: Uint8Array[];
  /** A thread is answering this connection's reads and writes (the other leaves it alone). */
  busy: boolean;
}

interface Ticket {
  readonly port: PortName;
  readonly conns: readonly Shared[];
  used: boolean;
}

export interface SharedDeps {
  readonly ctx: GuestContext;
  readonly c: Record<LibCostName, number>;
  readonly link: 'ethernet' | 'an1';
  readonly mslNs: number;
  readonly stack: HostStack;
  readonly conns: Map<string, SharedConnRecord>;
  readonly timeWait: Map<string, number>;
  readonly deadPeerBqi: Map<string, number>;
  /** Hold a reserved BQI until `until` (ns), then release it (the registry's BQI lifetime). */
  readonly holdBqiUntil: (bqi: number, until: number) => void;
  readonly flushOut: () => G<void>;
  readonly kickNetThread: () => G<void>;
  readonly sendReply: (r: ReplyTo, items: MsgItem[]) => G<number>;
  readonly now: () => G<number>;
  /** Log the counters (`shared: {...}`) after every message the service handles. */
  readonly logStats: boolean;
  /** Live shared connections one task may have SHAREd (limits.ts channelsPerTask: NOFILE). */
  readonly sharedPerTask: number;
}

/** Counters (the registry logs them as `shared: {...}` once anything was shared). */
export interface SharedStats {
  shared: number;
  closed: number;
  refused: number;
  tickets: number;
  adopted: number;
  reads: number;
  writes: number;
  bytesIn: number;
  bytesOut: number;
}

export function sharedConnections(d: SharedDeps) {
  const { ctx, c } = d;
  const byId = new Map<number, Shared>();
  const byPort = new Map<PortName, Shared>();
  const tickets = new Map<PortName, Ticket>();
  const stats: SharedStats = { shared: 0, closed: 0, refused: 0, tickets: 0, adopted: 0, reads: 0, writes: 0, bytesIn: 0, bytesOut: 0 };
  let nextId = 1;
  let logged = 0;
  let portSet: PortName = 0;
  let svc: PortName = 0;

  const errOf = (s: TcpSocket): number =>
    s.error === 'ECONNRESET' ? E.ECONNRESET : s.error === 'ETIMEDOUT' ? E.ETIMEDOUT : s.error === 'ECONNREFUSED' ? E.ECONNREFUSED : E.ENOTCONN;

  /** A port of ours in the service's set, with its no-senders notification sent to itself once `sync` rights were made. */
  function* newMember(): G<PortName> {
    const p = (yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE })).name;
    yield* sys.mach_port_move_member({ member: p, after: portSet });
    return p;
  }
  function* armNoSenders(port: PortName, sync: number): G<void> {
    const r = yield* sys.mach_port_request_notification({ name: port, variant: NOTIFY.NO_SENDERS, sync, notify: port, disposition: MSG_TYPE.MAKE_SEND_ONCE });
    // A request still armed is replaced: its send-once right comes back and is given up (a SEND_ONCE notification, ignored).
    if (r.kr === KERN.SUCCESS && r.previous !== 0) yield* sys.mach_port_deallocate({ name: r.previous });
  }

  /** The first SHARE: the service's port set, its port and its thread. */
  function* start(): G<boolean> {
    if (portSet !== 0) return true;
    const ps = yield* sys.mach_port_allocate({ right: PORT_RIGHT.PORT_SET });
    if (ps.kr !== KERN.SUCCESS) return false;
    portSet = ps.name;
    svc = yield* newMember();
    yield* sys.mach_port_set_qlimit({ name: svc, qlimit: 16 });
    const th = yield* sys.thread_create({ program: serviceThread, priority: -1 });
    return th.kr === KERN.SUCCESS;
  }

  /** The last holder is gone and no ticket names the connection: the engine closes it (FIN), TIME-WAIT held. */
  function* maybeClose(s: Shared): G<void> {
    if (s.closed || !s.noSenders || s.tickets > 0) return;
    s.closed = true;
    byId.delete(s.id);
    byPort.delete(s.port);
    stats.closed++;
    const t = yield* d.now();
    if (s.sock.error === null && s.sock.state !== 'CLOSED') s.sock.close(t);
    d.timeWait.set(s.key, t + 2 * d.mslNs);
    d.holdBqiUntil(s.bqi, t + 2 * d.mslNs);
    // Writes of holders that died mid-call: what is in the send buffer is sent; the rest goes with them.
    for (const w of s.writes.splice(0)) yield* d.sendReply(w.rep, [{ type: 'int32', values: [E.EPIPE] }]);
    for (const r of s.reads.splice(0)) yield* d.sendReply(r.rep, [{ type: 'int32', values: [E.EBADF] }]);
    yield* sys.mach_port_destroy({ name: s.port });
    yield* d.flushOut();
    yield* d.kickNetThread();
  }

  /**
   * Answer the reads and writes that can proceed (after input, after a request), one at a time per
   * connection: the network thread and the service thread both run this, and a connection being
   * served by one (`busy`) is left to it — it looks again after each of its traps. Data taken for a
   * read whose reply cannot be delivered (its task died while waiting) goes back to the front of
   * the stream, so every byte reaches exactly one reader that gets it.
   */
  function* progress(): G<void> {
    for (const s of [...byId.values()]) {
      if (s.busy || s.closed) continue;
      s.busy = true;
      try {
        for (;;) {
          const t = yield* d.now();
          const step = takeStep(s, t);
          if (step === undefined) break;
          yield* d.flushOut(); // window updates, data written
          const kr = yield* d.sendReply(step.rep, step.items);
          if (kr !== KERN.SUCCESS && step.data !== undefined && step.data.length > 0) {
            s.returned.unshift(step.data);
            stats.bytesOut -= step.data.length;
          }
        }
      } finally {
        s.busy = false;
      }
    }
  }

  /** The next read or write of `s` that can proceed, done on the engine (no trap), with its reply. */
  function takeStep(s: Shared, t: number): { rep: ReplyTo; items: MsgItem[]; data?: Uint8Array } | undefined {
    const k = s.sock;
    const r = s.reads[0];
    if (r !== undefined) {
      const back = s.returned[0];
      if (back !== undefined || k.readableBytes > 0) {
        s.reads.shift();
        let data: Uint8Array;
        if (back !== undefined) {
          data = back.subarray(0, r.max);
          if (data.length === back.length) s.returned.shift();
          else s.returned[0] = back.subarray(r.max);
        } else data = k.read(t, r.max);
        ctx.spend(c.copyCyclesPerByte * data.length);
        stats.bytesOut += data.length;
        return { rep: r.rep, items: [{ type: 'int32', values: [data.length] }, { type: 'inline', data }], data };
      }
      if (k.eof || k.error !== null || k.state === 'CLOSED') {
        s.reads.shift();
        return { rep: r.rep, items: [{ type: 'int32', values: [k.error !== null ? errOf(k) : 0] }, { type: 'inline', data: new Uint8Array(0) }] };
      }
    }
    const w = s.writes[0];
    if (w === undefined) return undefined;
    if (k.error !== null) {
      s.writes.shift();
      return { rep: w.rep, items: [{ type: 'int32', values: [errOf(k)] }] };
    }
    const n = k.write(t, w.data.subarray(w.off));
    if (typeof n === 'string') {
      s.writes.shift();
      return { rep: w.rep, items: [{ type: 'int32', values: [E.EPIPE] }] };
    }
    ctx.spend(c.copyCyclesPerByte * n);
    stats.bytesIn += n;
    w.off += n;
    if (w.off < w.data.length) return undefined; // the buffer is full: this write, and every one behind it, waits
    s.writes.shift();
    return { rep: w.rep, items: [{ type: 'int32', values: [w.data.length] }] };
  }

  /** SHARE (the registry's request port): the connection moves into the registry's engine. */
  function* share(m: ReceivedMsg, rep: ReplyTo, t: number): G<void> {
    const ints = m.items.filter((i) => i.type === 'int32');
    const v = ints[0]?.type === 'int32' ? ints[0].values : [];
    const rights = m.items.filter((i) => i.type === 'port');
    const chName = rights[1]?.type === 'port' ? rights[1].name : 0;
    const tcb = m.items.find((i) => i.type === 'inline');
    const refuse = function* (code: number): G<void> {
      stats.refused++;
      if (chName !== 0) yield* sys.mach_port_deallocate({ name: chName });
      yield* d.sendReply(rep, [{ type: 'int32', values: [code] }]);
    };
    if (ints.length !== 1 || rights.length !== 2 || tcb?.type !== 'inline' || m.items.length !== 4 || !validPort(v[0] ?? 0) || !validRemoteIp(v[1] ?? 0) || !validPort(v[2] ?? 0)) return yield* refuse(REG_ERR.INVALID);
    const key = `${(v[1] ?? 0) >>> 0}:${v[2] ?? 0}:${v[0] ?? 0}`;
    const r = d.conns.get(key);
    // Proof of ownership: the sender holds the connection's channel right (it merges with ours).
    if (r === undefined || r.state !== 'handed' || chName === 0 || chName !== r.channel) return yield* refuse(REG_ERR.NOT_OWNER);
    const snap = decodeSnapshot(tcb.data);
    if (snap === undefined) return yield* refuse(REG_ERR.INVALID);
    const owner = rights[0]?.type === 'port' ? rights[0].name : 0;
    if ([...byId.values()].filter((x) => x.sharer === owner).length >= d.sharedPerTask) {
      stats.refused++;
      if (chName !== 0) yield* sys.mach_port_deallocate({ name: chName });
      yield* d.sendReply(rep, [{ type: 'int32', values: [REG_ERR.QUOTA, REG_QUOTA.CHANNELS] }]);
      return;
    }
    if (!(yield* start())) return yield* refuse(KERN.RESOURCE_SHORTAGE);
    ctx.spend(c.tcbTransferCycles);
    const sock = d.stack.importConnection(t, snap);
    if (typeof sock === 'string') return yield* refuse(REG_ERR.INVALID);
    // State first (the network thread runs between our traps): the record leaves, the port stays taken.
    r.state = 'released';
    d.conns.delete(key);
    d.timeWait.set(key, Number.POSITIVE_INFINITY);
    if (d.link === 'an1') d.deadPeerBqi.set(key, r.peerBqi); // our segments go to the peer library's BQI
    // Our BQI stays reserved (not held, never released) while the registry runs the connection: the
    // peer's frames still name it and fall back to the default channel. The last close holds it 2·MSL.
    const id = nextId++;
    stats.shared++;
    // The channel goes: whoever holds a right to it (the library, a copy) cannot send through it.
    yield* sys.net_channel_close({ channel: r.channel });
    yield* sys.mach_port_destroy({ name: r.channel });
    const port = yield* newMember();
    const s: Shared = { id, sharer: owner, key, sock, port, bqi: r.bqi, makeCount: 1, noSenders: false, tickets: 0, closed: false, reads: [], writes: [], returned: [], busy: false };
    byId.set(id, s);
    byPort.set(port, s);
    yield* d.flushOut();
    yield* d.kickNetThread(); // its timers
    yield* d.sendReply(rep, [
      { type: 'int32', values: [KERN.SUCCESS, id] },
      { type: 'port', name: port, disposition: MSG_TYPE.MAKE_SEND },
      { type: 'port', name: svc, disposition: MSG_TYPE.MAKE_SEND },
    ]);
    yield* armNoSenders(port, s.makeCount);
  }

  /** A no-senders notification on a connection or ticket port. */
  function* noSenders(local: PortName, mscount: number): G<void> {
    const s = byPort.get(local);
    if (s !== undefined) {
      if (mscount < s.makeCount) return yield* armNoSenders(s.port, s.makeCount); // a right was made since: stale
      s.noSenders = true;
      return yield* maybeClose(s);
    }
    const tk = tickets.get(local);
    if (tk !== undefined && !tk.used) yield* dropTicket(tk);
  }

  function* dropTicket(tk: Ticket): G<void> {
    tk.used = true;
    tickets.delete(tk.port);
    for (const s of tk.conns) s.tickets--;
    yield* sys.mach_port_destroy({ name: tk.port });
    for (const s of tk.conns) yield* maybeClose(s);
  }

  /** A request on the service port. */
  function* request(m: ReceivedMsg): G<void> {
    ctx.spend(c.registryRequestCycles);
    const rep: ReplyTo = { name: m.remote, id: m.id };
    const ints = m.items.filter((i) => i.type === 'int32');
    const v = ints[0]?.type === 'int32' ? ints[0].values : [];
    const caps = m.items.flatMap((i) => (i.type === 'port' ? [i.name] : []));
    const inl = m.items.find((i) => i.type === 'inline');
    // Every right that came in is given back (ours merged into the port's name: one reference each).
    const release = function* (): G<void> {
      for (const n of caps) if (n !== 0) yield* sys.mach_port_deallocate({ name: n });
    };
    const answer = function* (values: number[], extra: MsgItem[] = []): G<void> {
      yield* release();
      if (m.remote !== 0) yield* d.sendReply(rep, [{ type: 'int32', values }, ...extra]);
    };
    /** The connection the request names, if its capability is that connection's port. */
    const owned = (id: number | undefined, cap: PortName | undefined): Shared | undefined => {
      const s = id === undefined ? undefined : byId.get(id);
      return s !== undefined && cap !== undefined && cap !== 0 && cap === s.port ? s : undefined;
    };
    if (ints.length !== 1 || m.remote === 0) {
      stats.refused++;
      return yield* answer([REG_ERR.INVALID]);
    }
    switch (m.id) {
      case SHARED_MSG.READ:
      case SHARED_MSG.WRITE:
      case SHARED_MSG.SHUTDOWN: {
        const s = caps.length === 1 ? owned(v[0], caps[0]) : undefined;
        if (s === undefined) {
          stats.refused++;
          return yield* answer([REG_ERR.NOT_OWNER]);
        }
        yield* release();
        if (m.id === SHARED_MSG.READ) {
          const max = v[1] ?? 0;
          if (!Number.isInteger(max) || max < 1 || max > SHARED_IO_MAX) {
            yield* d.sendReply(rep, [{ type: 'int32', values: [REG_ERR.INVALID] }]);
            return;
          }
          stats.reads++;
          s.reads.push({ rep, max });
        } else if (m.id === SHARED_MSG.WRITE) {
          if (inl?.type !== 'inline' || inl.data.length === 0 || inl.data.length > SHARED_IO_MAX) {
            yield* d.sendReply(rep, [{ type: 'int32', values: [REG_ERR.INVALID] }]);
            return;
          }
          stats.writes++;
          s.writes.push({ rep, data: inl.data, off: 0 });
        } else {
          const e = s.sock.shutdown(yield* d.now());
          yield* d.flushOut();
          yield* d.kickNetThread();
          yield* d.sendReply(rep, [{ type: 'int32', values: [e === null ? 0 : E.ENOTCONN] }]);
          return;
        }
        yield* progress();
        yield* d.kickNetThread(); // the engine's deadline may have moved (retransmission of what was written)
        return;
      }
      case SHARED_MSG.FORK: {
        const n = v[0] ?? -1;
        if (!Number.isInteger(n) || n < 0 || n > SHARED_FORK_MAX || v.length !== 1 + n || caps.length !== n) {
          stats.refused++;
          return yield* answer([REG_ERR.INVALID]);
        }
        const list: Shared[] = [];
        for (let i = 0; i < n; i++) {
          const s = owned(v[1 + i], caps[i]);
          if (s === undefined || list.includes(s)) {
            stats.refused++;
            return yield* answer([REG_ERR.NOT_OWNER]);
          }
          list.push(s);
        }
        // Tickets are ports of ours a holder can keep alive: a bounded number per connection.
        if (list.some((s) => s.tickets >= SHARED_TICKETS_PER_CONN)) {
          stats.refused++;
          return yield* answer([REG_ERR.QUOTA, REG_QUOTA.NAMES]);
        }
        yield* release();
        const port = yield* newMember();
        const tk: Ticket = { port, conns: list, used: false };
        tickets.set(port, tk);
        for (const s of list) s.tickets++;
        stats.tickets++;
        yield* d.sendReply(rep, [{ type: 'int32', values: [KERN.SUCCESS] }, { type: 'port', name: port, disposition: MSG_TYPE.MAKE_SEND }]);
        yield* armNoSenders(port, 1);
        return;
      }
      case SHARED_MSG.ADOPT: {
        const tk = caps.length === 1 ? tickets.get(caps[0]!) : undefined;
        if (tk === undefined || tk.used) {
          stats.refused++;
          return yield* answer([REG_ERR.NOT_OWNER]);
        }
        tk.used = true;
        tickets.delete(tk.port);
        const live = tk.conns.filter((s) => !s.closed);
        for (const s of live) {
          s.makeCount++;
          s.noSenders = false;
        }
        stats.adopted++;
        yield* d.sendReply(rep, [
          { type: 'int32', values: [KERN.SUCCESS, live.length, ...live.map((s) => s.id)] },
          ...live.map((s): MsgItem => ({ type: 'port', name: s.port, disposition: MSG_TYPE.MAKE_SEND })),
        ]);
        for (const s of tk.conns) s.tickets--;
        yield* sys.mach_port_destroy({ name: tk.port }); // the ticket, and the reference that came in
        // The notification may have fired already (every earlier holder gone): ask again, counting the rights just made.
        for (const s of live) yield* armNoSenders(s.port, s.makeCount);
        for (const s of tk.conns) yield* maybeClose(s);
        return;
      }
      default:
        stats.refused++;
        return yield* answer([REG_ERR.INVALID]);
    }
  }

  const serviceThread: GuestProgram = function* () {
    for (;;) {
      const r = yield* receive(portSet);
      if (r.kr !== KERN.SUCCESS || r.msg === undefined) continue;
      const m = r.msg;
      if (m.id === NOTIFY.NO_SENDERS) {
        const it = m.items[0];
        yield* noSenders(m.local, it?.type === 'int32' ? (it.values[0] ?? 0) : 0);
      } else if (m.id === NOTIFY.SEND_ONCE || m.id === NOTIFY.DEAD_NAME || m.id === NOTIFY.PORT_DELETED) {
        // Nothing to do (a notification right destroyed unused).
      } else yield* request(m);
      // Logged when a connection or ticket came or went, or a request was refused (not per read or write: the task log is bounded).
      const mark = stats.shared + stats.closed + stats.tickets + stats.adopted + stats.refused;
      if (d.logStats && mark !== logged) {
        logged = mark;
        yield* sys.debug_log({ text: `shared: ${JSON.stringify(stats)}` });
      }
    }
  };

  return {
    share,
    progress,
    stats,
    /** BQIs of live shared connections SHAREd by `owner` (still charged to it: registry usage()). */
    bqisOf(owner: PortName): number {
      let n = 0;
      for (const x of byId.values()) if (x.sharer === owner && x.bqi !== 0) n++;
      return n;
    },
    /** Connections the registry runs for their holders (not yet closed by the last one). */
    get live(): number {
      return byId.size;
    },
  };
}

/** The service's counters from the last `shared: {...}` line of the registry's task log. */
export function sharedStatsFromLog(log: readonly string[]): SharedStats | undefined {
  for (let i = log.length - 1; i >= 0; i--) {
    const l = log[i]!;
    if (l.startsWith('shared: {')) return JSON.parse(l.slice('shared: '.length)) as SharedStats;
  }
  return undefined;
}
