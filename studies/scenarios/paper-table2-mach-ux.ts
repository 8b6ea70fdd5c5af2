/**
 * `paper-table2-mach-ux`: P Table 2, Mach 3.0/UX row (Ethernet only: the paper did not measure
 * Mach/UX on AN1, P §4): TCP throughput between the same ttcp programs as the library row
 * (userland/apps/ttcp.ts, over the single server's emulation library) by write size, 16 KB
 * windows. Throughput = user bytes after the receiver's first read over the first-to-last read
 * span (steady state), as paper-table2-library.
 */
import type { World } from '../world.ts';
import { ttcpReceiverWith, ttcpSenderWith } from '../../userland/apps/ttcp.ts';
import { uxSockets } from '../../userland/ux/ux-sockets.ts';
import { logField } from './hosts.ts';
import { TABLE2_SIZES } from './paper-table2-library.ts';
import type { Results, Scenario } from './types.ts';
import { buildUxPair } from './ux-hosts.ts';

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function runUxTtcp(world: World, writeSize: number, bytes: number, prefix: string): number {
  const pair = buildUxPair(world, { prefix });
  const rx = pair.spawn(pair.b, 'ttcp-r', ttcpReceiverWith(uxSockets), { port: 5001 });
  const tx = pair.spawn(pair.a, 'ttcp-t', ttcpSenderWith(uxSockets), { peerIp: pair.b.ip, port: 5001, bytes, writeSize, startDelayNs: 1_000_000 });
  world.sched.runUntil(() => !rx.alive && !tx.alive, { nsMax: 60_000_000_000 });
  const span = logField(rx, 'lastNs') - logField(rx, 'firstNs');
  return r3((logField(rx, 'bytesAfterFirst') * 8 * 1000) / Math.max(1, span));
}

export const paperTable2MachUxScenario: Scenario = {
  name: 'paper-table2-mach-ux',
  paperSection: 'table2_throughput_mbps',
  summary: 'P Table 2, Mach 3.0/UX row: TCP throughput by write size through the single server, Ethernet (Mb/s)',
  paper: { sizes: [...TABLE2_SIZES], ethernet: { 'mach-ux': [2.1, 2.5, 3.2, 3.5] } },
  run(world) {
    const out = TABLE2_SIZES.map((ws) => runUxTtcp(world, ws, 384 * 1024, `t2-ux-${ws}`));
    return { sizes: [...TABLE2_SIZES], ethernet: { 'mach-ux': out } } satisfies Results;
  },
};
