/**
 * The orderings the paper states in its text (tables.json `orderings_stated_in_text`), checked
 * against the figures by code. A statement is matched by its exact text to a checker that splits
 * it into clauses a comparison can decide ("library > mach-ux at every size"); the rest of the
 * sentence (a cause, "amortized over later transfers") is listed as not checked. Each clause is
 * decided on the emulator's figures and, as a check on the reading, on the paper's own.
 * A statement with no checker, or whose figures were not run, is "not checked".
 */
import { type Cell, isFailed, isOk, type Link, type TableNo, series } from './cells.ts';
import { fmt, fmtPercentOver } from './format.ts';

/** "ties" / "about the same": within this fraction of each other. */
export const TIE_FRACTION = 0.1;

export type Verdict = 'holds' | 'does not hold' | 'not checked';

export interface Clause {
  readonly what: string;
  readonly emulator: boolean;
  readonly paper: boolean;
  /** The figures the clause was decided on, emulator then paper. */
  readonly numbers: string;
}

export interface OrderingCheck {
  readonly statement: string;
  readonly verdict: Verdict;
  readonly clauses: readonly Clause[];
  /** Why not checked, or the part of the sentence no clause covers. */
  readonly note?: string;
}

type Side = 'paper' | 'emulator';
interface Row {
  readonly sizes: readonly (number | null)[];
  readonly paper: readonly number[];
  readonly emulator: readonly number[];
  readonly unit: string;
}

/** One organization's figures on one table and link, or undefined when not run (or a cell of it failed). */
function row(cells: readonly Cell[], table: TableNo, link: Link, org: string, metric: string): Row | undefined {
  const s = series(cells, table, link, org, metric);
  if (s.length === 0 || !s.every(isOk)) return undefined;
  return { sizes: s.map((c) => c.sizeBytes), paper: s.map((c) => c.paper), emulator: s.map((c) => c.emulator), unit: s[0]!.unit };
}

const list = (xs: readonly number[]): string => xs.map(fmt).join(', ');
const unitText = (u: string): string => (u === 'us' ? 'µs' : u);

function clause(what: string, decide: (side: Side) => boolean, numbers: (side: Side) => string): Clause {
  return { what, emulator: decide('emulator'), paper: decide('paper'), numbers: `emulator ${numbers('emulator')}; paper ${numbers('paper')}` };
}

const everyIndex = (n: number, f: (i: number) => boolean): boolean => Array.from({ length: n }, (_, i) => f(i)).every(Boolean);
const within = (a: number, b: number, frac: number): boolean => Math.abs(a - b) <= frac * Math.max(Math.abs(a), Math.abs(b));

type Checker = (cells: readonly Cell[]) => { clauses: Clause[]; note?: string } | { missing: string };

