/**
 * User-level protocol processing of the library, the registry server and the single server
 * (userland/netlib, userland/registry, userland/ux): the BSD protocol layers, priced per layer from
 * the layer rows measured on the paper's machine — Maeda & Bershad, SOSP 1993 ("MB93") Table 4,
 * TCP, "Mach 3.0 + UX server" column (../shared/calibration/mb93-table4.json): the same 4.3BSD code
 * in a user-level server on a DECstation 5000/200 with its spl emulated by C-Threads locks. The
 * library takes the same figures: its protocol code "is borrowed entirely from the UX server" (P
 * §3.2). Each layer is a fixed part plus, where the row grows with the message, a part per TCP
 * data byte (the checksum and the mbuf work): the two published sizes (1 B, 1460 B) give both,
 * slope = (row(1460) − row(1)) / 1459, fixed = row(1) − slope. A row that falls with size cannot
 * be a per-byte cost: it gets one size-independent value (the geometric mean of the two sizes)
 * and is reported beside both figures (docs/calibration.md). Scenario mb93-layers measures every
 * row on the emulator. Never fitted to a Table 2–4 cell.
 *
 * Guests cannot read this table: the values are mirrored in userland/netlib/costs.ts (LIB_COSTS;
 * test/system/library/costs.test.ts checks they agree) and scenarios pass them as task parameters.
 */
import type { CostGroup } from './cost-table.ts';

const MB93S = 'MB93 Table 4, TCP, server column (Mach 3.0 + UX, DECstation 5000/200)';
const MB93U = 'MB93 Table 4, UDP, server column (Mach 3.0 + UX, DECstation 5000/200)';

export const LIBRARY_COSTS = {
  'lib.tcpOutputCycles': { value: 5596, unit: 'cycles', source: `${MB93S}, tcp_output 224/447 µs (1 B / 1460 B): fixed part 224 − 0.1528 = 223.8 µs`, what: 'tcp_output per segment, fixed part (charged as tcp_output)' },
  'lib.tcpOutputCyclesPerByte': { value: 3.821, unit: 'cycles/byte', source: `${MB93S}, tcp_output 224/447 µs: slope (447 − 224) / 1459 B = 0.1528 µs a data byte (checksum, m_copy of the socket buffer)`, what: 'tcp_output per TCP data byte' },
  'lib.ipOutputCycles': { value: 700, unit: 'cycles', source: `${MB93S}, ip_output 31/25 µs: no per-byte part (the row falls with size), the mean 28 µs`, what: 'ip_output per datagram (charged as ip_output)' },
  'lib.linkCycles': { value: 45, unit: 'cycles', source: 'derived: Ethernet/AN1 header build ≈ 30 instructions at ≈ 1.5 cycles an instruction (kernel-costs.ts convention); the rest of MB93\'s ether_output row is the device path (net_send, driver, PIO), charged there', what: 'link header build per frame sent (charged as ether_output)' },
  'lib.mbufQueueCycles': { value: 1692, unit: 'cycles', source: `${MB93S}, mbuf/queue 79/58 µs: the row falls with size, so one value, the geometric mean 67.7 µs (ratios 0.86 and 1.17: reported, not forced; docs/calibration.md)`, what: 'taking a received frame into an mbuf chain and queueing it for IP input (charged as mbuf_queue)' },
  'lib.ipintrCycles': { value: 2746, unit: 'cycles', source: `${MB93S}, ipintr 127/95 µs: the row falls with size, so one value, the geometric mean 109.8 µs (ratios 0.86 and 1.16: reported, not forced; docs/calibration.md)`, what: 'ipintr per received datagram: dequeue, header checks, protocol dispatch (charged as ipintr)' },
  'lib.tcpInputCycles': { value: 6223, unit: 'cycles', source: `${MB93S}, tcp_input 249/365 µs: fixed part 249 − 0.0795 = 248.9 µs`, what: 'tcp_input per segment, fixed part (charged as tcp_input)' },
  'lib.tcpInputCyclesPerByte': { value: 1.988, unit: 'cycles/byte', source: `${MB93S}, tcp_input 249/365 µs: slope (365 − 249) / 1459 B = 0.0795 µs a data byte (checksum, sbappend)`, what: 'tcp_input per TCP data byte' },
  'lib.udpOutputCycles': { value: 5722, unit: 'cycles', source: `${MB93U}, udp_output 229/398 µs (1 B / 1472 B): fixed part 229 − 0.1149 = 228.9 µs`, what: 'udp_output per datagram, fixed part (charged as udp_output)' },
  'lib.udpOutputCyclesPerByte': { value: 2.872, unit: 'cycles/byte', source: `${MB93U}, udp_output 229/398 µs: slope (398 − 229) / 1471 B = 0.1149 µs a data byte (checksum, mbuf copy)`, what: 'udp_output per UDP data byte' },
  'lib.udpInputCycles': { value: 1521, unit: 'cycles', source: `${MB93U}, udp_input 61/273 µs: fixed part 61 − 0.1441 = 60.9 µs`, what: 'udp_input per datagram, fixed part (charged as udp_input)' },
  'lib.udpInputCyclesPerByte': { value: 3.603, unit: 'cycles/byte', source: `${MB93U}, udp_input 61/273 µs: slope (273 − 61) / 1471 B = 0.1441 µs a data byte (checksum, sbappendaddr)`, what: 'udp_input per UDP data byte' },
  'lib.copyCyclesPerByte': { value: 1, unit: 'cycles/byte', source: 'cpu.memcpyCyclesPerByte (the same memory system)', what: 'user copy between the application buffer and the region socket buffer' },
  'lib.socketCallCycles': { value: 200, unit: 'cycles', source: 'derived: 4.3BSD sosend/soreceive bookkeeping ≈ 130 instructions', what: 'socket layer per read/write' },
  'lib.upcallCycles': { value: 50, unit: 'cycles', source: 'cthreads.switchCycles (one C-thread switch to the connection thread, MB92 §2.3)', what: 'dispatch on a packet-arrival wake-up' },
  'lib.registryRequestCycles': { value: 300, unit: 'cycles', source: 'derived: port-table hash, record set-up ≈ 200 instructions', what: 'registry server per request' },
  'lib.tcbTransferCycles': { value: 240, unit: 'cycles', source: 'derived: ≈ 40 TCB words moved field by field, ≈ 4 instructions a word', what: 'TCB export (registry) or import (library)' },
} as const satisfies CostGroup;
