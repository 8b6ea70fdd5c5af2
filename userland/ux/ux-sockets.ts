/**
 * The client side of the single server: UX's emulation library as a SocketApi. Every socket call
 * enters by a trap (Mach 3.0 redirects a UNIX system call to the emulation library in the caller's
 * own address space: a real trap here, `null_trap`), pays the library's decode and MIG stub work
 * (`ux.emulatorCallCycles`) and is one Mach RPC to the client's session port at the server
 * (ux-proto.ts), data inline: written bytes are copied into the request (`ux.copyCyclesPerByte`,
 * then the kernel's own copyin/copyout of the inline data), read bytes come back in the reply and
 * are copied out to the caller's buffer.
 *
 * One UxSockets per thread that makes calls (each has its own reply port, as each C thread had
 * its own MIG reply port); descriptors belong to the task, so they are shared by all of a task's
 * instances. Errors are negative SOCK_ERR codes; a dead server reads as ECONNRESET.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestContext } from '../../kernel/abi/guest.ts';
import type { MsgItem, PortName } from '../../kernel/abi/message.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { rpc } from '../mach/ipc.ts';
import { sys } from '../mach/syscalls.ts';
import type { DatagramApi } from '../netlib/datagram-api.ts';
import { POLL_FDS_MAX, type PollFd, type SocketApi } from '../netlib/socket-api.ts';
import { openServiceLink, serviceRequest } from '../netlib/service-link.ts';
import { SOCK_ERR } from '../netlib/tcp-lib.ts';
import { UserClock } from '../netlib/user-clock.ts';
import { uxCosts, type UxCostName } from './costs.ts';
import { UX_IO_MAX, UX_MSG, UX_SERVICE } from './ux-proto.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

export class UxSockets implements SocketApi {
  /** RPCs made (one per socket call, more for writes above UX_IO_MAX). */
  calls = 0;
  /** The AN1 clock page when the task has it mapped (parameter `clockPage`), else clock_get_ns (userland/netlib/user-clock.ts). */
  private readonly clock: UserClock;

  private constructor(
    private readonly ctx: GuestContext,
    private readonly session: PortName,
    private readonly replyPort: PortName,
    private readonly c: Record<UxCostName, number>,
  ) {
    this.clock = new UserClock(ctx.mem, UserClock.pageOf(ctx.params));
  }

  /** Find the server (bootstrap `ux-server`), say HELLO with this task's port, get the session port. */
  static *init(ctx: GuestContext): G<UxSockets | undefined> {
    const l = yield* openServiceLink(UX_SERVICE);
    if (l === undefined) return undefined;
    const r = yield* serviceRequest(l, UX_MSG.HELLO, []);
    const w = r.msg?.items.find((i) => i.type === 'int32');
    const port = r.msg?.items.find((i) => i.type === 'port');
    if (r.kr !== KERN.SUCCESS || w?.type !== 'int32' || w.values[0] !== 0 || port?.type !== 'port') return undefined;
    return new UxSockets(ctx, port.name, l.replyPort, uxCosts(ctx.params));
  }

  /** One emulated system call: the redirected trap, the library's work, the RPC; result and reply data. */
  private *call(id: number, words: readonly number[], data?: Uint8Array): G<{ res: number; data: Uint8Array | undefined; words: readonly number[] }> {
    yield* sys.null_trap({});
    this.ctx.spend(this.c.emulatorCallCycles + (data === undefined ? 0 : this.c.copyCyclesPerByte * data.length));
    const items: MsgItem[] = [{ type: 'int32', values: words }];
    if (data !== undefined) items.push({ type: 'inline', data });
    this.calls++;
    const r = yield* rpc(this.session, this.replyPort, id, items);
    const w = r.msg?.items.find((i) => i.type === 'int32');
    if (r.kr !== KERN.SUCCESS || w?.type !== 'int32') return { res: SOCK_ERR.ECONNRESET, data: undefined, words: [] };
    const d = r.msg!.items.find((i) => i.type === 'inline');
    const out = d?.type === 'inline' ? d.data : undefined;
    if (out !== undefined) this.ctx.spend(this.c.copyCyclesPerByte * out.length, 'copyout');
    return { res: (w.values[0] ?? SOCK_ERR.EINVAL) | 0, data: out, words: w.values }; // int32 words arrive as unsigned 32-bit values
  }

  *socket(): G<number> {
    return (yield* this.call(UX_MSG.SOCKET, [])).res;
  }
  *bind(fd: number, port: number): G<number> {
    return (yield* this.call(UX_MSG.BIND, [fd, port])).res;
  }
  *listen(fd: number, backlog = 5): G<number> {
    return (yield* this.call(UX_MSG.LISTEN, [fd, backlog])).res;
  }
  *accept(fd: number): G<number> {
    return (yield* this.call(UX_MSG.ACCEPT, [fd])).res;
  }
  *connect(fd: number, ip: number, port: number): G<number> {
    return (yield* this.call(UX_MSG.CONNECT, [fd, ip | 0, port])).res;
  }
  *read(fd: number, max: number, timeoutNs = Number.POSITIVE_INFINITY): G<Uint8Array | number> {
    const timeoutUs = timeoutNs === Number.POSITIVE_INFINITY ? 0 : Math.max(1, Math.ceil(timeoutNs / 1000));
    const r = yield* this.call(UX_MSG.READ, [fd, Math.min(max, UX_IO_MAX), timeoutUs]);
    if (r.res < 0) return r.res;
    return r.data ?? new Uint8Array(0);
  }
  *write(fd: number, data: Uint8Array): G<number> {
    let off = 0;
    do {
      const chunk = data.subarray(off, Math.min(data.length, off + UX_IO_MAX));
      const r = yield* this.call(UX_MSG.WRITE, [fd], chunk);
      if (r.res < 0) return r.res;
      if (r.res === 0 && chunk.length > 0) return SOCK_ERR.EPIPE;
      off += r.res;
    } while (off < data.length);
    return off;
  }
  *shutdown(fd: number): G<number> {
    return (yield* this.call(UX_MSG.SHUTDOWN, [fd])).res;
  }
  /** Close returns at once; the server finishes the FIN exchange (BSD: no linger by default). */
  *close(fd: number): G<number> {
    return (yield* this.call(UX_MSG.CLOSE, [fd])).res;
  }
  /** poll(2) as one POLL RPC (the server parks it until an entry is ready or the timeout, in µs, passes). */
  *poll(fds: readonly PollFd[], timeoutNs = Number.POSITIVE_INFINITY): G<number[] | number> {
    if (!Array.isArray(fds) || fds.length > POLL_FDS_MAX || typeof timeoutNs !== 'number' || !(timeoutNs >= 0)) return SOCK_ERR.EINVAL;
    const words: number[] = [timeoutNs === Number.POSITIVE_INFINITY ? -1 : Math.min(0x7fff_ffff, Math.ceil(timeoutNs / 1000)), fds.length];
    for (const f of fds as readonly unknown[]) {
      if (typeof f !== 'object' || f === null) return SOCK_ERR.EINVAL;
      const { fd, events } = f as { fd?: unknown; events?: unknown };
      if (!Number.isSafeInteger(fd) || !Number.isSafeInteger(events) || Math.abs(fd as number) > 0x7fff_ffff || (events as number) < 0 || (events as number) > 0x7fff_ffff) return SOCK_ERR.EINVAL;
      words.push(fd as number, events as number);
    }
    const r = yield* this.call(UX_MSG.POLL, words);
    if (r.res < 0) return r.res;
    const d = r.data ?? new Uint8Array(0);
    if (d.length !== 4 * fds.length) return SOCK_ERR.EINVAL;
    return fds.map((_, i) => (d[4 * i]! | (d[4 * i + 1]! << 8) | (d[4 * i + 2]! << 16) | (d[4 * i + 3]! << 24)) >>> 0);
  }
  *now(): G<number> {
    return yield* this.clock.now();
  }
  logFields(): string {
    return `calls=${this.calls}`;
  }

  // ---- UDP (issue 17): one RPC a call, the datagram inline --------------------------------------

  *udpSocket(): G<number> {
    return (yield* this.call(UX_MSG.UDP_SOCKET, [])).res;
  }
  *sendto(fd: number, data: Uint8Array, ip?: number, port?: number): G<number> {
    if (data.length > UX_IO_MAX) return -40; // EMSGSIZE
    return (yield* this.call(UX_MSG.SENDTO, [fd, ip === undefined ? 0 : ip | 0, port ?? 0], data)).res;
  }
  *recvfrom(fd: number, max: number, timeoutNs = Number.POSITIVE_INFINITY): G<{ readonly data: Uint8Array; readonly ip: number; readonly port: number } | number | null> {
    const timeoutUs = timeoutNs === Number.POSITIVE_INFINITY ? 0 : Math.max(1, Math.ceil(timeoutNs / 1000));
    const r = yield* this.call(UX_MSG.RECVFROM, [fd, Math.min(max, UX_IO_MAX), timeoutUs]);
    if (r.res === SOCK_ERR.ETIMEDOUT) return null;
    if (r.res < 0) return r.res;
    return { data: r.data ?? new Uint8Array(0), ip: (r.words[1] ?? 0) >>> 0, port: r.words[2] ?? 0 };
  }
}

/** The single server's datagram sockets as a DatagramApi (userland/netlib/datagram-api.ts). */
export function* uxDatagrams(ctx: GuestContext): G<DatagramApi | undefined> {
  const s = yield* UxSockets.init(ctx);
  if (s === undefined) return undefined;
  return {
    socket: () => s.udpSocket(),
    bind: (fd, port) => s.bind(fd, port),
    connect: (fd, ip, port) => s.connect(fd, ip, port),
    sendto: (fd, data, ip, port) => s.sendto(fd, data, ip, port),
    recvfrom: (fd, max, timeoutNs) => s.recvfrom(fd, max, timeoutNs),
    close: (fd) => s.close(fd),
    now: () => s.now(),
  };
}

/** SocketOpener for the single server. */
export function* uxSockets(ctx: GuestContext): G<SocketApi | undefined> {
  return yield* UxSockets.init(ctx);
}
