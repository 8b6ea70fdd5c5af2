/**
 * In-process ping-pong runs for the structure and what-if tests: the paper-table3 scenarios'
 * set-up (pingClient against echoServer over an established connection) for the library and the
 * monolithic organization, fewer rounds, any cost overrides; with the system calls each host's
 * kernel charged, by name.
 */
import { SYSCALL_TABLE } from '../../kernel/abi/syscalls.ts';
import { logField } from '../../studies/scenarios/hosts.ts';
import { buildKernelPair } from '../../studies/scenarios/inkernel-hosts.ts';
import { buildLibPair, type LinkName } from '../../studies/scenarios/library-hosts.ts';
import { World } from '../../studies/world.ts';
import { echoServer, echoServerWith, pingClient, pingClientWith } from '../../userland/apps/ttcp.ts';
import { kernelSockets } from '../../userland/netlib/kernel-sockets.ts';

export type Org = 'library' | 'monolithic';

export interface PingRun {
  /** Mean round trip (ns) over the measured rounds. */
  readonly meanNs: number;
  /** Traps each host's kernel charged over the whole run (client host a, server host b). */
  readonly traps: { readonly a: number; readonly b: number };
  /** Trap records by host and system call name (`a:net_send`), restarts of a blocked call included. */
  readonly bySyscall: ReadonlyMap<string, number>;
}

const NAME_OF = new Map<number, string>(Object.entries(SYSCALL_TABLE).map(([k, v]) => [v.number, k]));

export function pingRun(org: Org, link: LinkName, size: number, rounds: number, costs: Readonly<Record<string, number>> = {}, seed = 1): PingRun {
  const world = new World({ seed, costOverrides: new Map(Object.entries(costs)) });
  const bySyscall = new Map<string, number>();
  world.trace.taps.on('record', (r) => {
    if (r.kind !== 'trap') return;
    const host = r.source.startsWith('p-a') ? 'a' : r.source.startsWith('p-b') ? 'b' : '?';
    const k = `${host}:${NAME_OF.get(r.a) ?? r.a}`;
    bySyscall.set(k, (bySyscall.get(k) ?? 0) + 1);
  });
  const ping = { port: 7, size, rounds, warmup: 2 };
  let cli;
  let kernels;
  if (org === 'library') {
    const pair = buildLibPair(world, link, { prefix: 'p', logStats: false });
    pair.spawn(pair.b, 'echo', echoServer, { port: 7 });
    cli = pair.spawn(pair.a, 'ping', pingClient, { ...ping, peerIp: pair.b.ip });
    kernels = { a: pair.a.kernel, b: pair.b.kernel };
  } else {
    const pair = buildKernelPair(world, link, { prefix: 'p' });
    pair.spawn(pair.b, 'echo', echoServerWith(kernelSockets), { port: 7 });
    cli = pair.spawn(pair.a, 'ping', pingClientWith(kernelSockets), { ...ping, peerIp: pair.b.ip });
    kernels = { a: pair.a.kernel, b: pair.b.kernel };
  }
  world.sched.runUntil(() => !cli.alive, { nsMax: 30_000_000_000 });
  return { meanNs: logField(cli, 'meanNs'), traps: { a: kernels.a.trapsTotal, b: kernels.b.trapsTotal }, bySyscall };
}

/** Per round trip, by difference of two run lengths (set-up and close cancel out): traps per host and trap records by name. */
export function perRoundTrip(org: Org, link: LinkName, size: number, rounds = 10): { a: number; b: number; bySyscall: Map<string, number> } {
  const r1 = pingRun(org, link, size, rounds);
  const r2 = pingRun(org, link, size, 2 * rounds);
  const bySyscall = new Map<string, number>();
  for (const [k, v] of r2.bySyscall) {
    const d = (v - (r1.bySyscall.get(k) ?? 0)) / rounds;
    if (d !== 0) bySyscall.set(k, d);
  }
  return { a: (r2.traps.a - r1.traps.a) / rounds, b: (r2.traps.b - r1.traps.b) / rounds, bySyscall };
}
