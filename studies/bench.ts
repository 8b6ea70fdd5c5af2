/**
 * `ulp bench` / `npm run bench`: the emulator's own speed in wall-clock terms. A benchmark, never
 * a test: the figures vary with the machine and its load (a test checks only the output's shape).
 *
 * Steady state by difference: each workload runs at two lengths (a short and a long run, each in
 * a fresh world) several times in one warmed-up process; the per-packet cost is
 *   (wall(long) − wall(short)) / (packets(long) − packets(short)),
 * each length's fastest run standing for it (a shared machine only ever slows a run down), so
 * set-up (building and booting the hosts, registry and connection set-up) cancels out and is
 * reported apart: the short run's wall time less its packets at the steady-state cost.
 * A packet is a frame handed to a medium by any MAC (data and acknowledgements, both directions).
 * Each workload runs in a child process of its own, so its peak RSS is its own.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Priority, Scheduler } from '../emulator/sim/scheduler.ts';
import { TimingWheel, WheelTimer } from '../emulator/sim/timing-wheel.ts';
import type { ActivityObserver } from '../emulator/sim/trace.ts';
import { World } from './world.ts';
import { runRawEthernet } from './scenarios/raw-ethernet.ts';
import { RAW_AN1_DEFAULTS, runRawAn1 } from './scenarios/raw-an1.ts';
import { runTtcp } from './scenarios/paper-table2-library.ts';
import { runKernelTtcp } from './scenarios/paper-table2-ultrix.ts';
import { UsageError } from './run.ts';

/** The scheduler benches start their clock here: past 2^32 ns, as in any run longer than 4.3 s. */
const CLOCK_START_NS = 2 ** 32 + 1_000_003;

export interface SchedulerRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly note: string;
}

export interface WorkloadRow {
  readonly workload: string;
  readonly description: string;
  /** Steady-state wall µs per simulated packet: (fastest long run − fastest short run) / extra packets. */
  readonly wallUsPerPacket: number;
  /** Steady-state CPU µs (user + system, all threads) per simulated packet: less sensitive to a loaded machine. */
  readonly cpuUsPerPacket: number;
  /** Scheduler events per simulated packet at steady state. */
  readonly eventsPerPacket: number;
  /** Wall ms of the fastest short run that is not its packets: set-up, boot, connection, tear-down. */
  readonly setupMs: number;
  /** Packets in the short and the long run. */
  readonly packets: readonly [number, number];
  /** Simulated seconds per wall second over the long runs. */
  readonly simSecondsPerWallSecond: number;
  /** Repetitions measured (after one warm-up of each length). */
  readonly reps: number;
  /** The wall µs per packet of each repetition's own pair (their spread says how noisy the machine was). */
  readonly wallUsPerPacketEach: readonly number[];
  /** Peak resident set of the process that ran the workload (MB). */
  readonly peakRssMb: number;
}

export interface BenchReport {
  readonly scheduler: readonly SchedulerRow[];
  readonly workloads: readonly WorkloadRow[];
}

interface Workload {
  readonly name: string;
  readonly description: string;
  /** The workload's size parameter for the short and long runs (full bench, quick bench). */
  readonly sizes: readonly [number, number];
  readonly quickSizes: readonly [number, number];
  run(world: World, size: number): void;
}

const KB = 1024;

export const WORKLOADS: readonly Workload[] = [
  {
    name: 'raw-ethernet',
    description: 'raw frames, LANCE driver in the kernel, 10 Mb/s CSMA/CD segment with 1 % loss (frames)',
    sizes: [1_000, 6_000],
    quickSizes: [40, 120],
    run: (w, n) => void runRawEthernet(w, { frames: n }),
  },
  {
    name: 'raw-an1',
    description: 'raw frames, AN1 DMA, firmware and BQI rings, 100 Mb/s (frames)',
    sizes: [1_000, 6_000],
    quickSizes: [40, 120],
    run: (w, n) => void runRawAn1(w, { ...RAW_AN1_DEFAULTS, frames: n }),
  },
  {
    name: 'library-tcp-ethernet',
    description: 'user-level TCP library, ttcp 4 KB writes, Ethernet (bytes)',
    sizes: [128 * KB, 2048 * KB],
    quickSizes: [16 * KB, 48 * KB],
    run: (w, n) => void runTtcp(w, 'ethernet', 4096, n, 'b'),
  },
  {
    name: 'library-tcp-an1',
    description: 'user-level TCP library, ttcp 4 KB writes, AN1 (bytes)',
    sizes: [256 * KB, 4096 * KB],
    quickSizes: [16 * KB, 48 * KB],
    run: (w, n) => void runTtcp(w, 'an1', 4096, n, 'b'),
  },
  {
    name: 'monolithic-tcp-ethernet',
    description: 'in-kernel (Ultrix-like) TCP, ttcp 4 KB writes, Ethernet (bytes)',
    sizes: [128 * KB, 2048 * KB],
    quickSizes: [16 * KB, 48 * KB],
    run: (w, n) => void runKernelTtcp(w, 'ethernet', 4096, n, 'b'),
  },
];

