/**
 * `ulp run <scenario> --trace FILE`: where each simulated microsecond went, as Chrome Trace Event
 * JSON (opens in https://ui.perfetto.dev and chrome://tracing). Format notes: ECOSYSTEM.md §2.4;
 * what the tracks mean: docs/trace.md.
 *
 * Contract:
 * - Observes only. The timeline hangs on observer hooks (`Cpu.observer`, `Trace.observer`) and the
 *   trace's record tap, none of which is hashed or feeds back: a run's fingerprint is the same
 *   with and without a timeline (test/system/perfetto-trace.test.ts checks it).
 * - Deterministic bytes: every time is an integer number of ns, printed as µs with exactly three
 *   decimals built from integers (`formatUs`); events go out in the order the run produces them,
 *   which is a function of scenario + seed. Perfetto sorts by time itself.
 * - Bounded: at most `eventsMax` events (metadata aside); past that nothing more is recorded, the
 *   observers are detached, and `otherData.truncated` says so.
 * - Streamed: text goes to `sink` in chunks of about 64 KB, so a long run never holds its
 *   timeline in memory.
 *
 * Layout of one process (pid = workstation, in the order hosts were built):
 *   tid 1 "CPU: what ran"  X slices named by the guest thread (task name + thread id) or the
 *                          interrupt (hardware source, or kernel soft work); `i` at each handler
 *   tid 2 "CPU: cost"      X slices named by cost category (user, trap, context-switch, driver,
 *                          pio, copy, interrupt, ...; `minimum` = the 1-cycle floor of a burst)
 *   tid 3..9               LANCE transmit/receive, AN1 firmware/tx DMA/rx DMA, wire out
 *   async `b`/`e`          "<link> in flight": each transmission attempt from its first bit to
 *                          its arrival (or its end, for collisions and frames lost on the wire)
 *   `s`/`f` flows          from the sender's wire-out slice to the receiver's receive slice
 *   `C` counters           the CPU's interrupt line (KN02 pending & enabled), AN1 board queues
 * Interrupts that run during a burst split it: the burst's remaining cycles continue after the
 * handler, exactly as the CPU model pushes the burst's end, so slices on a CPU track never overlap
 * and their durations add up to the CPU's busy time.
 */
