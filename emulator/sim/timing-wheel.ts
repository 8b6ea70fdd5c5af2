/**
 * Hierarchical timing wheels (Varghese & Lauck, SOSP 1987, scheme 7) for timers that are mostly
 * cancelled before they fire (TCP retransmit, delayed ACK, kernel timeouts), as the paper notes.
 *
 * LEVELS levels of 64 slots; level L holds timers whose deadline is between 64^L and 64^(L+1)
 * ticks away, in the slot named by bits [6L, 6L+6) of the absolute deadline tick. Arm and cancel
 * are O(1) (intrusive doubly linked lists, no allocation); a timer cascades down at most
 * LEVELS-1 times. The wheel owns one scheduler event, set to the next tick at which some slot
 * has work, so empty ticks cost nothing. A timer fires at the first tick boundary at or after
 * its deadline (exact when tickNs = 1).
 */
import { assert } from './assert.ts';
import { Priority, type Scheduler, type SimEvent } from './scheduler.ts';
import type { Ns } from './time.ts';

const SLOT_BITS = 6;
const SLOTS = 1 << SLOT_BITS;
const LEVELS = 8;
/** Largest representable delay in ticks; later deadlines are clamped (78 h at 1 ns a tick). */
export const WHEEL_MAX_TICKS = SLOTS ** LEVELS - 1;

export class WheelTimer {
  deadlineTick = 0;
  /** Slot list links (intrusive); `slot` is -1 when not armed. */
  slot = -1;
  prev: WheelTimer | null = null;
  next: WheelTimer | null = null;

  constructor(
    readonly name: string,
    readonly callback: (now: Ns) => void,
  ) {}

  get armed(): boolean {
    return this.slot >= 0;
  }
}

const pow = (l: number): number => SLOTS ** l;
/** `slot` value of a timer detached for firing in the current wake. */
const FIRING = -2;

export class TimingWheel {
  /** Last tick whose slot has been processed; ticks in (currentTick, wake) hold no work. */
  private currentTick: number;
  private readonly heads: (WheelTimer | null)[] = new Array<WheelTimer | null>(SLOTS * LEVELS).fill(null);
  private readonly counts: number[] = new Array<number>(LEVELS).fill(0);
  private readonly event: SimEvent;
  private armedCount = 0;
  private readonly firing: WheelTimer[] = [];
  /** Timers fired / cancelled while armed, for statistics. */
  firedTotal = 0;
  cancelledTotal = 0;

  constructor(
    private readonly sched: Scheduler,
    readonly tickNs = 1,
    name = 'timing-wheel',
  ) {
    assert(Number.isInteger(tickNs) && tickNs >= 1, 'tickNs must be a positive integer');
    this.currentTick = Math.floor(sched.now / tickNs);
    this.event = sched.createEvent(name, Priority.timer, (now) => this.onWake(now));
  }

  get size(): number {
    return this.armedCount;
  }

  /** Arm (or re-arm) `timer` to fire at the first tick boundary at or after `deadlineNs`. */
  arm(timer: WheelTimer, deadlineNs: number): void {
    if (timer.armed) {
      this.unlink(timer);
      this.armedCount--;
    }
    this.catchUp();
    let tick = Math.ceil(deadlineNs / this.tickNs);
    if (tick <= this.currentTick) tick = this.currentTick + 1;
    if (tick - this.currentTick > WHEEL_MAX_TICKS) tick = this.currentTick + WHEEL_MAX_TICKS;
    timer.deadlineTick = tick;
    const workTick = this.insert(timer);
    this.armedCount++;
    // Wake when the timer's slot needs processing: its deadline at level 0, else the start of
    // its block, where it cascades down.
    const at = workTick * this.tickNs;
    if (!this.event.scheduled || at < this.event.time) this.sched.reschedule(this.event, Math.max(at, this.sched.now));
  }

  cancel(timer: WheelTimer): void {
    if (timer.slot === FIRING) {
      timer.slot = -1;
      this.cancelledTotal++;
      return;
    }
    if (!timer.armed) return;
    this.unlink(timer);
    this.armedCount--;
    this.cancelledTotal++;
    // The wake event stays; waking to an empty wheel costs one recomputation.
  }

  /** Deadline (ns) of the wheel's next wake, or undefined when no timer is armed. */
  nextWakeNs(): number | undefined {
    return this.event.scheduled ? this.event.time : undefined;
  }

