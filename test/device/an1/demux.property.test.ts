/**
 * The BQI demultiplexing guarantee, as a property (fast-check): for any set of BQIs whose rings
 * point at distinct host regions, enabled or not, and any stream of frames with arbitrary BQI
 * fields, each frame lands only in the next buffer of the ring its BQI names when that BQI is
 * enabled, else in BQI 0's; no byte of RAM is written outside the bytes the completions report;
 * a full ring drops and counts, never overwrites. Black-box: bus and wire only.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildBench, bqiOff, CSR, HDR, makeFrame, openRing, popAll, R, RXST, settle, withCrc } from './harness.ts';

const RAM = 4 * 1024 * 1024;
const CANARY = 0x5a;
const regionBase = (bqi: number): number => 0x80000 + bqi * 0x8000;
const bufAddr = (bqi: number, k: number): number => regionBase(bqi) + k * 0x1000;

const ringArb = fc.record({
  bqi: fc.integer({ min: 1, max: 63 }),
  log2: fc.integer({ min: 0, max: 3 }),
  fill: fc.double({ min: 0, max: 1, noNaN: true }),
  bufLen: fc.constantFrom(64, 300, 1520, 1600),
  enabled: fc.boolean(),
});
const frameArb = fc.record({
  bqi: fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })),
  len: fc.integer({ min: 0, max: 1500 }),
  seed: fc.integer({ min: 0, max: 255 }),
});

describe('AN1 BQI demultiplexing (property)', () => {
  it('frames land only in the ring their BQI names (or BQI 0), nothing else is written, full rings drop', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(ringArb, { selector: (r) => r.bqi, maxLength: 5 }),
        fc.integer({ min: 0, max: 8 }),
        fc.array(frameArb, { maxLength: 40 }),
        (ringsIn, bqi0Posted, frames) => {
          const b = buildBench({ ramBytes: RAM });
          b.probe.gapNsMin = 70_000; // longer than the receive path of the largest frame: no overruns
          b.backdoorFill(0, RAM, CANARY);
          b.wr(R.CSR, CSR.RXEN);

          type Ring = { bqi: number; size: number; posted: number; bufLen: number; enabled: boolean; used: number; drops: number };
          const rings = new Map<number, Ring>();
          const r0: Ring = { bqi: 0, size: 64, posted: bqi0Posted, bufLen: 1600, enabled: true, used: 0, drops: 0 };
          rings.set(0, r0);
          openRing(b, 0, 6, Array.from({ length: bqi0Posted }, (_, k) => ({ addr: bufAddr(0, k), len: 1600 })), true);
          for (const x of ringsIn) {
            const size = 1 << x.log2;
            const posted = Math.round(x.fill * size);
            rings.set(x.bqi, { bqi: x.bqi, size, posted, bufLen: x.bufLen, enabled: x.enabled, used: 0, drops: 0 });
            openRing(b, x.bqi, x.log2, Array.from({ length: posted }, (_, k) => ({ addr: bufAddr(x.bqi, k), len: x.bufLen })), x.enabled);
          }

          // The model's expectation, frame by frame.
          const sent = frames.map((f) => makeFrame(f.bqi, Uint8Array.from({ length: f.len }, (_, i) => (i * 7 + f.seed) & 0xff)));
          const expected: { bqi: number; slot: number; status: number; length: number }[] = [];
          const expectedBytes: { addr: number; bytes: Uint8Array }[] = [];
          frames.forEach((f, i) => {
            const named = rings.get(f.bqi);
            const target = named !== undefined && named.enabled ? named : r0;
            if (target.used >= target.posted) {
              target.drops++;
              return;
            }
            const slot = target.used++;
            const whole = sent[i]!;
            const length = Math.min(whole.length, target.bufLen);
            const status = length < whole.length ? RXST.TRUNCATED : target.bqi !== f.bqi ? RXST.REDIRECTED : RXST.OK;
            expected.push({ bqi: target.bqi, slot, status, length });
            expectedBytes.push({ addr: bufAddr(target.bqi, slot), bytes: whole.subarray(0, length) });
          });

          b.probe.send(sent.map(withCrc));
          settle(b);

          expect(popAll(b)).toEqual(expected);
          for (const e of expectedBytes) expect(b.backdoorRam(e.addr, e.bytes.length)).toEqual(e.bytes);
          // No byte outside the reported lengths was written: restore them, then all is canary.
          const ram = b.backdoorRam(0, RAM);
          for (const e of expectedBytes) ram.fill(CANARY, e.addr, e.addr + e.bytes.length);
          const words = new Uint32Array(ram.buffer);
          const canaryWord = CANARY * 0x01010101;
          let firstBad = -1;
          for (let w = 0; w < words.length; w++) {
            if (words[w] !== canaryWord) {
              firstBad = w * 4;
              break;
            }
          }
          expect(firstBad).toBe(-1);
          let dropsTotal = 0;
          for (const r of rings.values()) {
            expect(b.rd(bqiOff(r.bqi, R.BQ_DROPS))).toBe(r.drops);
            expect(b.rd(bqiOff(r.bqi, R.BQ_FILLED))).toBe(r.used);
            dropsTotal += r.drops;
          }
          expect(b.rd(R.DROPS)).toBe(dropsTotal);
          expect(b.rd(R.OVERRUNS)).toBe(0);
          expect(b.trace.guestErrorsTotal).toBe(0);
          expect(HDR).toBe(20);
        },
      ),
    );
  });
});
