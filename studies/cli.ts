/**
 * The `ulp` command line. Every user error (unknown command, scenario, option, cost name, bad
 * value) is one clear line on stderr and exit code 2, never a stack trace.
 */
import { parseArgs } from 'node:util';
import { decstationCostTable } from '../emulator/host/costs/decstation-5000-200.ts';
import { UnknownCostError } from '../emulator/host/costs/cost-table.ts';
import { SCENARIOS } from './scenarios/index.ts';
import type { ResultValue, RunReport, Scenario } from './scenarios/types.ts';
import { findScenario, runScenario, UsageError } from './run.ts';
import { runBench } from './bench.ts';
import { compare, formatComparison } from './paper/compare.ts';
import { PAPER_TABLES, paperJson } from './paper/reproduce.ts';
import { allCells } from './report/cells.ts';
import { checkOrderings, checkOrderingsOverSeeds } from './report/orderings.ts';
import { meanCell, replicate, seedsText } from './report/replications.ts';
import { formatCells, orderingLines, replicatedOrderingLines, summaryLine } from './report/terminal.ts';
import { buildReport, prepareReportDir, writeReport } from './report/report.ts';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { TRACE_EVENTS_MAX_DEFAULT, type TimelineSummary } from './trace/perfetto.ts';

const HELP = `ulp — the ulp-emu emulator of "Implementing Network Protocols at User Level" (1993)

usage:
  ulp run <scenario> [--seed N] [--json] [--cost NAME=VALUE ...] [--pcap DIR]
          [--trace FILE [--trace-limit N]]
                                 run one scenario (built-in name)
  ulp costs [--json]             list the cost table (name, value, unit, source)
  ulp scenarios                  list the built-in scenarios
  ulp paper [--tables 1,5] [--json FILE|-] [--report DIR] [--seed N] [--cost NAME=VALUE ...]
                                 the paper's experiments beside the paper's figures; --json
                                 writes the paper's tables with the emulator's values;
                                 --report writes report.md, results.csv and SVG charts into DIR;
                                 --seed and --cost apply to every experiment (a what-if study)
  ulp bench [--json]             the emulator's own speed (wall clock)
  ulp --help                     this text

options:
  --seed N         PRNG seed (integer, default 1); same scenario + seed => same fingerprint
  --json           print one JSON object instead of text
  --cost NAME=V    override one cost-table constant for a what-if run (repeatable)
  --pcap DIR       write one pcap per network interface into DIR
  --trace FILE     write a timeline of the run (Chrome Trace Event JSON) into FILE: open it in
                   https://ui.perfetto.dev; the run and its fingerprint are unchanged
  --trace-limit N  events the timeline holds at most (default 2000000), then it stops recording
`;

function parseSeed(text: string | undefined): number {
  if (text === undefined) return 1;
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--seed needs an integer, got '${text}'`);
  return Number(text);
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

function parseCosts(items: readonly string[]): Map<string, number> {
  const table = decstationCostTable();
  const out = new Map<string, number>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--cost needs NAME=VALUE, got '${item}'`);
    const name = item.slice(0, eq);
    const text = item.slice(eq + 1);
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--cost ${name} needs a number, got '${text}'`);
    table.override(name, value); // throws UnknownCostError for unknown names / negative values
    out.set(name, value);
  }
  return out;
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

function printReport(r: RunReport): void {
  const lines = [
    `scenario ${r.scenario}  seed ${r.seed}`,
    `simulated ${(r.simTimeNs / 1e6).toFixed(6)} ms in ${r.events} events; fingerprint ${r.fingerprint}; guest errors ${r.guestErrors}`,
  ];
  if (Object.keys(r.costOverrides).length > 0) lines.push(`cost overrides: ${JSON.stringify(r.costOverrides)}`);
  lines.push(`results:${formatValue(r.results, '  ')}`);
  if (r.paper !== undefined) lines.push('beside the paper:', formatComparison(compare(r.paper, r.results)));
  for (const [host, cats] of Object.entries(r.cpuUs)) {
    lines.push(`cpu ${host} (µs): ${Object.entries(cats).map(([c, us]) => `${c} ${us.toFixed(1)}`).join(', ')}`);
  }
  out(lines.join('\n') + '\n');
}

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
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`'ulp run' needs exactly one scenario name (known: ${[...SCENARIOS.keys()].join(', ')})`);
  const scenario = findScenario(positionals[0]!);
  const seed = parseSeed(values.seed);
  const costOverrides = parseCosts(values.cost);
  if (values['trace-limit'] !== undefined && values.trace === undefined) throw new UsageError('--trace-limit needs --trace FILE');
  const eventsMax = parseTraceLimit(values['trace-limit']);
  // Open the timeline file before the run, so a bad path costs nothing but one line.
  const traceFd = values.trace === undefined ? undefined : openTraceFile(values.trace);
  let timeline: TimelineSummary | undefined;
  let report: RunReport;
  try {
    report = runScenario(scenario, {
      seed,
      costOverrides,
      ...(values.pcap !== undefined ? { pcapDir: values.pcap } : {}),
      ...(traceFd !== undefined
        ? { timeline: { sink: (chunk: string) => writeAll(traceFd, chunk), eventsMax, onDone: (s: TimelineSummary) => (timeline = s) } }
        : {}),
    });
  } finally {
    if (traceFd !== undefined) closeSync(traceFd);
  }
  if (values.json) out(JSON.stringify(report) + '\n');
  else {
    printReport(report);
    if (timeline !== undefined) {
      const note = timeline.truncated ? ` (limit reached: the rest of the run is not in it; --trace-limit raises it)` : '';
      out(`timeline: ${timeline.eventsWritten} events in ${values.trace}${note}; open it in https://ui.perfetto.dev\n`);
    }
  }
  return 0;
}

