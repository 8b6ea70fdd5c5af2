/**
 * The driver development kit: a qtest-like bench for writing a driver (or a device test) from a
 * datasheet. One call builds a bare DECstation 5000/200 (no kernel) with a PMAD-AA and/or an AN1
 * in its slots, the link each one needs, and a scriptable peer station at the other end; the test
 * then programs the device only through the host's physical bus, by register name, and moves
 * simulated time itself with helpers that all carry a limit (`nsMax`).
 *
 * Access model: the kit drives the bus outside CPU bursts, so each access is untimed (accounted
 * in `cpu.untimedCycles`) and takes effect at the scheduler's `now`; time moves only when the test
 * runs the scheduler. Code given to `onInterrupt` runs as the CPU's hardware-interrupt handler, in
 * a CPU body, where accesses are timed at the CPU's local time, as a kernel's would be.
 *
 * Interrupts: the KN02 system CSR enables a slot's line (bits 23:16). With no handler installed
 * (`onInterrupt`), the kit does not let the CPU re-enter an empty handler every cycle while the
 * line is up: it records a warning when an enable bit is set (or a line is enabled) without a
 * handler and keeps the CPU's interrupt input quiet. A handler that returns with its line still
 * asserted `IRQ_STORM_RUNS` times in a row is reported too (a driver that does not acknowledge).
 */
import type { InterruptLine } from '../bus/index.ts';
import { An1Controller } from '../devices/an1/controller.ts';
import type { FirmwareProgram } from '../devices/an1/firmware-port.ts';
import { PmadAa } from '../devices/lance/pmad-aa.ts';
import type { CostTable } from '../host/costs/cost-table.ts';
import { decstationCostTable } from '../host/costs/decstation-5000-200.ts';
import { DecStation5000, type SimContext } from '../host/decstation.ts';
import { KN02_CSR_ADDR } from '../host/interrupts.ts';
import type { SystemBus } from '../host/system-bus.ts';
import { An1Link } from '../net/an1-link.ts';
import { EthernetSegment, type PortOptions } from '../net/ethernet-segment.ts';
import type { FaultConfig } from '../net/faults.ts';
import { Rng } from '../sim/rng.ts';
import { Scheduler } from '../sim/scheduler.ts';
import { Trace, type TraceRecord } from '../sim/trace.ts';
import { AccessLog, LoggedTarget } from './access-log.ts';
import { DataCache } from './dcache.ts';
import { An1Kit, an1Namer } from './an1-kit.ts';
import { LanceKit, lanceNamer } from './lance-kit.ts';
import { An1Peer, EthernetPeer } from './peers.ts';

export const DEVKIT_DUT_MAC = Object.freeze([0x08, 0x00, 0x2b, 0x12, 0x34, 0x56]);
export const DEVKIT_PEER_MAC = Object.freeze([0x08, 0x00, 0x2b, 0xaa, 0xbb, 0xcc]);
/** Handler runs in a row with the line still up before the kit reports an interrupt storm. */
export const IRQ_STORM_RUNS = 1_000;

export interface DevkitLanceOptions {
  /** TURBOchannel slot (0..2 option slots, 6 the KN02's on-board position); default 0. */
  readonly slot?: number;
  readonly mac?: Uint8Array;
  readonly propagationNs?: number;
  readonly faults?: FaultConfig;
  /** The device's transceiver (SQE test, unplugged). */
  readonly port?: PortOptions;
}

export interface DevkitAn1Options {
  /** The controller's firmware (the project's BQI firmware: `createBqiFirmware()` from firmware/an1). */
  readonly firmware: FirmwareProgram;
  /** Default 1. */
  readonly slot?: number;
  readonly uid?: number;
  /** Faults on frames the device sends (toward the peer) and on those the peer sends. */
  readonly faults?: readonly [FaultConfig, FaultConfig];
}

export interface DevkitOptions {
  readonly seed?: number;
  /** Cost-table overrides by name (what-if). */
  readonly costs?: Readonly<Record<string, number>>;
  readonly ramBytes?: number;
  /** Trace records on (fingerprint); guest errors are collected either way. */
  readonly trace?: boolean;
  readonly lance?: boolean | DevkitLanceOptions;
  readonly an1?: DevkitAn1Options;
  /** Start with the register access log on. */
  readonly accessLog?: boolean;
  /**
   * Model the R3000 data cache for the kit's CPU reads of RAM (`readRam`, `readRam32`): a read of
   * a buffer DMAed since the CPU last read it returns stale bytes unless `invalidateDcache` was
   * called on it (emulator/devkit/dcache.ts). Default true: the kit exists to catch that bug.
   */
  readonly dcache?: boolean;
}

