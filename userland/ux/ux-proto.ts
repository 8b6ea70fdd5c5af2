/**
 * The single server's request protocol (a MIG interface in UX; here message ids and int32 words).
 * A client first sends HELLO to the service port `ux-server` (bootstrap) with a send right to its
 * task port; the reply carries a send right to the client's own session port (UX gave each
 * process its own port to the server). Every socket call is then one RPC on the session port:
 * request words `[fd, a, b]` (+ the data inline for WRITE), reply id = request id + 100 with
 * words `[result]` (+ the data inline for READ). A negative result is a SOCK_ERR code.
 */
export const UX_SERVICE = 'ux-server';

export const UX_MSG = {
  HELLO: 3300,
  SOCKET: 3301,
  BIND: 3302,
  LISTEN: 3303,
  ACCEPT: 3304,
  CONNECT: 3305,
  WRITE: 3306,
  READ: 3307,
  SHUTDOWN: 3308,
  CLOSE: 3309,
  /**
   * poll(2) (issue 17 item 2): words `[timeoutUs, n, fd0, events0, …]` (timeoutUs −1: no limit, 0:
   * just look); reply `[ready]` + one u32 revents per entry inline (little-endian), or `[error]`.
   */
  POLL: 3313,
  /** UDP (issue 17): a new datagram socket; BIND, CONNECT and CLOSE work on it. */
  UDP_SOCKET: 3310,
  /** [fd, ip (0: the connected peer), port] + the datagram inline; reply [bytes sent]. */
  SENDTO: 3311,
  /** [fd, max, timeoutUs (0: none)]; reply [bytes, source ip, source port] + the datagram inline (−ETIMEDOUT when the time ran out). */
  RECVFROM: 3312,
} as const;

/** Most bytes one READ reply or one WRITE request carries inline (the emulation library splits larger writes). */
export const UX_IO_MAX = 16 * 1024;
