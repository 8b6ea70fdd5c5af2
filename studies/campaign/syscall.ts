/**
 * Campaign family `syscall`: generated adversaries against the whole system-call table (xv6
 * usertests' "ridiculous arguments"; test/property/kernel/syscall-fuzz.property.test.ts runs these
 * scenarios as fast-check properties, with more and longer adversaries):
 * 1–2 tasks run random sequences of every trap the ABI declares with adversarial arguments of
 * the right kinds (names that exist and names that do not, 0, 2^32 − 1, huge sizes, random
 * messages with random rights and out-of-line regions, threads doing the same), plus requests
 * that are not traps at all; half of them first connect to the peers' echo port so the random
 * part finds live connections. On the library organization (registry, network I/O module) on
 * Ethernet, or the monolithic one (in-kernel TCP) on Ethernet or AN1.
 *
 * Invariants: the emulator never throws; every trap the kernel answers gets a kern_return the
 * ABI defines (and an in-kernel socket call's negative `n` is an errno of SOCK_ERRNO); the
 * adversaries end (by their own doing or killed) and every resource they could have taken comes
 * back once TIME-WAIT has passed — physical frames, ports, queued messages (and on the monolithic
 * kernel open files, blocked threads, connections); the registry keeps running.
 */
import { BOOTSTRAP, KERN, MACH_MSG, MACH_MSG_ERR } from '../../kernel/abi/errors.ts';
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { NETIO_ERR } from '../../kernel/abi/netio.ts';
import { SOCK_ERRNO } from '../../kernel/abi/socket.ts';
import { SYSCALL_TABLE, type ArgKind, type SyscallName, type TrapRequest } from '../../kernel/abi/syscalls.ts';
import type { Kernel, Task } from '../../kernel/kernel.ts';
import { echoServerWith } from '../../userland/apps/ttcp.ts';
import { kernelSockets } from '../../userland/netlib/kernel-sockets.ts';
import { buildKernelPair } from '../scenarios/inkernel-hosts.ts';
import { buildLibPair } from '../scenarios/library-hosts.ts';
import { World } from '../world.ts';
import { CAMPAIGN_RAM_BYTES, type Checks } from './check.ts';
import type { Draw } from './draw.ts';

const NAMES: readonly SyscallName[] = Object.keys(SYSCALL_TABLE) as SyscallName[];
/** The peers' addresses (10.0.{0,2,3}.2: library Ethernet, kernel Ethernet, kernel AN1), so connects can succeed. */
const PEERS = [0x0a00_0002, 0x0a00_0202, 0x0a00_0302];
const MSL_NS = 20_000_000;

const MSG_ERR_BITS = Object.values(MACH_MSG_ERR).reduce((a, b) => a | b, 0);
const KNOWN_KR = new Set<number>([...Object.values(KERN), ...Object.values(MACH_MSG), ...Object.values(BOOTSTRAP), ...Object.values(NETIO_ERR)]);
const ERRNOS = new Set<number>(Object.values(SOCK_ERRNO));
/** A kern_return the ABI defines (mach_msg's header/body errors may carry resource-shortage bits). */
export const knownKr = (kr: number): boolean => KNOWN_KR.has(kr) || KNOWN_KR.has(kr & ~MSG_ERR_BITS);

const u32 = (d: Draw): number =>
  d.weighted<() => number>([
    [4, () => d.int(0, 40)], // names, descriptors, small sizes and the echo port 7
    [1, () => d.pick([0, 1, 0xffff_ffff, 0x8000_0000, 0x1_0000, 0x7fff_f000, 4096, ...PEERS])],
    [1, () => d.int(0, 0x7fff_ffff)],
  ])();
const i32 = (d: Draw): number => (d.bool() ? d.int(-2, 40) : d.int(-(2 ** 31), 2 ** 31 - 1));
const count = (d: Draw): number => (d.bool(0.8) ? d.int(0, 70_000) : d.pick([0, 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, 1_000_000_000_000]));

function item(d: Draw): unknown {
  return d.weighted<() => unknown>([
    [1, () => ({ type: 'int32', values: d.array(0, 4, () => d.int(-(2 ** 31), 2 ** 31 - 1)) })],
    [1, () => ({ type: 'inline', data: d.bytes(d.int(0, 64)) })],
    [1, () => ({ type: 'port', name: u32(d), disposition: d.int(0, 25) })],
    [1, () => ({ type: 'ool', address: u32(d), size: count(d), deallocate: d.bool() })],
  ])();
}
const msg = (d: Draw): unknown => (d.bool(0.2) ? null : { bits: u32(d), remote: u32(d), local: u32(d), id: d.int(0, 0x7fff_ffff), items: d.array(0, 4, () => item(d)) });

const innerProgram = (traps: readonly unknown[]): GuestProgram =>
  function* () {
    for (const t of traps) yield t as TrapRequest;
  };

function arg(d: Draw, kind: ArgKind, depth: number): unknown {
  switch (kind) {
    case 'u32':
      return u32(d);
    case 'i32':
      return i32(d);
    case 'count':
      return count(d);
    case 'bool':
      return d.bool();
    case 'string':
      return d.bool() ? d.pick(['tcp-registry', 'daemon', '']) : String.fromCharCode(...d.array(0, 24, () => d.int(32, 126)));
    case 'bytes':
      return d.bytes(d.int(0, 96));
    case 'msg':
      return msg(d);
    case 'program':
      return innerProgram(depth > 0 ? [] : d.array(0, 4, () => trap(d, 1)));
  }
}

