/** What a scenario is and what a run of one reports. */
import type { World } from '../world.ts';

export type ResultValue = number | string | boolean | null | readonly ResultValue[] | { readonly [k: string]: ResultValue };
export type Results = { readonly [k: string]: ResultValue };

export interface ScenarioRunOptions {
  /** Directory for per-interface pcap files, when asked for. */
  readonly pcapDir?: string;
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
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
}
