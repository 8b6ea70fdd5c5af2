/**
 * Generated adversaries against the whole system-call table (xv6 usertests' "ridiculous
 * arguments", generated): tasks run random sequences of every trap the ABI declares — core Mach
 * calls, the network I/O module's, the monolithic kernel's socket calls — with adversarial
 * arguments of the right kinds (names that exist and names that do not, 0, 2^32 − 1, huge sizes,
 * random messages with random rights and out-of-line regions, threads that do the same), plus
 * requests that are not traps at all. On hosts with every organization booted (the library's
 * registry and module, and the in-kernel TCP), with a peer and traffic around.
 *
 * Properties: the emulator never throws; the adversaries end (by their own doing or killed) and
 * every resource they could have taken comes back — physical frames, ports, queued messages — once
 * TIME-WAIT has passed; the other tasks on the host keep running.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { SYSCALL_TABLE, type ArgKind, type SyscallName, type TrapRequest } from '../../../kernel/abi/syscalls.ts';
import type { Kernel, Task } from '../../../kernel/kernel.ts';
import { buildKernelPair } from '../../../studies/scenarios/inkernel-hosts.ts';
import { buildLibPair } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { echoServerWith } from '../../../userland/apps/ttcp.ts';
import { kernelSockets } from '../../../userland/netlib/kernel-sockets.ts';

function fcRuns(): number {
  const n = Number(process.env['FC_NUM_RUNS']);
  return Number.isInteger(n) && n > 0 ? n : 100;
}

const NAMES: readonly SyscallName[] = Object.keys(SYSCALL_TABLE) as SyscallName[];

/** The peers' addresses (10.0.{0,2,3}.2: library Ethernet, kernel Ethernet, kernel AN1) and the echo port, so connects can succeed. */
const PEERS = [0x0a00_0002, 0x0a00_0202, 0x0a00_0302];
const u32 = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 40 }), weight: 4 }, // names, descriptors, small sizes and the echo port 7
  fc.constantFrom(0, 1, 0xffff_ffff, 0x8000_0000, 0x1_0000, 0x7fff_f000, 4096, ...PEERS),
  fc.nat(),
);
const i32 = fc.oneof(fc.integer({ min: -2, max: 40 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
const count = fc.oneof(
  { arbitrary: fc.nat({ max: 70_000 }), weight: 4 },
  fc.constantFrom(0, 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, 1_000_000_000_000),
);

type Item = { type: 'int32'; values: number[] } | { type: 'inline'; data: Uint8Array } | { type: 'port'; name: number; disposition: number } | { type: 'ool'; address: number; size: number; deallocate: boolean };
const item: fc.Arbitrary<Item> = fc.oneof(
  fc.record({ type: fc.constant('int32' as const), values: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 4 }) }),
  fc.record({ type: fc.constant('inline' as const), data: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ type: fc.constant('port' as const), name: u32, disposition: fc.integer({ min: 0, max: 25 }) }),
  fc.record({ type: fc.constant('ool' as const), address: u32, size: count, deallocate: fc.boolean() }),
);
const msg = fc.oneof(
  fc.constant(null),
  fc.record({ bits: u32, remote: u32, local: u32, id: fc.nat(), items: fc.array(item, { maxLength: 4 }) }),
);

/** A thread body an adversary may start: a few more random traps. */
const innerProgram = (traps: readonly unknown[]): GuestProgram =>
  function* () {
    for (const t of traps) yield t as TrapRequest;
  };

function argArb(kind: ArgKind, depth: number): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'u32':
      return u32;
    case 'i32':
      return i32;
    case 'count':
      return count;
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.oneof(fc.constantFrom('tcp-registry', 'daemon', ''), fc.string({ maxLength: 24 }));
    case 'bytes':
      return fc.uint8Array({ maxLength: 96 });
    case 'msg':
      return msg;
    case 'program':
      return depth > 0 ? fc.constant(innerProgram([])) : fc.array(trapArb(1), { maxLength: 4 }).map(innerProgram);
  }
}

function trapArb(depth: number): fc.Arbitrary<unknown> {
  const wellFormed = fc.constantFrom(...NAMES).chain((name) => {
    const spec = SYSCALL_TABLE[name] as { readonly args: Readonly<Record<string, ArgKind>> };
    const entries = Object.entries(spec.args);
    return fc.tuple(...entries.map(([, k]) => argArb(k, depth))).map((vals) => {
      const req: Record<string, unknown> = { sys: name };
      entries.forEach(([n], i) => (req[n] = vals[i]));
      return req;
    });
  });
  const garbage = fc.oneof(fc.constant(null), fc.constant(42), fc.record({ sys: fc.string({ maxLength: 12 }) }), fc.record({ sys: fc.constantFrom(...NAMES), extra: fc.nat() }));
  return fc.oneof({ arbitrary: wellFormed, weight: 12 }, { arbitrary: garbage, weight: 1 });
}

