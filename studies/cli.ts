/**
 * The `ulp` command line. Exit codes: 0 done; 2 a user error (unknown command, scenario, option,
 * cost name, bad value, an output path that cannot be written) — one clear line on stderr, never a
 * stack trace, found before any simulation where it can be; 3 a run failed (it stopped on its time
 * limit, produced a null or non-finite figure, or the model threw under the given costs) — one
 * line per failed run on stderr, after the output. A closed stdout (`ulp costs | head -1`) ends
 * the command quietly.
 */
import { closeSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decstationCostTable } from '../emulator/host/costs/decstation-5000-200.ts';
import { UnknownCostError } from '../emulator/host/costs/cost-table.ts';
import { SCENARIOS } from './scenarios/index.ts';
import type { ResultValue, RunReport, Scenario } from './scenarios/types.ts';
import { describeCrash, findScenario, openOutputFile, prepareOutputDir, runFailures, runScenario, UsageError, writeAllSync, type RunOptions } from './run.ts';
import type { World } from './world.ts';
import { runBench, WORKLOADS } from './bench.ts';
import { isPaperWorker, paperWorker, runInWorkers, type PaperTask } from './paper/parallel.ts';
import { availableParallelism } from 'node:os';
import { compare, formatComparison } from './paper/compare.ts';
import { PAPER_TABLES, paperJson } from './paper/reproduce.ts';
import { allCells, cellsOf } from './report/cells.ts';
import { checkOrderings, checkOrderingsOverSeeds } from './report/orderings.ts';
import { meanCell, replicate, seedsText } from './report/replications.ts';
import { formatCells, orderingLines, replicatedOrderingLines, summaryLine } from './report/terminal.ts';
import { buildReport, prepareReportDir, writeReport } from './report/report.ts';
import { TRACE_EVENTS_MAX_DEFAULT, type TimelineSummary } from './trace/perfetto.ts';

export const EXIT_USAGE = 2;
export const EXIT_RUN_FAILED = 3;

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const RUN_USAGE = `  ulp run <scenario> [--seed N] [--json] [--cost NAME=VALUE ...] [--pcap DIR]
          [--trace FILE [--trace-limit N]]
                                 run one scenario (built-in name)`;
const COSTS_USAGE = `  ulp costs [--json]             list the cost table (name, value, unit, source)`;
const SCENARIOS_USAGE = `  ulp scenarios [--json]         list the built-in scenarios`;
const PAPER_USAGE = `  ulp paper [--tables 1,5] [--json FILE|-] [--report DIR] [--seed N | --seeds N|LIST]
            [--cost NAME=VALUE ...] [--jobs N|auto]
                                 the paper's experiments beside the paper's figures; --json
                                 writes the paper's tables with the emulator's values;
                                 --report writes report.md, results.csv and SVG charts into DIR;
                                 --seed and --cost apply to every experiment (a what-if study);
                                 --seeds 5 (or 1,2,5) runs each on those seeds: mean, min–max;
                                 --jobs N|auto: experiments on N worker threads (auto: one per
                                 core; default 1: in this thread); the results are the same`;
const BENCH_USAGE = `  ulp bench [--json] [--quick] [--only W1,W2]
                                 the emulator's own speed (wall clock): per workload the
                                 steady-state µs and events per simulated packet, by difference
                                 of two run lengths, set-up apart, peak RSS; scheduler rates
                                 (workloads: ${WORKLOADS.map((w) => w.name).join(', ')}; --quick: tiny runs)`;

const OPTIONS = `options:
  --seed N         PRNG seed (integer, default 1); same scenario + seed => same fingerprint
  --seeds N|LIST   (paper) replications: seeds 1..N, or the seeds listed (1,2,5)
  --json           print one JSON object instead of text (paper: --json FILE, or - for stdout)
  --cost NAME=V    override one cost-table constant for a what-if run (repeatable); values are
                   checked against the constant's bounds (ulp costs)
  --pcap DIR       write one pcap per network interface into DIR (raw-ethernet, raw-an1)
  --trace FILE     write a timeline of the run (Chrome Trace Event JSON) into FILE: open it in
                   https://ui.perfetto.dev; the run and its fingerprint are unchanged
  --trace-limit N  events the timeline holds at most (default 2000000), then it stops recording
  -h, --help       help (after a command: that command's help)
  -V, --version    the version

exit status: 0 done; 2 a usage error (one line on stderr, before any run where it can be found);
3 a run failed (stopped on its time limit, a null or non-finite figure, or the model failed
under the given costs; one line per failed run on stderr)
`;

