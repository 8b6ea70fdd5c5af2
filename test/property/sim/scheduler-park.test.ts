import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Priority, Scheduler, type SimEvent } from '../../../emulator/sim/scheduler.ts';

/**
 * A parked event (Scheduler.park) must be indistinguishable from the same event firing and
 * rescheduling itself: the same (time, name) sequence to the fingerprint hook, the same events
 * fired, the same insertion sequences for everything scheduled after (so the same order of ties),
 * and the same answers to `scheduled`, `time` and `pendingCount`.
 *
 * The model: a "device" whose poll fires every PERIOD ns and does work while it has some; other
 * events, driven by a generated script, give it work (waking it first, as the LANCE's `wake`
 * does), move or cancel its poll, and schedule one another with ties on time and priority.
 */

const PERIOD = 1_600;

interface Action {
  /** Delay before this event fires again (-1: not again; never 0, so that a run ends). */
  readonly again: number;
  /** Give the device this much work (0: none). */
  readonly work: number;
  /** 0 nothing; 1 reschedule the poll `pollDelay` ahead; 2 cancel it; 3 start it if not scheduled. */
  readonly poll: 0 | 1 | 2 | 3;
  readonly pollDelay: number;
  /** Schedule event `other` (if idle) this far ahead. */
  readonly other: number;
  readonly otherDelay: number;
}

const action = fc.record({
  again: fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 5_000 }), fc.constantFrom(PERIOD, 2 * PERIOD)),
  work: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 3 })),
  poll: fc.constantFrom(0, 0, 0, 1, 2, 3),
  pollDelay: fc.oneof(fc.integer({ min: 0, max: 4_000 }), fc.constant(0)),
  other: fc.integer({ min: 0, max: 4 }),
  otherDelay: fc.oneof(fc.integer({ min: 1, max: 9_000 }), fc.constantFrom(PERIOD, 2 * PERIOD)),
}) as fc.Arbitrary<Action>;

const PRIORITIES = [Priority.cpuWrite, Priority.device, Priority.interrupt, Priority.device, Priority.cpu];

function runModel(script: readonly Action[], starts: readonly number[], endNs: number, parking: boolean): string[] {
  const sched = new Scheduler();
  const log: string[] = [];
  sched.onFire = (t, h) => log.push(`fire ${t} ${h}`);
  let work = 0;
  let k = 0;
  const poll: SimEvent = sched.createEvent('dev.poll', Priority.device, () => {
    // An idle firing has no effect but its next firing (that is what makes it parkable).
    if (work > 0) {
      log.push(`poll ${sched.now} work ${work}`);
      work--;
      sched.schedule(poll, sched.now + PERIOD);
    } else if (parking) sched.park(poll, sched.now + PERIOD, PERIOD);
    else sched.schedule(poll, sched.now + PERIOD);
  });
  const events: SimEvent[] = [];
  for (let i = 0; i < PRIORITIES.length; i++) {
    const ev = sched.createEvent(`e${i}`, PRIORITIES[i]!, () => {
      const a = script[k++ % script.length]!;
      log.push(`e${i} ${sched.now} sees poll ${poll.scheduled} ${poll.scheduled ? poll.time : -1} pending ${sched.pendingCount}`);
      if (a.work > 0) {
        if (parking) sched.unpark(poll);
        work += a.work;
      }
      if (a.poll === 1) sched.reschedule(poll, sched.now + a.pollDelay);
      else if (a.poll === 2) sched.cancel(poll);
      else if (a.poll === 3 && !poll.scheduled) sched.schedule(poll, sched.now + a.pollDelay);
      if (a.again >= 0) sched.schedule(ev, sched.now + a.again);
      const o = events[a.other]!;
      if (o !== ev && !o.scheduled) sched.schedule(o, sched.now + a.otherDelay);
    });
    events.push(ev);
  }
  sched.schedule(poll, 0);
  starts.forEach((t, i) => sched.schedule(events[i % events.length]!, t));
  // Half the run stepwise, the rest with a deadline (the clock stops at it, virtual firings included).
  while (sched.eventsFired < 40 && sched.step());
  log.push(`mid ${sched.now} ${sched.eventsFired} ${sched.peekTime()}`);
  sched.runFor(Math.max(0, endNs - sched.now));
  log.push(`end ${sched.now} ${sched.eventsFired} ${sched.pendingCount} ${sched.peekTime()} ${poll.scheduled} ${poll.time}`);
  // Anything scheduled now takes the next sequence in both runs: a tie shows it.
  const a = sched.createEvent('late-a', Priority.device, () => log.push('late-a'));
  sched.schedule(a, poll.scheduled ? poll.time : sched.now);
  sched.runFor(3 * PERIOD);
  log.push(`after ${sched.now} ${sched.eventsFired}`);
  return log;
}

describe('Scheduler.park', () => {
  it('a parked event is indistinguishable from one that fires and reschedules itself', () => {
    fc.assert(
      fc.property(
        fc.array(action, { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 60_000 }),
        (script, starts, endNs) => {
          expect(runModel(script, starts, endNs, true)).toEqual(runModel(script, starts, endNs, false));
        },
      ),
    );
  });

  it('parks only what is idle, and cancel or reschedule of a parked event behaves as for any event', () => {
    const sched = new Scheduler();
    const fired: string[] = [];
    sched.onFire = (t) => fired.push(`${t}`);
    const ev = sched.createEvent('p', Priority.device, () => fired.push('callback'));
    sched.park(ev, 100, 50);
    expect(ev.scheduled).toBe(true);
    expect(() => sched.schedule(ev, 10)).toThrow(/already scheduled/);
    sched.runFor(220);
    // Virtual firings at 100, 150, 200: the hook sees them, the callback never runs.
    expect(fired).toEqual(['100', '150', '200']);
    expect(sched.eventsFired).toBe(3);
    expect(ev.time).toBe(250);
    sched.reschedule(ev, 230);
    sched.runFor(100);
    expect(fired).toEqual(['100', '150', '200', '230', 'callback']);
    expect(ev.scheduled).toBe(false);
    sched.park(ev, sched.now + 10, 10);
    sched.cancel(ev);
    expect(ev.scheduled).toBe(false);
    expect(sched.pendingCount).toBe(0);
    expect(sched.step()).toBe(false);
    expect(() => sched.park(ev, sched.now, 0)).toThrow(/period/);
  });
});
