/**
 * `raw-an1`: two DECstation 5000/200s on a switchless 100 Mb/s AN1 segment (P §4), each with an
 * AN1 controller in TURBOchannel slot 1 running the BQI firmware and the kernel's AN1 driver.
 * Kernel-level raw traffic, no protocols: host A sends `frames` frames at line rate to host B
 * (and B to A when `bidirectional`), cycling the link header's DST_BQI through enabled,
 * disabled and out-of-range BQIs. Each receiver checks every frame: intact, in order, and in a
 * buffer of the ring its BQI names (BQI 0's kernel ring when that BQI is disabled or unknown).
 *
 * Physical memory comes from the kernel's frame allocator as wired kernel objects
 * (`kernel.createWiredObject`): 64 pages for the driver's BQI 0 ring, 32 transmit pages, and
 * 64 pages per enabled BQI (stand-ins for the wired shared regions the network I/O module will
 * post).
 *
 * Results: framesSent, framesReceived, framesDropped, misdelivered, throughputMbps (payload
 * bits over first transmit → last receive), clockTicksPerUs (measured by a guest task that reads
 * the AN1 clock page the kernel mapped read-only into it (P §4), against the kernel's ns clock
 * over a 1 s sleep), plus counters.
 * `--pcap DIR` writes an1-<host>.pcap per interface (LINKTYPE_USER0; tools/wireshark/an1.lua).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LinkSide } from '../../emulator/net/an1-link.ts';
import type { FaultConfig } from '../../emulator/net/faults.ts';
import { LINKTYPE_USER0, PcapWriter } from '../../emulator/net/pcap.ts';
import { mbps, msToNs } from '../../emulator/sim/time.ts';
import { AN1_PAGE_BYTES } from '../../kernel/dev/an1/an1-driver.ts';
import type { GuestContext, GuestThread } from '../../kernel/abi/guest.ts';
import type { TrapResult } from '../../kernel/abi/syscalls.ts';
import type { Kernel } from '../../kernel/kernel.ts';
import type { World } from '../world.ts';
import { addAn1Host, AN1_SLOT, connectAn1, type An1Host } from './hosts.ts';
import { FAULT_PARAMS, faultsOf, paramReader, type ParamSpec } from './params.ts';
import type { Results, Scenario } from './types.ts';

const HEADER = 20;
const TX_PAGES = 32;
const RING_SLOTS = 64;
/** Experimental EtherType (IEEE 802 local experimental 1) marking raw test frames. */
const RAW_ETHERTYPE = 0x88b5;

// ---- Raw traffic -----------------------------------------------------------------------------

export interface RawAn1Options {
  readonly frames: number;
  /** Payload bytes after the 20-byte link header (≤ 1500 with the default MAXFRAME). */
  readonly payloadBytes: number;
  readonly bidirectional: boolean;
  /** BQIs each receiver enables (besides BQI 0). */
  readonly enabledBqis: readonly number[];
  /** DST_BQI values the senders cycle through. */
  readonly bqiPattern: readonly number[];
  readonly faults?: readonly [FaultConfig, FaultConfig];
  readonly pcapDir?: string;
}

export const RAW_AN1_DEFAULTS: RawAn1Options = {
  frames: 10_000,
  payloadBytes: 1500,
  bidirectional: false,
  enabledBqis: [1, 2, 3],
  bqiPattern: [1, 2, 3, 0, 7, 100],
};

function payloadByte(buffer: number, j: number): number {
  return (buffer * 31 + j * 7 + 11) & 0xff;
}

/** One host's side of the raw test: a transmitter and a checking receiver. */
class RawEndpoint {
  // transmitter
  sent = 0;
  retired = 0;
  private inflight = 0;
  firstTxNs = -1;
  // receiver
  received = 0;
  misdelivered = 0;
  corrupted = 0;
  outOfOrder = 0;
  /** frames missing before this one (lost on a faulty link) */
  gaps = 0;
  redirected = 0;
  batches = 0;
  lastRxNs = -1;
  private nextSeq = 0;
  /** Which ring each receive page belongs to (page physical address → BQI). */
  private readonly ringOfPage = new Map<number, number>();
  private readonly ringPages = new Map<number, readonly number[]>();
  private readonly txPages: readonly number[];

