/**
 * `paper-table2-library`: P Table 2, library row, on both links: TCP throughput between ttcp-like
 * user programs (userland/apps/ttcp.ts) by write size, 16 KB windows, 1500-byte MTU. Throughput
 * = user bytes after the receiver's first read over the first-to-last read span (steady state).
 */
import { World } from '../world.ts';
import { ttcpReceiver, ttcpSender } from '../../userland/apps/ttcp.ts';
import { logField } from './hosts.ts';
import { buildLibPair, type LinkName } from './library-hosts.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import { FAULT_PARAMS, faultsOf, linksParam, paramReader, type ParamReader, type ParamSpec } from './params.ts';
import type { Results, Scenario } from './types.ts';

export const TABLE2_SIZES = [512, 1024, 2048, 4096] as const;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** The simulated-time bound of one ttcp transfer: 60 s, or 50 µs a byte for long transfers. */
export const ttcpNsMax = (bytes: number): number => Math.max(60_000_000_000, bytes * 50_000);

/** Table 2's parameters; the defaults are the paper's configuration (P §4). */
export const TABLE2_PARAMS: readonly ParamSpec[] = [
  linksParam(),
  { name: 'writeSizes', type: 'int-list', default: [...TABLE2_SIZES], min: 1, max: 65_536, unit: 'bytes', doc: 'user write sizes, one transfer each' },
  { name: 'bytesEthernet', type: 'int', default: 384 * 1024, min: 1, max: 64 * 1024 * 1024, unit: 'bytes', doc: 'user bytes each transfer moves on Ethernet' },
  { name: 'bytesAn1', type: 'int', default: 1024 * 1024, min: 1, max: 64 * 1024 * 1024, unit: 'bytes', doc: 'user bytes each transfer moves on AN1' },
  ...FAULT_PARAMS,
];

/** Run `one` for each link and write size the parameters name: Table 2's results for row `org`. */
export function table2Results(p: ParamReader, org: string, one: (link: LinkName, writeSize: number, bytes: number, faults: FaultConfig | undefined) => number): Results {
  const sizes = p.nums('writeSizes');
  const faults = faultsOf(p);
  const out: Record<string, Results> = {};
  for (const link of p.strs('links') as readonly LinkName[]) {
    const bytes = p.num(link === 'ethernet' ? 'bytesEthernet' : 'bytesAn1');
    out[link] = { [org]: sizes.map((ws) => one(link, ws, bytes, faults)) };
  }
  return { sizes: [...sizes], ...out };
}

export function runTtcp(world: World, link: LinkName, writeSize: number, bytes: number, prefix: string, faults?: FaultConfig): number {
  const pair = buildLibPair(world, link, { prefix, logStats: false, ...(faults !== undefined ? { faults } : {}) });
  const rx = pair.spawn(pair.b, 'ttcp-r', ttcpReceiver, { port: 5001 });
  const tx = pair.spawn(pair.a, 'ttcp-t', ttcpSender, { peerIp: pair.b.ip, port: 5001, bytes, writeSize, startDelayNs: 1_000_000 });
  world.sched.runUntil(() => !rx.alive && !tx.alive, { nsMax: ttcpNsMax(bytes) });
  const span = logField(rx, 'lastNs') - logField(rx, 'firstNs');
  return r3((logField(rx, 'bytesAfterFirst') * 8 * 1000) / Math.max(1, span));
}

export const paperTable2LibraryScenario: Scenario = {
  name: 'paper-table2-library',
  paperSection: 'table2_throughput_mbps',
  summary: 'P Table 2, library row: TCP throughput by write size on Ethernet and AN1 (Mb/s)',
  paper: { sizes: [...TABLE2_SIZES], ethernet: { library: [4.3, 4.6, 4.8, 5.0] }, an1: { library: [6.7, 8.1, 9.4, 11.9] } },
  params: TABLE2_PARAMS,
  run(world, options) {
    return table2Results(paramReader(TABLE2_PARAMS, options.params), 'library', (link, ws, bytes, faults) => runTtcp(world, link, ws, bytes, `t2-${link}-${ws}`, faults));
  },
};
