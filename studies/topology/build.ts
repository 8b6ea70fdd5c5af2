/**
 * Running a topology file: hosts of any of the three organizations on Ethernet segments (any
 * number of stations) and point-to-point AN1 links (two stations), the app catalogue's programs
 * on them, results per app, per host and per link. The composition root that the pair builders
 * (library-hosts.ts, inkernel-hosts.ts, ux-hosts.ts) are for two hosts of one organization,
 * generalised: the same pieces in the same order, so a topology of two hosts that a built-in
 * builds is the built-in run event for event (a test checks a fingerprint).
 *
 * Order of construction (what the fingerprint sees): every Ethernet segment (file order); every
 * host (file order: board, kernel, driver, the organization's network module, the clock AN1);
 * every AN1 link; the in-kernel stacks of Ultrix hosts on AN1 (as inkernel-hosts.ts); wait ≤ 20 ms
 * for every driver; the registry servers (library hosts) and single servers (mach-ux hosts) in
 * host order, wait ≤ 50 ms for them; the apps in file order; run until the awaited apps end.
 */
import { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import type { An1Link } from '../../emulator/net/an1-link.ts';
import { msToNs } from '../../emulator/sim/time.ts';
import type { CostTable } from '../../emulator/host/costs/cost-table.ts';
import type { GuestParams, GuestProgram } from '../../kernel/abi/guest.ts';
import { InKernelNet } from '../../kernel/inkernel/inkernel.ts';
import type { Kernel, Task } from '../../kernel/kernel.ts';
import { HostStack } from '../../userland/inet/index.ts';
import { sys } from '../../userland/mach/syscalls.ts';
import { kernelSockets } from '../../userland/netlib/kernel-sockets.ts';
import { librarySockets } from '../../userland/netlib/lib-sockets.ts';
import type { SocketOpener } from '../../userland/netlib/socket-api.ts';
import { libMain } from '../../userland/netlib/tcp-lib.ts';
import { registryServer } from '../../userland/registry/registry-server.ts';
import { uxServer } from '../../userland/ux/ux-server.ts';
import { uxSockets } from '../../userland/ux/ux-sockets.ts';
import type { DecStation5000 } from '../../emulator/host/decstation.ts';
import { addAn1Host, addNetioAn1Host, addNetioEthernetHost, connectAn1, type An1Host } from '../scenarios/hosts.ts';
import { addClockAn1, libCostParams } from '../scenarios/library-hosts.ts';
import { uxCostParams } from '../scenarios/ux-hosts.ts';
import type { Results, ResultValue } from '../scenarios/types.ts';
import type { World } from '../world.ts';
import { APPS } from './apps.ts';
import type { FaultRates, Topology, TopoHostSpec } from './model.ts';

/** TCP's maximum segment lifetime on every host (the pair builders' value). */
const MSL_NS = 30_000_000_000;
const BOOT_NS_MAX = msToNs(20);
const SERVERS_NS_MAX = msToNs(50);

interface BuiltHost {
  readonly spec: TopoHostSpec;
  readonly host: DecStation5000;
  readonly kernel: Kernel;
  readonly clockPhys: number;
  /** An AN1 host before its link is joined (the link joins it). */
  readonly an1?: An1Host;
  isUp(): boolean;
  /** The registry (library) or the single server (mach-ux). */
  server?: Task;
  readonly costs: CostTable;
}

const SOCKETS: Readonly<Record<TopoHostSpec['organization'], SocketOpener>> = { library: librarySockets, ultrix: kernelSockets, 'mach-ux': uxSockets };

/** A program's end is its task's end (exit after main, as C's exit): the monolithic kernel's applications (inkernel-hosts.ts). */
function exitAfter(program: GuestProgram): GuestProgram {
  return function* (ctx) {
    yield* program(ctx);
    yield* sys.task_exit({ code: 0 });
  };
}

const faultsOf = (f: FaultRates): FaultConfig | undefined =>
  f.loss === 0 && f.corrupt === 0 && f.duplicate === 0 && f.reorder === 0
    ? undefined
    : { loss: f.loss, corrupt: f.corrupt, duplicate: f.duplicate, reorder: f.reorder, ...(f.reorder > 0 ? { reorderDelayNsMax: 1_000_000 } : {}) };

const macBytes = (m: number): Uint8Array => Uint8Array.of((m / 2 ** 40) & 0xff, (m / 2 ** 32) & 0xff, (m >>> 24) & 0xff, (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff);

export const ipText = (ip: number): string => [ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff].join('.');
export const macText = (m: number): string => [...macBytes(m)].map((b) => b.toString(16).padStart(2, '0')).join(':');

export function runTopology(world: World, topo: Topology): Results {
  // Per-host cost tables: the run's (with its overrides) plus the host's own.
  for (const h of topo.hosts) {
    if (h.costs.size === 0) continue;
    const t = world.costs.clone();
    for (const [k, v] of h.costs) t.override(k, v);
    world.hostCosts.set(h.name, t);
  }
  const linkOf = new Map(topo.links.map((l) => [l.name, l]));
  const segments = new Map<string, EthernetSegment>();
  for (const l of topo.links) {
    if (l.kind !== 'ethernet') continue;
    const faults = faultsOf(l.faults);
    segments.set(l.name, new EthernetSegment(world, { name: l.name, ...(faults !== undefined ? { faults } : {}) }));
  }

  const built: BuiltHost[] = [];
  /** Work that follows the AN1 links' joining (Ultrix on AN1). */
  const afterLinks: (() => void)[] = [];
  for (const spec of topo.hosts) {
    const link = linkOf.get(spec.link)!;
    if (link.kind === 'ethernet') {
      const h = addNetioEthernetHost(world, segments.get(link.name)!, spec.name, macBytes(spec.mac), spec.organization !== 'ultrix');
      if (spec.organization === 'ultrix') new InKernelNet(h.kernel, { link: 'ethernet', lance: h.driver, mac: spec.mac, ip: spec.ip, stack: (o) => new HostStack({ ...o, tcp: { mslNs: MSL_NS } }) });
      const clockPhys = addClockAn1(world, h.host, h.name, spec.mac);
      built.push({ spec, host: h.host, kernel: h.kernel, clockPhys, isUp: () => h.up, costs: h.host.ctx.costs });
    } else if (spec.organization === 'library') {
      const h = addNetioAn1Host(world, spec.name, spec.mac);
      built.push({ spec, host: h.host, kernel: h.kernel, clockPhys: h.driver.clockPagePhysAddr(), an1: h, isUp: () => h.up, costs: h.host.ctx.costs });
    } else {
      // Ultrix on AN1: the stack and the driver's attach come after the link (inkernel-hosts.ts).
      const h = addAn1Host(world, spec.name, spec.mac);
      let up = false;
      built.push({ spec, host: h.host, kernel: h.kernel, clockPhys: h.driver.clockPagePhysAddr(), an1: h, isUp: () => up, costs: h.host.ctx.costs });
      afterLinks.push(() => {
        new InKernelNet(h.kernel, { link: 'an1', an1: h.driver, mac: spec.mac, ip: spec.ip, stack: (o) => new HostStack({ ...o, tcp: { mslNs: MSL_NS } }) });
        h.kernel.postKernelWork(function* () {
          up = yield* h.driver.attach();
        });
      });
    }
  }
  const an1Links = new Map<string, An1Link>();
  for (const l of topo.links) {
    if (l.kind !== 'an1') continue;
    const [a, b] = built.filter((h) => h.spec.link === l.name);
    const faults = faultsOf(l.faults);
    an1Links.set(l.name, connectAn1(world, a!.an1!, b!.an1!, faults !== undefined ? [faults, faults] : undefined, l.name));
  }
  for (const f of afterLinks) f();

  world.sched.runUntil(() => built.every((h) => h.isUp()), { nsMax: BOOT_NS_MAX });
  const down = built.filter((h) => !h.isUp()).map((h) => h.spec.name);
  if (down.length > 0) throw new Error(`topology: the network driver of ${down.join(', ')} did not come up within 20 ms`);

  const baseParams = (b: BuiltHost): Record<string, number | string | boolean> => {
    const link = linkOf.get(b.spec.link)!.kind;
    if (b.spec.organization === 'ultrix') return { link };
    return { link, mslNs: MSL_NS, ...libCostParams(b), ...(b.spec.organization === 'mach-ux' ? uxCostParams(b) : {}) };
  };
  for (const b of built) {
    const mac = { ip: b.spec.ip, macHi: Math.floor(b.spec.mac / 2 ** 32), macLo: b.spec.mac % 2 ** 32 | 0 };
    if (b.spec.organization === 'library') {
      b.server = b.kernel.spawn('registry', registryServer, { privileged: true, params: { ...baseParams(b), ...mac, seed: world.rng.fork(`registry.${b.spec.name}`).nextU32(), logStats: false } });
    } else if (b.spec.organization === 'mach-ux') {
      b.server = b.kernel.spawn('ux-server', uxServer, { privileged: true, params: { ...baseParams(b), ...mac, seed: world.rng.fork(`ux.${b.spec.name}`).nextU32(), logStats: false, probe: false } });
    }
  }
  const serverUp = (b: BuiltHost): boolean => b.server === undefined || b.server.log.some((l) => l.startsWith(b.spec.organization === 'library' ? 'registry: up' : 'ux: up'));
  if (built.some((b) => b.server !== undefined)) {
    world.sched.runUntil(() => built.every(serverUp), { nsMax: SERVERS_NS_MAX });
    const notUp = built.filter((b) => !serverUp(b)).map((b) => b.spec.name);
    if (notUp.length > 0) throw new Error(`topology: the protocol server of ${notUp.join(', ')} did not come up within 50 ms`);
  }

  const byName = new Map(built.map((b) => [b.spec.name, b]));
  const tasks = new Map<string, Task>();
  const tStart = world.sched.now;
  // Apps start in order of startMs (file order among equals); at 0 they start at once, as the built-ins' programs do.
  const order = topo.apps.map((a, i) => ({ a, i, at: msToNs(a.params['startMs'] as number) })).sort((x, y) => x.at - y.at || x.i - y.i);
  for (const { a, at } of order) {
    if (tStart + at > world.sched.now) world.sched.runFor(tStart + at - world.sched.now);
    const app = APPS.get(a.app)!;
    const b = byName.get(a.host)!;
    const org = b.spec.organization;
    const extra: GuestParams = { ...app.guestParams(a.params), ...(a.peer !== undefined ? { peerIp: byName.get(a.peer)!.spec.ip } : {}) };
    const p: Record<string, number | string | boolean> = { ...baseParams(b), seed: world.rng.fork(`${b.spec.name}.${a.name}`).nextU32(), ...extra };
    const program = app.program(SOCKETS[org]);
    const task = b.kernel.spawn(a.name, org === 'ultrix' ? exitAfter(program) : libMain(program), { params: p });
    // The clock page's address goes into the parameters before the task's first instruction (as exec sets up argv).
    p['clockPage'] = b.kernel.mapDevicePage(task, b.clockPhys).address;
    tasks.set(a.name, task);
  }
  const awaited = topo.limits.until.map((n) => tasks.get(n)!);
  world.sched.runUntil(() => awaited.every((t) => !t.alive), { nsMax: Math.max(0, tStart + msToNs(topo.limits.timeMs) - world.sched.now) });

  const out: Record<string, ResultValue> = {};
  if (topo.report.includes('apps')) {
    const apps: Record<string, ResultValue> = {};
    for (const a of topo.apps) {
      const t = tasks.get(a.name)!;
      const isAwaited = topo.limits.until.includes(a.name);
      apps[a.name] = {
        app: a.app,
        host: a.host,
        // `outcome` of an awaited app: 'done', or 'time-limit' (a failed run); the others may still run.
        ...(isAwaited ? { outcome: t.alive ? 'time-limit' : 'done' } : { finished: !t.alive }),
        ...APPS.get(a.app)!.results(t),
      };
    }
    out['apps'] = apps;
  }
  const spanNs = world.sched.now - tStart;
  if (topo.report.includes('hosts')) {
    const hosts: Record<string, ResultValue> = {};
    for (const b of built) {
      const busyUs = b.host.cpu.busyNsTotal / 1000;
      const unread = [...b.spec.costs.keys()].filter((k) => !b.costs.namesReadHere().has(k));
      hosts[b.spec.name] = {
        organization: b.spec.organization,
        link: b.spec.link,
        ip: ipText(b.spec.ip),
        mac: macText(b.spec.mac),
        cpuBusyMs: Math.round(busyUs) / 1000,
        // Busy share of the whole run (boot included), so an idle host reads near 0.
        cpuUtilization: Math.round((b.host.cpu.busyNsTotal / Math.max(1, world.sched.now)) * 1e4) / 1e4,
        ...(b.spec.costs.size > 0 ? { costOverrides: Object.fromEntries(b.spec.costs) } : {}),
        ...(unread.length > 0 ? { costOverridesUnread: unread } : {}),
      };
    }
    out['hosts'] = hosts;
  }
  if (topo.report.includes('links')) {
    const links: Record<string, ResultValue> = {};
    for (const l of topo.links) {
      const members = built.filter((b) => b.spec.link === l.name).map((b) => b.spec.name);
      if (l.kind === 'ethernet') {
        const seg = segments.get(l.name)!;
        const stations: Record<string, ResultValue> = {};
        for (const m of members) {
          const c = seg.ports.find((p) => p.name === m)!.counters;
          stations[m] = {
            framesSent: c.framesSent,
            bytesSent: c.bytesSent,
            collisions: c.collisions,
            deferrals: c.deferrals,
            framesArrived: c.framesArrived,
            // Frames others sent to this station that the link's faults removed, corrupted or doubled.
            framesLostInbound: c.framesLostInbound,
            framesCorruptedInbound: c.framesCorruptedInbound,
            framesDuplicatedInbound: c.framesDuplicatedInbound,
          };
        }
        links[l.name] = { kind: 'ethernet', stations };
      } else {
        const link = an1Links.get(l.name)!;
        const stations: Record<string, ResultValue> = {};
        members.forEach((m, side) => {
          const c = link.counters(side as 0 | 1);
          stations[m] = { framesSent: c.framesSent, bytesSent: c.bytesSent, framesDelivered: c.framesDelivered, framesDropped: c.faults.dropped, framesCorrupted: c.faults.corrupted, framesDuplicated: c.faults.duplicated, framesReordered: c.faults.reordered };
        });
        links[l.name] = { kind: 'an1', stations };
      }
    }
    out['links'] = links;
  }
  out['appsRunMs'] = Math.round(spanNs / 1000) / 1000;
  return out;
}
