/**
 * The paper's figures beside the emulator's: flatten two result trees of the same shape (the keys
 * of paper/tables.json) into rows of (key path, paper, emulator, ratio).
 */
import type { ResultValue } from '../scenarios/types.ts';
import { fmt } from '../report/format.ts';

export interface ComparisonRow {
  readonly key: string;
  readonly paper: number;
  readonly emulator: number | undefined;
  /** emulator / paper, when both exist and paper ≠ 0. */
  readonly ratio: number | undefined;
}

function flatten(v: ResultValue | undefined, prefix: string, out: Map<string, number>): void {
  if (typeof v === 'number') out.set(prefix, v);
  else if (Array.isArray(v)) v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, ResultValue>)) flatten(x, prefix === '' ? k : `${prefix}.${k}`, out);
  }
}

/** One row per number in `paper`; the emulator's value at the same path, if it has one. */
export function compare(paper: ResultValue, emulator: ResultValue): ComparisonRow[] {
  const p = new Map<string, number>();
  const e = new Map<string, number>();
  flatten(paper, '', p);
  flatten(emulator, '', e);
  return [...p.entries()].map(([key, pv]) => {
    const ev = e.get(key);
    return { key, paper: pv, emulator: ev, ratio: ev !== undefined && pv !== 0 ? ev / pv : undefined };
  });
}

/** Paper vs emulator per figure, fixed-point; axes (`sizes[i]`) are inputs, not results, and are left out. */
export function formatComparison(allRows: readonly ComparisonRow[]): string {
  const rows = allRows.filter((r) => !/^sizes\[/.test(r.key));
  const w = Math.max(10, ...rows.map((r) => r.key.length));
  const head = `${'figure'.padEnd(w)}  ${'paper'.padStart(9)}  ${'emulator'.padStart(9)}  ${'ratio'.padStart(6)}`;
  const lines = rows.map(
    (r) =>
      `${r.key.padEnd(w)}  ${String(r.paper).padStart(9)}  ${(r.emulator === undefined ? '—' : Number.isFinite(r.emulator) ? fmt(r.emulator) : 'failed').padStart(9)}  ${(r.ratio === undefined ? '' : r.ratio.toFixed(2)).padStart(6)}`,
  );
  return [head, ...lines].join('\n');
}