import { AccessLog, formatAccess, type RegisterAccess } from '../../emulator/devkit/access-log.ts';
import { tapHostOptions } from '../../emulator/devkit/tap.ts';
import type { BodyKind, CpuObserver } from '../../emulator/host/cpu.ts';
import type { DecStation5000 } from '../../emulator/host/decstation.ts';
import { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import type { ActivityObserver, TraceRecord } from '../../emulator/sim/trace.ts';
import { SYSCALL_TABLE } from '../../kernel/abi/syscalls.ts';
import type { Kernel } from '../../kernel/kernel.ts';
import { World, type WorldOptions } from '../world.ts';

/** Events written at most unless `--trace-limit` says otherwise (≈ 150 MB of JSON). */
export const TRACE_EVENTS_MAX_DEFAULT = 2_000_000;
/** Chunk size of the stream to the sink, characters. */
const CHUNK_CHARS = 1 << 16;

/** Track ids inside a host's process (also their sort order). */
export const TID = {
  cpu: 1,
  cpuCost: 2,
  lanceTx: 3,
  lanceRx: 4,
  an1Firmware: 5,
  an1TxDma: 6,
  an1RxDma: 7,
  wireOut: 8,
  /** Device register accesses (instant events; emulator/devkit/access-log.ts). */
  registers: 9,
} as const;

export const TRACK_NAMES: { readonly [tid: number]: string } = {
  [TID.cpu]: 'CPU: what ran',
  [TID.cpuCost]: 'CPU: cost category',
  [TID.lanceTx]: 'LANCE transmit',
  [TID.lanceRx]: 'LANCE receive',
  [TID.an1Firmware]: 'AN1 firmware',
  [TID.an1TxDma]: 'AN1 transmit DMA',
  [TID.an1RxDma]: 'AN1 receive DMA',
  [TID.wireOut]: 'wire out',
  [TID.registers]: 'device registers',
};

/** Category name of the 1-cycle floor a burst or handler occupies when it charged less. */
export const MINIMUM_CATEGORY = 'minimum';

export interface TimelineOptions {
  /** Receives the JSON text in order, in chunks. */
  readonly sink: (chunk: string) => void;
  readonly eventsMax?: number;
}

export interface TimelineSummary {
  readonly eventsWritten: number;
  readonly eventsMax: number;
  readonly truncated: boolean;
  /** Bursts whose laid-out end differed from the CPU's (0 unless the CPU model changed). */
  readonly cpuLayoutMismatches: number;
}

/** Integer ns as µs with exactly three decimals ("1234.560"), built from integers. */
export function formatUs(ns: number): string {
  const n = Math.round(ns);
  const neg = n < 0;
  const a = neg ? -n : n;
  const frac = a % 1000;
  const us = (a - frac) / 1000;
  return `${neg ? '-' : ''}${us}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

const SYSCALL_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(SYSCALL_TABLE).map(([name, def]) => [def.number, name]));

/** Streams the JSON container and counts events against the limit. */
class JsonStream {
  private buf = '{"displayTimeUnit":"ns","traceEvents":[\n';
  private first = true;
  eventsWritten = 0;
  truncated = false;
  truncatedAtNs = -1;

  constructor(
    private readonly sink: (chunk: string) => void,
    readonly eventsMax: number,
  ) {}

  /** Metadata: always written (a few per track), not counted. */
  meta(line: string): void {
    this.put(line);
  }

  /** An event at `atNs`: false (and nothing written) once the limit is reached. */
  event(line: string, atNs: number): boolean {
    if (this.eventsWritten >= this.eventsMax) {
      if (!this.truncated) {
        this.truncated = true;
        this.truncatedAtNs = atNs;
      }
      return false;
    }
    this.eventsWritten++;
    this.put(line);
    return true;
  }

  private put(line: string): void {
    this.buf += this.first ? line : ',\n' + line;
    this.first = false;
    if (this.buf.length >= CHUNK_CHARS) {
      this.sink(this.buf);
      this.buf = '';
    }
  }

  close(otherData: object): void {
    this.sink(this.buf + '\n],"otherData":' + JSON.stringify(otherData) + '}\n');
    this.buf = '';
  }
}

interface Slice {
  name: string;
  cat: string;
  startNs: number;
  endNs: number;
  args: object | undefined;
}

/** An X track whose slices never overlap: each is held until the next one begins. */
class XTrack {
  private pending: Slice | undefined = undefined;

  constructor(
    private readonly tl: PerfettoTimeline,
    readonly pid: number,
    readonly tid: number,
  ) {}

  push(s: Slice): void {
    const p = this.pending;
    if (p !== undefined) {
      if (p.endNs === Infinity) p.endNs = Math.max(p.startNs, s.startNs);
      if (p.endNs > s.startNs) {
        s.startNs = p.endNs;
        if (s.endNs < s.startNs) s.endNs = s.startNs;
      }
      this.tl.slice(this.pid, this.tid, p);
    }
    this.pending = s;
  }

  /** The open slice (end not known yet), if any. */
  get open(): Slice | undefined {
    return this.pending !== undefined && this.pending.endNs === Infinity ? this.pending : undefined;
  }

  get last(): Slice | undefined {
    return this.pending;
  }

  flush(endNs: number): void {
    const p = this.pending;
    if (p === undefined) return;
    if (p.endNs === Infinity) p.endNs = Math.max(p.startNs, endNs);
    this.tl.slice(this.pid, this.tid, p);
    this.pending = undefined;
  }
}

interface Body {
  readonly kind: BodyKind;
  readonly category: string;
  readonly startNs: number;
  label: string;
  args: { [k: string]: string | number } | undefined;
  /** Charges in order, consecutive ones of a category merged. */
  readonly cats: string[];
  readonly cycles: number[];
  totalCycles: number;
}

interface FrameInfo {
  readonly pid: number;
  readonly link: string;
  /** Async span of the current attempt (0: none open). */
  spanId: number;
  startNs: number;
  sentEndNs: number;
  attempts: number;
  /** Flow from the sent attempt to the first arrival (0: none waiting). */
  flowId: number;
  readonly bytes: number;
}

/** One workstation's process: its CPU observer and device tracks. */
class HostTimeline implements CpuObserver {
  kernel: Kernel | undefined = undefined;
  private readonly cycleNs: number;
  private burstOpen = false;
  private burstStartNs = 0;
  private readonly bodies: Body[] = [];
  current: Body | undefined = undefined;
  /** Bodies stopped at a sync point, innermost last. */
  private readonly suspended: Body[] = [];
  private readonly threadLabels = new Map<number, string>();
  readonly tracks = new Map<number, XTrack>();
  private readonly named = new Set<number>();

  constructor(
    private readonly tl: PerfettoTimeline,
    readonly host: DecStation5000,
    readonly pid: number,
  ) {
    this.cycleNs = host.cpu.clock.periodNs;
    tl.meta(pid, 0, 'process_name', { name: `${host.name} (DECstation 5000/200)` });
    tl.meta(pid, 0, 'process_sort_index', { sort_index: pid });
    this.nameTrack(TID.cpu);
    this.nameTrack(TID.cpuCost);
  }

  nameTrack(tid: number): void {
    if (this.named.has(tid)) return;
    this.named.add(tid);
    this.tl.meta(this.pid, tid, 'thread_name', { name: TRACK_NAMES[tid] ?? `track ${tid}` });
    this.tl.meta(this.pid, tid, 'thread_sort_index', { sort_index: tid });
  }

  track(tid: number): XTrack {
    let t = this.tracks.get(tid);
    if (t === undefined) {
      this.nameTrack(tid);
      t = new XTrack(this.tl, this.pid, tid);
      this.tracks.set(tid, t);
    }
    return t;
  }

  // ---- CpuObserver ---------------------------------------------------------------------------

  burstStart(atNs: number): void {
    this.burstOpen = true;
    this.burstStartNs = atNs;
    this.bodies.length = 0;
  }

  bodyStart(kind: BodyKind, category: string, atNs: number): void {
    const b: Body = { kind, category, startNs: atNs, label: '', args: undefined, cats: [], cycles: [], totalCycles: 0 };
    if (kind === 'hard') {
      const active = this.host.intc.active;
      const names: string[] = [];
      for (let bit = 0; bit < 8; bit++) {
        if ((active & (1 << bit)) === 0) continue;
        const target = this.host.bus.slotTarget(bit)?.name ?? `slot ${bit}`;
        names.push(target.startsWith(this.host.name + '.') ? target.slice(this.host.name.length + 1) : target);
      }
      b.label = `irq ${names.length > 0 ? names.join('+') : '(none pending)'}`;
    } else if (kind === 'soft') b.label = 'kernel work (soft interrupt)';
    else b.label = `${category} burst`;
    this.current = b;
    if (this.burstOpen) this.bodies.push(b);
  }

  charge(cycles: number, category: string): void {
    const b = this.current;
    if (b === undefined) return;
    const n = b.cats.length;
    if (n > 0 && b.cats[n - 1] === category) b.cycles[n - 1]! += cycles;
    else {
      b.cats.push(category);
      b.cycles.push(cycles);
    }
  }

  bodyResume(_atNs: number): void {
    this.current = this.suspended.pop();
  }

  bodyEnd(cycles: number, suspended: boolean): void {
    if (this.current !== undefined) {
      this.current.totalCycles += cycles;
      if (suspended) this.suspended.push(this.current);
    }
    this.current = undefined;
  }

  burstEnd(atNs: number): void {
    if (!this.burstOpen) return;
    this.burstOpen = false;
    const own = this.bodies[0];
    if (own === undefined) return;
    const ownNs = this.occupiedNs(own);
    let cursor = this.burstStartNs;
    let done = 0; // ns of the burst's own body laid out so far
    for (let i = 1; i < this.bodies.length; i++) {
      const irq = this.bodies[i]!;
      const at = Math.max(irq.startNs, cursor);
      let upTo = done + (at - cursor);
      if (upTo > ownNs) {
        upTo = ownNs;
        this.tl.cpuLayoutMismatches++;
      }
      this.layOut(own, done, upTo, cursor);
      cursor += upTo - done;
      done = upTo;
      this.tl.instant(this.pid, TID.cpu, irq.label, 'irq', cursor);
      const irqNs = this.occupiedNs(irq);
      this.layOut(irq, 0, irqNs, cursor);
      cursor += irqNs;
    }
    if (own.kind !== 'burst') this.tl.instant(this.pid, TID.cpu, own.label, 'irq', cursor);
    this.layOut(own, done, ownNs, cursor);
    cursor += ownNs - done;
    if (cursor !== atNs) this.tl.cpuLayoutMismatches++;
    this.bodies.length = 0;
  }

  irqLine(atNs: number, pending: boolean): void {
    this.tl.counter(this.pid, 'CPU interrupt line', pending ? 1 : 0, atNs);
  }

  private occupiedNs(b: Body): number {
    return Math.round(Math.max(1, b.totalCycles) * this.cycleNs);
  }

  /** Emit the part [fromNs, toNs) of body `b`'s own time, starting at real time `atNs`. */
  private layOut(b: Body, fromNs: number, toNs: number, atNs: number): void {
    if (toNs <= fromNs) return;
    const cat = b.kind === 'burst' ? 'cpu' : 'irq';
    this.tl.slice(this.pid, TID.cpu, { name: b.label, cat, startNs: atNs, endNs: atNs + (toNs - fromNs), args: b.args });
    let cum = 0;
    let lo = 0;
    for (let k = 0; k <= b.cats.length; k++) {
      let hi: number;
      let name: string;
      if (k < b.cats.length) {
        cum += b.cycles[k]!;
        hi = Math.round(cum * this.cycleNs);
        name = b.cats[k]!;
      } else {
        hi = this.occupiedNs(b);
        name = MINIMUM_CATEGORY;
      }
      const s = Math.max(lo, fromNs);
      const e = Math.min(hi, toNs);
      if (e > s) this.tl.slice(this.pid, TID.cpuCost, { name, cat: 'cost', startNs: atNs + (s - fromNs), endNs: atNs + (e - fromNs), args: undefined });
      lo = hi;
      if (lo >= toNs) break;
    }
  }

  // ---- labels from the kernel's records ----------------------------------------------------

  /** A kernel record made while a body of this host runs names what the body is. */
  kernelRecord(r: TraceRecord): void {
    const b = this.current;
    if (b === undefined || b.kind !== 'burst') return;
    if (r.kind === 'trap') {
      b.label = this.threadLabel(r.b);
      b.args = { thread: r.b, syscall: SYSCALL_NAMES.get(r.a) ?? `#${r.a}` };
    } else if ((r.kind === 'task.exit' || r.kind === 'exception') && b.args === undefined) {
      const task = this.kernel?.tasks.get(r.a);
      b.label = task === undefined ? `task ${r.a}` : `${task.name} (task ${r.a})`;
      b.args = { task: r.a, event: r.kind === 'task.exit' ? `exit ${r.text}` : `exception ${r.text}` };
    }
  }

  private threadLabel(threadId: number): string {
    let label = this.threadLabels.get(threadId);
    if (label !== undefined) return label;
    label = `thread ${threadId}`;
    for (const task of this.kernel?.tasks.values() ?? []) {
      if (task.threads.some((t) => t.id === threadId)) {
        label = `${task.name} t${threadId}`;
        break;
      }
    }
    this.threadLabels.set(threadId, label);
    return label;
  }

  /** A burst still running when the run stopped: lay it out to its planned end (its time is already in the CPU's busy total). */
  private finishOpenBurst(): void {
    if (!this.burstOpen) return;
    let end = this.burstStartNs;
    for (const b of this.bodies) end += this.occupiedNs(b);
    this.burstEnd(end);
  }

  flush(endNs: number): void {
    this.finishOpenBurst();
    for (const t of [...this.tracks.keys()].sort((a, b) => a - b)) this.tracks.get(t)!.flush(endNs);
  }
}

