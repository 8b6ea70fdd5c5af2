/**
 * `paper-table3-library`: P Table 3, library row, on both links: ping-pong round trip over an
 * established connection (setup excluded) with 1, 512 and 1460 bytes (userland/apps/ttcp.ts
 * pingClient against echoServer), mean over 20 rounds after 3 warm-up rounds.
 */
import type { World } from '../world.ts';
import { echoServer, pingClient } from '../../userland/apps/ttcp.ts';
import { logField } from './hosts.ts';
import { buildLibPair, type LinkName } from './library-hosts.ts';
import type { Results, Scenario } from './types.ts';

export const TABLE3_SIZES = [1, 512, 1460] as const;

export function runPing(world: World, link: LinkName, size: number, prefix: string): number {
  const pair = buildLibPair(world, link, { prefix, logStats: false });
  const srv = pair.spawn(pair.b, 'echo', echoServer, { port: 7 });
  const cli = pair.spawn(pair.a, 'ping', pingClient, { peerIp: pair.b.ip, port: 7, size, rounds: 20, warmup: 3 });
  world.sched.runUntil(() => !cli.alive, { nsMax: 30_000_000_000 });
  void srv;
  return Math.round(logField(cli, 'meanNs') / 1000) / 1000;
}

export const paperTable3LibraryScenario: Scenario = {
  name: 'paper-table3-library',
  paperSection: 'table3_round_trip_ms',
  summary: 'P Table 3, library row: ping-pong round-trip time by message size on Ethernet and AN1 (ms)',
  paper: { sizes: [...TABLE3_SIZES], ethernet: { library: [2.8, 5.2, 9.9] }, an1: { library: [2.7, 3.4, 4.7] } },
  run(world) {
    const out: Record<LinkName, number[]> = { ethernet: [], an1: [] };
    for (const link of ['ethernet', 'an1'] as const) for (const s of TABLE3_SIZES) out[link].push(runPing(world, link, s, `t3-${link}-${s}`));
    return { sizes: [...TABLE3_SIZES], ethernet: { library: out.ethernet }, an1: { library: out.an1 } } satisfies Results;
  },
};
