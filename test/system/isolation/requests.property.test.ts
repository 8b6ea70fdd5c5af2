/**
 * Generated registry adversaries (issue 13 item 5): 1–3 tasks each send a batch of up to 150
 * requests (CONNECT, LISTEN, ACCEPT, UNLISTEN, RELEASE or an unknown id) that are valid in every
 * field but at most one (a port out of range, a multicast address, a missing word), to real
 * and unreachable peers, and live on or die right after sending. Then: every reply is one of the
 * protocol's codes; another task still connects; and once the attackers are dead and 4·MSL has
 * passed, the registry holds no name, BQI or channel more than before. FC_NUM_RUNS / 10 runs (≥ 3).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KERN } from '../../../kernel/abi/errors.ts';
import type { Task } from '../../../kernel/kernel.ts';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildLibPair } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { REG_ERR, REG_MSG } from '../../../userland/netlib/registry-proto.ts';
import { holdServer, idleClient, regRequests } from './programs.ts';

const RUNS = Math.max(3, Math.round(Number(process.env['FC_NUM_RUNS'] ?? '100') / 10));
const MSL_NS = 20_000_000;
const CODES = new Set<number>([KERN.SUCCESS, ...Object.values(REG_ERR)]);

const batch = fc.record({
  msgId: fc.constantFrom(REG_MSG.CONNECT, REG_MSG.CONNECT, REG_MSG.LISTEN, REG_MSG.ACCEPT, REG_MSG.UNLISTEN, REG_MSG.RELEASE, 0x54ff),
  n: fc.integer({ min: 1, max: 150 }),
  bad: fc.constantFrom('none', 'none', 'port-high', 'port-zero', 'port-negative', 'multicast', 'short'),
  unreachable: fc.boolean(),
  dieAfterSend: fc.boolean(),
  vary: fc.boolean(),
});

describe.each(['ethernet', 'an1'] as const)('generated registry adversaries on %s', (link) => {
  it('every reply is a protocol code, another task still connects, nothing is left once they are gone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.array(batch, { minLength: 1, maxLength: 3 }), (seed, batches) => {
        const w = new World({ seed, traceOn: false });
        const pair = buildLibPair(w, link, { mslNs: MSL_NS, logStats: false });
        const { a, b } = pair;
        pair.spawn(b, 'srv', holdServer, { port: 82, conns: 4, holdNs: 100e9 });
        pair.spawn(b, 'srv2', holdServer, { port: 83, conns: 1, holdNs: 100e9 }); // the honest client's own server
        w.sched.runFor(2_000_000);
        const reg = a.registry!;
        const bqis = (): number => [...(a.netio as unknown as { bqiInUse: Uint8Array }).bqiInUse].filter((x) => x !== 0).length;
        const base = { names: reg.space.entries.size, bqis: bqis(), channels: a.netio.channels.size };
        const atks: Task[] = batches.map((x, i) => {
          const peer = x.unreachable ? ((10 << 24) | (9 << 8) | 99) >>> 0 : b.ip;
          let w0 = x.msgId === REG_MSG.CONNECT ? peer | 0 : 82;
          let w1 = x.msgId === REG_MSG.CONNECT ? 82 : 5;
          let w2 = 0;
          if (x.bad === 'port-high') (x.msgId === REG_MSG.CONNECT ? (w2 = 65536 + 82) : (w0 = 70000));
          if (x.bad === 'port-zero') (x.msgId === REG_MSG.CONNECT ? (w1 = 0) : (w0 = 0));
          if (x.bad === 'port-negative') (x.msgId === REG_MSG.CONNECT ? (w2 = -5) : (w0 = -5));
          if (x.bad === 'multicast' && x.msgId === REG_MSG.CONNECT) w0 = ((224 << 24) | 1) | 0;
          if (x.msgId === REG_MSG.LISTEN || x.msgId === REG_MSG.ACCEPT || x.msgId === REG_MSG.UNLISTEN) w0 = w0 === 82 ? 7000 + i : w0;
          const words = x.bad === 'short' ? 0 : x.msgId === REG_MSG.RELEASE ? 4 : x.msgId === REG_MSG.CONNECT ? 3 : 2;
          return pair.spawn(a, `atk${i}`, regRequests, {
            msgId: x.msgId, n: x.n, w0, w1, w2, w3: 0, words, varyIndex: x.vary ? (x.msgId === REG_MSG.CONNECT ? 2 : 0) : -1,
            ...(x.msgId === REG_MSG.ACCEPT && x.bad === 'none' ? { listenFirst: 7000 + i } : {}),
            dieAfterSend: x.dieAfterSend, waitNs: 30_000_000, holdNs: 50_000_000,
          });
        });
        w.sched.runUntil(() => atks.every((t) => !t.alive || t.log.some((l) => l.startsWith('replies='))), { nsMax: 20e9 });
        for (const t of atks) {
          const line = t.log.find((l) => l.startsWith('replies='));
          if (line === undefined) continue;
          const codes = (line.split('codes=')[1] ?? '').split(',').filter((s) => s !== '').map((s) => Number(s.split(':')[0]));
          for (const c of codes) expect(CODES.has(c), `${t.name}: reply code ${c} (${line})`).toBe(true);
        }
        const c = pair.spawn(a, 'honest', idleClient, { peerIp: b.ip, port: 83, idleNs: 1_000_000 });
        w.sched.runUntil(() => c.log.some((l) => l.startsWith('connected=')) || !c.alive, { nsMax: 5e9 });
        expect(logField(c, 'connected'), c.log.join(' | ')).toBe(0);
        for (const t of atks) if (t.alive) a.kernel.endTask(t, { kind: 'killed', by: 'test' });
        w.sched.runUntil(() => !c.alive, { nsMax: 5e9 });
        w.sched.runFor(4 * MSL_NS + 50_000_000);
        expect({ names: reg.space.entries.size, bqis: bqis(), channels: a.netio.channels.size }).toEqual(base);
      }),
      {
        numRuns: RUNS,
        // Found in CI (seed 972990686): two tasks whose pending connects to an unreachable peer took
        // all 63 AN1 BQIs before the per-task BQI quota was lowered to 15. Checked every run.
        examples: [[1, [
          { msgId: REG_MSG.CONNECT, n: 31, bad: 'none', unreachable: false, dieAfterSend: false, vary: false },
          { msgId: REG_MSG.CONNECT, n: 32, bad: 'none', unreachable: false, dieAfterSend: false, vary: false },
        ]]],
      },
    );
  });
});
