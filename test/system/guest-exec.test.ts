import { describe, expect, it } from 'vitest';
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { sys } from '../../userland/mach/syscalls.ts';
import { World } from '../../studies/world.ts';

function bootOne() {
  const world = new World({ seed: 1 });
  const host = world.addHost('ws');
  const kernel = world.bootKernel(host);
  return { world, host, kernel };
}

describe('guest execution', () => {
  it('charges spent cycles at the next trap, plus the trap path', () => {
    const { world, kernel } = bootOne();
    const times: number[] = [];
    const prog: GuestProgram = function* (ctx) {
      times.push((yield* sys.clock_get_ns({})).ns);
      ctx.spend(1_000);
      times.push((yield* sys.clock_get_ns({})).ns);
    };
    const task = kernel.spawn('t', prog);
    world.sched.runUntil(() => !task.alive, { nsMax: 1e9 });
    const trap = world.costs.get('kernel.trapCycles') + world.costs.get('kernel.nullServiceCycles');
    // The clock is read inside the service: after the user cycles and the trap entry.
    expect(times[1]! - times[0]!).toBe((1_000 + trap) * 40);
    expect(task.exit).toEqual({ kind: 'exit', code: 0 });
  });

  it.each<[string, GuestProgram, RegExp]>([
    [
      'throws',
      // eslint-disable-next-line require-yield
      function* () {
        throw new Error('boom');
      },
      /threw: Error: boom/,
    ],
    ['yields garbage', function* () { yield 42 as never; }, /not an object/],
    ['yields an unknown system call', function* () { yield { sys: 'format_disk' } as never; }, /unknown system call/],
    ['passes a bad argument', function* () { yield { sys: 'thread_sleep_ns', ns: -5 } as never; }, /argument ns not a count/],
  ])('a guest that %s ends its task with the reason; the emulator goes on', (_name, prog, reason) => {
    const { world, kernel } = bootOne();
    const bad = kernel.spawn('bad', prog);
    const good = kernel.spawn('good', function* () {
      yield* sys.null_trap({});
      yield* sys.thread_sleep_ns({ ns: 1_000 });
    });
    world.sched.runUntil(() => !bad.alive && !good.alive, { nsMax: 1e9 });
    expect(bad.exit?.kind).toBe('guest-error');
    expect(bad.exit?.kind === 'guest-error' ? bad.exit.message : '').toMatch(reason);
    expect(good.exit).toEqual({ kind: 'exit', code: 0 });
    expect(world.trace.guestErrorsTotal).toBe(1);
  });

  it('round-robins equal-priority threads at each trap, with a context switch between them', () => {
    const { world, kernel } = bootOne();
    const order: string[] = [];
    const mk = (name: string): GuestProgram =>
      function* () {
        for (let i = 0; i < 3; i++) {
          order.push(name);
          yield* sys.thread_yield({});
        }
      };
    const a = kernel.spawn('a', mk('a'));
    const b = kernel.spawn('b', mk('b'));
    world.sched.runUntil(() => !a.alive && !b.alive, { nsMax: 1e9 });
    expect(order).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    expect(kernel.contextSwitchesTotal).toBeGreaterThanOrEqual(5);
  });
});
