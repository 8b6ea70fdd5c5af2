/**
 * The monolithic (Ultrix-like) baseline's in-kernel socket layer and network input path
 * (kernel/inkernel): the per-call and per-packet costs of a 4.3BSD kernel path that the emulator
 * charges apart from the engine's protocol instructions. The TCP/IP/link instruction counts are
 * the library's (lib.*, Clark et al. 1989): the same 4.3BSD-derived code runs. Calibrated on
 * published primitives on the DECstation 5000/200 — Maeda & Bershad (SOSP '93, "MB93") Table 4's
 * "Mach 2.5 kernel" column, an in-kernel 4.3BSD UDP stack (../shared/kernel/mach-semantics.md
 * §10) — never on a Table 2–4 cell. test/system/inkernel/costs.test.ts measures the rows.
 */
import type { CostGroup } from './cost-table.ts';

export const INKERNEL_COSTS = {
  'inkernel.sendEntryCycles': {
    value: 1454,
    unit: 'cycles',
    source:
      'calibrated on MB93 Table 4, Mach 2.5 kernel column, send entry (trap + copyin) for a 1-byte datagram, 65 µs on a DECstation 5000/200: the remainder after what the emulator charges apart on that path — the trap (kernel.trapCycles, 150) and the copyin of 1 byte (cpu.memcpySetupCycles 20 + 1) — 1625 − 171 = 1454 cycles. It stands for 4.3BSD sosend: getsock, sblock, splnet, mbuf allocation, uio bookkeeping. The 1472-byte row (104 µs) then follows from cpu.memcpyCyclesPerByte: 123.8 µs, 1.19 × (the kernel copies a little faster than the 1 cycle/byte the UX rows give)',
    what: 'socket layer fixed path of a send/write (sosend), once per call',
  },
  'inkernel.wakeupCycles': {
    value: 1150,
    unit: 'cycles',
    source:
      'calibrated on MB93 Table 4, Mach 2.5 kernel column, wake user thread, 54–70 µs on a DECstation 5000/200: the midpoint, 62 µs, less the context switch the emulator charges apart (kernel.contextSwitchCycles, 16 µs) = 46 µs. It replaces kernel.wakeupCycles (the library column\'s 73–95 µs) for a thread sleeping in a socket call: the in-kernel sleep/wakeup of a 4.3BSD kernel, with no user-level thread package between the wake-up and the process',
    what: 'wake-up path of a thread blocked in an in-kernel socket call (sbwait → sorwakeup), besides the context switch',
  },
  'inkernel.recvEntryCycles': {
    value: 1454,
    unit: 'cycles',
    source:
      'derived from inkernel.sendEntryCycles: MB93 publishes no receive-entry row for the kernel column; 4.3BSD soreceive does the same work as sosend in reverse (getsock, sblock, splnet, the mbuf walk, sbfree/m_free, uio bookkeeping) at about the same length in uipc_socket.c, so the same value; the copyout is charged apart (cpu.memcpy*)',
    what: 'socket layer fixed path of a recv/read (soreceive), once per call',
  },
  'inkernel.controlCallCycles': {
    value: 570,
    unit: 'cycles',
    source:
      'published measurement: MB92 §2.2, a Mach 2.5 in-kernel socket system call ≈ 60 µs on a 12 MHz DS2100 (R2000), ≈ 29 µs = 720 cycles cycle-scaled to the 25 MHz DECstation 5000/200, less the trap charged apart (kernel.trapCycles 150)',
    what: 'socket, bind, listen, accept, connect, shutdown, close: the socket layer fixed path besides the protocol work',
  },
  'inkernel.rxMbufCycles': {
    value: 418,
    unit: 'cycles',
    source:
      'calibrated on MB93 Table 4, Mach 2.5 kernel column, device read of a small frame, 74 µs: the in-kernel driver copies each frame into mbufs it allocates in the interrupt; the emulator charges the interrupt, the LANCE driver path and the PIO copy apart (57.3 µs, docs/calibration.md), so 16.7 µs = 418 cycles remain for MGET/MCLGET and the mbuf chain. The max-size row (469–497 µs) then comes out at 481 µs. On AN1 (BQI 0 kernel buffers) the same allocation precedes the copy from the DMA buffer',
    what: 'mbuf allocation and chaining for one received frame, in the device interrupt',
  },
  'inkernel.netisrCycles': {
    value: 844,
    unit: 'cycles',
    source:
      'calibrated on MB93 Table 4 netisr / packet filter demux, 52–95 µs on a DECstation 5000/200, read as small (52) to max-size (95): the spread, 43 µs over 1471 more bytes ≈ 0.03 µs a byte, is a checksum’s slope, so the row grows with the datagram. The 1-byte segment’s whole software-interrupt path (ipintrq dequeue, ipintr, PCB lookup, transport input, sbappend, sorwakeup) lands at 52 µs = 1300 cycles, less what the emulator charges apart on it — the engine’s link + IP + TCP input instructions (lib.linkCycles + lib.ipCycles + lib.tcpInputCycles = 435) and the checksum of 21 bytes (lib.checksumCyclesPerByte) — 1300 − 456 = 844 cycles. The max-size segment then comes out at 110 µs (1.16 × 95: the engine checksums at 1 cycle a byte, 0.04 µs). MB93’s row is UDP; a TCP segment’s extra input instructions are inside the engine’s counts',
    what: 'network software interrupt per received frame besides the protocol instructions (queueing, PCB lookup, socket-buffer append, wakeup)',
  },
  'inkernel.calloutCycles': {
    value: 100,
    unit: 'cycles',
    source: 'derived: 4.3BSD softclock callout dispatch and tcp_timers switch ≈ 65 instructions at ≈ 1.5 cycles an instruction (kernel-costs.ts convention)',
    what: 'a TCP timer callout (the engine’s timer work charged apart from lib.*)',
  },
} as const satisfies CostGroup;
