/**
 * fork() for library applications, with the connections shared by parent and child (issue 17
 * item 2; P §3.5: sharing "by migrating shared connection state to a trusted agent"). docs/fork.md.
 *
 * `forkShared(lib, childMain)`:
 * 1. every established connection of the task is detached (network C-thread stopped, the ring's
 *    last frames run, TCB exported) and SHAREd with the registry, which closes its channel and runs
 *    it in its own engine; the library keeps the connection's capability (a send right to the
 *    registry's connection port) under the same descriptor;
 * 2. a FORK ticket naming every shared connection is made, and the parent registers the service
 *    port and the ticket (mach_ports_register) for the child to find;
 * 3. task_create(inherit memory) starts the child, whose name space is empty: it finds the service
 *    port and the ticket with mach_ports_lookup, ADOPTs the ticket for its own capabilities, and
 *    runs `childMain` with a library whose shared descriptors have the parent's numbers (the
 *    descriptor table is library state, which a fork's COPY inheritance gives the child);
 * 4. the parent drops the registration and its name for the ticket.
 *
 * From then on read / write / shutdown on a shared descriptor are RPCs to the registry (READ,
 * WRITE up to SHARED_IO_MAX bytes per message, SHUTDOWN), and close deallocates the capability: the
 * registry closes the connection when the last holder's right is gone (no-senders).
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestContext } from '../../kernel/abi/guest.ts';
import { MSG_TYPE, type MsgItem, type PortName, type ReceivedMsg } from '../../kernel/abi/message.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { rpc } from '../mach/ipc.ts';
import { sys } from '../mach/syscalls.ts';
import { encodeSnapshot, REG_ERR } from './registry-proto.ts';
import { SHARED_FORK_MAX, SHARED_IO_MAX, SHARED_MSG } from './shared-proto.ts';
import { SOCK_ERR, TcpLib } from './tcp-lib.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

const int32s = (m: ReceivedMsg | undefined): readonly number[] => {
  const it = m?.items.find((i) => i.type === 'int32');
  return it?.type === 'int32' ? it.values : [];
};
const portsOf = (m: ReceivedMsg | undefined): PortName[] => (m === undefined ? [] : m.items.flatMap((i) => (i.type === 'port' ? [i.name] : [])));

/** A task's descriptors of shared connections: fd → (connection id, capability). */
export class SharedFds {
  private readonly fds = new Map<number, { id: number; cap: PortName }>();
  /** The registry's shared-connection service port (a send right). */
  svc: PortName = 0;
  private reply: PortName = 0;

  constructor(private readonly lib: TcpLib) {}

  has(fd: number): boolean {
    return this.fds.has(fd);
  }
  get size(): number {
    return this.fds.size;
  }
  add(fd: number, id: number, cap: PortName): void {
    this.fds.set(fd, { id, cap });
  }
  entries(): [number, { id: number; cap: PortName }][] {
    return [...this.fds];
  }

  private *call(id: number, values: number[], items: MsgItem[]): G<{ kr: number; msg: ReceivedMsg | undefined }> {
    if (this.reply === 0) this.reply = (yield* sys.mach_reply_port({})).name;
    return yield* rpc(this.svc, this.reply, id, [{ type: 'int32', values }, ...items]);
  }

  private static err(code: number | undefined): number {
    if (code === undefined) return SOCK_ERR.ECONNRESET;
    return code === REG_ERR.NOT_OWNER || code === REG_ERR.INVALID ? SOCK_ERR.EBADF : code;
  }

  /** Up to `max` bytes (each byte goes to exactly one reader of the connection); empty at end of stream; a negative error. */
  *read(fd: number, max: number): G<Uint8Array | number> {
    const e = this.fds.get(fd);
    if (e === undefined) return SOCK_ERR.EBADF;
    if (!Number.isInteger(max) || max < 1) return SOCK_ERR.EINVAL;
    this.lib.ctx.spend(this.lib.c.socketCallCycles, 'soreceive');
    const r = yield* this.call(SHARED_MSG.READ, [e.id, Math.min(max, SHARED_IO_MAX)], [{ type: 'port', name: e.cap, disposition: MSG_TYPE.COPY_SEND }]);
    const n = int32s(r.msg)[0];
    if (r.kr !== KERN.SUCCESS || n === undefined || n < 0 || n > SHARED_IO_MAX) return SharedFds.err(r.kr !== KERN.SUCCESS ? undefined : n);
    const d = r.msg?.items.find((i) => i.type === 'inline');
    return d?.type === 'inline' ? d.data : new Uint8Array(0);
  }

