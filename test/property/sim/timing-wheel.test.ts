import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../emulator/sim/scheduler.ts';
import { TimingWheel, WheelTimer } from '../../../emulator/sim/timing-wheel.ts';

type Op =
  | { readonly kind: 'arm'; readonly timer: number; readonly delay: number }
  | { readonly kind: 'cancel'; readonly timer: number }
  | { readonly kind: 'advance'; readonly ns: number };

const TIMERS = 6;
/** Delays spanning every level the tests can reach quickly: ns up to ~17 minutes at 1 ns ticks. */
const delayArb = fc.oneof(
  fc.integer({ min: 0, max: 100 }),
  fc.integer({ min: 0, max: 10_000 }),
  fc.integer({ min: 0, max: 5_000_000 }),
  fc.integer({ min: 0, max: 1_000_000_000_000 }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('arm' as const), timer: fc.integer({ min: 0, max: TIMERS - 1 }), delay: delayArb }),
  fc.record({ kind: fc.constant('cancel' as const), timer: fc.integer({ min: 0, max: TIMERS - 1 }) }),
  fc.record({ kind: fc.constant('advance' as const), ns: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 10_000_000 })) }),
);

describe('TimingWheel', () => {
  it('fires each armed timer exactly once, at the first tick at or after its deadline (naive model)', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 7, 1000), fc.array(opArb, { maxLength: 60, size: 'max' }), (tickNs, ops) => {
        const sched = new Scheduler();
        const wheel = new TimingWheel(sched, tickNs);
        const fired: [number, number][] = [];
        const timers = Array.from({ length: TIMERS }, (_, i) => new WheelTimer(`t${i}`, (now) => fired.push([i, now])));
        // Model: timer -> expected firing time (or absent).
        const expected = new Map<number, number>();
        const modelFired: [number, number][] = [];
        const advanceModel = (until: number): void => {
          const due = [...expected.entries()].filter(([, t]) => t <= until).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
          for (const [id, t] of due) {
            modelFired.push([id, t]);
            expected.delete(id);
          }
        };
        for (const op of ops) {
          if (op.kind === 'arm') {
            const deadline = sched.now + op.delay;
            const tick = Math.max(Math.ceil(deadline / tickNs), Math.floor(sched.now / tickNs) + 1);
            expected.set(op.timer, tick * tickNs);
            wheel.arm(timers[op.timer]!, deadline);
          } else if (op.kind === 'cancel') {
            expected.delete(op.timer);
            wheel.cancel(timers[op.timer]!);
          } else {
            advanceModel(sched.now + op.ns);
            sched.runFor(op.ns);
          }
          expect(wheel.size).toBe(expected.size);
        }
        // Drain everything still armed.
        const last = Math.max(sched.now, ...expected.values());
        advanceModel(last);
        sched.runFor(last - sched.now);
        const key = (xs: [number, number][]): string[] => xs.map(([i, t]) => `${t}:${i}`).sort();
        expect(key(fired)).toEqual(key(modelFired));
        expect(wheel.size).toBe(0);
      }),
    );
  });

  it('lets a callback re-arm itself and cancel a timer due at the same tick', () => {
    const sched = new Scheduler();
    const wheel = new TimingWheel(sched, 1);
    const log: string[] = [];
    const b = new WheelTimer('b', () => log.push('b'));
    const a: WheelTimer = new WheelTimer('a', (now) => {
      log.push(`a@${now}`);
      wheel.cancel(b);
      if (now < 300) wheel.arm(a, now + 100);
    });
    wheel.arm(a, 100);
    wheel.arm(b, 100);
    sched.runFor(1_000);
    expect(log.filter((x) => x === 'b').length).toBeLessThanOrEqual(1);
    expect(log.filter((x) => x.startsWith('a@'))).toEqual(['a@100', 'a@200', 'a@300']);
  });

  it('costs no events for empty ticks: a 200 ms timer wakes the scheduler a handful of times', () => {
    const sched = new Scheduler();
    const wheel = new TimingWheel(sched, 1);
    let at = -1;
    wheel.arm(new WheelTimer('rto', (now) => (at = now)), 200_000_000);
    sched.runFor(300_000_000);
    expect(at).toBe(200_000_000);
    expect(sched.eventsFired).toBeLessThanOrEqual(8);
  });
});
