/**
 * Building hosts for scenarios and tests: a DECstation 5000/200 with a kernel and a PMAD-AA
 * (LANCE) on an Ethernet segment or an AN1 controller (BQI firmware) on a point-to-point AN1
 * link, their drivers, and optionally the network I/O module; and reading `key=value` fields
 * from a guest task's log. One place for what raw-an1, paper-table1/5, mb93-primitives, the
 * library scenarios and the tests all build. A host's devices read the host's cost table
 * (`host.ctx.costs`: the world's, unless a topology file gives the host its own).
 */
import { An1Controller } from '../../emulator/devices/an1/controller.ts';
import { PmadAa } from '../../emulator/devices/lance/pmad-aa.ts';
import type { DecStation5000 } from '../../emulator/host/decstation.ts';
import { An1Link } from '../../emulator/net/an1-link.ts';
import type { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import { createBqiFirmware } from '../../firmware/an1/main.ts';
import { An1Driver, AN1_KERNEL_BUFFER_PAGES } from '../../kernel/dev/an1/an1-driver.ts';
import type { DriverEnv } from '../../kernel/dev/driver-env.ts';
import { LanceDriver } from '../../kernel/dev/lance/lance-driver.ts';
import type { Kernel, Task } from '../../kernel/kernel.ts';
import { NetIo } from '../../kernel/netio/netio.ts';
import type { World } from '../world.ts';

/** TURBOchannel slots: the PMAD-AA in 0, the AN1 in 1. */
const LANCE_SLOT = 0;
export const AN1_SLOT = 1;

export interface An1Host {
  readonly name: string;
  readonly host: DecStation5000;
  readonly kernel: Kernel;
  readonly controller: An1Controller;
  readonly driver: An1Driver;
  readonly env: DriverEnv;
}

/** Add a host with a kernel and an AN1 controller (BQI firmware) in `slot`; driver not attached. */
export function addAn1Host(world: World, name: string, uid: number, slot = AN1_SLOT): An1Host {
  const host = world.addHost(name);
  const kernel = world.bootKernel(host);
  const controller = new An1Controller(host.ctx, { name: `${name}.an1`, uid }, createBqiFirmware(), host.dmaPort());
  controller.connectInterrupt(host.installOption(slot, controller));
  const env: DriverEnv = kernel; // the kernel is the drivers' environment
  const bqi0 = kernel.createWiredObject(AN1_KERNEL_BUFFER_PAGES);
  if (bqi0 === undefined) throw new Error(`${name}: no RAM for the AN1 kernel buffers`);
  const driver = new An1Driver(env, { slot, shortAddr: uid & 0xffff, kernelBuffers: bqi0.physAddrs });
  return { name, host, kernel, controller, driver, env };
}

/** Join two AN1 hosts with a point-to-point link named `name` (faults per direction: a→b, b→a). */
export function connectAn1(world: World, a: An1Host, b: An1Host, faults?: readonly [FaultConfig, FaultConfig], name = 'an1'): An1Link {
  const link = new An1Link(world, {
    name,
    framingNs: world.costs.read('an1.wireFramingNs', 'ns'),
    propagationNs: world.costs.read('an1.linkPropagationNs', 'ns'),
    ...(faults !== undefined ? { faults } : {}),
  });
  a.controller.connectLink(link.attach(0, a.controller));
  b.controller.connectLink(link.attach(1, b.controller));
  world.captureAn1(link, 0, a.name);
  world.captureAn1(link, 1, b.name);
  return link;
}

export interface NetioEthernetHost {
  readonly name: string;
  readonly host: DecStation5000;
  readonly kernel: Kernel;
  readonly board: PmadAa;
  readonly driver: LanceDriver;
  readonly netio: NetIo;
  readonly mac: Uint8Array;
  /** True once the driver is attached and running (set from kernel work at boot). */
  up: boolean;
}

/** A host with a PMAD-AA on `segment`, a kernel, the LANCE driver (started) and the network I/O module. */
export function addNetioEthernetHost(world: World, segment: EthernetSegment, name: string, mac: Uint8Array, withNetio = true, txRingLog2?: number): NetioEthernetHost {
  const host = world.addHost(name);
  const board = new PmadAa({ name, sched: world.sched, trace: world.trace, costs: host.ctx.costs, mac });
  board.attachInterrupt(host.installOption(LANCE_SLOT, board));
  board.connect(segment, name);
  world.captureEthernet(segment, name, name);
  const kernel = world.bootKernel(host);
  const env: DriverEnv = kernel; // the kernel is the drivers' environment
  const driver = new LanceDriver(env, { slot: LANCE_SLOT, slotBase: host.slotBase(LANCE_SLOT), ...(txRingLog2 !== undefined ? { txRingLog2 } : {}) });
  const netio = withNetio ? new NetIo(kernel, { lance: driver }) : (undefined as unknown as NetIo);
  const h: NetioEthernetHost = { name, host, kernel, board, driver, netio, mac, up: false };
  kernel.postKernelWork(function* () {
    h.up = (yield* driver.attach()) && (yield* driver.init());
  });
  return h;
}

export interface NetioAn1Host extends An1Host {
  readonly netio: NetIo;
  up: boolean;
}

/** A host with an AN1 (BQI firmware), a kernel, the AN1 driver (attached) and the network I/O module. */
export function addNetioAn1Host(world: World, name: string, uid: number): NetioAn1Host {
  const base = addAn1Host(world, name, uid);
  const netio = new NetIo(base.kernel, { an1: base.driver });
  const h: NetioAn1Host = { ...base, netio, up: false };
  base.kernel.postKernelWork(function* () {
    h.up = yield* base.driver.attach();
  });
  return h;
}

export const macHex = (m: Uint8Array): string => [...m].map((b) => b.toString(16).padStart(2, '0')).join('');

/** The `key=value` fields of one log line, as numbers. */
export function logFields(line: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of line.split(' ')) {
    const [k, v] = part.split('=');
    if (k !== undefined && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** `key=value` field from a task's log lines (last occurrence), NaN if absent. */
export function logField(task: Task, key: string): number {
  let v = Number.NaN;
  for (const line of task.log) {
    for (const part of line.split(' ')) {
      const [k, x] = part.split('=');
      if (k === key && x !== undefined) v = Number(x);
    }
  }
  return v;
}
