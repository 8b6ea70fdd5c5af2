/**
 * The AN1 link of the paper's testbed: "a switchless, private segment of a 100 Mb/sec AN1
 * network" (P §4): one full-duplex point-to-point link between two controllers, 10 ns per bit
 * (Autonet links are 100 Mb/s, full duplex: hw/an1-autonet.md §2). No switch is modelled.
 *
 * A frame is the link header, the payload and the 4-byte CRC the transmitter appended. The
 * transmitter owns serialisation (it stays busy for `wireTimeNs`); the link adds propagation and
 * faults (FaultInjector, one named PRNG stream per direction) and hands the frame to the far end
 * when its last bit arrives. Frames in flight per direction sit in a time-ordered queue served by
 * one long-lived event. Captures (pcap LINKTYPE_USER0 = 147, frames without CRC) record what a
 * side sends at its first bit and what it receives at its last.
 */
import { bug } from '../sim/assert.ts';
import type { Rng } from '../sim/rng.ts';
import { Priority, type Scheduler, type SimEvent } from '../sim/scheduler.ts';
import { bytesOnWireNs, type Ns } from '../sim/time.ts';
import type { Trace } from '../sim/trace.ts';
import { FaultInjector, flipBit, NO_FAULTS, type FaultConfig } from './faults.ts';
import type { CaptureSink } from './pcap.ts';

export const AN1_LINK_MBPS = 100;
export const AN1_CRC_BYTES = 4;
/** Frames in flight per direction at most (a limit on everything; reordering holds some back). */
export const AN1_LINK_INFLIGHT_MAX = 4_096;

export type LinkSide = 0 | 1;

/** What a controller implements to receive from the link. */
export interface An1LinkEndpoint {
  /** The last bit of `frame` (header + payload + CRC) arrived now. Must not modify `frame`. */
  frameArrived(frame: Uint8Array): void;
}

/** A controller's handle on its side of the link. */
export interface An1LinkPort {
  /** Put `frame` (with CRC) on the wire now; returns how long the wire is busy with it, ns. */
  transmit(frame: Uint8Array): number;
  /** True when a peer is attached at the other end (CSR.LINKUP). */
  readonly up: boolean;
}

export interface An1LinkOptions {
  readonly name: string;
  readonly framingNs: number;
  readonly propagationNs: number;
  /** Faults on frames sent by side 0 (toward side 1) and by side 1. */
  readonly faults?: readonly [FaultConfig, FaultConfig];
}

export interface An1LinkContext {
  readonly sched: Scheduler;
  readonly trace: Trace;
  readonly rng: Rng;
}

interface InFlight {
  readonly frame: Uint8Array;
  readonly at: number;
}

class Direction {
  readonly queue: InFlight[] = [];
  readonly event: SimEvent;
  endpoint: An1LinkEndpoint | undefined = undefined;
  capture: CaptureSink | undefined = undefined;
  /** When the transmitter's current frame leaves the wire (guards against overlap). */
  busyUntil = 0;
  framesSent = 0;
  framesDelivered = 0;
  bytesSent = 0;

  constructor(
    readonly name: string,
    readonly faults: FaultInjector,
    sched: Scheduler,
    onDue: () => void,
  ) {
    this.event = sched.createEvent(name, Priority.wire, onDue);
  }
}

export class An1Link {
  private readonly dirs: readonly [Direction, Direction];
  private readonly captures: [CaptureSink | undefined, CaptureSink | undefined] = [undefined, undefined];

  constructor(
    private readonly ctx: An1LinkContext,
    readonly options: An1LinkOptions,
  ) {
    const mk = (from: LinkSide): Direction => {
      const name = `${options.name}.${from}->${1 - from}`;
      const faults = new FaultInjector(options.faults?.[from] ?? NO_FAULTS, ctx.rng.fork(`an1.${name}`));
      return new Direction(name, faults, ctx.sched, () => this.deliverDue(from));
    };
    this.dirs = [mk(0), mk(1)];
  }

