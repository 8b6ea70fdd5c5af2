/**
 * The monolithic (Ultrix-like) baseline's in-kernel socket layer, protocol layers and network input
 * path (kernel/inkernel), per layer from the rows measured on the paper's machine: Maeda & Bershad
 * (SOSP '93, "MB93") Table 4, TCP, "kernel" column — Mach 2.5 with 4.3BSD TCP in the kernel on a
 * DECstation 5000/200 (../shared/calibration/mb93-table4.json; the same code and machine as
 * Ultrix 4.2A). Each layer is a fixed part plus, where the row grows with the message, a part per
 * TCP data byte, from the two published sizes (1 B and 1460 B): slope = (row(1460) − row(1)) /
 * 1459, fixed = row(1) − slope; a row flat within its noise gets one value. Where the emulator
 * charges part of a row apart (the trap, a copy, PIO, the context switch), the constant is the
 * remainder. Scenario mb93-layers measures every row; test/system/mb93-layers.test.ts holds them
 * within ±15 %. Never fitted to a Table 2–4 cell.
 */
import type { CostGroup } from './cost-table.ts';

const MB93K = 'MB93 Table 4, TCP, kernel column (Mach 2.5, 4.3BSD TCP in the kernel, DECstation 5000/200)';
const MB93KU = 'MB93 Table 4, UDP, kernel column (Mach 2.5, 4.3BSD UDP in the kernel, DECstation 5000/200)';

