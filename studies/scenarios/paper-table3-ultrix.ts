/**
 * `paper-table3-ultrix`: P Table 3, Ultrix row, on both links: ping-pong round trip over an
 * established connection (set-up excluded), 1, 512 and 1460 bytes — the library row's pingClient
 * and echoServer (userland/apps/ttcp.ts) on the monolithic kernel's sockets; mean over 20 rounds
 * after 3 warm-up rounds.
 */
import type { World } from '../world.ts';
import { echoServerWith, pingClientWith } from '../../userland/apps/ttcp.ts';
import { kernelSockets } from '../../userland/netlib/kernel-sockets.ts';
import { logField } from './hosts.ts';
import { buildKernelPair } from './inkernel-hosts.ts';
import type { LinkName } from './library-hosts.ts';
import { PING_DEFAULTS, pingNsMax, TABLE3_PARAMS, TABLE3_SIZES, table3Results, type PingOptions } from './paper-table3-library.ts';
import { paramReader } from './params.ts';
import type { Scenario } from './types.ts';

const client = pingClientWith(kernelSockets);
const server = echoServerWith(kernelSockets);

export function runKernelPing(world: World, link: LinkName, size: number, prefix: string, o: PingOptions = PING_DEFAULTS): number {
  const pair = buildKernelPair(world, link, { prefix, ...(o.faults !== undefined ? { faults: o.faults } : {}) });
  pair.spawn(pair.b, 'echo', server, { port: 7 });
  const cli = pair.spawn(pair.a, 'ping', client, { peerIp: pair.b.ip, port: 7, size, rounds: o.rounds, warmup: o.warmup });
  world.sched.runUntil(() => !cli.alive, { nsMax: pingNsMax(o) });
  return Math.round(logField(cli, 'meanNs') / 1000) / 1000;
}

export const paperTable3UltrixScenario: Scenario = {
  name: 'paper-table3-ultrix',
  paperSection: 'table3_round_trip_ms',
  summary: 'P Table 3, Ultrix row: ping-pong round-trip time by message size through the in-kernel TCP, Ethernet and AN1 (ms)',
  paper: { sizes: [...TABLE3_SIZES], ethernet: { ultrix: [1.6, 3.5, 6.2] }, an1: { ultrix: [1.8, 2.7, 3.2] } },
  params: TABLE3_PARAMS,
  run(world, options) {
    return table3Results(paramReader(TABLE3_PARAMS, options.params), 'ultrix', (link, s, o) => runKernelPing(world, link, s, `t3u-${link}-${s}`, o));
  },
};
