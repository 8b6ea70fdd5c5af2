/**
 * `udp-rtt` (issue 17): UDP request-response round trips at 1, 100, 512, 1024 and 1472 bytes on
 * Ethernet and AN1 (userland/apps/udp-ping.ts: a connected client against an echo server that
 * answers each datagram to its source — on AN1 to the BQI learned from the request's link header),
 * mean over `rounds` after `warmup`, for each organization: the library (UdpLib over the registry
 * and the network I/O module), the monolithic kernel (kernel/inkernel's datagram sockets) and, on
 * Ethernet only (as its TCP tables), the single server (userland/ux: one RPC per call).
 */
import type { World } from '../world.ts';
import { udpEchoServer, udpEchoWith, udpPingClient, udpPingWith } from '../../userland/apps/udp-ping.ts';
import { kernelDatagrams } from '../../userland/netlib/datagram-api.ts';
import { buildKernelPair } from './inkernel-hosts.ts';
import { buildUxPair } from './ux-hosts.ts';
import { uxDatagrams } from '../../userland/ux/ux-sockets.ts';
import { logField } from './hosts.ts';
import { buildLibPair, type LinkName } from './library-hosts.ts';
import { pingNsMax, type PingOptions } from './paper-table3-library.ts';
import { FAULT_PARAMS, faultsOf, linksParam, paramReader, type ParamSpec } from './params.ts';
import type { Results, Scenario } from './types.ts';

export const UDP_RTT_SIZES = [1, 100, 512, 1024, 1472] as const;

export const UDP_RTT_PARAMS: readonly ParamSpec[] = [
  linksParam(),
  { name: 'messageSizes', type: 'int-list', default: [...UDP_RTT_SIZES], min: 1, max: 1472, unit: 'bytes', doc: 'datagram sizes, one ping-pong run each (at most one Ethernet MTU less 28: UDP is never fragmented here)' },
  { name: 'rounds', type: 'int', default: 20, min: 1, max: 100_000, unit: 'rounds', doc: 'round trips averaged' },
  { name: 'warmup', type: 'int', default: 3, min: 0, max: 10_000, unit: 'rounds', doc: 'round trips before the measured ones' },
  ...FAULT_PARAMS,
];

/** One library ping-pong run: mean round trip in ms (µs resolution), and the rounds sent again after a loss. */
export function runLibUdpPing(world: World, link: LinkName, size: number, prefix: string, o: PingOptions): { ms: number; retries: number } {
  const pair = buildLibPair(world, link, { prefix, logStats: false, ...(o.faults !== undefined ? { faults: o.faults } : {}) });
  const srv = pair.spawn(pair.b, 'udp-echo', udpEchoServer, { port: 7, count: o.rounds + o.warmup + 1_000 });
  const cli = pair.spawn(pair.a, 'udp-ping', udpPingClient, { peerIp: pair.b.ip, port: 7, size, rounds: o.rounds, warmup: o.warmup, retryNs: 100_000_000 });
  world.sched.runUntil(() => !cli.alive, { nsMax: pingNsMax(o) });
  void srv;
  if (logField(cli, 'bad') !== 0) throw new Error(`udp-rtt: ${logField(cli, 'bad')} echoes differed from their request`);
  return { ms: Math.round(logField(cli, 'meanNs') / 1000) / 1000, retries: logField(cli, 'retries') };
}

const kernelEcho = udpEchoWith(kernelDatagrams);
const kernelPing = udpPingWith(kernelDatagrams);

/** One monolithic-kernel ping-pong run (the same programs on the kernel's datagram sockets). */
export function runKernelUdpPing(world: World, link: LinkName, size: number, prefix: string, o: PingOptions): { ms: number; retries: number } {
  const pair = buildKernelPair(world, link, { prefix, ...(o.faults !== undefined ? { faults: o.faults } : {}) });
  pair.spawn(pair.b, 'udp-echo', kernelEcho, { port: 7, count: o.rounds + o.warmup + 1_000 });
  const cli = pair.spawn(pair.a, 'udp-ping', kernelPing, { peerIp: pair.b.ip, port: 7, size, rounds: o.rounds, warmup: o.warmup, retryNs: 100_000_000 });
  world.sched.runUntil(() => !cli.alive, { nsMax: pingNsMax(o) });
  if (logField(cli, 'bad') !== 0) throw new Error(`udp-rtt: ${logField(cli, 'bad')} echoes differed from their request`);
  return { ms: Math.round(logField(cli, 'meanNs') / 1000) / 1000, retries: logField(cli, 'retries') };
}

const uxEcho = udpEchoWith(uxDatagrams);
const uxPing = udpPingWith(uxDatagrams);

/** One single-server ping-pong run (Ethernet: the single server has no AN1 driver path here). */
export function runUxUdpPing(world: World, size: number, prefix: string, o: PingOptions): { ms: number; retries: number } {
  const pair = buildUxPair(world, { prefix, ...(o.faults !== undefined ? { faults: o.faults } : {}) });
  pair.spawn(pair.b, 'udp-echo', uxEcho, { port: 7, count: o.rounds + o.warmup + 1_000 });
  const cli = pair.spawn(pair.a, 'udp-ping', uxPing, { peerIp: pair.b.ip, port: 7, size, rounds: o.rounds, warmup: o.warmup, retryNs: 100_000_000 });
  world.sched.runUntil(() => !cli.alive, { nsMax: pingNsMax(o) });
  if (logField(cli, 'bad') !== 0) throw new Error(`udp-rtt: ${logField(cli, 'bad')} echoes differed from their request`);
  return { ms: Math.round(logField(cli, 'meanNs') / 1000) / 1000, retries: logField(cli, 'retries') };
}

export const udpRoundTripScenario: Scenario = {
  name: 'udp-rtt',
  summary: 'UDP request-response round trip by datagram size, Ethernet and AN1, per organization (ms; issue 17)',
  params: UDP_RTT_PARAMS,
  run(world, options) {
    const p = paramReader(UDP_RTT_PARAMS, options.params);
    const sizes = p.nums('messageSizes');
    const faults = faultsOf(p);
    const o: PingOptions = { rounds: p.num('rounds'), warmup: p.num('warmup'), ...(faults !== undefined ? { faults } : {}) };
    const out: Record<string, Results> = {};
    let retries = 0;
    for (const link of p.strs('links') as readonly LinkName[]) {
      const lib = sizes.map((s) => runLibUdpPing(world, link, s, `udp-${link}-${s}`, o));
      const mono = sizes.map((s) => runKernelUdpPing(world, link, s, `udpk-${link}-${s}`, o));
      const ux = link === 'ethernet' ? sizes.map((s) => runUxUdpPing(world, s, `udpux-${s}`, o)) : [];
      retries += [...lib, ...mono, ...ux].reduce((a, r) => a + r.retries, 0);
      out[link] = { library: lib.map((r) => r.ms), monolithic: mono.map((r) => r.ms), ...(link === 'ethernet' ? { 'mach-ux': ux.map((r) => r.ms) } : {}) };
    }
    return { sizes: [...sizes], ...out, retries };
  },
};
