/**
 * The host CPU (R3000 at 25 MHz) as one resource that kernel code, interrupt handlers and guest
 * threads consume.
 *
 * Execution is in *bursts*. The kernel starts a burst with `execute(label, body)`: the body runs
 * synchronously in JavaScript and charges cycles (`charge`, or timed bus accesses, which charge
 * through the bus); the burst then occupies the CPU from its start for that many cycles, and the
 * CPU's local time inside the body is start + cycles charged so far (so a device sees a register
 * write at the cycle it happens). When the burst ends, `onDone` runs and the kernel's dispatcher
 * is asked for the next burst.
 *
 * Interrupts preempt: a hardware line or a posted software interrupt (kernel timer callout) is
 * sampled at its own time; if a burst is in progress its handler runs then, and its cycles push
 * the rest of the burst later. Bursts marked not interruptible (spl-raised kernel code) take
 * their interrupts when they end. Between bursts a pending interrupt comes before dispatch.
 * Because a body has already run when a nested handler runs, the handler sees the burst's
 * effects early: that is the temporal decoupling of loosely-timed models, and exact for anything
 * that observes only through traps and device accesses at their own times.
 */
import { assert } from '../sim/assert.ts';
import { Priority, type Scheduler, type SimEvent } from '../sim/scheduler.ts';
import { R3000_25MHZ, type ClockDomain, type Ns } from '../sim/time.ts';
import type { CycleSink } from '../bus/index.ts';

export interface ExecuteOptions {
  /** False for kernel code running at raised spl: interrupts wait for the burst's end. */
  readonly interruptible?: boolean;
  readonly onDone?: () => void;
}

/** What a body is: a burst the kernel started, or an interrupt handler (software or hardware). */
export type BodyKind = 'burst' | 'soft' | 'hard';

/**
 * A timeline's view of the CPU (studies/trace). Observes only; undefined in ordinary runs, so the
 * cost when off is one `observer !== undefined` test per charge and per body.
 *
 * Order of calls: `burstStart`, then one or more bodies (`bodyStart`, `charge`*, `bodyEnd`): the
 * first is the burst's own, any later ones are interrupt handlers that ran during it and pushed
 * its end later; then `burstEnd` at the burst's real end.
 */
export interface CpuObserver {
  burstStart(atNs: number): void;
  bodyStart(kind: BodyKind, category: string, atNs: number): void;
  charge(cycles: number, category: string): void;
  /** The body charged `cycles`; it occupies the CPU for max(1, cycles) cycles. */
  bodyEnd(cycles: number): void;
  burstEnd(atNs: number): void;
  /** The hardware interrupt input changed at the CPU's local time `atNs`; `pending` is its new level. */
  irqLine(atNs: number, pending: boolean): void;
}

/** Soft interrupts waiting at once, at most (a limit on everything). */
export const SOFT_INTERRUPTS_PENDING_MAX = 4_096;

export class Cpu implements CycleSink {
  readonly clock: ClockDomain = R3000_25MHZ;
  private readonly cycleNs: number;

  /** A burst occupies the CPU (from its start until burstEndEvent fires). */
  private busy = false;
  private interruptible = true;
  private onDone: (() => void) | undefined = undefined;
  /** A body (burst or handler) is running synchronously now. */
  private inBody = false;
  private bodyStart = 0 as Ns;
  private bodyCycles = 0;
  /** Accounting category of the body that is running. */
  private category = 'idle';

  private readonly burstEndEvent: SimEvent;
  private readonly sampleEvent: SimEvent;
  private readonly dispatchEvent: SimEvent;
  private readonly softQueue: (() => void)[] = [];

  /** Wired by the board: is the CPU's hardware interrupt input asserted and enabled? */
  hardwareIrqPending: () => boolean = () => false;
  /** Installed by the kernel: the hardware interrupt handler (reads the system CSR, etc.). */
  hardwareIrqHandler: () => void = () => {};
  /** Installed by the kernel: choose and start the next burst, or leave the CPU idle. */
  dispatcher: () => void = () => {};

  /** Cycles charged by category (trap, copy, pio, user, demux, ...), for where-time-goes. */
  readonly cyclesByCategory = new Map<string, number>();
  busyNsTotal = 0;
  /** Cycles charged outside any burst (boot, tests poking the bus): accounted, never timed. */
  untimedCycles = 0;
  burstsTotal = 0;
  interruptsTotal = 0;
  /** Timeline observer (studies/trace); undefined in ordinary runs. */
  observer: CpuObserver | undefined = undefined;

  constructor(
    private readonly sched: Scheduler,
    readonly name: string,
  ) {
    this.cycleNs = this.clock.periodNs;
    this.burstEndEvent = sched.createEvent(`${name}.burst-end`, Priority.cpu, () => this.onBurstEnd());
    this.sampleEvent = sched.createEvent(`${name}.irq-sample`, Priority.interrupt, () => this.onSample());
    this.dispatchEvent = sched.createEvent(`${name}.dispatch`, Priority.cpu, () => this.onDispatch());
  }

  get isBusy(): boolean {
    return this.busy;
  }
  get isRunningBody(): boolean {
    return this.inBody;
  }

  /** The CPU's local time: the running body's start plus its cycles so far (else now). */
  localNow(): Ns {
    return this.inBody ? ((this.bodyStart + this.bodyCycles * this.cycleNs) as Ns) : this.sched.now;
  }

