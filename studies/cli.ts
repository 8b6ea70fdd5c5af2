/**
 * The `ulp` command line. Every user error (unknown command, scenario, option, cost name, bad
 * value) is one clear line on stderr and exit code 2, never a stack trace.
 */
import { parseArgs } from 'node:util';
import { decstationCostTable } from '../emulator/host/costs/decstation-5000-200.ts';
import { UnknownCostError } from '../emulator/host/costs/cost-table.ts';
import { SCENARIOS } from './scenarios/index.ts';
import type { ResultValue, RunReport } from './scenarios/types.ts';
import { findScenario, runScenario, UsageError } from './run.ts';
import { runBench } from './bench.ts';
import { compare, formatComparison } from './paper/compare.ts';
import { mirrorTables } from './paper/reproduce.ts';
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
  process.stdout.write(lines.join('\n') + '\n');
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
    process.stdout.write(HELP);
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
  if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
  else {
    printReport(report);
    if (timeline !== undefined) {
      const note = timeline.truncated ? ` (limit reached: the rest of the run is not in it; --trace-limit raises it)` : '';
      process.stdout.write(`timeline: ${timeline.eventsWritten} events in ${values.trace}${note}; open it in https://ui.perfetto.dev\n`);
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
    process.stdout.write(JSON.stringify(rows.map(({ name, value, unit, source }) => ({ name, value, unit, source }))) + '\n');
    return 0;
  }
  for (const r of rows) process.stdout.write(`${r.name.padEnd(36)} ${String(r.value).padStart(8)} ${r.unit.padEnd(11)} ${r.what}\n${' '.repeat(58)}source: ${r.source}\n`);
  return 0;
}

function cmdScenarios(): number {
  for (const s of SCENARIOS.values()) process.stdout.write(`${s.name.padEnd(28)} ${s.summary}\n`);
  return 0;
}

function cmdPaper(args: string[]): number {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { json: { type: 'string' }, tables: { type: 'string' }, report: { type: 'string' }, seed: { type: 'string' }, cost: { type: 'string', multiple: true, default: [] } },
  });
  const seed = parseSeed(values.seed);
  const costOverrides = parseCosts(values.cost);
  const wanted = values.tables === undefined ? undefined : new Set(values.tables.split(',').map((t) => t.trim()));
  if (wanted !== undefined && [...wanted].some((t) => !/^[1-5]$/.test(t))) throw new UsageError(`--tables takes a list of 1..5, got '${values.tables}'`);
  const paperScenarios = [...SCENARIOS.values()].filter(
    (s) => s.name.startsWith('paper-') && (wanted === undefined || [...wanted].some((t) => s.name.startsWith(`paper-table${t}`))),
  );
  if (paperScenarios.length === 0) {
    process.stdout.write(
      'ulp paper: none of the paper\'s experiments is built yet (they arrive with the network I/O module and the protocol library).\n' +
        'Built-in scenarios so far: ' + [...SCENARIOS.keys()].join(', ') + ". Try 'ulp run hello'.\n",
    );
    return 0;
  }
  // Make the report directory before the runs, so a bad path costs one line and no simulation.
  if (values.report !== undefined) prepareReportDir(values.report);
  const runs = paperScenarios.map((scenario) => ({ scenario, report: runScenario(scenario, { seed, costOverrides }) }));
  const reportFiles = values.report === undefined ? undefined : buildReport(runs, wanted === undefined ? {} : { tables: [...wanted].sort() });
  if (values.report !== undefined && reportFiles !== undefined) writeReport(values.report, reportFiles);
  if (values.json !== undefined) {
    const text = JSON.stringify(mirrorTables(runs), null, 2) + '\n';
    if (values.json === '-') process.stdout.write(text);
    else {
      writeFileSync(values.json, text);
      process.stdout.write(`ulp paper: wrote ${values.json}\n`);
    }
  } else {
    for (const { scenario, report } of runs) {
      process.stdout.write(`\n== ${scenario.name}: ${scenario.summary}\n`);
      if (report.paper !== undefined) process.stdout.write(formatComparison(compare(report.paper, report.results)) + '\n');
      process.stdout.write(`(simulated ${(report.simTimeNs / 1e6).toFixed(3)} ms, fingerprint ${report.fingerprint}; details: ulp run ${scenario.name})\n`);
    }
  }
  // With `--json -` stdout is the JSON alone.
  if (values.report !== undefined && reportFiles !== undefined && values.json !== '-') {
    process.stdout.write(`ulp paper: wrote ${reportFiles.map((f) => f.name).join(', ')} into ${values.report}\n`);
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
        process.stdout.write(HELP);
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