/** One generated trap request: well formed in shape (12 in 13), or not a trap at all. */
export function trap(d: Draw, depth: number): unknown {
  if (d.int(0, 12) === 0) return d.pick<() => unknown>([() => null, () => 42, () => ({ sys: String.fromCharCode(...d.array(0, 12, () => d.int(97, 122))) }), () => ({ sys: d.pick(NAMES), extra: d.int(0, 1000) })])();
  const name = d.pick(NAMES);
  const spec = SYSCALL_TABLE[name] as { readonly args: Readonly<Record<string, ArgKind>> };
  const req: Record<string, unknown> = { sys: name };
  for (const [n, k] of Object.entries(spec.args)) req[n] = arg(d, k, depth);
  return req;
}

interface Answer {
  readonly sys: string;
  readonly result: unknown;
}

/** An adversary: an optional well-behaved prelude (connect to each peer's echo port), then its random traps; every answer is recorded. */
const adversary = (traps: readonly unknown[], prelude: boolean, answers: Answer[]): GuestProgram =>
  function* () {
    if (prelude) {
      for (const ip of PEERS) {
        const r: unknown = yield { sys: 'socket' } as TrapRequest;
        const fd = typeof r === 'object' && r !== null && typeof (r as { n?: unknown }).n === 'number' ? (r as { n: number }).n : 0;
        yield { sys: 'connect', fd, ip, port: 7 } as TrapRequest;
      }
    }
    for (const t of traps) {
      const result: unknown = yield t as TrapRequest;
      answers.push({ sys: typeof t === 'object' && t !== null ? String((t as { sys?: unknown }).sys) : String(t), result });
    }
  };

const books = (k: Kernel): Record<string, number> => ({ freeFrames: k.frames.freeCount, ports: k.ipc.portsLive, kmsgs: k.ipc.kmsgsLive });

export type SyscallOrg = 'library' | 'kernel-ethernet' | 'kernel-an1';

/** Sizes of a scenario (the campaign's by default; the property tests run more and longer adversaries). */
export interface SyscallOptions {
  /** The organizations to pick from. */
  readonly orgs?: readonly SyscallOrg[];
  /** How many adversaries: [min, max]. */
  readonly adversaries?: readonly [number, number];
  /** How many random traps each runs: [min, max]. */
  readonly traps?: readonly [number, number];
  /** How long they run before what is left of them is killed (ns). */
  readonly runNs?: number;
}

export function syscallScenario(d: Draw, c: Checks, o: SyscallOptions = {}): void {
  const org = d.pick(o.orgs ?? (['library', 'kernel-ethernet', 'kernel-an1'] as const));
  const [aLo, aHi] = o.adversaries ?? [1, 2];
  const [tLo, tHi] = o.traps ?? [5, 25];
  const programs = d.array(aLo, aHi, () => ({ traps: d.array(tLo, tHi, () => trap(d, 0)), prelude: d.bool() }));
  const world = new World({ seed: d.int(1, 1000), traceOn: false, ramBytes: CAMPAIGN_RAM_BYTES });
  let k: Kernel;
  let extra: () => Record<string, number> = () => ({});
  let survivor: Task | undefined;
  if (org === 'library') {
    const pair = buildLibPair(world, 'ethernet', { mslNs: MSL_NS, logStats: false });
    k = pair.a.kernel;
    survivor = pair.a.registry;
  } else {
    const pair = buildKernelPair(world, org === 'kernel-an1' ? 'an1' : 'ethernet', { mslNs: MSL_NS });
    pair.spawn(pair.b, 'echo', echoServerWith(kernelSockets), { port: 7, conns: 1000 }); // connects can reach someone
    k = pair.a.kernel;
    const net = pair.a.net;
    extra = () => ({ openFiles: net.openFiles, blockedThreads: net.blockedThreads, connections: net.stack.connectionCount });
  }
  world.sched.runFor(5_000_000);
  const before = { ...books(k), ...extra() };
  const answers: Answer[] = [];
  const tasks = programs.map((p, i) => k.spawn(`adversary${i}`, adversary(p.traps, p.prelude, answers)));
  world.sched.runFor(o.runNs ?? 50_000_000);
  for (const t of tasks) k.endTaskTree(t, { kind: 'killed', by: 'campaign' }); // with the tasks they created (task_create)
  world.sched.runFor(4 * MSL_NS + 50_000_000); // TIME-WAIT (2·MSL), AN1 quarantines, closes in flight
  c.check('syscall.adversaries-end', tasks.every((t) => !t.alive), () => 'an adversary is alive after being killed');
  for (const a of answers) {
    const r = a.result as { kr?: unknown; n?: unknown } | null;
    const kr = typeof r === 'object' && r !== null ? r.kr : undefined;
    if (kr === KERN.SUCCESS) c.tally(`syscall.ok.${a.sys}`);
    c.check('syscall.kern-return', typeof kr === 'number' && knownKr(kr), () => `${a.sys} answered ${JSON.stringify(r)?.slice(0, 80) ?? String(r)} (no kern_return the ABI defines)`);
    if (typeof r === 'object' && r !== null && typeof r.n === 'number' && r.n < 0) c.check('syscall.errno', ERRNOS.has(r.n), () => `${a.sys} answered n=${String(r.n)} (no SOCK_ERRNO)`);
  }
  const after = { ...books(k), ...extra() };
  for (const [name, v] of Object.entries(before)) c.equal(`syscall.books.${name}`, after[name]!, v, `${name} after the adversaries (before ${v})`);
  if (survivor !== undefined) c.check('syscall.registry-alive', survivor.alive, () => 'the registry died');
}
