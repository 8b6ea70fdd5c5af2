/**
 * Campaign family `netio`: the network I/O module's protection properties with generated
 * adversarial tasks (issue 6; test/netio/protection.property.test.ts runs these scenarios as
 * fast-check properties, with longer programs). Three scenarios in
 * four: two tasks on Ethernet host A, each holding two channels (task 1 one with another
 * station's identity), run generated programs of real traps and memory accesses — header writes
 * (own template, another's, random, one bit flipped), sends with own, foreign, random and
 * privileged names in and out of range, closes, revocations at B, vm_map on every kind of name.
 * - impersonation: every frame that left A carries a template granted to its sender; a send
 *   succeeds exactly when an oracle independent of the compiled matcher says it should (own live
 *   channel, good range and length, header equal to the template field by field);
 * - isolation: vm_map maps exactly the task's own live region; no task maps a page of a channel
 *   it does not own; each keyed channel at B holds only frames of its key; nothing more is
 *   delivered after revocation;
 * - accounting: at B every frame that arrived went to one channel, the default one or a counter.
 * One in four: on AN1, a second thread rewrites the header continuously while frames wait for
 * DMA; every frame that leaves carries the checked header.
 */
import { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import type { PcapWriter } from '../../emulator/net/pcap.ts';
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import type { NetioChannelSpec } from '../../kernel/abi/netio.ts';
import type { Task } from '../../kernel/kernel.ts';
import type { Channel } from '../../kernel/netio/netio.ts';
import { sys } from '../../userland/mach/syscalls.ts';
import { addNetioAn1Host, addNetioEthernetHost, connectAn1 } from '../scenarios/hosts.ts';
import { World } from '../world.ts';
import { CAMPAIGN_RAM_BYTES } from './check.ts';
import type { Checks } from './check.ts';
import type { Draw } from './draw.ts';

const MAC_A = Uint8Array.of(8, 0, 0x2b, 0, 0, 0xa);
const MAC_B = Uint8Array.of(8, 0, 0x2b, 0, 0, 0xb);
const MAC_C = Uint8Array.of(8, 0, 0x2b, 0, 0, 0xc);
const RX = 8;
const txOffset = (rxSlots: number): number => (1 + rxSlots) * 4096;
const TX_AT = txOffset(RX);

interface Tmpl {
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly et: number;
}
const T: readonly Tmpl[] = [
  { dst: MAC_B, src: MAC_A, et: 0x88b5 },
  { dst: MAC_B, src: MAC_A, et: 0x88b6 },
  { dst: MAC_B, src: MAC_C, et: 0x88b5 }, // another station's identity, granted to task 1 only
];
const header = (t: Tmpl): Uint8Array => {
  const h = new Uint8Array(14);
  h.set(t.dst, 0);
  h.set(t.src, 6);
  h[12] = t.et >>> 8;
  h[13] = t.et & 0xff;
  return h;
};
const specOf = (t: Tmpl, inKey: Uint8Array | undefined): NetioChannelSpec => ({
  demux: inKey === undefined ? { kind: 'none' } : { kind: 'raw', etherType: t.et, srcMac: inKey },
  isDefault: false,
  template: [
    { offset: 0, bytes: t.dst },
    { offset: 6, bytes: t.src },
    { offset: 12, bytes: Uint8Array.of(t.et >>> 8, t.et & 0xff) },
  ],
});
const sameHeader = (a: Uint8Array, b: Uint8Array): boolean => a.length >= 14 && b.every((x, i) => a[i] === x);

type Hdr = { k: 'own' } | { k: 'tmpl'; i: number } | { k: 'random'; bytes: Uint8Array } | { k: 'flip'; byte: number };
type NameKind = { k: 'own'; i: number } | { k: 'foreign'; i: number } | { k: 'random'; n: number } | { k: 'priv' };
type Op =
  | { op: 'write'; ch: number; slot: number; hdr: Hdr }
  | { op: 'send'; name: NameKind; slot: number; where: 'tx' | 'out' | 'straddle'; length: number }
  | { op: 'close'; i: number }
  | { op: 'closeB'; i: number }
  | { op: 'yield' }
  | { op: 'map'; name: { k: 'ownRegion'; i: number } | { k: 'foreignRegion'; i: number } | { k: 'ownChannel'; i: number } | { k: 'random'; n: number } }
  | { op: 'writeSend'; ch: number; slot: number; hdr: Hdr; length: number };

/** One generated operation (the weights of the property test's generator). */
export function drawOp(d: Draw): Op {
  const hdr = (random: boolean): Hdr =>
    d.weighted<() => Hdr>([
      [3, () => ({ k: 'own' })],
      [1, () => ({ k: 'tmpl', i: d.int(0, 2) })],
      [random ? 1 : 0, () => ({ k: 'random', bytes: d.bytes(14) })],
      [1, () => ({ k: 'flip', byte: d.int(0, 13) })],
    ])();
  return d.weighted<() => Op>([
    [3, () => ({ op: 'write', ch: d.int(0, 1), slot: d.int(0, 1), hdr: hdr(true) })],
    [
      4,
      () => ({
        op: 'send',
        name: d.weighted<() => NameKind>([
          [4, () => ({ k: 'own', i: d.int(0, 1) })],
          [1, () => ({ k: 'foreign', i: d.int(0, 1) })],
          [1, () => ({ k: 'random', n: d.u32() })],
          [1, () => ({ k: 'priv' })],
        ])(),
        slot: d.int(0, 1),
        where: d.weighted([[3, 'tx' as const], [1, 'out' as const], [1, 'straddle' as const]]),
        length: d.bool(0.8) ? d.int(14, 1514) : d.pick([0, 13, 1515, 5000]),
      }),
    ],
    [1, () => ({ op: 'close', i: d.int(0, 1) })],
    [1, () => ({ op: 'closeB', i: d.int(0, 1) })],
    [1, () => ({ op: 'yield' })],
    [
      1,
      () => ({
        op: 'map',
        name: d.weighted<() => Extract<Op, { op: 'map' }>['name']>([
          [1, () => ({ k: 'ownRegion', i: d.int(0, 1) })],
          [2, () => ({ k: 'foreignRegion', i: d.int(0, 1) })],
          [1, () => ({ k: 'ownChannel', i: d.int(0, 1) })],
          [1, () => ({ k: 'random', n: d.u32() })],
        ])(),
      }),
    ],
    [4, () => ({ op: 'writeSend', ch: d.int(0, 1), slot: d.int(0, 1), hdr: hdr(false), length: d.int(14, 1514) })],
  ])();
}

interface SendRecord {
  readonly task: number;
  readonly kr: number;
  readonly expectOk: boolean;
}

/** Sizes of a scenario (the campaign's by default; the property tests draw longer programs). */
export interface NetioOptions {
  /** Only this link (default: Ethernet in three scenarios of four, AN1 in one). */
  readonly link?: 'ethernet' | 'an1';
  /** How many operations each Ethernet adversary's program has: [min, max]. */
  readonly ops?: readonly [number, number];
  /** How many frames the AN1 adversary sends: [min, max]. */
  readonly frames?: readonly [number, number];
}

function ethernetScenario(d: Draw, c: Checks, [lo, hi]: readonly [number, number]): void {
  const progs = [d.array(lo, hi, () => drawOp(d)), d.array(lo, hi, () => drawOp(d))];
  const world = new World({ seed: d.int(1, 1000), traceOn: false, ramBytes: CAMPAIGN_RAM_BYTES });
  const segment = new EthernetSegment(world, { name: 'e0' });
  const a = addNetioEthernetHost(world, segment, 'A', MAC_A);
  const b = addNetioEthernetHost(world, segment, 'B', MAC_B);
  const sentA: Uint8Array[] = [];
  segment.taps.on('frame', (port, dir, _t, frame) => {
    if (dir === 'tx' && port === 'A') sentA.push(frame.slice(0, frame.length - 4));
  });
  world.sched.runUntil(() => a.up && b.up, { nsMax: 10_000_000 });

  // B: two keyed receivers and the default channel, owned by one sink task.
  const sinkB = b.kernel.spawn('sinkB', function* () {
    yield { sys: 'thread_sleep_ns', ns: 10_000_000_000 };
  });
  const bCh: Channel[] = [0, 1].map((i) => b.netio.createChannel(undefined, sinkB, 'ethernet', 64, 0, specOf({ ...T[i]!, dst: MAC_A, src: MAC_B }, MAC_A)).channel!);
  const bDefault = b.netio.createChannel(undefined, sinkB, 'ethernet', 64, 0, { demux: { kind: 'none' }, isDefault: true, template: [] }).channel!;
  const closedAt = new Map<Channel, number>();
  // A: task 0 holds channels with templates 0 and 1, task 1 with templates 0 and 2.
  const grants: number[][] = [
    [0, 1],
    [0, 2],
  ];
  const records: SendRecord[] = [];
  const mapRecords: SendRecord[] = [];
  const tasks: Task[] = [];
  const chans: { name: number; address: number; region: number; channel: Channel }[][] = [[], []];
  const makeProgram =
    (id: number): GuestProgram =>
    function* (ctx) {
      yield { sys: 'thread_yield' }; // let both tasks get their channels first
      const mine = chans[id]!;
      const other = chans[1 - id]!;
      const dead = new Set<number>();
      const writeHdr = (at: number, hdr: Hdr, own: Uint8Array): void => {
        if (hdr.k === 'own') ctx.mem.writeBytes(at, own);
        else if (hdr.k === 'tmpl') ctx.mem.writeBytes(at, header(T[hdr.i]!));
        else if (hdr.k === 'random') ctx.mem.writeBytes(at, hdr.bytes);
        else ctx.mem.write8(at + hdr.byte, ctx.mem.read8(at + hdr.byte) ^ 0x01);
      };
      for (const op of progs[id]!) {
        switch (op.op) {
          case 'write': {
            const idx = op.ch % mine.length;
            const ch = mine[idx]!;
            if (dead.has(ch.name)) break; // its region is gone: a write would only fault us
            const at = ch.address + TX_AT + op.slot * 2048;
            writeHdr(at, op.hdr, header(T[grants[id]![idx]!]!));
            ctx.mem.write8(at + 20, id); // the tag the impersonation oracle reads
            break;
          }
          case 'send': {
            let name: number;
            let own: { address: number; tmpl: Tmpl } | undefined;
            if (op.name.k === 'own') {
              const idx = op.name.i % mine.length;
              name = mine[idx]!.name;
              if (!dead.has(name)) own = { address: mine[idx]!.address, tmpl: T[grants[id]![idx]!]! };
            } else if (op.name.k === 'foreign') name = other[op.name.i % other.length]?.name ?? 77;
            else if (op.name.k === 'random') name = op.name.n;
            else name = a.netio.privPort === undefined ? 1 : 3; // some small name: the task holds no privileged port
            const offset = op.where === 'tx' ? TX_AT + op.slot * 2048 : op.where === 'out' ? 0x7fff_0000 : (1 + RX + 1) * 4096 - 7;
            const goodShape = op.where === 'tx' && op.length >= 14 && op.length <= 1514;
            let expectOk = false;
            if (own !== undefined && goodShape) expectOk = sameHeader(ctx.mem.readBytes(own.address + offset, 14), header(own.tmpl));
            // A foreign or random name can be equal to one of our own names: then it is ours.
            if (op.name.k !== 'own') {
              const idx = mine.findIndex((m) => m.name === name && !dead.has(name));
              if (idx >= 0 && goodShape) expectOk = sameHeader(ctx.mem.readBytes(mine[idx]!.address + offset, 14), header(T[grants[id]![idx]!]!));
            }
            const r = yield* sys.net_send({ channel: name, offset, length: op.length });
            records.push({ task: id, kr: r.kr, expectOk });
            break;
          }
          case 'close': {
            const ch = mine[op.i % mine.length]!;
            if (dead.has(ch.name)) break;
            const r = yield* sys.net_channel_close({ channel: ch.name });
            if (r.kr === KERN.SUCCESS) dead.add(ch.name);
            break;
          }
          case 'closeB': {
            const ch = bCh[op.i]!;
            if (!ch.closed) {
              b.netio.close(ch, 'registry revoked it');
              closedAt.set(ch, ch.counters.delivered);
            }
            break;
          }
          case 'writeSend': {
            const idx = op.ch % mine.length;
            const ch = mine[idx]!;
            if (dead.has(ch.name)) break;
            const offset = TX_AT + op.slot * 2048;
            const own = header(T[grants[id]![idx]!]!);
            writeHdr(ch.address + offset, op.hdr, own);
            ctx.mem.write8(ch.address + offset + 20, id);
            const expectOk = sameHeader(ctx.mem.readBytes(ch.address + offset, 14), own);
            const r = yield* sys.net_send({ channel: ch.name, offset, length: op.length });
            records.push({ task: id, kr: r.kr, expectOk });
            break;
          }
          case 'yield':
            yield* sys.thread_sleep_ns({ ns: 200_000 });
            break;
          case 'map': {
            const n = op.name;
            const name =
              n.k === 'ownRegion' ? mine[n.i % mine.length]!.region
              : n.k === 'foreignRegion' ? (other[n.i % other.length]?.region ?? 77)
              : n.k === 'ownChannel' ? mine[n.i % mine.length]!.name
              : n.n;
            const expectOk = mine.some((m) => m.region === name && !dead.has(m.name));
            const r = yield* sys.vm_map({ object: name, offset: 0, size: (1 + RX + 1) * 4096, address: 0, anywhere: true, prot: 3 });
            mapRecords.push({ task: id, kr: r.kr, expectOk });
            break;
          }
        }
      }
    };
  for (const id of [0, 1]) {
    const t = a.kernel.spawn(`adversary${id}`, makeProgram(id));
    tasks.push(t);
    for (const gi of grants[id]!) {
      const r = a.netio.createChannel(t, t, 'ethernet', RX, 1, specOf(T[gi]!, undefined));
      chans[id]!.push({ name: r.name, address: r.address, region: r.region, channel: r.channel! });
    }
  }
  world.sched.runUntil(() => tasks.every((t) => !t.alive), { nsMax: 2_000_000_000 });
  c.check('netio.adversaries-end', tasks.every((t) => !t.alive), () => 'an adversary still runs after 2 s');
  // Frames queued in the LANCE drain out (at most 200 ms), then a little more for any extra one.
  const okSends = (): number => records.filter((r) => r.kr === KERN.SUCCESS).length;
  world.sched.runUntil(() => sentA.length >= okSends(), { nsMax: 200_000_000 });
  world.sched.runFor(2_000_000);

  // Impersonation: the k-th frame out is the k-th successful net_send (one CPU, one FIFO ring).
  const okSenders = records.filter((r) => r.kr === KERN.SUCCESS).map((r) => r.task);
  sentA.forEach((f, k) => {
    const task = okSenders[k];
    c.check('netio.impersonation', task !== undefined && grants[task]!.some((gi) => sameHeader(f, header(T[gi]!))), () => `frame ${k} out of A (header ${[...f.subarray(0, 14)].map((x) => x.toString(16)).join(' ')}) is not from a template granted to task ${String(task)}`);
    if (task !== undefined && f.length > 20 && f[20] !== 0) c.equal('netio.impersonation-tag', f[20]!, task, `frame ${k}'s sender tag`);
  });
  records.forEach((r, i) => c.check('netio.send-oracle', (r.kr === KERN.SUCCESS) === r.expectOk, () => `send ${i} of task ${r.task} returned ${r.kr}, the oracle says ${r.expectOk ? 'success' : 'refusal'}`));
  c.equal('netio.frames-out', sentA.length, okSenders.length, 'frames on the wire vs successful sends');
  for (const r of mapRecords) c.tally(r.kr === KERN.SUCCESS ? 'netio.map-ok' : 'netio.map-refused');
  mapRecords.forEach((r, i) => c.check('netio.map-oracle', (r.kr === KERN.SUCCESS) === r.expectOk, () => `vm_map ${i} of task ${r.task} returned ${r.kr}, the oracle says ${r.expectOk ? 'success' : 'refusal'}`));
  // Isolation: no task maps a page of a region it does not own.
  const ownerOf = new Map<Channel, unknown>([...bCh, bDefault].map((ch) => [ch, sinkB]));
  chans.forEach((cs, id) => cs.forEach((ch) => ownerOf.set(ch.channel, tasks[id])));
  const allCh = [...a.netio.channels.values(), ...b.netio.channels.values()];
  for (const t of [...tasks, sinkB]) {
    let foreign = 0;
    for (const m of t.map.pages.values()) for (const ch of allCh) if (ownerOf.get(ch) !== t && ch.phys.includes(m.phys)) foreign++;
    c.equal('netio.isolation-maps', foreign, 0, `${t.name}'s pages of other tasks' channels`);
  }
  // Isolation at B: each keyed channel holds only frames of its key; nothing after revocation.
  for (const [i, ch] of bCh.entries()) {
    const n = Math.min(ch.head, ch.rxSlots);
    for (let s = 0; s < n; s++) {
      const at = ch.slotPhys(s);
      const f = b.host.ram.bytes.subarray(at, at + 14);
      c.check('netio.isolation-demux', ((f[12]! << 8) | f[13]!) === T[i]!.et && MAC_A.every((x, k) => f[6 + k] === x), () => `B channel ${i} slot ${s} holds a frame of another key`);
    }
    if (closedAt.has(ch)) c.equal('netio.revocation', ch.counters.delivered, closedAt.get(ch)!, `B channel ${i} deliveries after revocation`);
  }
  const s = b.netio.stats;
  c.equal('netio.accounting', s.rxArrived, s.rxDelivered + s.rxToDefault + s.rxDropNoChannel + s.rxDropRingFull + s.rxDropError, 'B frames arrived vs accounted');
  c.equal('netio.accounting-driver', s.rxArrived, b.driver.counters.framesReceived, 'B frames arrived vs the driver count');
}

function an1Scenario(d: Draw, c: Checks, [lo, hi]: readonly [number, number]): void {
  const lengths = d.array(lo, hi, () => d.int(20, 1520));
  const garbage = d.array(1, 8, () => d.bytes(20));
  const world = new World({ seed: d.int(1, 1000), traceOn: false, ramBytes: CAMPAIGN_RAM_BYTES });
  const a = addNetioAn1Host(world, 'A', 0x08002b_00000a);
  const b = addNetioAn1Host(world, 'B', 0x08002b_00000b);
  const link = connectAn1(world, a, b);
  const sentA: Uint8Array[] = [];
  link.capture(0, { record: (_t: number, f: Uint8Array) => void sentA.push(f.slice()) } as unknown as PcapWriter);
  world.sched.runUntil(() => a.up && b.up, { nsMax: 10_000_000 });
  const good = Uint8Array.of(0, 0x0b, 0, 5, ...new Array<number>(12).fill(0), 0x88, 0xb5, 0, 0);
  let grant: { name: number; address: number } | undefined;
  const t = a.kernel.spawn('an1-adversary', function* (ctx) {
    yield { sys: 'thread_yield' };
    const ch = grant!;
    const at = ch.address + txOffset(4);
    let stop = false;
    // The scribbler: a second thread that keeps rewriting the header with garbage.
    yield* sys.thread_create({
      program: function* (ctx2) {
        for (let i = 0; !stop && i < 10_000; i++) {
          ctx2.mem.writeBytes(at, garbage[i % garbage.length]!);
          yield* sys.thread_sleep_ns({ ns: 3_000 });
        }
      },
      priority: -1,
    });
    for (const len of lengths) {
      ctx.mem.writeBytes(at, good);
      yield* sys.net_send({ channel: ch.name, offset: at - ch.address, length: len });
      yield* sys.thread_sleep_ns({ ns: 5_000 });
    }
    stop = true;
  });
  const r = a.netio.createChannel(t, t, 'an1', 4, 1, {
    demux: { kind: 'none' },
    isDefault: false,
    template: [
      { offset: 0, bytes: good.subarray(0, 4) },
      { offset: 16, bytes: good.subarray(16, 18) },
    ],
  });
  grant = { name: r.name, address: r.address };
  world.sched.runUntil(() => !t.alive, { nsMax: 1_000_000_000 });
  c.check('netio.adversaries-end', !t.alive, () => 'the AN1 adversary still runs after 1 s');
  world.sched.runFor(10_000_000);
  sentA.forEach((f, k) => c.check('netio.an1-checked-header', f[0] === 0 && f[1] === 0x0b && f[2] === 0 && f[3] === 5 && f[16] === 0x88 && f[17] === 0xb5, () => `AN1 frame ${k} left with header ${[...f.subarray(0, 18)].map((x) => x.toString(16)).join(' ')}`));
  c.equal('netio.an1-frames-out', sentA.length, a.netio.stats.txSent, 'AN1 frames on the link vs sent');
  c.equal('netio.an1-tx-paths', a.netio.an1TxTwoPart + a.netio.an1TxCopied, a.netio.stats.txSent, 'AN1 two-part + copied vs sent');
}

export function netioScenario(d: Draw, c: Checks, o: NetioOptions = {}): void {
  const link = o.link ?? (d.bool(0.75) ? 'ethernet' : 'an1');
  if (link === 'ethernet') ethernetScenario(d, c, o.ops ?? [5, 30]);
  else an1Scenario(d, c, o.frames ?? [3, 15]);
}
