/**
 * `paper-table4-ultrix`: P Table 4, Ultrix row: time for an active open to complete with the
 * passive peer already listening — the library row's connSetupTimer against echoServer
 * (userland/apps/ttcp.ts) on the monolithic kernel's sockets, mean of 5 opens 20 ms apart (the
 * kernel's close returns before the FIN exchange, which would otherwise land in the next open;
 * the Mach/UX row is timed the same way). The kernel
 * measures no phases, so the timer reads the application's clock around connect() (the SYN, the
 * SYN-ACK, the kernel's ACK: one network round trip and the two kernels' work).
 */
import type { World } from '../world.ts';
import { connSetupTimerWith, echoServerWith } from '../../userland/apps/ttcp.ts';
import { kernelSockets } from '../../userland/netlib/kernel-sockets.ts';
import { logField } from './hosts.ts';
import { buildKernelPair } from './inkernel-hosts.ts';
import type { LinkName } from './library-hosts.ts';
import type { Results, Scenario } from './types.ts';

const timer = connSetupTimerWith(kernelSockets);
const server = echoServerWith(kernelSockets);

export function runKernelSetup(world: World, link: LinkName, prefix: string): number {
  const pair = buildKernelPair(world, link, { prefix });
  pair.spawn(pair.b, 'echo', server, { port: 7, conns: 5 });
  const cli = pair.spawn(pair.a, 'setup', timer, { peerIp: pair.b.ip, port: 7, opens: 5, settleNs: 20_000_000 });
  world.sched.runUntil(() => !cli.alive, { nsMax: 30_000_000_000 });
  return Math.round(logField(cli, 'totalUs')) / 1000;
}

export const paperTable4UltrixScenario: Scenario = {
  name: 'paper-table4-ultrix',
  paperSection: 'table4_connection_setup_ms',
  summary: 'P Table 4, Ultrix row: connection set-up time through the in-kernel TCP on Ethernet and AN1 (ms)',
  paper: { ethernet: { ultrix: 2.6 }, an1: { ultrix: 2.9 } },
  run(world) {
    return { ethernet: { ultrix: runKernelSetup(world, 'ethernet', 't4u-ethernet') }, an1: { ultrix: runKernelSetup(world, 'an1', 't4u-an1') } } satisfies Results;
  },
};
