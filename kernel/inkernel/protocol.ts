/**
 * The in-kernel protocol-module interface (DESIGN "Layers": the monolithic kernel gets the shared
 * engine without importing userland). The kernel's socket layer (inkernel.ts) drives a TCP/IP/ARP
 * stack through these types only; studies/ links the sans-I/O engine (userland/inet HostStack,
 * which satisfies them structurally) into the kernel at boot, the way Ultrix linked 4.3BSD TCP
 * into its kernel. Time is integer ns on the run's clock; randomness is injected.
 */

/** TCP errors a connection ends with (RFC 793 names, errno spelling). */
export type InetConnError = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'ECONNABORTED';
/** Errors a socket call returns at once. */
export type InetCallError = 'ENOTCONN' | 'EPIPE' | 'EISCONN' | 'EINVAL';

/** One TCP connection (the engine's socket). */
export interface InetSocket {
  readonly state: string;
  readonly error: InetConnError | null;
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
  readonly readableBytes: number;
  readonly writableBytes: number;
  /** The peer closed and everything it sent has been read. */
  readonly eof: boolean;
  readonly isEstablished: boolean;
  write(now: number, data: Uint8Array): number | InetCallError;
  read(now: number, max?: number): Uint8Array;
  shutdown(now: number): InetCallError | null;
  close(now: number): InetCallError | null;
  /** Drop the connection with an RST to the peer. */
  abort(now: number): void;
}

export interface InetListener {
  accept(): InetSocket | null;
  readonly pendingCount: number;
  close(now: number): void;
}

/** Counters the socket layer reads to tell good input from bad. */
export interface InetCounters {
  readonly linkErrors: number;
  readonly ipBadHeader: number;
  readonly tcpBadSegment: number;
}

/** UDP socket errors (so_error and call errors). */
export type InetUdpError = 'EINVAL' | 'EADDRINUSE' | 'EMSGSIZE' | 'EDESTADDRREQ' | 'ECONNREFUSED' | 'EHOSTUNREACH' | 'ENOTCONN';

/** One UDP socket of the engine (issue 17). */
export interface InetUdpSocket {
  readonly localPort: number;
  readonly remote: { readonly ip: number; readonly port: number } | null;
  readonly pendingCount: number;
  readonly error: InetUdpError | null;
  connect(ip: number, port: number): InetUdpError | null;
  sendTo(now: number, data: Uint8Array, ip?: number, port?: number): number | InetUdpError;
  recvFrom(): { readonly srcIp: number; readonly srcPort: number; readonly data: Uint8Array } | InetUdpError | null;
  close(): void;
}

/** A host's stack on one interface: link frames in and out, timers by deadline. */
export interface InetStack {
  receiveFrame(now: number, frame: Uint8Array): void;
  takeFrames(): Uint8Array[];
  pollAt(): number | null;
  poll(now: number): void;
  listen(port: number, backlog?: number): InetListener | InetCallError;
  connect(now: number, remoteIp: number, remotePort: number, opts?: { localPort?: number }): InetSocket | InetCallError;
  /** A UDP socket on `port` (0: ephemeral). */
  udpBind(port?: number): InetUdpSocket | InetUdpError;
  readonly counters: InetCounters;
  readonly connectionCount: number;
}

export interface InetStackOptions {
  readonly link: 'ethernet' | 'an1';
  /** 48-bit MAC as an integer. */
  readonly mac: number;
  readonly ip: number;
  readonly random: { nextU32(): number };
  /** Ethernet: pad frames to 60 bytes (the LANCE driver pads too; harmless). */
  readonly minFrameBytes?: number;
}

/** What studies/ hands the kernel at boot: builds the stack the socket layer runs. */
export type InetStackFactory = (options: InetStackOptions) => InetStack;
