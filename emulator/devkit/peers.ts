/**
 * Scriptable peer stations for driver tests: the far end of the wire as a test instrument.
 *
 * - `EthernetPeer` sits on a 10 Mb/s segment. `send` queues (never throws on a busy port: frames
 *   go out one after another, each with the segment's CSMA/CD), appends the FCS unless told not
 *   to, and records every outcome. Arrivals are kept with their time and FCS verdict; `frames`
 *   holds only the ones a real MAC would accept (FCS good, ≥ 64 bytes), so a frame the device
 *   cut short (a runt, a bad FCS) shows in `rejected`, not in `frames`.
 * - `An1Peer` is the other end of an AN1 link: `send` queues and spaces frames by their wire time
 *   (the link refuses overlapping frames), appends the CRC unless told not to, and records what
 *   arrives with its CRC verdict.
 * Both hold at most `PEER_QUEUE_MAX` frames waiting (a limit on everything).
 */
import { crc32, fcsOk, writeFcs } from '../bits/crc32.ts';
import type { An1LinkEndpoint, An1LinkPort } from '../net/an1-link.ts';
import { ATTEMPTS_MAX, type EthernetMac, type EthernetPort, type TransmitOutcome } from '../net/ethernet-segment.ts';
import { Priority, type Scheduler, type SimEvent } from '../sim/scheduler.ts';

export const PEER_QUEUE_MAX = 4_096;
/** Smallest frame (DA..FCS) an Ethernet MAC accepts. */
export const ETHER_MIN_FRAME = 64;

/** How the peer finishes a frame: append a good FCS/CRC, append a wrong one, or send as given. */
export type FcsMode = 'append' | 'bad' | 'none';

export interface Arrival {
  readonly timeNs: number;
  /** As it came off the wire (FCS/CRC included). */
  readonly frame: Uint8Array;
  readonly fcsOk: boolean;
}

function finish(data: Uint8Array, fcs: FcsMode): Uint8Array {
  if (fcs === 'none') return data.slice();
  const f = new Uint8Array(data.length + 4);
  f.set(data);
  writeFcs(f, data.length, (crc32(data) ^ (fcs === 'bad' ? 1 : 0)) >>> 0);
  return f;
}

export class EthernetPeer implements EthernetMac {
  port: EthernetPort | undefined = undefined;
  /** Every frame that reached this station, good or bad. */
  readonly arrivals: Arrival[] = [];
  /** Frames a MAC would accept: FCS good and at least 64 bytes (FCS included). */
  readonly frames: Uint8Array[] = [];
  /** Arrivals a MAC would drop: runts (e.g. a transmission cut off by STOP) and FCS errors. */
  readonly rejected: Arrival[] = [];
  readonly outcomes: TransmitOutcome[] = [];
  /** Frames given to `send` that were refused (queue full, empty frame): see `warnings`. */
  readonly warnings: string[] = [];
  private readonly queue: { readonly frame: Uint8Array; readonly attemptsMax: number }[] = [];
  private readonly kick: SimEvent;

  constructor(
    private readonly sched: Scheduler,
    readonly name: string,
  ) {
    this.kick = sched.createEvent(`${name}.send`, Priority.wire, () => this.next());
  }

  /**
   * Queue `data` (DA..payload) to send as soon as the medium lets this station; `attemptsMax`
   * (1..16, default 16) bounds its CSMA/CD attempts.
   */
  send(data: Uint8Array, options: { readonly fcs?: FcsMode; readonly attemptsMax?: number } = {}): void {
    const frame = finish(data, options.fcs ?? 'append');
    if (frame.length === 0 || frame.length > 4100 || this.queue.length >= PEER_QUEUE_MAX) {
      this.warnings.push(`${this.name}: frame of ${frame.length} bytes not sent (queue ${this.queue.length}, limits 1..4100 bytes)`);
      return;
    }
    this.queue.push({ frame, attemptsMax: Math.min(ATTEMPTS_MAX, Math.max(1, options.attemptsMax ?? ATTEMPTS_MAX)) });
    if (this.port !== undefined && !this.port.busy && !this.kick.scheduled) this.sched.schedule(this.kick, this.sched.now);
  }

