/**
 * `paper-table4-mach-ux`: P Table 4, Mach 3.0/UX row (Ethernet only): time for an active open to
 * complete with the passive peer already listening — the same connSetupTimer and echoServer as
 * the library row, over the single server; the application's clock around `connect` (the socket
 * RPC before it excluded), mean of 5 opens, each 20 ms after the previous close: the server's close
 * returns before the FIN exchange (BSD), which would otherwise run during the next open.
 */
import type { World } from '../world.ts';
import { connSetupTimerWith, echoServerWith } from '../../userland/apps/ttcp.ts';
import { uxSockets } from '../../userland/ux/ux-sockets.ts';
import { logField } from './hosts.ts';
import { paramReader, faultsOf, FAULT_PARAMS, type ParamSpec } from './params.ts';
import { SETUP_DEFAULTS, setupNsMax, TABLE4_PARAMS, type SetupOptions } from './paper-table4-library.ts';
import type { Results, Scenario } from './types.ts';
import { buildUxPair } from './ux-hosts.ts';

export function runUxSetup(world: World, prefix: string, o: SetupOptions = SETUP_DEFAULTS): number {
  const pair = buildUxPair(world, { prefix, ...(o.faults !== undefined ? { faults: o.faults } : {}) });
  pair.spawn(pair.b, 'echo', echoServerWith(uxSockets), { port: 7, conns: o.opens });
  const cli = pair.spawn(pair.a, 'setup', connSetupTimerWith(uxSockets), { peerIp: pair.b.ip, port: 7, opens: o.opens, settleNs: 20_000_000 });
  world.sched.runUntil(() => !cli.alive, { nsMax: setupNsMax(o) });
  return logField(cli, 'totalUs');
}

/** Ethernet only (the single server drives the LANCE): no link to choose. */
const UX_PARAMS: readonly ParamSpec[] = [TABLE4_PARAMS.find((s) => s.name === 'opens')!, ...FAULT_PARAMS];

export const paperTable4MachUxScenario: Scenario = {
  name: 'paper-table4-mach-ux',
  paperSection: 'table4_connection_setup_ms',
  summary: 'P Table 4, Mach 3.0/UX row: connection set-up time through the single server, Ethernet (ms)',
  paper: { ethernet: { 'mach-ux': 6.8 } },
  params: UX_PARAMS,
  run(world, options) {
    const p = paramReader(UX_PARAMS, options.params);
    const faults = faultsOf(p);
    const us = runUxSetup(world, 't4-ux', { opens: p.num('opens'), ...(faults !== undefined ? { faults } : {}) });
    return { ethernet: { 'mach-ux': Math.round(us) / 1000 } } satisfies Results;
  },
};