  constructor(
    readonly me: An1Host,
    private readonly peerUid: number,
    private readonly opts: RawAn1Options,
    private readonly toSend: number,
  ) {
    const wired = (pages: number): number[] => {
      const o = me.kernel.createWiredObject(pages);
      if (o === undefined) throw new Error(`${me.name}: out of RAM`);
      return o.physAddrs;
    };
    this.ringPages.set(0, me.driver.kernelBufferPages);
    this.txPages = wired(TX_PAGES);
    for (const bqi of opts.enabledBqis) this.ringPages.set(bqi, wired(RING_SLOTS));
    for (const [bqi, pages] of this.ringPages) for (const p of pages) this.ringOfPage.set(p, bqi);
  }

  /** Kernel-level start: attach the driver, open the BQIs, fill the transmit buffers, go. */
  *start(): Generator<unknown, void, undefined> {
    const d = this.me.driver;
    if (!(yield* d.attach())) throw new Error(`${this.me.name}: no AN1 in slot ${AN1_SLOT}`);
    const handler = {
      frame: (bqi: number, _slot: number, addr: number, length: number, status: number) => this.onFrame(bqi, addr, length, status),
      batchEnd: () => {
        this.batches++;
      },
    };
    d.setReceiveHandler(0, handler);
    for (const bqi of this.opts.enabledBqis) {
      d.configureBqi(bqi, RING_SLOTS);
      d.postBuffers(bqi, this.ringPages.get(bqi)!);
      d.enableBqi(bqi);
      d.setReceiveHandler(bqi, handler);
    }
    // Transmit buffers: payload pattern written once per buffer (kernel-level setup, charged as a copy).
    const ram = this.me.host.ram.bytes;
    const frameBytes = HEADER + this.opts.payloadBytes;
    for (let b = 0; b < TX_PAGES; b++) {
      const at = this.txPages[b]!;
      for (let j = HEADER; j < frameBytes; j++) ram[at + j] = payloadByte(b, j);
    }
    this.me.host.cpu.charge(TX_PAGES * frameBytes, 'copy');
    d.onTransmitDone((retired) => {
      this.retired += retired;
      this.inflight -= retired;
      this.pump();
    });
    this.pump();
  }

  private pump(): void {
    const d = this.me.driver;
    const ram = this.me.host.ram.bytes;
    const frameBytes = HEADER + this.opts.payloadBytes;
    while (this.sent < this.toSend && this.inflight < TX_PAGES) {
      const seq = this.sent;
      const b = seq % TX_PAGES;
      const at = this.txPages[b]!;
      const bqi = this.opts.bqiPattern[seq % this.opts.bqiPattern.length]!;
      writeHeader(ram, at, this.peerUid & 0xffff, bqi, this.peerUid, d.uid);
      // sequence number and intended BQI lead the payload (big-endian)
      ram[at + 20] = seq >>> 24;
      ram[at + 21] = (seq >>> 16) & 0xff;
      ram[at + 22] = (seq >>> 8) & 0xff;
      ram[at + 23] = seq & 0xff;
      this.me.host.cpu.charge(24, 'copy');
      if (!d.transmit(at, frameBytes)) break;
      if (this.firstTxNs < 0) this.firstTxNs = this.me.host.cpu.localNow();
      this.sent++;
      this.inflight++;
    }
  }

  private onFrame(bqi: number, addr: number, length: number, status: number): void {
    const ram = this.me.host.ram.bytes;
    this.received++;
    this.lastRxNs = this.me.host.cpu.localNow();
    const intended = (ram[addr + 2]! << 8) | ram[addr + 3]!;
    const expected = this.ringPages.has(intended) ? intended : 0;
    if (bqi !== expected || this.ringOfPage.get(addr) !== bqi || length > AN1_PAGE_BYTES) this.misdelivered++;
    if (status === 3) this.redirected++;
    const seq = ((ram[addr + 20]! << 24) | (ram[addr + 21]! << 16) | (ram[addr + 22]! << 8) | ram[addr + 23]!) >>> 0;
    if (seq < this.nextSeq) this.outOfOrder++;
    else if (seq > this.nextSeq) this.gaps++;
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
    let intact = length === HEADER + this.opts.payloadBytes && (status === 0 || status === 3);
    const b = seq % TX_PAGES;
    for (let j = 24; intact && j < length; j++) if (ram[addr + j] !== payloadByte(b, j)) intact = false;
    if (!intact) this.corrupted++;
    this.me.driver.postBuffers(bqi, [addr]);
  }
}