/** The timeline of one run. Build it with `TimelineWorld`; call `finish` after the run. */
export class PerfettoTimeline implements ActivityObserver {
  private readonly out: JsonStream;
  private readonly hosts: HostTimeline[] = [];
  private readonly bySource = new Map<string, HostTimeline | null>();
  private readonly frames = new WeakMap<Uint8Array, FrameInfo>();
  /** Attempts sent and waiting for their arrival (closed as lost by `finish` otherwise). */
  private readonly inFlight = new Set<FrameInfo>();
  private readonly counters = new Map<string, number>();
  private readonly otherPids = new Map<string, number>();
  private nextId = 1;
  private detached = false;
  cpuLayoutMismatches = 0;
  private readonly onRecord = (r: TraceRecord): void => this.record(r);

  constructor(
    private readonly world: World,
    options: TimelineOptions,
  ) {
    this.out = new JsonStream(options.sink, options.eventsMax ?? TRACE_EVENTS_MAX_DEFAULT);
    world.trace.observer = this;
    world.trace.taps.on('record', this.onRecord);
  }

  addHost(host: DecStation5000): void {
    const h = new HostTimeline(this, host, this.hosts.length + 1);
    this.hosts.push(h);
    this.bySource.clear();
    if (!this.detached) host.cpu.observer = h;
    tapHostOptions(host, this.registerLog);
  }

