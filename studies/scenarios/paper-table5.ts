/**
 * `paper-table5`: the paper's Table 5 (P §4 "Packet Demultiplexing Tradeoffs") on the emulator:
 * host CPU time to demultiplex one incoming packet, "copy and DMA costs ... not included", "the
 * cost of device management code inherent to packet demultiplexing ... included".
 *
 * Both links: host A sends TCP/IP frames (1514 bytes on the wire's data, kernel-level, no
 * channel) one every millisecond, so each receive interrupt carries one frame; host B's network
 * I/O module delivers them into a channel (Ethernet: software demultiplexing on the TCP 4-tuple;
 * AN1: the channel's BQI) owned by a sink task that consumes them and hands slots back.
 *
 * Measured on B from the CPU cost accounting over the measured phase (no constants summed by
 * hand): cycles charged to `interrupt` (entry/exit), the driver (`driver` LANCE / `an1`), `pio`
 * (register and descriptor accesses; on Ethernet also the header bytes read to classify) and
 * `netio` (classify, lookup, ring bookkeeping, semaphore signal, buffer re-post), minus the PIO
 * cycles of copying the rest of the frame into the slot (the module measures them), per frame.
 * Not included: the sink's own traps, semaphore wait, context switches and user cycles.
 */
import { msToNs } from '../../emulator/sim/time.ts';
import type { Task } from '../../kernel/kernel.ts';
import { NETIO_LINK } from '../../kernel/abi/netio.ts';
import { rawSink } from '../../userland/apps/raw-exchange.ts';
import { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import { Priority } from '../../emulator/sim/scheduler.ts';
import type { CpuPort } from '../../emulator/bus/index.ts';
import type { World } from '../world.ts';
import { addNetioAn1Host, addNetioEthernetHost, connectAn1 } from './hosts.ts';
import { writeHeader } from './raw-an1.ts';
import { linksParam, paramReader, type ParamSpec } from './params.ts';
import type { Results, Scenario } from './types.ts';

const IP_A = 0x0a000001;
const IP_B = 0x0a000002;
const PORT_A = 1024;
const PORT_B = 5001;
const GAP_NS = 1_000_000;

/** An IPv4/TCP frame after a link header of `l` bytes (A → B, no checksums: nobody checks them here). */
function tcpFrame(frame: Uint8Array, l: number): void {
  const v = new DataView(frame.buffer, frame.byteOffset);
  frame[l] = 0x45;
  v.setUint16(l + 2, frame.length - l);
  frame[l + 8] = 64;
  frame[l + 9] = 6;
  v.setUint32(l + 12, IP_A);
  v.setUint32(l + 16, IP_B);
  v.setUint16(l + 20, PORT_A);
  v.setUint16(l + 22, PORT_B);
  frame[l + 32] = 0x50;
}

const DEMUX_CATEGORIES = ['interrupt', 'driver', 'an1', 'pio', 'netio'] as const;

function snapshot(cpu: CpuPort): number {
  return DEMUX_CATEGORIES.reduce((s, k) => s + (cpu.cyclesByCategory.get(k) ?? 0), 0);
}

function byCategory(cpu: CpuPort, before: ReadonlyMap<string, number>, frames: number): Results {
  const out: Record<string, number> = {};
  for (const k of DEMUX_CATEGORIES) {
    const d = (cpu.cyclesByCategory.get(k) ?? 0) - (before.get(k) ?? 0);
    if (d > 0) out[k] = Math.round(((d * 40) / 1000 / frames) * 100) / 100;
  }
  return out;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

function sinkParams(channel: number, address: number, sem: number, frames: number): Record<string, number> {
  return { channel, address, sem, frames, idleNs: 20_000_000 };
}

/** Ethernet: software demultiplexing in the LANCE receive path. */
export function runLanceDemux(world: World, frames = 200, gapNs = GAP_NS): Results {
  const seg = new EthernetSegment(world, { name: 'ether5' });
  const a = addNetioEthernetHost(world, seg, 't5-ea', Uint8Array.of(8, 0, 0x2b, 0, 5, 1), false);
  const b = addNetioEthernetHost(world, seg, 't5-eb', Uint8Array.of(8, 0, 0x2b, 0, 5, 2));
  world.sched.runUntil(() => a.up && b.up, { nsMax: msToNs(10) });
  const p: Record<string, number> = {};
  const sink: Task = b.kernel.spawn('sink', rawSink, { params: p });
  const c = b.netio.createChannel(sink, sink, 'ethernet', 32, 1, {
    demux: { kind: 'tcp', remoteIp: IP_A, localIp: IP_B, remotePort: PORT_A, localPort: PORT_B },
    isDefault: false,
    template: [],
  });
  Object.assign(p, sinkParams(c.name, c.address, c.sem, frames));
  const frame = new Uint8Array(1514);
  frame.set(b.mac, 0);
  frame.set(a.mac, 6);
  frame[12] = 0x08;
  tcpFrame(frame, 14);
  return measure(world, b.host.cpu, frames, gapNs, sink, (send) => a.kernel.postKernelWork(() => send(a.driver.transmit(frame))), () => {
    const s = b.netio.stats;
    return { copyCycles: s.rxCopyPioCycles, delivered: s.rxDelivered, headerPioUs: round2((s.rxHeaderPioCycles * 40) / 1000 / Math.max(1, s.rxDelivered)) };
  });
}

/** AN1: the BQI names the channel's ring; the controller DMAs; the module records and re-posts. */
export function runAn1Demux(world: World, frames = 200, gapNs = GAP_NS): Results {
  const a = addNetioAn1Host(world, 't5-aa', 0x08002b_a50001);
  const b = addNetioAn1Host(world, 't5-ab', 0x08002b_a50002);
  connectAn1(world, a, b);
  world.sched.runUntil(() => a.up && b.up, { nsMax: msToNs(10) });
  const p: Record<string, number> = {};
  const sink: Task = b.kernel.spawn('sink', rawSink, { params: p });
  const c = b.netio.createChannel(sink, sink, 'an1', 32, 1, { demux: { kind: 'none' }, isDefault: false, template: [] });
  Object.assign(p, sinkParams(c.name, c.address, c.sem, frames));
  const txPage = a.kernel.createWiredObject(1)!.physAddrs[0]!;
  const ram = a.host.ram.bytes;
  const frame = new Uint8Array(1520);
  tcpFrame(frame, 20);
  ram.set(frame, txPage);
  writeHeader(ram, txPage, b.driver.uid & 0xffff, c.bqi, b.driver.uid, a.driver.uid);
  ram[txPage + 16] = 0x08; // TYPE IPv4
  ram[txPage + 17] = 0x00;
  return {
    bqi: c.bqi,
    link: NETIO_LINK.an1,
    ...measure(world, b.host.cpu, frames, gapNs, sink, (send) => a.kernel.postKernelWork(() => send(a.driver.transmit(txPage, frame.length))), () => ({
      copyCycles: 0,
      delivered: b.netio.stats.rxDelivered,
      desync: b.netio.stats.rxDesync,
    })),
  };
}

/**
 * Send `frames` frames one every GAP_NS (kernel work on the sender), run until the sink has them,
 * and report the receiver's demultiplexing cost per frame from its CPU categories.
 */
function measure(
  world: World,
  cpu: CpuPort,
  frames: number,
  gapNs: number,
  sink: Task,
  sendOne: (done: (ok: boolean) => void) => void,
  module: () => { copyCycles: number; delivered: number } & Record<string, number>,
): Results {
  world.sched.runUntil(() => sink.threads[0]?.state.kind === 'blocked', { nsMax: msToNs(10) });
  const before = new Map(cpu.cyclesByCategory);
  const total0 = snapshot(cpu);
  const copy0 = module().copyCycles;
  const delivered0 = module().delivered;
  let sent = 0;
  const tick = world.sched.createEvent('t5.sender', Priority.timer, () => {
    sendOne(() => undefined);
    sent++;
    if (sent < frames) world.sched.schedule(tick, world.sched.now + gapNs);
  });
  world.sched.schedule(tick, world.sched.now + gapNs);
  const outcome = world.sched.runUntil(() => !sink.alive, { nsMax: frames * gapNs + msToNs(100) });
  const m = module();
  const n = Math.max(1, m.delivered - delivered0);
  const cycles = snapshot(cpu) - total0 - (m.copyCycles - copy0);
  return {
    outcome,
    demuxUs: round2((cycles * 40) / 1000 / n),
    framesDelivered: m.delivered - delivered0,
    usPerFrameByCategory: byCategory(cpu, before, n),
    copyPioUsPerFrame: round2(((m.copyCycles - copy0) * 40) / 1000 / n),
    sinkLog: sink.log.join(' '),
    ...Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'copyCycles' && k !== 'delivered')),
  };
}

