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
import { paramReader, faultsOf } from './params.ts';
import { SETUP_DEFAULTS, setupNsMax, TABLE4_PARAMS, type SetupOptions } from './paper-table4-library.ts';
import type { Results, Scenario } from './types.ts';

const timer = connSetupTimerWith(kernelSockets);
const server = echoServerWith(kernelSockets);

export function runKernelSetup(world: World, link: LinkName, prefix: string, o: SetupOptions = SETUP_DEFAULTS): number {
  const pair = buildKernelPair(world, link, { prefix, ...(o.faults !== undefined ? { faults: o.faults } : {}) });
  pair.spawn(pair.b, 'echo', server, { port: 7, conns: o.opens });
  const cli = pair.spawn(pair.a, 'setup', timer, { peerIp: pair.b.ip, port: 7, opens: o.opens, settleNs: 20_000_000 });
  world.sched.runUntil(() => !cli.alive, { nsMax: setupNsMax(o) });
  return Math.round(logField(cli, 'totalUs')) / 1000;
}

export const paperTable4UltrixScenario: Scenario = {
  name: 'paper-table4-ultrix',
  paperSection: 'table4_connection_setup_ms',
  summary: 'P Table 4, Ultrix row: connection set-up time through the in-kernel TCP on Ethernet and AN1 (ms)',
  paper: { ethernet: { ultrix: 2.6 }, an1: { ultrix: 2.9 } },
  params: TABLE4_PARAMS,
  run(world, options) {
    const p = paramReader(TABLE4_PARAMS, options.params);
    const faults = faultsOf(p);
    const o: SetupOptions = { opens: p.num('opens'), ...(faults !== undefined ? { faults } : {}) };
    const out: Record<string, Results> = {};
    for (const link of p.strs('links') as readonly LinkName[]) out[link] = { ultrix: runKernelSetup(world, link, `t4u-${link}`, o) };
    return out satisfies Results;
  },
};