function parseTraceLimit(text: string | undefined): number {
  if (text === undefined) return TRACE_EVENTS_MAX_DEFAULT;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) throw new UsageError(`--trace-limit needs a positive integer, got '${text}'`);
  return Number(text);
}

function openTraceFile(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new UsageError(`cannot write --trace file '${path}'${typeof code === 'string' ? ` (${code})` : ''}`);
  }
}

function writeAll(fd: number, chunk: string): void {
  const bytes = Buffer.from(chunk, 'utf8');
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
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

function cmdScenarios(): number {
  for (const s of SCENARIOS.values()) out(`${s.name.padEnd(28)} ${s.summary}\n`);
  return 0;
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
    },
  });
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
    out(
      'ulp paper: none of the paper\'s experiments is built yet (they arrive with the network I/O module and the protocol library).\n' +
        'Built-in scenarios so far: ' + [...SCENARIOS.keys()].join(', ') + ". Try 'ulp run hello'.\n",
    );
    return 0;
  }
  // Make the report directory before the runs, so a bad path costs one line and no simulation.
  if (values.report !== undefined) prepareReportDir(values.report);
  // Every experiment on every seed, in one process: experiment by experiment, its seeds in order.
  const runs: { scenario: Scenario; report: RunReport }[] = [];
  for (const scenario of paperScenarios) {
    for (const seed of seeds) runs.push({ scenario, report: runScenario(scenario, { seed, costOverrides }) });
  }
  const cells = allCells(runs);
  const stats = replicate(cells, seeds);
  const means = stats.map(meanCell);
  const reportFiles = values.report === undefined ? undefined : buildReport(runs, { ...(wanted === undefined ? {} : { tables: [...wanted].sort() }), ...(replicated ? { seedsArg: values.seeds! } : {}) });
  if (values.report !== undefined && reportFiles !== undefined) writeReport(values.report, reportFiles);
  if (values.json !== undefined) {
    const text = JSON.stringify(paperJson(runs, { seeds, replicated, costOverrides: Object.fromEntries(costOverrides), failures: [] }), null, 2) + '\n';
    if (values.json === '-') out(text);
    else {
      writeFileSync(values.json, text);
      out(`ulp paper: wrote ${values.json}\n`);
    }
  } else {
    for (const scenario of paperScenarios) {
      const mine = runs.filter((r) => r.scenario === scenario);
      out(`\n== ${scenario.name}: ${scenario.summary}\n`);
      out(formatCells(stats.filter((s) => s.cell.scenario === scenario.name), replicated) + '\n');
      if (mine.length === 1) out(`(simulated ${(mine[0]!.report.simTimeNs / 1e6).toFixed(3)} ms, fingerprint ${mine[0]!.report.fingerprint}; details: ulp run ${scenario.name})\n`);
      else out(`(${mine.length} runs, seeds ${seedsText(seeds)}; fingerprints: ulp paper --json; one run: ulp run ${scenario.name} --seed N)\n`);
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
  return 0;
}

export function main(argv: string[]): number {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        out(HELP);
        return 0;
      case 'run':
        return cmdRun(rest);
      case 'costs':
        return cmdCosts(rest);
      case 'scenarios':
        return cmdScenarios();
      case 'paper':
        return cmdPaper(rest);
      case 'bench':
        return runBench(rest);
      default:
        throw new UsageError(`unknown command '${command}' (try 'ulp --help')`);
    }
  } catch (e) {
    if (e instanceof BrokenPipe) return 0;
    if (e instanceof UsageError || e instanceof UnknownCostError || isParseArgsError(e)) {
      process.stderr.write(`ulp: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

function isParseArgsError(e: unknown): boolean {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && (e as unknown as { code: string }).code.startsWith('ERR_PARSE_ARGS');
}