  /** Frames queued or on the medium. */
  get pending(): number {
    return this.queue.length + (this.port?.busy === true ? 1 : 0);
  }

  frameArrived(frame: Uint8Array): void {
    const a: Arrival = { timeNs: this.sched.now, frame: frame.slice(), fcsOk: frame.length >= 4 && fcsOk(frame) };
    this.arrivals.push(a);
    if (a.fcsOk && frame.length >= ETHER_MIN_FRAME) this.frames.push(a.frame);
    else this.rejected.push(a);
  }

  transmitDone(outcome: TransmitOutcome): void {
    this.outcomes.push(outcome);
    if (this.queue.length > 0 && !this.kick.scheduled) this.sched.schedule(this.kick, this.sched.now);
  }

  private next(): void {
    const port = this.port;
    if (port === undefined || port.busy) return;
    const next = this.queue.shift();
    if (next !== undefined) port.transmit(next);
  }
}

export class An1Peer implements An1LinkEndpoint {
  port: An1LinkPort | undefined = undefined;
  readonly arrivals: Arrival[] = [];
  /** Frames with a good CRC, as on the wire (CRC included). */
  readonly frames: Uint8Array[] = [];
  readonly warnings: string[] = [];
  /** Least spacing between frame starts, ns (0: back to back at the link's rate). */
  gapNsMin = 0;
  private readonly queue: Uint8Array[] = [];
  private busyUntilNs = 0;
  private readonly kick: SimEvent;
  framesSent = 0;

  constructor(
    private readonly sched: Scheduler,
    readonly name: string,
  ) {
    this.kick = sched.createEvent(`${name}.send`, Priority.wire, () => this.next());
  }

  /** Queue `frame` (link header + payload) to send once the wire is free; CRC appended unless told. */
  send(frame: Uint8Array, options: { readonly crc?: FcsMode } = {}): void {
    const f = finish(frame, options.crc ?? 'append');
    if (f.length < 4 || this.queue.length >= PEER_QUEUE_MAX) {
      this.warnings.push(`${this.name}: frame of ${f.length} bytes not sent (the link needs ≥ 4 bytes with CRC; queue ${this.queue.length})`);
      return;
    }
    this.queue.push(f);
    if (!this.kick.scheduled) this.sched.schedule(this.kick, Math.max(this.sched.now, this.busyUntilNs));
  }

  get pending(): number {
    return this.queue.length;
  }

  frameArrived(frame: Uint8Array): void {
    const a: Arrival = { timeNs: this.sched.now, frame: frame.slice(), fcsOk: frame.length >= 4 && fcsOk(frame) };
    this.arrivals.push(a);
    if (a.fcsOk) this.frames.push(a.frame);
  }

  private next(): void {
    const port = this.port;
    const f = this.queue.shift();
    if (port === undefined || f === undefined) return;
    const wireNs = port.transmit(f);
    this.framesSent++;
    this.busyUntilNs = this.sched.now + Math.max(wireNs, this.gapNsMin);
    if (this.queue.length > 0) this.sched.schedule(this.kick, this.busyUntilNs);
  }
}

/** A test frame DA..payload of `length` bytes (EtherType 0x88B5, local experimental) with a recognisable payload. */
export function ethernetFrame(dst: ArrayLike<number>, src: ArrayLike<number>, length: number, tag = 0): Uint8Array {
  const f = new Uint8Array(Math.max(14, length));
  for (let i = 0; i < 6; i++) {
    f[i] = dst[i]!;
    f[6 + i] = src[i]!;
  }
  f[12] = 0x88;
  f[13] = 0xb5;
  for (let i = 14; i < f.length; i++) f[i] = (i * 7 + tag) & 0xff;
  return f.subarray(0, length);
}
