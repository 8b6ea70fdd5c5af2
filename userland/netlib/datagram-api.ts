/**
 * The datagram socket interface (issue 17) the UDP applications (userland/apps/udp-ping.ts) are
 * written against, so the same program runs over every organization that provides it. Calls are
 * generators (an implementation may trap or send a message); errors are negative codes (UDP_ERR).
 */
import type { GuestContext } from '../../kernel/abi/guest.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { KERN } from '../../kernel/abi/errors.ts';
import { SOCK_ERRNO } from '../../kernel/abi/socket.ts';
import { sys } from '../mach/syscalls.ts';
import { UdpLib } from './udp-lib.ts';
import { UserClock } from './user-clock.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

export interface Datagram {
  readonly data: Uint8Array;
  readonly ip: number;
  readonly port: number;
}

export interface DatagramApi {
  socket(): G<number>;
  /** Bind to `port` (0: ephemeral): 0 or a negative error. */
  bind(fd: number, port: number): G<number>;
  /** Default destination and the only source received from: 0 or a negative error. */
  connect(fd: number, ip: number, port: number): G<number>;
  /** One datagram (to the connected peer when `ip` is undefined): bytes sent or a negative error. */
  sendto(fd: number, data: Uint8Array, ip?: number, port?: number): G<number>;
  /** The next datagram, waiting at most `timeoutNs`: a datagram, a negative error, or null on timeout. */
  recvfrom(fd: number, max: number, timeoutNs?: number): G<Datagram | number | null>;
  close(fd: number): G<number>;
  /** The clock the implementation measures with (ns). */
  now(): G<number>;
}

export type DatagramOpener = (ctx: GuestContext) => G<DatagramApi | undefined>;

/** The library's datagram sockets (UdpLib): found through the registry server. */
export function* libraryDatagrams(ctx: GuestContext): G<DatagramApi | undefined> {
  const lib = yield* UdpLib.init(ctx);
  if (lib === undefined) return undefined;
  return {
    *socket() { return lib.socket(); },
    bind: (fd, port) => lib.bind(fd, port),
    connect: (fd, ip, port) => lib.connect(fd, ip, port),
    sendto: (fd, data, ip, port) => lib.sendto(fd, data, ip, port),
    recvfrom: (fd, max, timeoutNs) => lib.recvfrom(fd, max, timeoutNs),
    close: (fd) => lib.close(fd),
    now: () => lib.now(),
  };
}

/** Bytes of the user buffer a kernel sendto/recvfrom moves (one datagram). */
const KDGRAM_BUFFER_BYTES = 64 * 1024;

/**
 * The monolithic kernel's datagram sockets (kernel/inkernel, traps socket_dgram, bind, connect,
 * sendto, recvfrom, close): one trap a call; the bytes cross in one user buffer (vm_allocate'd at
 * open: the application's own memory, as in kernel-sockets.ts), the kernel charges copyin/copyout.
 */
export function* kernelDatagrams(ctx: GuestContext): G<DatagramApi | undefined> {
  const a = yield* sys.vm_allocate({ address: 0, size: KDGRAM_BUFFER_BYTES, anywhere: true });
  if (a.kr !== KERN.SUCCESS) return undefined;
  const buf = a.address;
  const clock = new UserClock(ctx.mem, UserClock.pageOf(ctx.params));
  return {
    *socket() { return (yield* sys.socket_dgram({})).n; },
    *bind(fd, port) { return (yield* sys.bind({ fd, port })).n; },
    *connect(fd, ip, port) { return (yield* sys.connect({ fd, ip: ip >>> 0, port })).n; },
    *sendto(fd, data, ip, port) {
      if (data.length > KDGRAM_BUFFER_BYTES) return SOCK_ERRNO.EMSGSIZE;
      ctx.mem.writeBytes(buf, data);
      return (yield* sys.sendto({ fd, address: buf, length: data.length, ip: ip === undefined ? 0 : ip >>> 0, port: port ?? 0 })).n;
    },
    *recvfrom(fd, max, timeoutNs) {
      const t = timeoutNs === undefined || !Number.isFinite(timeoutNs) ? 0 : Math.max(1, Math.ceil(timeoutNs));
      const r = yield* sys.recvfrom({ fd, address: buf, length: Math.min(max, KDGRAM_BUFFER_BYTES), timeoutNs: t });
      if (r.n === SOCK_ERRNO.ETIMEDOUT) return null;
      if (r.n < 0) return r.n;
      return { data: ctx.mem.readBytes(buf, r.n), ip: r.ip >>> 0, port: r.port };
    },
    *close(fd) { return (yield* sys.close({ fd })).n; },
    now: () => clock.now(),
  };
}
