/** Run one scenario in a fresh world and build its report. */
import { closeSync, mkdirSync, openSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { SCENARIOS } from './scenarios/index.ts';
import type { ResultValue, Results, RunReport, Scenario, ScenarioRunOptions } from './scenarios/types.ts';
import { netText, World, type CaptureFormat } from './world.ts';
import { TimelineWorld, type TimelineOptions, type TimelineSummary } from './trace/perfetto.ts';
import { ParamError, resolveParams, type ParamValue, type ParamValues } from './scenarios/params.ts';

import { UsageError } from './errors.ts';

export { UsageError };

export interface RunOptions extends ScenarioRunOptions {
  readonly seed: number;
  /** Parameter values (checked by `checkedParams`); the rest take their declared defaults. */
  readonly params?: ParamValues;
  readonly costOverrides?: ReadonlyMap<string, number>;
  readonly traceOn?: boolean;
  /** Called with the world before the scenario runs (tests attach taps here). */
  readonly onWorld?: (world: World) => void;
  /** The --pcap files' format (default pcapng). */
  readonly pcapFormat?: CaptureFormat;
  /** Write a Perfetto timeline of the run (`ulp run --trace`); observes only. */
  readonly timeline?: TimelineOptions & { readonly onDone?: (summary: TimelineSummary) => void };
}

export function findScenario(name: string): Scenario {
  const s = SCENARIOS.get(name);
  if (s === undefined) throw new UsageError(`unknown scenario '${name}' (known: ${[...SCENARIOS.keys()].join(', ')})`);
  return s;
}

/**
 * Every declared parameter's value for a run of `scenario` with `given` (names and values already
 * parsed against their specs), after the scenario's own cross-parameter check: a ParamError
 * (one line, exit 2) before any simulation.
 */
export function checkedParams(scenario: Scenario, given: ReadonlyMap<string, ParamValue> = new Map()): ParamValues {
  for (const name of given.keys()) {
    if (!(scenario.params ?? []).some((s) => s.name === name)) throw new ParamError(`unknown parameter '${name}' for scenario ${scenario.name}`);
  }
  const values = resolveParams(scenario.params, given);
  const problem = scenario.checkParams?.(values);
  if (problem !== undefined) throw new ParamError(`scenario ${scenario.name}: ${problem}`);
  return values;
}

/**
 * The capture files of a run's interfaces, relative to the --pcap directory: `<host>-<interface>.pcapng`
 * (or `.pcap`). A host and interface captured on more than one network of the run (a scenario that
 * reuses a host name across its sub-experiments) are written once per network, each into a
 * subdirectory `net-NN/` named by the network's ordinal, so no file overwrites another.
 */
export function captureFileNames(captures: readonly { readonly net: number; readonly host: string; readonly iface: string }[], format: CaptureFormat): string[] {
  const stems = captures.map((c) => `${c.host}-${c.iface}`);
  const seen = new Map<string, number>();
  for (const s of stems) seen.set(s, (seen.get(s) ?? 0) + 1);
  return captures.map((c, i) => `${seen.get(stems[i]!)! > 1 ? `net-${netText(c.net)}/` : ''}${stems[i]}.${format}`);
}

export function runScenario(scenario: Scenario, options: RunOptions): RunReport {
  const params = resolveParams(scenario.params, new Map(Object.entries(options.params ?? {})));
  const worldOptions = {
    seed: options.seed,
    ...(options.pcapDir !== undefined ? { capture: true, captureFormat: options.pcapFormat ?? 'pcapng' } : {}),
    ...(options.costOverrides !== undefined ? { costOverrides: options.costOverrides } : {}),
    ...(options.traceOn !== undefined ? { traceOn: options.traceOn } : {}),
  };
  const world = options.timeline !== undefined ? new TimelineWorld(worldOptions, options.timeline) : new World(worldOptions);
  options.onWorld?.(world);
  const results = scenario.run(world, { params });
  const captures: string[] = [];
  if (options.pcapDir !== undefined) {
    const names = captureFileNames(world.captures, options.pcapFormat ?? 'pcapng');
    const fingerprint = world.trace.fingerprint();
    world.captures.forEach((c, i) => {
      const name = names[i]!;
      if (name.includes('/')) mkdirSync(join(options.pcapDir!, dirname(name)), { recursive: true });
      const comment = `ulp-emu: scenario ${scenario.name}, seed ${options.seed}, network ${netText(c.net)}, fingerprint ${fingerprint}`;
      writeFileSync(join(options.pcapDir!, name), c.writer.bytes({ userappl: 'ulp-emu', comment }));
      captures.push(name);
    });
  }
  if (world instanceof TimelineWorld) {
    const summary = world.timeline.finish({ scenario: scenario.name, seed: options.seed, fingerprint: world.trace.fingerprint(), simTimeNs: world.sched.now });
    options.timeline?.onDone?.(summary);
  }
  return {
    scenario: scenario.name,
    seed: options.seed,
    simTimeNs: world.sched.now,
    events: world.sched.eventsFired,
    fingerprint: world.trace.fingerprint(),
    costOverrides: Object.fromEntries(options.costOverrides ?? []),
    guestErrors: world.trace.guestErrorsTotal,
    cpuUs: cpuBreakdown(world),
    results,
    ...(scenario.paper !== undefined ? { paper: scenario.paper } : {}),
    params,
    ...(options.pcapDir !== undefined ? { captures } : {}),
  };
}

/** Where each host's CPU time went, by category, in simulated µs (timing studies read this). */
function cpuBreakdown(world: World): { [host: string]: { [category: string]: number } } {
  const out: { [host: string]: { [category: string]: number } } = {};
  for (const h of world.hosts) {
    const row: { [category: string]: number } = {};
    const cats = [...h.cpu.cyclesByCategory.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [cat, cycles] of cats) row[cat] = (cycles * h.cpu.clock.periodNs) / 1000;
    out[h.name] = row;
  }
  return out;
}

/**
 * Why a run's results are not a completed run's, one phrase each (empty when it completed): a
 * number that is NaN or ±Infinity, a null where a figure belongs, an `outcome` other than 'done'
 * (the run stopped on its time limit before its programs finished). `ulp run` and `ulp paper`
 * exit 3 on any of these, so a sweep can tell a failed point from a good one.
 */
export function runFailures(results: Results): string[] {
  const out: string[] = [];
  const walk = (v: ResultValue, path: string): void => {
    if (v === null) out.push(`${path} is null`);
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) out.push(`${path} is ${String(v)}`);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (typeof v === 'object') {
      for (const [k, x] of Object.entries(v as { readonly [k: string]: ResultValue })) {
        const p = path === '' ? k : `${path}.${k}`;
        if (k === 'outcome' && typeof x === 'string' && x !== 'done') out.push(`${p} is '${x}' (it stopped on its time limit before completing)`);
        else walk(x, p);
      }
    }
  };
  walk(results, '');
  return out;
}

