/**
 * A station on an emulated Ethernet segment that stands for the world outside the emulation (issue
 * 17 item 4, `ulp live`): frames from outside enter the segment at the simulated time they are
 * handed in, and every good frame the segment carries to this station is handed out.
 *
 * - `inject(frame)` takes a frame as a host's network interface gives it (DA..payload, no FCS, as a
 *   Linux TAP or a pcap has it): pads it to the 60-byte minimum as a real MAC does, appends the FCS
 *   and queues it; the station sends its frames one after another with the segment's CSMA/CD, like
 *   any other station (a bridge port on the coax). At most `queueMax` frames wait (a switch's
 *   buffer: beyond it frames are dropped and counted); frames longer than 1514 bytes or shorter than
 *   the 14-byte header are refused and counted.
 * - Frames arriving with a good FCS and at least 64 bytes (what a MAC accepts) are passed to
 *   `onFrame` without their FCS; runts and FCS errors are counted and dropped.
 *
 * Deterministic: no wall time here. Who calls `inject` decides the simulated time a frame enters
 * (studies/live.ts stamps each with the simulated time its wall-clock arrival maps to).
 */
import { crc32, fcsOk, writeFcs } from '../bits/crc32.ts';
import { ATTEMPTS_MAX, type EthernetMac, type EthernetPort, type TransmitOutcome } from './ethernet-segment.ts';
import { Priority, type Scheduler, type SimEvent } from '../sim/scheduler.ts';

/** DA..payload without the FCS: the 60-byte minimum (64 with the FCS) and 1514-byte maximum of IEEE 802.3. */
export const EXTERNAL_FRAME_MIN = 60;
export const EXTERNAL_FRAME_MAX = 1514;
/** Default transmit queue: 256 maximum frames (≈ 390 KB), more than one TCP window of the peers. */
export const EXTERNAL_QUEUE_MAX = 256;

export interface ExternalCounters {
  /** Frames handed in and queued / sent whole on the segment. */
  injected: number;
  sent: number;
  /** Frames handed in and dropped: queue full, or not a valid frame length. */
  droppedQueueFull: number;
  droppedBadLength: number;
  /** Transmissions the segment gave up (16 collisions, late collision). */
  transmitErrors: number;
  /** Good frames handed out / runts and FCS errors dropped. */
  delivered: number;
  rejected: number;
}

export class ExternalStation implements EthernetMac {
  port: EthernetPort | undefined = undefined;
  readonly counters: ExternalCounters = { injected: 0, sent: 0, droppedQueueFull: 0, droppedBadLength: 0, transmitErrors: 0, delivered: 0, rejected: 0 };
  /** Called with every good frame reaching this station (DA..payload, FCS removed). */
  onFrame: (frame: Uint8Array, timeNs: number) => void = () => {};
  private readonly queue: Uint8Array[] = [];
  private readonly kick: SimEvent;

  constructor(
    private readonly sched: Scheduler,
    readonly name: string,
    private readonly queueMax = EXTERNAL_QUEUE_MAX,
  ) {
    this.kick = sched.createEvent(`${name}.send`, Priority.wire, () => this.next());
  }

  /** Queue `data` (DA..payload) to go on the segment from now on. False when it was dropped. */
  inject(data: Uint8Array): boolean {
    if (data.length < 14 || data.length > EXTERNAL_FRAME_MAX) {
      this.counters.droppedBadLength++;
      return false;
    }
    if (this.queue.length >= this.queueMax) {
      this.counters.droppedQueueFull++;
      return false;
    }
    const body = Math.max(EXTERNAL_FRAME_MIN, data.length);
    const frame = new Uint8Array(body + 4);
    frame.set(data);
    writeFcs(frame, body, crc32(frame, 0, body));
    this.queue.push(frame);
    this.counters.injected++;
    if (this.port !== undefined && !this.port.busy && !this.kick.scheduled) this.sched.schedule(this.kick, this.sched.now);
    return true;
  }

  /** Frames waiting or on the medium. */
  get pending(): number {
    return this.queue.length + (this.port?.busy === true ? 1 : 0);
  }

  frameArrived(frame: Uint8Array): void {
    if (frame.length < EXTERNAL_FRAME_MIN + 4 || !fcsOk(frame)) {
      this.counters.rejected++;
      return;
    }
    this.counters.delivered++;
    this.onFrame(frame.slice(0, frame.length - 4), this.sched.now);
  }

  transmitDone(outcome: TransmitOutcome): void {
    if (outcome.ok) this.counters.sent++;
    else this.counters.transmitErrors++;
    if (this.queue.length > 0 && !this.kick.scheduled) this.sched.schedule(this.kick, this.sched.now);
  }

  private next(): void {
    const port = this.port;
    if (port === undefined || port.busy) return;
    const frame = this.queue.shift();
    if (frame !== undefined) port.transmit({ frame, attemptsMax: ATTEMPTS_MAX });
  }
}