  /** Device register accesses become instant events on their host's "device registers" track. */
  readonly registerLog = ((): AccessLog => {
    const log = new AccessLog(true);
    log.keep = false;
    log.listener = (e) => this.registerAccess(e);
    return log;
  })();

  private registerAccess(e: RegisterAccess): void {
    if (this.detached) return;
    const h = this.hostOf(e.device);
    if (h === undefined) return;
    h.nameTrack(TID.registers);
    const name = `${e.kind === 'read' ? 'R' : 'W'} ${e.register} ${e.kind === 'read' ? '->' : '='} 0x${e.value.toString(16)}${e.decoded === '' ? '' : ` ${e.decoded}`}`;
    this.instant(h.pid, TID.registers, name, 'register', e.timeNs);
  }

  addKernel(host: DecStation5000, kernel: Kernel): void {
    const h = this.hosts.find((x) => x.host === host);
    if (h !== undefined) h.kernel = kernel;
  }

  // ---- output ------------------------------------------------------------------------------

  meta(pid: number, tid: number, name: string, args: object): void {
    this.out.meta(`{"ph":"M","pid":${pid},"tid":${tid},"name":${JSON.stringify(name)},"args":${JSON.stringify(args)}}`);
  }

  slice(pid: number, tid: number, s: Slice): void {
    if (s.endNs <= s.startNs) return;
    const args = s.args === undefined ? '' : `,"args":${JSON.stringify(s.args)}`;
    this.emit(
      `{"ph":"X","pid":${pid},"tid":${tid},"name":${JSON.stringify(s.name)},"cat":"${s.cat}","ts":${formatUs(s.startNs)},"dur":${formatUs(s.endNs - s.startNs)}${args}}`,
      s.startNs,
    );
  }

