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
import { TABLE2_PARAMS, TABLE2_SIZES, table2Results, ttcpNsMax } from './paper-table2-library.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import { paramReader, type ParamSpec } from './params.ts';
import type { Scenario } from './types.ts';
import { buildUxPair } from './ux-hosts.ts';

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function runUxTtcp(world: World, writeSize: number, bytes: number, prefix: string, faults?: FaultConfig): number {
  const pair = buildUxPair(world, { prefix, ...(faults !== undefined ? { faults } : {}) });
  const rx = pair.spawn(pair.b, 'ttcp-r', ttcpReceiverWith(uxSockets), { port: 5001 });
  const tx = pair.spawn(pair.a, 'ttcp-t', ttcpSenderWith(uxSockets), { peerIp: pair.b.ip, port: 5001, bytes, writeSize, startDelayNs: 1_000_000 });
  world.sched.runUntil(() => !rx.alive && !tx.alive, { nsMax: ttcpNsMax(bytes) });
  const span = logField(rx, 'lastNs') - logField(rx, 'firstNs');
  return r3((logField(rx, 'bytesAfterFirst') * 8 * 1000) / Math.max(1, span));
}

/** Ethernet only (the single server runs on the LANCE): Table 2's parameters, one link. */
const UX_PARAMS: readonly ParamSpec[] = TABLE2_PARAMS.filter((s) => s.name !== 'bytesAn1').map((s) =>
  s.name === 'links' ? { ...s, default: ['ethernet'], values: ['ethernet'], doc: 'Ethernet only: the single server drives the LANCE' } : s,
);

export const paperTable2MachUxScenario: Scenario = {
  name: 'paper-table2-mach-ux',
  paperSection: 'table2_throughput_mbps',
  summary: 'P Table 2, Mach 3.0/UX row: TCP throughput by write size through the single server, Ethernet (Mb/s)',
  paper: { sizes: [...TABLE2_SIZES], ethernet: { 'mach-ux': [2.1, 2.5, 3.2, 3.5] } },
  params: UX_PARAMS,
  run(world, options) {
    return table2Results(paramReader(UX_PARAMS, options.params), 'mach-ux', (_link, ws, bytes, faults) => runUxTtcp(world, ws, bytes, `t2-ux-${ws}`, faults));
  },
};
