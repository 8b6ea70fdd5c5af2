/**
 * Runs for the rate-control tests (issue 13 F8): a victim transfer and/or a flooder on host a of
 * a library pair, both connected to a server on host b; what each achieved, from simulated time.
 */
import { netioWireBytes } from '../../../kernel/abi/netio.ts';
import { buildLibPair, type LinkName } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { flooder, holdServer, rateVictim } from './programs.ts';

export interface FloodResult {
  readonly kr: number;
  readonly frames: number;
  readonly refused: number;
  /** Wire bytes of one frame. */
  readonly wire: number;
  /** The flood's start and its last accepted send (ns, simulated). */
  readonly t0: number;
  readonly tLast: number;
  readonly wireBytesPerSecond: number;
  /** Host a's CPU busy ns from the flood's start to its end. */
  readonly busyNs: number;
}

export interface RateRun {
  /** Victim: its connect's result, bytes written, ns from first write to close done (undefined: no victim). */
  readonly victim?: { readonly kr: number; readonly bytes: number; readonly ns: number; readonly bytesPerSecond: number; readonly rto: number; readonly fast: number };
  /** Each flooder, in order. */
  readonly floods: readonly FloodResult[];
  /** Rate (bytes/s) of each of host a's connection channels once every client has connected, in creation order (−1: none). */
  readonly ratesDuring: readonly number[];
  /** CPU busy fraction of hosts a and b (and c) from the victim's connect to its close done (NaN without a victim). */
  readonly victimWindowBusy: { readonly a: number; readonly b: number; readonly c?: number };
  /** LANCE transmit-watchdog resets on either host (Ethernet): a pre-existing transmit stall, reported in docs/netio.md. */
  readonly lanceResets: number;
}

export interface FloodSpec {
  readonly rate: number;
  readonly floodNs: number;
  readonly frameBytes?: number;
}

export interface RateRunOptions {
  readonly victim?: { readonly rate: number; readonly bytes: number };
  /** Flooders on host a, each to its own server task on b; with more than one they start together. */
  readonly floods?: readonly FloodSpec[];
  readonly seed?: number;
  readonly registryParams?: Record<string, number>;
  /**
   * Where the flooders' servers run: 'b' (the victim's receiver, the default) or 'c', a third
   * Ethernet host, so that only host a, its LANCE and the wire are shared with the victim.
   */
  readonly floodTo?: 'b' | 'c';
}

const field = (log: readonly string[], prefix: string, name: string): number => {
  const l = log.find((x) => x.startsWith(prefix));
  const m = l?.match(new RegExp(`(?:^| )${name}=(-?\\d+)`));
  return m === undefined || m === null ? NaN : Number(m[1]);
};

