/**
 * The cost table: every constant the timing model uses, named, with its unit and where its value
 * comes from (a datasheet, a published measurement with paper and table, or "calibrated on
 * <table cell>"). Timing studies change these values (`ulp run --cost NAME=VALUE`), never code.
 *
 * Components read the values they need once, when they are built, so a lookup never sits on a
 * hot path; overrides therefore apply to machines built after they are set.
 */
import { bug } from '../../sim/assert.ts';

export type CostUnit = 'cycles' | 'ns' | 'cycles/byte' | 'ns/byte' | 'count' | 'bytes';

export interface CostEntry {
  readonly value: number;
  readonly unit: CostUnit;
  /** Datasheet, published measurement (paper + table), or "calibrated on <table cell>". */
  readonly source: string;
  /** What the constant stands for, in a phrase. */
  readonly what: string;
  /** Smallest meaningful value (default 0; e.g. 1 for a size the model divides by). */
  readonly min?: number;
  /** Only whole numbers mean something (a size in bytes, a count). */
  readonly integer?: boolean;
}

export type CostGroup = Readonly<Record<string, CostEntry>>;

export interface CostRow {
  readonly name: string;
  readonly value: number;
  readonly unit: CostUnit;
  readonly source: string;
  readonly what: string;
  readonly overridden: boolean;
}

export class UnknownCostError extends Error {
  override readonly name = 'UnknownCostError';
}

export class CostTable {
  private readonly entries = new Map<string, CostEntry>();
  private readonly overrides = new Map<string, number>();
  /** Names read since the table was built (shared with clones): `ulp` warns of an override nothing read. */
  private readonly readNames = new Set<string>();
  /** Names read through this very table (a clone's own; `readNames` is shared with the original). */
  private localReads = new Set<string>();

  constructor(groups: readonly CostGroup[]) {
    for (const g of groups) {
      for (const [name, e] of Object.entries(g)) {
        if (this.entries.has(name)) bug(`cost ${name} defined twice`);
        if (!(Number.isFinite(e.value) && e.value >= 0)) bug(`cost ${name} has a bad value`);
        if (!(e.source.trim().length > 0)) bug(`cost ${name} says nothing of its source`);
        if (!((e.min === undefined || e.value >= e.min) && (e.integer !== true || Number.isInteger(e.value)))) bug(`cost ${name}'s value is outside its own bounds`);
        this.entries.set(name, e);
      }
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The value of `name` in its declared unit. Throws for a name no table defines (a bug). */
  get(name: string): number {
    this.readNames.add(name);
    this.localReads.add(name);
    return this.valueOf(name);
  }

  /** The names some component has read (`get` or `read`) since the table was built. */
  namesRead(): ReadonlySet<string> {
    return this.readNames;
  }

  /** The names read through this table itself, not through its clones or its original (a host's own table). */
  namesReadHere(): ReadonlySet<string> {
    return this.localReads;
  }

  private valueOf(name: string): number {
    const o = this.overrides.get(name);
    if (o !== undefined) return o;
    const e = this.entries.get(name);
    if (!(e !== undefined)) bug(`no cost named ${name}`);
    return e.value;
  }

  /** A value that must be in `unit` (guards against unit mix-ups at the reading site). */
  read(name: string, unit: CostUnit): number {
    const e = this.entries.get(name);
    if (!(e !== undefined)) bug(`no cost named ${name}`);
    if (!(e.unit === unit)) bug(`cost ${name} is in ${e.unit}, read as ${unit}`);
    return this.get(name);
  }

  /** What-if: replace one constant. Unknown names and bad values are user errors. */
  override(name: string, value: number): void {
    if (!this.entries.has(name)) throw new UnknownCostError(`unknown cost '${name}' (see 'ulp costs')`);
    if (!Number.isFinite(value) || value < 0) throw new UnknownCostError(`cost '${name}' needs a non-negative number, got '${value}'`);
    const e = this.entries.get(name)!;
    if (e.integer === true && !Number.isInteger(value)) throw new UnknownCostError(`cost '${name}' needs a whole number (${e.unit}), got '${value}'`);
    if (e.min !== undefined && value < e.min) throw new UnknownCostError(`cost '${name}' needs a value ≥ ${e.min} (${e.unit}), got '${value}'`);
    this.overrides.set(name, value);
  }

  rows(): CostRow[] {
    return [...this.entries.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, e]) => ({
        name,
        value: this.valueOf(name),
        unit: e.unit,
        source: e.source,
        what: e.what,
        overridden: this.overrides.has(name),
      }));
  }

  /** A copy with the same overrides (one table per machine; overrides are per run). */
  clone(): CostTable {
    const t = Object.create(CostTable.prototype) as CostTable;
    (t as unknown as { entries: Map<string, CostEntry> }).entries = this.entries;
    (t as unknown as { overrides: Map<string, number> }).overrides = new Map(this.overrides);
    (t as unknown as { readNames: Set<string> }).readNames = this.readNames;
    t.localReads = new Set();
    return t;
  }
}
