/**
 * A 10 Mb/s Ethernet segment (IEEE 802.3 half duplex, 10BASE5/10BASE2 style) shared by any number
 * of stations, with CSMA/CD (../shared/hw/lance-pmad-aa.md §6.1):
 * - 100 ns per bit; every transmission is preamble + SFD (64 bits) then the frame (DA..FCS).
 * - Carrier sense with deferral, 96-bit inter-frame gap after the carrier drops (and after the
 *   station's own transmission), 1-persistent.
 * - One propagation delay `propagationNs` between any two stations (all stations equidistant:
 *   a modelling simplification). Two stations collide when one starts before the other's signal
 *   has reached it. Each detects the collision when the other's signal arrives, sends a 32-bit
 *   jam and backs off r slot times (512 bits), r uniform in [0, 2^min(n,10)) from the station's
 *   own PRNG stream (`ether.<segment>.<station>.backoff`), up to `attemptsMax` attempts.
 * - A collision detected more than 512 bit times after the end of the preamble is late: no retry.
 * - A MAC may abort its request (LANCE STOP): a signal on the medium is cut off now and the other
 *   stations receive only the bytes sent so far (no valid FCS: a runt or an FCS error); a request
 *   still deferring or backing off is withdrawn without ever reaching the medium.
 * - Collided transmissions are never delivered (their fragments are runts or, after a late
 *   collision, would fail the FCS; receivers drop both).
 * - Faults per direction (loss, bit corruption caught by the FCS, duplication, delay, reordering)
 *   from `FaultInjector`s on streams `ether.<from>-><to>`; they act on delivery only, not on the
 *   medium's timing.
 * - Taps (`taps.on('frame', ...)`) see every complete frame as it leaves a station ('tx', at its
 *   end) and as it arrives at one ('rx'); they observe only, so pcap capture changes neither
 *   simulated state nor the trace fingerprint.
 *
 * Frames cross the segment with their FCS (the MAC appends and checks it); `attachPcap` strips it.
 */
import { assert, bug } from '../sim/assert.ts';
import { createEmitter } from '../sim/emitter.ts';
import type { Rng } from '../sim/rng.ts';
import { Priority, type Scheduler, type SimEvent } from '../sim/scheduler.ts';
import { bitTimeNs, type Ns } from '../sim/time.ts';
import type { Trace } from '../sim/trace.ts';
import { FaultInjector, flipBit, NO_FAULTS, type FaultConfig } from './faults.ts';
import type { CaptureSink } from './pcap.ts';

export const ETHER_10MBPS = 10;
export const BIT_NS = bitTimeNs(ETHER_10MBPS);
export const PREAMBLE_SFD_BITS = 64;
export const IFG_BITS = 96;
/** The last part of the gap, during which a deferring station no longer listens (802.3). */
export const IFG_COMMIT_BITS = 32;
export const SLOT_BITS = 512;
export const JAM_BITS = 32;
export const BACKOFF_LIMIT = 10;
export const ATTEMPTS_MAX = 16;
/** Frames the segment carries (DA..FCS). Longer ones are carried (babbling) but not beyond this. */
export const FRAME_BYTES_CARRIED_MAX = 4096 + 4;
/** Deliveries waiting at one station at once, at most (a limit on everything). */
export const DELIVERIES_PENDING_MAX = 1024;
/** Default one-way delay between stations: ≈ 100 m of coax at 0.77 c plus transceivers. */
export const DEFAULT_PROPAGATION_NS = 500;

/** The station side (a MAC such as the LANCE): what the segment calls. */
export interface EthernetMac {
  /** A whole frame (DA..FCS) has arrived at this station; called at the frame's last bit here. */
  frameArrived(frame: Uint8Array): void;
  /** The transmit request finished (sent, or given up). */
  transmitDone(outcome: TransmitOutcome): void;
}

export interface TransmitRequest {
  /** DA..FCS as it goes on the wire (the MAC has appended the FCS). */
  readonly frame: Uint8Array;
  /** 16, or 1 when the MAC disables retries (LANCE MODE.DRTY). */
  readonly attemptsMax: number;
  /** External loopback: the frame is also delivered back to the sender. */
  readonly loopback?: boolean;
}

