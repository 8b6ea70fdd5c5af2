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
import type { Results, Scenario } from './types.ts';

const ms = (us: number): number => Math.round(us) / 1000;

export function runSetup(world: World, link: LinkName, prefix: string, registryParams?: GuestParams): Record<string, number> {
  const pair = buildLibPair(world, link, { prefix, logStats: false, ...(registryParams !== undefined ? { registryParams } : {}) });
  pair.spawn(pair.b, 'echo', echoServer, { port: 7, conns: 5 });
  const cli = pair.spawn(pair.a, 'setup', connSetupTimer, { peerIp: pair.b.ip, port: 7, opens: 5 });
  world.sched.runUntil(() => !cli.alive, { nsMax: 30_000_000_000 });
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
  run(world) {
    const e = runSetup(world, 'ethernet', 't4-ethernet');
    const a = runSetup(world, 'an1', 't4-an1');
    const ei = runSetup(world, 'ethernet', 't4-ethernet-ipc', { devicePath: 'ipc' });
    const b = e as Record<string, number>;
    return {
      ethernet: { library: ms(b['totalUs']!) },
      an1: { library: ms(a['totalUs']!) },
      library_ethernet_breakdown_ms: breakdown(b),
      ethernet_registry_ipc_device_ms: ms(ei['totalUs']!),
      library_ethernet_breakdown_ipc_device_ms: breakdown(ei),
      ethernetRawUs: e,
      an1RawUs: a,
      ethernetIpcDeviceRawUs: ei,
    } satisfies Results;
  },
};