const CHECKERS: { readonly [statement: string]: Checker } = {
  'library beats mach-ux on Ethernet throughput at every size (42% at 4 KB, more at smaller sizes)': (cells) => {
    const lib = row(cells, 2, 'ethernet', 'library', 'throughput');
    const ux = row(cells, 2, 'ethernet', 'mach-ux', 'throughput');
    if (lib === undefined || ux === undefined || lib.paper.length !== ux.paper.length) return { missing: 'needs Table 2, library and mach-ux rows on Ethernet' };
    const n = lib.paper.length;
    const last = n - 1;
    const adv = (s: Side, i: number): number => lib[s][i]! / ux[s][i]! - 1;
    return {
      clauses: [
        clause(
          `library > mach-ux at every size (${lib.sizes.join(', ')} B)`,
          (s) => everyIndex(n, (i) => lib[s][i]! > ux[s][i]!),
          (s) => `library ${list(lib[s])} vs mach-ux ${list(ux[s])} ${lib.unit}`,
        ),
        clause(
          `library's advantage larger at every smaller size than at ${lib.sizes[last]} B (paper text: 42 % at 4 KB)`,
          (s) => everyIndex(last, (i) => adv(s, i) > adv(s, last)),
          (s) => `advantage ${lib[s].map((_, i) => fmtPercentOver(lib[s][i]!, ux[s][i]!)).join(', ')}`,
        ),
      ],
    };
  },
  'ultrix beats library on Ethernet throughput by 35-65%': (cells) => {
    const lib = row(cells, 2, 'ethernet', 'library', 'throughput');
    const ul = row(cells, 2, 'ethernet', 'ultrix', 'throughput');
    if (lib === undefined || ul === undefined || lib.paper.length !== ul.paper.length) return { missing: 'needs Table 2, library and ultrix rows on Ethernet' };
    const n = lib.paper.length;
    // The paper's own margins are 34.9 % (5.8 / 4.3) to 65.2 % (7.6 / 4.6): "35–65 %" rounds them.
    const margin = (s: Side, i: number): number => Math.round((ul[s][i]! / lib[s][i]! - 1) * 100);
    return {
      clauses: [
        clause(
          `ultrix > library at every size (${lib.sizes.join(', ')} B)`,
          (s) => everyIndex(n, (i) => ul[s][i]! > lib[s][i]!),
          (s) => `ultrix ${list(ul[s])} vs library ${list(lib[s])} ${lib.unit}`,
        ),
        clause(
          'ultrix ahead by 35–65 % (rounded to whole per cent) at every size',
          (s) => everyIndex(n, (i) => margin(s, i) >= 35 && margin(s, i) <= 65),
          (s) => `margin ${ul[s].map((_, i) => fmtPercentOver(ul[s][i]!, lib[s][i]!)).join(', ')}`,
        ),
      ],
    };
  },
  'on AN1 the library beats ultrix at 512-byte writes (copy-free buffer organization) and ties it at 4096': (cells) => {
    const lib = row(cells, 2, 'an1', 'library', 'throughput');
    const ul = row(cells, 2, 'an1', 'ultrix', 'throughput');
    const i512 = lib?.sizes.indexOf(512) ?? -1;
    const i4096 = lib?.sizes.indexOf(4096) ?? -1;
    if (lib === undefined || ul === undefined || i512 < 0 || i4096 < 0 || ul.paper.length !== lib.paper.length) return { missing: 'needs Table 2, library and ultrix rows on AN1' };
    return {
      clauses: [
        clause('library > ultrix at 512 B', (s) => lib[s][i512]! > ul[s][i512]!, (s) => `library ${fmt(lib[s][i512]!)} vs ultrix ${fmt(ul[s][i512]!)} ${lib.unit}`),
        clause(
          `library and ultrix tie at 4096 B (within ${TIE_FRACTION * 100} % of each other)`,
          (s) => within(lib[s][i4096]!, ul[s][i4096]!, TIE_FRACTION),
          (s) => `library ${fmt(lib[s][i4096]!)} vs ultrix ${fmt(ul[s][i4096]!)} ${lib.unit} (${fmtPercentOver(lib[s][i4096]!, ul[s][i4096]!)})`,
        ),
      ],
      note: 'the cause ("copy-free buffer organization") is not checked',
    };
  },
  'library round trips on Ethernet approach ultrix and are far below mach-ux': (cells) => {
    const lib = row(cells, 3, 'ethernet', 'library', 'round_trip');
    const ul = row(cells, 3, 'ethernet', 'ultrix', 'round_trip');
    const ux = row(cells, 3, 'ethernet', 'mach-ux', 'round_trip');
    if (lib === undefined || ul === undefined || ux === undefined || ul.paper.length !== lib.paper.length || ux.paper.length !== lib.paper.length)
      return { missing: 'needs Table 3, all three rows on Ethernet' };
    const n = lib.paper.length;
    return {
      clauses: [
        clause(
          `library < mach-ux at every size (${lib.sizes.join(', ')} B)`,
          (s) => everyIndex(n, (i) => lib[s][i]! < ux[s][i]!),
          (s) => `library ${list(lib[s])} vs mach-ux ${list(ux[s])} ${lib.unit}`,
        ),
        clause(
          'library nearer ultrix than mach-ux at every size ("approach ultrix, far below mach-ux")',
          (s) => everyIndex(n, (i) => Math.abs(lib[s][i]! - ul[s][i]!) < Math.abs(ux[s][i]! - lib[s][i]!)),
          (s) => `ultrix ${list(ul[s])} / library ${list(lib[s])} / mach-ux ${list(ux[s])} ${lib.unit}`,
        ),
      ],
    };
  },
  'library connection setup is the slowest of the three, amortized over later transfers': (cells) => {
    const lib = row(cells, 4, 'ethernet', 'library', 'connection_setup');
    const ul = row(cells, 4, 'ethernet', 'ultrix', 'connection_setup');
    const ux = row(cells, 4, 'ethernet', 'mach-ux', 'connection_setup');
    if (lib === undefined || ul === undefined || ux === undefined) return { missing: 'needs Table 4, all three rows on Ethernet' };
    return {
      clauses: [
        clause(
          'library set-up > ultrix and > mach-ux on Ethernet',
          (s) => lib[s][0]! > ul[s][0]! && lib[s][0]! > ux[s][0]!,
          (s) => `library ${fmt(lib[s][0]!)} vs ultrix ${fmt(ul[s][0]!)}, mach-ux ${fmt(ux[s][0]!)} ${lib.unit}`,
        ),
      ],
      note: '"amortized over later transfers" is not checked',
    };
  },
  'software demultiplexing on LANCE costs about the same as hardware BQI demultiplexing on AN1': (cells) => {
    const sw = row(cells, 5, 'ethernet', 'library', 'demultiplexing_software');
    const hw = row(cells, 5, 'an1', 'library', 'demultiplexing_hardware_bqi');
    if (sw === undefined || hw === undefined) return { missing: 'needs Table 5' };
    return {
      clauses: [
        clause(
          `LANCE software and AN1 BQI within ${TIE_FRACTION * 100} % of each other`,
          (s) => within(sw[s][0]!, hw[s][0]!, TIE_FRACTION),
          (s) => `LANCE ${fmt(sw[s][0]!)} vs AN1 ${fmt(hw[s][0]!)} ${unitText(sw.unit)} (${fmtPercentOver(sw[s][0]!, hw[s][0]!)})`,
        ),
      ],
    };
  },
};