const HELP = `ulp — the ulp-emu emulator of "Implementing Network Protocols at User Level" (1993)

usage:
${RUN_USAGE}
${COSTS_USAGE}
${SCENARIOS_USAGE}
${PAPER_USAGE}
${BENCH_USAGE}
  ulp --help | --version

${OPTIONS}`;

const COMMAND_HELP: { readonly [command: string]: () => string } = {
  run: () => `usage:\n${RUN_USAGE}\n\nscenarios: ${[...SCENARIOS.keys()].join(', ')} (ulp scenarios says what each shows)\n\n${OPTIONS}`,
  costs: () => `usage:\n${COSTS_USAGE}\n`,
  scenarios: () => `usage:\n${SCENARIOS_USAGE}\n`,
  paper: () => `usage:\n${PAPER_USAGE}\n\n${OPTIONS}`,
  bench: () => `usage:\n${BENCH_USAGE}\n`,
};

function parseSeed(text: string | undefined): number {
  if (text === undefined) return 1;
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--seed needs an integer, got '${text}'`);
  return Number(text);
}

/** `--seeds N` (seeds 1..N) or `--seeds 1,2,5` (those seeds, ascending, no repeats). */
export function parseSeeds(text: string): number[] {
  const max = 1000;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > max) throw new UsageError(`--seeds N needs 1 ≤ N ≤ ${max}, got '${text}'`);
    return Array.from({ length: n }, (_, i) => i + 1);
  }
  const items = text.split(',').map((t) => t.trim());
  if (items.length < 2 || items.some((t) => !/^-?\d+$/.test(t) || !Number.isSafeInteger(Number(t)))) throw new UsageError(`--seeds needs a count N or a list of integer seeds like 1,2,5, got '${text}'`);
  const seeds = items.map(Number);
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`--seeds lists a seed twice: '${text}'`);
  if (seeds.length > max) throw new UsageError(`--seeds lists more than ${max} seeds`);
  return seeds.sort((a, b) => a - b);
}

function statedOrderings(): string[] {
  const o = PAPER_TABLES['orderings_stated_in_text'];
  return Array.isArray(o) ? o.filter((x): x is string => typeof x === 'string') : [];
}

/** A write to stdout that found its reader gone (`ulp costs | head -1`): end quietly. */
class BrokenPipe extends Error {
  override readonly name = 'BrokenPipe';
}

/** Write to stdout synchronously; EPIPE ends the command quietly (no trace, no further work). */
export function out(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  while (at < bytes.length) {
    try {
      at += writeSync(1, bytes, at, bytes.length - at);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'EAGAIN') continue; // a non-blocking pipe is full: the reader will drain it
      if (code === 'EPIPE') throw new BrokenPipe('stdout closed');
      throw e;
    }
  }
}


const err = (line: string): void => {
  process.stderr.write(`ulp: ${line}\n`);
};

function parseCosts(items: readonly string[]): Map<string, number> {
  const table = decstationCostTable();
  const overrides = new Map<string, number>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--cost needs NAME=VALUE, got '${item}'`);
    const name = item.slice(0, eq);
    const text = item.slice(eq + 1);
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--cost ${name} needs a number, got '${text}'`);
    table.override(name, value); // throws UnknownCostError for unknown names and values out of the constant's bounds
    overrides.set(name, value);
  }
  return overrides;
}

/** One run, its failures (empty when it completed) and the overrides nothing in it read. */
export interface Outcome {
  readonly report: RunReport;
  /** One phrase per reason the run failed. */
  readonly failures: readonly string[];
  readonly unread: readonly string[];
}

/** Run a scenario; a model error under the given costs becomes a failed outcome, not a trace. */
export function runChecked(scenario: Scenario, options: RunOptions): Outcome {
  let world: World | undefined;
  try {
    const report = runScenario(scenario, { ...options, onWorld: (w) => ((world = w), options.onWorld?.(w)) });
    return { report, failures: runFailures(report.results).map((f) => `results.${f}`), unread: unreadOverrides(world, options.costOverrides) };
  } catch (e) {
    if (e instanceof UsageError || e instanceof BrokenPipe) throw e;
    const report: RunReport = {
      scenario: scenario.name,
      seed: options.seed,
      simTimeNs: world?.sched.now ?? 0,
      events: world?.sched.eventsFired ?? 0,
      fingerprint: '',
      costOverrides: Object.fromEntries(options.costOverrides ?? []),
      guestErrors: world?.trace.guestErrorsTotal ?? 0,
      cpuUs: {},
      results: {},
      ...(scenario.paper !== undefined ? { paper: scenario.paper } : {}),
    };
    return { report, failures: [`the model failed: ${describeCrash(e)}`], unread: [] };
  }
}

function unreadOverrides(world: World | undefined, overrides: ReadonlyMap<string, number> | undefined): string[] {
  if (world === undefined || overrides === undefined) return [];
  const read = world.costs.namesRead();
  return [...overrides.keys()].filter((n) => !read.has(n));
}

function failureLine(o: Outcome): string {
  const more = o.failures.length > 1 ? ` (and ${o.failures.length - 1} more)` : '';
  return `run failed: ${o.report.scenario} (seed ${o.report.seed}): ${o.failures[0]}${more}`;
}

function warnUnread(names: readonly string[], overrides: ReadonlyMap<string, number>): void {
  for (const n of names) err(`warning: --cost ${n}=${overrides.get(n)} changed nothing: no part of this run reads ${n}`);
}

function formatValue(v: ResultValue, indent: string): string {
  if (v === null || typeof v !== 'object') return String(v);
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== 'object')) return `[${v.map((x) => String(x)).join(', ')}]`;
    return v.map((x, i) => `\n${indent}- [${i}] ${formatValue(x, indent + '    ')}`).join('');
  }
  return Object.entries(v as Record<string, ResultValue>)
    .map(([k, x]) => `\n${indent}${k}: ${formatValue(x, indent + '  ')}`)
    .join('');
}

function printReport(scenario: Scenario, r: RunReport): void {
  const lines = [
    `scenario ${r.scenario}  seed ${r.seed}`,
    `simulated ${(r.simTimeNs / 1e6).toFixed(6)} ms in ${r.events} events; fingerprint ${r.fingerprint}; guest errors ${r.guestErrors}`,
  ];
  if (Object.keys(r.costOverrides).length > 0) lines.push(`cost overrides: ${JSON.stringify(r.costOverrides)}`);
  lines.push(`results:${formatValue(r.results, '  ')}`);
  const cells = cellsOf({ scenario, report: r });
  if (cells.length > 0) lines.push('beside the paper (ratio = emulator / paper):', formatCells(replicate(cells, [r.seed]), false));
  else if (r.paper !== undefined) lines.push('beside the paper:', formatComparison(compare(r.paper, r.results)));
  for (const [host, cats] of Object.entries(r.cpuUs)) {
    lines.push(`cpu ${host} (µs): ${Object.entries(cats).map(([c, us]) => `${c} ${us.toFixed(1)}`).join(', ')}`);
  }
  out(lines.join('\n') + '\n');
}

function parseTraceLimit(text: string | undefined): number {
  if (text === undefined) return TRACE_EVENTS_MAX_DEFAULT;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) throw new UsageError(`--trace-limit needs a positive integer, got '${text}'`);
  return Number(text);
}

const listDir = (dir: string): Set<string> => new Set(readdirSync(dir));

function cmdRun(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      cost: { type: 'string', multiple: true, default: [] },
      pcap: { type: 'string' },
      trace: { type: 'string' },
      'trace-limit': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`'ulp run' needs exactly one scenario name (known: ${[...SCENARIOS.keys()].join(', ')})`);
  const scenario = findScenario(positionals[0]!);
  const seed = parseSeed(values.seed);
  const costOverrides = parseCosts(values.cost);
  if (values['trace-limit'] !== undefined && values.trace === undefined) throw new UsageError('--trace-limit needs --trace FILE');
  const eventsMax = parseTraceLimit(values['trace-limit']);
  // Every output path is checked before the run, so a bad one costs one line and no simulation.
  if (values.pcap !== undefined) prepareOutputDir(values.pcap, '--pcap directory');
  const pcapBefore = values.pcap === undefined ? undefined : listDir(values.pcap);
  const traceFd = values.trace === undefined ? undefined : openOutputFile(values.trace, '--trace file');
  let timeline: TimelineSummary | undefined;
  let outcome: Outcome;
  try {
    outcome = runChecked(scenario, {
      seed,
      costOverrides,
      ...(values.pcap !== undefined ? { pcapDir: values.pcap } : {}),
      ...(traceFd !== undefined
        ? { timeline: { sink: (chunk: string) => writeAllSync(traceFd, chunk), eventsMax, onDone: (s: TimelineSummary) => (timeline = s) } }
        : {}),
    });
  } finally {
    if (traceFd !== undefined) closeSync(traceFd);
  }
  const { report } = outcome;
  if (values.json) out(JSON.stringify({ ...report, outcome: outcome.failures.length === 0 ? 'done' : 'failed', failures: outcome.failures }) + '\n');
  else {
    printReport(scenario, report);
    if (timeline !== undefined) {
      const note = timeline.truncated ? ` (limit reached: the rest of the run is not in it; --trace-limit raises it)` : '';
      out(`timeline: ${timeline.eventsWritten} events in ${values.trace}${note}; open it in https://ui.perfetto.dev\n`);
    }
  }
  warnUnread(outcome.unread, costOverrides);
  if (values.pcap !== undefined && pcapBefore !== undefined && outcome.failures.length === 0) {
    const added = [...listDir(values.pcap)].filter((f) => !pcapBefore.has(f));
    if (added.length === 0) err(`warning: --pcap: scenario ${scenario.name} writes no captures (raw-ethernet and raw-an1 do)`);
  }
  if (outcome.failures.length > 0) {
    err(failureLine(outcome));
    return EXIT_RUN_FAILED;
  }
  return 0;
}

