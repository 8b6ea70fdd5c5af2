/**
 * `paper-table2-ultrix`: P Table 2, Ultrix row, on both links: TCP throughput between the same
 * ttcp programs as the library row (userland/apps/ttcp.ts over SocketApi), here on the monolithic
 * kernel's sockets (kernel/inkernel, userland/netlib/kernel-sockets.ts): 16 KB windows, MSS 1460,
 * the same byte counts and the same measurement (user bytes after the receiver's first read over
 * the first-to-last read span).
 */
import type { World } from '../world.ts';
import { ttcpReceiverWith, ttcpSenderWith } from '../../userland/apps/ttcp.ts';
import { kernelSockets } from '../../userland/netlib/kernel-sockets.ts';
import { logField } from './hosts.ts';
import { buildKernelPair } from './inkernel-hosts.ts';
import type { LinkName } from './library-hosts.ts';
import { TABLE2_PARAMS, TABLE2_SIZES, table2Results, ttcpNsMax } from './paper-table2-library.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import { paramReader } from './params.ts';
import type { Scenario } from './types.ts';

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const sender = ttcpSenderWith(kernelSockets);
const receiver = ttcpReceiverWith(kernelSockets);

export function runKernelTtcp(world: World, link: LinkName, writeSize: number, bytes: number, prefix: string, faults?: FaultConfig): number {
  const pair = buildKernelPair(world, link, { prefix, ...(faults !== undefined ? { faults } : {}) });
  const rx = pair.spawn(pair.b, 'ttcp-r', receiver, { port: 5001 });
  const tx = pair.spawn(pair.a, 'ttcp-t', sender, { peerIp: pair.b.ip, port: 5001, bytes, writeSize, startDelayNs: 1_000_000 });
  world.sched.runUntil(() => !rx.alive && !tx.alive, { nsMax: ttcpNsMax(bytes) });
  const span = logField(rx, 'lastNs') - logField(rx, 'firstNs');
  return r3((logField(rx, 'bytesAfterFirst') * 8 * 1000) / Math.max(1, span));
}

export const paperTable2UltrixScenario: Scenario = {
  name: 'paper-table2-ultrix',
  paperSection: 'table2_throughput_mbps',
  summary: 'P Table 2, Ultrix row: TCP throughput by write size through the in-kernel TCP, Ethernet and AN1 (Mb/s)',
  paper: { sizes: [...TABLE2_SIZES], ethernet: { ultrix: [5.8, 7.6, 7.6, 7.6] }, an1: { ultrix: [4.8, 10.2, 11.9, 11.9] } },
  params: TABLE2_PARAMS,
  run(world, options) {
    return table2Results(paramReader(TABLE2_PARAMS, options.params), 'ultrix', (link, ws, bytes, faults) => runKernelTtcp(world, link, ws, bytes, `t2u-${link}-${ws}`, faults));
  },
};