export function checkOrderings(statements: readonly string[], cells: readonly Cell[]): OrderingCheck[] {
  return statements.map((statement) => {
    const checker = CHECKERS[statement];
    if (checker === undefined) return { statement, verdict: 'not checked', clauses: [], note: 'not mechanically checkable (no checker for this wording)' };
    const r = checker(cells);
    if ('missing' in r) return { statement, verdict: 'not checked', clauses: [], note: `${r.missing} (${cells.some(isFailed) ? 'not run, or a cell it needs failed' : 'not run'})` };
    const verdict: Verdict = r.clauses.every((c) => c.emulator) ? 'holds' : 'does not hold';
    return { statement, verdict, clauses: r.clauses, ...(r.note !== undefined ? { note: r.note } : {}) };
  });
}

/** One statement checked on every seed of a replicated run. */
export interface ReplicatedCheck {
  readonly statement: string;
  readonly seeds: readonly number[];
  /** Seeds on which the statement holds (every clause holds). */
  readonly holdsOn: readonly number[];
  /** Seeds on which it could not be checked (figures not run or failed). */
  readonly notCheckedOn: readonly number[];
  /** Per clause (the checker's clauses, same on every seed): the seeds it holds on, and whether it holds on the paper's figures. */
  readonly clauses: readonly { readonly what: string; readonly holdsOn: readonly number[]; readonly paper: boolean }[];
  /** The same statement decided on the mean of every cell over the seeds (its figures are printed). */
  readonly onMeans: OrderingCheck;
}

/** "holds on k of N seeds" for every statement and clause; `bySeed` lists each seed's cells. */
export function checkOrderingsOverSeeds(statements: readonly string[], bySeed: readonly (readonly [number, readonly Cell[]])[], meanCells: readonly Cell[]): ReplicatedCheck[] {
  const perSeed = bySeed.map(([seed, cells]) => [seed, checkOrderings(statements, cells)] as const);
  const onMeans = checkOrderings(statements, meanCells);
  return statements.map((statement, k) => {
    const checks = perSeed.map(([seed, cs]) => [seed, cs[k]!] as const);
    const reference = checks.find(([, c]) => c.verdict !== 'not checked')?.[1] ?? onMeans[k]!;
    return {
      statement,
      seeds: bySeed.map(([seed]) => seed),
      holdsOn: checks.filter(([, c]) => c.verdict === 'holds').map(([seed]) => seed),
      notCheckedOn: checks.filter(([, c]) => c.verdict === 'not checked').map(([seed]) => seed),
      clauses: reference.clauses.map((cl, j) => ({
        what: cl.what,
        holdsOn: checks.filter(([, c]) => c.clauses[j]?.emulator === true).map(([seed]) => seed),
        paper: cl.paper,
      })),
      onMeans: onMeans[k]!,
    };
  });
}
