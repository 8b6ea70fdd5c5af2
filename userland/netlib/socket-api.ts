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