  /** Write all of `data`, SHARED_IO_MAX bytes a message (each message's bytes contiguous in the stream); bytes written or a negative error. */
  *write(fd: number, data: Uint8Array): G<number> {
    const e = this.fds.get(fd);
    if (e === undefined) return SOCK_ERR.EBADF;
    this.lib.ctx.spend(this.lib.c.socketCallCycles, 'sosend');
    let off = 0;
    while (off < data.length) {
      const chunk = data.subarray(off, Math.min(data.length, off + SHARED_IO_MAX));
      const r = yield* this.call(SHARED_MSG.WRITE, [e.id], [{ type: 'port', name: e.cap, disposition: MSG_TYPE.COPY_SEND }, { type: 'inline', data: chunk }]);
      const n = int32s(r.msg)[0];
      if (r.kr !== KERN.SUCCESS || n !== chunk.length) return off > 0 ? off : SharedFds.err(r.kr !== KERN.SUCCESS ? undefined : n);
      off += n;
    }
    return off;
  }

  *shutdown(fd: number): G<number> {
    const e = this.fds.get(fd);
    if (e === undefined) return SOCK_ERR.EBADF;
    const r = yield* this.call(SHARED_MSG.SHUTDOWN, [e.id], [{ type: 'port', name: e.cap, disposition: MSG_TYPE.COPY_SEND }]);
    const n = int32s(r.msg)[0];
    return r.kr !== KERN.SUCCESS || n === undefined ? SOCK_ERR.ECONNRESET : n === 0 ? 0 : SharedFds.err(n);
  }

  /** This task's hold ends (its capability goes); the connection closes with its last holder. */
  *close(fd: number): G<number> {
    const e = this.fds.get(fd);
    if (e === undefined) return SOCK_ERR.EBADF;
    this.fds.delete(fd);
    yield* sys.mach_port_deallocate({ name: e.cap });
    return 0;
  }
}

/** What forkShared did. */
export interface ForkResult {
  /** KERN_SUCCESS, or the error of the step that failed. */
  readonly kr: number;
  /** A send right to the child's task port. */
  readonly task: PortName;
  /** Descriptors now shared with the child. */
  readonly shared: readonly number[];
  /** Descriptors of connections the registry refused to take (closed here: their channel is gone). */
  readonly lost: readonly number[];
}

/** SHARE one connection: its descriptor becomes a shared one (or is lost, on a refusal). */
function* shareOne(lib: TcpLib, table: SharedFds, fd: number): G<boolean> {
  const d = yield* lib.detach(fd);
  if (d === undefined) return false;
  const { conn, snap } = d;
  const s = conn.sock;
  const r = yield* rpc(lib.registry, lib.replyPort, SHARED_MSG.SHARE, [
    { type: 'int32', values: [s.localPort, s.remoteIp >>> 0, s.remotePort] },
    { type: 'port', name: lib.taskPort, disposition: MSG_TYPE.COPY_SEND },
    { type: 'port', name: conn.ch.grant.channel, disposition: MSG_TYPE.COPY_SEND }, // the proof of ownership
    { type: 'inline', data: encodeSnapshot(snap) },
  ]);
  const v = int32s(r.msg);
  const p = portsOf(r.msg);
  // The channel was closed by the registry (or is useless now): its names here are dead.
  yield* sys.mach_port_destroy({ name: conn.ch.grant.channel });
  yield* sys.mach_port_destroy({ name: conn.grant.w.sem });
  yield* sys.mach_port_destroy({ name: conn.grant.w.region });
  yield* sys.vm_deallocate({ address: conn.ch.grant.address, size: conn.grant.w.regionBytes });
  if (r.kr !== KERN.SUCCESS || v[0] !== KERN.SUCCESS || p.length !== 2) {
    // Refused: the connection is gone from here; net_channel_close makes the registry inherit it.
    yield* sys.net_channel_close({ channel: conn.ch.grant.channel });
    return false;
  }
  table.add(fd, v[1] ?? 0, p[0]!);
  if (table.svc === 0) table.svc = p[1]!;
  else if (p[1] !== table.svc) yield* sys.mach_port_deallocate({ name: p[1]! });
  return true;
}