export interface Limit {
  readonly nsMax: number;
}

export class Devkit {
  readonly sched = new Scheduler();
  readonly trace: Trace;
  readonly rng: Rng;
  readonly costs: CostTable;
  readonly host: DecStation5000;
  readonly bus: SystemBus;
  /** The register access log (off unless `accessLog` or `log.on = true`). */
  readonly log: AccessLog;
  /** The kit's own warnings (interrupt without handler, interrupt storm, peers' refusals). */
  readonly warnings: string[] = [];
  readonly segment: EthernetSegment | undefined;
  readonly peer: EthernetPeer | undefined;
  readonly link: An1Link | undefined;
  readonly an1Peer: An1Peer | undefined;
  readonly an1Controller: An1Controller | undefined;
  private readonly lanceKit: LanceKit | undefined;
  private readonly an1Kit: An1Kit | undefined;
  private readonly lines = new Map<number, InterruptLine>();
  /** The data cache in front of the kit's CPU reads of RAM, or undefined when `dcache: false`. */
  readonly dcache: DataCache | undefined;
  /**
   * Functional (backdoor) access: bypasses every register rule, timing, the data cache and the
   * access log. For inspecting state and setting up a test only — never where a driver's access
   * is meant (a poked TX_LEN does not enqueue; a poked CSR keeps RESET set).
   */
  readonly backdoor: Backdoor;
  private handler: (() => unknown) | undefined = undefined;
  private warnedEnables = 0;
  private stormRuns = 0;
  private stormWarned = false;
  private readonly guestErrorsAtStart: number;

  constructor(options: DevkitOptions = {}) {
    this.trace = new Trace(this.sched, { on: options.trace ?? false });
    this.rng = Rng.fromSeed(options.seed ?? 1);
    this.costs = decstationCostTable();
    for (const [name, value] of Object.entries(options.costs ?? {})) this.costs.override(name, value);
    const ctx: SimContext = { sched: this.sched, trace: this.trace, rng: this.rng, costs: this.costs };
    this.host = new DecStation5000(ctx, { name: 'dut', ramBytes: options.ramBytes ?? 8 * 1024 * 1024 });
    this.bus = this.host.bus;
    this.log = new AccessLog(options.accessLog ?? false);
    this.dcache = (options.dcache ?? true) ? new DataCache(this.costs.read('cpu.dcacheLineBytes', 'bytes')) : undefined;
    this.backdoor = new Backdoor(this.bus);
    this.guestErrorsAtStart = this.trace.guestErrorsTotal;

    const cpu = this.host.cpu;
    const intc = this.host.intc;
    const ownHandler = (): unknown => this.runHandler();
    cpu.hardwareIrqPending = () => {
      // A kernel booted on the kit's host installs its own handler: then the kit stays out of the way.
      if (this.handler === undefined && cpu.hardwareIrqHandler === ownHandler) {
        const fresh = intc.enables & ~this.warnedEnables;
        if (fresh !== 0) {
          this.warnedEnables |= fresh;
          this.warn(`KN02 interrupt enable 0x${fresh.toString(16)} set with no CPU handler installed (kit.onInterrupt): ` +
            'the CPU would re-enter an empty handler every cycle while the line is up; the kit keeps the interrupt input quiet');
        }
        return false;
      }
      return intc.active !== 0;
    };
    cpu.hardwareIrqHandler = ownHandler;

    const lo = options.lance === true ? {} : options.lance === false ? undefined : options.lance;
    if (lo !== undefined) {
      const slot = lo.slot ?? 0;
      const board = new PmadAa({ name: 'dut', sched: this.sched, trace: this.trace, costs: this.costs, mac: lo.mac ?? new Uint8Array(DEVKIT_DUT_MAC) });
      const line = this.host.installOption(slot, new LoggedTarget(board, board.chip.name, lanceNamer(board), this.log));
      board.attachInterrupt(line);
      this.lines.set(slot, line);
      this.segment = new EthernetSegment(ctx, {
        name: 'ether0',
        ...(lo.propagationNs !== undefined ? { propagationNs: lo.propagationNs } : {}),
        ...(lo.faults !== undefined ? { faults: lo.faults } : {}),
      });
      board.connect(this.segment, 'dut', lo.port ?? {});
      this.peer = new EthernetPeer(this.sched, 'peer');
      this.peer.port = this.segment.attach('peer', this.peer);
      this.lanceKit = new LanceKit(this.bus, board, slot, this.host.slotBase(slot));
    }
    if (options.an1 !== undefined) {
      const ao = options.an1;
      const slot = ao.slot ?? 1;
      const ctrl = new An1Controller(ctx, { name: 'dut.an1', uid: ao.uid ?? 0x08002b_000042 }, ao.firmware, this.host.dmaPort());
      const line = this.host.installOption(slot, new LoggedTarget(ctrl, ctrl.name, an1Namer(), this.log));
      ctrl.connectInterrupt(line);
      this.lines.set(slot, line);
      this.link = new An1Link(ctx, {
        name: 'an1',
        framingNs: this.costs.read('an1.wireFramingNs', 'ns'),
        propagationNs: this.costs.read('an1.linkPropagationNs', 'ns'),
        ...(ao.faults !== undefined ? { faults: ao.faults } : {}),
      });
      ctrl.connectLink(this.link.attach(0, ctrl));
      this.an1Peer = new An1Peer(this.sched, 'an1-peer');
      this.an1Peer.port = this.link.attach(1, this.an1Peer);
      this.an1Controller = ctrl;
      this.an1Kit = new An1Kit(this.bus, slot, this.host.slotBase(slot));
    }
  }

