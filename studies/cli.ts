/**
 * The `ulp` command line. Exit codes: 0 done; 2 a user error (unknown command, scenario, option,
 * cost name, bad value, an output path that cannot be written) — one clear line on stderr, never a
 * stack trace, found before any simulation where it can be; 3 a run failed (it stopped on its time
 * limit, produced a null or non-finite figure, or the model threw under the given costs) — one
 * line per failed run on stderr, after the output. A closed stdout (`ulp costs | head -1`) ends
 * the command quietly.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decstationCostTable } from '../emulator/host/costs/decstation-5000-200.ts';
import { UnknownCostError } from '../emulator/host/costs/cost-table.ts';
import { SCENARIOS } from './scenarios/index.ts';
import type { Results, ResultValue, RunReport, Scenario } from './scenarios/types.ts';
import { checkedParams, describeCrash, findScenario, openOutputFile, prepareOutputDir, runFailures, runScenario, UsageError, writeAllSync, type RunOptions } from './run.ts';
import { findParam, formatParam, isDefault, ParamError, parseParamText, rangeText, type ParamValue, type ParamValues } from './scenarios/params.ts';
import { isScenarioFileArg, loadScenarioFile, type ScenarioFile } from './scenario-file.ts';
import { scenarioFileSchema } from './scenario-schema.ts';
import {
  expandDimText, mergeShards, metricNames, metricsOf, parseShard, parseSweepJsonl, pointCount, pointValues, POINTS_MAX, progressLine, shardPoints, summarize, summaryCsv, sweepCsv, sweepJsonl,
  type Dim, type MetricSummary, type SweepHeader, type SweepRow,
} from './sweep.ts';
import type { World } from './world.ts';
import { runBench, WORKLOADS } from './bench.ts';
import { availableParallelism } from 'node:os';
import { runOnPool, type Settled } from './pool.ts';
import { campaignChunk, type ChunkResult, type ChunkTask } from './campaign/run.ts';
import { compare, formatComparison } from './paper/compare.ts';
import { fmt } from './report/format.ts';
import { PAPER_TABLES, paperJson } from './paper/reproduce.ts';
import { allCells, cellsOf } from './report/cells.ts';
import { checkOrderings, checkOrderingsOverSeeds } from './report/orderings.ts';
import { meanCell, replicate, seedsText } from './report/replications.ts';
import { formatCells, orderingLines, replicatedOrderingLines, summaryLine } from './report/terminal.ts';
import { buildReport, prepareReportDir, writeReport } from './report/report.ts';
import { registerLogText, traceRegisters, TRACE_EVENTS_MAX_DEFAULT, type TimelineSummary } from './trace/perfetto.ts';
import { AccessLog } from '../emulator/devkit/access-log.ts';
import { cmdFuzz, FUZZ_USAGE } from './campaign/cli.ts';
import { cmdLive, LIVE_USAGE } from './live.ts';

export const EXIT_USAGE = 2;
export const EXIT_RUN_FAILED = 3;

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const RUN_USAGE = `  ulp run <scenario> [--param NAME=VALUE ...] [--seed N] [--json]
          [--cost NAME=VALUE ...] [--pcap DIR [--pcap-format pcapng|pcap]]
          [--trace FILE [--trace-limit N]]
          [--trace-registers FILE]
                                 run one scenario: <scenario> is a built-in name or a
                                 scenario file FILE.json (a built-in scenario with params,
                                 costs and seed(s); studies/examples has some)`;
const COSTS_USAGE = `  ulp costs [--json]             list the cost table (name, value, unit, source)`;
const SCENARIOS_USAGE = `  ulp scenarios [--json] [NAME]  list the built-in scenarios, or NAME's parameters
  ulp params NAME [--json]       NAME's parameters (name, type, default, range, unit, what)
  ulp schema                     the JSON Schema of scenario files (for editors)`;
const SWEEP_USAGE = `  ulp sweep <scenario> [--param NAME=V1,V2,... ...] [--cost NAME=V1,V2,... ...]
          [--seed N | --seeds N|LIST] [--shard I/N] [--jsonl FILE] [--csv FILE]
          [--summary FILE] [--metric NAME ...] [--jobs N|auto]
                                 every point of the grid (cartesian product) on every seed:
                                 long-form rows, mean and 95 % interval per point (ranges:
                                 A:B:STEP or A:B:xFACTOR; a list parameter's points split by ;);
                                 --jobs N|auto: the runs on N worker threads (auto: one per
                                 core; default 1: in this thread); the output is the same
  ulp merge SHARD.jsonl ... [--jsonl FILE] [--csv FILE] [--summary FILE] [--metric NAME ...]
                                 join the shards of a sweep (--shard) into the whole sweep's bytes`;
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
  --seeds N|LIST   (paper, sweep) replications: seeds 1..N, or the seeds listed (1,2,5)
  --param NAME=V   set a scenario parameter (repeatable; --set is the same): ulp params NAME
                   lists them; a bad name or value is one line, exit 2, before any run
  --json           print one JSON object instead of text (paper: --json FILE, or - for stdout)
  --cost NAME=V    override one cost-table constant for a what-if run (repeatable); values are
                   checked against the constant's bounds (ulp costs)
  --pcap DIR       write one capture per network interface into DIR, named
                   <host>-<interface>.pcapng (ln0 LANCE, an0 AN1): pcapng with the interface's
                   name and nanosecond timestamps (a host and interface on several networks of
                   one run: one file per network, in DIR/net-NN/)
  --pcap-format F  pcapng (the default) or pcap (classic libpcap, nanosecond, <host>-<interface>.pcap)
  --trace FILE     write a timeline of the run (Chrome Trace Event JSON) into FILE: open it in
                   https://ui.perfetto.dev; the run and its fingerprint are unchanged
  --trace-limit N  events the timeline holds at most (default 2000000), then it stops recording
  --trace-registers FILE
                   write every device register access (time, initiator, register, value, bits)
                   as text into FILE; the run and its fingerprint are unchanged
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
${SWEEP_USAGE}
${PAPER_USAGE}
${BENCH_USAGE}
${FUZZ_USAGE}
${LIVE_USAGE}
  ulp --help | --version

${OPTIONS}`;

const COMMAND_HELP: { readonly [command: string]: () => string } = {
  run: () => `usage:\n${RUN_USAGE}\n\nscenarios: ${[...SCENARIOS.keys()].join(', ')} (ulp scenarios says what each shows, ulp params NAME what it takes)\n\n${OPTIONS}`,
  costs: () => `usage:\n${COSTS_USAGE}\n`,
  scenarios: () => `usage:\n${SCENARIOS_USAGE}\n`,
  params: () => `usage:\n${SCENARIOS_USAGE}\n`,
  schema: () => `usage:\n${SCENARIOS_USAGE}\n`,
  sweep: () => `usage:\n${SWEEP_USAGE}\n\n${OPTIONS}`,
  merge: () => `usage:\n${SWEEP_USAGE}\n`,
  paper: () => `usage:\n${PAPER_USAGE}\n\n${OPTIONS}`,
  bench: () => `usage:\n${BENCH_USAGE}\n`,
  fuzz: () => `usage:\n${FUZZ_USAGE}\n`,
  live: () => `usage:\n${LIVE_USAGE}\n`,
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
    if (e instanceof UsageError || e instanceof BrokenPipe || e instanceof ParamError) throw e;
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
      ...(options.params !== undefined ? { params: options.params } : {}),
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
  const params = r.params ?? {};
  if ((scenario.params ?? []).length > 0) lines.push(`parameters: ${paramsLine(scenario, params)}${isDefault(scenario.params, params) ? '' : ' (* not the default)'}`);
  lines.push(`results:${formatValue(r.results, '  ')}`);
  const cells = cellsOf({ scenario, report: r });
  if (!isDefault(scenario.params, params)) {
    if (scenario.paper !== undefined) lines.push("beside the paper: not shown, the parameters are not the paper's (* above)");
  } else if (cells.length > 0) lines.push('beside the paper (ratio = emulator / paper):', formatCells(replicate(cells, [r.seed]), false));
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

/** `--param NAME=VALUE` items (and `--set`), each checked against `scenario`'s declared parameters. */
function parseParamArgs(scenario: Scenario, items: readonly string[], into: Map<string, ParamValue> = new Map()): Map<string, ParamValue> {
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param needs NAME=VALUE, got '${item}'`);
    const spec = findParam(scenario, item.slice(0, eq));
    into.set(spec.name, parseParamText(spec, item.slice(eq + 1)));
  }
  return into;
}

/** The scenario a positional names (built-in) or the scenario file it is, checked. */
function scenarioArg(arg: string): { scenario: Scenario; file?: ScenarioFile } {
  if (isScenarioFileArg(arg)) {
    const file = loadScenarioFile(arg);
    return { scenario: file.scenario, file };
  }
  return { scenario: findScenario(arg) };
}

/** One line per parameter: name, type and range, default, unit, what it is. */
function paramsText(scenario: Scenario): string {
  const specs = scenario.params ?? [];
  if (specs.length === 0) return `scenario ${scenario.name} has no parameters\n`;
  const w = Math.max(...specs.map((p) => p.name.length));
  const lines = specs.map((p) => `  ${p.name.padEnd(w)}  ${`default ${formatParam(p.default)}${p.unit === '' ? '' : ` ${p.unit}`}`.padEnd(28)} ${rangeText(p)}\n  ${' '.repeat(w)}  ${p.doc}`);
  return `parameters of ${scenario.name} (ulp run ${scenario.name} --param NAME=VALUE):\n${lines.join('\n')}\n`;
}

const paramsLine = (scenario: Scenario, values: ParamValues): string => {
  const specs = scenario.params ?? [];
  return specs.map((p) => `${p.name}=${formatParam(values[p.name] ?? p.default)}${isDefault([p], values) ? '' : '*'}`).join(' ');
};

function cmdRun(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      cost: { type: 'string', multiple: true, default: [] },
      param: { type: 'string', multiple: true, default: [] },
      set: { type: 'string', multiple: true, default: [] },
      pcap: { type: 'string' },
      'pcap-format': { type: 'string' },
      trace: { type: 'string' },
      'trace-limit': { type: 'string' },
      // --trace-registers (issue 16 item 2): the register access log as text.
      'trace-registers': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`'ulp run' needs exactly one scenario name or scenario file (known: ${[...SCENARIOS.keys()].join(', ')})`);
  const { scenario, file } = scenarioArg(positionals[0]!);
  const given = parseParamArgs(scenario, [...values.param, ...values.set], new Map(file?.params ?? []));
  const params = checkedParams(scenario, given);
  const seeds = values.seed !== undefined ? [parseSeed(values.seed)] : (file?.seeds ?? [1]);
  const costOverrides = new Map([...(file?.costs ?? []), ...parseCosts(values.cost)]);
  if (values['trace-limit'] !== undefined && values.trace === undefined) throw new UsageError('--trace-limit needs --trace FILE');
  const eventsMax = parseTraceLimit(values['trace-limit']);
  if (seeds.length > 1 && (values.pcap !== undefined || values.trace !== undefined || values['trace-registers'] !== undefined)) throw new UsageError(`--pcap, --trace and --trace-registers record one run: the scenario file names ${seeds.length} seeds, pick one with --seed N`);
  const pcapFormat = values['pcap-format'];
  if (pcapFormat !== undefined && pcapFormat !== 'pcapng' && pcapFormat !== 'pcap') throw new UsageError(`--pcap-format needs pcapng or pcap, got '${pcapFormat}'`);
  if (pcapFormat !== undefined && values.pcap === undefined) throw new UsageError('--pcap-format needs --pcap DIR');
  // Every output path is checked before the run, so a bad one costs one line and no simulation.
  if (values.pcap !== undefined) prepareOutputDir(values.pcap, '--pcap directory');
  const traceFd = values.trace === undefined ? undefined : openOutputFile(values.trace, '--trace file');
  // --trace-registers (issue 16 item 2): checked before the run like the other outputs; written after it.
  const registersFd = values['trace-registers'] === undefined ? undefined : openOutputFile(values['trace-registers'], '--trace-registers file');
  const registerLog = registersFd === undefined ? undefined : new AccessLog(true);
  const failed: Outcome[] = [];
  const unreadEverywhere = new Set(costOverrides.keys());
  seeds.forEach((seed, k) => {
    let timeline: TimelineSummary | undefined;
    let outcome: Outcome;
    try {
      outcome = runChecked(scenario, {
        seed,
        params,
        costOverrides,
        ...(registerLog !== undefined ? { onWorld: (w: World) => traceRegisters(w, registerLog) } : {}),
        ...(values.pcap !== undefined ? { pcapDir: values.pcap, ...(pcapFormat !== undefined ? { pcapFormat } : {}) } : {}),
        ...(traceFd !== undefined
          ? { timeline: { sink: (chunk: string) => writeAllSync(traceFd, chunk), eventsMax, onDone: (s: TimelineSummary) => (timeline = s) } }
          : {}),
      });
    } finally {
      if (traceFd !== undefined) closeSync(traceFd);
      if (registersFd !== undefined) {
        if (registerLog !== undefined) writeAllSync(registersFd, registerLogText(registerLog));
        closeSync(registersFd);
      }
    }
    const { report } = outcome;
    if (values.json) {
      out(JSON.stringify({ ...report, ...(file !== undefined ? { scenarioFile: file.path } : {}), outcome: outcome.failures.length === 0 ? 'done' : 'failed', failures: outcome.failures }) + '\n');
    } else {
      if (k > 0) out('\n');
      printReport(scenario, report);
      if (timeline !== undefined) {
        const note = timeline.truncated ? ` (limit reached: the rest of the run is not in it; --trace-limit raises it)` : '';
        out(`timeline: ${timeline.eventsWritten} events in ${values.trace}${note}; open it in https://ui.perfetto.dev\n`);
      }
      if (report.captures !== undefined && report.captures.length > 0) out(`captures: ${report.captures.length} ${pcapFormat ?? 'pcapng'} files in ${values.pcap} (${report.captures[0]}, ...)\n`);
    }
    if (outcome.report.fingerprint !== '') for (const n of [...unreadEverywhere]) if (!outcome.unread.includes(n)) unreadEverywhere.delete(n);
    if (values.pcap !== undefined && outcome.failures.length === 0 && (report.captures ?? []).length === 0) err(`warning: --pcap: scenario ${scenario.name} has no network interface to capture`);
    if (outcome.failures.length > 0) failed.push(outcome);
  });
  warnUnread([...unreadEverywhere], costOverrides);
  for (const o of failed) err(failureLine(o));
  return failed.length > 0 ? EXIT_RUN_FAILED : 0;
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

