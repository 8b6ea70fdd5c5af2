/**
 * The paper's cells as terminal text (`ulp paper`, `ulp run paper-*`): short labels, fixed-point
 * numbers with units, the paper's figure beside the emulator's (or, over several seeds, the mean
 * and min–max), the ratio and a note for cells more than 25 % or 2× off, "failed" for a figure
 * the run did not produce. Sizes are axes, never printed as results.
 */
import { type Cell, isFailed, isFarOff, isOff, OFF_FRACTION } from './cells.ts';
import { fmt, fmtRatio } from './format.ts';
import type { ReplicatedCheck, OrderingCheck } from './orderings.ts';
import { type CellStats, meanCell } from './replications.ts';

const MAIN_METRICS = new Set(['throughput', 'round_trip', 'connection_setup']);
const LABEL_MAX = 44;
const unitText = (u: string): string => (u === 'us' ? 'µs' : u);

function shorten(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** "ethernet library 512 B", "ethernet library setup: round trip to remote peer…". */
export function cellLabel(c: Cell): string {
  const parts = [c.link, c.organization];
  if (c.sizeBytes !== null) parts.push(`${c.sizeBytes} B`);
  if (!MAIN_METRICS.has(c.metric)) parts.push(c.metric.replace(/^setup_breakdown\./, 'setup: ').replace(/_/g, ' '));
  return shorten(parts.join(' '), LABEL_MAX);
}

function note(c: Cell): string {
  if (isFailed(c)) return 'FAILED';
  if (isFarOff(c)) return 'more than 2× off';
  if (isOff(c)) return `more than ${OFF_FRACTION * 100} % off`;
  return '';
}

/** One table of cells (one seed, or several seeds summarized). */
export function formatCells(stats: readonly CellStats[], replicated: boolean): string {
  const rows = stats.map((s) => {
    const c = meanCell(s);
    const failed = c.emulator === null || c.ratio === null;
    const spread = failed || s.min === null || s.max === null ? (failed && s.failedSeeds.length > 0 && replicated ? `seeds ${s.failedSeeds.join(',')}` : '') : `${fmt(s.min)}–${fmt(s.max)}`;
    return [cellLabel(c), unitText(c.unit), String(c.paper), failed ? 'failed' : fmt(c.emulator!), ...(replicated ? [spread] : []), failed ? '' : fmtRatio(c.ratio!), note(c)];
  });
  const head = ['cell', 'unit', 'paper', replicated ? 'mean' : 'emulator', ...(replicated ? ['min–max'] : []), 'ratio', ''];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all
    .map((r) =>
      r
        .map((v, i) => (i === 0 || i === 1 || i === r.length - 1 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** "50 cells: 3 within ±10 %, 8 within ±25 %, 32 more than 2× off (ratio = emulator / paper)". */
export function summaryLine(cells: readonly Cell[]): string {
  const ok = cells.filter((c) => c.ratio !== null);
  const within = (f: number): number => ok.filter((c) => Math.abs(c.ratio! - 1) <= f).length;
  const failed = cells.length - ok.length;
  return `${cells.length} cells: ${within(0.1)} within ±10 % of the paper, ${within(OFF_FRACTION)} within ±${OFF_FRACTION * 100} %, ${ok.filter(isFarOff).length} more than 2× off${failed > 0 ? `, ${failed} FAILED` : ''}`;
}

/** One line per stated ordering. */
export function orderingLines(checks: readonly OrderingCheck[]): string[] {
  return checks.map((c) => `  ${c.verdict.padEnd(13)} ${c.statement}`);
}

export function replicatedOrderingLines(checks: readonly ReplicatedCheck[]): string[] {
  return checks.map((c) => {
    const n = c.seeds.length;
    const verdict = c.notCheckedOn.length === n ? 'not checked' : `holds ${c.holdsOn.length}/${n}`;
    return `  ${verdict.padEnd(13)} ${c.statement}`;
  });
}
