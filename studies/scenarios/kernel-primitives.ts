/**
 * `kernel-primitives`: the microkernel's primitive costs in simulated microseconds, measured by
 * guest programs with the kernel clock (userland/apps/kernel-primitives.ts), beside the published
 * DECstation figures (mach-semantics.md §10; docs/kernel.md has the comparison).
 */
import { msToNs } from '../../emulator/sim/time.ts';
import {
  cthreadSwitchBench,
  nullRpcClient,
  nullRpcServer,
  nullTrapBench,
  semaphoreWakeupBench,
  yieldPingPong,
} from '../../userland/apps/kernel-primitives.ts';
import type { Kernel, Task } from '../../kernel/kernel.ts';
import { paramReader, type ParamSpec } from './params.ts';
import type { Scenario } from './types.ts';

const rounds = (name: string, d: number, what: string): ParamSpec => ({ name, type: 'int', default: d, min: 1, max: 100_000, unit: 'rounds', doc: `${what} averaged` });
const PARAMS: readonly ParamSpec[] = [
  rounds('trapRounds', 1000, 'null traps'),
  rounds('rpcRounds', 200, 'null RPCs'),
  rounds('yieldRounds', 200, 'yield ping-pong rounds (two context switches each)'),
  rounds('cthreadRounds', 500, 'C-thread switches'),
  rounds('semaphoreRounds', 100, 'semaphore wake-ups'),
];

function logValue(task: Task, key: string): number {
  for (const line of task.log) {
    const [k, v] = line.split('=');
    if (k === key && v !== undefined) return Number(v);
  }
  return Number.NaN;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export const kernelPrimitivesScenario: Scenario = {
  name: 'kernel-primitives',
  summary: 'null trap, null RPC, context switch, C-thread switch and semaphore wake-up, measured by guest programs',
  params: PARAMS,
  run(world, options) {
    const p = paramReader(PARAMS, options.params);
    const host = world.addHost('ws');
    const kernel: Kernel = world.bootKernel(host);
    const cthreadSwitchCycles = world.costs.get('cthreads.switchCycles');
    const most = Math.max(...PARAMS.map((s) => p.num(s.name)));
    // 1 s, or 1 ms a round for long runs (a context switch or an RPC is tens of µs).
    const runAll = (tasks: Task[]): string => world.sched.runUntil(() => tasks.every((t) => !t.alive), { nsMax: Math.max(msToNs(1_000), most * msToNs(1)) });

    const trap = kernel.spawn('null-trap', nullTrapBench, { params: { rounds: p.num('trapRounds') } });
    const o1 = runAll([trap]);
    const server = kernel.spawn('rpc-server', nullRpcServer);
    const client = kernel.spawn('rpc-client', nullRpcClient, { params: { rounds: p.num('rpcRounds') } });
    const o2 = runAll([server, client]);
    const y1 = kernel.spawn('yield-a', yieldPingPong, { params: { rounds: p.num('yieldRounds'), report: true } });
    const y2 = kernel.spawn('yield-b', yieldPingPong, { params: { rounds: p.num('yieldRounds') } });
    const o3 = runAll([y1, y2]);
    const ct = kernel.spawn('cthreads', cthreadSwitchBench, { params: { rounds: p.num('cthreadRounds'), cthreadSwitchCycles } });
    const o4 = runAll([ct]);
    const sem = kernel.spawn('semaphore', semaphoreWakeupBench, { params: { rounds: p.num('semaphoreRounds') }, priority: 12 });
    const o5 = runAll([sem]);

    const nullTrapNs = logValue(trap, 'nullTrapNs');
    // One ping-pong round = two yield traps + two context switches.
    const contextSwitchNs = (logValue(y1, 'yieldRoundNs') - 2 * nullTrapNs) / 2;
    return {
      outcome: [o1, o2, o3, o4, o5].every((o) => o === 'done') ? 'done' : 'limit',
      nullTrapUs: round2(nullTrapNs / 1000),
      nullRpcUs: round2(logValue(client, 'nullRpcNs') / 1000),
      contextSwitchUs: round2(contextSwitchNs / 1000),
      cthreadSwitchUs: round2(logValue(ct, 'cthreadSwitchNs') / 1000),
      semaphoreWakeupUs: round2(logValue(sem, 'semaphoreWakeupNs') / 1000),
      published: {
        nullTrapUs: { low: 15, high: 30, source: 'MB92 fn.1: plain system call ≈30 µs on a 12 MHz DS2100, ≈15 µs if cycle-bound at 25 MHz' },
        nullRpcUs: { low: 60, high: 95, source: 'CONT Table 3 / UB §3: MK40 null RPC 95 µs on a DS3100 (16.67 MHz), ≈63 µs scaled to 25 MHz' },
        contextSwitchUs: { low: 10, high: 16, source: 'CONT Table 4: full switch 250 instructions (52 loads, 27 stores) ≈ 10 µs at CPI 1, 16 µs with cache refill' },
        cthreadSwitchUs: { low: 1, high: 3, source: 'MB92 §2.3: "little more than a coroutine switch" (no measurement published)' },
        semaphoreWakeupUs: { low: 73, high: 95, source: 'MB93 Table 4: wake user thread, library column (Mach 2.5 kernel 54–70); its interrupt-level counterpart is mb93-primitives wakeUserThreadUs' },
      },
      exceptions: kernel.exceptionsTotal,
      contextSwitches: kernel.contextSwitchesTotal,
      handoffs: kernel.handoffsTotal,
    };
  },
};