export function writeHeader(ram: Uint8Array, at: number, dstShort: number, dstBqi: number, dstUid: number, srcUid: number, spare = 0): void {
  ram[at] = dstShort >>> 8;
  ram[at + 1] = dstShort & 0xff;
  ram[at + 2] = dstBqi >>> 8;
  ram[at + 3] = dstBqi & 0xff;
  for (let i = 0; i < 6; i++) {
    ram[at + 4 + i] = Math.floor(dstUid / 2 ** (8 * (5 - i))) & 0xff;
    ram[at + 10 + i] = Math.floor(srcUid / 2 ** (8 * (5 - i))) & 0xff;
  }
  ram[at + 16] = RAW_ETHERTYPE >>> 8;
  ram[at + 17] = RAW_ETHERTYPE & 0xff;
  ram[at + 18] = spare >>> 8;
  ram[at + 19] = spare & 0xff;
}

/** Interval over which the guest clock reader measures ticks per µs. */
const CLOCK_SLEEP_NS = 1_000_000_000;

/**
 * A guest program: read the mapped AN1 clock page (`params.clockPage`, a task address), then the
 * kernel's ns clock; sleep; read both again; log "clock <ticks> <ns>". The same read-then-trap
 * order at both ends makes the fixed offset between the two reads cancel.
 */
function* clockReader(ctx: GuestContext): GuestThread {
  const va = Number(ctx.params['clockPage']);
  const sleepNs = Number(ctx.params['sleepNs']);
  const c0 = ctx.mem.read32(va);
  const r0: TrapResult = yield { sys: 'clock_get_ns' };
  yield { sys: 'thread_sleep_ns', ns: sleepNs };
  const c1 = ctx.mem.read32(va);
  const r1: TrapResult = yield { sys: 'clock_get_ns' };
  const ns0 = 'ns' in r0 ? r0.ns : 0;
  const ns1 = 'ns' in r1 ? r1.ns : 0;
  yield { sys: 'debug_log', text: `clock ${(c1 - c0) >>> 0} ${ns1 - ns0}` };
}

