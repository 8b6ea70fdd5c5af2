import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scheduler, type SimEvent } from '../../../emulator/sim/scheduler.ts';

/** Reference model: a plain array of pending entries, searched for the (time, priority, seq) minimum. */
interface ModelEntry {
  readonly id: number;
  readonly time: number;
  readonly priority: number;
  readonly seq: number;
}
interface Model {
  pending: ModelEntry[];
  seq: number;
  now: number;
  fired: number[];
}
interface Real {
  sched: Scheduler;
  events: SimEvent[];
  fired: number[];
}

const EVENTS = 8;
const PRIORITIES = [0, 10, 20, 10, 0, 30, 20, 10];

function modelMin(m: Model): ModelEntry | undefined {
  let best: ModelEntry | undefined;
  for (const e of m.pending) {
    if (
      best === undefined ||
      e.time < best.time ||
      (e.time === best.time && (e.priority < best.priority || (e.priority === best.priority && e.seq < best.seq)))
    )
      best = e;
  }
  return best;
}

class ScheduleCmd implements fc.Command<Model, Real> {
  constructor(
    readonly id: number,
    readonly delay: number,
  ) {}
  check(m: Readonly<Model>): boolean {
    return !m.pending.some((e) => e.id === this.id);
  }
  run(m: Model, r: Real): void {
    m.pending.push({ id: this.id, time: m.now + this.delay, priority: PRIORITIES[this.id]!, seq: m.seq++ });
    r.sched.scheduleIn(r.events[this.id]!, this.delay);
    expect(r.sched.pendingCount).toBe(m.pending.length);
  }
  toString(): string {
    return `schedule(${this.id}, +${this.delay})`;
  }
}

class RescheduleCmd implements fc.Command<Model, Real> {
  constructor(
    readonly id: number,
    readonly delay: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    m.pending = m.pending.filter((e) => e.id !== this.id);
    m.pending.push({ id: this.id, time: m.now + this.delay, priority: PRIORITIES[this.id]!, seq: m.seq++ });
    r.sched.reschedule(r.events[this.id]!, r.sched.now + this.delay);
    expect(r.sched.pendingCount).toBe(m.pending.length);
  }
  toString(): string {
    return `reschedule(${this.id}, +${this.delay})`;
  }
}

class CancelCmd implements fc.Command<Model, Real> {
  constructor(readonly id: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    m.pending = m.pending.filter((e) => e.id !== this.id);
    r.sched.cancel(r.events[this.id]!);
    expect(r.events[this.id]!.scheduled).toBe(false);
    expect(r.sched.pendingCount).toBe(m.pending.length);
  }
  toString(): string {
    return `cancel(${this.id})`;
  }
}

class StepCmd implements fc.Command<Model, Real> {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const next = modelMin(m);
    const stepped = r.sched.step();
    expect(stepped).toBe(next !== undefined);
    if (next === undefined) return;
    m.pending = m.pending.filter((e) => e !== next);
    m.now = next.time;
    m.fired.push(next.id);
    expect(r.sched.now).toBe(next.time);
    expect(r.fired).toEqual(m.fired);
  }
  toString(): string {
    return 'step';
  }
}

const commands = [
  fc.tuple(fc.integer({ min: 0, max: EVENTS - 1 }), fc.integer({ min: 0, max: 5 })).map(([id, d]) => new ScheduleCmd(id, d)),
  fc.tuple(fc.integer({ min: 0, max: EVENTS - 1 }), fc.integer({ min: 0, max: 5 })).map(([id, d]) => new RescheduleCmd(id, d)),
  fc.integer({ min: 0, max: EVENTS - 1 }).map((id) => new CancelCmd(id)),
  fc.constant(new StepCmd()),
  fc.constant(new StepCmd()),
];

describe('Scheduler', () => {
  it('fires in (time, priority, insertion) order against a sorted-array model', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 80, size: 'large' }), (cmds) => {
        const sched = new Scheduler();
        const fired: number[] = [];
        const events = PRIORITIES.map((p, id) => sched.createEvent(`e${id}`, p, () => fired.push(id)));
        fc.modelRun(() => ({ model: { pending: [], seq: 0, now: 0, fired: [] }, real: { sched, events, fired } }), cmds);
      }),
    );
  });

  it('runs same-time, same-priority events FIFO', () => {
    const sched = new Scheduler();
    const order: string[] = [];
    const evs = ['a', 'b', 'c', 'd'].map((n) => sched.createEvent(n, 10, () => order.push(n)));
    for (const e of evs) sched.schedule(e, 100);
    sched.runFor(100);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses to schedule in the past or twice', () => {
    const sched = new Scheduler();
    const e = sched.createEvent('e', 0, () => {});
    sched.runFor(50);
    expect(() => sched.schedule(e, 49)).toThrow(/past/);
    sched.schedule(e, 60);
    expect(() => sched.schedule(e, 70)).toThrow(/already/);
  });

  it('runUntil stops at the predicate, at the limit (advancing exactly to it), or when idle', () => {
    const sched = new Scheduler();
    let n = 0;
    const tick = sched.createEvent('tick', 0, () => {
      n++;
      sched.scheduleIn(tick, 10);
    });
    sched.schedule(tick, 0);
    expect(sched.runUntil(() => n === 5, { nsMax: 1_000 })).toBe('done');
    expect(sched.now).toBe(40);
    expect(sched.runUntil(() => false, { nsMax: 25 })).toBe('limit');
    expect(sched.now).toBe(65);
    sched.cancel(tick);
    expect(sched.runUntil(() => false, { nsMax: 1_000 })).toBe('idle');
  });
});
