/**
 * `ulp paper`: run every paper-* scenario and file each one's figures under its section of
 * paper/tables.json, so the JSON mirrors the paper's tables with the emulator's values in place
 * of the paper's (only the cells the emulator computes; the rest are absent).
 */
import { readFileSync } from 'node:fs';
import type { ResultValue, Results, RunReport, Scenario } from '../scenarios/types.ts';

export const PAPER_TABLES = JSON.parse(readFileSync(new URL('./tables.json', import.meta.url), 'utf8')) as { readonly [k: string]: ResultValue };

type Tree = { [k: string]: ResultValue };

/** The parts of `results` at the paths `shape` has (numbers and arrays of numbers). */
export function pickLike(shape: ResultValue, results: ResultValue | undefined): ResultValue | undefined {
  if (results === undefined || results === null) return undefined;
  if (typeof shape === 'number') return typeof results === 'number' ? results : undefined;
  if (Array.isArray(shape)) return Array.isArray(results) ? results : undefined;
  if (typeof shape === 'object' && shape !== null && typeof results === 'object' && !Array.isArray(results)) {
    const out: Tree = {};
    for (const [k, v] of Object.entries(shape as Tree)) {
      const r = pickLike(v, (results as Tree)[k]);
      if (r !== undefined) out[k] = r;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return undefined;
}

function mergeInto(target: Tree, add: Tree): void {
  for (const [k, v] of Object.entries(add)) {
    const t = target[k];
    if (t !== null && typeof t === 'object' && !Array.isArray(t) && v !== null && typeof v === 'object' && !Array.isArray(v)) mergeInto(t as Tree, v as Tree);
    else target[k] = v;
  }
}

/** The value of tables.json at a scenario's section, restricted to the scenario's `paper` keys. */
export function paperValuesFor(s: Scenario): ResultValue | undefined {
  if (s.paperSection === undefined || s.paper === undefined) return undefined;
  return pickLike(s.paper, PAPER_TABLES[s.paperSection]);
}

export function mirrorTables(runs: readonly { readonly scenario: Scenario; readonly report: RunReport }[]): Results {
  const out: Tree = { source: 'ulp-emu: the paper\'s tables with the emulator\'s figures (same keys as paper/tables.json)' };
  for (const { scenario, report } of runs) {
    if (scenario.paperSection === undefined || scenario.paper === undefined) continue;
    const picked = pickLike(scenario.paper, report.results);
    if (picked === undefined || typeof picked !== 'object' || Array.isArray(picked)) continue;
    const section = (out[scenario.paperSection] ??= {}) as Tree;
    mergeInto(section, picked as Tree);
  }
  return out;
}
