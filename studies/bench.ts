/**
 * `ulp bench` / `npm run bench`: the emulator's own speed in wall-clock terms. A benchmark, never
 * a test: the figures vary with the machine and its load.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Priority, Scheduler } from '../emulator/sim/scheduler.ts';
import { TimingWheel, WheelTimer } from '../emulator/sim/timing-wheel.ts';
import type { ActivityObserver } from '../emulator/sim/trace.ts';
import { findScenario, runScenario } from './run.ts';

interface BenchRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly note: string;
}

/** Plain events: a ring of long-lived events, each rescheduling itself a pseudo-random delay ahead. */
function benchScheduler(totalEvents: number, pending: number): BenchRow {
  const sched = new Scheduler();
  let x = 12345;
  const events = Array.from({ length: pending }, (_, i) =>
    sched.createEvent(`e${i}`, Priority.device, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      sched.scheduleIn(events[i]!, 1 + (x % 10_000));
    }),
  );
  events.forEach((e, i) => sched.schedule(e, i));
  const t0 = performance.now();
  while (sched.eventsFired < totalEvents) sched.step();
  const seconds = (performance.now() - t0) / 1000;
  return { name: 'scheduler.eventsPerSecond', value: Math.round(totalEvents / seconds), unit: 'events/s', note: `${pending} pending, target ≥ 3,000,000` };
}

/** Timers that are mostly cancelled: arm, and re-arm before expiry 9 times out of 10. */
function benchWheel(operations: number): BenchRow {
  const sched = new Scheduler();
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
  return { name: 'wheel.armsPerSecond', value: Math.round(operations / seconds), unit: 'arms/s', note: '1024 timers, 200 ms deadlines, re-armed before expiry' };
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

/**
 * One scenario, wall-clock timed: simulated seconds per wall second, and for scenarios that move
 * frames, wall µs and scheduler events per simulated packet (DESIGN "Speed": ≈ 20 µs a packet
 * through registers, kernel, IPC and TCP).
 */
function benchScenario(name: string): BenchRow[] {
  const counter = new FrameCounter();
  const t0 = performance.now();
  const r = runScenario(findScenario(name), { seed: 1, onWorld: (w) => (w.trace.observer = counter) });
  const seconds = (performance.now() - t0) / 1000;
  const rows: BenchRow[] = [
    { name: `${name}.simSecondsPerWallSecond`, value: r.simTimeNs / 1e9 / seconds, unit: 'ratio', note: `${r.events} events in ${(seconds * 1000).toFixed(0)} ms` },
  ];
  if (counter.frames > 0) {
    rows.push(
      { name: `${name}.wallUsPerPacket`, value: (seconds * 1e6) / counter.frames, unit: 'µs', note: `${counter.frames} frames; budget ≈ 20 µs (DESIGN "Speed")` },
      { name: `${name}.eventsPerPacket`, value: r.events / counter.frames, unit: 'events', note: '' },
    );
  }
  return rows;
}

export function runBench(args: string[]): number {
  const { values } = parseArgs({ args, strict: true, options: { json: { type: 'boolean', default: false } } });
  benchScheduler(200_000, 1000); // warm-up
  const rows: BenchRow[] = [
    benchScheduler(2_000_000, 1000),
    benchScheduler(2_000_000, 16),
    benchWheel(1_000_000),
    ...benchScenario('hello'),
    ...benchScenario('raw-ethernet'), // registers, driver, wire: 10 000 frames
    ...benchScenario('raw-an1'), // DMA, firmware, BQI rings: 10 000 frames
    ...benchScenario('paper-table2-library'), // the whole organization: TCP, library, netio, IPC
  ];
  if (values.json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return 0;
  }
  for (const r of rows) {
    const v = r.value >= 1000 ? Math.round(r.value).toLocaleString('en-US') : r.value.toPrecision(4);
    process.stdout.write(`${r.name.padEnd(36)} ${v.padStart(14)} ${r.unit.padEnd(9)} ${r.note}\n`);
  }
  return 0;
}
