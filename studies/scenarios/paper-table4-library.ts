/**
 * `paper-table4-library`: P Table 4, library row: time for an active open to complete with the
 * passive peer already listening (connSetupTimer against echoServer), mean of 5 opens, and the
 * Ethernet breakdown in the paper's five parts, measured by clock reads in the registry server
 * and the library:
 *   round trip to the remote peer = registry: SYN sent → SYN-ACK processed (engine ESTABLISHED);
 *   outbound processing not overlapped = registry: request received → SYN handed to net_send;
 *   setting up user channels = registry: net_channel_create;
 *   application to registry and back = library total − registry total − library import;
 *   transfer and set up TCP state at user level = registry TCB export + reply, library import.
 *
 * Sensitivity (not a paper cell): the same Ethernet timer with the registry reaching the device by
 * Mach IPC, as the paper's did (registry parameter devicePath 'ipc', kernel/netio/device-ipc.ts),
 * in `ethernet_registry_ipc_device_ms` and `library_ethernet_breakdown_ipc_device_ms`; it runs
 * after the paper's cells, which stay the default run's (the registry's default channel).
 */
import type { GuestParams } from '../../kernel/abi/guest.ts';
import type { World } from '../world.ts';
import { connSetupTimer, echoServer } from '../../userland/apps/ttcp.ts';
import { logField } from './hosts.ts';
import { buildLibPair, type LinkName } from './library-hosts.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import { FAULT_PARAMS, faultsOf, linksParam, paramReader, type ParamSpec } from './params.ts';
import type { Results, Scenario } from './types.ts';

const ms = (us: number): number => Math.round(us) / 1000;

/** How a connection set-up run goes: active opens averaged, link faults. */
export interface SetupOptions {
  readonly opens: number;
  readonly faults?: FaultConfig;
}
export const SETUP_DEFAULTS: SetupOptions = { opens: 5 };
/** 30 s, or 1 s an open for long runs. */
export const setupNsMax = (o: SetupOptions): number => Math.max(30_000_000_000, o.opens * 1_000_000_000);

/** Table 4's parameters (library and Ultrix rows); the defaults are the paper's configuration. */
export const TABLE4_PARAMS: readonly ParamSpec[] = [
  linksParam(),
  { name: 'opens', type: 'int', default: SETUP_DEFAULTS.opens, min: 1, max: 1000, unit: 'opens', doc: 'active opens averaged (each against the listening echo server)' },
  ...FAULT_PARAMS,
];

const LIBRARY_PARAMS: readonly ParamSpec[] = [
  ...TABLE4_PARAMS,
  { name: 'ipcDevice', type: 'bool', default: true, unit: '', doc: 'also run the Ethernet sensitivity with the registry reaching the device by Mach IPC (not a paper cell)' },
];

export function runSetup(world: World, link: LinkName, prefix: string, registryParams?: GuestParams, o: SetupOptions = SETUP_DEFAULTS): Record<string, number> {
  const pair = buildLibPair(world, link, { prefix, logStats: false, ...(registryParams !== undefined ? { registryParams } : {}), ...(o.faults !== undefined ? { faults: o.faults } : {}) });
  pair.spawn(pair.b, 'echo', echoServer, { port: 7, conns: o.opens });
  const cli = pair.spawn(pair.a, 'setup', connSetupTimer, { peerIp: pair.b.ip, port: 7, opens: o.opens });
  world.sched.runUntil(() => !cli.alive, { nsMax: setupNsMax(o) });
  const f = (k: string): number => logField(cli, k);
  return { totalUs: f('totalUs'), outboundUs: f('outboundUs'), rttUs: f('rttUs'), channelUs: f('channelUs'), tcbUs: f('tcbUs'), registryUs: f('registryUs'), importUs: f('importUs') };
}

/** The paper's five parts of the Ethernet set-up (ms) from runSetup's clock readings (µs). */
function breakdown(b: Record<string, number>): Record<string, number> {
  return {
    round_trip_to_remote_peer_via_registry_server_using_mach_ipc_to_device: ms(b['rttUs']!),
    outbound_processing_not_overlapped_connection_ids_and_start_of_setup: ms(b['outboundUs']!),
    setting_up_user_channels_to_the_network_device: ms(b['channelUs']!),
    application_to_registry_server_and_back: ms(b['totalUs']! - b['registryUs']! - b['importUs']!),
    transfer_and_set_up_tcp_state_at_user_level: ms(b['tcbUs']! + b['importUs']!),
  };
}

export const paperTable4LibraryScenario: Scenario = {
  name: 'paper-table4-library',
  paperSection: 'table4_connection_setup_ms',
  summary: 'P Table 4, library row: connection set-up time on Ethernet and AN1 (ms), with the paper\'s Ethernet breakdown',
  paper: {
    ethernet: { library: 11.9 },
    an1: { library: 12.3 },
    library_ethernet_breakdown_ms: {
      round_trip_to_remote_peer_via_registry_server_using_mach_ipc_to_device: 4.6,
      outbound_processing_not_overlapped_connection_ids_and_start_of_setup: 1.5,
      setting_up_user_channels_to_the_network_device: 3.4,
      application_to_registry_server_and_back: 0.9,
      transfer_and_set_up_tcp_state_at_user_level: 1.4,
    },
  },
  params: LIBRARY_PARAMS,
  run(world, options) {
    const p = paramReader(LIBRARY_PARAMS, options.params);
    const faults = faultsOf(p);
    const o: SetupOptions = { opens: p.num('opens'), ...(faults !== undefined ? { faults } : {}) };
    const links = p.strs('links');
    const e = links.includes('ethernet') ? runSetup(world, 'ethernet', 't4-ethernet', undefined, o) : undefined;
    const a = links.includes('an1') ? runSetup(world, 'an1', 't4-an1', undefined, o) : undefined;
    const ei = e !== undefined && p.bool('ipcDevice') ? runSetup(world, 'ethernet', 't4-ethernet-ipc', { devicePath: 'ipc' }, o) : undefined;
    const out: Record<string, Results[string]> = {};
    // The links in the order asked for, as Table 4 prints them by default (Ethernet, AN1).
    for (const link of links) {
      const r = link === 'ethernet' ? e : a;
      if (r !== undefined) out[link] = { library: ms(r['totalUs']!) };
    }
    if (e !== undefined) out['library_ethernet_breakdown_ms'] = breakdown(e);
    if (ei !== undefined) {
      out['ethernet_registry_ipc_device_ms'] = ms(ei['totalUs']!);
      out['library_ethernet_breakdown_ipc_device_ms'] = breakdown(ei);
    }
    if (e !== undefined) out['ethernetRawUs'] = e;
    if (a !== undefined) out['an1RawUs'] = a;
    if (ei !== undefined) out['ethernetIpcDeviceRawUs'] = ei;
    return out satisfies Results;
  },
};
