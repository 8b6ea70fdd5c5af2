/**
 * A clean close is a RELEASE, never an inheritance: the library closes its channel only after the
 * registry has answered (the channel right in the RELEASE proves ownership and must still be alive
 * when the registry reads it). Before that fix a registry that read the RELEASE after the channel
 * had died refused it and inherited the connection (seen on seeds 22–24 of this transfer).
 */
import { describe, expect, it } from 'vitest';
import { World } from '../../../studies/world.ts';
import { buildLibPair } from '../../../studies/scenarios/library-hosts.ts';
import { ttcpReceiver, ttcpSender } from '../../../userland/apps/ttcp.ts';
import { registryStatsFromLog } from '../../../userland/registry/registry-server.ts';

describe.each(['ethernet', 'an1'] as const)('clean closes on %s', (link) => {
  it('every close reaches the registry as a RELEASE on seeds 20–25 (two transfers each way)', () => {
    for (let seed = 20; seed <= 25; seed++) {
      const w = new World({ seed, traceOn: false });
      const pair = buildLibPair(w, link);
      const bytes = 100 * 1024;
      const tasks = [
        pair.spawn(pair.b, 'rx-b', ttcpReceiver, { port: 5001 }),
        pair.spawn(pair.a, 'rx-a', ttcpReceiver, { port: 5002 }),
        pair.spawn(pair.a, 'tx-a', ttcpSender, { peerIp: pair.b.ip, port: 5001, bytes, writeSize: 4096, startDelayNs: 1_000_000 }),
        pair.spawn(pair.b, 'tx-b', ttcpSender, { peerIp: pair.a.ip, port: 5002, bytes, writeSize: 1000, startDelayNs: 1_000_000 }),
      ];
      w.sched.runUntil(() => tasks.every((t) => !t.alive), { nsMax: 60e9 });
      w.sched.runFor(100_000_000);
      for (const h of [pair.a, pair.b]) {
        const s = registryStatsFromLog(h.registry!.log)!;
        expect({ seed, host: h.name, released: s.released, inherited: s.inherited }).toEqual({ seed, host: h.name, released: 2, inherited: 0 });
      }
    }
  });
});
