/**
 * The host CPU (R3000 at 25 MHz) as one resource that kernel code, interrupt handlers and guest
 * threads consume.
 *
 * Execution is in *bursts*. The kernel starts a burst with `execute(label, body)`: the body runs
 * synchronously in JavaScript and charges cycles (`charge`, or timed bus accesses, which charge
 * through the bus); the CPU's local time inside the body is the segment's start + cycles charged
 * so far. When the burst ends, `onDone` runs and the kernel's dispatcher is asked for the next.
 *
 * Causality (DESIGN.md "Time"): a body runs ahead of the global clock, so nothing it does may
 * reach another agent before its local time.
 * - Writes a device can see are stamped with the local time and applied at that time by the bus
 *   (system-bus.ts, a time-ordered queue).
 * - Reads must answer the device's state at the local time. A body that reads a device is a
 *   generator (`function*`): it yields at a *sync point* before the read, and the CPU suspends it
 *   until the global clock reaches its local time (a `resume` event), so the read happens then,
 *   after every device event and every queued write before it. A body that yields with its local
 *   clock not ahead continues at once (no event). Plain-function bodies are for code that reads
 *   no device; the bus counts a read ahead of the clock from one as a causality violation.
 *
 * Interrupts preempt: a hardware line or a posted software interrupt (kernel timer callout) is
 * sampled at its own time; if an interruptible burst is in progress its handler runs then, and
 * its duration H pushes the rest of the burst by H: the burst's end (or, if it is suspended at a
 * sync point, its resumption) and the burst's writes still queued after the interrupt's time
 * (`writeHold`). Handlers do not nest: while one runs (it may itself be suspended) further
 * interrupts wait for its end. Bursts marked not interruptible (spl-raised kernel code) take their
 * interrupts when they end. Between bursts a pending interrupt comes before dispatch.
 * A handler that runs while the burst's JavaScript is already past the interrupt's time sees the
 * burst's kernel-state effects early (temporal decoupling); it never sees the burst's device
 * effects early, because those are timed.
 *
 * Masked sections (`splRaise`/`splLower`, a driver's splimp…splx): an interrupt due while the
 * burst's own body is inside one is taken at the section's end, at that CPU-local time, as on
 * the real machine. Because the body's code runs ahead of the clock, an interrupt due *before* a
 * section the body has already executed (same segment) would see the section's kernel state
 * without its timed device writes; it is taken at the end of the last such section instead
 * (docs/kernel.md "Masked sections": the departure and its bound).
 */
import { assert } from '../sim/assert.ts';
import { Priority, type Scheduler, type SimEvent } from '../sim/scheduler.ts';
import { R3000_25MHZ, type ClockDomain, type Ns } from '../sim/time.ts';
import type { CycleSink } from '../bus/index.ts';

/**
 * A body: plain kernel code (returns nothing), or a generator that yields at each sync point
 * (before a timed device read) and is resumed when the global clock has caught up with it.
 */
export type Body = () => unknown;

/** What a sync point yields; any value works, this one says so in a stack trace. */
export const SYNC = 'sync' as const;

/** Holds back the writes a burst queued after an interrupt's time while its handler runs. */
export interface WriteHold {
  /** Take out of the queue every write stamped after `atNs`; returns a token for `release`. */
  hold(atNs: number): unknown;
  /** Put the held writes back, each `pushNs` later. */
  release(token: unknown, pushNs: number): void;
}

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
  /** A body suspended at a sync point continues (its own, or a handler's) at `atNs`. */
  bodyResume(atNs: number): void;
  charge(cycles: number, category: string): void;
  /**
   * The body's segment charged `cycles` (a body that charged nothing occupies one cycle);
   * `suspended`: it stopped at a sync point and continues with `bodyResume`.
   */
  bodyEnd(cycles: number, suspended: boolean): void;
  burstEnd(atNs: number): void;
  /** The hardware interrupt input changed at the CPU's local time `atNs`; `pending` is its new level. */
  irqLine(atNs: number, pending: boolean): void;
}

/** Soft interrupts waiting at once, at most (a limit on everything). */
export const SOFT_INTERRUPTS_PENDING_MAX = 4_096;