export function rateRun(link: LinkName, o: RateRunOptions): RateRun {
  const w = new World({ seed: o.seed ?? 81, traceOn: false });
  const pair = buildLibPair(w, link, { logStats: false, thirdHost: o.floodTo === 'c', ...(o.registryParams !== undefined ? { registryParams: o.registryParams } : {}) });
  const { a, b } = pair;
  const ft = o.floodTo === 'c' ? pair.c! : b;
  const floods = o.floods ?? [];
  // One server task per client (a library task waits on one channel's semaphore at a time: docs/netio.md).
  if (o.victim !== undefined) pair.spawn(b, 'srv', holdServer, { port: 82, conns: 1, holdNs: 100e9 });
  floods.forEach((_, i) => pair.spawn(ft, `srv-f${i}`, holdServer, { port: 83 + i, conns: 1, holdNs: 100e9 }));
  w.sched.runFor(1_000_000);
  const v = o.victim === undefined ? undefined : pair.spawn(a, 'victim', rateVictim, { peerIp: b.ip, port: 82, rate: o.victim.rate, bytes: o.victim.bytes });
  // Flooders connect once the victim has its connection (so a reservation is in force before them).
  if (v !== undefined) w.sched.runUntil(() => v.log.some((l) => l.startsWith('victim connected=')) || !v.alive, { nsMax: 1e9 });
  const startAtNs = floods.length > 1 ? w.sched.now + 50_000_000 : 0; // every flooder connected by then
  const fs = floods.map((f, i) => pair.spawn(a, `flooder${i}`, flooder, { peerIp: ft.ip, port: 83 + i, rate: f.rate, floodNs: f.floodNs, frameBytes: f.frameBytes ?? 1514, startAtNs }));
  const chRates = (): number[] => [...a.netio.channels.values()].filter((c) => !c.isDefault).sort((x, y) => x.id - y.id).map((c) => c.bucket?.bytesPerSecond ?? -1);
  let ratesDuring: number[] = chRates();
  let busyStart = 0;
  if (fs.length > 0) {
    w.sched.runUntil(() => fs.every((f) => f.log.some((l) => l.startsWith('flood start') || l.startsWith('connect failed')) || !f.alive), { nsMax: 1e9 });
    busyStart = a.hostCpu.busyNsTotal;
    ratesDuring = chRates();
  }
  let busyNs = 0;
  const hostsAll = [a, b, ...(pair.c !== undefined ? [pair.c] : [])];
  const vStart = { t: w.sched.now, busy: hostsAll.map((h) => h.hostCpu.busyNsTotal) };
  let vEnd: { t: number; busy: number[] } | undefined;
  w.sched.runUntil(
    () => {
      if (vEnd === undefined && v !== undefined && (!v.alive || v.log.some((l) => l.startsWith('victim wrote=')))) vEnd = { t: w.sched.now, busy: hostsAll.map((h) => h.hostCpu.busyNsTotal) };
      const fDone = fs.every((f) => !f.alive || f.log.some((l) => l.startsWith('flooded=')));
      if (fDone && fs.length > 0 && busyNs === 0) busyNs = a.hostCpu.busyNsTotal - busyStart;
      const vDone = v === undefined || !v.alive || v.log.some((l) => l.startsWith('victim wrote='));
      return fDone && vDone;
    },
    { nsMax: 60e9 },
  );
  const lanceResets = [a, b, ...(pair.c !== undefined ? [pair.c] : [])].reduce((n, h) => n + (h.netio.devices.lance?.counters.watchdogResets ?? 0), 0);
  let victim: RateRun['victim'];
  if (v !== undefined) {
    const bytes = field(v.log, 'victim wrote=', 'wrote');
    const ns = field(v.log, 'victim wrote=', 'ns');
    victim = {
      kr: field(v.log, 'victim connected=', 'connected'), bytes, ns, bytesPerSecond: (bytes * 1e9) / ns,
      rto: field(v.log, 'victim wrote=', 'rto'), fast: field(v.log, 'victim wrote=', 'fast'),
    };
  }
  const floodResults = fs.map((f): FloodResult => {
    const frames = field(f.log, 'flooded=', 'flooded');
    const len = field(f.log, 'flooded=', 'len');
    const t0 = field(f.log, 'flooded=', 't0');
    const tLast = field(f.log, 'flooded=', 'tLast');
    const wire = Number.isNaN(len) ? NaN : netioWireBytes(link, len);
    const cf = f.log.find((l) => l.startsWith('connect failed'));
    return {
      kr: cf === undefined ? 0 : Number(cf.slice('connect failed '.length)),
      frames, refused: field(f.log, 'flooded=', 'refused'), wire, t0, tLast, wireBytesPerSecond: (frames * wire * 1e9) / (tLast - t0), busyNs,
    };
  });
  const frac = (i: number): number => (vEnd === undefined ? NaN : (vEnd.busy[i]! - vStart.busy[i]!) / (vEnd.t - vStart.t));
  const victimWindowBusy = { a: frac(0), b: frac(1), ...(pair.c !== undefined ? { c: frac(2) } : {}) };
  return { ...(victim !== undefined ? { victim } : {}), floods: floodResults, ratesDuring, lanceResets, victimWindowBusy };
}
