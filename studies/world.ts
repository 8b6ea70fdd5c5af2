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
import type { An1Link, LinkSide } from '../emulator/net/an1-link.ts';
import { attachPcap, type EthernetSegment } from '../emulator/net/ethernet-segment.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_USER0, PcapWriter, type CaptureSink } from '../emulator/net/pcap.ts';
import { PcapngWriter, type PcapngSection } from '../emulator/net/pcapng.ts';

/** A capture file being built: classic pcap or pcapng (one interface per file either way). */
export interface CaptureFile extends CaptureSink {
  readonly recordsTotal: number;
  readonly recordsDropped: number;
  /** The file's bytes (a pcapng section header says `section`; classic pcap has no room for it). */
  bytes(section?: PcapngSection): Uint8Array;
}

/** The capture file formats `--pcap-format` offers. */
export type CaptureFormat = 'pcapng' | 'pcap';

/** One interface's capture (`--pcap DIR`): what host `host` sent and received on network `net`. */
export interface Capture {
  /** The network's ordinal in the world, from 1 (each sub-experiment of a scenario builds its own). */
  readonly net: number;
  readonly host: string;
  /** `ln0` for the PMAD-AA's LANCE, `an0` for the AN1 controller. */
  readonly iface: string;
  readonly writer: CaptureFile;
}

export interface WorldOptions {
  readonly seed: number;
  readonly costOverrides?: ReadonlyMap<string, number>;
  /** Fingerprinting/tapping; on by default (a run's report carries its fingerprint). */
  readonly traceOn?: boolean;
  /** Record every interface's frames in memory (`--pcap DIR`); observes only, the run is unchanged. */
  readonly capture?: boolean;
  /** The captures' format (default pcapng: interface names, nanosecond timestamps, directions). */
  readonly captureFormat?: CaptureFormat;
  /**
   * Main memory of every host built without its own size (default 32 MB, DEFAULT_RAM_BYTES). The
   * 5000/200 took 8 to 120 MB; `ulp fuzz` builds 8 MB hosts, whose scenarios need little, because
   * allocating and collecting 32 MB per host dominated a scenario's wall time.
   */
  readonly ramBytes?: number;
}

/** A network's ordinal as capture names and descriptions write it: 01, 02, ... */
export const netText = (net: number): string => String(net).padStart(2, '0');

export class World implements SimContext {
  readonly sched = new Scheduler();
  readonly trace: Trace;
  readonly rng: Rng;
  readonly costs: CostTable;
  readonly hosts: DecStation5000[] = [];
  /** Every interface's capture, in the order interfaces were attached (empty unless `capture`). */
  readonly captures: Capture[] = [];
  /**
   * Cost tables of hosts that have their own overrides (a topology file's per-host `costs`), by
   * host name; set before the host is built. Every other host reads the world's table.
   */
  readonly hostCosts = new Map<string, CostTable>();
  private readonly nets = new Map<object, number>();

  constructor(readonly options: WorldOptions) {
    this.trace = new Trace(this.sched, { on: options.traceOn ?? true });
    this.rng = Rng.fromSeed(options.seed);
    this.costs = decstationCostTable();
    for (const [name, value] of options.costOverrides ?? []) this.costs.override(name, value);
  }

  /** Build a DECstation 5000/200 named `name` (no options installed, no kernel yet); its components read `host.ctx.costs`. */
  addHost(name: string, ramBytes?: number): DecStation5000 {
    const size = ramBytes ?? this.options.ramBytes;
    const costs = this.hostCosts.get(name);
    const ctx: SimContext = costs === undefined ? this : { sched: this.sched, trace: this.trace, rng: this.rng, costs };
    const host = new DecStation5000(ctx, size === undefined ? { name } : { name, ramBytes: size });
    this.hosts.push(host);
    return host;
  }

  private netOrdinal(net: object): number {
    let n = this.nets.get(net);
    if (n === undefined) this.nets.set(net, (n = this.nets.size + 1));
    return n;
  }

  /** Capture station `port` (host `host`'s LANCE) on `segment`, when the run captures. */
  captureEthernet(segment: EthernetSegment, port: string, host: string): void {
    if (this.options.capture !== true) return;
    const net = this.netOrdinal(segment);
    const writer = this.captureFile(LINKTYPE_ETHERNET, host, 'ln0', `PMAD-AA LANCE (Am7990) of ${host} on Ethernet segment ${netText(net)}`);
    attachPcap(segment, port, writer);
    this.captures.push({ net, host, iface: 'ln0', writer });
  }

  /** Capture side `side` (host `host`'s AN1 controller) of `link`, when the run captures. */
  captureAn1(link: An1Link, side: LinkSide, host: string): void {
    if (this.options.capture !== true) return;
    const net = this.netOrdinal(link);
    const writer = this.captureFile(LINKTYPE_USER0, host, 'an0', `AN1 controller of ${host} on AN1 link ${netText(net)}`);
    link.capture(side, writer);
    this.captures.push({ net, host, iface: 'an0', writer });
  }

  /** A capture in the run's format; a pcapng file names its interface `<host>-<iface>`. */
  private captureFile(linkType: number, host: string, iface: string, description: string): CaptureFile {
    if (this.options.captureFormat === 'pcap') return new PcapWriter(linkType);
    return new PcapngWriter({ linkType, name: `${host}-${iface}`, description });
  }

  /** Boot the microkernel on a host. */
  bootKernel(host: DecStation5000): Kernel {
    return new Kernel(host.hostPort());
  }
}
