/**
 * `ulp run --trace`: the Perfetto timeline (studies/trace/perfetto.ts). It parses, names every
 * host and track, its CPU slices never overlap and add up to the CPU's busy time (by category,
 * exactly, in integer ns), its wire spans count the frames the scenario reports, its bytes are
 * the same for the same scenario + seed, and it changes nothing in the run (same fingerprint).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findScenario, runScenario } from '../../studies/run.ts';
import { runRawEthernet } from '../../studies/scenarios/raw-ethernet.ts';
import { RAW_AN1_DEFAULTS, runRawAn1 } from '../../studies/scenarios/raw-an1.ts';
import { formatUs, MINIMUM_CATEGORY, TID, TimelineWorld, type TimelineSummary } from '../../studies/trace/perfetto.ts';
import { World } from '../../studies/world.ts';
import type { Results, RunReport } from '../../studies/scenarios/types.ts';

interface TraceEvent {
  readonly ph: string;
  readonly pid: number;
  readonly tid: number;
  readonly name: string;
  readonly ts?: number;
  readonly dur?: number;
  readonly args?: Record<string, unknown>;
  readonly id?: number;
  readonly id2?: { readonly local: string };
}

interface Timeline {
  readonly text: string;
  readonly events: readonly TraceEvent[];
  readonly otherData: Record<string, unknown>;
  readonly world: World;
  readonly summary: TimelineSummary;
  readonly results: Results;
}

/** µs with 3 decimals back to integer ns (exact: the writer printed integers). */
const ns = (us: number | undefined): number => Math.round((us ?? NaN) * 1000);

function parse(text: string): { events: TraceEvent[]; otherData: Record<string, unknown> } {
  const j = JSON.parse(text) as { displayTimeUnit: string; traceEvents: TraceEvent[]; otherData: Record<string, unknown> };
  expect(j.displayTimeUnit).toBe('ns');
  return { events: j.traceEvents, otherData: j.otherData };
}

function withTimeline(seed: number, run: (w: World) => Results, eventsMax?: number): Timeline {
  const chunks: string[] = [];
  const world = new TimelineWorld({ seed }, { sink: (c) => chunks.push(c), ...(eventsMax !== undefined ? { eventsMax } : {}) });
  const results = run(world);
  const summary = world.timeline.finish({ scenario: 'test', seed, fingerprint: world.trace.fingerprint(), simTimeNs: world.sched.now });
  const text = chunks.join('');
  return { text, ...parse(text), world, summary, results };
}

function scenarioTimeline(name: string, seed: number): Timeline & { fingerprint: string; cpuUs: RunReport['cpuUs'] } {
  const chunks: string[] = [];
  let world: World | undefined;
  let summary: TimelineSummary | undefined;
  const report = runScenario(findScenario(name), {
    seed,
    onWorld: (w) => (world = w),
    timeline: { sink: (c) => chunks.push(c), onDone: (s) => (summary = s) },
  });
  const text = chunks.join('');
  return { text, ...parse(text), world: world!, summary: summary!, results: report.results, fingerprint: report.fingerprint, cpuUs: report.cpuUs };
}

const rawEthernet = (frames: number, loss = 0) => (w: World) => runRawEthernet(w, { frames, loss }).results;
const rawAn1 = (frames: number) => (w: World) => runRawAn1(w, { ...RAW_AN1_DEFAULTS, frames });

function xSlices(events: readonly TraceEvent[], pid: number, tid: number): TraceEvent[] {
  return events.filter((e) => e.ph === 'X' && e.pid === pid && e.tid === tid).sort((a, b) => ns(a.ts) - ns(b.ts));
}

/** Slices on every X track are disjoint (so they nest trivially) and have positive length. */
function expectDisjointTracks(events: readonly TraceEvent[]): void {
  const tracks = new Set(events.filter((e) => e.ph === 'X').map((e) => `${e.pid}/${e.tid}`));
  expect(tracks.size).toBeGreaterThan(0);
  for (const key of tracks) {
    const [pid, tid] = key.split('/').map(Number) as [number, number];
    let end = -1;
    for (const s of xSlices(events, pid, tid)) {
      expect(ns(s.dur), `${key} ${s.name}`).toBeGreaterThan(0);
      expect(ns(s.ts), `${key} ${s.name} starts before the previous slice ends`).toBeGreaterThanOrEqual(end);
      end = ns(s.ts) + ns(s.dur);
    }
  }
}

