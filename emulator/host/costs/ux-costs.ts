/**
 * The single server (Mach/UX-like, userland/ux): what UX does beyond the kernel's own mach_msg
 * costs (kernel.msg*, trap, hand-off, wake-up, the inline copies — all charged by the kernel) and
 * beyond the protocol processing, which is the library's (lib.*: the same BSD code). Guests
 * cannot read this table: the values are mirrored in userland/ux/costs.ts (UX_COSTS; a test
 * checks they agree) and scenarios pass them as task parameters `ux.<name>`.
 *
 * Calibration (docs/ux.md): MB92's decomposition of a UX socket call on a 12 MHz DS2100 gives the
 * emulation library's and the server's dispatch costs (scaled by the clock, 12/25: a path of
 * instructions, not of memory); MB93 Table 4's "Mach 3.0 + UX server" column, on the paper's own
 * DECstation 5000/200, gives the rest as remainders: the send entry (1 byte and its slope to 1472
 * bytes) and the wake-up of the reading thread. Never a Table 2–4 cell.
 */
import type { CostGroup } from './cost-table.ts';

export const UX_SERVER_COSTS = {
  'ux.emulatorCallCycles': {
    value: 480,
    unit: 'cycles',
    source: 'published measurement: MB92 §2.2, a UX socket call on a 12 MHz DS2100 spends 40 µs in the MIG stubs of its 180 µs IPC round trip; × 12/25 for the 25 MHz R3000 (an instruction path) = 19.2 µs. The trap that enters the emulation library (Mach 3.0 trap redirection) is a real trap (kernel.trapCycles), charged apart',
    what: 'client emulation library per socket call: syscall decode, MIG request build and reply unpack, errno',
  },
  'ux.copyCyclesPerByte': {
    value: 1,
    unit: 'cycles/byte',
    source: 'cpu.memcpyCyclesPerByte (MB93 Table 4 UX copyout slope, the same memory system)',
    what: 'per byte: the emulation library copies user data into the request (or out of the reply), the server between the message and the socket buffer (uiomove)',
  },
  'ux.serverDispatchCycles': {
    value: 3360,
    unit: 'cycles',
    source: 'published measurement: MB92 §2.2, UX socket access 490 µs = syscall emulation 280 + IPC round trip 180 on a 12 MHz DS2100 (Mach 2.5 in-kernel: ≈ 60 µs); the emulation, × 12/25 for the 25 MHz R3000 = 134 µs. It stands for the server’s request demultiplexing, process lookup from the port, u-area and credential set-up, the simulated spl levels and locks of the BSD code (MB92 §2: ≈ 50 spl calls a UDP round trip) and the dispatch to the socket call',
    what: 'server per request: UX system-call emulation before the socket layer',
  },
  'ux.sosendCycles': {
    value: 2010,
    unit: 'cycles',
    source: 'calibrated on MB93 Table 4 send entry, Mach 3.0 + UX server column, UDP 1 byte: 293 µs on a DECstation 5000/200 (trap + RPC to the server until protocol output begins): the remainder after what the emulator charges apart on that path — the redirected trap, ux.emulatorCallCycles, the mach_msg send/receive/hand-off with its inline copies, ux.serverDispatchCycles, the clock reads that delimit the interval — which came to 212.6 µs in ux-primitives without this constant; 293 − 212.6 = 80.4 µs = 2010 cycles. It stands for BSD sosend’s fixed work in the server: sblock, mbuf allocation (MGET), socket-buffer append, the socket locks',
    what: 'server, write: socket layer (sosend) fixed part',
  },
  'ux.sosendCyclesPerByte': {
    value: 1.7,
    unit: 'cycles/byte',
    source: 'calibrated on the slope of MB93 Table 4 send entry, UX column: (628 − 293) µs / 1471 bytes = 0.228 µs ≈ 5.7 cycles a byte, less the 4 copies the emulator charges apart (emulation library into the request, kernel copyin and copyout of the inline data, server uiomove: 1 cycle each; ux-primitives measures that slope at 4.008 cycles a byte without this constant) = 1.7. It stands for building the mbuf chain (108-byte mbufs and 1 KB clusters) and the cache misses on data the copies bring in',
    what: 'server, write: socket layer per byte beyond the copies',
  },
  'ux.soreceiveCycles': {
    value: 2730,
    unit: 'cycles',
    source: 'calibrated on MB93 Table 4 wake user thread, Mach 3.0 + UX server column: 194–274 µs, midpoint 234 µs (from the data in the server to the reading thread running): the remainder after what the emulator charges apart — the reply mach_msg (trap, send, inline copy), the client’s wake-up (kernel.wakeupCycles, context switch, receive) — and the clock read that ends the interval — which came to 124.7 µs in ux-primitives without this constant; 234 − 124.7 = 109.3 µs ≈ 2730 cycles. It stands for soreceive (sblock, mbuf walk and free, sbunlock), sorwakeup through the server’s condition variables and the reply stub',
    what: 'server, read: socket layer (soreceive) and the reply path',
  },
} as const satisfies CostGroup;
