/**
 * The datagram socket interface (issue 17) the UDP applications (userland/apps/udp-ping.ts) are
 * written against, so the same program runs over every organization that provides it. Calls are
 * generators (an implementation may trap or send a message); errors are negative codes (UDP_ERR).
 */
import type { GuestContext } from '../../kernel/abi/guest.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { UdpLib } from './udp-lib.ts';

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