/** One body on the CPU: a burst's own, or an interrupt handler. */
interface Frame {
  readonly kind: BodyKind;
  readonly category: string;
  /** The generator being driven (generator bodies only). */
  it: Iterator<unknown, unknown, undefined> | undefined;
  /** Local time at which the body stands: where a suspended body continues, or its end. */
  atNs: number;
  /** Cycles charged over all its segments. */
  cycles: number;
  /** True once its code has returned. */
  done: boolean;
}

function isIterator(v: unknown): v is Iterator<unknown, unknown, undefined> {
  return typeof v === 'object' && v !== null && typeof (v as { next?: unknown }).next === 'function';
}

export class Cpu implements CycleSink {
  readonly clock: ClockDomain = R3000_25MHZ;
  private readonly cycleNs: number;

  /** A burst occupies the CPU (from its start until burstEndEvent fires). */
  private busy = false;
  private interruptible = true;
  private onDone: (() => void) | undefined = undefined;
  /** A body's code is running synchronously now. */
  private inBody = false;
  private segStart = 0 as Ns;
  private segCycles = 0;
  /** Accounting category of the body that is running. */
  private category = 'idle';
  /** The burst's own body (or, on an idle CPU, the interrupt handler that is the burst). */
  private base: Frame | undefined = undefined;
  /** An interrupt handler running inside the burst, and the time it took the CPU. */
  private handler: Frame | undefined = undefined;
  private handlerAtNs = 0;
  private heldWrites: unknown = undefined;
  /** The frame whose code is running now (undefined between segments). */
  private running: Frame | undefined = undefined;
  /** Nesting depth of masked sections (splRaise without its splLower yet). */
  private splDepth = 0;
  /**
   * End (local time) of the last masked section the burst's own body has executed; +Infinity
   * while one is open. Interrupts sampled before it wait for it (`onSample`).
   */
  private maskedUntilNs = 0;
  /** An interrupt sampled while a section was open across a sync point: sample at its end. */
  private sampleAtUnmask = false;

  private readonly burstEndEvent: SimEvent;
  private readonly sampleEvent: SimEvent;
  private readonly dispatchEvent: SimEvent;
  private readonly resumeEvent: SimEvent;
  private readonly softQueue: (() => unknown)[] = [];

  /** Wired by the board: is the CPU's hardware interrupt input asserted and enabled? */
  hardwareIrqPending: () => boolean = () => false;
  /** Installed by the kernel: the hardware interrupt handler (reads the system CSR, etc.). */
  hardwareIrqHandler: Body = () => {};
  /** Installed by the kernel: choose and start the next burst, or leave the CPU idle. */
  dispatcher: () => void = () => {};
  /** Wired by the board: the bus's queue of timed writes, pushed back by interrupts. */
  writeHold: WriteHold | undefined = undefined;

