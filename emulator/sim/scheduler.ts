/**
 * The discrete-event scheduler: one per run, one clock, integer nanoseconds.
 *
 * Order is total: (time, priority, insertion sequence). Equal time and priority run in the order
 * they were scheduled (FIFO), so a run is a pure function of its inputs and seed.
 * Components create their events once (`createEvent`) and reschedule them; nothing allocates per
 * firing. The pending set is a binary heap whose entries know their index, so cancel and
 * reschedule are O(log n).
 *
 * A *parked* event (`park`) is one whose owner knows that each firing until further notice does
 * nothing but fire again `period` later (an idle device's poll). It stays out of the heap and the
 * scheduler fires it virtually at its place in the order: the clock, `eventsFired`, the
 * fingerprint (`onFire`) and the insertion sequence it would have taken all advance exactly as if
 * it fired and rescheduled itself, without running its callback. `scheduled`, `time`, `cancel`
 * and `reschedule` see it as an ordinary pending event; `unpark` puts it back into the heap
 * (with the time and sequence it has), and the owner must call it before anything that could
 * make the next firing do something.
 */
import { assert, bug, EmulatorBug } from './assert.ts';
import type { Ns } from './time.ts';

/**
 * Priorities for events at the same instant, lowest first, each with its reason (gem5 eventq.hh).
 * - wire: a bit or frame edge on a medium happens before anything reacts to it.
 * - cpuWrite: a CPU store stamped t (a register or board-memory write issued by a burst that ran
 *   ahead of the clock) reaches its device at t, before the device's own state machine steps at t.
 * - device: device-internal state machines (DMA steps, FIFOs, firmware) see the wire first.
 * - interrupt: a line that a device raised at t is sampled by the CPU at t, before the CPU
 *   decides what to run next.
 * - cpu: the end of a CPU burst and dispatch of the next thread.
 * - timer: kernel/software timers fire after the hardware at the same instant.
 * - observer: statistics, sampling, end-of-run checks see the settled state.
 */
export const Priority = {
  wire: 0,
  cpuWrite: 5,
  device: 10,
  interrupt: 20,
  cpu: 30,
  timer: 40,
  observer: 90,
} as const;
export type Priority = number;

export type EventCallback = (now: Ns) => void;

export class SimEvent {
  /** Absolute time at which the event fires; meaningful only while scheduled. */
  time = 0 as Ns;
  /** Insertion sequence of the current scheduling; breaks ties FIFO. */
  seq = 0;
  /** Position in the heap, -1 when not scheduled, PARKED while parked. */
  heapIndex = -1;
  /** While parked: the interval between its virtual firings. */
  period = 0;

  /** FNV-1a of the name, computed once: what the fingerprint folds for this event. */
  readonly nameHash: number;

  constructor(
    readonly name: string,
    readonly priority: Priority,
    readonly callback: EventCallback,
  ) {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    this.nameHash = h >>> 0;
  }

  get scheduled(): boolean {
    return this.heapIndex !== -1;
  }
}

/** `SimEvent.heapIndex` of a parked event. */
const PARKED = -2;

export type RunOutcome = 'done' | 'limit' | 'idle';

export interface RunLimit {
  /** Longest stretch of simulated time this call may cover, in ns (a limit on everything). */
  readonly nsMax: number;
}

function before(a: SimEvent, b: SimEvent): boolean {
  if (a.time !== b.time) return a.time < b.time;
  if (a.priority !== b.priority) return a.priority < b.priority;
  return a.seq < b.seq;
}

export class Scheduler {
  private nowNs = 0 as Ns;
  private nextSeq = 0;
  private readonly heap: SimEvent[] = [];
  /** Parked events (few: one per idle device at most), fired virtually (see the header). */
  private readonly parked: SimEvent[] = [];
  /** Events fired since the start of the run. */
  eventsFired = 0;
  /** Called as each event fires with its time and name hash (the trace folds them into the fingerprint). */
  onFire: ((timeNs: number, nameHash: number) => void) | undefined = undefined;

  get now(): Ns {
    return this.nowNs;
  }
  get pendingCount(): number {
    return this.heap.length + this.parked.length;
  }

  createEvent(name: string, priority: Priority, callback: EventCallback): SimEvent {
    return new SimEvent(name, priority, callback);
  }

  /** Schedule an idle event at absolute time `at` (never in the past). */
  schedule(ev: SimEvent, at: number): void {
    if (ev.scheduled) bug(`event ${ev.name} is already scheduled`);
    if (!(at >= this.nowNs)) throw new EmulatorBug(`event ${ev.name} scheduled in the past: ${at} < ${this.nowNs}`);
    if (!(Number.isSafeInteger(at))) bug(`event ${ev.name}: time ${at} is not an integer ns`);
    ev.time = at as Ns;
    ev.seq = this.nextSeq++;
    ev.heapIndex = this.heap.length;
    this.heap.push(ev);
    this.siftUp(ev.heapIndex);
  }

  scheduleIn(ev: SimEvent, delayNs: number): void {
    this.schedule(ev, this.nowNs + delayNs);
  }

