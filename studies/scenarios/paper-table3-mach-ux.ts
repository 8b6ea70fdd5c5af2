/**
 * `paper-table3-mach-ux`: P Table 3, Mach 3.0/UX row (Ethernet only): ping-pong round trip over an
 * established connection (set-up excluded) with 1, 512 and 1460 bytes — the same pingClient and
 * echoServer as the library row, over the single server — mean over 20 rounds after 3 warm-up rounds.
 */
import type { World } from '../world.ts';
import { echoServerWith, pingClientWith } from '../../userland/apps/ttcp.ts';
import { uxSockets } from '../../userland/ux/ux-sockets.ts';
import { logField } from './hosts.ts';
import { TABLE3_SIZES } from './paper-table3-library.ts';
import type { Results, Scenario } from './types.ts';
import { buildUxPair } from './ux-hosts.ts';

export function runUxPing(world: World, size: number, prefix: string): number {
  const pair = buildUxPair(world, { prefix });
  pair.spawn(pair.b, 'echo', echoServerWith(uxSockets), { port: 7 });
  const cli = pair.spawn(pair.a, 'ping', pingClientWith(uxSockets), { peerIp: pair.b.ip, port: 7, size, rounds: 20, warmup: 3 });
  world.sched.runUntil(() => !cli.alive, { nsMax: 30_000_000_000 });
  return Math.round(logField(cli, 'meanNs') / 1000) / 1000;
}

export const paperTable3MachUxScenario: Scenario = {
  name: 'paper-table3-mach-ux',
  paperSection: 'table3_round_trip_ms',
  summary: 'P Table 3, Mach 3.0/UX row: ping-pong round-trip time by message size through the single server, Ethernet (ms)',
  paper: { sizes: [...TABLE3_SIZES], ethernet: { 'mach-ux': [7.8, 10.8, 16.0] } },
  run(world) {
    return { sizes: [...TABLE3_SIZES], ethernet: { 'mach-ux': TABLE3_SIZES.map((s) => runUxPing(world, s, `t3-ux-${s}`)) } } satisfies Results;
  },
};