function cmdCosts(args: string[]): number {
  const { values } = parseArgs({ args, strict: true, options: { json: { type: 'boolean', default: false } } });
  const rows = decstationCostTable().rows();
  if (values.json) {
    out(JSON.stringify(rows.map(({ name, value, unit, source }) => ({ name, value, unit, source }))) + '\n');
    return 0;
  }
  for (const r of rows) out(`${r.name.padEnd(36)} ${String(r.value).padStart(8)} ${r.unit.padEnd(11)} ${r.what}\n${' '.repeat(58)}source: ${r.source}\n`);
  return 0;
}

function cmdScenarios(args: string[]): number {
  const { values } = parseArgs({ args, strict: true, options: { json: { type: 'boolean', default: false } } });
  const all = [...SCENARIOS.values()];
  if (values.json) {
    out(JSON.stringify(all.map((s) => ({ name: s.name, summary: s.summary, ...(s.paperSection !== undefined ? { paperSection: s.paperSection } : {}) }))) + '\n');
    return 0;
  }
  for (const s of all) out(`${s.name.padEnd(28)} ${s.summary}\n`);
  return 0;
}

/** On a terminal, one line on stderr saying which experiment runs (overwritten as it goes). */
function progress(enabled: boolean): { step(text: string): void; done(): void } {
  if (!enabled) return { step: () => {}, done: () => {} };
  return {
    step: (text) => process.stderr.write(`\r\x1b[K${text}`),
    done: () => process.stderr.write('\r\x1b[K'),
  };
}

