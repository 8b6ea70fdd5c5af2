/**
 * `paper-table3-mach-ux`: P Table 3, Mach 3.0/UX row (Ethernet only): ping-pong round trip over an
 * established connection (set-up excluded) with 1, 512 and 1460 bytes — the same pingClient and
 * echoServer as the library row, over the single server — mean over 20 rounds after 3 warm-up rounds.
 */
import type { World } from '../world.ts';
import { echoServerWith, pingClientWith } from '../../userland/apps/ttcp.ts';
import { uxSockets } from '../../userland/ux/ux-sockets.ts';
import { logField } from './hosts.ts';
import { PING_DEFAULTS, pingNsMax, TABLE3_PARAMS, TABLE3_SIZES, table3Results, type PingOptions } from './paper-table3-library.ts';
import { paramReader, type ParamSpec } from './params.ts';
import type { Scenario } from './types.ts';
import { buildUxPair } from './ux-hosts.ts';

export function runUxPing(world: World, size: number, prefix: string, o: PingOptions = PING_DEFAULTS): number {
  const pair = buildUxPair(world, { prefix, ...(o.faults !== undefined ? { faults: o.faults } : {}) });
  pair.spawn(pair.b, 'echo', echoServerWith(uxSockets), { port: 7 });
  const cli = pair.spawn(pair.a, 'ping', pingClientWith(uxSockets), { peerIp: pair.b.ip, port: 7, size, rounds: o.rounds, warmup: o.warmup });
  world.sched.runUntil(() => !cli.alive, { nsMax: pingNsMax(o) });
  return Math.round(logField(cli, 'meanNs') / 1000) / 1000;
}

/** Ethernet only (the single server runs on the LANCE). */
const UX_PARAMS: readonly ParamSpec[] = TABLE3_PARAMS.map((s) =>
  s.name === 'links' ? { ...s, default: ['ethernet'], values: ['ethernet'], doc: 'Ethernet only: the single server drives the LANCE' } : s,
);

export const paperTable3MachUxScenario: Scenario = {
  name: 'paper-table3-mach-ux',
  paperSection: 'table3_round_trip_ms',
  summary: 'P Table 3, Mach 3.0/UX row: ping-pong round-trip time by message size through the single server, Ethernet (ms)',
  paper: { sizes: [...TABLE3_SIZES], ethernet: { 'mach-ux': [7.8, 10.8, 16.0] } },
  params: UX_PARAMS,
  run(world, options) {
    return table3Results(paramReader(UX_PARAMS, options.params), 'mach-ux', (_link, s, o) => runUxPing(world, s, `t3-ux-${s}`, o));
  },
};