export interface TransmitOutcome {
  readonly ok: boolean;
  /** The station deferred to another's carrier before its first attempt. */
  readonly deferred: boolean;
  /** Collisions suffered (for a frame that went out: the retries it needed). */
  readonly collisions: number;
  readonly retryError: boolean;
  readonly lateCollision: boolean;
  readonly lostCarrier: boolean;
  /** The transceiver's SQE test ("heartbeat") followed the transmission. */
  readonly heartbeat: boolean;
  /** Bit times from the start of the last attempt to its collision (LANCE TDR), else 0. */
  readonly tdrBitTimes: number;
  readonly startNs: number;
  readonly endNs: number;
}

export interface PortOptions {
  /** The transceiver answers each transmission with an SQE test pulse (default true). */
  readonly sqeTest?: boolean;
  /** 'no-carrier': the transceiver is unplugged; transmissions end with lost carrier. */
  readonly transceiver?: 'ok' | 'no-carrier';
}

export interface SegmentContext {
  readonly sched: Scheduler;
  readonly trace: Trace;
  readonly rng: Rng;
}

export interface SegmentOptions {
  readonly name: string;
  readonly propagationNs?: number;
  /** Faults for every direction (override one direction with `setFaults`). */
  readonly faults?: FaultConfig;
}

export type FrameTapEvents = {
  /** A whole frame (with FCS) left (`tx`) or reached (`rx`) station `port` at `timeNs`. */
  frame: (port: string, direction: 'tx' | 'rx', timeNs: Ns, frame: Uint8Array) => void;
};

interface Transmission {
  readonly port: EthernetPort;
  readonly startNs: number;
  /** Last bit of the signal at the sender; moves earlier if the transmission collides. */
  endNs: number;
}

type PortState = 'idle' | 'defer' | 'transmit' | 'jam' | 'backoff';

interface Delivery {
  readonly atNs: number;
  readonly frame: Uint8Array;
  readonly from: string;
}

export interface PortCounters {
  framesSent: number;
  bytesSent: number;
  collisions: number;
  lateCollisions: number;
  retryErrors: number;
  deferrals: number;
  framesArrived: number;
  /** Frames another station sent that faults removed before they reached this one. */
  framesLostInbound: number;
  framesCorruptedInbound: number;
  framesDuplicatedInbound: number;
}

export class EthernetPort {
  state: PortState = 'idle';
  readonly counters: PortCounters = {
    framesSent: 0,
    bytesSent: 0,
    collisions: 0,
    lateCollisions: 0,
    retryErrors: 0,
    deferrals: 0,
    framesArrived: 0,
    framesLostInbound: 0,
    framesCorruptedInbound: 0,
    framesDuplicatedInbound: 0,
  };
  /** The request being sent, if any. */
  request: TransmitRequest | undefined = undefined;
  attempts = 0;
  collisions = 0;
  deferred = false;
  tdrBitTimes = 0;
  current: Transmission | undefined = undefined;
  /** Time at which the current attempt detects a collision (−1: none known). */
  collisionAtNs = -1;
  /** End of this station's last own signal (for its own inter-frame gap). */
  lastOwnEndNs = -Infinity;
  readonly attemptEvent: SimEvent;
  readonly endEvent: SimEvent;
  readonly deliverEvent: SimEvent;
  readonly deliveries: Delivery[] = [];
  readonly sqeTest: boolean;
  readonly noCarrier: boolean;

  constructor(
    readonly segment: EthernetSegment,
    readonly name: string,
    readonly mac: EthernetMac,
    readonly backoffRng: Rng,
    options: PortOptions,
  ) {
    const sched = segment.sched;
    const tag = `${segment.name}.${name}`;
    this.attemptEvent = sched.createEvent(`${tag}.attempt`, Priority.wire, () => segment.attempt(this));
    this.endEvent = sched.createEvent(`${tag}.end`, Priority.wire, () => segment.endOfSignal(this));
    this.deliverEvent = sched.createEvent(`${tag}.deliver`, Priority.wire, () => segment.deliverDue(this));
    this.sqeTest = options.sqeTest ?? true;
    this.noCarrier = options.transceiver === 'no-carrier';
  }