const scenarioJson = (s: Scenario): object => ({ name: s.name, summary: s.summary, ...(s.paperSection !== undefined ? { paperSection: s.paperSection } : {}), params: s.params ?? [] });

function cmdScenarios(args: string[], paramsOnly = false): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { json: { type: 'boolean', default: false } } });
  if (positionals.length > 1 || (paramsOnly && positionals.length !== 1)) throw new UsageError(`'ulp ${paramsOnly ? 'params' : 'scenarios'}' needs ${paramsOnly ? 'one scenario name' : 'at most one scenario name'}`);
  if (positionals.length === 1) {
    const scenario = findScenario(positionals[0]!);
    if (values.json) out(JSON.stringify(scenarioJson(scenario)) + '\n');
    else out(`${scenario.name}: ${scenario.summary}\n${paramsText(scenario)}`);
    return 0;
  }
  const all = [...SCENARIOS.values()];
  if (values.json) {
    out(JSON.stringify(all.map(scenarioJson)) + '\n');
    return 0;
  }
  for (const s of all) out(`${s.name.padEnd(28)} ${s.summary}\n`);
  return 0;
}

/** `--jobs N|auto` (paper, sweep): worker threads, 1..64; auto is one per core; default 1. */
function parseJobs(text: string | undefined): number {
  const jobs = text === undefined ? 1 : text === 'auto' ? Math.min(64, availableParallelism()) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError(`--jobs needs a whole number 1..64 or 'auto', got '${text}'`);
  return jobs;
}

