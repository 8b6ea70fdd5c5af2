/**
 * User-level protocol processing of the library and the registry server (userland/netlib,
 * userland/registry). Guests cannot read this table: the values are mirrored in
 * userland/netlib/costs.ts (LIB_COSTS; test/system/library/costs.test.ts checks they agree) and
 * scenarios pass this table's values to the guests as task parameters, so `--cost lib.X=...`
 * reaches them. Instruction counts at the kernel-costs.ts convention (≈ 1.5 cycles an instruction).
 * None is fitted to a Table 2–4 cell.
 */
import type { CostGroup } from './cost-table.ts';

export const LIBRARY_COSTS = {
  'lib.tcpInputCycles': { value: 300, unit: 'cycles', source: 'Clark, Jacobson, Romkey & Salwen 1989 ("An analysis of TCP processing overhead"): TCP receive common path ≈ 200 instructions → 300 cycles', what: 'TCP input per segment (library or registry engine)' },
  'lib.tcpOutputCycles': { value: 350, unit: 'cycles', source: 'CJRS89: sender path (tcp_output) ≈ 235 instructions → 350 cycles', what: 'TCP output per segment' },
  'lib.ipCycles': { value: 90, unit: 'cycles', source: 'CJRS89: IP input ≈ 57, output ≈ 61 instructions → 90 cycles', what: 'IP per datagram, either direction' },
  'lib.linkCycles': { value: 45, unit: 'cycles', source: 'derived: link header build/parse + ring index ≈ 30 instructions', what: 'link framing and ring bookkeeping per frame' },
  'lib.checksumCyclesPerByte': { value: 1, unit: 'cycles/byte', source: 'derived: in_cksum inner loop lw/addu/sltu/addu per word with cache misses ≈ 1 cycle a byte (= cpu.memcpyCyclesPerByte order; CJRS89 counts the checksum apart)', what: 'Internet checksum per byte (TCP header + data)' },
  'lib.copyCyclesPerByte': { value: 1, unit: 'cycles/byte', source: 'cpu.memcpyCyclesPerByte (the same memory system)', what: 'user copy between the application buffer and the region socket buffer' },
  'lib.socketCallCycles': { value: 200, unit: 'cycles', source: 'derived: 4.3BSD sosend/soreceive bookkeeping ≈ 130 instructions', what: 'socket layer per read/write' },
  'lib.upcallCycles': { value: 50, unit: 'cycles', source: 'cthreads.switchCycles (one C-thread switch to the connection thread, MB92 §2.3)', what: 'dispatch on a packet-arrival wake-up' },
  'lib.registryRequestCycles': { value: 300, unit: 'cycles', source: 'derived: port-table hash, record set-up ≈ 200 instructions', what: 'registry server per request' },
  'lib.tcbTransferCycles': { value: 240, unit: 'cycles', source: 'derived: ≈ 40 TCB words moved field by field, ≈ 4 instructions a word', what: 'TCB export (registry) or import (library)' },
} as const satisfies CostGroup;
