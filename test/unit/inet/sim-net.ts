/**
 * A tiny deterministic event loop for inet tests: two HostStacks joined by a simulated link with
 * seeded loss, duplication, reordering, delay and corruption. No real timers: time jumps to the
 * next event (a frame delivery, a stack deadline or an application wake-up).
 */
import {
  HostStack, type HostStackOptions, type RandomSource, type TcpSocket, Seq32, TcpFlag,
  parseEthernet, parseAn1, parseIpv4, parseTcp, EtherType, type TcpRepr,
} from '../../../userland/inet/index.ts';

/** xorshift128+ style 32-bit generator (sfc32), seeded; deterministic across platforms. */
export class TestRng implements RandomSource {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.nextU32();
  }
  nextU32(): number {
    this.a >>>= 0; this.b >>>= 0; this.c >>>= 0; this.d >>>= 0;
    const t = (this.a + this.b + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t >>> 0;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.nextU32() / 4294967296;
  }
  int(lo: number, hiInclusive: number): number {
    return lo + (this.nextU32() % (hiInclusive - lo + 1));
  }
}

export interface LinkFaults {
  readonly lossRate: number;
  readonly dupRate: number;
  readonly reorderRate: number;
  readonly corruptRate: number;
  /** One-way latency. */
  readonly delayNs: number;
  /** Extra random delay in [0, jitterNs) for every frame. */
  readonly jitterNs: number;
  /** Extra delay of a reordered frame, in [0, reorderDelayNs). */
  readonly reorderDelayNs: number;
}

export const NO_FAULTS: LinkFaults = {
  lossRate: 0, dupRate: 0, reorderRate: 0, corruptRate: 0, delayNs: 100_000, jitterNs: 0, reorderDelayNs: 0,
};

interface Delivery {
  readonly at: number;
  readonly seq: number;
  readonly to: 0 | 1;
  readonly frame: Uint8Array;
}

export interface WireObserver {
  (from: 0 | 1, seg: TcpRepr, now: number): void;
}

export const MAC_A = 0x02_00_00_00_00_01;
export const MAC_B = 0x02_00_00_00_00_02;
export const IP_A = 0x0a_09_00_01;
export const IP_B = 0x0a_09_00_02;

export class SimNet {
  now = 0;
  readonly hosts: readonly [HostStack, HostStack];
  private queue: Delivery[] = [];
  private seq = 0;
  private wakeups: number[] = [];
  readonly stats = { sent: 0, lost: 0, duplicated: 0, reordered: 0, corrupted: 0, delivered: 0 };
  observers: WireObserver[] = [];
  /** Application code run after every event. */
  app: (now: number) => void = () => {};

  constructor(
    readonly faults: LinkFaults,
    readonly rng: TestRng,
    optsA: Partial<HostStackOptions> = {},
    optsB: Partial<HostStackOptions> = {},
  ) {
    const mk = (mac: number, ip: number, o: Partial<HostStackOptions>, seed: number): HostStack =>
      new HostStack({ mac, ip, random: new TestRng(seed), ...o });
    this.hosts = [mk(MAC_A, IP_A, optsA, rng.nextU32()), mk(MAC_B, IP_B, optsB, rng.nextU32())];
  }

  wakeAt(t: number): void {
    this.wakeups.push(t);
  }

  /** Collects frames from both hosts and puts them on the wire with faults applied. */
  pump(): void {
    for (const from of [0, 1] as const) {
      const host = this.hosts[from];
      for (const f of host.takeFrames()) this.transmit(from, f);
    }
  }

  private transmit(from: 0 | 1, frame: Uint8Array): void {
    this.stats.sent += 1;
    if (this.observers.length > 0) {
      const seg = decodeTcp(frame, this.hosts[from].link);
      if (seg !== null) for (const o of this.observers) o(from, seg, this.now);
    }
    const to: 0 | 1 = from === 0 ? 1 : 0;
    const f = this.faults;
    if (this.rng.float() < f.lossRate) { this.stats.lost += 1; return; }
    const copies = this.rng.float() < f.dupRate ? 2 : 1;
    if (copies === 2) this.stats.duplicated += 1;
    for (let i = 0; i < copies; i++) {
      let data = frame;
      // Corrupt only IP frames past the link header: the link CRC would catch the rest (and ARP has no checksum).
      const hl = this.hosts[from].link === 'an1' ? 20 : 14;
      if (this.rng.float() < f.corruptRate && frame.length > hl && ((frame[hl - 2] ?? 0) << 8 | (frame[hl - 1] ?? 0)) === EtherType.IPV4) {
        data = frame.slice();
        const pos = hl + (this.rng.nextU32() % (frame.length - hl));
        data[pos] = (data[pos] ?? 0) ^ (1 + (this.rng.nextU32() % 255));
        this.stats.corrupted += 1;
      }
      let at = this.now + f.delayNs + (f.jitterNs > 0 ? this.rng.nextU32() % f.jitterNs : 0);
      if (f.reorderDelayNs > 0 && this.rng.float() < f.reorderRate) {
        at += this.rng.nextU32() % f.reorderDelayNs;
        this.stats.reordered += 1;
      }
      this.insert({ at, seq: this.seq++, to, frame: data });
    }
  }