/** Which calls succeeded at least once over all runs (the generator must reach past the argument checks). */
const succeeded = new Set<string>();

/**
 * An adversary: optionally a well-behaved prelude that opens a connection to each peer's echo port
 * (so the random part finds live connections to abuse: blind guessing almost never connects), then
 * its random traps.
 */
const adversary = (traps: readonly unknown[], prelude: boolean): GuestProgram =>
  function* () {
    if (prelude) {
      for (const ip of PEERS) {
        const r: unknown = yield { sys: 'socket' } as TrapRequest;
        const fd = typeof r === 'object' && r !== null && typeof (r as { n?: unknown }).n === 'number' ? (r as { n: number }).n : 0;
        yield { sys: 'connect', fd, ip, port: 7 } as TrapRequest;
      }
    }
    for (const t of traps) {
      const r: unknown = yield t as TrapRequest;
      const kr = typeof r === 'object' && r !== null ? (r as { kr?: unknown }).kr : undefined;
      if (kr === 0 && typeof t === 'object' && t !== null) succeeded.add(String((t as { sys?: unknown }).sys));
    }
  };

interface Books {
  readonly freeFrames: number;
  readonly ports: number;
  readonly kmsgs: number;
}
const books = (k: Kernel): Books => ({ freeFrames: k.frames.freeCount, ports: k.ipc.portsLive, kmsgs: k.ipc.kmsgsLive });

/** Spawn the adversaries on `k`, run, kill what is left, let TIME-WAIT pass, compare the books (and `extra` ones). */
function attack(world: World, k: Kernel, programs: readonly { readonly traps: readonly unknown[]; readonly prelude: boolean }[], spawn: (name: string, p: GuestProgram) => Task, extra: () => object = () => ({})): void {
  world.sched.runFor(5_000_000);
  const before = { ...books(k), ...extra() };
  const tasks = programs.map((p, i) => spawn(`adversary${i}`, adversary(p.traps, p.prelude)));
  world.sched.runFor(200_000_000);
  for (const t of tasks) k.endTaskTree(t, { kind: 'killed', by: 'test' }); // with the tasks they created (task_create)
  world.sched.runFor(1_500_000_000); // TIME-WAIT (2 × 0.5 s MSL), AN1 quarantines, closes in flight
  expect(tasks.every((t) => !t.alive)).toBe(true);
  expect({ ...books(k), ...extra() }).toEqual(before);
}

const programsArb = fc.array(fc.record({ traps: fc.array(trapArb(0), { minLength: 5, maxLength: 40 }), prelude: fc.boolean() }), { minLength: 1, maxLength: 3 });

describe('generated adversaries against every system call', () => {
  it('the library organization (registry, network I/O module) on Ethernet: no throw, nothing leaks', () => {
    fc.assert(
      fc.property(programsArb, fc.integer({ min: 1, max: 1_000 }), (programs, seed) => {
        const world = new World({ seed, traceOn: false });
        const pair = buildLibPair(world, 'ethernet', { mslNs: 500_000_000, logStats: false });
        attack(world, pair.a.kernel, programs, (name, p) => pair.a.kernel.spawn(name, p));
        expect(pair.a.registry!.alive).toBe(true);
      }),
      { numRuns: Math.max(10, Math.floor(fcRuns() / 4)) },
    );
  });

  it('the monolithic organization (in-kernel TCP) on Ethernet and AN1: no throw, nothing leaks', () => {
    fc.assert(
      fc.property(programsArb, fc.integer({ min: 1, max: 1_000 }), fc.constantFrom('ethernet' as const, 'an1' as const), (programs, seed, link) => {
        const world = new World({ seed, traceOn: false });
        const pair = buildKernelPair(world, link, { mslNs: 500_000_000 });
        pair.spawn(pair.b, 'echo', echoServerWith(kernelSockets), { port: 7, conns: 1000 }); // connects can reach someone
        const net = pair.a.net;
        attack(world, pair.a.kernel, programs, (name, p) => pair.a.kernel.spawn(name, p), () => ({ openFiles: net.openFiles, blockedThreads: net.blockedThreads, connections: net.stack.connectionCount }));
      }),
      { numRuns: Math.max(10, Math.floor(fcRuns() / 4)) },
    );
  });

  it('reached past the argument checks: many different calls succeeded', () => {
    // Runs after the two properties above (vitest runs a file's tests in order).
    expect(succeeded.size).toBeGreaterThanOrEqual(15);
  });
});