const PARAMS: readonly ParamSpec[] = [
  linksParam('links to measure: Ethernet = LANCE software demultiplexing, AN1 = hardware BQI'),
  { name: 'frames', type: 'int', default: 200, min: 1, max: 100_000, unit: 'frames', doc: 'frames demultiplexed (the cost is their mean)' },
  { name: 'gapUs', type: 'int', default: GAP_NS / 1000, min: 100, max: 1_000_000, unit: 'µs', doc: 'time between frames (long enough that each interrupt carries one frame)' },
];

export const paperTable5Scenario: Scenario = {
  name: 'paper-table5',
  summary: 'P Table 5: host CPU µs to demultiplex one incoming packet, LANCE software vs AN1 hardware BQI (copy and DMA excluded)',
  paper: { lance_ethernet_software: 52, an1_hardware_bqi: 50 },
  paperSection: 'table5_demultiplexing_us',
  params: PARAMS,
  run(world, options) {
    const p = paramReader(PARAMS, options.params);
    const links = p.strs('links');
    const frames = p.num('frames');
    const gapNs = p.num('gapUs') * 1000;
    const lance = links.includes('ethernet') ? runLanceDemux(world, frames, gapNs) : undefined;
    const an1 = links.includes('an1') ? runAn1Demux(world, frames, gapNs) : undefined;
    return {
      ...(lance !== undefined ? { lance_ethernet_software: lance['demuxUs'] as number } : {}),
      ...(an1 !== undefined ? { an1_hardware_bqi: an1['demuxUs'] as number } : {}),
      ...(lance !== undefined ? { lance } : {}),
      ...(an1 !== undefined ? { an1 } : {}),
    };
  },
};