  /** The PMAD-AA (throws if the kit was built without one: a mistake in the test). */
  get lance(): LanceKit {
    if (this.lanceKit === undefined) throw new Error('devkit: built without a PMAD-AA (pass { lance: true })');
    return this.lanceKit;
  }
  get an1(): An1Kit {
    if (this.an1Kit === undefined) throw new Error('devkit: built without an AN1 (pass { an1: { firmware } })');
    return this.an1Kit;
  }
  get ethernetPeer(): EthernetPeer {
    if (this.peer === undefined) throw new Error('devkit: built without a PMAD-AA, so without an Ethernet peer');
    return this.peer;
  }
  get linkPeer(): An1Peer {
    if (this.an1Peer === undefined) throw new Error('devkit: built without an AN1, so without a link peer');
    return this.an1Peer;
  }

  get now(): number {
    return this.sched.now;
  }

  // ---- time -----------------------------------------------------------------------------------

  /** Run every event up to and including now + `ns`; the clock ends exactly there. */
  runFor(ns: number): void {
    this.sched.runFor(ns);
  }

  /**
   * Run until `pred` holds (checked before each event), at most `nsMax` of simulated time.
   * True when it holds; false when the limit passed or nothing was left to happen.
   */
  runUntil(pred: () => boolean, limit: Limit): boolean {
    return this.sched.runUntil(pred, limit) === 'done';
  }

  /** Until the device's interrupt line (its KN02 pending bit) is asserted. Default: the only device. */
  untilInterrupt(limit: Limit & { readonly slot?: number }): boolean {
    const line = this.line(limit.slot);
    return this.runUntil(() => line.asserted, limit);
  }

  /** Until CSR0 has every bit of `bits` set (observed functionally: no access, RAP untouched). */
  untilCsr0(bits: number, limit: Limit): boolean {
    const lance = this.lance;
    return this.runUntil(() => (lance.peekCsr0() & bits) === bits, limit);
  }

  /** Until the Ethernet peer has received `n` good frames in all. */
  untilPeerReceived(n: number, limit: Limit): boolean {
    const peer = this.ethernetPeer;
    return this.runUntil(() => peer.frames.length >= n, limit);
  }

  /** Until the AN1 link peer has received `n` good frames in all. */
  untilLinkPeerReceived(n: number, limit: Limit): boolean {
    const peer = this.linkPeer;
    return this.runUntil(() => peer.frames.length >= n, limit);
  }

  // ---- interrupts -----------------------------------------------------------------------------

  /** The device's interrupt line as the KN02 sees it (pending, enabled or not). */
  interruptAsserted(slot?: number): boolean {
    return this.line(slot).asserted;
  }

  /** Set the KN02 system CSR's enable bits for these slots (all others off), through the bus. */
  enableInterrupts(slots: readonly number[]): void {
    let mask = 0;
    for (const s of slots) mask |= 1 << (16 + s);
    this.bus.write32(KN02_CSR_ADDR, mask);
  }

