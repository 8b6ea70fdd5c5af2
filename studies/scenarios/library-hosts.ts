/**
 * Two DECstations with the paper's organization (P §3): the network I/O module, the TCP registry
 * server started at boot (privileged), and applications linked with the library — on a 10 Mb/s
 * Ethernet segment or a private AN1 link. Used by the paper-table{2,3,4}-library scenarios and
 * test/system/library.
 */
import { An1Controller } from '../../emulator/devices/an1/controller.ts';
import type { DecStation5000 } from '../../emulator/host/decstation.ts';
import { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import { msToNs } from '../../emulator/sim/time.ts';
import type { GuestParams, GuestProgram } from '../../kernel/abi/guest.ts';
import type { Kernel, Task } from '../../kernel/kernel.ts';
import type { NetIo } from '../../kernel/netio/netio.ts';
import { LIB_COSTS } from '../../userland/netlib/costs.ts';
import { libMain } from '../../userland/netlib/tcp-lib.ts';
import { AN1_CLOCK_PAGE } from '../../kernel/dev/an1/an1-regs.ts';
import { createBqiFirmware } from '../../firmware/an1/main.ts';
import { registryServer } from '../../userland/registry/registry-server.ts';
import type { World } from '../world.ts';
import { AN1_SLOT, addNetioAn1Host, addNetioEthernetHost, connectAn1 } from './hosts.ts';

export type LinkName = 'ethernet' | 'an1';

export interface LibHost {
  readonly name: string;
  readonly kernel: Kernel;
  readonly netio: NetIo;
  readonly ip: number;
  readonly mac: number;
  registry: Task | undefined;
  isUp(): boolean;
  /** The AN1 controller's clock page (physical), mapped read-only into every library task (both links: an Ethernet host carries an AN1 too). */
  readonly clockPhys?: number;
  readonly hostCpu: { busyNsTotal: number };
}

export interface LibPair {
  readonly link: LinkName;
  readonly a: LibHost;
  readonly b: LibHost;
  /** A third host on the same segment (Ethernet with `thirdHost`), else undefined. */
  readonly c: LibHost | undefined;
  /** The Ethernet segment (Ethernet pairs): taps and per-direction faults for tests. */
  readonly segment: EthernetSegment | undefined;
  /** Parameters every library task on this pair gets (link, MSL, costs from the cost table). */
  readonly params: GuestParams;
  spawn(h: LibHost, name: string, program: GuestProgram, params?: GuestParams): Task;
}

export interface LibPairOptions {
  readonly prefix?: string;
  readonly mslNs?: number;
  readonly faults?: FaultConfig;
  readonly logStats?: boolean;
  /** Extra registry parameters (connRxSlots, connTxPages, ...). */
  readonly registryParams?: GuestParams;
  /** Ethernet only: a third host (c, 10.0.0.3) on the segment, e.g. a destination that is neither a nor b. */
  readonly thirdHost?: boolean;
  /** Ethernet: more stations on the segment, added after the two hosts and before they boot (the reroute scenario's relay). */
  readonly onSegment?: (segment: EthernetSegment) => void;
}

/** The library's cost constants as the cost table has them (a what-if override reaches the guests). */
export function libCostParams(world: Pick<World, 'costs'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(LIB_COSTS)) out[k] = world.costs.read(`lib.${k}`, k.endsWith('PerByte') ? 'cycles/byte' : 'cycles');
  out['cthreadSwitchCycles'] = world.costs.read('cthreads.switchCycles', 'cycles');
  out['cthreadMutexCycles'] = world.costs.read('cthreads.mutexCycles', 'cycles');
  return out;
}

/**
 * The AN1 board an Ethernet host also carries (P §4: both DECstations have one; its 40 ns clock
 * "can be read by user processes by mapping and accessing a device memory location"): installed
 * in its TURBOchannel slot, on no link and with no driver — the board stays in its reset state and
 * only its clock page is used. Returns the clock page's physical address (kernel.mapDevicePage).
 */
