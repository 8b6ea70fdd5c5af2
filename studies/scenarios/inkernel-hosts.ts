/**
 * Two DECstations with the monolithic (Ultrix-like) organization: TCP/IP in the kernel
 * (kernel/inkernel) behind socket system calls, with the shared engine (userland/inet HostStack)
 * linked into the kernel here at boot — the composition root is the only place that joins the two
 * (DESIGN "Layers") — on a 10 Mb/s Ethernet segment (LANCE) or a private AN1 link (BQI 0 only,
 * kernel buffers, as Ultrix's AN1 driver). No network I/O module, no registry server. Used by the
 * paper-table{2,3,4}-ultrix scenarios and test/system/inkernel.
 */
import { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import { msToNs } from '../../emulator/sim/time.ts';
import type { GuestParams, GuestProgram } from '../../kernel/abi/guest.ts';
import { InKernelNet } from '../../kernel/inkernel/inkernel.ts';
import type { InetStackFactory } from '../../kernel/inkernel/protocol.ts';
import type { Kernel, Task } from '../../kernel/kernel.ts';
import { HostStack } from '../../userland/inet/index.ts';
import { sys } from '../../userland/mach/syscalls.ts';
import type { World } from '../world.ts';
import { addAn1Host, addNetioEthernetHost, connectAn1 } from './hosts.ts';
import { addClockAn1, type LinkName } from './library-hosts.ts';

export interface KernelHost {
  readonly name: string;
  readonly kernel: Kernel;
  readonly net: InKernelNet;
  readonly ip: number;
  readonly mac: number;
  isUp(): boolean;
  /** The AN1 controller's clock page (physical; an Ethernet host carries an AN1 too), mapped read-only into every application task to measure with. */
  readonly clockPhys?: number;
  readonly hostCpu: { busyNsTotal: number; readonly cyclesByCategory: ReadonlyMap<string, number> };
}

export interface KernelPair {
  readonly link: LinkName;
  readonly a: KernelHost;
  readonly b: KernelHost;
  spawn(h: KernelHost, name: string, program: GuestProgram, params?: GuestParams): Task;
}

export interface KernelPairOptions {
  readonly prefix?: string;
  /** TCP maximum segment lifetime (ns; TIME-WAIT is twice it). */
  readonly mslNs?: number;
  readonly faults?: FaultConfig;
}

const ip4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** The engine the kernel links: 16 KB windows, MSS 1460 (the engine's defaults, P §4). */
function engine(mslNs: number): InetStackFactory {
  return (o) => new HostStack({ ...o, tcp: { mslNs } });
}

/** A program's end is its task's end (exit after main, as C's exit): the kernel closes what is left. */
function exitAfter(program: GuestProgram): GuestProgram {
  return function* (ctx) {
    yield* program(ctx);
    yield* sys.task_exit({ code: 0 });
  };
}

export function buildKernelPair(world: World, link: LinkName, o: KernelPairOptions = {}): KernelPair {
  const pre = o.prefix ?? `k-${link}`;
  const stack = engine(o.mslNs ?? 30_000_000_000);
  const macs = [0x08002b_000030 + (link === 'an1' ? 0x100 : 0), 0x08002b_000031 + (link === 'an1' ? 0x100 : 0)];
  const hosts: KernelHost[] = [];
  if (link === 'ethernet') {
    const seg = new EthernetSegment(world, { name: `${pre}-seg`, ...(o.faults !== undefined ? { faults: o.faults } : {}) });
    for (let i = 0; i < 2; i++) {
      const m = macs[i]!;
      const bytes = Uint8Array.of(0x08, 0x00, 0x2b, (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff);
      const h = addNetioEthernetHost(world, seg, `${pre}-${'ab'[i]}`, bytes, false);
      const ip = ip4(10, 0, 2, 1 + i);
      const net = new InKernelNet(h.kernel, { link, lance: h.driver, mac: m, ip, stack });
      hosts.push({ name: h.name, kernel: h.kernel, net, ip, mac: m, isUp: () => h.up, hostCpu: h.host.cpu, clockPhys: addClockAn1(world, h.host, h.name, m) });
    }
  } else {
    const hs = [addAn1Host(world, `${pre}-a`, macs[0]!), addAn1Host(world, `${pre}-b`, macs[1]!)] as const;
    connectAn1(world, hs[0], hs[1], o.faults !== undefined ? [o.faults, o.faults] : undefined);
    hs.forEach((h, i) => {
      const ip = ip4(10, 0, 3, 1 + i);
      const net = new InKernelNet(h.kernel, { link, an1: h.driver, mac: macs[i]!, ip, stack });
      let up = false;
      h.kernel.postKernelWork(function* () {
        up = yield* h.driver.attach();
      });
      hosts.push({ name: h.name, kernel: h.kernel, net, ip, mac: macs[i]!, isUp: () => up, hostCpu: h.host.cpu, clockPhys: h.driver.clockPagePhysAddr() });
    });
  }
  const [a, b] = hosts as [KernelHost, KernelHost];
  world.sched.runUntil(() => a.isUp() && b.isUp(), { nsMax: msToNs(20) });
  return {
    link, a, b,
    spawn(h, name, program, extra = {}) {
      const p: Record<string, number | string | boolean> = { link, seed: world.rng.fork(`${h.name}.${name}`).nextU32(), ...extra };
      const task = h.kernel.spawn(name, exitAfter(program), { params: p });
      if (h.clockPhys !== undefined) p['clockPage'] = h.kernel.mapDevicePage(task, h.clockPhys).address;
      return task;
    },
  };
}
