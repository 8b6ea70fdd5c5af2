/**
 * The smallest guest program: spend some user cycles, trap a few times, read the clock, sleep,
 * log, exit. Used by the `hello` scenario to show the guest/kernel/CPU timing loop end to end.
 */
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { sys } from '../mach/syscalls.ts';

export const hello: GuestProgram = function* (ctx) {
  const rounds = typeof ctx.params['rounds'] === 'number' ? ctx.params['rounds'] : 4;
  const work = typeof ctx.params['workCycles'] === 'number' ? ctx.params['workCycles'] : 2_500;
  const start = yield* sys.clock_get_ns({});
  for (let i = 0; i < rounds; i++) {
    ctx.spend(work);
    yield* sys.null_trap({});
    yield* sys.thread_sleep_ns({ ns: 100_000 });
  }
  const end = yield* sys.clock_get_ns({});
  yield* sys.debug_log({ text: `hello from task ${ctx.taskId}: ${rounds} rounds in ${end.ns - start.ns} ns` });
  yield* sys.task_exit({ code: 0 });
};