export function addClockAn1(world: World, host: DecStation5000, name: string, uid: number): number {
  const controller = new An1Controller(host.ctx, { name: `${name}.an1`, uid }, createBqiFirmware(), host.dmaPort());
  controller.connectInterrupt(host.installOption(AN1_SLOT, controller));
  return host.slotBase(AN1_SLOT) + AN1_CLOCK_PAGE;
}

const ip4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

export function buildLibPair(world: World, link: LinkName, o: LibPairOptions = {}): LibPair {
  const pre = o.prefix ?? link;
  const mslNs = o.mslNs ?? 30_000_000_000;
  const params: Record<string, number | string | boolean> = { link, mslNs, ...libCostParams(world) };
  const hosts: LibHost[] = [];
  let segment: EthernetSegment | undefined = undefined;
  const macs = [0x08002b_000020 + (link === 'an1' ? 0x100 : 0), 0x08002b_000021 + (link === 'an1' ? 0x100 : 0), 0x08002b_000022];
  if (o.thirdHost === true && link !== 'ethernet') throw new Error('buildLibPair: a third host needs the Ethernet segment (the AN1 link is point to point)');
  if (link === 'ethernet') {
    const seg = new EthernetSegment(world, { name: `${pre}-seg`, ...(o.faults !== undefined ? { faults: o.faults } : {}) });
    segment = seg;
    for (let i = 0; i < (o.thirdHost === true ? 3 : 2); i++) {
      const m = macs[i]!;
      const bytes = Uint8Array.of(0x08, 0x00, 0x2b, (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff);
      const h = addNetioEthernetHost(world, seg, `${pre}-${'abc'[i]}`, bytes);
      const clockPhys = addClockAn1(world, h.host, h.name, m);
      hosts.push({ name: h.name, kernel: h.kernel, netio: h.netio, ip: ip4(10, 0, 0, 1 + i), mac: m, registry: undefined, isUp: () => h.up, hostCpu: h.host.cpu, clockPhys });
    }
    o.onSegment?.(seg);
  } else {
    const hs = [addNetioAn1Host(world, `${pre}-a`, macs[0]!), addNetioAn1Host(world, `${pre}-b`, macs[1]!)] as const;
    connectAn1(world, hs[0], hs[1], o.faults !== undefined ? [o.faults, o.faults] : undefined);
    hs.forEach((h, i) =>
      hosts.push({ name: h.name, kernel: h.kernel, netio: h.netio, ip: ip4(10, 0, 1, 1 + i), mac: macs[i]!, registry: undefined, isUp: () => h.up, hostCpu: h.host.cpu, clockPhys: h.driver.clockPagePhysAddr() }),
    );
  }
  const [a, b] = hosts as [LibHost, LibHost];
  const c = hosts[2];
  world.sched.runUntil(() => hosts.every((h) => h.isUp()), { nsMax: msToNs(20) });
  for (const h of hosts) {
    h.registry = h.kernel.spawn('registry', registryServer, {
      privileged: true,
      params: { ...params, ip: h.ip, macHi: Math.floor(h.mac / 2 ** 32), macLo: h.mac % 2 ** 32 | 0, seed: world.rng.fork(`registry.${h.name}`).nextU32(), logStats: o.logStats ?? true, ...o.registryParams },
    });
  }
  // The registries are up once they have registered with the bootstrap service (and logged it).
  world.sched.runUntil(() => hosts.every((h) => h.registry!.log.some((l) => l.startsWith('registry: up'))), { nsMax: msToNs(50) });
  return {
    link, a, b, c, params, segment,
    spawn(h, name, program, extra = {}) {
      const p: Record<string, number | string | boolean> = { ...params, seed: world.rng.fork(`${h.name}.${name}`).nextU32(), ...extra };
      const task = h.kernel.spawn(name, libMain(program), { params: p });
      // The clock page's address goes into the parameters before the task's first instruction (as exec sets up argv).
      if (h.clockPhys !== undefined) p['clockPage'] = h.kernel.mapDevicePage(task, h.clockPhys).address;
      return task;
    },
  };
}
