/**
 * The socket interface the benchmark applications (userland/apps/ttcp.ts) are written against, so
 * the same application code runs over every organization: the linked library (TcpLib, through
 * `librarySockets` in lib-sockets.ts), the single server (userland/ux/ux-sockets.ts) and the
 * monolithic kernel. Every call is a generator (`yield*` it from a guest thread): an
 * implementation may trap or send a message for any of them (on the single server even `socket`
 * and `bind` are RPCs). Errors are negative SOCK_ERR codes (tcp-lib.ts), never exceptions.
 */
import type { GuestContext } from '../../kernel/abi/guest.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

export interface SocketApi {
  /** A new unconnected socket: fd ≥ 0 or a negative error. */
  socket(): G<number>;
  /** Set the local port of an unconnected socket: 0 or a negative error. */
  bind(fd: number, port: number): G<number>;
  listen(fd: number, backlog?: number): G<number>;
  /** One connection from a listening socket: a new fd or a negative error. */
  accept(fd: number): G<number>;
  /** Active open: 0 (fd is connected) or a negative error. */
  connect(fd: number, ip: number, port: number): G<number>;
  /** Up to `max` bytes (blocking until some arrive); empty at end of stream; a negative error. */
  read(fd: number, max: number, timeoutNs?: number): G<Uint8Array | number>;
  /** Write all of `data` (blocking while the send buffer is full): bytes written or a negative error. */
  write(fd: number, data: Uint8Array): G<number>;
  shutdown(fd: number): G<number>;
  close(fd: number, lingerNs?: number): G<number>;
  /**
   * poll(2) over this implementation's sockets (issue 17 item 2): one revents word per entry
   * (POLL bits), or a negative error for bad arguments (EINVAL). Waits until at least one entry
   * has revents or `timeoutNs` of the implementation's clock passes (0: just look; Infinity: no
   * limit). Optional: an organization without a multiplexed wait leaves it out (`selectOver`
   * then answers EINVAL).
   */
  poll?(fds: readonly PollFd[], timeoutNs?: number): G<number[] | number>;
  /** The clock the implementation's timers run on (ns). */
  now(): G<number>;
  /**
   * Implementation-specific `key=value` fields the applications put in their result lines
   * ('' for none): a sender's (`'sender'`) or a receiver's (`'receiver'`).
   */
  logFields(kind: 'sender' | 'receiver'): string;
  /** The last active open's phases, for an implementation that measures them (the library: P Table 4's breakdown). */
  setupPhases?(): SetupPhases | undefined;
}

/** poll(2)'s event bits (the 4.3BSD-Reno / POSIX values). ERR, HUP and NVAL are reported whether asked for or not. */
export const POLL = { IN: 0x001, OUT: 0x004, ERR: 0x008, HUP: 0x010, NVAL: 0x020 } as const;
/** The most descriptors one poll/select may name: NOFILE = 64 in 4.3BSD / Ultrix 4 (and the kernel's semaphore_wait_any limit). */
export const POLL_FDS_MAX = 64;

export interface PollFd {
  readonly fd: number;
  /** POLL.IN and/or POLL.OUT (ERR and HUP may be given; other bits are an error). */
  readonly events: number;
}

/** select(2) over a SocketApi's poll: the ready subsets of each set, or a negative error. */
export function* selectOver(
  api: SocketApi,
  read: readonly number[],
  write: readonly number[],
  except: readonly number[],
  timeoutNs = Number.POSITIVE_INFINITY,
): G<{ n: number; read: number[]; write: number[]; except: number[] } | number> {
  if (api.poll === undefined) return -22; // EINVAL: no multiplexed wait in this organization
  const fds: PollFd[] = [
    ...read.map((fd) => ({ fd, events: POLL.IN })),
    ...write.map((fd) => ({ fd, events: POLL.OUT })),
    ...except.map((fd) => ({ fd, events: 0 })),
  ];
  const r = yield* api.poll(fds, timeoutNs);
  if (typeof r === 'number') return r;
  const out = { n: 0, read: [] as number[], write: [] as number[], except: [] as number[] };
  for (let i = 0; i < fds.length; i++) {
    const ev = r[i] ?? 0;
    const f = fds[i]!;
    if ((ev & POLL.NVAL) !== 0) return -9; // EBADF, as select(2)
    if (i < read.length) {
      if ((ev & (POLL.IN | POLL.HUP | POLL.ERR)) !== 0) out.read.push(f.fd);
    } else if (i < read.length + write.length) {
      if ((ev & (POLL.OUT | POLL.ERR)) !== 0) out.write.push(f.fd);
    } else if ((ev & (POLL.ERR | POLL.HUP)) !== 0) out.except.push(f.fd);
  }
  out.n = out.read.length + out.write.length + out.except.length;
  return out;
}

/** Connection set-up phases in µs (the library's registry measures them; see paper-table4-library). */
export interface SetupPhases {
  readonly totalUs: number;
  readonly outboundUs: number;
  readonly peerRttUs: number;
  readonly channelUs: number;
  readonly tcbUs: number;
  readonly registryTotalUs: number;
  readonly importUs: number;
}

/** How an application finds its socket implementation (undefined: none on this host). */
export type SocketOpener = (ctx: GuestContext) => G<SocketApi | undefined>;
