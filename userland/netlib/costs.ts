/**
 * User-level cycle costs of the protocol library, the registry server and the single server
 * (guests cannot read the cost table). Each value is mirrored in
 * emulator/host/costs/library-costs.ts with its source (MB93 Table 4, TCP, server column, per
 * layer); a test (test/system/library/costs.test.ts) checks the two agree. Scenarios may override
 * a value through a task parameter of the same name (`lib.tcpInputCycles` → param `tcpInputCycles`).
 * The per-layer charges themselves are made by userland/inet/layer-costs.ts.
 */
export const LIB_COSTS = {
  /** tcp_output fixed part (MB93 server column, 224/447 µs). */
  tcpOutputCycles: 5596,
  /** tcp_output per data byte (slope of the same row). */
  tcpOutputCyclesPerByte: 3.821,
  /** ip_output per datagram (MB93 server column, 31/25 µs, mean). */
  ipOutputCycles: 700,
  /** Link header build per frame sent (≈ 30 instructions). */
  linkCycles: 45,
  /** mbuf/queue per received frame (MB93 server column, 79/58 µs, geometric mean). */
  mbufQueueCycles: 1692,
  /** ipintr per received datagram (MB93 server column, 127/95 µs, geometric mean). */
  ipintrCycles: 2746,
  /** tcp_input fixed part (MB93 server column, 249/365 µs). */
  tcpInputCycles: 6223,
  /** tcp_input per data byte (slope of the same row). */
  tcpInputCyclesPerByte: 1.988,
  /** udp_output fixed part (MB93 UDP, server column, 229/398 µs at 1/1472 B). */
  udpOutputCycles: 5722,
  /** udp_output per data byte (slope of the same row). */
  udpOutputCyclesPerByte: 2.872,
  /** udp_input fixed part (MB93 UDP, server column, 61/273 µs). */
  udpInputCycles: 1521,
  /** udp_input per data byte (slope of the same row). */
  udpInputCyclesPerByte: 3.603,
  /** User-level copy per byte between the application buffer and the socket buffer in the shared region (= cpu.memcpyCyclesPerByte). */
  copyCyclesPerByte: 1,
  /** Socket layer per read/write call (sosend/soreceive bookkeeping ≈ 130 instructions, as 4.3BSD's socket layer) → 200 cycles. */
  socketCallCycles: 200,
  /** Library upcall dispatch on a packet-arrival wake-up: one C-thread switch (= cthreads.switchCycles). */
  upcallCycles: 50,
  /** Registry server: port allocation and connection bookkeeping per request (hash of the port table, record set-up ≈ 200 instructions). */
  registryRequestCycles: 300,
  /** Registry server or library: marshal/unmarshal the TCP state (≈ 40 words of TCB moved field by field, ≈ 4 instructions a word). */
  tcbTransferCycles: 240,
} as const;

export type LibCostName = keyof typeof LIB_COSTS;

/** The costs a guest uses: defaults, overridden by task parameters of the same name. */
export function libCosts(params: Readonly<Record<string, unknown>>): Record<LibCostName, number> {
  const out = { ...LIB_COSTS } as Record<LibCostName, number>;
  for (const k of Object.keys(LIB_COSTS) as LibCostName[]) {
    const v = params[k];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[k] = v;
  }
  return out;
}