function sumNs(slices: readonly TraceEvent[]): number {
  return slices.reduce((a, s) => a + ns(s.dur), 0);
}

/** CPU tracks add up to the CPU's busy time, and the cost track to each category's cycles. */
function expectCpuAccounted(t: Timeline): void {
  t.world.hosts.forEach((host, i) => {
    const pid = i + 1;
    const busy = host.cpu.busyNsTotal;
    expect(sumNs(xSlices(t.events, pid, TID.cpu)), `${host.name} CPU: what ran`).toBe(busy);
    const cost = xSlices(t.events, pid, TID.cpuCost);
    expect(sumNs(cost), `${host.name} CPU: cost category`).toBe(busy);
    let charged = 0;
    for (const [category, cycles] of host.cpu.cyclesByCategory) {
      const want = Math.round(cycles * host.cpu.clock.periodNs);
      charged += want;
      expect(sumNs(cost.filter((s) => s.name === category)), `${host.name} ${category}`).toBe(want);
    }
    expect(sumNs(cost.filter((s) => s.name === MINIMUM_CATEGORY))).toBe(busy - charged);
  });
  expect(t.summary.cpuLayoutMismatches).toBe(0);
}

function expectMetadata(t: Timeline, tids: readonly number[]): void {
  t.world.hosts.forEach((host, i) => {
    const pid = i + 1;
    const proc = t.events.find((e) => e.ph === 'M' && e.pid === pid && e.name === 'process_name');
    expect(proc?.args?.['name']).toContain(host.name);
    for (const tid of tids) {
      const th = t.events.find((e) => e.ph === 'M' && e.pid === pid && e.tid === tid && e.name === 'thread_name');
      expect(th?.args?.['name'], `${host.name} tid ${tid}`).toEqual(expect.any(String));
    }
  });
}

describe('formatUs', () => {
  it.each([
    [0, '0.000'],
    [1, '0.001'],
    [40, '0.040'],
    [999, '0.999'],
    [1000, '1.000'],
    [1234560, '1234.560'],
    [6_548_769_800, '6548769.800'],
    [2 ** 53 - 1, '9007199254740.991'],
  ])('%d ns → %s µs', (n, text) => {
    expect(formatUs(n)).toBe(text);
  });
});

describe('timeline of hello', () => {
  const t = scenarioTimeline('hello', 7);

  it('is JSON with a process per host and named CPU tracks', () => {
    expect(t.world.hosts.map((h) => h.name)).toEqual(['ws-a', 'ws-b']);
    expectMetadata(t, [TID.cpu, TID.cpuCost]);
    expect(t.otherData['truncated']).toBe(false);
    expect(t.otherData['hosts']).toEqual(['ws-a', 'ws-b']);
  });

  it('prints every time as µs with exactly three decimals', () => {
    const times = [...t.text.matchAll(/"(ts|dur)":([^,}]*)/g)].map((m) => m[2]!);
    expect(times.length).toBeGreaterThan(20);
    for (const v of times) expect(v).toMatch(/^\d+\.\d{3}$/);
  });

  it('names CPU slices by the guest thread that ran and by cost category', () => {
    const ran = new Set(xSlices(t.events, 1, TID.cpu).map((s) => s.name));
    expect(ran).toContain('hello t1');
    const cats = new Set(xSlices(t.events, 1, TID.cpuCost).map((s) => s.name));
    for (const c of ['user', 'trap', 'context-switch']) expect(cats).toContain(c);
  });

  it('CPU slices never overlap and add up to busy time, category by category', () => {
    expectDisjointTracks(t.events);
    expectCpuAccounted(t);
  });

  it('agrees with the run report: cpuUs per category is the cost track in µs', () => {
    for (const [host, cats] of Object.entries(t.cpuUs)) {
      const pid = t.world.hosts.findIndex((h) => h.name === host) + 1;
      const cost = xSlices(t.events, pid, TID.cpuCost);
      for (const [category, us] of Object.entries(cats)) {
        // cpuUs is cycles × 40 / 1000 in floating point: back to ns it rounds to the exact integer.
        expect(sumNs(cost.filter((s) => s.name === category)), `${host} ${category}`).toBe(Math.round(us * 1000));
      }
    }
  });

  it('is byte-identical for the same scenario and seed', () => {
    expect(scenarioTimeline('hello', 7).text).toBe(t.text);
    expect(scenarioTimeline('hello', 8).text).not.toBe(t.text);
  });

  it('leaves the run unchanged: same fingerprint, time and results as without it', () => {
    const plain = runScenario(findScenario('hello'), { seed: 7 });
    expect(t.fingerprint).toBe(plain.fingerprint);
    expect(t.otherData['fingerprint']).toBe(plain.fingerprint);
    expect(t.otherData['simTimeNs']).toBe(plain.simTimeNs);
    expect(t.results).toEqual(plain.results);
  });
});