  /** Serialisation time of a frame of `bytes` (CRC included) plus framing: 80 ns a byte. */
  wireTimeNs(bytes: number): number {
    return bytesOnWireNs(bytes, AN1_LINK_MBPS) + this.options.framingNs;
  }

  attach(side: LinkSide, endpoint: An1LinkEndpoint): An1LinkPort {
    const dir = this.dirs[1 - side]!; // frames toward `side`
    if (!(dir.endpoint === undefined)) bug(`${this.options.name}: side ${side} is already attached`);
    dir.endpoint = endpoint;
    const link = this;
    return {
      transmit: (frame) => link.transmit(side, frame),
      get up() {
        return link.dirs[side].endpoint !== undefined;
      },
    };
  }

  /** Record what `side` sends and receives (frames without CRC). */
  capture(side: LinkSide, writer: CaptureSink): void {
    this.captures[side] = writer;
  }

  counters(side: LinkSide): { framesSent: number; bytesSent: number; framesDelivered: number; faults: FaultInjector['counters'] } {
    const d = this.dirs[side];
    return { framesSent: d.framesSent, bytesSent: d.bytesSent, framesDelivered: d.framesDelivered, faults: d.faults.counters };
  }

  private transmit(from: LinkSide, frame: Uint8Array): number {
    const now = this.ctx.sched.now;
    const d = this.dirs[from];
    if (!(now >= d.busyUntil)) bug(`${d.name}: transmit at ${now} overlaps the frame on the wire until ${d.busyUntil}`);
    if (!(frame.length >= AN1_CRC_BYTES)) bug(`${d.name}: frame shorter than its CRC`);
    const wireNs = this.wireTimeNs(frame.length);
    d.busyUntil = now + wireNs;
    d.framesSent++;
    d.bytesSent += frame.length;
    this.captures[from]?.record(now, frame.subarray(0, frame.length - AN1_CRC_BYTES), undefined, 'out');
    if (this.ctx.trace.on) this.ctx.trace.record(this.options.name, 'an1.wire.tx', from, frame.length);
    if (d.endpoint === undefined) return wireNs; // nobody at the far end: the frame is lost
    const fate = d.faults.decide(frame.length);
    if (fate.drop) return wireNs;
    let bytes = frame;
    if (fate.flipBit >= 0) {
      bytes = frame.slice();
      flipBit(bytes, fate.flipBit);
    }
    const at = now + wireNs + this.options.propagationNs + fate.extraDelayNs;
    this.enqueue(d, { frame: bytes, at });
    if (fate.duplicate) this.enqueue(d, { frame: bytes, at: at + this.wireTimeNs(frame.length) });
    return wireNs;
  }

  private enqueue(d: Direction, f: InFlight): void {
    if (!(d.queue.length < AN1_LINK_INFLIGHT_MAX)) bug(`${d.name}: too many frames in flight`);
    // Insert in arrival order (stable for equal times); usually at the end.
    let i = d.queue.length;
    while (i > 0 && d.queue[i - 1]!.at > f.at) i--;
    d.queue.splice(i, 0, f);
    const head = d.queue[0]!;
    if (!d.event.scheduled || d.event.time !== head.at) this.ctx.sched.reschedule(d.event, head.at);
  }

  private deliverDue(from: LinkSide): void {
    const d = this.dirs[from];
    const now: Ns = this.ctx.sched.now;
    while (d.queue.length > 0 && d.queue[0]!.at <= now) {
      const f = d.queue.shift()!;
      d.framesDelivered++;
      const to = (1 - from) as LinkSide;
      this.captures[to]?.record(now, f.frame.subarray(0, f.frame.length - AN1_CRC_BYTES), undefined, 'in');
      d.endpoint?.frameArrived(f.frame);
    }
    const head = d.queue[0];
    if (head !== undefined && !d.event.scheduled) this.ctx.sched.schedule(d.event, head.at);
  }
}
