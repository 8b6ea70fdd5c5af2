/**
 * `paper-table3-library`: P Table 3, library row, on both links: ping-pong round trip over an
 * established connection (setup excluded) with 1, 512 and 1460 bytes (userland/apps/ttcp.ts
 * pingClient against echoServer), mean over 20 rounds after 3 warm-up rounds.
 */
import type { World } from '../world.ts';
import { echoServer, pingClient } from '../../userland/apps/ttcp.ts';
import { logField } from './hosts.ts';
import { buildLibPair, type LinkName } from './library-hosts.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import { FAULT_PARAMS, faultsOf, linksParam, paramReader, type ParamReader, type ParamSpec } from './params.ts';
import type { Results, Scenario } from './types.ts';

export const TABLE3_SIZES = [1, 512, 1460] as const;

/** How a ping-pong run goes: rounds measured, warm-up rounds before them, link faults. */
export interface PingOptions {
  readonly rounds: number;
  readonly warmup: number;
  readonly faults?: FaultConfig;
}
export const PING_DEFAULTS: PingOptions = { rounds: 20, warmup: 3 };
/** 30 s, or 100 ms a round for long runs. */
export const pingNsMax = (o: PingOptions): number => Math.max(30_000_000_000, (o.rounds + o.warmup) * 100_000_000);

/** Table 3's parameters; the defaults are the paper's configuration. */
export const TABLE3_PARAMS: readonly ParamSpec[] = [
  linksParam(),
  { name: 'messageSizes', type: 'int-list', default: [...TABLE3_SIZES], min: 1, max: 16_384, unit: 'bytes', doc: 'message sizes, one ping-pong run each' },
  { name: 'rounds', type: 'int', default: PING_DEFAULTS.rounds, min: 1, max: 100_000, unit: 'rounds', doc: 'round trips averaged' },
  { name: 'warmup', type: 'int', default: PING_DEFAULTS.warmup, min: 0, max: 10_000, unit: 'rounds', doc: 'round trips before the measured ones' },
  ...FAULT_PARAMS,
];

/** Run `one` for each link and message size the parameters name: Table 3's results for row `org`. */
export function table3Results(p: ParamReader, org: string, one: (link: LinkName, size: number, o: PingOptions) => number): Results {
  const sizes = p.nums('messageSizes');
  const faults = faultsOf(p);
  const o: PingOptions = { rounds: p.num('rounds'), warmup: p.num('warmup'), ...(faults !== undefined ? { faults } : {}) };
  const out: Record<string, Results> = {};
  for (const link of p.strs('links') as readonly LinkName[]) out[link] = { [org]: sizes.map((s) => one(link, s, o)) };
  return { sizes: [...sizes], ...out };
}

export function runPing(world: World, link: LinkName, size: number, prefix: string, o: PingOptions = PING_DEFAULTS): number {
  const pair = buildLibPair(world, link, { prefix, logStats: false, ...(o.faults !== undefined ? { faults: o.faults } : {}) });
  const srv = pair.spawn(pair.b, 'echo', echoServer, { port: 7 });
  const cli = pair.spawn(pair.a, 'ping', pingClient, { peerIp: pair.b.ip, port: 7, size, rounds: o.rounds, warmup: o.warmup });
  world.sched.runUntil(() => !cli.alive, { nsMax: pingNsMax(o) });
  void srv;
  return Math.round(logField(cli, 'meanNs') / 1000) / 1000;
}

export const paperTable3LibraryScenario: Scenario = {
  name: 'paper-table3-library',
  paperSection: 'table3_round_trip_ms',
  summary: 'P Table 3, library row: ping-pong round-trip time by message size on Ethernet and AN1 (ms)',
  paper: { sizes: [...TABLE3_SIZES], ethernet: { library: [2.8, 5.2, 9.9] }, an1: { library: [2.7, 3.4, 4.7] } },
  params: TABLE3_PARAMS,
  run(world, options) {
    return table3Results(paramReader(TABLE3_PARAMS, options.params), 'library', (link, s, o) => runPing(world, link, s, `t3-${link}-${s}`, o));
  },
};