/** On a terminal, one line on stderr saying which experiment runs (overwritten as it goes). */
function progress(enabled: boolean): { step(text: string): void; done(): void } {
  if (!enabled) return { step: () => {}, done: () => {} };
  return {
    step: (text) => process.stderr.write(`\r\x1b[K${text}`),
    done: () => process.stderr.write('\r\x1b[K'),
  };
}

/** The emulator's version and the commit it runs from (`ULP_COMMIT` where there is no git checkout). */
function provenance(): { version: string; commit: string } {
  let commit = process.env['ULP_COMMIT'] ?? '';
  if (commit === '') {
    const cwd = new URL('..', import.meta.url).pathname;
    try {
      commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      try {
        execFileSync('git', ['diff', '--quiet', 'HEAD'], { cwd, stdio: 'ignore' });
      } catch {
        commit += '-dirty';
      }
    } catch {
      commit = 'unknown';
    }
  }
  return { version: VERSION, commit };
}

/** The metrics the terminal table shows: --metric, else the first four top-level figures (else the first four). */
function shownMetrics(all: readonly string[], asked: readonly string[]): string[] {
  if (asked.length > 0) {
    for (const m of asked) if (!all.includes(m)) err(`warning: --metric ${m}: no run has it (metrics: ${all.slice(0, 12).join(', ')}${all.length > 12 ? ', ...' : ''})`);
    return asked.filter((m) => all.includes(m));
  }
  const top = all.filter((m) => !/[.[]/.test(m));
  return (top.length > 0 ? top : all).slice(0, 4);
}

/** The sweep as a terminal table: one line per point, each shown metric as mean ± 95 % half-width. */
function printSweep(header: SweepHeader, rows: readonly SweepRow[], summaries: readonly MetricSummary[], metrics: readonly string[], all: readonly string[]): void {
  const points = [...new Set(rows.map((r) => r.point))];
  const dimHeads = header.dims.map((d) => d.name);
  const table: string[][] = [['point', ...dimHeads, 'runs', ...metrics]];
  const byKey = new Map(summaries.map((s) => [`${s.point} ${s.metric}`, s]));
  for (const p of points) {
    const mine = rows.filter((r) => r.point === p);
    const failed = mine.filter((r) => r.outcome === 'failed').length;
    const cells = metrics.map((m) => {
      const s = byKey.get(`${p} ${m}`);
      if (s === undefined) return '—';
      if (s.mean === null) return 'failed';
      return s.ci95 === null ? fmt(s.mean) : `${fmt(s.mean)} ± ${fmt(s.ci95)}`;
    });
    table.push([String(p), ...pointValues(header.dims, p).map(formatParam), failed > 0 ? `${mine.length - failed}/${mine.length} FAILED` : `${mine.length}`, ...cells]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  out(`sweep ${header.scenario}: ${header.points} points × ${header.seeds.length} seed${header.seeds.length > 1 ? 's' : ''} (${seedsText(header.seeds)})${header.shard !== null ? `, shard ${header.shard}: ${points.length} points` : ''}\n`);
  for (const r of table) out(r.map((c, i) => (i === 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n');
  const note = header.seeds.length > 1 ? 'mean ± half-width of the 95 % interval (Student t) over the seeds' : 'one seed: no interval (--seeds N)';
  out(`(${note}; ${metrics.length} of ${all.length} metrics shown: --metric NAME picks, --csv/--jsonl hold them all)\n`);
}

interface SweepOutputs {
  readonly jsonl?: string;
  readonly csv?: string;
  readonly summary?: string;
}

/** Open every output before any run (a bad path is one line, no simulation); write them at the end. */
function openOutputs(o: SweepOutputs): { write(header: SweepHeader, rows: readonly SweepRow[], metrics: readonly string[], summaries: readonly MetricSummary[]): void } {
  const fds = {
    jsonl: o.jsonl === undefined ? undefined : openOutputFile(o.jsonl, '--jsonl file'),
    csv: o.csv === undefined ? undefined : openOutputFile(o.csv, '--csv file'),
    summary: o.summary === undefined ? undefined : openOutputFile(o.summary, '--summary file'),
  };
  return {
    write(header, rows, metrics, summaries) {
      const put = (fd: number | undefined, text: () => string): void => {
        if (fd === undefined) return;
        writeAllSync(fd, text());
        closeSync(fd);
      };
      put(fds.jsonl, () => sweepJsonl(header, rows));
      put(fds.csv, () => sweepCsv(rows, metrics));
      put(fds.summary, () => summaryCsv(header, summaries));
    },
  };
}

/** Print, write and judge a sweep's rows (a run's or a merge's): exit 3 when any run failed. */
function finishSweep(header: SweepHeader, rows: readonly SweepRow[], outputs: ReturnType<typeof openOutputs>, asked: readonly string[]): number {
  const metrics = metricNames(rows);
  const summaries = summarize(rows, metrics);
  outputs.write(header, rows, metrics, summaries);
  printSweep(header, rows, summaries, shownMetrics(metrics, asked), metrics);
  const failed = rows.filter((r) => r.outcome === 'failed');
  for (const r of failed) err(`run failed: ${r.scenario} point ${r.point} (seed ${r.seed}): ${r.failure ?? 'failed'}`);
  return failed.length > 0 ? EXIT_RUN_FAILED : 0;
}

function cmdSweep(args: string[]): number | Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      param: { type: 'string', multiple: true, default: [] },
      set: { type: 'string', multiple: true, default: [] },
      cost: { type: 'string', multiple: true, default: [] },
      seed: { type: 'string' },
      seeds: { type: 'string' },
      shard: { type: 'string' },
      jsonl: { type: 'string' },
      csv: { type: 'string' },
      summary: { type: 'string' },
      metric: { type: 'string', multiple: true, default: [] },
      jobs: { type: 'string' },
    },
  });
  const jobs = parseJobs(values.jobs);
  if (positionals.length !== 1) throw new UsageError(`'ulp sweep' needs exactly one scenario name or scenario file (known: ${[...SCENARIOS.keys()].join(', ')})`);
  const { scenario, file } = scenarioArg(positionals[0]!);
  if (values.seed !== undefined && values.seeds !== undefined) throw new UsageError('give --seed N (one run per point) or --seeds N|LIST (replications), not both');
  const seeds = values.seeds !== undefined ? parseSeeds(values.seeds) : values.seed !== undefined ? [parseSeed(values.seed)] : (file?.seeds ?? [1]);
  const shard = values.shard === undefined ? undefined : parseShard(values.shard);
  // The grid: a one-valued --param or --cost is fixed for every point, a list is a dimension.
  const baseParams = new Map(file?.params ?? []);
  const fixedCosts = new Map(file?.costs ?? []);
  const dims: Dim[] = [];
  const named = new Set<string>();
  for (const item of [...values.param, ...values.set]) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param needs NAME=V1,V2,..., got '${item}'`);
    const spec = findParam(scenario, item.slice(0, eq));
    if (named.has(`param.${spec.name}`)) throw new UsageError(`--param ${spec.name} given twice`);
    named.add(`param.${spec.name}`);
    const vs = expandDimText(item.slice(eq + 1), `--param ${spec.name}`, spec.type.endsWith('-list')).map((t) => parseParamText(spec, t));
    if (vs.length === 1) baseParams.set(spec.name, vs[0]!);
    else dims.push({ kind: 'param', name: spec.name, values: vs });
  }
  for (const item of values.cost) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--cost needs NAME=V1,V2,..., got '${item}'`);
    const name = item.slice(0, eq);
    if (named.has(`cost.${name}`)) throw new UsageError(`--cost ${name} given twice`);
    named.add(`cost.${name}`);
    const vs = expandDimText(item.slice(eq + 1), `--cost ${name}`, false).map((t) => [...parseCosts([`${name}=${t}`]).values()][0]!);
    if (vs.length === 1) fixedCosts.set(name, vs[0]!);
    else dims.push({ kind: 'cost', name, values: vs });
  }
  const points = pointCount(dims);
  if (points * seeds.length > POINTS_MAX) throw new UsageError(`the sweep has ${points} points × ${seeds.length} seeds, more than ${POINTS_MAX} runs`);
  // Every point's parameters are checked (sizeMin ≤ sizeMax, say) before the first run.
  const plan = shardPoints(points, shard).map((p) => {
    const vals = pointValues(dims, p);
    const given = new Map(baseParams);
    const costs = new Map(fixedCosts);
    dims.forEach((d, i) => (d.kind === 'param' ? given.set(d.name, vals[i]!) : costs.set(d.name, vals[i] as number)));
    try {
      return { p, params: checkedParams(scenario, given), costs };
    } catch (e) {
      if (e instanceof ParamError) throw new ParamError(`point ${p} (${dims.map((d, i) => `${d.name}=${formatParam(vals[i]!)}`).join(' ')}): ${e.message}`);
      throw e;
    }
  });
  const outputs = openOutputs({
    ...(values.jsonl !== undefined ? { jsonl: values.jsonl } : {}),
    ...(values.csv !== undefined ? { csv: values.csv } : {}),
    ...(values.summary !== undefined ? { summary: values.summary } : {}),
  });
  const prov = provenance();
  const header: SweepHeader = {
    ulpSweep: 1,
    scenario: scenario.name,
    params: Object.fromEntries(baseParams),
    costs: Object.fromEntries(fixedCosts),
    dims,
    seeds,
    points,
    shard: shard === undefined ? null : `${shard[0]}/${shard[1]}`,
    ...prov,
  };
  // Every point × seed, in point then seed order: the rows' order whatever runs them.
  const work = plan.flatMap(({ p, params, costs }) => seeds.map((seed) => ({ p, seed, params, costs })));
  const bar = sweepProgress(process.stderr.isTTY === true, work.length);
  const finish = (runs: readonly SweepRun[]): number => {
    bar.done();
    const unreadEverywhere = new Set([...fixedCosts.keys(), ...dims.filter((d) => d.kind === 'cost').map((d) => d.name)]);
    const rows = work.map(({ p, seed, params, costs }, i): SweepRow => {
      const r = runs[i]!;
      if (r.fingerprint !== '') for (const n of [...unreadEverywhere]) if (!r.unread.includes(n)) unreadEverywhere.delete(n);
      return {
        point: p,
        seed,
        scenario: scenario.name,
        params,
        costs: Object.fromEntries(costs),
        outcome: r.failures.length === 0 ? 'done' : 'failed',
        failure: r.failures.length === 0 ? null : r.failures.join('; '),
        fingerprint: r.fingerprint,
        simTimeNs: r.simTimeNs,
        events: r.events,
        guestErrors: r.guestErrors,
        ...prov,
        results: r.results,
      };
    });
    for (const n of unreadEverywhere) err(`warning: --cost ${n} changed nothing: no part of this sweep reads ${n}`);
    return finishSweep(header, rows, outputs, values.metric);
  };
  if (jobs > 1 && work.length > 1) {
    // On worker threads (studies/pool.ts): each run's inputs go to a worker, which loads the
    // scenario as this thread did (a name, or the scenario file's path) and runs it.
    const tasks: SweepTask[] = work.map(({ seed, params, costs }) => ({ kind: 'sweep', scenarioArg: positionals[0]!, seed, params, costs: [...costs] }));
    return runOnPool<SweepTask, SweepRun>(tasks, jobs, (i, s) => bar.finished(s.ok ? s.value.failures.length > 0 : true, `point ${work[i]!.p}, seed ${work[i]!.seed}`)).then((settled) =>
      finish(settled.map((s) => (s.ok ? s.value : workerFailure(s.error)))),
    );
  }
  const runs = work.map(({ p, seed, params, costs }) => {
    bar.running(`point ${p}, seed ${seed}`);
    const r = sweepRun(scenario, seed, params, costs);
    bar.finished(r.failures.length > 0, '');
    return r;
  });
  return finish(runs);
}

