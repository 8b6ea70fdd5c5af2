/**
 * A DECstation 5000/200 (KN02, "3MAX") board: 25 MHz R3000 CPU, RAM, the TURBOchannel slots,
 * the system CSR interrupt controller. Options (PMAD-AA, AN1) are attached to slots by the
 * composition root; the kernel boots on the `HostPort` this board hands out.
 */
import type { BusTarget, DmaPort, HostPort, InterruptLine } from '../bus/index.ts';
import { Ram } from '../memory/ram.ts';
import type { Rng } from '../sim/rng.ts';
import type { Scheduler } from '../sim/scheduler.ts';
import type { Trace } from '../sim/trace.ts';
import type { CostTable } from './costs/cost-table.ts';
import { Cpu } from './cpu.ts';
import { Kn02InterruptController } from './interrupts.ts';
import { SystemBus } from './system-bus.ts';
import { TC_ONBOARD_ETHERNET_SLOT, TC_OPTION_SLOTS, TC_SYSTEM_SLOT, tcSlotBase } from './turbochannel.ts';

/** What every simulated component of one run shares. */
export interface SimContext {
  readonly sched: Scheduler;
  readonly trace: Trace;
  readonly rng: Rng;
  readonly costs: CostTable;
}

export const DEFAULT_RAM_BYTES = 32 * 1024 * 1024;

export interface DecStationOptions {
  readonly name: string;
  readonly ramBytes?: number;
}

export class DecStation5000 {
  readonly name: string;
  readonly cpu: Cpu;
  readonly ram: Ram;
  readonly intc: Kn02InterruptController;
  readonly bus: SystemBus;
  readonly rng: Rng;

  constructor(
    readonly ctx: SimContext,
    options: DecStationOptions,
  ) {
    this.name = options.name;
    this.rng = ctx.rng.fork(`host.${options.name}`);
    this.cpu = new Cpu(ctx.sched, `${options.name}.cpu`);
    this.ram = new Ram(options.ramBytes ?? DEFAULT_RAM_BYTES);
    this.intc = new Kn02InterruptController(() => this.cpu.irqChanged());
    this.cpu.hardwareIrqPending = () => this.intc.active !== 0;
    const c = ctx.costs;
    this.bus = new SystemBus(this.ram, this.cpu, this.intc, {
      ramWordAccessCycles: c.read('cpu.ramWordAccessCycles', 'cycles'),
      memcpyCyclesPerByte: c.read('cpu.memcpyCyclesPerByte', 'cycles/byte'),
      memcpySetupCycles: c.read('cpu.memcpySetupCycles', 'cycles'),
      csrAccessCycles: c.read('kn02.csrAccessCycles', 'cycles'),
    }, ctx.sched, options.name);
    this.cpu.writeHold = this.bus;
    this.ram.clock = () => ctx.sched.now;
  }

  /**
   * Put an option in a slot (0..2 option slots, 6 the on-board Ethernet position) and return
   * the interrupt line the option drives (KN02 CSR bit = slot number).
   */
  installOption(slot: number, target: BusTarget): InterruptLine {
    if (!(TC_OPTION_SLOTS as readonly number[]).includes(slot) && slot !== TC_ONBOARD_ETHERNET_SLOT) {
      throw new Error(`slot ${slot} cannot hold an option`);
    }
    if (slot === TC_SYSTEM_SLOT) throw new Error('slot 7 is the system slot');
    this.bus.attachSlot(slot, target);
    return this.intc.line(slot);
  }

  slotBase(slot: number): number {
    return tcSlotBase(slot);
  }

  dmaPort(): DmaPort {
    return this.ram.dmaPort();
  }

  hostPort(): HostPort {
    return {
      name: this.name,
      sched: this.ctx.sched,
      trace: this.ctx.trace,
      rng: this.rng,
      costs: this.ctx.costs,
      cpu: this.cpu,
      bus: this.bus,
      ramSize: this.ram.size,
      ram: this.ram.bytes,
      noteCpuStore: (addr, length, stampNs) => this.ram.noteCpuStore(addr, length, stampNs),
    };
  }
}
