/**
 * F1/F2-shaped histories, generated (issue 13 item 5): on AN1, host B's tasks accept connections
 * from an attacker on A and end them in any way (library close, close handed to the registry,
 * killed), one after another; new connections (B active or passive) follow at any delay; the
 * attacker keeps every channel open and injects through each once its peer is gone. No injected
 * frame may reach the ring of any connection on B. FC_NUM_RUNS / 10 histories (at least 3).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../kernel/kernel.ts';
import { buildLibPair } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { acceptAndClose, holdServer, idleClient, keepOpenInjector, markedSlots } from './programs.ts';

const RUNS = Math.max(3, Math.round(Number(process.env['FC_NUM_RUNS'] ?? '100') / 10));

describe('generated close / reconnect histories (AN1)', () => {
  it('an attacker that keeps its channels open never reaches another connection\'s ring', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 1 << 20 }),
          ends: fc.array(fc.constantFrom('close', 'handover', 'kill'), { minLength: 1, maxLength: 3 }),
          victims: fc.array(fc.record({ passive: fc.boolean(), delayNs: fc.integer({ min: 500_000, max: 60_000_000 }) }), { minLength: 1, maxLength: 3 }),
          attackDelayNs: fc.integer({ min: 20_000_000, max: 80_000_000 }),
        }),
        ({ seed, ends, victims, attackDelayNs }) => {
          const w = new World({ seed, traceOn: false });
          const pair = buildLibPair(w, 'an1', { mslNs: 200_000_000, logStats: false });
          const { a, b } = pair;
          pair.spawn(a, 'hold', holdServer, { port: 82, conns: victims.length });
          const atks: Task[] = [];
          ends.forEach((end, i) => {
            const port = 90 + i;
            const srv = pair.spawn(b, `end${i}`, acceptAndClose, { port, lingerNs: end === 'handover' ? 0 : 5_000_000, holdNs: 10e9, noClose: end === 'kill' });
            atks.push(pair.spawn(a, `atk${i}`, keepOpenInjector, { peerIp: b.ip, port, attackDelayNs, frames: 10 }));
            if (end === 'kill') {
              w.sched.runUntil(() => srv.log.some((l) => l.startsWith('accepted')) || !srv.alive, { nsMax: 1e9 });
              b.kernel.endTask(srv, { kind: 'killed', by: 'test' });
            }
          });
          victims.forEach((v, i) => {
            if (v.passive) {
              pair.spawn(b, `vsrv${i}`, holdServer, { port: 100 + i });
              pair.spawn(a, `vcli${i}`, idleClient, { peerIp: b.ip, port: 100 + i, startDelayNs: v.delayNs, idleNs: 400_000_000 });
            } else pair.spawn(b, `vcli${i}`, idleClient, { peerIp: a.ip, port: 82, startDelayNs: v.delayNs, idleNs: 400_000_000 });
          });
          w.sched.runUntil(() => atks.every((t) => t.log.some((l) => l.startsWith('injected=')) || !t.alive), { nsMax: 5e9 });
          expect(atks.map((t) => t.log.some((l) => l.startsWith('injected=')))).not.toContain(false);
          expect(markedSlots(b)).toBe(0);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
