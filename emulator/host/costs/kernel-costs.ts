/**
 * Costs of the Mach-like microkernel's paths on a 25 MHz R3000. Sources are keyed as in
 * ../shared/kernel/mach-semantics.md §10 (CONT = Draves et al., continuations; UB = Bershad et al.;
 * MB92/MB93 = Maeda & Bershad).
 */
import type { CostGroup } from './cost-table.ts';

export const KERNEL_COSTS = {
  'kernel.trapCycles': {
    value: 150,
    unit: 'cycles',
    source: 'published path lengths: system call entry 64 + exit 35 instructions in MK40 (CONT Table 4) at ≈1.5 cycles per instruction with cache misses = 6 µs; mach-semantics.md §10 proposes 4–8 µs',
    what: 'trap entry and exit around any system call, excluding the service itself',
  },
  'kernel.nullServiceCycles': {
    value: 10,
    unit: 'cycles',
    source: 'derived: dispatch through the system-call table and return-code store, ~10 instructions',
    what: 'service part of a system call that does nothing (null trap)',
  },
  'kernel.contextSwitchCycles': {
    value: 400,
    unit: 'cycles',
    source: 'published path length: full context switch 250 instructions, 52 loads / 27 stores (MK32 path, CONT Table 4) plus cache refill ≈ 1.6 cycles/instruction = 16 µs',
    what: 'switch the CPU from one kernel thread to another (save, choose, restore)',
  },
  'kernel.interruptEntryCycles': {
    value: 150,
    unit: 'cycles',
    source: 'assumed equal to kernel.trapCycles: exception entry/exit saves and restores the same state (CONT Table 4 path lengths)',
    what: 'hardware interrupt entry and exit, before the driver handler',
  },
} as const satisfies CostGroup;
