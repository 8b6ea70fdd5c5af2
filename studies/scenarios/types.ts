/** What a scenario is and what a run of one reports. */
import type { World } from '../world.ts';
import type { ParamSpec, ParamValues } from './params.ts';

export type ResultValue = number | string | boolean | null | readonly ResultValue[] | { readonly [k: string]: ResultValue };
export type Results = { readonly [k: string]: ResultValue };

export interface ScenarioRunOptions {
  /** Directory for per-interface pcap files, when asked for. */
  readonly pcapDir?: string;
  /** Every declared parameter's value (defaults filled in by `resolveParams`); absent = defaults. */
  readonly params?: ParamValues;
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  /** What a study may vary, as data (`ulp scenarios NAME`, `ulp run NAME --param name=value`). */
  readonly params?: readonly ParamSpec[];
  /** A constraint between parameters (sizeMin ≤ sizeMax, say): the one-line problem, or undefined. */
  checkParams?(values: ParamValues): string | undefined;
  /** Build the world's hosts and programs, run to completion (bounded), return results. */
  run(world: World, options: ScenarioRunOptions): Results;
  /** The paper's figures for the same keys, printed beside the results (optional). */
  readonly paper?: Results;
  /**
   * The section of paper/tables.json these figures come from (e.g. `table1_mechanism_throughput_mbps`):
   * a test checks `paper` against it, and `ulp paper --json` files the results under it.
   */
  readonly paperSection?: string;
}

export interface RunReport {
  readonly scenario: string;
  readonly seed: number;
  readonly simTimeNs: number;
  readonly events: number;
  readonly fingerprint: string;
  readonly costOverrides: { readonly [name: string]: number };
  readonly guestErrors: number;
  /** Simulated µs of CPU time per host, by category (user, trap, copy, pio, interrupt, ...). */
  readonly cpuUs: { readonly [host: string]: { readonly [category: string]: number } };
  readonly results: Results;
  readonly paper?: Results;
  /** Every declared parameter's value in this run (defaults included). */
  readonly params?: ParamValues;
  /** Capture files written (`--pcap DIR`), names relative to DIR. */
  readonly captures?: readonly string[];
}