  private insert(d: Delivery): void {
    // Keep sorted by (at, seq); the queue is small.
    let i = this.queue.length;
    while (i > 0) {
      const prev = this.queue[i - 1];
      if (prev === undefined || prev.at < d.at || (prev.at === d.at && prev.seq < d.seq)) break;
      i--;
    }
    this.queue.splice(i, 0, d);
  }

  nextEventAt(): number | null {
    let t = Number.POSITIVE_INFINITY;
    const head = this.queue[0];
    if (head !== undefined) t = head.at;
    for (const h of this.hosts) {
      const p = h.pollAt();
      if (p !== null && p < t) t = p;
    }
    for (const w of this.wakeups) if (w < t) t = w;
    return t === Number.POSITIVE_INFINITY ? null : t;
  }

  /** Advances to the next event and processes everything due then. Returns false when idle. */
  step(): boolean {
    const t = this.nextEventAt();
    if (t === null) return false;
    this.now = Math.max(this.now, t);
    this.wakeups = this.wakeups.filter((w) => w > this.now);
    while (this.queue.length > 0 && (this.queue[0]?.at ?? Infinity) <= this.now) {
      const d = this.queue.shift();
      if (d === undefined) break;
      this.stats.delivered += 1;
      this.hosts[d.to].receiveFrame(this.now, d.frame);
      this.pump();
    }
    for (const h of this.hosts) {
      const p = h.pollAt();
      if (p !== null && p <= this.now) h.poll(this.now);
    }
    this.pump();
    this.app(this.now);
    this.pump();
    return true;
  }

  /** Runs until `pred` holds or the simulated time passes `nsMax`; returns whether pred held. */
  runUntil(pred: () => boolean, nsMax: number, maxSteps = 5_000_000): boolean {
    for (let i = 0; i < maxSteps; i++) {
      if (pred()) return true;
      if (this.now > nsMax) return false;
      if (!this.step()) return pred();
    }
    return pred();
  }
}

export function decodeTcp(frame: Uint8Array, link: 'ethernet' | 'an1' = 'ethernet'): TcpRepr | null {
  const e = link === 'an1' ? parseAn1(frame) : parseEthernet(frame);
  if (!e.ok || e.value.etherType !== EtherType.IPV4) return null;
  const ip = parseIpv4(e.value.payload);
  if (!ip.ok || ip.value.protocol !== 6) return null;
  const t = parseTcp(ip.value.payload, ip.value.src, ip.value.dst);
  return t.ok ? t.value : null;
}

/** Deterministic pseudo-random payload. */
export function patternBytes(n: number, seed: number): Uint8Array {
  const r = new TestRng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = r.nextU32();
    out[i] = v & 0xff;
    if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff;
    if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff;
    if (i + 3 < n) out[i + 3] = v >>> 24;
  }
  return out;
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  return out;
}

/** One side of a bulk transfer: writes `tx` then shuts down; reads until EOF; then closes. */
export class BulkApp {
  written = 0;
  readonly rx: Uint8Array[] = [];
  rxBytes = 0;
  shut = false;
  closed = false;
  nextReadAt = 0;
  constructor(
    readonly sock: () => TcpSocket | null,
    readonly tx: Uint8Array,
    readonly rng: TestRng,
    /** Mean pause between reads (0 = read eagerly); models a slow reader (zero windows). */
    readonly readPauseNs = 0,
    readonly readChunk = Number.MAX_SAFE_INTEGER,
  ) {}

  run(now: number, net: SimNet): void {
    const s = this.sock();
    if (s === null) return;
    if (!s.isEstablished && s.state !== 'CLOSED') return;
    while (this.written < this.tx.length) {
      const n = s.write(now, this.tx.subarray(this.written, Math.min(this.tx.length, this.written + 8192)));
      if (typeof n !== 'number' || n === 0) break;
      this.written += n;
    }
    if (this.written === this.tx.length && !this.shut && s.state !== 'CLOSED') {
      this.shut = true;
      s.shutdown(now);
    }
    if (now >= this.nextReadAt) {
      const d = s.read(now, this.readChunk);
      if (d.length > 0) { this.rx.push(d); this.rxBytes += d.length; }
      if (this.readPauseNs > 0 && d.length > 0) {
        this.nextReadAt = now + 1 + (this.rng.nextU32() % (2 * this.readPauseNs));
        net.wakeAt(this.nextReadAt);
      }
    }
    if (s.eof && this.shut && !this.closed) {
      this.closed = true;
      s.close(now);
    }
  }

  received(): Uint8Array {
    return concat(this.rx);
  }
}

export { Seq32, TcpFlag };
