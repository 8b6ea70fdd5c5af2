/**
 * `raw-ethernet`: two DECstation 5000/200s, each with a PMAD-AA in TURBOchannel slot 0, on one
 * 10 Mb/s segment with 1 % frame loss. Both kernels' LANCE drivers send raw frames of random
 * sizes (60..1514 bytes, EtherType 0x88B5 "local experimental") to each other at the same time,
 * so the stations collide and back off. Traffic is kernel-level work: each transmit completion
 * queues the next frame.
 *
 * Every frame carries (sender, sequence number) and a payload derived from them; the receiver
 * checks that each frame arrives intact and in order. framesDropped is explained frame by frame:
 * lost on the wire (faults), FCS errors, MISS, transmit errors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PmadAa } from '../../emulator/devices/lance/pmad-aa.ts';
import { EthernetSegment, attachPcap } from '../../emulator/net/ethernet-segment.ts';
import { LINKTYPE_ETHERNET, PcapWriter } from '../../emulator/net/pcap.ts';
import { mbps, msToNs } from '../../emulator/sim/time.ts';
import type { DecStation5000 } from '../../emulator/host/decstation.ts';
import type { Kernel } from '../../kernel/kernel.ts';
import { LanceDriver } from '../../kernel/dev/lance/lance-driver.ts';
import type { DriverEnv } from '../../kernel/dev/driver-env.ts';
import type { World } from '../world.ts';
import { FAULT_PARAMS, faultsOf, paramReader, type ParamSpec } from './params.ts';
import type { Results, Scenario } from './types.ts';

export const RAW_ETHERTYPE = 0x88b5;
const SLOT = 0;

export interface RawEthernetParams {
  /** Frames in total, split evenly between the two senders. */
  readonly frames?: number;
  /** Stations on the segment (default 2); station i sends to station i+1 (mod hosts). */
  readonly hosts?: number;
  readonly loss?: number;
  readonly corrupt?: number;
  readonly duplicate?: number;
  readonly reorder?: number;
  readonly sizeMin?: number;
  readonly sizeMax?: number;
  readonly pcapDir?: string;
  /** Simulated-time bound on the whole exchange. */
  readonly nsMax?: number;
}

export interface RawStation {
  readonly name: string;
  readonly host: DecStation5000;
  readonly kernel: Kernel;
  readonly board: PmadAa;
  readonly driver: LanceDriver;
  readonly mac: Uint8Array;
  sent: number;
  txDone: number;
  txFailed: number;
  received: number;
  /** Frames that arrived damaged (wrong length or payload) or out of order / duplicated. */
  corruptDelivered: number;
  outOfOrder: number;
  lastSeq: number;
  lastRxNs: number;
}

export interface RawEthernetRun {
  readonly results: Results;
  readonly stations: readonly RawStation[];
  readonly segment: EthernetSegment;
  readonly pcapFiles: readonly string[];
}

/** The payload byte k of frame `seq` from sender `id` (deterministic, cheap to check). */
function payloadByte(id: number, seq: number, k: number): number {
  return (Math.imul(seq, 131) + Math.imul(k, 7) + id * 29 + (k >>> 8)) & 0xff;
}

