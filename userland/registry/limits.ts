/**
 * The registry server's limits (issue 13): every per-task quota and every range a request is
 * checked against, in one place, with its value and its reason. A request beyond a quota is
 * refused with REG_ERR.QUOTA; a malformed or out-of-range request with REG_ERR.INVALID; the AN1
 * out of BQIs with REG_ERR.NO_BQI. Each can be changed per registry through its parameters
 * (same names), e.g. a server that holds more connections on AN1.
 *
 * 4.3BSD and Ultrix 4 give a process at most NOFILE = 64 descriptors (sys/param.h): a listening
 * socket, a connection being set up, an accept in progress and an established connection each
 * take one, so 64 is the ceiling a program of the paper's time could reach for each of them.
 */
export const REGISTRY_LIMITS = {
  /** Connections of one task still in their handshake (CONNECT sent, no reply yet). NOFILE. */
  pendingConnectsPerTask: 64,
  /** ACCEPT requests of one task waiting for a connection (each holds a reply right). NOFILE. */
  pendingAcceptsPerTask: 64,
  /** Ports one task listens on. NOFILE (and it stops one task from taking every ephemeral port: F9). */
  listenPortsPerTask: 64,
  /** Connections handed to one task (channels it got from the registry and still holds). NOFILE. */
  channelsPerTask: 64,
  /**
   * AN1 BQIs charged to one task: its connections' (set-up and established) and those still held
   * after its connections ended (BQI lifetime: 2·MSL). A quarter of the board's 63: one task can
   * never take them all (F4), and neither can three together (3 × 15 = 45 leaves 18 for everyone
   * else). The generated adversaries found the earlier limit, 32, too high: two tasks of 31 and 32
   * pending connects to an unreachable peer took all 63 (seed 972990686). Tasks beyond that can
   * still share the board out among themselves: BQIs are a per-host resource the registry can
   * only ration, and a BQI still named by a peer cannot be taken back (F1/F2).
   */
  bqisPerTask: 15,
  /**
   * Names in the registry's space held on one task's behalf (its task port, reply rights, channel
   * rights): ≥ the sum of the ceilings above that hold names (64 + 64 + 64) plus the task port.
   * The kernel gives a space 4096 names (kernel/ipc NAMES_MAX): 21 tasks at their quota fit.
   */
  namesPerTask: 193,
  /** Listen backlog (connections completed before the application accepts): SOMAXCONN in 4.3BSD is 5; the engine allows up to 64. */
  backlogMax: 64,
  /**
   * Rate control (P §3.5, issue 13 F8): the part of a link's capacity (kernel/abi/netio.ts
   * NETIO_LINK_BYTES_PER_SECOND, wire bytes/s) that CONNECT and ACCEPT may reserve, in percent.
   * The rest is never reserved, so connections without a reservation (best effort: the network
   * I/O module shares the unreserved capacity equally among them) always get at least 20 % of
   * the link between them, and the peer's acknowledgements have room on a shared Ethernet.
   */
  reservablePercent: 80,
  /**
   * Token-bucket depth of a connection's channel, wire bytes: what the device's transmit queue
   * holds (Ethernet: the LANCE's 16 transmit buffers × 1538 wire bytes of a maximum frame;
   * AN1: the module's 32 transmit pages × 1537). A connection whose rate is the whole link is
   * then never held by its bucket, only by the device, exactly as without rate control (the
   * wire drains the bucket's refill rate at most, and at most a full queue is outstanding).
   */
  rateBurstEthernet: 16 * 1538,
  rateBurstAn1: 32 * 1537,
  /** Bytes of a TCB handed over with RELEASE: the engine's snapshot of a connection (send and receive buffers up to 64 KB each, as JSON numbers). */
  tcbBytesMax: 1 << 20,
} as const;

export type RegistryLimits = { -readonly [K in keyof typeof REGISTRY_LIMITS]: number };

/** The limits a registry runs with: REGISTRY_LIMITS, each overridable by a numeric parameter of the same name. */
export function registryLimits(params: Readonly<Record<string, unknown>>): RegistryLimits {
  const out = { ...REGISTRY_LIMITS } as RegistryLimits;
  for (const k of Object.keys(out) as (keyof RegistryLimits)[]) {
    const v = params[k];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) out[k] = v;
  }
  return out;
}

/** A TCP port a request may name (1..65535). */
export const validPort = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= 65535;

/** A remote IPv4 address a CONNECT may name: not 0.0.0.0, not class D/E (multicast, reserved, broadcast). */
export const validRemoteIp = (ip: number): boolean => {
  const a = ip >>> 0;
  return Number.isInteger(ip) && a !== 0 && a >>> 28 < 0xe;
};
