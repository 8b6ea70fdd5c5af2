/**
 * `mb93-primitives`: the rows of Maeda & Bershad's one-way UDP latency breakdown (MB93 Table 4,
 * library column; DECstation 5000/200, 10 Mb/s Ethernet — the same machine; figures in
 * ../shared/kernel/mach-semantics.md §10) measured on the emulator, beside the published ranges.
 * These are the published *primitives* the per-packet fixed costs are calibrated on
 * (docs/calibration.md); the paper's Tables 2–4 are predictions and never fitting targets.
 *
 * Two hosts on an idle segment, each with the network I/O module. On A a task sends frames
 * (small: 60 bytes, a 1-byte UDP datagram's frame after padding; max: 1514) from its channel, one
 * every 3 ms, so every send finds the LANCE idle and every receive interrupt carries one frame.
 * On B a task waits on its channel's semaphore. Measured by running (simulated time and the CPU
 * accounting), per frame:
 *
 * - ether output: A's `net_send` as the sender sees it, trap to return — template check, PIO of
 *   the frame and descriptor into the LANCE buffer, TDMD — from the guest's clock reads, the
 *   bracketing clock trap taken out (userland/apps/mb93-primitives.ts).
 * - network transit: the LANCE's transmit start on A to RINT on B (trace records).
 * - device interrupt/read: B's cycles in `interrupt`, `driver` and `pio`, less the PIO the
 *   network I/O module does (header read, frame copy): interrupt entry, CSR0, descriptors.
 * - packet filter demux: the module's header read by PIO plus its `netio` cycles (classify,
 *   lookup, ring record), less the semaphore signal.
 * - copyout: the PIO copy of the frame from the LANCE buffer into the stock driver's net_kmsg,
 *   and the module's copy of it into the channel's slot (cpu.memcpy*).
 * - net_kmsg hand-off (no MB93 row: its library's integrated filter copied straight from the
 *   board): the stock Mach 3.0 driver's net_kmsg get, queue, AST delivery and put-back.
 * - wake user thread: from the module's semaphore signal (its start, CPU-local time) to the
 *   woken thread's first trap (its clock read): signal, switch, return to user, clock trap.
 *
 * The five receive rows add up to `frameArrivalToThreadUs` (RINT → the thread's clock read),
 * measured on its own: a test holds them to it, so no receive-side time escapes the breakdown.
 *
 * And the kernel column's device read (MB93 74 µs small, 469–497 max: the driver copies the
 * whole frame out of LANCE memory): the same per-frame accounting with the driver's own
 * copy-out path and no module.
 */
import { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import { Priority } from '../../emulator/sim/scheduler.ts';
import { msToNs } from '../../emulator/sim/time.ts';
import type { TraceRecord } from '../../emulator/sim/trace.ts';
import type { CpuPort } from '../../emulator/bus/index.ts';
import { mb93Receiver, mb93Sender } from '../../userland/apps/mb93-primitives.ts';
import type { World } from '../world.ts';
import { addNetioEthernetHost, logField, macHex } from './hosts.ts';
import type { Results, Scenario } from './types.ts';

const ETHERTYPE = 0x88b5;
const GAP_NS = 3_000_000;
const FRAMES = 40;
const SMALL = 60;
const MAX = 1514;
const NS_PER_CYCLE = 40;

/** MB93 Table 4, library column unless said (mach-semantics.md §10). */
export const MB93_PUBLISHED = {
  etherOutputSmallUs: { low: 98, high: 105, source: 'MB93 Table 4: ether output incl. trap + copy to wired buffer, library, 1-byte UDP' },
  etherOutputMaxUs: { low: 274, high: 280, source: 'MB93 Table 4: ether output, library, 1472-byte UDP' },
  networkTransitSmallUs: { low: 51, high: 51, source: 'MB93 Table 4: network transit, 1-byte UDP, 10 Mb/s' },
  networkTransitMaxUs: { low: 1214, high: 1214, source: 'MB93 Table 4: network transit, 1460-byte UDP, 10 Mb/s' },
  deviceInterruptReadSmallUs: { low: 39, high: 42, source: 'MB93 Table 4: device interrupt/read, small packets' },
  deviceReadKernelSmallUs: { low: 74, high: 74, source: 'MB93 Table 4: device interrupt/read, Mach 2.5 kernel column, small (the driver copies the frame out; mach-semantics.md §10 derives 0.28 µs/B from (481−74)/1471 B)' },
  deviceReadKernelMaxUs: { low: 469, high: 497, source: 'MB93 Table 4: device interrupt/read of a 1460–1472-byte frame when the driver copies it out of LANCE memory (kernel column)' },
  packetFilterDemuxUs: { low: 52, high: 95, source: 'MB93 Table 4: netisr / packet filter demultiplexing (an interpreted filter; the paper\'s is compiled)' },
  copyoutSmallUs: { low: 107, high: 123, source: 'MB93 Table 4: copyout, library (integrated filter copies from LANCE memory into the library\'s space), small' },
  copyoutMaxUs: { low: 517, high: 534, source: 'MB93 Table 4: copyout, library, max-size' },
  wakeUserThreadUs: { low: 73, high: 95, source: 'MB93 Table 4: wake user thread, library column (Mach 2.5 kernel column 54–70)' },
} as const;

type Mb93Key = keyof typeof MB93_PUBLISHED;

const round2 = (x: number): number => Math.round(x * 100) / 100;
const us = (cycles: number, n: number): number => round2((cycles * NS_PER_CYCLE) / 1000 / Math.max(1, n));

const CATEGORIES = ['interrupt', 'driver', 'pio', 'netio'] as const;
function categories(cpu: CpuPort): Record<(typeof CATEGORIES)[number], number> {
  return { interrupt: cpu.cyclesByCategory.get('interrupt') ?? 0, driver: cpu.cyclesByCategory.get('driver') ?? 0, pio: cpu.cyclesByCategory.get('pio') ?? 0, netio: cpu.cyclesByCategory.get('netio') ?? 0 };
}

/** Mean of (b − a) over matched pairs of trace times, in µs. */
function meanGapUs(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let s = 0;
  for (let i = 0; i < n; i++) s += b[i]! - a[i]!;
  return round2(s / Math.max(1, n) / 1000);
}

/** The library path through channels, one frame size: every row but the kernel column's read. */
export function runChannelPath(world: World, frameBytes: number, tag: string): Results {
  const seg = new EthernetSegment(world, { name: `mb93-${tag}` });
  const a = addNetioEthernetHost(world, seg, `mb93-${tag}-a`, Uint8Array.of(8, 0, 0x2b, 0, 0x93, 1));
  const b = addNetioEthernetHost(world, seg, `mb93-${tag}-b`, Uint8Array.of(8, 0, 0x2b, 0, 0x93, 2));
  world.sched.runUntil(() => a.up && b.up, { nsMax: msToNs(10) });

  const sp: Record<string, number | string> = { frames: FRAMES, frameBytes, gapNs: GAP_NS, etherType: ETHERTYPE, dst: macHex(b.mac), src: macHex(a.mac) };
  const rp: Record<string, number> = { frames: FRAMES, idleNs: 20 * GAP_NS };
  const receiver = b.kernel.spawn('mb93-receiver', mb93Receiver, { params: rp });
  const rc = b.netio.createChannel(receiver, receiver, 'ethernet', 32, 1, { demux: { kind: 'raw', etherType: ETHERTYPE, srcMac: a.mac }, isDefault: false, template: [] });
  Object.assign(rp, { channel: rc.name, address: rc.address, sem: rc.sem });
  world.sched.runUntil(() => receiver.threads[0]?.state.kind === 'blocked', { nsMax: msToNs(10) });
  const sender = a.kernel.spawn('mb93-sender', mb93Sender, { params: sp });
  const sc = a.netio.createChannel(sender, sender, 'ethernet', 4, 1, {
    demux: { kind: 'raw', etherType: ETHERTYPE, srcMac: b.mac },
    isDefault: false,
    template: [
      { offset: 0, bytes: b.mac },
      { offset: 6, bytes: a.mac },
      { offset: 12, bytes: Uint8Array.of(ETHERTYPE >>> 8, ETHERTYPE & 0xff) },
    ],
  });
  Object.assign(sp, { channel: sc.name, address: sc.address, sem: sc.sem });

  // Observation only: the module's signal (start, end) at B's CPU-local time, and the LANCEs'
  // transmit start and RINT from the trace. Neither feeds back into the run.
  const signalStartNs: number[] = [];
  let signalCycles = 0;
  const cpu = b.host.cpu;
  const batchEnd = b.driver.onReceiveBatchEnd;
  b.driver.onReceiveBatchEnd = () => {
    const t0 = cpu.localNow();
    batchEnd?.();
    signalStartNs.push(t0);
    signalCycles += (cpu.localNow() - t0) / NS_PER_CYCLE;
  };
  const txStart: number[] = [];
  const rint: number[] = [];
  const tap = (r: TraceRecord): void => {
    if (r.kind === 'lance.tx' && r.source === `${a.name}.lance`) txStart.push(r.timeNs);
    else if (r.kind === 'lance.rint' && r.source === `${b.name}.lance`) rint.push(r.timeNs);
  };
  world.trace.taps.on('record', tap);

  const c0 = categories(cpu);
  const s0 = {
    header: b.netio.stats.rxHeaderPioCycles, copy: b.netio.stats.rxCopyPioCycles, delivered: b.netio.stats.rxDelivered,
    kmsg: b.netio.stats.rxKmsgCycles, kmsgCopy: b.netio.stats.rxKmsgCopyCycles,
  };
  const outcome = world.sched.runUntil(() => !sender.alive && !receiver.alive, { nsMax: FRAMES * GAP_NS + msToNs(200) });
  world.trace.taps.off('record', tap);
  b.driver.onReceiveBatchEnd = batchEnd;

  const c1 = categories(cpu);
  const n = b.netio.stats.rxDelivered - s0.delivered;
  const header = b.netio.stats.rxHeaderPioCycles - s0.header;
  const copy = b.netio.stats.rxCopyPioCycles - s0.copy;
  const kmsg = b.netio.stats.rxKmsgCycles - s0.kmsg;
  const kmsgCopy = b.netio.stats.rxKmsgCopyCycles - s0.kmsgCopy;
  const d = (k: (typeof CATEGORIES)[number]): number => c1[k] - c0[k];
  const wakeups = logField(receiver, 'wakeups');
  const wakeSumNs = logField(receiver, 'wakeClockSumNs') - signalStartNs.reduce((s, t) => s + t, 0);
  return {
    outcome,
    frameBytes,
    framesSent: logField(sender, 'sent'),
    framesDelivered: n,
    wakeups,
    signals: signalStartNs.length,
    etherOutputUs: round2(logField(sender, 'outputNs') / 1000),
    clockTrapUs: round2(logField(sender, 'clockTrapNs') / 1000),
    networkTransitUs: meanGapUs(txStart, rint),
    deviceInterruptReadUs: us(d('interrupt') + d('driver') + d('pio') - header - copy, n),
    packetFilterDemuxUs: us(header + d('netio') - signalCycles, n),
    // The PIO copy out of the board into the driver's net_kmsg, and the module's copy into the slot.
    copyoutUs: us(copy + kmsgCopy, n),
    // The stock Mach 3.0 driver's net_kmsg hand-off (netio.rxKmsgCycles): not in MB93's library
    // column, whose integrated filter copied from the board straight into the library.
    kmsgHandoffUs: us(kmsg, n),
    wakeUserThreadUs: round2(wakeSumNs / Math.max(1, wakeups) / 1000),
    // RINT → the woken thread's clock read: the four receive rows above add up to it.
    frameArrivalToThreadUs: round2((logField(receiver, 'wakeClockSumNs') - rint.reduce((s, t) => s + t, 0)) / Math.max(1, wakeups) / 1000),
    byCategoryUs: {
      interrupt: us(d('interrupt'), n), driver: us(d('driver'), n), pio: us(d('pio'), n), netio: us(d('netio'), n), headerPio: us(header, n), signal: us(signalCycles, n),
      kmsg: us(kmsg, n), kmsgCopy: us(kmsgCopy, n),
    },
  };
}

/** The kernel column's device read: the driver copies each whole frame out of LANCE memory. */
export function runKernelRead(world: World, frameBytes: number, tag: string): Results {
  const seg = new EthernetSegment(world, { name: `mb93-${tag}` });
  const a = addNetioEthernetHost(world, seg, `mb93-${tag}-a`, Uint8Array.of(8, 0, 0x2b, 0, 0x93, 3), false);
  const b = addNetioEthernetHost(world, seg, `mb93-${tag}-b`, Uint8Array.of(8, 0, 0x2b, 0, 0x93, 4), false);
  world.sched.runUntil(() => a.up && b.up, { nsMax: msToNs(10) });
  const frame = new Uint8Array(frameBytes);
  frame.set(b.mac, 0);
  frame.set(a.mac, 6);
  frame[12] = ETHERTYPE >>> 8;
  frame[13] = ETHERTYPE & 0xff;
  let received = 0;
  b.driver.onFrame = () => {
    received++;
  };
  const cpu = b.host.cpu;
  const c0 = categories(cpu);
  let sent = 0;
  const tick = world.sched.createEvent(`mb93-${tag}.sender`, Priority.timer, () => {
    a.kernel.postKernelWork(() => void a.driver.transmit(frame));
    if (++sent < FRAMES) world.sched.schedule(tick, world.sched.now + GAP_NS);
  });
  world.sched.schedule(tick, world.sched.now + GAP_NS);
  const outcome = world.sched.runUntil(() => received >= FRAMES, { nsMax: FRAMES * GAP_NS + msToNs(200) });
  const c1 = categories(cpu);
  return { outcome, frameBytes, framesReceived: received, deviceReadUs: us(c1.interrupt - c0.interrupt + c1.driver - c0.driver + c1.pio - c0.pio, received) };
}

/** One row per published figure: the emulator's value, the range, emulator / range midpoint. */
export function mb93Rows(values: Readonly<Record<Mb93Key, number>>): Results {
  const out: Record<string, Results> = {};
  for (const [k, p] of Object.entries(MB93_PUBLISHED) as [Mb93Key, (typeof MB93_PUBLISHED)[Mb93Key]][]) {
    const v = values[k];
    out[k] = { emulator: v, low: p.low, high: p.high, ratio: round2(v / ((p.low + p.high) / 2)), inRange: v >= p.low && v <= p.high };
  }
  return out;
}

export const mb93PrimitivesScenario: Scenario = {
  name: 'mb93-primitives',
  summary: 'MB93 Table 4 rows (one-way latency breakdown on a DECstation 5000/200): ether output, transit, device read, demux, copyout, wake-up, beside the published ranges',
  // Printed beside the results (`ulp run`): MB93's figure, the midpoint where it gives a range.
  paper: Object.fromEntries(Object.entries(MB93_PUBLISHED).map(([k, p]) => [k, (p.low + p.high) / 2])),
  run(world) {
    const small = runChannelPath(world, SMALL, 'small');
    const max = runChannelPath(world, MAX, 'max');
    const kernelSmall = runKernelRead(world, SMALL, 'ksmall');
    const kernelMax = runKernelRead(world, MAX, 'kmax');
    const num = (r: Results, k: string): number => r[k] as number;
    const values: Record<Mb93Key, number> = {
      etherOutputSmallUs: num(small, 'etherOutputUs'),
      etherOutputMaxUs: num(max, 'etherOutputUs'),
      networkTransitSmallUs: num(small, 'networkTransitUs'),
      networkTransitMaxUs: num(max, 'networkTransitUs'),
      deviceInterruptReadSmallUs: num(small, 'deviceInterruptReadUs'),
      deviceReadKernelSmallUs: num(kernelSmall, 'deviceReadUs'),
      deviceReadKernelMaxUs: num(kernelMax, 'deviceReadUs'),
      packetFilterDemuxUs: num(small, 'packetFilterDemuxUs'),
      copyoutSmallUs: num(small, 'copyoutUs'),
      copyoutMaxUs: num(max, 'copyoutUs'),
      wakeUserThreadUs: num(small, 'wakeUserThreadUs'),
    };
    const done = [small, max, kernelSmall, kernelMax].every((r) => r['outcome'] === 'done');
    return { outcome: done ? 'done' : 'limit', ...values, mb93: mb93Rows(values), small, max, kernelSmall, kernelMax };
  },
};