export function runRawAn1(world: World, opts: RawAn1Options): Results {
  const uids = [0x08002b_a10001, 0x08002b_a10002];
  const a = addAn1Host(world, 'ws-a', uids[0]!);
  const b = addAn1Host(world, 'ws-b', uids[1]!);
  const link = connectAn1(world, a, b, opts.faults);
  const captures: PcapWriter[] = [];
  if (opts.pcapDir !== undefined) {
    for (const side of [0, 1] as LinkSide[]) {
      const w = new PcapWriter(LINKTYPE_USER0);
      link.capture(side, w);
      captures.push(w);
    }
  }
  const ea = new RawEndpoint(a, uids[1]!, opts, opts.frames);
  const eb = new RawEndpoint(b, uids[0]!, opts, opts.bidirectional ? opts.frames : 0);
  // The clock page mapped read-only into a guest task (the task's address goes into its
  // parameters before its first instruction runs, as exec sets up argv).
  const clockParams: Record<string, number> = { clockPage: 0, sleepNs: CLOCK_SLEEP_NS };
  const clockTask = a.kernel.spawn('an1-clock', clockReader, { params: clockParams });
  const mapped = a.kernel.mapDevicePage(clockTask, a.driver.clockPagePhysAddr());
  clockParams['clockPage'] = mapped.address;
  a.kernel.postKernelWork(() => ea.start());
  b.kernel.postKernelWork(() => eb.start());

  const expected = opts.frames * (opts.bidirectional ? 2 : 1);
  const limit = { nsMax: opts.frames * 250_000 + msToNs(50) };
  const outcome = world.sched.runUntil(() => ea.retired + eb.retired >= expected && ea.received + eb.received >= expected, limit);
  if (outcome !== 'done') world.sched.runFor(msToNs(1)); // lossy runs: let the last frames land
  world.sched.runUntil(() => !clockTask.alive, { nsMax: CLOCK_SLEEP_NS + msToNs(100) });
  const clockLine = /^clock (\d+) (\d+)$/.exec(clockTask.log.find((l) => l.startsWith('clock ')) ?? '');
  const clockTicksPerUs = clockLine === null ? -1 : Number(clockLine[1]) / (Number(clockLine[2]) / 1000);

  if (opts.pcapDir !== undefined) {
    mkdirSync(opts.pcapDir, { recursive: true });
    captures.forEach((w, i) => writeFileSync(join(opts.pcapDir!, `an1-${i === 0 ? a.name : b.name}.pcap`), w.bytes()));
  }
  const ends = [ea, eb];
  const received = ea.received + eb.received;
  const sent = ea.sent + eb.sent;
  const dropsBoard = a.driver.stats.drops + b.driver.stats.drops + a.driver.stats.overruns + b.driver.stats.overruns;
  const dropsWire = link.counters(0).faults.dropped + link.counters(1).faults.dropped;
  const firstTx = Math.min(...ends.filter((e) => e.firstTxNs >= 0).map((e) => e.firstTxNs));
  const lastRx = Math.max(...ends.map((e) => e.lastRxNs));
  return {
    outcome,
    framesSent: sent,
    framesReceived: received,
    framesDropped: dropsBoard + dropsWire + a.driver.stats.rxErrs + b.driver.stats.rxErrs,
    misdelivered: ea.misdelivered + eb.misdelivered,
    corrupted: ea.corrupted + eb.corrupted,
    outOfOrder: ea.outOfOrder + eb.outOfOrder,
    sequenceGaps: ea.gaps + eb.gaps,
    redirectedToBqi0: ea.redirected + eb.redirected,
    throughputMbps: Math.round(mbps(received * opts.payloadBytes, lastRx - firstTx) * 1000) / 1000,
    clockTicksPerUs: Math.round(clockTicksPerUs * 1000) / 1000,
    clockTicks: clockLine === null ? -1 : Number(clockLine[1]),
    clockIntervalNs: clockLine === null ? -1 : Number(clockLine[2]),
    clockReadBy: mapped.kr === 0 ? 'guest task, clock page mapped read-only' : `mapping failed (kr ${mapped.kr})`,
    framesPerBatch: Math.round((received / Math.max(1, ea.batches + eb.batches)) * 1000) / 1000,
    hosts: ends.map((e) => ({
      host: e.me.name,
      sent: e.sent,
      received: e.received,
      interrupts: e.me.driver.stats.interrupts,
      rxBatches: e.me.driver.stats.rxBatches,
      boardDrops: e.me.driver.stats.drops,
      overruns: e.me.driver.stats.overruns,
      rxErrs: e.me.driver.stats.rxErrs,
      firmwareUsPerFrame:
        e.me.controller.stats.firmwareSteps === 0
          ? 0
          : Math.round(((e.me.controller.stats.firmwareCycles * 40) / 1000 / Math.max(1, e.me.controller.stats.framesArrived + e.me.controller.stats.framesSent)) * 1000) / 1000,
      cpuBusyPercent: Math.round((e.me.host.cpu.busyNsTotal / Math.max(1, world.sched.now)) * 10000) / 100,
      // host CPU in interrupt entry + driver PIO + driver bookkeeping, per frame sent or received
      driverUsPerFrame:
        Math.round(
          ((['interrupt', 'pio', 'an1'].reduce((sum, k) => sum + (e.me.host.cpu.cyclesByCategory.get(k) ?? 0), 0) * 40) / 1000 / Math.max(1, e.sent + e.received)) * 1000,
        ) / 1000,
    })),
    pcapFiles: opts.pcapDir !== undefined ? [`an1-${a.name}.pcap`, `an1-${b.name}.pcap`] : [],
  };
}

const PARAMS: readonly ParamSpec[] = [
  { name: 'frames', type: 'int', default: RAW_AN1_DEFAULTS.frames, min: 1, max: 1_000_000, unit: 'frames', doc: 'frames host A sends (and host B, when bidirectional)' },
  { name: 'payloadBytes', type: 'int', default: RAW_AN1_DEFAULTS.payloadBytes, min: 4, max: 1500, unit: 'bytes', doc: 'payload after the 20-byte link header' },
  { name: 'bidirectional', type: 'bool', default: RAW_AN1_DEFAULTS.bidirectional, unit: '', doc: 'host B sends as many frames to A at the same time' },
  ...FAULT_PARAMS,
];

export const rawAn1Scenario: Scenario = {
  name: 'raw-an1',
  summary: 'two hosts on a 100 Mb/s AN1 link: 10,000 raw frames at line rate through BQI rings, checked',
  params: PARAMS,
  run(world, options) {
    const p = paramReader(PARAMS, options.params);
    const faults = faultsOf(p);
    return runRawAn1(world, {
      ...RAW_AN1_DEFAULTS,
      frames: p.num('frames'),
      payloadBytes: p.num('payloadBytes'),
      bidirectional: p.bool('bidirectional'),
      ...(faults !== undefined ? { faults: [faults, faults] as const } : {}),
    });
  },
};