/**
 * fork(): a child task (task_create, memory inherited) running `childMain` with its own library, every
 * established connection of this task shared between the two through the registry.
 */
export function* forkShared(lib: TcpLib, childMain: (ctx: GuestContext, lib: TcpLib) => G<void>): G<ForkResult> {
  const table = (lib.shared ??= new SharedFds(lib));
  const shared: number[] = [];
  const lost: number[] = [];
  for (const fd of lib.connFds()) {
    if (yield* shareOne(lib, table, fd)) shared.push(fd);
    else lost.push(fd);
  }
  const entries = table.entries();
  if (entries.length > SHARED_FORK_MAX) return { kr: KERN.RESOURCE_SHORTAGE, task: 0, shared, lost };
  let ticket: PortName = 0;
  if (entries.length > 0) {
    if (table.svc === 0) return { kr: KERN.FAILURE, task: 0, shared, lost };
    const rp = yield* sys.mach_reply_port({});
    const r = yield* rpc(table.svc, rp.name, SHARED_MSG.FORK, [
      { type: 'int32', values: [entries.length, ...entries.map(([, e]) => e.id)] },
      ...entries.map(([, e]): MsgItem => ({ type: 'port', name: e.cap, disposition: MSG_TYPE.COPY_SEND })),
    ]);
    yield* sys.mach_port_destroy({ name: rp.name });
    const p = portsOf(r.msg);
    if (r.kr !== KERN.SUCCESS || int32s(r.msg)[0] !== KERN.SUCCESS || p.length !== 1) return { kr: r.kr !== KERN.SUCCESS ? r.kr : (int32s(r.msg)[0] ?? KERN.FAILURE), task: 0, shared, lost };
    ticket = p[0]!;
  }
  // The child's descriptor table: the shared descriptors' numbers and ids (library state, inherited).
  const inherited = entries.map(([fd, e]) => ({ fd, id: e.id }));
  const nextFd = lib.nextFd;
  const reg = new Uint8Array(ticket === 0 ? 0 : 8);
  if (ticket !== 0) {
    const dv = new DataView(reg.buffer);
    dv.setUint32(0, table.svc, true);
    dv.setUint32(4, ticket, true);
  }
  const rr = yield* sys.mach_ports_register({ ports: reg });
  if (rr.kr !== KERN.SUCCESS) return { kr: rr.kr, task: 0, shared, lost };
  const tc = yield* sys.task_create({
    inheritMemory: true,
    priority: -1,
    program: function* (ctx: GuestContext) {
      const child = yield* TcpLib.init(ctx);
      if (child === undefined) {
        yield* sys.task_exit({ code: 1 });
        return;
      }
      child.nextFd = nextFd;
      if (inherited.length > 0) {
        const t = (child.shared = new SharedFds(child));
        const l = yield* sys.mach_ports_lookup({});
        const svc = l.ports[0] ?? 0;
        const tk = l.ports[1] ?? 0;
        t.svc = svc;
        const r = yield* rpc(svc, child.replyPort, SHARED_MSG.ADOPT, [
          { type: 'int32', values: [] },
          { type: 'port', name: tk, disposition: MSG_TYPE.COPY_SEND },
        ]);
        yield* sys.mach_port_deallocate({ name: tk });
        yield* sys.mach_ports_register({ ports: new Uint8Array(0) });
        const v = int32s(r.msg);
        const caps = portsOf(r.msg);
        if (r.kr === KERN.SUCCESS && v[0] === KERN.SUCCESS) {
          const ids = v.slice(2, 2 + (v[1] ?? 0));
          for (const { fd, id } of inherited) {
            const k = ids.indexOf(id);
            if (k >= 0 && caps[k] !== undefined) t.add(fd, id, caps[k]!);
          }
        }
      }
      yield* childMain(ctx, child);
      yield* sys.task_exit({ code: 0 });
    },
  });
  yield* sys.mach_ports_register({ ports: new Uint8Array(0) });
  if (ticket !== 0) yield* sys.mach_port_deallocate({ name: ticket });
  return { kr: tc.kr, task: tc.task, shared, lost };
}
