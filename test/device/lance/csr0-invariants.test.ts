/**
 * Property: whatever a driver writes and whatever arrives, CSR0's summaries stay consistent —
 * ERR = OR(BABL, CERR, MISS, MERR), INTR = OR(BABL, MISS, MERR, RINT, TINT, IDON), the slot's
 * interrupt = INTR ∧ INEA, a stopped chip reads exactly STOP — and nothing throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DUT_MAC, PEER_MAC, makeRig } from './rig.ts';
import { testFrame } from './rig.ts';
import { BABL, CERR, ERR, IDON, INEA, INTR, MERR, MISS, RINT, STOP, TINT, bringUp, queueTx } from './layout.ts';

type Op =
  | { k: 'csr0'; v: number }
  | { k: 'rap'; v: number }
  | { k: 'rdp'; v: number }
  | { k: 'sram'; a: number; v: number }
  | { k: 'rx'; len: number; mine: boolean }
  | { k: 'tx'; i: number; len: number; flags: number }
  | { k: 'step'; ns: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('csr0' as const), v: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ k: fc.constant('rap' as const), v: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ k: fc.constant('rdp' as const), v: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ k: fc.constant('sram' as const), a: fc.integer({ min: 0, max: 0x17f }), v: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ k: fc.constant('rx' as const), len: fc.integer({ min: 20, max: 1600 }), mine: fc.boolean() }),
  fc.record({ k: fc.constant('tx' as const), i: fc.integer({ min: 0, max: 3 }), len: fc.integer({ min: 10, max: 1700 }), flags: fc.constantFrom(0x0300, 0x0200, 0x0100, 0) }),
  fc.record({ k: fc.constant('step' as const), ns: fc.integer({ min: 0, max: 3_000_000 }) }),
);

describe('CSR0 invariants under arbitrary driver behaviour', () => {
  it('summaries, /INTR and STOP stay consistent; nothing throws', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        const r = makeRig();
        bringUp(r);
        for (const o of ops) {
          switch (o.k) {
            case 'csr0': r.wcsr(0, o.v); break;
            case 'rap': r.rap(o.v); break;
            case 'rdp': r.wrdp(o.v); break;
            case 'sram': r.w16(o.a * 2, o.v); break;
            case 'rx': if (r.peer.pending === 0) r.peer.send(testFrame(o.mine ? DUT_MAC : PEER_MAC, PEER_MAC, o.len)); break;
            case 'tx': queueTx(r, o.i, testFrame(PEER_MAC, DUT_MAC, o.len), o.flags); break;
            case 'step': r.step(o.ns); break;
          }
          const c = r.csr(0);
          expect((c & ERR) !== 0).toBe((c & (BABL | CERR | MISS | MERR)) !== 0);
          expect((c & INTR) !== 0).toBe((c & (BABL | MISS | MERR | RINT | TINT | IDON)) !== 0);
          expect(r.irqPending()).toBe((c & INTR) !== 0 && (c & INEA) !== 0);
          if ((c & STOP) !== 0) expect(c).toBe(STOP);
        }
      }),
      { numRuns: 60 },
    );
  });
});
