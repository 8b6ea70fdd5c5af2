/**
 * `paper-table1`: the paper's Table 1 (P §4 "Impact of Mechanisms") on the emulator.
 *
 * user_to_user: two DECstation 5000/200s on an idle 10 Mb/s segment. On each host a privileged
 * broker task (stand-in for the registry server) creates a raw Ethernet channel for the
 * application with net_channel_create and sends it the grant in a Mach message; the sender
 * (userland/apps/raw-exchange.ts) then net_sends maximum-sized frames (1514 bytes) from its
 * channel's transmit area — template check, PIO into the LANCE — and the receiver waits on its
 * channel's semaphore and consumes frames the kernel demultiplexed into its region. Throughput is
 * user data (frame − 14-byte header) over the receiver's first-to-last batch times.
 *
 * standalone_link_saturation: the same two hosts' LANCE drivers with no operating system in the
 * way: a kernel-level loop keeps the transmit ring full of 1514-byte frames; throughput measured
 * the same way at the receiving driver.
 */
import { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import { mbps, msToNs } from '../../emulator/sim/time.ts';
import { channelBroker, rawReceiver, rawSender } from '../../userland/apps/raw-exchange.ts';
import type { World } from '../world.ts';
import { addNetioEthernetHost, logField, macHex } from './hosts.ts';
import { paramReader, type ParamSpec } from './params.ts';
import type { Results, Scenario } from './types.ts';

export const TABLE1_ETHERTYPE = 0x88b5;

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export interface Table1Params {
  readonly frames?: number;
  readonly frameBytes?: number;
  /** log2 of the sender's LANCE transmit ring (driver default 4: 16 descriptors); 0 = one buffer. */
  readonly txRingLog2?: number;
  /** Segment name (a world may hold several runs). */
  readonly segment?: string;
}

/** User-to-user through channels: returns Mb/s of user data and the run's details. */
export function runUserToUser(world: World, params: Table1Params = {}): Results {
  const frames = params.frames ?? 1000;
  const frameBytes = params.frameBytes ?? 1514;
  const seg = params.segment ?? 'ether0';
  const segment = new EthernetSegment(world, { name: seg });
  const a = addNetioEthernetHost(world, segment, `${seg}-a`, Uint8Array.of(0x08, 0x00, 0x2b, 0x00, 0x00, 0x10), true, params.txRingLog2);
  const b = addNetioEthernetHost(world, segment, `${seg}-b`, Uint8Array.of(0x08, 0x00, 0x2b, 0x00, 0x00, 0x11));
  world.sched.runUntil(() => a.up && b.up, { nsMax: msToNs(10) });
  const common = { frames, frameBytes, etherType: TABLE1_ETHERTYPE };
  const sender = a.kernel.spawn('raw-sender', rawSender, { params: { ...common, service: 'raw-sender', dst: macHex(b.mac), src: macHex(a.mac) } });
  const receiver = b.kernel.spawn('raw-receiver', rawReceiver, { params: { ...common, service: 'raw-receiver', idleNs: 50_000_000 } });
  const brokers = [
    [a, sender, b, 'raw-sender'],
    [b, receiver, a, 'raw-receiver'],
  ] as const;
  const brokerTasks = brokers.map(([me, app, peer, service]) => {
    const p: Record<string, number | string> = { apps: 1, etherType: TABLE1_ETHERTYPE, service0: service, dst0: macHex(peer.mac), src0: macHex(me.mac), rxSlots: 32, txPages: 1 };
    const broker = me.kernel.spawn('broker', channelBroker, { params: p, privileged: true });
    // The broker holds the application's task port (as the registry server would, from the
    // application's request message); its name goes into the broker's parameters before it runs.
    p['task0'] = me.kernel.insertSendRight(broker, app.selfPort!).name;
    return broker;
  });
  // The receiver must be waiting before the first frame: start the sender once it said "ready".
  const outcome = world.sched.runUntil(() => !sender.alive && !receiver.alive, { nsMax: frames * 5_000_000 + msToNs(500) });
  const received = logField(receiver, 'received');
  const bytes = logField(receiver, 'bytes');
  const spanNs = logField(receiver, 'lastNs') - logField(receiver, 'firstNs');
  return {
    outcome,
    user_to_user: round3(mbps(bytes, spanNs)),
    framesSent: logField(sender, 'sent'),
    framesRefused: logField(sender, 'refused'),
    framesReceived: received,
    framesBad: logField(receiver, 'bad'),
    brokerLogs: brokerTasks.flatMap((t) => t.log),
    senderBlocked: a.netio.stats.txBlocked,
    receiverBatches: b.netio.stats.rxBatches,
    framesPerSignal: round3(b.netio.stats.rxDelivered / Math.max(1, b.netio.stats.rxBatches)),
    rxDropRingFull: b.netio.stats.rxDropRingFull,
    rxDropNoChannel: b.netio.stats.rxDropNoChannel,
    collisions: segment.ports.reduce((s, p) => s + p.counters.collisions, 0),
    senderCpuBusyPercent: round3((100 * a.host.cpu.busyNsTotal) / Math.max(1, world.sched.now)),
    receiverCpuBusyPercent: round3((100 * b.host.cpu.busyNsTotal) / Math.max(1, world.sched.now)),
  };
}

/** A kernel-level loop keeps the LANCE transmit ring full: link saturation with no OS in the way. */
export function runStandalone(world: World, params: Table1Params = {}): Results {
  const frames = params.frames ?? 1000;
  const frameBytes = params.frameBytes ?? 1514;
  const segment = new EthernetSegment(world, { name: 'ether1' });
  const a = addNetioEthernetHost(world, segment, 'sa-a', Uint8Array.of(0x08, 0x00, 0x2b, 0x00, 0x01, 0x10), false);
  const b = addNetioEthernetHost(world, segment, 'sa-b', Uint8Array.of(0x08, 0x00, 0x2b, 0x00, 0x01, 0x11), false);
  world.sched.runUntil(() => a.up && b.up, { nsMax: msToNs(10) });
  const frame = new Uint8Array(frameBytes);
  frame.set(b.mac, 0);
  frame.set(a.mac, 6);
  frame[12] = TABLE1_ETHERTYPE >>> 8;
  frame[13] = TABLE1_ETHERTYPE & 0xff;
  let sent = 0;
  let received = 0;
  let firstNs = -1;
  let lastNs = -1;
  let bytesAfterFirst = 0;
  const pump = (): void => {
    while (sent < frames && a.driver.txSlotsFree > 0 && a.driver.transmit(frame)) sent++;
  };
  a.driver.onTransmitDone = () => pump();
  b.driver.onFrame = (f) => {
    const now = b.host.cpu.localNow();
    if (firstNs < 0) firstNs = now;
    else bytesAfterFirst += f.length - 14;
    lastNs = now;
    received++;
  };
  a.kernel.postKernelWork(pump);
  const outcome = world.sched.runUntil(() => received >= frames, { nsMax: frames * 5_000_000 });
  return { outcome, standalone_link_saturation: round3(mbps(bytesAfterFirst, lastNs - firstNs)), framesSent: sent, framesReceived: received };
}

const PARAMS: readonly ParamSpec[] = [
  { name: 'frames', type: 'int', default: 1000, min: 2, max: 1_000_000, unit: 'frames', doc: 'frames each run sends (user-to-user and standalone)' },
  { name: 'frameBytes', type: 'int', default: 1514, min: 60, max: 1514, unit: 'bytes', doc: 'frame size, 14-byte header included (FCS not)' },
  { name: 'oneTxBuffer', type: 'bool', default: true, unit: '', doc: 'also run user-to-user with one LANCE transmit buffer (sensitivity, not a paper cell)' },
];

export const paperTable1Scenario: Scenario = {
  name: 'paper-table1',
  summary: "P Table 1: user-to-user raw Ethernet throughput through network I/O channels vs standalone link saturation (Mb/s)",
  paper: { user_to_user: 8.5, standalone_link_saturation: 9.6, percentage: 89 },
  paperSection: 'table1_mechanism_throughput_mbps',
  params: PARAMS,
  run(world, options) {
    const p = paramReader(PARAMS, options.params);
    const size = { frames: p.num('frames'), frameBytes: p.num('frameBytes') };
    const u = runUserToUser(world, size);
    const s = runStandalone(world, size);
    // Sensitivity, not calibration: the same run with one LANCE transmit buffer, so the PIO copy
    // of frame n+1 can no longer overlap the wire time of frame n (docs/calibration.md).
    const one = p.bool('oneTxBuffer') ? runUserToUser(world, { ...size, txRingLog2: 0, segment: 'ether2' }) : undefined;
    const uu = u['user_to_user'] as number;
    const sa = s['standalone_link_saturation'] as number;
    return {
      user_to_user: uu,
      standalone_link_saturation: sa,
      percentage: Math.round((1000 * uu) / sa) / 10,
      ...(one !== undefined ? { user_to_user_one_tx_buffer: one['user_to_user'] as number } : {}),
      userToUserRun: u,
      standaloneRun: s,
    };
  },
};