  get busy(): boolean {
    return this.request !== undefined;
  }

  /** Hand a frame to the medium. The MAC sends one frame at a time. */
  transmit(req: TransmitRequest): void {
    this.segment.startRequest(this, req);
  }

  /**
   * The MAC gives up the request at once (a LANCE written STOP): a signal on the medium is cut
   * off now, a frame still deferring or backing off never starts. The MAC hears nothing back.
   */
  abort(): void {
    this.segment.abortRequest(this);
  }
}

export class EthernetSegment {
  readonly name: string;
  readonly sched: Scheduler;
  readonly trace: Trace;
  readonly propagationNs: number;
  readonly taps = createEmitter<FrameTapEvents>();
  readonly ports: EthernetPort[] = [];
  private readonly rng: Rng;
  private readonly defaultFaults: FaultConfig;
  private readonly faults = new Map<string, FaultInjector>();
  /** Signals that may still be present somewhere on the medium. */
  private active: Transmission[] = [];
  collisionsTotal = 0;
  framesDeliveredTotal = 0;

  constructor(ctx: SegmentContext, options: SegmentOptions) {
    this.name = options.name;
    this.sched = ctx.sched;
    this.trace = ctx.trace;
    this.rng = ctx.rng;
    this.propagationNs = options.propagationNs ?? DEFAULT_PROPAGATION_NS;
    if (!(Number.isSafeInteger(this.propagationNs) && this.propagationNs >= 1)) bug(`${this.name}: propagation delay must be ≥ 1 ns`);
    this.defaultFaults = options.faults ?? NO_FAULTS;
  }

  attach(name: string, mac: EthernetMac, options: PortOptions = {}): EthernetPort {
    if (this.ports.some((p) => p.name === name)) bug(`${this.name}: station ${name} attached twice`);
    const port = new EthernetPort(this, name, mac, this.rng.fork(`ether.${this.name}.${name}.backoff`), options);
    this.ports.push(port);
    return port;
  }

  /** Replace the faults on the direction `from` → `to` (station names). */
  setFaults(from: string, to: string, config: FaultConfig): void {
    this.faults.set(`${from}->${to}`, new FaultInjector(config, this.rng.fork(`ether.${from}->${to}`)));
  }

  faultCounters(from: string, to: string): FaultInjector['counters'] {
    return this.injector(from, to).counters;
  }

  private injector(from: string, to: string): FaultInjector {
    const key = `${from}->${to}`;
    let f = this.faults.get(key);
    if (f === undefined) {
      f = new FaultInjector(this.defaultFaults, this.rng.fork(`ether.${key}`));
      this.faults.set(key, f);
    }
    return f;
  }

  /** Time on the wire of a frame of `bytes` (DA..FCS), preamble included. */
  static wireNs(bytes: number): number {
    return (PREAMBLE_SFD_BITS + bytes * 8) * BIT_NS;
  }

  // ---- transmit side --------------------------------------------------------------------

  startRequest(port: EthernetPort, req: TransmitRequest): void {
    if (!(port.request === undefined)) bug(`${port.name}: transmit while a frame is in progress`);
    if (!(req.frame.length > 0 && req.frame.length <= FRAME_BYTES_CARRIED_MAX)) bug(`${port.name}: frame of ${req.frame.length} bytes`);
    assert(req.attemptsMax >= 1 && req.attemptsMax <= ATTEMPTS_MAX, 'attemptsMax out of range');
    port.request = req;
    port.attempts = 0;
    port.collisions = 0;
    port.deferred = false;
    port.tdrBitTimes = 0;
    this.attempt(port);
  }