  instant(pid: number, tid: number, name: string, cat: string, atNs: number): void {
    this.emit(`{"ph":"i","pid":${pid},"tid":${tid},"name":${JSON.stringify(name)},"cat":"${cat}","ts":${formatUs(atNs)},"s":"t"}`, atNs);
  }

  counter(pid: number, name: string, value: number, atNs: number): void {
    this.emit(`{"ph":"C","pid":${pid},"tid":0,"name":${JSON.stringify(name)},"ts":${formatUs(atNs)},"args":{"value":${value}}}`, atNs);
  }

  private emit(line: string, atNs: number): void {
    if (!this.out.event(line, atNs)) this.detach();
  }

  /** Limit reached: stop observing so the rest of the run costs nothing. */
  private detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.registerLog.on = false;
    for (const h of this.hosts) h.host.cpu.observer = undefined;
    this.world.trace.observer = undefined;
    this.world.trace.taps.off('record', this.onRecord);
  }

  private hostOf(source: string): HostTimeline | undefined {
    let h = this.bySource.get(source);
    if (h === undefined) {
      h = this.hosts.find((x) => source === x.host.name || source.startsWith(x.host.name + '.')) ?? null;
      this.bySource.set(source, h);
    }
    return h ?? undefined;
  }

  /** A process for a station that is not a host (a wire endpoint built outside any host). */
  private pidOf(station: string): number {
    const h = this.hostOf(station);
    if (h !== undefined) return h.pid;
    let pid = this.otherPids.get(station);
    if (pid === undefined) {
      pid = 1000 + this.otherPids.size;
      this.otherPids.set(station, pid);
      this.meta(pid, 0, 'process_name', { name: station });
    }
    return pid;
  }

  // ---- trace records -----------------------------------------------------------------------

  private record(r: TraceRecord): void {
    const h = this.hostOf(r.source);
    if (h === undefined) return;
    switch (r.kind) {
      case 'trap':
      case 'task.exit':
      case 'exception':
        h.kernelRecord(r);
        return;
      case 'lance.tx':
        h.track(TID.lanceTx).push({ name: 'transmit', cat: 'lance', startNs: r.timeNs, endNs: Infinity, args: { bytes: r.b, tmd: r.a } });
        return;
      case 'lance.tint': {
        const open = h.track(TID.lanceTx).open;
        if (open === undefined) return;
        open.endNs = r.timeNs;
        open.args = { ...open.args, status: `0x${(r.b >>> 0).toString(16)}` };
        return;
      }
      case 'lance.rint':
      case 'lance.miss': {
        const last = h.track(TID.lanceRx).last;
        if (last !== undefined && last.endNs === r.timeNs) {
          last.name = r.kind === 'lance.rint' ? 'receive' : 'receive (MISS: no buffer)';
          last.args = { ...last.args, rmd: r.a };
        }
        return;
      }
      default:
        return;
    }
  }

  // ---- ActivityObserver --------------------------------------------------------------------

  span(source: string, what: string, startNs: number, endNs: number, a: number, frame?: Uint8Array): void {
    const h = this.hostOf(source);
    if (h === undefined) return;
    let tid: number;
    let args: object;
    if (what === 'rx dma') {
      tid = TID.an1RxDma;
      args = { bytes: a };
    } else if (what === 'tx dma') {
      tid = TID.an1TxDma;
      args = { bytes: a };
    } else if (what.startsWith('firmware')) {
      tid = TID.an1Firmware;
      args = { cycles: a };
    } else return;
    const s: Slice = { name: what, cat: 'an1', startNs, endNs, args };
    h.track(tid).push(s);
    if (frame !== undefined) this.flowEnd(frame, h.pid, tid, s.startNs);
  }

  frameSent(source: string, frame: Uint8Array): void {
    const h = this.hostOf(source);
    if (h === undefined || this.frames.has(frame)) return;
    this.frames.set(frame, { pid: h.pid, link: '', spanId: 0, startNs: 0, sentEndNs: 0, attempts: 0, flowId: 0, bytes: frame.length });
  }

  wireStart(link: string, station: string, frame: Uint8Array, startNs: number): void {
    let f = this.frames.get(frame);
    if (f === undefined) {
      f = { pid: this.pidOf(station), link, spanId: 0, startNs: 0, sentEndNs: 0, attempts: 0, flowId: 0, bytes: frame.length };
      this.frames.set(frame, f);
    }
    (f as { link: string }).link = link;
    f.attempts++;
    f.spanId = this.nextId++;
    f.startNs = startNs;
    this.emit(
      `{"ph":"b","pid":${f.pid},"tid":${TID.wireOut},"name":${JSON.stringify(`${link} in flight`)},"cat":"wire","id2":{"local":"${f.spanId}"},"ts":${formatUs(startNs)},"args":{"bytes":${f.bytes},"attempt":${f.attempts}}}`,
      startNs,
    );
  }

  wireEnd(link: string, station: string, frame: Uint8Array, endNs: number, result: string): void {
    const f = this.frames.get(frame);
    if (f === undefined || f.spanId === 0) return;
    const h = this.hosts[f.pid - 1];
    if (h !== undefined && this.hostOf(station) === h) {
      h.track(TID.wireOut).push({ name: `${link} ${result}`, cat: 'wire', startNs: f.startNs, endNs, args: { bytes: f.bytes, attempt: f.attempts } });
    }
    if (result === 'sent') {
      f.sentEndNs = endNs;
      this.inFlight.add(f);
      f.flowId = h === undefined ? 0 : this.nextId++;
      if (h !== undefined) this.emit(`{"ph":"s","pid":${f.pid},"tid":${TID.wireOut},"name":"frame","cat":"flow","id":${f.flowId},"ts":${formatUs(f.startNs)}}`, f.startNs);
    } else this.endSpan(f, endNs, result);
  }

  frameArrived(source: string, frame: Uint8Array, atNs: number): void {
    const f = this.frames.get(frame);
    const h = this.hostOf(source);
    if (f !== undefined && f.spanId !== 0 && this.inFlight.has(f)) {
      this.inFlight.delete(f);
      this.endSpan(f, atNs, `delivered to ${h?.host.name ?? source}`);
    }
    if (h === undefined || !source.endsWith('.lance')) return;
    // The LANCE receives for the frame's whole time on the wire, ending at its last bit.
    const s: Slice = { name: 'receive (not accepted)', cat: 'lance', startNs: atNs - EthernetSegment.wireNs(frame.length), endNs: atNs, args: { bytes: frame.length } };
    h.track(TID.lanceRx).push(s);
    this.flowEnd(frame, h.pid, TID.lanceRx, s.startNs);
  }

  level(source: string, what: string, value: number, atNs: number): void {
    const h = this.hostOf(source);
    if (h === undefined) return;
    const component = source.slice(h.host.name.length + 1);
    const name = `${component} ${what}`;
    const key = `${h.pid}|${name}`;
    if (this.counters.get(key) === value) return;
    this.counters.set(key, value);
    this.counter(h.pid, name, value, atNs);
  }

  private endSpan(f: FrameInfo, atNs: number, result: string): void {
    this.emit(
      `{"ph":"e","pid":${f.pid},"tid":${TID.wireOut},"name":${JSON.stringify(`${f.link} in flight`)},"cat":"wire","id2":{"local":"${f.spanId}"},"ts":${formatUs(atNs)},"args":{"result":${JSON.stringify(result)}}}`,
      atNs,
    );
    f.spanId = 0;
  }

  private flowEnd(frame: Uint8Array, pid: number, tid: number, atNs: number): void {
    const f = this.frames.get(frame);
    if (f === undefined || f.flowId === 0) return;
    this.emit(`{"ph":"f","bp":"e","pid":${pid},"tid":${tid},"name":"frame","cat":"flow","id":${f.flowId},"ts":${formatUs(atNs)}}`, atNs);
    f.flowId = 0;
  }

  // ---- end ---------------------------------------------------------------------------------

  /** Close open spans at the run's end, write `otherData` and the container's end. */
  finish(info: { readonly scenario: string; readonly seed: number; readonly fingerprint: string; readonly simTimeNs: number }): TimelineSummary {
    const endNs = this.world.sched.now;
    if (!this.detached) {
      for (const h of this.hosts) h.flush(endNs);
      for (const f of this.inFlight) if (f.spanId !== 0) this.endSpan(f, f.sentEndNs, 'not delivered');
    }
    this.inFlight.clear();
    this.detach();
    const summary: TimelineSummary = {
      eventsWritten: this.out.eventsWritten,
      eventsMax: this.out.eventsMax,
      truncated: this.out.truncated,
      cpuLayoutMismatches: this.cpuLayoutMismatches,
    };
    this.out.close({
      generator: 'ulp-emu studies/trace/perfetto.ts',
      scenario: info.scenario,
      seed: info.seed,
      fingerprint: info.fingerprint,
      simTimeNs: info.simTimeNs,
      hosts: this.hosts.map((h) => h.host.name),
      ...summary,
      ...(this.out.truncated ? { truncatedAtNs: this.out.truncatedAtNs, note: `event limit ${this.out.eventsMax} reached: recording stopped at about truncatedAtNs (spans open then stay open; --trace-limit N raises the limit)` } : {}),
    });
    return summary;
  }
}