describe('timeline of raw-ethernet (small)', () => {
  const frames = 24;
  const t = withTimeline(5, rawEthernet(frames));
  const r = t.results as { framesSent: number; framesReceived: number; collisions: number };

  it('has LANCE and wire tracks besides the CPU', () => {
    expectMetadata(t, [TID.cpu, TID.cpuCost, TID.lanceTx, TID.lanceRx, TID.wireOut]);
    expect(r.framesSent).toBe(frames);
  });

  it('tracks never overlap; CPU time is fully accounted', () => {
    expectDisjointTracks(t.events);
    expectCpuAccounted(t);
  });

  it('one in-flight span per transmission attempt, one wire-out slice per frame sent, a flow per frame received', () => {
    const begins = t.events.filter((e) => e.ph === 'b');
    const ends = t.events.filter((e) => e.ph === 'e');
    expect(begins.length).toBe(r.framesSent + r.collisions);
    expect(ends.length).toBe(begins.length);
    expect(new Set(begins.map((e) => `${e.pid}/${e.id2?.local}`)).size).toBe(begins.length);
    expect(ends.filter((e) => String(e.args?.['result']).startsWith('delivered')).length).toBe(r.framesReceived);
    expect(ends.filter((e) => e.args?.['result'] === 'collision').length).toBe(r.collisions);
    const wireOut = t.events.filter((e) => e.ph === 'X' && e.tid === TID.wireOut);
    expect(wireOut.filter((e) => e.name === 'ether0 sent').length).toBe(r.framesSent);
    expect(t.events.filter((e) => e.ph === 's').length).toBe(r.framesSent);
    expect(t.events.filter((e) => e.ph === 'f').length).toBe(r.framesReceived);
    expect(t.events.filter((e) => e.ph === 'X' && e.tid === TID.lanceTx).length).toBe(r.framesSent);
    expect(t.events.filter((e) => e.ph === 'X' && e.tid === TID.lanceRx && e.name === 'receive').length).toBe(r.framesReceived);
  });

  it('marks each hardware interrupt handler and the interrupt line before it', () => {
    for (const pid of [1, 2]) {
      const handlers = t.events.filter((e) => e.ph === 'i' && e.pid === pid && e.name === 'irq pmad-aa');
      const raised = t.events.filter((e) => e.ph === 'C' && e.pid === pid && e.name === 'CPU interrupt line' && e.args?.['value'] === 1);
      expect(handlers.length).toBeGreaterThan(0);
      expect(raised.length).toBeGreaterThan(0);
      const firstRaised = Math.min(...raised.map((e) => ns(e.ts)));
      for (const h of handlers) expect(ns(h.ts)).toBeGreaterThanOrEqual(firstRaised);
    }
  });

  it('spans a frame lost on the wire to the end of its transmission', () => {
    const lossy = withTimeline(5, rawEthernet(40, 0.2));
    const lr = lossy.results as { framesSent: number; framesReceived: number; collisions: number };
    expect(lr.framesReceived).toBeLessThan(lr.framesSent);
    const ends = lossy.events.filter((e) => e.ph === 'e');
    expect(ends.length).toBe(lr.framesSent + lr.collisions);
    expect(ends.filter((e) => e.args?.['result'] === 'not delivered').length).toBe(lr.framesSent - lr.framesReceived);
  });

  it('is deterministic and leaves the fingerprint unchanged', () => {
    expect(withTimeline(5, rawEthernet(frames)).text).toBe(t.text);
    const plain = new World({ seed: 5 });
    const results = runRawEthernet(plain, { frames, loss: 0 }).results;
    expect(plain.trace.fingerprint()).toBe(t.world.trace.fingerprint());
    expect(plain.sched.now).toBe(t.world.sched.now);
    expect(results).toEqual(t.results);
  });
});