  /** Cycles charged by category (trap, copy, pio, user, demux, ...), for where-time-goes. */
  readonly cyclesByCategory = new Map<string, number>();
  busyNsTotal = 0;
  /** Cycles charged outside any burst (boot, tests poking the bus): accounted, never timed. */
  untimedCycles = 0;
  burstsTotal = 0;
  interruptsTotal = 0;
  /** Interrupt samples that found a masked section and were deferred to its end. */
  interruptsDeferredTotal = 0;
  /** Times a body was suspended at a sync point to let the clock catch up. */
  syncSuspendsTotal = 0;
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
    this.resumeEvent = sched.createEvent(`${name}.resume`, Priority.cpu, () => this.onResume());
  }

  get isBusy(): boolean {
    return this.busy;
  }
  get isRunningBody(): boolean {
    return this.inBody;
  }

  /** The CPU's local time: the running segment's start plus its cycles so far (else now). */
  localNow(): Ns {
    return this.inBody ? ((this.segStart + this.segCycles * this.cycleNs) as Ns) : this.sched.now;
  }

  /** True when the running body's local clock is ahead of the global one (a sync would suspend). */
  get isAhead(): boolean {
    return this.inBody && this.segCycles > 0;
  }

  /**
   * Charge cycles to the running body, by category. Outside a body (boot-time set-up, a test
   * poking the bus directly) the charge goes to `untimedCycles`: time is the caller's to step.
   */
  charge(cycles: number, category: string = this.category): void {
    if (!(cycles >= 0 && Number.isFinite(cycles))) assert(false, `bad cycle charge ${cycles}`);
    if (!this.inBody) {
      // Boot-time set-up or a test driving the bus directly: no burst, so no simulated time.
      this.untimedCycles += cycles;
      return;
    }
    this.segCycles += cycles;
    this.cyclesByCategory.set(category, (this.cyclesByCategory.get(category) ?? 0) + cycles);
    if (this.observer !== undefined) this.observer.charge(cycles, category);
  }

  /** Charge a duration given in ns (rounded up to whole cycles). */
  chargeNs(durationNs: number, category: string = this.category): void {
    this.charge(Math.ceil(durationNs / this.cycleNs), category);
  }

  /** Start a burst now. The CPU must be free (call from the dispatcher or when idle). */
  execute(category: string, body: Body, options: ExecuteOptions = {}): void {
    if (this.busy || this.inBody) assert(false, `${this.name}: execute while busy`);
    this.busy = true;
    this.interruptible = options.interruptible ?? true;
    this.onDone = options.onDone;
    if (this.observer !== undefined) this.observer.burstStart(this.sched.now);
    this.burstsTotal++;
    const f: Frame = { kind: 'burst', category, it: undefined, atNs: this.sched.now, cycles: 0, done: false };
    this.base = f;
    this.runSegment(f, body);
    this.afterBaseSegment(f);
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
  postSoftInterrupt(handler: Body): void {
    if (this.softQueue.length >= SOFT_INTERRUPTS_PENDING_MAX) assert(false, `${this.name}: soft interrupt queue overflow`);
    this.softQueue.push(handler);
    this.requestSample(this.localNow());
  }

  /**
   * Enter a masked section (splimp): interrupts due from here (and, for code already run ahead of
   * the clock, from before here in this segment) wait for the matching splLower. Nests.
   * Outside a body (boot-time set-up, tests poking the driver) there is nothing to mask.
   */
  splRaise(): void {
    if (!this.inBody) return;
    this.splDepth++;
    if (this.splDepth === 1 && this.inOwnBody()) this.maskedUntilNs = Infinity;
  }

  /** Leave a masked section (splx): interrupts that waited are taken at this CPU-local time. */
  splLower(): void {
    if (!this.inBody) return;
    if (this.splDepth <= 0) assert(false, `${this.name}: splLower without splRaise`);
    this.splDepth--;
    if (this.splDepth > 0 || !this.inOwnBody()) return;
    const at = this.localNow();
    this.maskedUntilNs = at;
    if (this.sampleAtUnmask) {
      this.sampleAtUnmask = false;
      this.requestSample(at);
    }
  }

  /** The running code is the burst's own body of an interruptible burst (the only code masking changes). */
  private inOwnBody(): boolean {
    return this.running !== undefined && this.running === this.base && this.handler === undefined && this.interruptible;
  }

  private requestSample(at: Ns): void {
    if (this.sampleEvent.scheduled && this.sampleEvent.time <= at) return;
    this.sched.reschedule(this.sampleEvent, Math.max(at, this.sched.now));
  }

  /**
   * Run one segment of `f` now: its body from the start (`first`), or its generator from the
   * sync point where it stopped. The segment ends when the code returns or yields while ahead.
   */
  private runSegment(f: Frame, first: Body | undefined): void {
    if (this.inBody) assert(false, `${this.name}: nested body`);
    const savedCategory = this.category;
    this.inBody = true;
    this.running = f;
    this.segStart = this.sched.now;
    this.segCycles = 0;
    this.category = f.category;
    const obs = this.observer;
    if (obs !== undefined) {
      if (first !== undefined) obs.bodyStart(f.kind, f.category, this.segStart);
      else obs.bodyResume(this.segStart);
    }
    try {
      if (first !== undefined) {
        const r = first();
        if (isIterator(r)) f.it = r;
        else f.done = true;
      }
      const it = f.it;
      if (!f.done && it !== undefined) {
        for (;;) {
          if (it.next().done === true) {
            f.done = true;
            break;
          }
          if (this.segCycles > 0) break; // a sync point ahead of the clock: suspend
        }
      }
    } finally {
      this.inBody = false;
      this.running = undefined;
      this.category = savedCategory;
    }
    f.cycles += this.segCycles;
    // A body that charged nothing at all still occupies one cycle.
    const cycles = f.done && f.cycles === 0 ? 1 : this.segCycles;
    f.atNs = this.segStart + cycles * this.cycleNs;
    this.busyNsTotal += cycles * this.cycleNs;
    if (obs !== undefined) obs.bodyEnd(this.segCycles, !f.done);
    if (f.done) f.it = undefined;
    else this.syncSuspendsTotal++;
  }

  /** After a segment of the burst's own body: end the burst at its end, or resume it later. */
  private afterBaseSegment(f: Frame): void {
    if (f.done) this.sched.schedule(this.burstEndEvent, f.atNs);
    else this.sched.schedule(this.resumeEvent, f.atNs);
  }

  private onResume(): void {
    const h = this.handler;
    if (h !== undefined) {
      this.runSegment(h, undefined);
      if (h.done) this.finishHandler(h);
      else this.sched.schedule(this.resumeEvent, h.atNs);
      return;
    }
    const f = this.base;
    if (f === undefined || f.done) assert(false, `${this.name}: resume with no suspended body`);
    this.runSegment(f!, undefined);
    this.afterBaseSegment(f!);
  }

  private interruptWaiting(): boolean {
    return this.softQueue.length > 0 || this.hardwareIrqPending();
  }

  /** The next interrupt's handler (soft before hard), or undefined when none waits. */
  private takeInterrupt(): { readonly kind: BodyKind; readonly body: Body } | undefined {
    const soft = this.softQueue.shift();
    if (soft !== undefined) return { kind: 'soft', body: soft };
    if (this.hardwareIrqPending()) return { kind: 'hard', body: this.hardwareIrqHandler };
    return undefined;
  }

  private onSample(): void {
    if (!this.interruptWaiting()) return;
    if (!this.busy) {
      // Idle CPU: the handler is a burst of its own; what follows is decided at its end.
      const irq = this.takeInterrupt()!;
      this.busy = true;
      this.interruptible = false;
      this.onDone = undefined;
      if (this.observer !== undefined) this.observer.burstStart(this.sched.now);
      this.interruptsTotal++;
      const f: Frame = { kind: irq.kind, category: 'interrupt', it: undefined, atNs: this.sched.now, cycles: 0, done: false };
      this.base = f;
      this.runSegment(f, irq.body);
      this.afterBaseSegment(f);
      return;
    }
    if (!this.interruptible || this.handler !== undefined) return; // taken at the burst's (handler's) end
    if (this.sched.now < this.maskedUntilNs) {
      // Masked: taken at the section's end (requested by splLower if the section is still open).
      this.interruptsDeferredTotal++;
      if (this.maskedUntilNs === Infinity) this.sampleAtUnmask = true;
      else this.requestSample(this.maskedUntilNs as Ns);
      return;
    }
    const irq = this.takeInterrupt()!;
    this.interruptsTotal++;
    // The burst stops here: hold back its writes stamped later, and its resumption if suspended.
    this.handlerAtNs = this.sched.now;
    this.heldWrites = this.writeHold?.hold(this.sched.now);
    // Its end (or resumption) waits for the handler's: f.atNs holds where it stands.
    if (this.resumeEvent.scheduled) this.sched.cancel(this.resumeEvent);
    if (this.burstEndEvent.scheduled) this.sched.cancel(this.burstEndEvent);
    const h: Frame = { kind: irq.kind, category: 'interrupt', it: undefined, atNs: this.sched.now, cycles: 0, done: false };
    this.handler = h;
    this.runSegment(h, irq.body);
    if (h.done) this.finishHandler(h);
    else this.sched.schedule(this.resumeEvent, h.atNs);
  }

  /** A handler inside a burst has ended at h.atNs: push the rest of the burst by its duration. */
  private finishHandler(h: Frame): void {
    const pushNs = h.atNs - this.handlerAtNs;
    this.handler = undefined;
    if (this.writeHold !== undefined) this.writeHold.release(this.heldWrites, pushNs);
    this.heldWrites = undefined;
    const f = this.base!;
    f.atNs += pushNs;
    this.afterBaseSegment(f);
    if (this.interruptWaiting()) this.requestSample(h.atNs as Ns);
  }

  private onBurstEnd(): void {
    if (!this.busy) assert(false, 'burst end while idle');
    if (this.splDepth !== 0) assert(false, `${this.name}: burst ended inside a masked section`);
    this.maskedUntilNs = 0;
    this.sampleAtUnmask = false;
    if (this.observer !== undefined) this.observer.burstEnd(this.sched.now);
    this.busy = false;
    this.base = undefined;
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