/** One sweep run's figures: what a row needs, and all a worker thread sends back. */
export interface SweepRun {
  readonly failures: readonly string[];
  readonly unread: readonly string[];
  readonly fingerprint: string;
  readonly simTimeNs: number;
  readonly events: number;
  readonly guestErrors: number;
  readonly results: Results;
}

/** A `ulp sweep --jobs` task (studies/pool.ts): one point on one seed. */
export interface SweepTask {
  readonly kind: 'sweep';
  /** The sweep's scenario argument: a built-in name or a scenario file's path. */
  readonly scenarioArg: string;
  readonly seed: number;
  readonly params: ParamValues;
  readonly costs: readonly (readonly [string, number])[];
}

/** Run one point on one seed (a model error is a failed run, as in `ulp run`). */
function sweepRun(scenario: Scenario, seed: number, params: ParamValues, costs: ReadonlyMap<string, number>): SweepRun {
  const o = runChecked(scenario, { seed, params, costOverrides: costs });
  const r = o.report;
  return { failures: o.failures, unread: o.unread, fingerprint: r.fingerprint, simTimeNs: r.simTimeNs, events: r.events, guestErrors: r.guestErrors, results: r.results };
}

/** A run whose worker thread failed (it threw outside the model, or died): a failed row, with why. */
function workerFailure(error: string): SweepRun {
  return { failures: [`the worker thread failed: ${error}`], unread: [], fingerprint: '', simTimeNs: 0, events: 0, guestErrors: 0, results: {} };
}

