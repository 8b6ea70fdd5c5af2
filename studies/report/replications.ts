/**
 * Replications (`ulp paper --seeds N`): the same cell over several seeds, summarized as mean,
 * minimum and maximum. A cell that failed on any seed is failed as a whole (its mean would hide
 * the failure); the seeds it failed on are listed. Pure functions of the cells.
 */
import type { Cell } from './cells.ts';

export interface CellStats {
  /** Where the cell sits and the paper's figure (the first seed's cell; `seed` is that seed). */
  readonly cell: Cell;
  readonly seeds: readonly number[];
  /** The emulator's figure on each seed (null where that seed's run failed it). */
  readonly values: readonly (number | null)[];
  readonly failedSeeds: readonly number[];
  /** Over the seeds; null when any seed failed. */
  readonly mean: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** mean / paper. */
  readonly ratio: number | null;
}

/** What makes two cells the same cell on different seeds. */
export const cellKey = (c: Cell): string => JSON.stringify([c.table, c.scenario, c.organization, c.link, c.sizeBytes, c.metric]);

/** Group the cells of every seed into one entry per cell, in the order the cells first appear. */
export function replicate(cells: readonly Cell[], seeds: readonly number[]): CellStats[] {
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = cellKey(c);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [c]);
    else g.push(c);
  }
  return [...groups.values()].map((g) => {
    const bySeed = new Map(g.map((c) => [c.seed, c]));
    const present = seeds.filter((s) => bySeed.has(s));
    const values = present.map((s) => bySeed.get(s)!.emulator);
    const failedSeeds = present.filter((s) => bySeed.get(s)!.emulator === null);
    const ok = values.filter((v): v is number => v !== null);
    const failed = failedSeeds.length > 0 || ok.length === 0;
    // Summed in seed order, so the same figures give the same bits.
    const mean = failed ? null : ok.reduce((a, b) => a + b, 0) / ok.length;
    const first = g[0]!;
    return {
      cell: first,
      seeds: present,
      values,
      failedSeeds,
      mean,
      min: failed ? null : Math.min(...ok),
      max: failed ? null : Math.max(...ok),
      ratio: mean === null ? null : mean / first.paper,
    };
  });
}

/** The cell with the mean over the seeds as its figure (for the orderings and charts on means). */
export function meanCell(s: CellStats): Cell {
  return { ...s.cell, emulator: s.mean, ratio: s.ratio };
}

/** Seeds written compactly: "1–5" for a run of consecutive seeds, else "1, 2, 5". */
export function seedsText(seeds: readonly number[]): string {
  if (seeds.length > 2 && seeds.every((s, i) => i === 0 || s === seeds[i - 1]! + 1)) return `${seeds[0]}–${seeds[seeds.length - 1]}`;
  return seeds.join(', ');
}