/** A run that threw (a model error under the given costs, say): the one line `ulp` prints. */
export function describeCrash(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message.split('\n')[0]}`;
  return String(e);
}

function ioCode(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'error';
}

/**
 * Make sure `dir` is a directory we can write files into, creating it and its parents if missing —
 * before any simulation, so a bad path costs one line (UsageError) and no run. Parents are made
 * one at a time: Node's recursive mkdir loops for ever on some paths (under /proc), this cannot.
 */
export function prepareOutputDir(dir: string, what: string): void {
  const abs = resolve(dir);
  const parts = abs.split(sep).filter((p) => p !== '');
  let at = abs.startsWith(sep) ? sep : '';
  for (const part of parts) {
    at = at === '' ? part : join(at, part);
    let st;
    try {
      st = statSync(at, { throwIfNoEntry: false });
    } catch (e) {
      throw new UsageError(`cannot write ${what} '${dir}' (${ioCode(e)})`);
    }
    if (st !== undefined) {
      if (!st.isDirectory()) throw new UsageError(`cannot write ${what} '${dir}' (ENOTDIR: ${at === abs ? 'it is a file' : `'${at}' is a file`})`);
      continue;
    }
    try {
      mkdirSync(at);
    } catch (e) {
      if (ioCode(e) !== 'EEXIST') throw new UsageError(`cannot write ${what} '${dir}' (${ioCode(e)})`);
    }
  }
  // A directory can exist and still refuse files (read-only mount, procfs, permissions).
  const probe = join(abs, `.ulp-write-test-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw new UsageError(`cannot write ${what} '${dir}' (${ioCode(e)})`);
  }
}

/** Open `path` for writing before any simulation (truncating it); a bad path is one UsageError line. */
export function openOutputFile(path: string, what: string): number {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st !== undefined && st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    return openSync(path, 'w');
  } catch (e) {
    throw new UsageError(`cannot write ${what} '${path}' (${ioCode(e)})`);
  }
}

/** Write all of `text` to an open file. */
export function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
}
