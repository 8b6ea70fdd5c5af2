/**
 * Costs of the DECstation 5000/200 CPU and memory system (25 MHz R3000, KN02). Sources are keyed
 * as in ../shared/kernel/mach-semantics.md §10 and ../shared/hw/lance-pmad-aa.md §6.
 */
import type { CostGroup } from './cost-table.ts';

export const CPU_COSTS = {
  'cpu.memcpyCyclesPerByte': {
    value: 1,
    unit: 'cycles/byte',
    source: 'published measurement: kernel memory → user copy 0.02–0.06 µs/byte, MB93 Table 4 UX copyout rows ((148−113)/1459 B, (207−124)/1471 B); midpoint 0.04 µs = 1 cycle',
    what: 'copy between two RAM buffers (bcopy, copyin, copyout), per byte',
  },
  'cpu.memcpySetupCycles': {
    value: 20,
    unit: 'cycles',
    source: 'derived: bcopy prologue/epilogue, alignment checks (~20 instructions, CONT Table 4 style path count)',
    what: 'fixed cost of one bcopy call',
  },
  'cpu.ramWordAccessCycles': {
    value: 5,
    unit: 'cycles',
    source: 'published measurement: cache miss 5 cycles on the DS3100 (UB §3, mach-semantics.md §10)',
    what: 'one uncached RAM word access by kernel code through the bus',
  },
  'cpu.dcacheLineBytes': {
    value: 4,
    unit: 'bytes',
    source: 'datasheet: the R3000 data cache has one-word (4-byte) lines; Linux arch/mips/mm/c-r3k.c (r3k_cache_lsize, r3k_flush_dcache_range) probes the line size and invalidates with one store per 4 bytes. The DECstation 5000/200 has 64 KB of it (mach-semantics.md §10)',
    what: 'bytes per R3000 data-cache line (the unit of invalidation)',
    min: 1, // the driver divides a buffer into lines
    integer: true,
  },
  'cpu.dcacheInvalidateLineCycles': {
    value: 1.1,
    unit: 'cycles',
    source: 'datasheet + published code: with the data cache isolated (status SR_IsC) a partial-word store invalidates its line without reaching memory, one cycle each; Linux c-r3k.c r3k_flush_dcache_range issues 32 such sb per loop iteration, so the loop’s add, branch and delay slot add 3/32 of a cycle a line',
    what: 'invalidate one data-cache line (cache isolated): one sb plus its share of the loop',
  },
  'cpu.dcacheInvalidateSetupCycles': {
    value: 10,
    unit: 'cycles',
    source: 'derived: read the status register, set SR_IsC with interrupts off, the coprocessor-0 hazard nops, restore the status register ≈ 10 instructions (the sequence of Linux c-r3k.c r3k_flush_dcache_range); instructions run from the I-cache, which isolation does not affect',
    what: 'isolate and de-isolate the data cache around one invalidation',
  },
  'tc.ioReadCycles': {
    value: 28,
    unit: 'cycles',
    source: 'published measurement: PIO read of LANCE buffer memory ≈0.28 µs/byte, MB93 Table 4 ((481−74)/1471 B), × 4 bytes per TURBOchannel word = 1.12 µs',
    what: 'one programmed-I/O read of a 32-bit word in a TURBOchannel option (register or buffer)',
  },
  'tc.ioWriteCycles': {
    value: 12,
    unit: 'cycles',
    source: 'published measurement: library ether output incl. copy to the device buffer, MB93 Table 4 ((277−101)/1471 B ≈ 0.12 µs/byte) × 4 bytes = 0.48 µs; stores go through the R3000 write buffer',
    what: 'one programmed-I/O write of a 32-bit word in a TURBOchannel option',
  },
  'tc.ioReadNsPerByte': {
    value: 280,
    unit: 'ns/byte',
    source: 'published measurement: LANCE buffer → memory copy ≈0.28 µs/byte, MB93 Table 4 device-read and library copyout rows (mach-semantics.md §10)',
    what: 'block programmed-I/O read from a TURBOchannel option buffer, per byte',
  },
  'tc.ioWriteNsPerByte': {
    value: 120,
    unit: 'ns/byte',
    source: 'published measurement: MB93 Table 4 library ether output, (277−101)/1471 B ≈ 0.12 µs/byte',
    what: 'block programmed-I/O write to a TURBOchannel option buffer, per byte',
  },
  'tc.romReadCycles': {
    value: 28,
    unit: 'cycles',
    source: 'assumed equal to tc.ioReadCycles (no published ROM access time; GXemul guesses 13 cycles)',
    what: 'one read of a TURBOchannel option ROM longword',
  },
  'kn02.csrAccessCycles': {
    value: 5,
    unit: 'cycles',
    source: 'assumed one uncached system-register access ≈ a cache miss, 5 cycles (UB §3)',
    what: 'one access to the KN02 system CSR (interrupt status/enables)',
  },
} as const satisfies CostGroup;
