/**
 * Error numbers of the in-kernel socket calls (kernel/inkernel), as negative values in a result's
 * `n`: 4.4BSD errno values (sys/errno.h), the same numbers the library's SOCK_ERR uses
 * (userland/netlib/tcp-lib.ts), so an application sees the same codes on every organization.
 * Pure data: userland imports this file.
 */
export const SOCK_ERRNO = {
  EBADF: -9,
  EFAULT: -14,
  EINVAL: -22,
  EPIPE: -32,
  EMFILE: -24,
  ENOBUFS: -55,
  EADDRINUSE: -48,
  ECONNRESET: -54,
  EISCONN: -56,
  ENOTCONN: -57,
  ETIMEDOUT: -60,
  ECONNREFUSED: -61,
  /** UDP: a datagram larger than the link MTU less 28 bytes (never fragmented). */
  EMSGSIZE: -40,
  /** UDP: sendto without a destination on an unconnected socket. */
  EDESTADDRREQ: -39,
  EHOSTUNREACH: -65,
} as const;
export type SockErrno = (typeof SOCK_ERRNO)[keyof typeof SOCK_ERRNO];
