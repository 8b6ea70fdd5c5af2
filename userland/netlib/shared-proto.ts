/**
 * Connections shared across fork (issue 17 item 2; P §3.5: "migrating shared connection state to a
 * trusted agent"): the messages between the library and the registry's shared-connection service.
 * Pure data. docs/fork.md describes the design.
 *
 * SHARE goes to the registry's request port (it carries the channel right as proof of ownership,
 * as RELEASE does, and the TCB). Every other request goes to the shared-connection service port
 * the SHARE reply hands out, and names a connection by its id AND carries the connection's
 * capability (a send right to the connection's port, whose receive right the registry holds):
 * a request whose capability is not that connection's is refused with REG_ERR.NOT_OWNER.
 */

export const SHARED_MSG = {
  /**
   * To the registry's request port: int32 [localPort, remoteIp, remotePort], the caller's task port
   * (COPY_SEND), the connection's channel right (COPY_SEND: the proof), the TCB inline. The registry
   * closes the channel and runs the connection in its own engine. Reply int32 [kr, connId], then
   * the connection's capability (a send right) and a send right to the service port.
   */
  SHARE: 0x5430,
  /** int32 [connId, max], the capability (COPY_SEND). Reply int32 [n ≥ 0 | SOCK_ERR], inline data (n = 0: end of stream). Waits until data, end of stream or an error. */
  READ: 0x5431,
  /** int32 [connId], the capability, inline data (≤ SHARED_IO_MAX). Reply int32 [n | SOCK_ERR] once all of it is in the send buffer. */
  WRITE: 0x5432,
  /** int32 [connId], the capability. Reply int32 [0 | SOCK_ERR]: our FIN (no more writes by any holder). */
  SHUTDOWN: 0x5433,
  /** int32 [n, connId × n], n capabilities (COPY_SEND). Reply int32 [kr], a send right to a fresh ticket port naming those connections. */
  FORK: 0x5434,
  /** int32 [], the ticket (COPY_SEND). Reply int32 [kr, n, connId × n], n capabilities (one per connection). The ticket is used up. */
  ADOPT: 0x5435,
} as const;

/** Bytes one READ or WRITE moves at most; a WRITE up to this size is never interleaved with another holder's. */
export const SHARED_IO_MAX = 8192;
/** Connections one FORK ticket may name (the message's int32 words and rights). */
export const SHARED_FORK_MAX = 32;