  /**
   * Earliest time ≥ t at which `port` may start, given the signals known to reach it; `byOther`
   * says whether another station's carrier (or the gap after it) was the reason to wait.
   *
   * The inter-frame gap is timed in two parts (IEEE 802.3 4.2.3.2.1): carrier seen during its first
   * 64 bits restarts it; during the last 32 bits the station is committed and transmits even if a
   * signal arrives (it then collides). `timingGap` selects that rule, for a station waking at the
   * end of a gap it was timing; a fresh attempt defers to any carrier present now.
   */
  private freeAt(port: EthernetPort, t: number, timingGap: boolean): { at: number; byOther: boolean } {
    const p = this.propagationNs;
    const ifg = IFG_BITS * BIT_NS;
    const committed = timingGap ? IFG_COMMIT_BITS * BIT_NS : 0;
    let at = Math.max(t, port.lastOwnEndNs + ifg);
    let byOther = false;
    for (let changed = true; changed; ) {
      changed = false;
      for (const x of this.active) {
        if (x.port === port) continue;
        const arrive = x.startNs + p;
        const leave = x.endNs + p;
        if (arrive <= at - committed && at < leave + ifg) {
          at = leave + ifg;
          byOther = true;
          changed = true;
        }
      }
    }
    return { at, byOther };
  }

  attempt(port: EthernetPort): void {
    const req = port.request;
    if (!(req !== undefined)) bug(`${port.name}: attempt with nothing to send`);
    const now = this.sched.now;
    this.prune(now);
    if (port.noCarrier) {
      // Unplugged transceiver: the frame goes nowhere and the station never sees its own carrier.
      port.state = 'transmit';
      port.attempts++;
      port.current = { port, startNs: now, endNs: now + EthernetSegment.wireNs(req.frame.length) };
      port.collisionAtNs = -1;
      this.sched.schedule(port.endEvent, port.current.endNs);
      return;
    }
    const free = this.freeAt(port, now, port.state === 'defer');
    if (free.at > now) {
      if (free.byOther && !port.deferred) {
        port.deferred = true;
        port.counters.deferrals++;
      }
      port.state = 'defer';
      this.sched.reschedule(port.attemptEvent, free.at);
      return;
    }
    // Start: preamble first. Work out who this signal collides with.
    const x: Transmission = { port, startNs: now, endNs: now + EthernetSegment.wireNs(req.frame.length) };
    port.state = 'transmit';
    port.attempts++;
    port.current = x;
    port.collisionAtNs = -1;
    this.active.push(x);
    const p = this.propagationNs;
    for (const y of this.active) {
      if (y.port === port) continue; // our own earlier (collided) attempts
      // y's signal is at our station during [y.start + p, y.end + p): later than `now` when we
      // sensed nothing, or already there when we were committed to the end of a gap.
      const arrive = y.startNs + p;
      if (arrive < x.endNs && y.endNs + p > now) this.noteCollision(port, Math.max(arrive, now));
      // Our signal reaches y's station at now + p; it collides if y is still sending then.
      const other = y.port;
      if (other.current === y && other.state === 'transmit' && now + p < y.endNs) this.noteCollision(other, now + p);
    }
    if (port.collisionAtNs < 0) this.sched.reschedule(port.endEvent, x.endNs);
    if (this.trace.on) this.trace.record(this.name, 'ether.start', port.attempts, req.frame.length, port.name);
    if (this.trace.observer !== undefined) this.trace.observer.wireStart(this.name, port.name, req.frame, now);
  }

  /**
   * Withdraw `port`'s request now. A frame being sent stops mid-bit-stream: the other stations see
   * its first bytes only, a fragment without its FCS (a runt, or a frame whose FCS check fails),
   * which a receiving MAC drops as a real one would. Nothing is delivered when the cut falls in
   * the preamble; a jam is cut short; deferring or backing off, nothing was on the medium.
   */
  abortRequest(port: EthernetPort): void {
    const req = port.request;
    if (req === undefined) return;
    const now = this.sched.now;
    const x = port.current;
    if (port.attemptEvent.scheduled) this.sched.cancel(port.attemptEvent);
    if (port.endEvent.scheduled) this.sched.cancel(port.endEvent);
    if (x !== undefined && (port.state === 'transmit' || port.state === 'jam') && now < x.endNs) {
      const sending = port.state === 'transmit' && !port.noCarrier;
      x.endNs = now;
      port.lastOwnEndNs = now;
      const bits = Math.floor((now - x.startNs) / BIT_NS) - PREAMBLE_SFD_BITS;
      const bytes = Math.min(req.frame.length - 1, Math.max(0, Math.floor(bits / 8)));
      if (this.trace.on) this.trace.record(this.name, 'ether.abort', bytes, req.frame.length, port.name);
      if (this.trace.observer !== undefined) this.trace.observer.wireEnd(this.name, port.name, req.frame, now, 'aborted');
      if (sending && bytes > 0) {
        const fragment = req.frame.slice(0, bytes);
        for (const r of this.ports) {
          if (r === port) continue;
          this.scheduleDelivery(port, r, fragment, now + this.propagationNs);
        }
      }
      this.rescheduleDeferring();
    }
    port.request = undefined;
    port.current = undefined;
    port.collisionAtNs = -1;
    port.state = 'idle';
  }