export const INKERNEL_COSTS = {
  'inkernel.udpSendEntryCycles': {
    value: 1454,
    unit: 'cycles',
    source: `${MB93KU}, entry/copyin 65/104 µs (1 B / 1472 B): at 1 B, 65 µs = 1625 cycles less the trap and the copyin's set-up and byte charged apart (171, as inkernel.sendEntryCycles) = 1454. No per-byte part: the row's slope (0.0265 µs = 0.66 cycles a byte) is below the copyin's own 1 cycle a byte, so the row at 1472 B is reported, not forced (docs/udp.md)`,
    what: 'socket layer fixed path of a UDP sendto (sosend → udp_usrreq), once per call (charged as sosend)',
  },
  'inkernel.udpRecvEntryCycles': {
    value: 654,
    unit: 'cycles',
    source: `${MB93KU}, copyout/exit 27/75 µs: at 1 B, 27 µs = 675 cycles less the copyout's set-up and byte charged apart (21) = 654. No per-byte part: the row's slope (0.0326 µs = 0.82 cycles a byte) is below the copyout's 1 cycle a byte (reported at 1472 B, docs/udp.md)`,
    what: 'socket layer fixed path of a UDP recvfrom (soreceive, sockaddr copyout), once per datagram received (charged as soreceive)',
  },
  'inkernel.udpOutputCycles': {
    value: 1747,
    unit: 'cycles',
    source: `${MB93KU}, udp_output 70/273 µs: fixed part 70 − 0.138 = 69.9 µs`,
    what: 'udp_output per datagram, fixed part (charged as udp_output)',
  },
  'inkernel.udpOutputCyclesPerByte': {
    value: 3.45,
    unit: 'cycles/byte',
    source: `${MB93KU}, udp_output 70/273 µs: slope (273 − 70) / 1471 B = 0.138 µs a data byte (the checksum over the mbuf chain)`,
    what: 'udp_output per UDP data byte',
  },
  'inkernel.udpInputCycles': {
    value: 1672,
    unit: 'cycles',
    source: `${MB93KU}, udp_input 67/279 µs: fixed part 67 − 0.1441 = 66.9 µs`,
    what: 'udp_input per datagram, fixed part (charged as udp_input)',
  },
  'inkernel.udpInputCyclesPerByte': {
    value: 3.603,
    unit: 'cycles/byte',
    source: `${MB93KU}, udp_input 67/279 µs: slope (279 − 67) / 1471 B = 0.1441 µs a data byte (checksum, sbappendaddr)`,
    what: 'udp_input per UDP data byte',
  },
  'inkernel.sendEntryCycles': {
    value: 1078,
    unit: 'cycles',
    source: `${MB93K}, entry/copyin 50/153 µs (1 B / 1460 B): at 1 B, 50 µs = 1250 cycles less what the emulator charges apart on that path — the trap (kernel.trapCycles 150) and the copyin (cpu.memcpySetupCycles 20 + 1 cycle a byte) and this row's per-byte part — 1250 − 171 − 0.8 = 1078. It stands for 4.3BSD sosend: getsock, sblock, splnet, mbuf allocation, uio bookkeeping`,
    what: 'socket layer fixed path of a send/write (sosend), once per call (charged as sosend)',
  },
  'inkernel.sendCyclesPerByte': {
    value: 0.765,
    unit: 'cycles/byte',
    source: `${MB93K}, entry/copyin 50/153 µs: slope (153 − 50) / 1459 B = 0.0706 µs = 1.765 cycles a byte, less the copyin's 1 cycle a byte (cpu.memcpyCyclesPerByte) charged apart = 0.765: mbuf cluster allocation and chaining per byte`,
    what: 'socket layer per byte sent beyond the copyin (charged as sosend)',
  },
  'inkernel.recvEntryCycles': {
    value: 777,
    unit: 'cycles',
    source: `${MB93K}, copyout/exit 32/220 µs: at 1 B, 32 µs = 800 cycles less the copyout (cpu.memcpySetupCycles 20 + 1 cycle a byte) and this row's per-byte part (2.22) = 777. It stands for 4.3BSD soreceive (sblock, the mbuf walk, sbfree/m_free, uio bookkeeping) and the system-call exit; the trap's entry and exit are one charge (kernel.trapCycles) counted on the entry row`,
    what: 'socket layer fixed path of a recv/read (soreceive), once per call (charged as soreceive)',
  },
  'inkernel.recvCyclesPerByte': {
    value: 2.221,
    unit: 'cycles/byte',
    source: `${MB93K}, copyout/exit 32/220 µs: slope (220 − 32) / 1459 B = 0.1289 µs = 3.221 cycles a byte, less the copyout's 1 cycle a byte charged apart = 2.221: the mbuf walk and m_free per cluster and the cache misses on data the device copy left in memory`,
    what: 'socket layer per byte received beyond the copyout (charged as soreceive)',
  },
  'inkernel.wakeupCycles': {
    value: 950,
    unit: 'cycles',
    source: `${MB93K}, wake up user thread 54/54 µs, less the context switch the emulator charges apart (kernel.contextSwitchCycles, 16 µs) = 38 µs. It replaces kernel.wakeupCycles (the library column's 92–95 µs) for a thread sleeping in a socket call: the in-kernel sleep/wakeup of a 4.3BSD kernel, with no user-level thread package between the wake-up and the process`,
    what: 'wake-up path of a thread blocked in an in-kernel socket call (sbwait → sorwakeup), besides the context switch',
  },
  'inkernel.controlCallCycles': {
    value: 570,
    unit: 'cycles',
    source:
      'published measurement: MB92 §2.2, a Mach 2.5 in-kernel socket system call ≈ 60 µs on a 12 MHz DS2100 (R2000), ≈ 29 µs = 720 cycles cycle-scaled to the 25 MHz DECstation 5000/200, less the trap charged apart (kernel.trapCycles 150)',
    what: 'socket, bind, listen, accept, connect, shutdown, close: the socket layer fixed path besides the protocol work',
  },
  'inkernel.rxMbufCycles': {
    value: 493,
    unit: 'cycles',
    source: `${MB93K}, device intr/read 77/469 µs: the in-kernel driver copies each frame into mbufs it allocates in the interrupt; the emulator charges the interrupt, the LANCE driver path and the PIO copy apart (57.3 µs for a 60-byte frame, docs/calibration.md), so 77 − 57.3 = 19.7 µs = 493 cycles remain for MGET/MCLGET and the mbuf chain. The 1460-byte row then follows from the PIO read rate (tc.ioReadNsPerByte). On AN1 (BQI 0 kernel buffers) the same allocation precedes the copy from the DMA buffer`,
    what: 'mbuf allocation and chaining for one received frame, in the device interrupt',
  },
  'inkernel.netisrCycles': {
    value: 1900,
    unit: 'cycles',
    source: `${MB93K}, netisr 79/73 µs: flat, so one value, the mean 76 µs. MB93 lists ipintr and tcp_input as rows of their own (inkernel.ipintr*, inkernel.tcpInput*), so this is the software interrupt alone: its dispatch, splnet/splx, the ipintrq dequeue and the per-packet bookkeeping (the earlier value, 844, assumed the row held ipintr and tcp_input and took their counts out)`,
    what: 'network software interrupt per received frame besides IP and TCP input (charged as netisr)',
  },
  'inkernel.tcpOutputCycles': {
    value: 1621,
    unit: 'cycles',
    source: `${MB93K}, tcp_output 65/307 µs: fixed part 65 − 0.1659 = 64.8 µs`,
    what: 'tcp_output per segment, fixed part (charged as tcp_output)',
  },
  'inkernel.tcpOutputCyclesPerByte': {
    value: 4.147,
    unit: 'cycles/byte',
    source: `${MB93K}, tcp_output 65/307 µs: slope (307 − 65) / 1459 B = 0.1659 µs a data byte (the checksum over the mbuf chain, m_copy)`,
    what: 'tcp_output per TCP data byte',
  },
  'inkernel.ipOutputCycles': {
    value: 550,
    unit: 'cycles',
    source: `${MB93K}, ip_output 24/20 µs: flat, the mean 22 µs`,
    what: 'ip_output per datagram (charged as ip_output)',
  },
  'inkernel.ipintrCycles': {
    value: 750,
    unit: 'cycles',
    source: `${MB93K}, ipintr 30/37 µs: fixed part 30 − 0.0048 = 30.0 µs`,
    what: 'ipintr per received datagram, fixed part (charged as ipintr)',
  },
  'inkernel.ipintrCyclesPerByte': {
    value: 0.12,
    unit: 'cycles/byte',
    source: `${MB93K}, ipintr 30/37 µs: slope (37 − 30) / 1459 B = 0.0048 µs a data byte`,
    what: 'ipintr per TCP data byte',
  },
  'inkernel.tcpInputCycles': {
    value: 1897,
    unit: 'cycles',
    source: `${MB93K}, tcp_input 76/270 µs: fixed part 76 − 0.1330 = 75.9 µs`,
    what: 'tcp_input per segment, fixed part (charged as tcp_input)',
  },
  'inkernel.tcpInputCyclesPerByte': {
    value: 3.324,
    unit: 'cycles/byte',
    source: `${MB93K}, tcp_input 76/270 µs: slope (270 − 76) / 1459 B = 0.1330 µs a data byte (the checksum, sbappend)`,
    what: 'tcp_input per TCP data byte',
  },
  'inkernel.clusterWriteBytes': {
    value: 1024,
    unit: 'bytes',
    source: 'P §4: Ultrix "uses an identical mechanism [a buffer organization that eliminates byte copying], but it is invoked only when the user packet size is 1024 bytes or larger"; in 4.3BSD, sosend puts such a write into mbuf clusters, which tcp_output\'s m_copy shares by reference, and smaller ones into small mbufs, which m_copy copies (cpu.memcpy* per segment sent)',
    what: 'write size from which the monolithic kernel\'s data sits in clusters and is not copied again by tcp_output',
  },
  'inkernel.calloutCycles': {
    value: 100,
    unit: 'cycles',
    source: 'derived: 4.3BSD softclock callout dispatch and tcp_timers switch ≈ 65 instructions at ≈ 1.5 cycles an instruction (kernel-costs.ts convention)',
    what: 'a TCP timer callout (the engine’s timer work charged apart)',
  },
} as const satisfies CostGroup;
