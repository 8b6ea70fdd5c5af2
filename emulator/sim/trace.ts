/**
 * The run's trace: typed records in simulated-time order, a running fingerprint (hash of every
 * record), and taps for observers (pcap writers, timelines, tests).
 *
 * Cost when off: callers guard with `if (trace.on)`, one boolean test. When on, a record is
 * folded into the fingerprint without allocating; a record object is built only while a tap is
 * attached. Taps observe and never feed back, so taps on or off give the same fingerprint
 * (OMNeT++/INET fingerprint tests).
 *
 * `observer` (undefined unless a timeline is being written) receives what records do not carry:
 * device busy spans, frames handed to and taken from the media (by object identity, for flow
 * arrows), queue levels. Components call it behind one `observer !== undefined` test; it observes
 * only and is never hashed, so a run writes the same fingerprint with or without it.
 *
 * Guest errors (a guest misusing a device or the kernel) are always counted and kept (bounded),
 * whether or not the trace is on: driver writers need them in every run (QEMU LOG_GUEST_ERROR).
 */
import { createEmitter } from './emitter.ts';
import type { Scheduler } from './scheduler.ts';
import type { Ns } from './time.ts';

export interface TraceRecord {
  readonly timeNs: Ns;
  /** Component path, e.g. `ws-a.lance`, `ws-b.kernel`. */
  readonly source: string;
  /** Dotted kind, e.g. `cpu.trap`, `lance.tx`, `guest.error`. */
  readonly kind: string;
  readonly a: number;
  readonly b: number;
  readonly text: string;
}

/** A timeline's view of device and link activity (studies/trace). Observes only. */
export interface ActivityObserver {
  /** Component `source` (e.g. `ws-a.an1`) is busy with `what` during [startNs, endNs); `a` is bytes or cycles. */
  span(source: string, what: string, startNs: number, endNs: number, a: number, frame?: Uint8Array): void;
  /** MAC `source` hands `frame` to its medium (the same object travels to the far end unless damaged). */
  frameSent(source: string, frame: Uint8Array): void;
  /** A transmission attempt of `frame` by station `station` on `link` begins (its first bit). */
  wireStart(link: string, station: string, frame: Uint8Array, startNs: number): void;
  /** The attempt ends at `endNs` (≥ now for a jam still to send): `sent`, `collision` or `no-carrier`. */
  wireEnd(link: string, station: string, frame: Uint8Array, endNs: number, result: string): void;
  /** The last bit of `frame` reached station `source` now. */
  frameArrived(source: string, frame: Uint8Array, atNs: number): void;
  /** A queue of component `source` holds `value` entries from `atNs` on. */
  level(source: string, what: string, value: number, atNs: number): void;
}

export type TraceEvents = {
  record: (record: TraceRecord) => void;
  guestError: (record: TraceRecord) => void;
};

/** Guest errors kept for inspection; later ones are counted only. */
export const GUEST_ERRORS_KEPT_MAX = 1_000;

export class Trace {
  /** True when records should be produced (fingerprinting or tapping). */
  on: boolean;
  readonly taps = createEmitter<TraceEvents>();
  /** Timeline observer (studies/trace); undefined in ordinary runs. Never hashed. */
  observer: ActivityObserver | undefined = undefined;
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193;
  recordsTotal = 0;
  guestErrorsTotal = 0;
  readonly guestErrors: TraceRecord[] = [];

  constructor(
    private readonly sched: Scheduler,
    options: { on?: boolean } = {},
  ) {
    this.on = options.on ?? true;
    // Every event's time is in the fingerprint, so a what-if that moves any event moves it.
    sched.onFire = (timeNs, nameHash) => {
      if (!this.on) return;
      this.mixNumber(timeNs);
      this.mixWord(nameHash);
    };
  }

  record(source: string, kind: string, a = 0, b = 0, text = ''): void {
    if (!this.on) return;
    const t = this.sched.now;
    this.mixNumber(t);
    this.mixString(source);
    this.mixString(kind);
    this.mixNumber(a);
    this.mixNumber(b);
    if (text.length > 0) this.mixString(text);
    this.recordsTotal++;
    if (this.taps.listenerCount('record') > 0) {
      this.taps.emit('record', { timeNs: t, source, kind, a, b, text });
    }
  }

  /** A guest did something the hardware or kernel rejects: always kept, never thrown. */
  guestError(source: string, text: string, a = 0, b = 0): void {
    this.guestErrorsTotal++;
    const rec: TraceRecord = { timeNs: this.sched.now, source, kind: 'guest.error', a, b, text };
    if (this.guestErrors.length < GUEST_ERRORS_KEPT_MAX) this.guestErrors.push(rec);
    this.record(source, 'guest.error', a, b, text);
    if (this.taps.listenerCount('guestError') > 0) this.taps.emit('guestError', rec);
  }

  /** Hash of every record so far, in order: 16 hex digits. */
  fingerprint(): string {
    const hex = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');
    return hex(fmix(this.h1 ^ this.recordsTotal)) + hex(fmix(this.h2 ^ Math.imul(this.recordsTotal, 0x9e3779b1)));
  }

  private mixWord(w: number): void {
    this.h1 = Math.imul(this.h1 ^ w, 0x01000193);
    this.h2 = Math.imul((this.h2 ^ w) + 0x7f4a7c15, 0x85ebca6b) ^ (this.h2 >>> 13);
  }
  private mixNumber(x: number): void {
    // Exact for integers up to 2^53 and stable for fractions (both halves of the float).
    const lo = x >>> 0;
    const hi = Math.floor(x / 4294967296) >>> 0;
    this.mixWord(lo);
    this.mixWord(hi);
    if (!Number.isInteger(x)) this.mixString(String(x));
  }
  private mixString(s: string): void {
    for (let i = 0; i < s.length; i++) this.mixWord(s.charCodeAt(i));
    this.mixWord(s.length | 0x10000);
  }
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
