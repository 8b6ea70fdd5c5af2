/**
 * `reroute` (issue 17 item 3, docs/reroute.md): a library TCP connection moved to another path
 * mid-transfer and back. Three stations on one 10 Mb/s Ethernet segment: the paper's two
 * DECstations a and b (network I/O module, registry, library) and g, a relay station (a third
 * DECstation whose privileged task forwards, through its module's default channel, the IPv4 frames
 * a addresses to it on to b: userland/apps/reroute.ts). a's registry is configured with g as an
 * approved gateway. a writes `phaseBytes` straight to b, asks its registry to reroute the
 * connection through g (REROUTE: the registry checks the request and changes the channel's
 * template in a's module), writes `phaseBytes` more, reroutes back to b's own address and writes
 * the last phase; b checks every byte. Reported: bytes and whether they arrived exact, each phase's
 * throughput at the receiver, each switch's time (the REROUTE request to its reply, at a), frames
 * the relay forwarded, and a's module's reroute counters (frames given the new route in net_send,
 * frames queued in the LANCE at the switch). Deterministic by seed.
 */
import { logField, addNetioEthernetHost, macHex, type NetioEthernetHost } from './hosts.ts';
import { buildLibPair, type LibPair } from './library-hosts.ts';
import type { Task } from '../../kernel/kernel.ts';
import { FAULT_PARAMS, faultsOf, paramReader, type ParamSpec } from './params.ts';
import { msToNs } from '../../emulator/sim/time.ts';
import { rerouteReceiver, rerouteSender, relayStation } from '../../userland/apps/reroute.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import type { World } from '../world.ts';
import type { Results, Scenario } from './types.ts';
import { registryStatsFromLog } from '../../userland/registry/registry-server.ts';

/** The relay station's address (a's registry approves it as a gateway). */
export const REROUTE_RELAY_MAC = 0x08002b_000030;

export const REROUTE_PARAMS: readonly ParamSpec[] = [
  { name: 'phaseBytes', type: 'int', default: 256 * 1024, min: 4096, max: 16 * 1024 * 1024, unit: 'bytes', doc: 'bytes written in each of the three phases (direct, through the relay, direct again)' },
  { name: 'writeSize', type: 'int', default: 4096, min: 1, max: 65536, unit: 'bytes', doc: 'bytes per write' },
  ...FAULT_PARAMS,
];

export interface RerouteRun {
  readonly bytes: number;
  readonly received: number;
  readonly bad: number;
  /** Receiver's clock at the first byte and at the last byte of each phase. */
  readonly marks: readonly number[];
  readonly switches: readonly { readonly kr: number; readonly ns: number }[];
  readonly relayForwarded: number;
  readonly rewritten: number;
  readonly queuedAtLastSwitch: number;
  readonly reroutesSeen: number;
  readonly registryReroutes: number;
  readonly simNs: number;
}

export interface RerouteOptions {
  readonly phaseBytes: number;
  readonly writeSize: number;
  readonly faults?: FaultConfig;
  readonly prefix?: string;
  /** The hops after the first phase (default: the relay, then b again). */
  readonly hops?: readonly ('relay' | 'direct')[];
}

const macBytes = (m: number): Uint8Array => Uint8Array.from({ length: 6 }, (_, i) => Math.floor(m / 2 ** (8 * (5 - i))) % 256);

/** The reroute world: the library pair on one segment, a's registry approving the relay, and the relay station g forwarding a's frames to b. */
export function buildRerouteWorld(world: World, o: { readonly prefix?: string; readonly faults?: FaultConfig } = {}): { pair: LibPair; relay: NetioEthernetHost; relayTask: Task } {
  const pre = o.prefix ?? 'reroute';
  let relay: NetioEthernetHost | undefined;
  const pair = buildLibPair(world, 'ethernet', {
    prefix: pre,
    registryParams: { gateways: macHex(macBytes(REROUTE_RELAY_MAC)) },
    ...(o.faults !== undefined ? { faults: o.faults } : {}),
    onSegment: (seg) => {
      relay = addNetioEthernetHost(world, seg, `${pre}-g`, macBytes(REROUTE_RELAY_MAC));
    },
  });
  const g = relay!;
  world.sched.runUntil(() => g.up, { nsMax: msToNs(20) });
  const relayTask = g.kernel.spawn('relay', relayStation, {
    privileged: true,
    params: { fromMac: macHex(macBytes(pair.a.mac)), toMac: macHex(macBytes(pair.b.mac)), selfMac: macHex(macBytes(REROUTE_RELAY_MAC)) },
  });
  world.sched.runUntil(() => relayTask.log.some((l) => l.startsWith('relay: up')), { nsMax: msToNs(10) });
  return { pair, relay: g, relayTask };
}