describe('timeline of raw-an1 (small)', () => {
  const frames = 16;
  const t = withTimeline(3, rawAn1(frames));
  const r = t.results as { framesSent: number; framesReceived: number };

  it('has AN1 firmware and DMA tracks and board queue counters', () => {
    expectMetadata(t, [TID.cpu, TID.cpuCost, TID.an1Firmware]);
    // A sends, B receives.
    const named = (pid: number, tid: number) => t.events.some((e) => e.ph === 'M' && e.pid === pid && e.tid === tid && e.name === 'thread_name');
    expect([named(1, TID.an1TxDma), named(1, TID.wireOut), named(2, TID.an1RxDma)]).toEqual([true, true, true]);
    expect(t.events.filter((e) => e.ph === 'X' && e.pid === 1 && e.tid === TID.an1TxDma).length).toBe(r.framesSent);
    expect(t.events.filter((e) => e.ph === 'X' && e.pid === 2 && e.tid === TID.an1RxDma).length).toBe(r.framesReceived);
    expect(t.events.some((e) => e.ph === 'C' && e.name === 'an1 rx frames held')).toBe(true);
  });

  it('tracks never overlap; CPU time is fully accounted', () => {
    expectDisjointTracks(t.events);
    expectCpuAccounted(t);
  });

  it('one in-flight span and flow per frame', () => {
    expect(r.framesSent).toBe(frames);
    const begins = t.events.filter((e) => e.ph === 'b');
    expect(begins.length).toBe(r.framesSent);
    expect(t.events.filter((e) => e.ph === 'e').length).toBe(r.framesSent);
    expect(t.events.filter((e) => e.ph === 'f').length).toBe(r.framesReceived);
  });

  it('leaves the fingerprint unchanged', () => {
    const plain = new World({ seed: 3 });
    runRawAn1(plain, { ...RAW_AN1_DEFAULTS, frames });
    expect(plain.trace.fingerprint()).toBe(t.world.trace.fingerprint());
  });
});

describe('event limit', () => {
  it('stops at the limit, says so in otherData, and still changes nothing', () => {
    const full = withTimeline(5, rawEthernet(8));
    const cut = withTimeline(5, rawEthernet(8), 50);
    expect(cut.events.filter((e) => e.ph !== 'M').length).toBe(50);
    expect(cut.otherData['truncated']).toBe(true);
    expect(cut.otherData['eventsMax']).toBe(50);
    expect(cut.otherData['truncatedAtNs']).toEqual(expect.any(Number));
    expect(full.otherData['truncated']).toBe(false);
    expect(cut.world.trace.fingerprint()).toBe(full.world.trace.fingerprint());
    expect(cut.world.trace.observer).toBeUndefined();
    expect(cut.world.hosts.every((h) => h.cpu.observer === undefined)).toBe(true);
  });
});

describe('ulp run --trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulp-trace-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ulp = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it('writes the file, and --json reports the fingerprint of a run without it', () => {
    const file = join(dir, 'hello.json');
    const traced = ulp('run', 'hello', '--seed', '7', '--json', '--trace', file);
    const plain = ulp('run', 'hello', '--seed', '7', '--json');
    expect(traced.code).toBe(0);
    const a = JSON.parse(traced.out) as { fingerprint: string };
    const b = JSON.parse(plain.out) as { fingerprint: string };
    expect(a.fingerprint).toBe(b.fingerprint);
    const text = readFileSync(file, 'utf8');
    expect(parse(text).otherData['fingerprint']).toBe(b.fingerprint);
    expect(text).toBe(scenarioTimeline('hello', 7).text);
  });
});
