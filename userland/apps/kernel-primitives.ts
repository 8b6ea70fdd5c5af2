/**
 * Guest programs that measure the kernel's primitive costs with the kernel clock, as the
 * micro-benchmarks of Bershad et al. (UB) did: each loops `rounds` times between two clock reads
 * and logs `key=<ns per operation>` for the kernel-primitives scenario to collect.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { PORT_RIGHT } from '../../kernel/abi/message.ts';
import { Cthreads, type CthreadBody } from '../cthreads/cthreads.ts';
import { receive, replyAndReceive, rpc } from '../mach/ipc.ts';
import { sys } from '../mach/syscalls.ts';

const roundsOf = (p: Readonly<Record<string, unknown>>, d: number): number => (typeof p['rounds'] === 'number' ? p['rounds'] : d);

function* report(key: string, ns: number) {
  yield* sys.debug_log({ text: `${key}=${ns}` });
}

/** nullTrapNs: a trap that does nothing. */
export const nullTrapBench: GuestProgram = function* (ctx) {
  const n = roundsOf(ctx.params, 1000);
  const t0 = yield* sys.clock_get_ns({});
  for (let i = 0; i < n; i++) yield* sys.null_trap({});
  const t1 = yield* sys.clock_get_ns({});
  yield* report('nullTrapNs', (t1.ns - t0.ns) / n);
};

export const RPC_SERVICE = 'null-rpc';

/** The null-RPC server: replies with an empty message, forever (until quit id 2). */
export const nullRpcServer: GuestProgram = function* () {
  const { name: port } = yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE });
  yield* sys.bootstrap_register({ service: RPC_SERVICE, name: port });
  let { msg } = yield* receive(port);
  while (msg !== undefined && msg.id !== 2) ({ msg } = yield* replyAndReceive(msg, [], port));
};

/** nullRpcNs: mach_msg RPC round trip (send + receive in one trap) to the server task. */
export const nullRpcClient: GuestProgram = function* (ctx) {
  const n = roundsOf(ctx.params, 200);
  let l = yield* sys.bootstrap_look_up({ service: RPC_SERVICE });
  for (let tries = 0; l.kr !== KERN.SUCCESS && tries < 100; tries++) {
    yield* sys.thread_sleep_ns({ ns: 10_000 });
    l = yield* sys.bootstrap_look_up({ service: RPC_SERVICE });
  }
  if (l.kr !== KERN.SUCCESS) return;
  const { name: replyPort } = yield* sys.mach_reply_port({});
  yield* rpc(l.name, replyPort, 1, []); // warm-up: the server is now waiting in receive
  const t0 = yield* sys.clock_get_ns({});
  for (let i = 0; i < n; i++) yield* rpc(l.name, replyPort, 1, []);
  const t1 = yield* sys.clock_get_ns({});
  yield* report('nullRpcNs', (t1.ns - t0.ns) / n);
  yield* rpc(l.name, replyPort, 2, []);
};

/** Two of these in two tasks yield to each other; `yieldRoundNs` = one round (2 yields + 2 switches). */
export const yieldPingPong: GuestProgram = function* (ctx) {
  const n = roundsOf(ctx.params, 200);
  const t0 = yield* sys.clock_get_ns({});
  for (let i = 0; i < n; i++) yield* sys.thread_yield({});
  const t1 = yield* sys.clock_get_ns({});
  if (ctx.params['report'] === true) yield* report('yieldRoundNs', (t1.ns - t0.ns) / n);
};

/** cthreadSwitchNs: two C-threads yielding to each other at user level. */
export const cthreadSwitchBench: GuestProgram = function* (ctx) {
  const n = roundsOf(ctx.params, 500);
  const pkg = new Cthreads(ctx);
  const s = yield* sys.semaphore_create({ value: 0 });
  pkg.idleSemaphore = s.name;
  const body: CthreadBody<void> = function* (p) {
    for (let i = 0; i < n; i++) yield* p.yield();
  };
  pkg.fork(body);
  pkg.fork(body);
  const t0 = yield* sys.clock_get_ns({});
  const before = pkg.switchesTotal;
  yield* pkg.run(() => false);
  const t1 = yield* sys.clock_get_ns({});
  yield* report('cthreadSwitchNs', (t1.ns - t0.ns) / Math.max(1, pkg.switchesTotal - before));
};

/**
 * semaphoreWakeupNs: a high-priority thread waits on a semaphore; a lower-priority thread of the
 * same task writes the clock into shared memory and signals; the waiter reads the clock as soon as
 * it runs. Signal → waiting thread running, averaged.
 */
export const semaphoreWakeupBench: GuestProgram = function* (ctx) {
  const n = roundsOf(ctx.params, 100);
  const s = yield* sys.semaphore_create({ value: 0 });
  const page = yield* sys.vm_allocate({ address: 0, size: 4096, anywhere: true });
  let totalNs = 0;
  let done = false;
  const sem = s.name;
  const at = page.address;
  yield* sys.thread_create({
    priority: 14,
    program: function* (c) {
      for (let i = 0; i < n; i++) {
        yield* sys.semaphore_wait({ sem });
        const t1 = yield* sys.clock_get_ns({});
        const t0 = c.mem.read32(at) + c.mem.read32(at + 4) * 2 ** 32;
        totalNs += t1.ns - t0;
      }
      done = true;
    },
  });
  for (let i = 0; i < n; i++) {
    yield* sys.thread_sleep_ns({ ns: 50_000 });
    const t0 = yield* sys.clock_get_ns({});
    ctx.mem.write32(at, t0.ns % 2 ** 32);
    ctx.mem.write32(at + 4, Math.floor(t0.ns / 2 ** 32));
    yield* sys.semaphore_signal({ sem });
  }
  while (!done) yield* sys.thread_sleep_ns({ ns: 50_000 });
  yield* report('semaphoreWakeupNs', totalNs / n);
};