export function runReroute(world: World, o: RerouteOptions): RerouteRun {
  const { pair, relay: g } = buildRerouteWorld(world, { ...(o.prefix !== undefined ? { prefix: o.prefix } : {}), ...(o.faults !== undefined ? { faults: o.faults } : {}) });
  const hops = (o.hops ?? ['relay', 'direct']).map((h) => macHex(macBytes(h === 'relay' ? REROUTE_RELAY_MAC : pair.b.mac)));
  const common = { port: 5001, phaseBytes: o.phaseBytes };
  const srv = pair.spawn(pair.b, 'reroute-rx', rerouteReceiver, common);
  const cli = pair.spawn(pair.a, 'reroute-tx', rerouteSender, { ...common, peerIp: pair.b.ip, writeSize: o.writeSize, hops: hops.join(',') });
  const t0 = world.sched.now;
  const bytes = o.phaseBytes * (hops.length + 1);
  // 10 Mb/s moves ≈ 1 MB/s; allow for loss and the relay's slower path.
  world.sched.runUntil(() => !cli.alive && !srv.alive, { nsMax: msToNs(60_000 + (bytes / 1000) * 20) });
  const rxLine = srv.log.find((l) => l.startsWith('received='));
  const marks: number[] = [];
  for (let i = 0; rxLine !== undefined; i++) {
    const m = new RegExp(`\\bt${i}=(\\d+)`).exec(rxLine);
    if (m === null) break;
    marks.push(Number(m[1]));
  }
  const switches = cli.log.filter((l) => l.startsWith('switch ')).map((l) => ({ kr: Number(/kr=(-?\d+)/.exec(l)?.[1] ?? NaN), ns: Number(/ns=(\d+)/.exec(l)?.[1] ?? NaN) }));
  const def = g.netio.defaultChannel('ethernet');
  const reg = registryStatsFromLog(pair.a.registry!.log);
  return {
    bytes,
    received: rxLine === undefined ? 0 : logField(srv, 'received'),
    bad: rxLine === undefined ? -1 : logField(srv, 'bad'),
    marks,
    switches,
    relayForwarded: def?.counters.sent ?? 0,
    rewritten: pair.a.netio.rerouteStats.rewritten,
    queuedAtLastSwitch: pair.a.netio.rerouteStats.queuedAtLastSwitch,
    reroutesSeen: cli.log.some((l) => l.startsWith('sent=')) ? logField(cli, 'reroutes') : -1,
    registryReroutes: reg?.reroutes ?? 0,
    simNs: world.sched.now - t0,
  };
}

export const rerouteScenario: Scenario = {
  name: 'reroute',
  summary: 'a library TCP connection rerouted mid-transfer through a relay station and back (Ethernet): bytes, throughput per phase, switch time (issue 17)',
  params: REROUTE_PARAMS,
  run(world, options) {
    const p = paramReader(REROUTE_PARAMS, options.params);
    const faults = faultsOf(p);
    const r = runReroute(world, { phaseBytes: p.num('phaseBytes'), writeSize: p.num('writeSize'), ...(faults !== undefined ? { faults } : {}) });
    const mbps = (k: number): number | null => {
      const a = r.marks[k];
      const b = r.marks[k + 1];
      if (a === undefined || b === undefined || b <= a) return null;
      // Phase 0 is timed from its first byte's arrival (one write less); the others from the previous phase's last byte.
      const n = k === 0 ? p.num('phaseBytes') - Math.min(p.num('writeSize'), p.num('phaseBytes')) : p.num('phaseBytes');
      return Math.round(((n * 8) / ((b - a) / 1e9) / 1e6) * 1000) / 1000;
    };
    const out: Results = {
      bytes: r.bytes,
      received: r.received,
      byteExact: r.received === r.bytes && r.bad === 0,
      mbpsDirect: mbps(0),
      mbpsViaRelay: mbps(1),
      mbpsDirectAgain: mbps(2),
      switchUs: r.switches.map((s) => Math.round(s.ns / 100) / 10),
      switchKr: r.switches.map((s) => s.kr),
      relayForwarded: r.relayForwarded,
      rewrittenInKernel: r.rewritten,
      lanceQueuedAtLastSwitch: r.queuedAtLastSwitch,
      reroutesTakenUp: r.reroutesSeen,
    };
    return out;
  },
};
