/**
 * The monolithic kernel's sockets (kernel/inkernel, traps 80–88) as a SocketApi: each call is one
 * trap, as a C program's call of Ultrix's libc stub. Data crosses in the caller's own memory: the
 * wrapper keeps one user buffer (vm_allocate'd at open) that stands for the C program's buffer —
 * putting the bytes there and taking them out is the application's own memory, not a copy the
 * kernel does, so it is not charged; the kernel charges its copyin and copyout.
 *
 * The clock: the AN1 controller's clock page when the task has it mapped (parameter `clockPage`,
 * the same measuring clock the library's applications read), else clock_get_ns (a trap, as
 * gettimeofday is).
 *
 * Not modelled: re-synchronising the clock page after a blocking call longer than its 32-bit wrap
 * (≈ 172 s; the library knows its waits' limits and does), and receive timeouts (SO_RCVTIMEO) — `read`'s `timeoutNs` is ignored and a recv waits
 * for data, end of stream or an error, as a plain BSD read does; no benchmark program uses one.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestContext } from '../../kernel/abi/guest.ts';
import { SOCK_ERRNO } from '../../kernel/abi/socket.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { sys } from '../mach/syscalls.ts';
import { POLL_FDS_MAX, type PollFd, type SocketApi } from './socket-api.ts';
import { UserClock } from './user-clock.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

/** Bytes of the user buffer one send/recv trap moves at most (a larger write is several traps). */
export const KSOCK_BUFFER_BYTES = 64 * 1024;

class KernelSockets implements SocketApi {
  private readonly clock: UserClock;
  /** Traps that failed with a bad user address (EFAULT). */
  faults = 0;

  constructor(
    private readonly ctx: GuestContext,
    private readonly buf: number,
    clockPage: number,
  ) {
    this.clock = new UserClock(ctx.mem, clockPage);
  }

  *socket(): G<number> {
    return (yield* sys.socket({})).n;
  }
  *bind(fd: number, port: number): G<number> {
    return (yield* sys.bind({ fd, port })).n;
  }
  *listen(fd: number, backlog = 5): G<number> {
    return (yield* sys.listen({ fd, backlog })).n;
  }
  *accept(fd: number): G<number> {
    return (yield* sys.accept({ fd })).n;
  }
  *connect(fd: number, ip: number, port: number): G<number> {
    return (yield* sys.connect({ fd, ip: ip >>> 0, port })).n;
  }
  *read(fd: number, max: number, _timeoutNs?: number): G<Uint8Array | number> {
    const r = yield* sys.recv({ fd, address: this.buf, length: Math.max(0, Math.min(max, KSOCK_BUFFER_BYTES)) });
    if (r.kr !== KERN.SUCCESS) this.faults++;
    if (r.n < 0) return r.n;
    return this.ctx.mem.readBytes(this.buf, r.n);
  }
  *write(fd: number, data: Uint8Array): G<number> {
    let off = 0;
    while (off < data.length) {
      const n = Math.min(KSOCK_BUFFER_BYTES, data.length - off);
      this.ctx.mem.writeBytes(this.buf, data.subarray(off, off + n));
      const r = yield* sys.send({ fd, address: this.buf, length: n });
      if (r.kr !== KERN.SUCCESS) this.faults++;
      if (r.n < 0) return off > 0 ? off : r.n;
      off += r.n;
      if (r.n < n) break;
    }
    return off;
  }
  *shutdown(fd: number): G<number> {
    return (yield* sys.shutdown({ fd })).n;
  }
  *close(fd: number): G<number> {
    return (yield* sys.close({ fd })).n;
  }
  /** poll(2) through the in-kernel `poll` trap (the same checks and bits as the library's TcpLib.poll). */
  *poll(fds: readonly PollFd[], timeoutNs = Number.POSITIVE_INFINITY): G<number[] | number> {
    if (!Array.isArray(fds) || fds.length > POLL_FDS_MAX || typeof timeoutNs !== 'number' || !(timeoutNs >= 0)) return SOCK_ERRNO.EINVAL;
    const b = new Uint8Array(8 * fds.length);
    const v = new DataView(b.buffer);
    for (let i = 0; i < fds.length; i++) {
      const f = fds[i] as unknown;
      if (typeof f !== 'object' || f === null) return SOCK_ERRNO.EINVAL;
      const { fd, events } = f as { fd?: unknown; events?: unknown };
      if (!Number.isSafeInteger(fd) || !Number.isSafeInteger(events) || (fd as number) < -0x8000_0000 || (fd as number) > 0x7fff_ffff || (events as number) < 0 || (events as number) > 0xffff_ffff) return SOCK_ERRNO.EINVAL;
      v.setInt32(8 * i, fd as number, true);
      v.setUint32(8 * i + 4, events as number, true);
    }
    const timed = timeoutNs !== Number.POSITIVE_INFINITY;
    const r = yield* sys.poll({ fds: b, timed, ns: timed ? Math.ceil(timeoutNs) : 0 });
    return r.n < 0 ? r.n : [...r.revents];
  }
  *now(): G<number> {
    return yield* this.clock.now();
  }
  logFields(kind: 'sender' | 'receiver'): string {
    return kind === 'sender' ? `faults=${this.faults}` : '';
  }
}

/** SocketOpener for the in-kernel sockets: allocates the user buffer; undefined if that fails. */
export function* kernelSockets(ctx: GuestContext): G<SocketApi | undefined> {
  const a = yield* sys.vm_allocate({ address: 0, size: KSOCK_BUFFER_BYTES, anywhere: true });
  if (a.kr !== KERN.SUCCESS) return undefined;
  return new KernelSockets(ctx, a.address, UserClock.pageOf(ctx.params));
}

export { SOCK_ERRNO };