  /** Move currentTick up to now when nothing lies in between (always true between wakes). */
  private catchUp(): void {
    const nowTick = Math.floor(this.sched.now / this.tickNs);
    const wakeTick = this.event.scheduled ? Math.floor(this.event.time / this.tickNs) : Infinity;
    // Slots strictly before the wake hold nothing, so skipping their ticks is safe; the wake
    // tick itself (and its cascades) must still be processed by onWake.
    const target = Math.min(nowTick, wakeTick - 1);
    if (target > this.currentTick) this.currentTick = target;
  }

  private levelOf(deltaTicks: number): number {
    let level = 0;
    while (level < LEVELS - 1 && deltaTicks >= pow(level + 1)) level++;
    return level;
  }

  /** Link `timer` into its slot; returns the tick at which that slot must be processed. */
  private insert(timer: WheelTimer): number {
    const delta = timer.deadlineTick - this.currentTick;
    const level = delta <= 0 ? 0 : this.levelOf(delta);
    const block = Math.floor(timer.deadlineTick / pow(level));
    const slotInLevel = block % SLOTS;
    const slot = level * SLOTS + slotInLevel;
    const head = this.heads[slot] ?? null;
    timer.slot = slot;
    timer.prev = null;
    timer.next = head;
    if (head !== null) head.prev = timer;
    this.heads[slot] = timer;
    this.counts[level]!++;
    return block * pow(level);
  }

  private unlink(timer: WheelTimer): void {
    const slot = timer.slot;
    assert(slot >= 0, 'unlink of an idle timer');
    if (timer.prev !== null) timer.prev.next = timer.next;
    else this.heads[slot] = timer.next;
    if (timer.next !== null) timer.next.prev = timer.prev;
    timer.prev = null;
    timer.next = null;
    timer.slot = -1;
    this.counts[Math.floor(slot / SLOTS)]!--;
  }

  /** The earliest tick after currentTick at which some slot needs processing. */
  private nextWorkTick(): number {
    let best = Infinity;
    for (let level = 0; level < LEVELS; level++) {
      if (this.counts[level] === 0) continue;
      const unit = pow(level);
      const base = Math.floor(this.currentTick / unit);
      for (let k = 1; k <= SLOTS; k++) {
        const block = base + k;
        if (this.heads[level * SLOTS + (block % SLOTS)] !== null) {
          best = Math.min(best, block * unit);
          break;
        }
      }
    }
    return best;
  }

  private onWake(now: Ns): void {
    const tick = Math.floor(now / this.tickNs);
    assert(tick > this.currentTick, 'timing wheel woke without advancing');
    this.currentTick = tick;
    // Cascade from the highest level whose boundary this tick is, downwards.
    for (let level = LEVELS - 1; level >= 1; level--) {
      const unit = pow(level);
      if (tick % unit !== 0 || this.counts[level] === 0) continue;
      const slot = level * SLOTS + (Math.floor(tick / unit) % SLOTS);
      let t = this.heads[slot] ?? null;
      while (t !== null) {
        const next: WheelTimer | null = t.next;
        this.unlink(t);
        this.insert(t);
        t = next;
      }
    }
    // Fire this tick's timers. They are detached first (slot = FIRING) so that callbacks may
    // arm or cancel any timer, including others due at this tick, without corrupting a walk.
    const slot0 = tick % SLOTS;
    const due = this.firing;
    due.length = 0;
    let t = this.heads[slot0] ?? null;
    while (t !== null) {
      const next: WheelTimer | null = t.next;
      if (t.deadlineTick <= tick) {
        this.unlink(t);
        this.armedCount--;
        t.slot = FIRING;
        due.push(t);
      }
      t = next;
    }
    for (let i = 0; i < due.length; i++) {
      const timer = due[i]!;
      if (timer.slot !== FIRING) continue; // cancelled or re-armed by an earlier callback
      timer.slot = -1;
      this.firedTotal++;
      timer.callback(now);
    }
    due.length = 0;
    if (this.armedCount > 0) {
      const wake = this.nextWorkTick();
      assert(Number.isFinite(wake), 'armed timers but no slot holds work');
      if (!this.event.scheduled || wake * this.tickNs < this.event.time) this.sched.reschedule(this.event, wake * this.tickNs);
    }
  }
}
