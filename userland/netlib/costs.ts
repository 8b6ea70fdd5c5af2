/**
 * User-level cycle costs of the protocol library and the registry server (guests cannot read the
 * cost table). Each value is mirrored in emulator/host/costs/library-costs.ts with its source; a
 * test (test/system/library/costs.test.ts) checks the two agree. Scenarios may override a value
 * through a task parameter of the same name (`lib.tcpInputCycles` → param `tcpInputCycles`).
 *
 * Convention (kernel-costs.ts): ≈ 1.5 cycles per R3000 instruction with cache misses.
 */
export const LIB_COSTS = {
  /** TCP input, common path, per segment: Clark, Jacobson, Romkey & Salwen 1989 count ≈ 200 instructions (receiver) — plus BSD's header prediction misses: 300 cycles. */
  tcpInputCycles: 300,
  /** TCP output per segment: CJRS89 ≈ 235 instructions (sender, tcp_output) → 350 cycles. */
  tcpOutputCycles: 350,
  /** IP input or output per datagram: CJRS89 ≈ 57–61 instructions → 90 cycles. */
  ipCycles: 90,
  /** Link header build/parse and ring bookkeeping per frame: ≈ 30 instructions → 45 cycles. */
  linkCycles: 45,
  /** Internet checksum per byte (in_cksum: one lw + addu + sltu + addu per word ≈ 1 cycle a byte with misses; CJRS89 counts it apart from the instruction path). */
  checksumCyclesPerByte: 1,
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