  /**
   * Install the CPU's hardware-interrupt handler (undefined removes it). It runs in a CPU body
   * each time the CPU samples an enabled, asserted line, until the line drops.
   */
  onInterrupt(handler: (() => unknown) | undefined): void {
    this.handler = handler;
    this.stormRuns = 0;
    this.host.cpu.irqChanged();
  }

  /**
   * The handler runs as the CPU's interrupt body. A handler that reads its device is a generator
   * with a sync point before each read (kernel/dev/sync.ts); the storm check looks at the line once
   * the clock has caught up with the handler's last store (its acknowledgement lands then).
   */
  private *runHandler(): Generator<unknown, void, undefined> {
    const h = this.handler;
    if (h === undefined) return;
    const r: unknown = h();
    if (typeof r === 'object' && r !== null && typeof (r as { next?: unknown }).next === 'function') yield* r as Generator<unknown, void, undefined>;
    if (this.host.cpu.isAhead) yield 'sync';
    if (this.host.intc.active === 0) {
      this.stormRuns = 0;
      return;
    }
    this.stormRuns++;
    if (this.stormRuns >= IRQ_STORM_RUNS && !this.stormWarned) {
      this.stormWarned = true;
      this.warn(`interrupt storm: the handler ran ${IRQ_STORM_RUNS} times in a row and its line is still asserted (does it acknowledge the device?)`);
    }
  }

  private line(slot: number | undefined): InterruptLine {
    if (slot === undefined) {
      if (this.lines.size !== 1) throw new Error('devkit: name the slot (more than one device)');
      return this.lines.values().next().value!;
    }
    const l = this.lines.get(slot);
    if (l === undefined) throw new Error(`devkit: no device in slot ${slot}`);
    return l;
  }

  // ---- host memory (AN1 DMA buffers) ----------------------------------------------------------

  /** CPU stores into RAM (write-through the data cache). */
  writeRam(addr: number, src: Uint8Array): void {
    this.bus.writeBlock(addr, src);
    this.dcache?.write(addr, src);
  }
  /**
   * CPU loads from RAM, through the data cache when it is modelled: lines read before and not
   * invalidated since return what they held then, even if a device has DMAed over them.
   */
  readRam(addr: number, length: number): Uint8Array {
    const d = new Uint8Array(length);
    this.bus.readBlock(addr, d);
    const c = this.dcache;
    if (c === undefined) return d;
    return c.read(addr, d, (lineAddr, dst) => this.bus.peekBlock(lineAddr, dst));
  }
  /** One little-endian word loaded by the CPU (through the data cache). */
  readRam32(addr: number): number {
    const b = this.readRam(addr, 4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
  /**
   * The driver's data-cache invalidation over [addr, addr + length) (isolated-cache partial
   * stores on the R3000); returns the lines that were cached. Without a modelled cache: 0.
   */
  invalidateDcache(addr: number, length: number): number {
    return this.dcache?.invalidate(addr, length) ?? 0;
  }

  // ---- findings -------------------------------------------------------------------------------

  /** Guest errors the devices reported since the kit was built (the first 1,000 are kept). */
  get guestErrors(): readonly TraceRecord[] {
    return this.trace.guestErrors;
  }
  get guestErrorCount(): number {
    return this.trace.guestErrorsTotal - this.guestErrorsAtStart;
  }
  guestErrorText(): string {
    return this.trace.guestErrors.map((r) => `${r.source}: ${r.text}`).join('\n');
  }

  private warn(text: string): void {
    this.warnings.push(text);
    if (this.trace.on) this.trace.record('devkit', 'devkit.warning', 0, 0, text);
  }
}

/**
 * Functional access by physical address, named as what it is: a backdoor. Nothing here is an
 * access a driver could make; see `Devkit.backdoor`.
 */
export class Backdoor {
  constructor(private readonly bus: SystemBus) {}
  peek32(addr: number): number {
    return this.bus.peek32(addr);
  }
  peek16(addr: number): number {
    return this.bus.peek16(addr);
  }
  poke32(addr: number, value: number): void {
    this.bus.poke32(addr, value);
  }
  poke16(addr: number, value: number): void {
    this.bus.poke16(addr, value);
  }
  peekBlock(addr: number, length: number): Uint8Array {
    const d = new Uint8Array(length);
    this.bus.peekBlock(addr, d);
    return d;
  }
  pokeBlock(addr: number, src: Uint8Array): void {
    this.bus.pokeBlock(addr, src);
  }
}

/** Build a bench in one call (see docs/devkit.md). */
export function createDevkit(options: DevkitOptions = {}): Devkit {
  return new Devkit(options);
}
