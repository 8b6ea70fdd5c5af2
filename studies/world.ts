/**
 * A run's world: one scheduler, one trace, one seeded PRNG, one cost table (with the run's
 * overrides), and the hosts and links built on them. The composition root of every scenario.
 */
import type { CostTable } from '../emulator/host/costs/cost-table.ts';
import { decstationCostTable } from '../emulator/host/costs/decstation-5000-200.ts';
import { DecStation5000, type SimContext } from '../emulator/host/decstation.ts';
import { Rng } from '../emulator/sim/rng.ts';
import { Scheduler } from '../emulator/sim/scheduler.ts';
import { Trace } from '../emulator/sim/trace.ts';
import { Kernel } from '../kernel/kernel.ts';

export interface WorldOptions {
  readonly seed: number;
  readonly costOverrides?: ReadonlyMap<string, number>;
  /** Fingerprinting/tapping; on by default (a run's report carries its fingerprint). */
  readonly traceOn?: boolean;
}

export class World implements SimContext {
  readonly sched = new Scheduler();
  readonly trace: Trace;
  readonly rng: Rng;
  readonly costs: CostTable;
  readonly hosts: DecStation5000[] = [];

  constructor(readonly options: WorldOptions) {
    this.trace = new Trace(this.sched, { on: options.traceOn ?? true });
    this.rng = Rng.fromSeed(options.seed);
    this.costs = decstationCostTable();
    for (const [name, value] of options.costOverrides ?? []) this.costs.override(name, value);
  }

  /** Build a DECstation 5000/200 named `name` (no options installed, no kernel yet). */
  addHost(name: string, ramBytes?: number): DecStation5000 {
    const host = new DecStation5000(this, ramBytes === undefined ? { name } : { name, ramBytes });
    this.hosts.push(host);
    return host;
  }

  /** Boot the microkernel on a host. */
  bootKernel(host: DecStation5000): Kernel {
    return new Kernel(host.hostPort());
  }
}
