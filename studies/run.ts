/** Run one scenario in a fresh world and build its report. */
import { SCENARIOS } from './scenarios/index.ts';
import type { RunReport, Scenario, ScenarioRunOptions } from './scenarios/types.ts';
import { World } from './world.ts';
import { TimelineWorld, type TimelineOptions, type TimelineSummary } from './trace/perfetto.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface RunOptions extends ScenarioRunOptions {
  readonly seed: number;
  readonly costOverrides?: ReadonlyMap<string, number>;
  readonly traceOn?: boolean;
  /** Called with the world before the scenario runs (tests attach taps here). */
  readonly onWorld?: (world: World) => void;
  /** Write a Perfetto timeline of the run (`ulp run --trace`); observes only. */
  readonly timeline?: TimelineOptions & { readonly onDone?: (summary: TimelineSummary) => void };
}

export function findScenario(name: string): Scenario {
  const s = SCENARIOS.get(name);
  if (s === undefined) throw new UsageError(`unknown scenario '${name}' (known: ${[...SCENARIOS.keys()].join(', ')})`);
  return s;
}

export function runScenario(scenario: Scenario, options: RunOptions): RunReport {
  const worldOptions = {
    seed: options.seed,
    ...(options.costOverrides !== undefined ? { costOverrides: options.costOverrides } : {}),
    ...(options.traceOn !== undefined ? { traceOn: options.traceOn } : {}),
  };
  const world = options.timeline !== undefined ? new TimelineWorld(worldOptions, options.timeline) : new World(worldOptions);
  options.onWorld?.(world);
  const results = scenario.run(world, options.pcapDir !== undefined ? { pcapDir: options.pcapDir } : {});
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