/** Plain events: a ring of long-lived events, each rescheduling itself a pseudo-random delay ahead. */
function benchScheduler(totalEvents: number, pending: number): SchedulerRow {
  const sched = new Scheduler();
  sched.runFor(CLOCK_START_NS);
  let x = 12345;
  const events = Array.from({ length: pending }, (_, i) =>
    sched.createEvent(`e${i}`, Priority.device, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      sched.scheduleIn(events[i]!, 1 + (x % 10_000));
    }),
  );
  events.forEach((e, i) => sched.schedule(e, sched.now + i));
  const t0 = performance.now();
  while (sched.eventsFired < totalEvents) sched.step();
  const seconds = (performance.now() - t0) / 1000;
  return { name: `scheduler.eventsPerSecond.pending${pending}`, value: Math.round(totalEvents / seconds), unit: 'events/s', note: `${pending} pending, clock past 2^32 ns` };
}

/** Timers that are mostly cancelled: arm, and re-arm before expiry 9 times out of 10. */
function benchWheel(operations: number): SchedulerRow {
  const sched = new Scheduler();
  sched.runFor(CLOCK_START_NS);
  const wheel = new TimingWheel(sched, 1);
  const timers = Array.from({ length: 1024 }, (_, i) => new WheelTimer(`t${i}`, () => {}));
  let x = 99;
  const t0 = performance.now();
  for (let i = 0; i < operations; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const t = timers[x & 1023]!;
    wheel.arm(t, sched.now + 200_000_000 + (x % 1_000_000));
    if (i % 10 === 0) sched.runFor(50_000);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { name: 'wheel.armsPerSecond', value: Math.round(operations / seconds), unit: 'arms/s', note: '1024 timers, 200 ms deadlines, re-armed before expiry, clock past 2^32 ns' };
}

/** Counts frames handed to a medium (every MAC calls frameSent once per frame); observes only. */
class FrameCounter implements ActivityObserver {
  frames = 0;
  span(): void {}
  frameSent(): void {
    this.frames++;
  }
  wireStart(): void {}
  wireEnd(): void {}
  frameArrived(): void {}
  level(): void {}
}

interface OneRun {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly packets: number;
  readonly events: number;
  readonly simNs: number;
}

function gcIfExposed(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}

function runOnce(w: Workload, size: number): OneRun {
  gcIfExposed(); // only when the caller asked for it (node --expose-gc): see benchInChild
  const world = new World({ seed: 1 });
  const counter = new FrameCounter();
  world.trace.observer = counter;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  w.run(world, size);
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000, packets: counter.frames, events: world.sched.eventsFired, simNs: world.sched.now };
}

/** One workload in this process: a warm-up of each length, then `reps` short/long pairs. */
export function benchWorkload(name: string, options: { readonly quick?: boolean; readonly reps?: number } = {}): WorkloadRow {
  const w = WORKLOADS.find((x) => x.name === name);
  if (w === undefined) throw new UsageError(`unknown workload '${name}' (known: ${WORKLOADS.map((x) => x.name).join(', ')})`);
  const [small, large] = options.quick === true ? w.quickSizes : w.sizes;
  const reps = options.reps ?? (options.quick === true ? 1 : 5);
  runOnce(w, small);
  runOnce(w, large);
  const perPacket: number[] = [];
  let events = 0;
  let packets: [number, number] = [0, 0];
  let longWall = 0;
  let longSim = 0;
  // The least-disturbed run of each length (the minimum) stands for it: on a shared machine a
  // run is only ever slowed by the others, never sped up.
  let shortWall = Infinity;
  let shortCpu = Infinity;
  let longWallMin = Infinity;
  let longCpu = Infinity;
  for (let i = 0; i < reps; i++) {
    const a = runOnce(w, small);
    const b = runOnce(w, large);
    const dp = b.packets - a.packets;
    if (!(dp > 0)) throw new Error(`bench ${name}: the long run moved no more packets than the short one`);
    perPacket.push(((b.wallMs - a.wallMs) * 1000) / dp);
    shortWall = Math.min(shortWall, a.wallMs);
    shortCpu = Math.min(shortCpu, a.cpuMs);
    longWallMin = Math.min(longWallMin, b.wallMs);
    longCpu = Math.min(longCpu, b.cpuMs);
    events = (b.events - a.events) / dp; // deterministic: the same every repetition
    packets = [a.packets, b.packets];
    longWall += b.wallMs;
    longSim += b.simNs;
  }
  const dp = packets[1] - packets[0];
  const us = ((longWallMin - shortWall) * 1000) / dp;
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    workload: w.name,
    description: w.description,
    wallUsPerPacket: r2(us),
    cpuUsPerPacket: r2(((longCpu - shortCpu) * 1000) / dp),
    eventsPerPacket: r2(events),
    setupMs: r2(shortWall - (packets[0] * us) / 1000),
    packets,
    simSecondsPerWallSecond: r2(longSim / 1e9 / (longWall / 1000)),
    reps,
    wallUsPerPacketEach: perPacket.map(r2),
    peakRssMb: r2(process.resourceUsage().maxRSS / 1024),
  };
}