const poolScenarios = new Map<string, Scenario>();

/** In a worker thread of `ulp sweep --jobs`, `ulp paper --jobs` or `ulp fuzz --jobs` (bin/pool-worker.js): run one task. */
export function poolTask(task: SweepTask | PaperTask | ChunkTask): SweepRun | Outcome | ChunkResult {
  if (task.kind === 'campaign') return campaignChunk(task);
  if (task.kind === 'paper') return runChecked(findScenario(task.scenario), { seed: task.seed, costOverrides: new Map(task.costOverrides) });
  if (task.kind !== 'sweep') throw new Error(`unknown pool task '${String((task as { kind?: unknown }).kind)}'`);
  let scenario = poolScenarios.get(task.scenarioArg);
  if (scenario === undefined) poolScenarios.set(task.scenarioArg, (scenario = scenarioArg(task.scenarioArg).scenario));
  return sweepRun(scenario, task.seed, task.params, new Map(task.costs));
}

/** The sweep's progress on a terminal: a bar, runs done of all, failures, the time left (stderr). */
function sweepProgress(enabled: boolean, total: number): { running(text: string): void; finished(failed: boolean, text: string): void; done(): void } {
  if (!enabled) return { running: () => {}, finished: () => {}, done: () => {} };
  const start = Date.now();
  let done = 0;
  let failed = 0;
  const draw = (text: string): void => {
    process.stderr.write(`\r\x1b[K${progressLine({ done, total, failed, text, elapsedMs: Date.now() - start, columns: (process.stderr.columns ?? 0) >= 20 ? process.stderr.columns : 80 })}`);
  };
  return {
    running: (text) => draw(`running ${text}`),
    finished: (f, text) => {
      done++;
      if (f) failed++;
      draw(text === '' ? '' : `done ${text}`);
    },
    done: () => process.stderr.write('\r\x1b[K'),
  };
}