  private noteCollision(port: EthernetPort, atNs: number): void {
    if (port.collisionAtNs >= 0 && port.collisionAtNs <= atNs) return;
    port.collisionAtNs = atNs;
    this.sched.reschedule(port.endEvent, atNs);
  }

  /** The port's current signal ends, or it detects a collision. */
  endOfSignal(port: EthernetPort): void {
    const now = this.sched.now;
    const x = port.current;
    const req = port.request;
    if (!(x !== undefined && req !== undefined)) bug(`${port.name}: end of a signal that was not sent`);
    if (port.state === 'transmit' && port.collisionAtNs === now) {
      // Collision: jam, then back off (or give up).
      port.collisions++;
      port.counters.collisions++;
      this.collisionsTotal++;
      port.tdrBitTimes = Math.min(0x3ff, Math.floor((now - x.startNs) / BIT_NS));
      x.endNs = now + JAM_BITS * BIT_NS;
      port.state = 'jam';
      this.sched.reschedule(port.endEvent, x.endNs);
      if (this.trace.on) this.trace.record(this.name, 'ether.collision', port.attempts, port.tdrBitTimes, port.name);
      if (this.trace.observer !== undefined) this.trace.observer.wireEnd(this.name, port.name, req.frame, x.endNs, 'collision');
      this.rescheduleDeferring();
      return;
    }
    port.lastOwnEndNs = now;
    if (port.state === 'jam') {
      const late = port.tdrBitTimes > PREAMBLE_SFD_BITS + SLOT_BITS;
      if (late) {
        port.counters.lateCollisions++;
        this.finish(port, { ok: false, lateCollision: true, retryError: false, lostCarrier: false }, x);
        return;
      }
      if (port.attempts >= req.attemptsMax) {
        port.counters.retryErrors++;
        this.finish(port, { ok: false, lateCollision: false, retryError: true, lostCarrier: false }, x);
        return;
      }
      const k = Math.min(port.collisions, BACKOFF_LIMIT);
      const slots = port.backoffRng.int(0, 1 << k);
      port.state = 'backoff';
      this.sched.reschedule(port.attemptEvent, now + slots * SLOT_BITS * BIT_NS);
      return;
    }
    if (!(port.state === 'transmit')) bug(`${port.name}: signal ended in state ${port.state}`);
    if (port.noCarrier) {
      this.finish(port, { ok: false, lateCollision: false, retryError: false, lostCarrier: true }, x);
      return;
    }
    // Sent whole: every other station (and the sender, in external loopback) receives it.
    port.counters.framesSent++;
    port.counters.bytesSent += req.frame.length;
    if (this.taps.listenerCount('frame') > 0) this.taps.emit('frame', port.name, 'tx', now, req.frame);
    if (this.trace.observer !== undefined) this.trace.observer.wireEnd(this.name, port.name, req.frame, now, 'sent');
    for (const r of this.ports) {
      if (r === port) continue;
      this.scheduleDelivery(port, r, req.frame, now + this.propagationNs);
    }
    if (req.loopback === true) this.enqueueDelivery(port, { atNs: now, frame: req.frame, from: port.name });
    this.finish(port, { ok: true, lateCollision: false, retryError: false, lostCarrier: false }, x);
  }