function cmdPaper(args: string[]): number {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      json: { type: 'string' },
      tables: { type: 'string' },
      report: { type: 'string' },
      seed: { type: 'string' },
      seeds: { type: 'string' },
      cost: { type: 'string', multiple: true, default: [] },
      jobs: { type: 'string' },
    },
  });
  // Default: one thread. Measured on this shared 2-core machine (other work on the other core),
  // two worker threads took 1.22-1.25x the CPU (each loads and warms up the code), 0.92-1.23x the
  // wall time and 70 MB more peak memory (docs/speed.md); --jobs auto asks for one per core.
  const jobs = values.jobs === undefined ? 1 : values.jobs === 'auto' ? availableParallelism() : Number(values.jobs);
  if (!Number.isSafeInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError(`--jobs needs a whole number 1..64 or 'auto', got '${values.jobs}'`);
  if (values.seed !== undefined && values.seeds !== undefined) throw new UsageError('give --seed N (one run per experiment) or --seeds N|LIST (replications), not both');
  const replicated = values.seeds !== undefined;
  const seeds = values.seeds !== undefined ? parseSeeds(values.seeds) : [parseSeed(values.seed)];
  const costOverrides = parseCosts(values.cost);
  const wanted = values.tables === undefined ? undefined : new Set(values.tables.split(',').map((t) => t.trim()));
  if (wanted !== undefined && [...wanted].some((t) => !/^[1-5]$/.test(t))) throw new UsageError(`--tables takes a list of 1..5, got '${values.tables}'`);
  const paperScenarios = [...SCENARIOS.values()].filter(
    (s) => s.name.startsWith('paper-') && (wanted === undefined || [...wanted].some((t) => s.name.startsWith(`paper-table${t}`))),
  );
  if (paperScenarios.length === 0) {
    out('ulp paper: none of the paper\'s experiments is built yet.\nBuilt-in scenarios so far: ' + [...SCENARIOS.keys()].join(', ') + ". Try 'ulp run hello'.\n");
    return 0;
  }
  // Every output path is checked before the runs, so a bad one costs one line and no simulation.
  if (values.report !== undefined) prepareReportDir(values.report);
  const jsonFd = values.json === undefined || values.json === '-' ? undefined : openOutputFile(values.json, '--json file');
  try {
    // Every experiment on every seed: experiment by experiment, its seeds in order; on --jobs
    // worker threads when more than one (each run is a fresh world: the same reports either way).
    const bar = progress(process.stderr.isTTY === true);
    const order = paperScenarios.flatMap((scenario, i) => seeds.map((seed, k) => ({ scenario, i, seed, k })));
    const label = (t: (typeof order)[number]): string =>
      `ulp paper: [${t.i + 1}/${paperScenarios.length}] ${t.scenario.name}${seeds.length > 1 ? ` (seed ${t.seed}, ${t.k + 1} of ${seeds.length})` : ''}`;
    let outcomes: { scenario: Scenario; outcome: Outcome }[];
    const entry = process.argv[1];
    if (jobs > 1 && order.length > 1 && entry !== undefined) {
      const tasks: PaperTask[] = order.map((t, index) => ({ index, scenario: t.scenario.name, seed: t.seed, costOverrides: [...costOverrides] }));
      let done = 0;
      const results = runInWorkers<Outcome>(entry, tasks, jobs, (index) => bar.step(`${label(order[index]!)} (${++done} of ${order.length} done)`));
      outcomes = order.map((t, index) => ({ scenario: t.scenario, outcome: results[index]! }));
    } else {
      outcomes = order.map((t) => {
        bar.step(label(t));
        return { scenario: t.scenario, outcome: runChecked(t.scenario, { seed: t.seed, costOverrides }) };
      });
    }
    bar.done();
    const runs = outcomes.map(({ scenario, outcome: o }) => ({ scenario, report: o.report, ...(o.failures.length > 0 ? { failure: o.failures.join('; ') } : {}) }));
    const failed = outcomes.filter(({ outcome: o }) => o.failures.length > 0).map(({ outcome: o }) => o);
    const cells = allCells(runs);
    const stats = replicate(cells, seeds);
    const means = stats.map(meanCell);
    const reportFiles = values.report === undefined ? undefined : buildReport(runs, { ...(wanted === undefined ? {} : { tables: [...wanted].sort() }), ...(replicated ? { seedsArg: values.seeds! } : {}) });
    if (values.report !== undefined && reportFiles !== undefined) writeReport(values.report, reportFiles);
    if (values.json !== undefined) {
      const text = JSON.stringify(paperJson(runs, { seeds, replicated, costOverrides: Object.fromEntries(costOverrides), failures: failed.map(failureLine) }), null, 2) + '\n';
      if (jsonFd === undefined) out(text);
      else {
        writeAllSync(jsonFd, text);
        out(`ulp paper: wrote ${values.json}\n`);
      }
    } else {
      for (const scenario of paperScenarios) {
        const mine = runs.filter((r) => r.scenario === scenario);
        out(`\n== ${scenario.name}: ${scenario.summary}\n`);
        out(formatCells(stats.filter((s) => s.cell.scenario === scenario.name), replicated) + '\n');
        const first = mine[0]!;
        if (mine.length === 1) out(`(${first.failure !== undefined ? 'FAILED, ' : ''}simulated ${(first.report.simTimeNs / 1e6).toFixed(3)} ms, fingerprint ${first.report.fingerprint || '—'}; details: ulp run ${scenario.name}${first.report.seed === 1 ? '' : ` --seed ${first.report.seed}`})\n`);
        else out(`(${mine.length} runs, seeds ${seedsText(seeds)}${mine.some((r) => r.failure !== undefined) ? `, FAILED on seeds ${mine.filter((r) => r.failure !== undefined).map((r) => r.report.seed).join(', ')}` : ''}; fingerprints: ulp paper --json; one run: ulp run ${scenario.name} --seed N)\n`);
      }
      out(`\n${summaryLine(means)} (ratio = emulator${replicated ? ' mean' : ''} / paper)\n`);
      const statements = statedOrderings();
      if (statements.length > 0) {
        out(`the orderings the paper states${replicated ? `, checked on each of ${seeds.length} seeds` : ''} (ulp paper --report DIR says why):\n`);
        const lines = replicated
          ? replicatedOrderingLines(checkOrderingsOverSeeds(statements, seeds.map((seed) => [seed, cells.filter((c) => c.seed === seed)] as const), means))
          : orderingLines(checkOrderings(statements, means));
        out(lines.join('\n') + '\n');
      }
    }
    // With `--json -` stdout is the JSON alone.
    if (values.report !== undefined && reportFiles !== undefined && values.json !== '-') {
      out(`ulp paper: wrote ${reportFiles.map((f) => f.name).join(', ')} into ${values.report}\n`);
    }
    // A what-if that changed nothing says so (an override no experiment read).
    const completed = outcomes.filter(({ outcome: o }) => o.report.fingerprint !== '');
    const unread = completed.length === 0 ? [] : [...costOverrides.keys()].filter((n) => completed.every(({ outcome: o }) => o.unread.includes(n)));
    warnUnread(unread, costOverrides);
    for (const o of failed) err(failureLine(o));
    return failed.length > 0 ? EXIT_RUN_FAILED : 0;
  } finally {
    if (jsonFd !== undefined) closeSync(jsonFd);
  }
}

