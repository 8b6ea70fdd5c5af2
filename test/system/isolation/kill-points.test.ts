/**
 * Issue 13 F6, F7: a client killed at any point of set-up, transfer or close leaves nothing
 * behind on its host: no name in the registry's space (reply rights, task port, channel rights),
 * no BQI (once its 2·MSL hold has passed), no channel, no port. Kill points are spread over each
 * phase of an unkilled run of the same seed; FC_NUM_RUNS scales how many.
 */
import { describe, expect, it } from 'vitest';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildLibPair } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { connectWriteClose, holdServer } from './programs.ts';

const MSL_NS = 20_000_000;
const RUNS = Number(process.env['FC_NUM_RUNS'] ?? 0) > 0 ? Number(process.env['FC_NUM_RUNS']) : 24;

interface Outcome {
  readonly leaks: Record<string, number>;
  readonly connectedAt: number;
  readonly closeAt: number;
  readonly lifetime: number;
}

/** One run: spawn the client, kill it `killAt` ns after spawn (never, if undefined), let everything settle, measure leftovers on host a. */
function runOnce(link: 'ethernet' | 'an1', killAt: number | undefined, lingerNs: number): Outcome {
  const w = new World({ seed: 51, traceOn: false });
  const pair = buildLibPair(w, link, { mslNs: MSL_NS, logStats: false });
  const { a, b } = pair;
  pair.spawn(b, 'srv', holdServer, { port: 82, holdNs: 100e9 });
  w.sched.runFor(2_000_000);
  const bqis = (): number => [...(a.netio as unknown as { bqiInUse: Uint8Array }).bqiInUse].filter((x) => x !== 0).length;
  const base = { names: a.registry!.space.entries.size, bqis: bqis(), channels: a.netio.channels.size, ports: a.kernel.ipc.portsLive, kmsgs: a.kernel.ipc.kmsgsLive };
  const t0 = w.sched.now;
  const cli = pair.spawn(a, 'cli', connectWriteClose, { peerIp: b.ip, port: 82, bytes: 16384, lingerNs });
  if (killAt !== undefined) {
    w.sched.runUntil(() => !cli.alive || w.sched.now >= t0 + killAt, { nsMax: killAt + 1 });
    if (cli.alive) a.kernel.endTask(cli, { kind: 'killed', by: 'test' });
  } else w.sched.runUntil(() => !cli.alive, { nsMax: 10e9 });
  const lifetime = w.sched.now - t0;
  w.sched.runFor(4 * MSL_NS + 50_000_000); // TIME-WAIT and the BQI hold (2·MSL each), retransmissions given up
  const leaks = {
    names: a.registry!.space.entries.size - base.names,
    bqis: bqis() - base.bqis,
    channels: a.netio.channels.size - base.channels,
    ports: a.kernel.ipc.portsLive - base.ports,
    kmsgs: a.kernel.ipc.kmsgsLive - base.kmsgs,
  };
  return { leaks, connectedAt: logField(cli, 'connectedAt'), closeAt: logField(cli, 'closeAt'), lifetime };
}

describe.each(['ethernet', 'an1'] as const)('kill points on %s', (link) => {
  for (const linger of [2_000_000_000, 0]) {
    it(`nothing leaks when a client is killed during set-up, transfer or close (close ${linger === 0 ? 'handed to the registry' : 'by the library'})`, () => {
      const ref = runOnce(link, undefined, linger);
      expect(ref.connectedAt).toBeGreaterThan(0);
      expect(ref.leaks, 'an unkilled run').toEqual({ names: 0, bqis: 0, channels: 0, ports: 0, kmsgs: 0 });
      // Kill points: 60 % over set-up (spawn .. connected + 10 %), 40 % over transfer and close.
      const nSetup = Math.ceil(RUNS * 0.6);
      const nRest = RUNS - nSetup;
      const setupEnd = ref.connectedAt * 1.1;
      const points: number[] = [];
      for (let i = 0; i < nSetup; i++) points.push(Math.round((setupEnd * (i + 0.5)) / nSetup));
      for (let i = 0; i < nRest; i++) points.push(Math.round(setupEnd + ((ref.lifetime - setupEnd) * (i + 0.5)) / nRest));
      const bad: string[] = [];
      for (const k of points) {
        const o = runOnce(link, k, linger);
        const nonzero = Object.entries(o.leaks).filter(([, v]) => v !== 0);
        if (nonzero.length > 0) bad.push(`kill at ${k} ns: ${nonzero.map(([n, v]) => `${n}${v > 0 ? '+' : ''}${v}`).join(' ')}`);
      }
      expect(bad, `${bad.length} of ${points.length} kill points leak (set-up ends ${setupEnd} ns, lifetime ${ref.lifetime} ns)`).toEqual([]);
    });
  }
});
