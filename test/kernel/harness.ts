/**
 * Kernel test harness: one host, one kernel, and "puppet" tasks whose single thread executes
 * system calls (or memory accesses) that the test hands it one at a time, so a test can drive
 * several tasks step by step through real traps and check every result.
 */
import type { GuestContext, GuestProgram } from '../../kernel/abi/guest.ts';
import { MemoryFault } from '../../kernel/abi/guest.ts';
import type { SyscallArgs, SyscallName, SyscallResults, TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import type { Kernel, Task, Thread } from '../../kernel/kernel.ts';
import { MSG_TYPE, TASK_PORT } from '../../kernel/abi/message.ts';
import { receive, reply } from '../../userland/mach/ipc.ts';
import { sys } from '../../userland/mach/syscalls.ts';
import { World } from '../../studies/world.ts';

export function boot(seed = 1, traceOn = false): { world: World; kernel: Kernel } {
  const world = new World({ seed, traceOn });
  const host = world.addHost('ws');
  const kernel = world.bootKernel(host);
  return { world, kernel };
}

type Command = { kind: 'trap'; req: TrapRequest } | { kind: 'mem'; fn: (ctx: GuestContext) => unknown };

/** A task whose thread runs the commands the test gives it. */
export class Puppet {
  readonly task: Task;
  private readonly queue: Command[] = [];
  private result: { done: boolean; value: unknown } = { done: false, value: undefined };
  thread: Thread;

  constructor(
    private readonly world: World,
    private readonly kernel: Kernel,
    name: string,
    options: { privileged?: boolean; catchFaults?: boolean } = {},
  ) {
    const self = this;
    const program: GuestProgram = function* (ctx) {
      for (;;) {
        const cmd = self.queue.shift();
        if (cmd === undefined) {
          yield { sys: 'thread_sleep_ns', ns: 1_000_000_000 };
          continue;
        }
        if (cmd.kind === 'trap') {
          const r: TrapResult = yield cmd.req;
          self.result = { done: true, value: r };
        } else {
          try {
            self.result = { done: true, value: cmd.fn(ctx) };
          } catch (e) {
            // A fault is also seen by the kernel (exception); report it to the test.
            self.result = { done: true, value: e instanceof MemoryFault ? e : e };
          }
        }
      }
    };
    this.task = kernel.spawn(name, program, { privileged: options.privileged ?? false });
    this.thread = this.task.threads[0]!;
    if (options.catchFaults === true) {
      // A second thread is the task's exception handler: it resumes every faulting thread.
      const handler: GuestProgram = function* () {
        const { name: port } = yield* sys.mach_reply_port({});
        yield* sys.mach_port_insert_right({ name: port, disposition: MSG_TYPE.MAKE_SEND });
        yield* sys.task_set_special_port({ which: TASK_PORT.EXCEPTION, name: port });
        for (;;) {
          const r = yield* receive(port);
          if (r.msg !== undefined) yield* reply(r.msg, [{ type: 'int32', values: [0] }]);
        }
      };
      kernel.addThread(this.task, handler, 20);
    }
    world.sched.runUntil(() => this.task.threads.every((t) => t.state.kind === 'blocked'), { nsMax: 1e9 });
  }

  /** Run one system call to completion (or until it blocks: then `pending` is returned). */
  call<K extends SyscallName>(sys: K, args: SyscallArgs<K>, nsMax = 1e9): SyscallResults[K] | 'blocked' | 'dead' {
    const r = this.run({ kind: 'trap', req: { sys, ...args } as unknown as TrapRequest }, nsMax);
    return r as SyscallResults[K] | 'blocked' | 'dead';
  }

  /** Start a call and leave it running (the thread may block); collect it later with `collect`. */
  start<K extends SyscallName>(sys: K, args: SyscallArgs<K>): void {
    this.result = { done: false, value: undefined };
    this.queue.push({ kind: 'trap', req: { sys, ...args } as unknown as TrapRequest });
    this.poke();
    this.world.sched.runUntil(() => this.result.done || !this.task.alive || this.thread.state.kind === 'blocked' && this.queue.length === 0 && this.thread.state.on !== 'sleep', { nsMax: 1e9 });
  }

  collect<K extends SyscallName>(_sys: K, nsMax = 1e9): SyscallResults[K] | 'blocked' | 'dead' {
    this.world.sched.runUntil(() => this.result.done || !this.task.alive, { nsMax });
    if (!this.task.alive) return 'dead';
    if (!this.result.done) return 'blocked';
    this.result.done = false;
    return this.result.value as SyscallResults[K];
  }

  /** Run a function over the task's memory view inside the task (faults are returned). */
  mem<T>(fn: (ctx: GuestContext) => T): T | MemoryFault | 'dead' {
    return this.run({ kind: 'mem', fn }, 1e9) as T | MemoryFault | 'dead';
  }

  /** Cut the idle sleep short (never a real wait). */
  private poke(): void {
    // Let an exception in progress (or the end of the last command) settle first.
    this.world.sched.runUntil(() => !this.task.alive || (this.thread.state.kind === 'blocked' && this.thread.state.on === 'sleep'), { nsMax: 1e8 });
    const st = this.thread.state;
    if (st.kind === 'blocked' && st.on === 'sleep') this.kernel.wake(this.thread, { kr: 0 });
  }

  private run(cmd: Command, nsMax: number): unknown {
    if (!this.task.alive) return 'dead';
    this.result = { done: false, value: undefined };
    this.queue.push(cmd);
    this.poke();
    this.world.sched.runUntil(() => this.result.done || !this.task.alive, { nsMax });
    if (!this.task.alive && !this.result.done) return 'dead';
    if (!this.result.done) return 'blocked';
    this.result.done = false;
    return this.result.value;
  }
}
