/**
 * User-level cycle costs of the single server (the UX-like server, userland/ux/ux-server.ts) and of
 * its client-side emulation library (userland/ux/ux-sockets.ts). Guests cannot read the cost
 * table: each value is mirrored in emulator/host/costs/ux-costs.ts with its source (a test checks
 * the two agree), and scenarios pass the table's values as task parameters named `ux.<name>`, so
 * `--cost ux.serverDispatchCycles=...` reaches the guests. The TCP/IP work itself is the library's
 * (LIB_COSTS): the same BSD-derived code runs in both (P §4: "the protocol stack ... the same").
 */
export const UX_COSTS = {
  /** Emulation library per call: syscall decode, MIG stub marshal/unmarshal, errno (MB92 §2.2: 40 µs of stubs on a 12 MHz DS2100, × 12/25). */
  emulatorCallCycles: 480,
  /** Per byte copied by the emulation library (user buffer ⇄ message) or the server (message ⇄ socket buffer, uiomove) = cpu.memcpyCyclesPerByte. */
  copyCyclesPerByte: 1,
  /** Server per request: UX's system-call emulation (MB92 §2.2: 280 µs on a 12 MHz DS2100, × 12/25). */
  serverDispatchCycles: 3360,
  /** Server, write: BSD sosend fixed part (calibrated on MB93 Table 4, TCP, server column, entry/copyin 254 µs at 1 B). */
  sosendCycles: 1038,
  /** Server, write: per byte beyond the copies (slope of the same row, 254 → 579 µs over 1459 bytes). */
  sosendCyclesPerByte: 1.568,
  /** Server: waking the thread that serves a parked read (MB93 Table 4, TCP, server column, wake up user thread 194/213 µs). */
  sorwakeupCycles: 5088,
  /** Server, read: soreceive and the reply path, fixed (MB93 Table 4, TCP, server column, copyout/exit 222 µs at 1 B). */
  soreceiveCycles: 2430,
  /** Server, read: per byte beyond the copies (slope of the same row, 222 → 1028 µs over 1459 bytes). */
  soreceiveCyclesPerByte: 9.82,
} as const;

export type UxCostName = keyof typeof UX_COSTS;

/** The costs a guest uses: defaults, overridden by task parameters `ux.<name>`. */
export function uxCosts(params: Readonly<Record<string, unknown>>): Record<UxCostName, number> {
  const out = { ...UX_COSTS } as Record<UxCostName, number>;
  for (const k of Object.keys(UX_COSTS) as UxCostName[]) {
    const v = params[`ux.${k}`];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[k] = v;
  }
  return out;
}