  private finish(
    port: EthernetPort,
    r: { ok: boolean; lateCollision: boolean; retryError: boolean; lostCarrier: boolean },
    x: Transmission,
  ): void {
    const outcome: TransmitOutcome = {
      ok: r.ok,
      deferred: port.deferred,
      collisions: port.collisions,
      retryError: r.retryError,
      lateCollision: r.lateCollision,
      lostCarrier: r.lostCarrier,
      heartbeat: port.sqeTest && !port.noCarrier,
      tdrBitTimes: r.ok ? 0 : port.tdrBitTimes,
      startNs: x.startNs,
      endNs: this.sched.now,
    };
    port.request = undefined;
    port.current = undefined;
    port.state = 'idle';
    if (this.trace.on) this.trace.record(this.name, 'ether.done', r.ok ? 1 : 0, port.collisions, port.name);
    port.mac.transmitDone(outcome);
  }

  /** A signal ended earlier than planned: stations waiting for it may go sooner. */
  private rescheduleDeferring(): void {
    const now = this.sched.now;
    for (const q of this.ports) {
      if (q.state !== 'defer') continue;
      const at = this.freeAt(q, now, false).at;
      if (at !== q.attemptEvent.time) this.sched.reschedule(q.attemptEvent, at);
    }
  }

  private prune(now: number): void {
    const horizon = now - this.propagationNs - IFG_BITS * BIT_NS;
    if (this.active.length > 0 && this.active.some((x) => x.endNs < horizon && x.port.current !== x)) {
      this.active = this.active.filter((x) => x.endNs >= horizon || x.port.current === x);
    }
  }

  // ---- receive side ---------------------------------------------------------------------

  private scheduleDelivery(from: EthernetPort, to: EthernetPort, frame: Uint8Array, atNs: number): void {
    const d = this.injector(from.name, to.name).decide(frame.length);
    if (d.drop) {
      to.counters.framesLostInbound++;
      if (this.trace.on) this.trace.record(this.name, 'ether.lost', frame.length, 0, `${from.name}->${to.name}`);
      return;
    }
    let bytes = frame;
    if (d.flipBit >= 0) {
      bytes = frame.slice();
      flipBit(bytes, d.flipBit);
      to.counters.framesCorruptedInbound++;
    }
    this.enqueueDelivery(to, { atNs: atNs + d.extraDelayNs, frame: bytes, from: from.name });
    if (d.duplicate) {
      to.counters.framesDuplicatedInbound++;
      const gap = EthernetSegment.wireNs(frame.length) + IFG_BITS * BIT_NS;
      this.enqueueDelivery(to, { atNs: atNs + d.extraDelayNs + gap, frame: bytes, from: from.name });
    }
  }

  private enqueueDelivery(to: EthernetPort, d: Delivery): void {
    const q = to.deliveries;
    if (q.length >= DELIVERIES_PENDING_MAX) {
      to.counters.framesLostInbound++;
      return;
    }
    let i = q.length;
    while (i > 0 && q[i - 1]!.atNs > d.atNs) i--;
    q.splice(i, 0, d);
    const first = q[0]!;
    if (!to.deliverEvent.scheduled || to.deliverEvent.time !== first.atNs) this.sched.reschedule(to.deliverEvent, first.atNs);
  }

  deliverDue(port: EthernetPort): void {
    const now = this.sched.now;
    const q = port.deliveries;
    while (q.length > 0 && q[0]!.atNs <= now) {
      const d = q.shift()!;
      port.counters.framesArrived++;
      this.framesDeliveredTotal++;
      if (this.taps.listenerCount('frame') > 0) this.taps.emit('frame', port.name, 'rx', now, d.frame);
      port.mac.frameArrived(d.frame);
    }
    if (q.length > 0) this.sched.reschedule(port.deliverEvent, q[0]!.atNs);
  }
}

/**
 * Record station `port`'s view of the segment into `writer` (frames without their FCS, as
 * LINKTYPE_ETHERNET expects). Returns a function that detaches the tap.
 */
export function attachPcap(segment: EthernetSegment, port: string, writer: CaptureSink, fcsBytes = 4): () => void {
  const listener = (p: string, dir: 'tx' | 'rx', timeNs: Ns, frame: Uint8Array): void => {
    if (p !== port) return;
    const n = Math.max(0, frame.length - fcsBytes);
    writer.record(timeNs, frame.subarray(0, n), undefined, dir === 'tx' ? 'out' : 'in');
  };
  segment.taps.on('frame', listener);
  return () => {
    segment.taps.off('frame', listener);
  };
}
