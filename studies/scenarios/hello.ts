/**
 * `hello`: two hosts boot; on each a guest thread spends cycles and traps a few times. Shows the
 * timing loop (user cycles + trap cost + service, sleeps on the kernel's timing wheel) end to end.
 */
import { hello } from '../../userland/apps/hello.ts';
import { msToNs } from '../../emulator/sim/time.ts';
import type { Scenario } from './types.ts';

export const helloScenario: Scenario = {
  name: 'hello',
  summary: 'two hosts boot; on each a guest thread spends cycles and traps a few times',
  run(world) {
    const tasks = ['ws-a', 'ws-b'].map((name, i) => {
      const host = world.addHost(name);
      const kernel = world.bootKernel(host);
      return { host, kernel, task: kernel.spawn('hello', hello, { params: { rounds: 3 + i, workCycles: 2_500 } }) };
    });
    const outcome = world.sched.runUntil(() => tasks.every((t) => !t.task.alive), { nsMax: msToNs(100) });
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
