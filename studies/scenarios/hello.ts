/**
 * `hello`: two hosts boot; on each a guest thread spends cycles and traps a few times. Shows the
 * timing loop (user cycles + trap cost + service, sleeps on the kernel's timing wheel) end to end.
 */
import { hello } from '../../userland/apps/hello.ts';
import { msToNs } from '../../emulator/sim/time.ts';
import { paramReader, type ParamSpec } from './params.ts';
import type { Scenario } from './types.ts';

const PARAMS: readonly ParamSpec[] = [
  { name: 'hosts', type: 'int', default: 2, min: 1, max: 26, unit: 'hosts', doc: 'DECstations booted (ws-a, ws-b, ...), one hello task on each' },
  { name: 'rounds', type: 'int', default: 3, min: 1, max: 100_000, unit: 'rounds', doc: 'work-trap-sleep rounds of the first host\'s task (host i runs rounds + i)' },
  { name: 'workCycles', type: 'int', default: 2_500, min: 0, max: 10_000_000, unit: 'cycles', doc: 'user cycles spent before each trap' },
];

export const helloScenario: Scenario = {
  name: 'hello',
  summary: 'two hosts boot; on each a guest thread spends cycles and traps a few times',
  params: PARAMS,
  run(world, options) {
    const p = paramReader(PARAMS, options.params);
    const rounds = p.num('rounds');
    const workCycles = p.num('workCycles');
    const names = Array.from({ length: p.num('hosts') }, (_, i) => `ws-${String.fromCharCode(97 + i)}`);
    const tasks = names.map((name, i) => {
      const host = world.addHost(name);
      const kernel = world.bootKernel(host);
      return { host, kernel, task: kernel.spawn('hello', hello, { params: { rounds: rounds + i, workCycles } }) };
    });
    // Each round sleeps 100 µs and works ≤ 0.4 ms at 25 MHz: a bound no completed run reaches.
    const nsMax = Math.max(msToNs(100), (rounds + names.length) * (200_000 + workCycles * 40) * 2);
    const outcome = world.sched.runUntil(() => tasks.every((t) => !t.task.alive), { nsMax });
    return {
      outcome,
      hosts: tasks.map(({ host, kernel, task }) => ({
        host: host.name,
        traps: kernel.trapsTotal,
        exit: task.exit === undefined ? 'running' : task.exit.kind,
        log: task.log.join('\n'),
        cpuBusyNs: host.cpu.busyNsTotal,
        cyclesUser: host.cpu.cyclesByCategory.get('user') ?? 0,
        cyclesTrap: host.cpu.cyclesByCategory.get('trap') ?? 0,
      })),
    };
  },
};