function cmdMerge(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      jsonl: { type: 'string' },
      csv: { type: 'string' },
      summary: { type: 'string' },
      metric: { type: 'string', multiple: true, default: [] },
    },
  });
  const files = positionals.map((name) => {
    let text: string;
    try {
      text = readFileSync(name, 'utf8');
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw new UsageError(`cannot read shard file '${name}' (${typeof code === 'string' ? code : 'error'})`);
    }
    return { name, ...parseSweepJsonl(text, name) };
  });
  const { header, rows } = mergeShards(files);
  const outputs = openOutputs({
    ...(values.jsonl !== undefined ? { jsonl: values.jsonl } : {}),
    ...(values.csv !== undefined ? { csv: values.csv } : {}),
    ...(values.summary !== undefined ? { summary: values.summary } : {}),
  });
  return finishSweep(header, rows, outputs, values.metric);
}

function cmdPaper(args: string[]): number | Promise<number> {
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
  const jobs = parseJobs(values.jobs);
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
  // With --jobs the file is closed when the runs on the worker threads are done.
  let closeLater = false;
  try {
    // Every experiment on every seed: experiment by experiment, its seeds in order; on --jobs
    // worker threads when more than one (each run is a fresh world: the same reports either way).
    const bar = progress(process.stderr.isTTY === true);
    const order = paperScenarios.flatMap((scenario, i) => seeds.map((seed, k) => ({ scenario, i, seed, k })));
    const label = (t: (typeof order)[number]): string =>
      `ulp paper: [${t.i + 1}/${paperScenarios.length}] ${t.scenario.name}${seeds.length > 1 ? ` (seed ${t.seed}, ${t.k + 1} of ${seeds.length})` : ''}`;
    // Reports and files from the outcomes, in experiment then seed order, however they were run.
    const finish = (outcomes: readonly { readonly scenario: Scenario; readonly outcome: Outcome }[]): number => {
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
    };
    if (jobs > 1 && order.length > 1) {
      // On a pool of worker threads (studies/pool.ts), as `ulp sweep --jobs` runs its points.
      const tasks: PaperTask[] = order.map((t) => ({ kind: 'paper', scenario: t.scenario.name, seed: t.seed, costOverrides: [...costOverrides] }));
      let done = 0;
      closeLater = true;
      return runOnPool<PaperTask, Outcome>(tasks, jobs, (index) => bar.step(`${label(order[index]!)} (${++done} of ${order.length} done)`))
        .then((settled) => finish(order.map((t, i) => ({ scenario: t.scenario, outcome: settledOutcome(settled[i]!, t.scenario, t.seed, costOverrides) }))))
        .finally(() => {
          if (jsonFd !== undefined) closeSync(jsonFd);
        });
    }
    return finish(
      order.map((t) => {
        bar.step(label(t));
        return { scenario: t.scenario, outcome: runChecked(t.scenario, { seed: t.seed, costOverrides }) };
      }),
    );
  } finally {
    if (jsonFd !== undefined && !closeLater) closeSync(jsonFd);
  }
}