  /** Move an event (scheduled or not) to `at`; it takes a fresh insertion sequence. */
  reschedule(ev: SimEvent, at: number): void {
    if (ev.scheduled) this.cancel(ev);
    this.schedule(ev, at);
  }

  cancel(ev: SimEvent): void {
    const i = ev.heapIndex;
    if (i === PARKED) {
      this.dropParked(ev);
      return;
    }
    if (i >= 0) this.removeFromHeap(ev);
  }

  /**
   * Park `ev` (not scheduled) at `at`: it takes an insertion sequence as `schedule` gives, and
   * from then on fires virtually every `periodNs` (see the header) until `unpark` or `cancel`.
   */
  park(ev: SimEvent, at: number, periodNs: number): void {
    if (ev.scheduled) bug(`event ${ev.name} is already scheduled`);
    if (!(at >= this.nowNs)) throw new EmulatorBug(`event ${ev.name} parked in the past: ${at} < ${this.nowNs}`);
    if (!(Number.isSafeInteger(at))) bug(`event ${ev.name}: time ${at} is not an integer ns`);
    if (!(periodNs > 0 && Number.isSafeInteger(periodNs))) bug(`event ${ev.name}: park period ${periodNs} is not a positive integer ns`);
    ev.time = at as Ns;
    ev.seq = this.nextSeq++;
    ev.heapIndex = PARKED;
    ev.period = periodNs;
    this.parked.push(ev);
  }

  /** Put a parked event back into the heap at its next firing, with its sequence; else nothing. */
  unpark(ev: SimEvent): void {
    if (ev.heapIndex !== PARKED) return;
    this.dropParked(ev);
    ev.heapIndex = this.heap.length;
    this.heap.push(ev);
    this.siftUp(ev.heapIndex);
  }

  /** Time of the earliest pending event, or undefined when idle. */
  peekTime(): Ns | undefined {
    return this.next()?.time;
  }

  /** The earliest pending event, heap or parked. */
  private next(): SimEvent | undefined {
    const top = this.heap[0];
    if (this.parked.length === 0) return top;
    let best = top;
    for (const p of this.parked) if (best === undefined || before(p, best)) best = p;
    return best;
  }

  /** Fire the earliest event. Returns false when nothing is pending. */
  step(): boolean {
    const ev = this.parked.length === 0 ? this.heap[0] : this.next();
    if (ev === undefined) return false;
    if (ev.heapIndex === PARKED) {
      // A virtual firing: everything an idle firing changes, and nothing else.
      this.nowNs = ev.time;
      this.eventsFired++;
      if (this.onFire !== undefined && ev.priority !== Priority.observer) this.onFire(ev.time, ev.nameHash);
      ev.time = (ev.time + ev.period) as Ns;
      ev.seq = this.nextSeq++;
      return true;
    }
    this.cancel(ev);
    assert(ev.time >= this.nowNs, 'time went backwards');
    this.nowNs = ev.time;
    this.eventsFired++;
    // The run's fingerprint covers the time of every event (observers' own events excepted).
    if (this.onFire !== undefined && ev.priority !== Priority.observer) this.onFire(ev.time, ev.nameHash);
    ev.callback(this.nowNs);
    return true;
  }

  /**
   * Fire events until `pred()` holds (checked before each event), nothing is pending, or the
   * next event lies more than `nsMax` beyond the time of the call; in the last case the clock
   * advances to exactly that limit.
   */
  runUntil(pred: () => boolean, limit: RunLimit): RunOutcome {
    const deadline = this.nowNs + limit.nsMax;
    for (;;) {
      if (pred()) return 'done';
      const next = this.parked.length === 0 ? this.heap[0] : this.next();
      if (next === undefined) return 'idle';
      if (next.time > deadline) {
        this.nowNs = deadline as Ns;
        return 'limit';
      }
      this.step();
    }
  }

  /** Run for exactly `durationNs`: every event up to and including now+duration fires. */
  runFor(durationNs: number): void {
    const deadline = this.nowNs + durationNs;
    for (;;) {
      const next = this.parked.length === 0 ? this.heap[0] : this.next();
      if (next === undefined || next.time > deadline) break;
      this.step();
    }
    this.nowNs = deadline as Ns;
  }

  private dropParked(ev: SimEvent): void {
    const k = this.parked.indexOf(ev);
    if (k < 0) bug(`event ${ev.name} is marked parked but is not`);
    this.parked.splice(k, 1);
    ev.heapIndex = -1;
  }

  /** Take a heap event out (as cancel does for one in the heap). */
  private removeFromHeap(ev: SimEvent): void {
    const i = ev.heapIndex;
    const last = this.heap.pop();
    assert(last !== undefined, 'heap underflow');
    ev.heapIndex = -1;
    if (last !== ev) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.siftUp(i);
      this.siftDown(last.heapIndex);
    }
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const ev = heap[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(ev, parent)) break;
      heap[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    heap[i] = ev;
    ev.heapIndex = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    if (i < 0 || i >= n) return;
    const ev = heap[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(heap[right]!, heap[left]!)) child = right;
      const c = heap[child]!;
      if (!before(c, ev)) break;
      heap[i] = c;
      c.heapIndex = i;
      i = child;
    }
    heap[i] = ev;
    ev.heapIndex = i;
  }
}