/** A world whose hosts and kernels report to a timeline as they are built. */
export class TimelineWorld extends World {
  readonly timeline: PerfettoTimeline;

  constructor(options: WorldOptions, timeline: TimelineOptions) {
    super(options);
    this.timeline = new PerfettoTimeline(this, timeline);
  }

  override addHost(name: string, ramBytes?: number): DecStation5000 {
    const host = super.addHost(name, ramBytes);
    this.timeline.addHost(host);
    return host;
  }

  override bootKernel(host: DecStation5000): Kernel {
    const kernel = super.bootKernel(host);
    this.timeline.addKernel(host, kernel);
    return kernel;
  }
}

/**
 * `ulp run --trace-registers FILE`: log the register accesses of every host `world` builds from
 * now on into `log` (observers only; the run and its fingerprint are unchanged).
 */
export function traceRegisters(world: World, log: AccessLog): void {
  const add = world.addHost.bind(world);
  world.addHost = (name: string, ramBytes?: number): DecStation5000 => {
    const host = add(name, ramBytes);
    tapHostOptions(host, log);
    return host;
  };
}

/** The access log as text, one line per access (docs/devkit.md "The register access log"). */
export function registerLogText(log: AccessLog): string {
  const lines = log.entries.map(formatAccess);
  if (log.dropped > 0) lines.push(`(${log.dropped} later accesses not kept: the log keeps ${log.entries.length})`);
  return lines.join('\n') + '\n';
}
