/**
 * Costs of the kernel's network I/O module (kernel/netio): the outbound template check, the
 * software demultiplexer and the receive-ring bookkeeping. PIO, copies, traps, interrupt entry
 * and semaphore signals are charged from their own constants (cpu-, kernel-, lance-, an1-costs).
 *
 * None of these is fitted to P Table 1 or 5: they are instruction-count estimates at the
 * kernel-costs.ts convention (≈1.5 cycles per R3000 instruction with cache misses, CONT Table 4)
 * for code the paper describes as "only a few instructions" (P §2.2) and "quite short" (P §3.4).
 */
import type { CostGroup } from './cost-table.ts';

export const NETIO_COSTS = {
  'netio.rxClassifyCycles': {
    value: 60,
    unit: 'cycles',
    source: 'derived: classify (EtherType, IHL/version, fragment bits, protocol, 4-tuple extraction) ≈ 40 instructions at ≈1.5 cycles each; P §2.2 "the demultiplexing logic requires only a few instructions"',
    what: 'software demultiplexer: turn a frame header into its lookup key',
  },
  'netio.rxLookupCycles': {
    value: 45,
    unit: 'cycles',
    source: 'derived: hash of a 12-byte key and one bucket probe ≈ 30 instructions at ≈1.5 cycles each (one lookup, no scan: issue 6)',
    what: 'one hash lookup of a demultiplexing key',
  },
  'netio.rxDeliverCycles': {
    value: 40,
    unit: 'cycles',
    source: 'derived: ring-full test against RX_TAIL, slot index, length word and RX_HEAD stores, batch bookkeeping ≈ 25 instructions at ≈1.5 cycles each',
    what: 'record one frame in a channel\'s receive ring (either link)',
  },
  'netio.txCheckFixedCycles': {
    value: 497,
    unit: 'cycles',
    source: 'calibrated on MB93 Table 4, TCP, library column − kernel column, ether_output at 1 B: 98 − 75 = 23 µs is what a user task’s send adds to the kernel’s own output path (the trap, the entry into the device path, the wired-buffer handling); less the trap charged apart (kernel.trapCycles, 6 µs) = 17 µs ≈ 437 cycles, plus the capability lookup, region range and length checks ≈ 40 instructions (60 cycles, the earlier value): 497. With lance.driverTxFrameCycles re-sourced on the kernel column, the library’s ether output (mb93-primitives) stays where it was',
    what: 'net_send: fixed path of a user task’s send into the module (entry, capability and range checks, wired-buffer handling)',
  },
  'netio.txCheckWordCycles': {
    value: 6,
    unit: 'cycles',
    source: 'derived: the compiled matcher does load, and-mask, compare, branch per 32-bit word = 4 instructions at ≈1.5 cycles each',
    what: 'net_send: per 32-bit template word compared',
  },
  'netio.rxReturnCycles': {
    value: 20,
    unit: 'cycles',
    source: 'derived: read RX_TAIL, clamp it, walk the returned slots ≈ 12 instructions + 1 per slot at ≈1.5 cycles each (PIO of the re-post is charged by the bus)',
    what: 'net_rx_done (or the piggy-back on net_send): fixed part of handing buffers back',
  },
  'netio.rxKmsgCycles': {
    value: 200,
    unit: 'cycles',
    source: 'derived: the paper ran stock Mach 3.0 (MK74) and changed only the AN1 driver and "memory and signaling support for the buffer layer" (P §4), so its Ethernet frames took the stock LANCE driver’s receive path, which on a DECstation 5000/200 (3max) copies every frame out of the PMAD-AA into a net_kmsg and hands it to net_packet, which defers delivery to an AST or the network thread (CMU Mach 3.0 chips/lance.c se_rint/se_read/copy_from_lance, device/net_io.c net_kmsg_get/net_packet/net_ast/net_deliver/net_kmsg_put; neozeed/macmach-December1991 mach_kernel/kernel.mk64). Counted from that source: net_kmsg_get (spl raise, dequeue from the free list, counters, want-more test, spl restore) ≈ 30 instructions, se_read’s header/length set-up and ethernet_priority’s broadcast test ≈ 25, net_packet (enqueue on the high-priority queue, counters, AST request under splsched) ≈ 30, net_ast and net_deliver (dequeue, spl0, the second pass that finds the queue empty, ast_off) and net_kmsg_put ≈ 50: ≈ 135 instructions at ≈ 1.5 cycles each (simple locks are empty on a uniprocessor). The module’s copy of the frame out of the net_kmsg into the channel slot is charged apart (cpu.memcpy*)',
    what: 'Ethernet receive: the stock Mach 3.0 driver’s net_kmsg hand-off for one frame (get, fill, queue, AST delivery, put back)',
  },
} as const satisfies CostGroup;
