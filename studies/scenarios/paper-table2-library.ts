/**
 * `paper-table2-library`: P Table 2, library row, on both links: TCP throughput between ttcp-like
 * user programs (userland/apps/ttcp.ts) by write size, 16 KB windows, 1500-byte MTU. Throughput
 * = user bytes after the receiver's first read over the first-to-last read span (steady state).
 */
import { World } from '../world.ts';
import { ttcpReceiver, ttcpSender } from '../../userland/apps/ttcp.ts';
import { logField } from './hosts.ts';
import { buildLibPair, type LinkName } from './library-hosts.ts';
import type { Results, Scenario } from './types.ts';

export const TABLE2_SIZES = [512, 1024, 2048, 4096] as const;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function runTtcp(world: World, link: LinkName, writeSize: number, bytes: number, prefix: string): number {
  const pair = buildLibPair(world, link, { prefix, logStats: false });
  const rx = pair.spawn(pair.b, 'ttcp-r', ttcpReceiver, { port: 5001 });
  const tx = pair.spawn(pair.a, 'ttcp-t', ttcpSender, { peerIp: pair.b.ip, port: 5001, bytes, writeSize, startDelayNs: 1_000_000 });
  world.sched.runUntil(() => !rx.alive && !tx.alive, { nsMax: 60_000_000_000 });
  const span = logField(rx, 'lastNs') - logField(rx, 'firstNs');
  return r3((logField(rx, 'bytesAfterFirst') * 8 * 1000) / Math.max(1, span));
}

export const paperTable2LibraryScenario: Scenario = {
  name: 'paper-table2-library',
  paperSection: 'table2_throughput_mbps',
  summary: 'P Table 2, library row: TCP throughput by write size on Ethernet and AN1 (Mb/s)',
  paper: { sizes: [...TABLE2_SIZES], ethernet: { library: [4.3, 4.6, 4.8, 5.0] }, an1: { library: [6.7, 8.1, 9.4, 11.9] } },
  run(world) {
    const out: Record<LinkName, number[]> = { ethernet: [], an1: [] };
    for (const link of ['ethernet', 'an1'] as const) {
      for (const ws of TABLE2_SIZES) out[link].push(runTtcp(world, link, ws, link === 'ethernet' ? 384 * 1024 : 1024 * 1024, `t2-${link}-${ws}`));
    }
    return { sizes: [...TABLE2_SIZES], ethernet: { library: out.ethernet }, an1: { library: out.an1 } } satisfies Results;
  },
};
