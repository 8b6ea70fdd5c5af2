import { describe, expect, it } from 'vitest';
import { World } from '../../../studies/world.ts';
import { buildLibPair, logField, type LinkName } from '../../../studies/scenarios/library-hosts.ts';
import { ttcpReceiver, ttcpSender } from '../../../userland/apps/ttcp.ts';

function transfer(link: LinkName, bytes: number, writeSize: number, loss = 0, seed = 1) {
  const world = new World({ seed, traceOn: false });
  const pair = buildLibPair(world, link, loss > 0 ? { faults: { loss } } : {});
  const rx = pair.spawn(pair.b, 'ttcp-r', ttcpReceiver, { port: 5001 });
  const tx = pair.spawn(pair.a, 'ttcp-t', ttcpSender, { peerIp: pair.b.ip, port: 5001, bytes, writeSize, startDelayNs: 1_000_000 });
  world.sched.runUntil(() => !rx.alive && !tx.alive, { nsMax: world.sched.now + 120_000_000_000 });
  return { rx, tx, world, pair };
}

describe('library end to end', () => {
  for (const link of ['ethernet', 'an1'] as const) {
    it(`${link}: 1 MB byte-exact`, () => {
      const { rx, tx } = transfer(link, 1 << 20, 4096);
      expect(logField(tx, 'sent'), tx.log.join('\n')).toBe(1 << 20);
      expect(logField(rx, 'received'), rx.log.join('\n')).toBe(1 << 20);
      expect(logField(rx, 'bad')).toBe(0);
    });
  }
});
