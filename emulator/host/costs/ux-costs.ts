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
    what: 'server per request: UX system-call emulation before the socket layer (charged as ux_dispatch)',
  },
  'ux.sosendCycles': {
    value: 1038,
    unit: 'cycles',
    source: 'calibrated on MB93 Table 4, TCP, server column, entry/copyin 254/579 µs (1 B / 1460 B; trap + RPC to the server until protocol output begins): the remainder at 1 B after what the emulator charges apart on that path — the redirected trap, ux.emulatorCallCycles, the mach_msg send/receive/hand-off with its inline copies, ux.serverDispatchCycles, the clock reads that delimit the interval (mb93-layers and ux-primitives time it); with 2010 (the value calibrated on the UDP row, 293 µs) mb93-layers measured 292.9 µs, so 2010 − (292.9 − 254) × 25 = 1038. It stands for BSD sosend’s fixed work in the server: sblock, mbuf allocation (MGET), socket-buffer append, the socket locks',
    what: 'server, write: socket layer (sosend) fixed part (charged as sosend)',
  },
  'ux.sosendCyclesPerByte': {
    value: 1.568,
    unit: 'cycles/byte',
    source: 'calibrated on the slope of MB93 Table 4, TCP, server column, entry/copyin: (579 − 254) µs / 1459 B = 0.2228 µs = 5.569 cycles a byte; with 1.7 (from the UDP row’s slope) mb93-layers measured 0.2280 µs a byte, so 1.7 − (0.2280 − 0.2228) × 25 = 1.568. Beyond the 4 copies the emulator charges apart (emulation library into the request, kernel copyin and copyout of the inline data, server uiomove), it stands for building the mbuf chain (108-byte mbufs and 1 KB clusters) and the cache misses on data the copies bring in',
    what: 'server, write: socket layer per byte beyond the copies (charged as sosend)',
  },
  'ux.sorwakeupCycles': {
    value: 5088,
    unit: 'cycles',
    source: 'calibrated on MB93 Table 4, TCP, server column, wake up user thread 194/213 µs: flat, the mean 203.5 µs. In UX, tcp_input’s sorwakeup wakes the server thread asleep in soreceive for the client’s read through the emulated spl levels and a C-Threads condition variable (MB93 attributes the server’s wake-up row to its spl emulation); the emulated server’s network thread serves the parked read itself, so the whole row is this charge',
    what: 'server: waking the thread that serves a parked read (sorwakeup through the emulated spl and C-Threads; charged as sorwakeup)',
  },
  'ux.soreceiveCycles': {
    value: 2430,
    unit: 'cycles',
    source: 'calibrated on MB93 Table 4, TCP, server column, copyout/exit 222/1028 µs (from the data found for the read to the application’s read returning: soreceive, the reply mach_msg with the data inline, the client’s wake-up, the emulation library’s copy and return): the remainder at 1 B after what the emulator charges apart on that path; with 2730 (calibrated on the earlier reading of the wake-up row, 194–274 µs, as this whole span) mb93-layers measured 234 µs, so 2730 − (234 − 222) × 25 = 2430. It stands for soreceive (sblock, mbuf walk and free, sbunlock) and the reply stub',
    what: 'server, read: socket layer (soreceive) and the reply path, fixed part (charged as soreceive)',
  },
  'ux.soreceiveCyclesPerByte': {
    value: 9.82,
    unit: 'cycles/byte',
    source: 'calibrated on the slope of MB93 Table 4, TCP, server column, copyout/exit: (1028 − 222) µs / 1459 B = 0.5524 µs a byte; mb93-layers measured 0.1597 µs a byte from the copies the emulator charges apart (server uiomove, kernel copyin and copyout of the inline reply, the emulation library’s copy), so (0.5524 − 0.1597) × 25 = 9.82. MB93 says the server moves the data four times on this path; the rest is the mbuf walk and m_free per cluster and the cache misses on data that crossed two address spaces',
    what: 'server, read: soreceive per byte beyond the copies (charged as soreceive)',
  },
} as const satisfies CostGroup;
