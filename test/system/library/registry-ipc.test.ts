/**
 * The registry server on the paper's device path (registry parameter devicePath 'ipc':
 * kernel/netio/device-ipc.ts): the library works end to end with it, and the set-up time it
 * gives (the sensitivity figure of paper-table4-library) is larger than the default channel's.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../kernel/kernel.ts';
import { runScenario } from '../../../studies/run.ts';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildLibPair } from '../../../studies/scenarios/library-hosts.ts';
import { paperTable4LibraryScenario } from '../../../studies/scenarios/paper-table4-library.ts';
import { World } from '../../../studies/world.ts';
import { ttcpReceiver, ttcpSender } from '../../../userland/apps/ttcp.ts';
import { registryStatsFromLog } from '../../../userland/registry/registry-server.ts';

const logs = (...ts: (Task | undefined)[]): string => ts.map((t) => `${t?.name}: ${t?.log.join(' | ')} exit=${JSON.stringify(t?.exit)}`).join('\n');

describe.each(['ethernet', 'an1'] as const)('registry on the IPC device path, %s', (link) => {
  it('connect, 100 KB byte-exact both ways, close', () => {
    const w = new World({ seed: 21, traceOn: false });
    const pair = buildLibPair(w, link, { registryParams: { devicePath: 'ipc' } });
    for (const h of [pair.a, pair.b]) expect(h.netio.defaultChannel(link), 'no default channel on the IPC path').toBeUndefined();
    const bytes = 100 * 1024;
    const rb = pair.spawn(pair.b, 'rx-b', ttcpReceiver, { port: 5001 });
    const ra = pair.spawn(pair.a, 'rx-a', ttcpReceiver, { port: 5002 });
    const ta = pair.spawn(pair.a, 'tx-a', ttcpSender, { peerIp: pair.b.ip, port: 5001, bytes, writeSize: 4096, startDelayNs: 1_000_000 });
    const tb = pair.spawn(pair.b, 'tx-b', ttcpSender, { peerIp: pair.a.ip, port: 5002, bytes, writeSize: 1000, startDelayNs: 1_000_000 });
    w.sched.runUntil(() => !rb.alive && !ra.alive && !ta.alive && !tb.alive, { nsMax: 60e9 });
    for (const r of [ra, rb]) {
      expect(logField(r, 'received'), logs(r, ta, tb, pair.a.registry, pair.b.registry)).toBe(bytes);
      expect(logField(r, 'bad')).toBe(0);
    }
    expect(w.trace.guestErrorsTotal).toBe(0);
    w.sched.runFor(100_000_000); // the registries take the last RELEASE after the tasks have gone
    for (const h of [pair.a, pair.b]) {
      // The handshakes went through the device's messages, both ways.
      const d = h.netio.deviceIpc.stats;
      expect(d.rxMessages).toBeGreaterThan(0);
      expect(d.txMessages).toBeGreaterThan(0);
      expect(d.txRefusedMalformed).toBe(0);
      const s = registryStatsFromLog(h.registry!.log)!;
      expect(s.handoffs).toBe(2);
      expect(s.released).toBe(2); // both closes reached the registry
    }
    // Every connection's channel is gone after the closes (the IPC path has no default channel).
    expect(pair.a.netio.channels.size + pair.b.netio.channels.size).toBe(0);
  });
});

it('paper-table4-library: set-up through the IPC device path takes longer than through the default channel; the paper\'s cells stay the default run\'s', () => {
  const r = runScenario(paperTable4LibraryScenario, { seed: 1 }).results as Record<string, unknown>;
  const def = (r['ethernet'] as { library: number }).library;
  const ipc = r['ethernet_registry_ipc_device_ms'] as number;
  const part = 'round_trip_to_remote_peer_via_registry_server_using_mach_ipc_to_device';
  const bd = r['library_ethernet_breakdown_ms'] as Record<string, number>;
  const bi = r['library_ethernet_breakdown_ipc_device_ms'] as Record<string, number>;
  expect(ipc).toBeGreaterThan(def);
  expect(bi[part]).toBeGreaterThan(bd[part]!);
  expect(Object.keys(bi).sort()).toEqual(Object.keys(bd).sort());
  // Channel creation does not touch the device path.
  expect(bi['setting_up_user_channels_to_the_network_device']).toBe(bd['setting_up_user_channels_to_the_network_device']);
});