function buildFrame(dst: Uint8Array, src: Uint8Array, id: number, seq: number, length: number): Uint8Array {
  const f = new Uint8Array(length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = RAW_ETHERTYPE >>> 8;
  f[13] = RAW_ETHERTYPE & 0xff;
  new DataView(f.buffer).setUint32(14, seq, false);
  f[18] = length >>> 8;
  f[19] = length & 0xff;
  for (let k = 20; k < length; k++) f[k] = payloadByte(id, seq, k);
  return f;
}

/** Check a received frame; returns its sequence number, or −1 when damaged. */
function checkFrame(f: Uint8Array, id: number, me: Uint8Array, peer: Uint8Array): number {
  if (f.length < 20) return -1;
  for (let i = 0; i < 6; i++) if (f[i] !== me[i] || f[6 + i] !== peer[i]) return -1;
  if (((f[12]! << 8) | f[13]!) !== RAW_ETHERTYPE) return -1;
  const seq = new DataView(f.buffer, f.byteOffset).getUint32(14, false);
  const length = (f[18]! << 8) | f[19]!;
  // Frames shorter than 60 were padded by the driver; the receiver sees the padded length.
  if (length !== f.length && !(length < 60 && f.length === 60)) return -1;
  for (let k = 20; k < length; k++) if (f[k] !== payloadByte(id, seq, k)) return -1;
  return seq;
}

export function runRawEthernet(world: World, params: RawEthernetParams = {}): RawEthernetRun {
  const total = params.frames ?? 10_000;
  const sizeMin = params.sizeMin ?? 60;
  const sizeMax = params.sizeMax ?? 1514;
  const segment = new EthernetSegment(world, {
    name: 'ether0',
    faults: {
      loss: params.loss ?? 0.01,
      corrupt: params.corrupt ?? 0,
      ...(params.duplicate !== undefined && params.duplicate > 0 ? { duplicate: params.duplicate } : {}),
      ...(params.reorder !== undefined && params.reorder > 0 ? { reorder: params.reorder, reorderDelayNsMax: 1_000_000 } : {}),
    },
  });
  const n = params.hosts ?? 2;
  const names = Array.from({ length: n }, (_, i) => `ws-${String.fromCharCode(97 + i)}`);
  const stations: RawStation[] = names.map((name, i) => {
    const host = world.addHost(name);
    const mac = new Uint8Array([0x08, 0x00, 0x2b, 0x00, 0x00, 0x10 + i]);
    const board = new PmadAa({ name, sched: world.sched, trace: world.trace, costs: world.costs, mac });
    board.attachInterrupt(host.installOption(SLOT, board));
    board.connect(segment, name);
    world.captureEthernet(segment, name, name);
    const kernel = world.bootKernel(host);
    const env: DriverEnv = kernel; // the kernel is the drivers' environment
    const driver = new LanceDriver(env, { slot: SLOT, slotBase: host.slotBase(SLOT) });
    return {
      name, host, kernel, board, driver, mac,
      sent: 0, txDone: 0, txFailed: 0, received: 0, corruptDelivered: 0, outOfOrder: 0, lastSeq: -1, lastRxNs: 0,
    };
  });
  const pcaps = new Map<string, PcapWriter>();
  if (params.pcapDir !== undefined) {
    for (const s of stations) {
      const w = new PcapWriter(LINKTYPE_ETHERNET);
      attachPcap(segment, s.name, w);
      pcaps.set(s.name, w);
    }
  }

  // The frames split as evenly as they go, the first stations taking one more.
  const perHost = names.map((_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
  let firstTxNs = -1;
  stations.forEach((s, id) => {
    const peer = stations[(id + 1) % n]!;
    const from = (id + n - 1) % n;
    const sender = stations[from]!;
    const sizes = world.rng.fork(`raw-ethernet.${s.name}.sizes`);
    const quota = perHost[id]!;
    const pump = (): void => {
      while (s.sent < quota && s.driver.txSlotsFree > 0 && s.driver.isRunning) {
        const length = sizes.int(sizeMin, sizeMax + 1);
        if (!s.driver.transmit(buildFrame(peer.mac, s.mac, id, s.sent, length))) break;
        if (firstTxNs < 0) firstTxNs = s.host.cpu.localNow();
        s.sent++;
      }
    };
    s.driver.onTransmitDone = (d) => {
      s.txDone++;
      if (!d.ok) s.txFailed++;
      pump();
    };
    s.driver.onFrame = (f) => {
      const seq = checkFrame(f, from, s.mac, sender.mac);
      if (seq < 0) {
        s.corruptDelivered++;
        return;
      }
      if (seq <= s.lastSeq) s.outOfOrder++;
      s.lastSeq = seq;
      s.received++;
      s.lastRxNs = s.host.cpu.localNow();
    };
    s.kernel.postKernelWork(function* () {
      if ((yield* s.driver.attach()) && (yield* s.driver.init())) pump();
    });
  });

  const done = (): boolean => stations.every((s, id) => s.txDone >= perHost[id]!) && segment.ports.every((p) => !p.busy && p.deliveries.length === 0);
  const outcome = world.sched.runUntil(done, { nsMax: params.nsMax ?? 120_000_000_000 });
  // Let the last frames' interrupts finish.
  world.sched.runFor(msToNs(5));

  const framesSent = stations.reduce((a, s) => a + s.sent, 0);
  const framesReceived = stations.reduce((a, s) => a + s.received, 0);
  const lostOnWire = segment.ports.reduce((a, p) => a + p.counters.framesLostInbound, 0);
  const crcErrors = stations.reduce((a, s) => a + s.driver.counters.rxCrcErrors, 0);
  const missed = stations.reduce((a, s) => a + s.board.chip.stats.framesMissed, 0);
  // A bit flip in the destination address makes the chip's filter reject the frame.
  const filtered = stations.reduce((a, s) => a + s.board.chip.stats.framesFiltered + s.board.chip.stats.runtsDropped, 0);
  const txFailed = stations.reduce((a, s) => a + s.txFailed, 0);
  const rxOtherErrors = stations.reduce((a, s) => a + s.driver.counters.rxErrors - s.driver.counters.rxCrcErrors + s.corruptDelivered, 0);
  const framesDropped = framesSent - framesReceived;
  const collisions = segment.ports.reduce((a, p) => a + p.counters.collisions, 0);
  const bytesReceived = stations.reduce((a, s) => a + s.driver.counters.bytesReceived, 0);
  const lastRx = Math.max(...stations.map((s) => s.lastRxNs));
  const pcapFiles: string[] = [];
  if (params.pcapDir !== undefined) {
    mkdirSync(params.pcapDir, { recursive: true });
    for (const [name, w] of pcaps) {
      const file = join(params.pcapDir, `${name}.pcap`);
      writeFileSync(file, w.bytes());
      pcapFiles.push(file);
    }
  }
  const results: Results = {
    outcome,
    framesSent,
    framesReceived,
    framesDropped,
    dropped: {
      lostOnWire, crcErrors, missed, filtered, txFailed, rxOtherErrors,
      unexplained: framesDropped - lostOnWire - crcErrors - missed - filtered - txFailed - rxOtherErrors,
    },
    collisions,
    crcErrors,
    outOfOrder: stations.reduce((a, s) => a + s.outOfOrder, 0),
    corruptDelivered: stations.reduce((a, s) => a + s.corruptDelivered, 0),
    throughputMbps: Number(mbps(bytesReceived, lastRx - firstTxNs).toFixed(3)),
    elapsedNs: lastRx - firstTxNs,
    hosts: stations.map((s) => ({
      host: s.name,
      sent: s.sent,
      received: s.received,
      txOneCollision: s.driver.counters.txOneCollision,
      txMoreCollisions: s.driver.counters.txMoreCollisions,
      txRetryErrors: s.driver.counters.txRetryErrors,
      txDeferred: s.driver.counters.txDeferred,
      interrupts: s.driver.counters.interrupts,
      reinits: s.driver.counters.reinits,
      cpuBusyNs: s.host.cpu.busyNsTotal,
      pioCycles: s.host.cpu.cyclesByCategory.get('pio') ?? 0,
    })),
    pcapFiles,
  };
  return { results, stations, segment, pcapFiles };
}

const PARAMS: readonly ParamSpec[] = [
  { name: 'frames', type: 'int', default: 10_000, min: 1, max: 1_000_000, unit: 'frames', doc: 'frames sent in all, split evenly between the stations' },
  { name: 'hosts', type: 'int', default: 2, min: 2, max: 16, unit: 'hosts', doc: 'stations on the segment, all sending at once (station i to station i+1, in a ring)' },
  { name: 'sizeMin', type: 'int', default: 60, min: 20, max: 1514, unit: 'bytes', doc: 'smallest frame (header included, FCS not); sizes are uniform in [sizeMin, sizeMax]' },
  { name: 'sizeMax', type: 'int', default: 1514, min: 20, max: 1514, unit: 'bytes', doc: 'largest frame (header included, FCS not)' },
  ...FAULT_PARAMS.map((f) => (f.name === 'loss' ? { ...f, default: 0.01 } : f)),
];

export const rawEthernetScenario: Scenario = {
  name: 'raw-ethernet',
  summary: 'two hosts exchange 10,000 raw frames through PMAD-AA LANCE drivers on a 10 Mb/s CSMA/CD segment with 1 % loss',
  params: PARAMS,
  checkParams: (v) => ((v['sizeMin'] as number) > (v['sizeMax'] as number) ? `sizeMin ${String(v['sizeMin'])} > sizeMax ${String(v['sizeMax'])}` : undefined),
  run(world, options) {
    const p = paramReader(PARAMS, options.params);
    const faults = faultsOf(p) ?? {};
    const frames = p.num('frames');
    return runRawEthernet(world, {
      frames,
      hosts: p.num('hosts'),
      sizeMin: p.num('sizeMin'),
      sizeMax: p.num('sizeMax'),
      loss: faults.loss ?? 0,
      corrupt: faults.corrupt ?? 0,
      ...(faults.duplicate !== undefined ? { duplicate: faults.duplicate } : {}),
      ...(faults.reorder !== undefined ? { reorder: faults.reorder } : {}),
      // 12 ms a frame covers 16 stations' worst backoff; never reached by the default run (120 s).
      nsMax: Math.max(120_000_000_000, frames * 12_000_000),
    }).results;
  },
};