/** A `ulp paper` worker thread (studies/paper/parallel.ts): runs the experiments it is sent. */
export function workerMain(data: unknown): boolean {
  if (!isPaperWorker(data)) return false;
  paperWorker<Outcome>(data, (t) => runChecked(findScenario(t.scenario), { seed: t.seed, costOverrides: new Map(t.costOverrides) }));
  return true;
}

export function main(argv: string[]): number {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
        out(HELP);
        return 0;
      case 'help': {
        const topic = rest[0];
        out(topic !== undefined && COMMAND_HELP[topic] !== undefined ? COMMAND_HELP[topic]() : HELP);
        return 0;
      }
      case '--version':
      case '-V':
        out(`ulp-emu ${VERSION}\n`);
        return 0;
    }
    const help = COMMAND_HELP[command];
    if (help === undefined) throw new UsageError(`unknown command '${command}' (try 'ulp --help')`);
    // `ulp run X --help`: that command's help (options after `--` are not options).
    const dd = rest.indexOf('--');
    if ((dd < 0 ? rest : rest.slice(0, dd)).some((a) => a === '--help' || a === '-h')) {
      out(help());
      return 0;
    }
    switch (command) {
      case 'run':
        return cmdRun(rest);
      case 'costs':
        return cmdCosts(rest);
      case 'scenarios':
        return cmdScenarios(rest);
      case 'paper':
        return cmdPaper(rest);
      default:
        return runBench(rest);
    }
  } catch (e) {
    if (e instanceof BrokenPipe) return 0;
    if (e instanceof UsageError || e instanceof UnknownCostError || isParseArgsError(e)) {
      err((e as Error).message.split('\n')[0]!);
      return EXIT_USAGE;
    }
    throw e;
  }
}

function isParseArgsError(e: unknown): boolean {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && (e as unknown as { code: string }).code.startsWith('ERR_PARSE_ARGS');
}
