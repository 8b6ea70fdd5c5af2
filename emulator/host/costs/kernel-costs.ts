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
  'kernel.wakeupCycles': {
    value: 1490,
    unit: 'cycles',
    source:
      'calibrated on MB93 Table 4 wake user thread, library column, 73–95 µs on a DECstation 5000/200 (mb93-primitives measures the row, from the module’s semaphore signal to the woken thread back in user mode): the remainder at the midpoint, 84 µs, after what the emulator charges apart on that path — the signal (kernel.semaphoreCycles), the switch from the idle thread (kernel.contextSwitchCycles) and the trap exit (kernel.trapCycles) — which came to 24.4 µs. It stands for Mach’s thread_wakeup / thread_setrun, the idle thread’s dispatch and AST check, the address-space activation, and the TLB and cache refill a thread pays after blocking (MB93 §4 attributes its wake-up to these). Charged when a thread that blocked is next dispatched, not on an RPC stack hand-off (CONT §3: the hand-off bypasses the run queue), so the null RPC does not move',
    what: 'scheduler wake-up path of a thread that blocked (wakeup, run queue, dispatch, refill), besides the context switch',
  },
  'kernel.quantumNs': {
    value: 100_000_000,
    unit: 'ns',
    source: 'Mach 3.0 kern/sched_prim.c sched_init: min_quantum = hz / 10 ("context switch 10 times/second"); a thread keeps the CPU against runnable threads of equal priority for one quantum (a higher priority preempts at once)',
    what: 'scheduling quantum: time a thread runs before an equal-priority runnable thread gets the CPU',
  },
  'kernel.handoffCycles': {
    value: 130,
    unit: 'cycles',
    source: 'published path length: stack hand-off 83 instructions, 22 loads / 18 stores (MK40, CONT Table 4) at ≈1.6 cycles per instruction, as kernel.contextSwitchCycles',
    what: 'switch from an RPC caller blocking in receive straight to the receiver its message woke (stack hand-off)',
  },
  'kernel.interruptEntryCycles': {
    value: 565,
    unit: 'cycles',
    source:
      'calibrated on MB93 Table 4 device interrupt/read, 39–42 µs for a small frame on a DECstation 5000/200: the remainder after the LANCE driver’s path (lance.driverInterruptCycles, lance.driverRxFrameCycles) and its PIO of CSR0 and descriptors (tc.io*), which the emulator charges apart, so that mb93-primitives measures the row at its midpoint (the earlier value, 150, assumed an interrupt cost what a system call does). Unlike a trap, an asynchronous interrupt saves and restores the whole register file (all 31 registers, HI/LO, status, cause, EPC), dispatches through the KN02 interrupt decode and spl levels, and on the way out checks for ASTs and pending software interrupts',
    what: 'hardware interrupt entry and exit, before the driver handler',
  },
  'kernel.msgSendCycles': {
    value: 330,
    unit: 'cycles',
    source: 'calibrated on the same-machine null RPC, 60–95 µs on DECstation 5000/200-class hardware (mach-semantics.md §10: DS3100 95 µs, CONT Table 3 / UB §3, ≈ 63 µs if it scaled with the clock): aimed at the middle, 75 µs = 2 × (trap 150 + send 330 + receive 330 + hand-off 130) cycles',
    what: 'mach_msg send half: header copyin, right translation of the destination, enqueue or hand-off',
  },
  'kernel.msgReceiveCycles': {
    value: 330,
    unit: 'cycles',
    source: 'calibrated with kernel.msgSendCycles on the 60–95 µs null RPC (mach-semantics.md §10); MK40 message path ≈ 2× the 64-instruction trap entry (CONT Table 4)',
    what: 'mach_msg receive half: dequeue, header copyout, reply-right insertion',
  },
  'kernel.msgRightCycles': {
    value: 40,
    unit: 'cycles',
    source: 'derived: one name-table lookup or insertion (16-byte entry, OM ipc_entry.h) ≈ 25 instructions with a cache miss or two (UB §3: 5 cycles a miss)',
    what: 'each port right carried in a message body (copyin or copyout)',
  },
  'kernel.portOpCycles': {
    value: 60,
    unit: 'cycles',
    source: 'derived: a mach_port_* operation is one name lookup plus bookkeeping, ≈ 40 instructions (CONT Table 4 style path count)',
    what: 'service part of a mach_port_* / bootstrap system call',
  },
  'kernel.vmOpCycles': {
    value: 200,
    unit: 'cycles',
    source: 'derived: map entry lookup, clip and insert in the VM map, ≈ 130 instructions at ≈1.5 cycles each (CONT Table 4 CPI)',
    what: 'fixed part of a VM call (vm_allocate, vm_deallocate, vm_protect, vm_map, vm_wire)',
  },
  'kernel.vmPageCycles': {
    value: 60,
    unit: 'cycles',
    source: 'derived: pmap enter of one page (page-table store + TLB invalidate of the R3000, 64-entry TLB, NB cpuregs.h) ≈ 40 instructions',
    what: 'per page mapped by a VM call',
  },
  'kernel.pageZeroCycles': {
    value: 2048,
    unit: 'cycles',
    source: 'derived: zero-filling 4 KB = 1024 word stores through the 4-entry write buffer at ≈2 cycles a store on the 5000/200 (UB §3 measured 1 store per 6 cycles on the slower DS3100 memory)',
    what: 'zero-fill of one freshly allocated page',
  },
  'kernel.semaphoreCycles': {
    value: 50,
    unit: 'cycles',
    source: 'derived: CMU evc_signal / evc_wait are a count update and a thread wakeup test, ≈ 30 instructions (OM kernel/kern/eventcount.c)',
    what: 'semaphore signal or wait service (the wakeup then costs a context switch)',
  },
  'kernel.exceptionCycles': {
    value: 600,
    unit: 'cycles',
    source: 'derived: MK40 user-level exception handling 135 µs on a DS3100 (CONT Table 3) less its ≈95 µs null RPC = 40 µs at 16.67 MHz ≈ 670 cycles',
    what: 'exception entry and building the exception_raise message (the RPC to the handler is charged as IPC)',
  },
  'kernel.threadCreateCycles': {
    value: 800,
    unit: 'cycles',
    source: 'derived: thread structure, 4 KB kernel stack (CONT §3.4) allocation and initialisation, ≈ 500 instructions',
    what: 'thread_create service',
  },
  'cthreads.switchCycles': {
    value: 50,
    unit: 'cycles',
    source: 'derived: a C-threads (cproc) switch saves/restores 9 callee-saved registers, sp, fp, ra (24 loads/stores) and moves the thread between queues ≈ 40 instructions; "little more than a coroutine switch" (MB92 §2.3). Userland copy: CTHREAD_SWITCH_CYCLES in userland/cthreads/cthreads.ts; scenarios pass this value as the task parameter cthreadSwitchCycles',
    what: 'user-level C-thread context switch (user cycles, no trap)',
  },
  'cthreads.mutexCycles': {
    value: 23,
    unit: 'cycles',
    source: 'published measurement: Bershad, Redell & Ellis, "Fast Mutual Exclusion for Uniprocessors", ASPLOS V 1992, Table 2: mutex lock + unlock 0.91 µs with restartable atomic sequences (Mach 3.0 MK42 on a DECstation 5000/200) = 22.75 cycles at 25 MHz. Userland copy: CTHREAD_MUTEX_CYCLES in userland/cthreads/pool.ts; scenarios pass this value as the task parameter cthreadMutexCycles. The same table’s C-Threads ping-pong, 115 µs, is a check, not a source: two kernel threads handing off through a pool condition measure ≈ 109 µs here (test/kernel/cthreads-pool.test.ts; docs/library.md)',
    what: 'uncontended C-Threads mutex_lock + mutex_unlock (user cycles, no trap)',
  },
} as const satisfies CostGroup;