/** The scheduler and timing-wheel rates (one warm-up first). */
export function benchSchedulerRates(quick = false): SchedulerRow[] {
  const n = quick ? 20_000 : 2_000_000;
  benchScheduler(n / 10, 1000); // warm-up
  return [benchScheduler(n, 1000), benchScheduler(n, 16), benchWheel(n / 2)];
}

/**
 * Run one workload in a child process (its own heap and peak RSS). Not with `--expose-gc`: with
 * a forced full collection before each run V8 deoptimized and re-optimized the code run after run
 * (library TCP on Ethernet: 1,305 deoptimizations against 62), so every run started half cold and
 * the steady state by difference came out 4-6x what a long run costs (docs/speed.md). A run now
 * inherits its predecessor's heap, as any long simulation does.
 */
function benchInChild(name: string, quick: boolean): WorkloadRow {
  const script = process.argv[1];
  if (script === undefined) throw new Error('bench: no script path to start a child with');
  const args = [...process.execArgv, script, 'bench', '--child', name, '--json', ...(quick ? ['--quick'] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench ${name}: child exited ${r.status}: ${(r.stderr ?? '').split('\n').slice(0, 5).join(' | ')}`);
  return JSON.parse(r.stdout) as WorkloadRow;
}

export const BENCH_OPTIONS = {
  json: { type: 'boolean', default: false },
  quick: { type: 'boolean', default: false },
  only: { type: 'string' },
  child: { type: 'string' },
} as const;

export function runBench(args: string[]): number {
  const { values } = parseArgs({ args, strict: true, options: BENCH_OPTIONS });
  const quick = values.quick === true;
  if (values.child !== undefined) {
    process.stdout.write(JSON.stringify(benchWorkload(values.child, { quick })) + '\n');
    return 0;
  }
  const names = values.only !== undefined ? values.only.split(',').filter((s) => s !== '') : WORKLOADS.map((w) => w.name);
  for (const n of names) if (!WORKLOADS.some((w) => w.name === n)) throw new UsageError(`unknown workload '${n}' (known: ${WORKLOADS.map((w) => w.name).join(', ')})`);
  const scheduler = benchSchedulerRates(quick);
  const workloads: WorkloadRow[] = [];
  for (const n of names) {
    const row = benchInChild(n, quick);
    workloads.push(row);
    if (!values.json) printWorkload(row, workloads.length === 1);
  }
  if (values.json) {
    process.stdout.write(JSON.stringify({ scheduler, workloads } satisfies BenchReport) + '\n');
    return 0;
  }
  process.stdout.write('\n');
  for (const r of scheduler) process.stdout.write(`${r.name.padEnd(36)} ${Math.round(r.value).toLocaleString('en-US').padStart(12)} ${r.unit.padEnd(9)} ${r.note}\n`);
  return 0;
}

function printWorkload(r: WorkloadRow, header: boolean): void {
  if (header) {
    process.stdout.write('steady state by difference of two run lengths (wall µs and events per simulated packet), set-up apart\n');
    process.stdout.write(`${'workload'.padEnd(24)} ${'µs/pkt'.padStart(8)} ${'cpu µs'.padStart(8)} ${'events/pkt'.padStart(10)} ${'set-up ms'.padStart(9)} ${'packets'.padStart(12)} ${'sim s/s'.padStart(8)} ${'peak MB'.padStart(8)}  each rep µs/pkt\n`);
  }
  const p = `${r.packets[0]}/${r.packets[1]}`;
  process.stdout.write(
    `${r.workload.padEnd(24)} ${r.wallUsPerPacket.toFixed(1).padStart(8)} ${r.cpuUsPerPacket.toFixed(1).padStart(8)} ${r.eventsPerPacket.toFixed(2).padStart(10)} ${r.setupMs.toFixed(0).padStart(9)} ${p.padStart(12)} ${r.simSecondsPerWallSecond.toFixed(2).padStart(8)} ${r.peakRssMb.toFixed(0).padStart(8)}  ${r.wallUsPerPacketEach.map((x) => x.toFixed(1)).join(' ')}\n`,
  );
}