/** A `ulp paper --jobs` task (studies/pool.ts): one experiment on one seed, with the run's cost overrides. */
export interface PaperTask {
  readonly kind: 'paper';
  readonly scenario: string;
  readonly seed: number;
  readonly costOverrides: readonly (readonly [string, number])[];
}

/** A paper experiment's outcome from the pool: a worker that failed outside the model fails that run. */
function settledOutcome(s: Settled<Outcome>, scenario: Scenario, seed: number, costOverrides: ReadonlyMap<string, number>): Outcome {
  if (s.ok) return s.value;
  const report: RunReport = {
    scenario: scenario.name,
    seed,
    simTimeNs: 0,
    events: 0,
    fingerprint: '',
    costOverrides: Object.fromEntries(costOverrides),
    guestErrors: 0,
    cpuUs: {},
    results: {},
    ...(scenario.paper !== undefined ? { paper: scenario.paper } : {}),
  };
  return { report, failures: [`the worker thread failed: ${s.error}`], unread: [] };
}

export function main(argv: string[]): number | Promise<number> {
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
      // `ulp run X --help`: X's parameters too.
      const named = (command === 'run' || command === 'sweep') && rest[0] !== undefined ? SCENARIOS.get(rest[0]) : undefined;
      out(help() + (named !== undefined ? `\n${paramsText(named)}` : ''));
      return 0;
    }
    switch (command) {
      case 'run':
        return cmdRun(rest);
      case 'costs':
        return cmdCosts(rest);
      case 'scenarios':
        return cmdScenarios(rest);
      case 'params':
        return cmdScenarios(rest, true);
      case 'schema':
        parseArgs({ args: rest, strict: true, options: {} });
        out(JSON.stringify(scenarioFileSchema([...SCENARIOS.values()]), null, 2) + '\n');
        return 0;
      case 'sweep': {
        const r = cmdSweep(rest);
        return typeof r === 'number' ? r : r.catch(cliError);
      }
      case 'merge':
        return cmdMerge(rest);
      case 'paper': {
        const r = cmdPaper(rest);
        return typeof r === 'number' ? r : r.catch(cliError);
      }
      case 'fuzz': {
        const r = cmdFuzz(rest);
        return typeof r === 'number' ? r : r.catch(cliError);
      }
      case 'live':
        return cmdLive(rest).catch(cliError);
      default:
        return runBench(rest);
    }
  } catch (e) {
    return cliError(e);
  }
}

/** A command's error: a closed stdout ends it quietly, a user error is one line and exit 2. */
function cliError(e: unknown): number {
  if (e instanceof BrokenPipe) return 0;
  if (e instanceof UsageError || e instanceof UnknownCostError || e instanceof ParamError || isParseArgsError(e)) {
    err((e as Error).message.split('\n')[0]!);
    return EXIT_USAGE;
  }
  throw e;
}

function isParseArgsError(e: unknown): boolean {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && (e as unknown as { code: string }).code.startsWith('ERR_PARSE_ARGS');
}