  /**
   * Charge cycles to the running body, by category. Outside a body (boot-time set-up, a test
   * poking the bus directly) the charge goes to `untimedCycles`: time is the caller's to step.
   */
  charge(cycles: number, category: string = this.category): void {
    assert(cycles >= 0 && Number.isFinite(cycles), `bad cycle charge ${cycles}`);
    if (!this.inBody) {
      // Boot-time set-up or a test driving the bus directly: no burst, so no simulated time.
      this.untimedCycles += cycles;
      return;
    }
    this.bodyCycles += cycles;
    this.cyclesByCategory.set(category, (this.cyclesByCategory.get(category) ?? 0) + cycles);
    if (this.observer !== undefined) this.observer.charge(cycles, category);
  }

  /** Charge a duration given in ns (rounded up to whole cycles). */
  chargeNs(durationNs: number, category: string = this.category): void {
    this.charge(Math.ceil(durationNs / this.cycleNs), category);
  }

  /** Start a burst now. The CPU must be free (call from the dispatcher or when idle). */
  execute(category: string, body: () => void, options: ExecuteOptions = {}): void {
    assert(!this.busy && !this.inBody, `${this.name}: execute while busy`);
    this.busy = true;
    this.interruptible = options.interruptible ?? true;
    this.onDone = options.onDone;
    if (this.observer !== undefined) this.observer.burstStart(this.sched.now);
    const cycles = this.runBody(category, body, 'burst');
    this.burstsTotal++;
    this.sched.schedule(this.burstEndEvent, this.sched.now + Math.max(1, cycles) * this.cycleNs);
    this.busyNsTotal += Math.max(1, cycles) * this.cycleNs;
  }

  /** Ask for the dispatcher to run at the current time if the CPU is free (e.g. a thread woke). */
  kick(): void {
    if (!this.busy && !this.dispatchEvent.scheduled) this.sched.schedule(this.dispatchEvent, this.sched.now);
  }

  /** A hardware interrupt input changed: sample it at the local time of the change. */
  irqChanged(): void {
    if (this.observer !== undefined) this.observer.irqLine(this.localNow(), this.hardwareIrqPending());
    this.requestSample(this.localNow());
  }

  /** Post kernel code to run at interrupt level now (a timer callout, a software interrupt). */
  postSoftInterrupt(handler: () => void): void {
    assert(this.softQueue.length < SOFT_INTERRUPTS_PENDING_MAX, `${this.name}: soft interrupt queue overflow`);
    this.softQueue.push(handler);
    this.requestSample(this.localNow());
  }

  private requestSample(at: Ns): void {
    if (this.sampleEvent.scheduled && this.sampleEvent.time <= at) return;
    this.sched.reschedule(this.sampleEvent, Math.max(at, this.sched.now));
  }

  private runBody(category: string, body: () => void, kind: BodyKind): number {
    assert(!this.inBody, `${this.name}: nested body`);
    const savedCategory = this.category;
    this.inBody = true;
    this.bodyStart = this.sched.now;
    this.bodyCycles = 0;
    this.category = category;
    if (this.observer !== undefined) this.observer.bodyStart(kind, category, this.bodyStart);
    try {
      body();
    } finally {
      this.inBody = false;
      this.category = savedCategory;
    }
    if (this.observer !== undefined) this.observer.bodyEnd(this.bodyCycles);
    return this.bodyCycles;
  }

  private interruptWaiting(): boolean {
    return this.softQueue.length > 0 || this.hardwareIrqPending();
  }

  /** Run one pending interrupt handler as a body; returns its cycles (0 when none waited). */
  private runOneInterrupt(): number {
    const soft = this.softQueue.shift();
    if (soft !== undefined) {
      this.interruptsTotal++;
      return Math.max(1, this.runBody('interrupt', soft, 'soft'));
    }
    if (this.hardwareIrqPending()) {
      this.interruptsTotal++;
      return Math.max(1, this.runBody('interrupt', this.hardwareIrqHandler, 'hard'));
    }
    return 0;
  }

  private onSample(): void {
    if (!this.interruptWaiting()) return;
    if (!this.busy) {
      // Idle CPU: the handler is a burst of its own; what follows is decided at its end.
      this.busy = true;
      this.interruptible = false;
      this.onDone = undefined;
      if (this.observer !== undefined) this.observer.burstStart(this.sched.now);
      const cycles = this.runOneInterrupt();
      this.sched.schedule(this.burstEndEvent, this.sched.now + cycles * this.cycleNs);
      this.busyNsTotal += cycles * this.cycleNs;
      return;
    }
    if (!this.interruptible) return; // taken at the burst's end
    const cycles = this.runOneInterrupt();
    const pushNs = cycles * this.cycleNs;
    this.busyNsTotal += pushNs;
    this.sched.reschedule(this.burstEndEvent, this.burstEndEvent.time + pushNs);
    if (this.interruptWaiting()) this.requestSample((this.sched.now + pushNs) as Ns);
  }

  private onBurstEnd(): void {
    assert(this.busy, 'burst end while idle');
    if (this.observer !== undefined) this.observer.burstEnd(this.sched.now);
    this.busy = false;
    const done = this.onDone;
    this.onDone = undefined;
    if (done !== undefined) done();
    if (this.busy) return; // onDone started another burst
    if (this.interruptWaiting()) {
      this.onSample();
      return;
    }
    this.onDispatch();
  }

  private onDispatch(): void {
    if (this.busy) return;
    if (this.dispatchEvent.scheduled) this.sched.cancel(this.dispatchEvent);
    this.dispatcher();
  }
}
