/**
 * Two DECstations with the single-server organization (Mach 3.0 + UX-like, docs/ux.md): the
 * network I/O module (its default channel is the server's device path), the UX-like server
 * started at boot (privileged) owning all of the host's TCP, and applications that reach it by
 * Mach RPC through the emulation library (userland/ux/ux-sockets.ts) — on a 10 Mb/s Ethernet
 * segment (the paper measured Mach/UX on Ethernet only, P §4). Used by the
 * paper-table{2,3,4}-mach-ux scenarios, ux-primitives and test/system/ux.
 */
import { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import { msToNs } from '../../emulator/sim/time.ts';
import type { GuestParams, GuestProgram } from '../../kernel/abi/guest.ts';
import type { Kernel, Task } from '../../kernel/kernel.ts';
import type { NetIo } from '../../kernel/netio/netio.ts';
import { libMain } from '../../userland/netlib/tcp-lib.ts';
import { UX_COSTS } from '../../userland/ux/costs.ts';
import { uxServer } from '../../userland/ux/ux-server.ts';
import type { World } from '../world.ts';
import { addNetioEthernetHost } from './hosts.ts';
import { addClockAn1, libCostParams } from './library-hosts.ts';

export interface UxHost {
  readonly name: string;
  readonly kernel: Kernel;
  readonly ip: number;
  readonly mac: number;
  server: Task | undefined;
  isUp(): boolean;
  readonly hostCpu: { busyNsTotal: number };
  /** The AN1 controller's clock page (physical; the host carries an AN1 besides its Ethernet), mapped read-only into every application task. */
  readonly clockPhys: number;
  /** The host's network I/O module (its counters: mb93-layers splits the receive interrupt by them). */
  readonly netio: NetIo;
}

export interface UxPair {
  readonly a: UxHost;
  readonly b: UxHost;
  /** Parameters every application task on this pair gets (costs from the cost table). */
  readonly params: GuestParams;
  spawn(h: UxHost, name: string, program: GuestProgram, params?: GuestParams): Task;
}

export interface UxPairOptions {
  readonly prefix?: string;
  readonly mslNs?: number;
  readonly faults?: FaultConfig;
  /** The server logs its counters after every request (`ux: {...}`). */
  readonly logStats?: boolean;
  /** The server logs the probe points of ux-primitives (`ux: probe ...`). */
  readonly probe?: boolean;
}

/** The single server's cost constants as the cost table has them, as task parameters `ux.<name>`. */
export function uxCostParams(world: Pick<World, 'costs'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(UX_COSTS)) out[`ux.${k}`] = world.costs.read(`ux.${k}`, k.endsWith('PerByte') ? 'cycles/byte' : 'cycles');
  return out;
}

const ip4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

export function buildUxPair(world: World, o: UxPairOptions = {}): UxPair {
  const pre = o.prefix ?? 'ux';
  const mslNs = o.mslNs ?? 30_000_000_000;
  const params: Record<string, number | string | boolean> = { link: 'ethernet', mslNs, ...libCostParams(world), ...uxCostParams(world) };
  const seg = new EthernetSegment(world, { name: `${pre}-seg`, ...(o.faults !== undefined ? { faults: o.faults } : {}) });
  const hosts: UxHost[] = [];
  for (let i = 0; i < 2; i++) {
    const m = 0x08002b_000030 + i;
    const bytes = Uint8Array.of(0x08, 0x00, 0x2b, (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff);
    const h = addNetioEthernetHost(world, seg, `${pre}-${'ab'[i]}`, bytes);
    hosts.push({ name: h.name, kernel: h.kernel, ip: ip4(10, 0, 2, 1 + i), mac: m, server: undefined, isUp: () => h.up, hostCpu: h.host.cpu, clockPhys: addClockAn1(world, h.host, h.name, m), netio: h.netio });
  }
  const [a, b] = hosts as [UxHost, UxHost];
  world.sched.runUntil(() => a.isUp() && b.isUp(), { nsMax: msToNs(20) });
  for (const h of hosts) {
    h.server = h.kernel.spawn('ux-server', uxServer, {
      privileged: true,
      params: { ...params, ip: h.ip, macHi: Math.floor(h.mac / 2 ** 32), macLo: h.mac % 2 ** 32 | 0, seed: world.rng.fork(`ux.${h.name}`).nextU32(), logStats: o.logStats ?? false, probe: o.probe ?? false },
    });
  }
  world.sched.runUntil(() => hosts.every((h) => h.server!.log.some((l) => l.startsWith('ux: up'))), { nsMax: msToNs(50) });
  return {
    a, b, params,
    spawn(h, name, program, extra = {}) {
      const p: Record<string, number | string | boolean> = { ...params, seed: world.rng.fork(`${h.name}.${name}`).nextU32(), ...extra };
      const task = h.kernel.spawn(name, libMain(program), { params: p });
      // The clock page's address goes into the parameters before the task's first instruction (as exec sets up argv).
      p['clockPage'] = h.kernel.mapDevicePage(task, h.clockPhys).address;
      return task;
    },
  };
}
