/**
 * The library's network C-threads keep running while the application's kernel thread sleeps in
 * the kernel outside the library (P §3.2: "network packet arrival notification is done via a
 * lightweight semaphore that a library thread is waiting on"; "separate threads per connection
 * that are upcalled"): the task's upcall kernel thread takes the channel semaphore and the
 * connection's timers meanwhile (userland/cthreads/pool.ts, docs/library.md). Before, input and
 * timers waited for the application's next library call.
 */
import { describe, expect, it } from 'vitest';
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import type { Task } from '../../../kernel/kernel.ts';
import { buildLibPair, type LinkName } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { sys } from '../../../userland/mach/syscalls.ts';
import { TcpLib } from '../../../userland/netlib/tcp-lib.ts';
import { POLL } from '../../../userland/netlib/socket-api.ts';

const PORT = 7100;
const MS = 1_000_000;
const SLEEP_NS = 3000 * MS;

const field = (t: Task, key: string, prefix: string): number => {
  const line = t.log.find((l) => l.startsWith(prefix));
  if (line === undefined) throw new Error(`${t.name}: no '${prefix}' line in ${t.log.join(' | ')}`);
  const m = new RegExp(`(?:^| )${key}=(-?\\d+)`).exec(line);
  if (m === null) throw new Error(`${t.name}: no ${key} in '${line}'`);
  return Number(m[1]);
};

/** The sleeper: connect, optionally write `writeBytes`, then sleep in the kernel (thread_sleep_ns: outside the library) and report. */
const sleeper: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const fd = lib.socket();
  const r = yield* lib.connect(fd, Number(p['peerIp']), PORT);
  if (r !== 0) {
    yield* sys.debug_log({ text: `connect failed ${r}` });
    return;
  }
  if (Number(p['writeBytes']) > 0) yield* lib.write(fd, new Uint8Array(Number(p['writeBytes'])).fill(0x42));
  const s0 = lib.framesSent;
  const r0 = lib.framesReceived;
  const t0 = yield* lib.now();
  yield* sys.debug_log({ text: `asleep at=${t0}` });
  yield* sys.thread_sleep_ns({ ns: SLEEP_NS });
  const t1 = yield* lib.now();
  const st = lib.pool.stats;
  yield* sys.debug_log({
    text: `awake at=${t1} sent=${lib.framesSent - s0} received=${lib.framesReceived - r0} created=${st.upcallThreadsCreated} wakes=${st.upcallWakesTotal} runs=${st.upcallRunsTotal} kwaits=${st.upcallKernelWaitsTotal}`,
  });
  const rounds = Number(p['rounds'] ?? 0);
  if (rounds > 0) {
    // Back in the library: a ping-pong, logging the pool's counters around it.
    const st0 = { ...lib.pool.stats };
    yield* sys.debug_log({ text: `rounds start` });
    for (let i = 0; i < rounds; i++) {
      yield* lib.write(fd, Uint8Array.of(i));
      yield* lib.read(fd, 1);
    }
    const st1 = lib.pool.stats;
    yield* sys.debug_log({ text: `rounds done upcallRuns=${st1.upcallRunsTotal - st0.upcallRunsTotal} upcallWaits=${st1.upcallKernelWaitsTotal - st0.upcallKernelWaitsTotal} kernelWaits=${st1.kernelWaitsTotal - st0.kernelWaitsTotal} parks=${st1.parksTotal - st0.parksTotal}` });
  }
  yield* lib.close(fd);
};

/** The peer: accept; write `writeBytes` (16 KB fills the sleeper's window) and then 1 byte more (it returns once an ACK freed room), or read 1 byte. */
const peer: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = lib.socket();
  lib.bind(ls, PORT);
  yield* lib.listen(ls, 4);
  const fd = yield* lib.accept(ls);
  const t0 = yield* lib.now();
  if (Number(p['writeBytes']) > 0) {
    yield* lib.write(fd, new Uint8Array(Number(p['writeBytes'])).fill(7));
    const t1 = yield* lib.now();
    yield* lib.write(fd, Uint8Array.of(1));
    const t2 = yield* lib.now();
    yield* sys.debug_log({ text: `peer accepted=${t0} wrote=${t1} room=${t2}` });
  } else if (p['echo'] === true) {
    for (;;) {
      const d = yield* lib.read(fd, 10);
      if (typeof d === 'number' || d.length === 0) break;
      yield* lib.write(fd, d);
    }
  } else {
    const d = yield* lib.read(fd, 10);
    const t1 = yield* lib.now();
    yield* sys.debug_log({ text: `peer accepted=${t0} read=${t1} n=${typeof d === 'number' ? d : d.length}` });
  }
  yield* lib.read(fd, 100, 10_000 * MS);
  yield* lib.close(fd);
};

/**
 * A listener polled once (timeout 0: a pre-accept thread is started and blocks in ACCEPT), then a
 * sleep in the kernel; the connection the pre-accept thread adopts during the sleep gets the upcall
 * kernel thread from it (CthreadPool.leaving).
 */
const sleepingAcceptor: GuestProgram = function* (ctx) {
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = lib.socket();
  lib.bind(ls, PORT);
  yield* lib.listen(ls, 4);
  yield* lib.poll([{ fd: ls, events: POLL.IN }], 0);
  const t0 = yield* lib.now();
  yield* sys.debug_log({ text: `asleep at=${t0}` });
  yield* sys.thread_sleep_ns({ ns: SLEEP_NS });
  const t1 = yield* lib.now();
  yield* sys.debug_log({ text: `awake at=${t1} created=${lib.pool.stats.upcallThreadsCreated} received=${lib.framesReceived}` });
  const fd = yield* lib.accept(ls);
  for (;;) {
    const d = yield* lib.read(fd, 1 << 16);
    if (typeof d === 'number' || d.length === 0) break;
  }
  yield* lib.close(fd);
};

/** Connect to the acceptor, write 16 KB and then one byte more (room once an ACK arrives), close. */
const writerClient: GuestProgram = function* (ctx) {
  const lib = (yield* TcpLib.init(ctx))!;
  const fd = lib.socket();
  if ((yield* lib.connect(fd, Number(ctx.params['peerIp']), PORT)) !== 0) return;
  const t0 = yield* lib.now();
  yield* lib.write(fd, new Uint8Array(16 * 1024).fill(3));
  yield* lib.write(fd, Uint8Array.of(1));
  const t1 = yield* lib.now();
  yield* sys.debug_log({ text: `writer connected=${t0} room=${t1}` });
  yield* lib.close(fd);
};

function runPair(link: LinkName, seed: number, writeA: number, writeB: number, onSegment?: (pair: ReturnType<typeof buildLibPair>) => void, rounds = 0) {
  const w = new World({ seed, traceOn: false });
  const pair = buildLibPair(w, link);
  onSegment?.(pair);
  const b = pair.spawn(pair.b, 'peer', peer, { writeBytes: writeB, echo: rounds > 0 });
  const a = pair.spawn(pair.a, 'sleeper', sleeper, { peerIp: pair.b.ip, writeBytes: writeA, rounds });
  w.sched.runUntil(() => !a.alive && !b.alive, { nsMax: 20_000 * MS });
  return { a, b };
}

/** TCP payload length of an Ethernet/IPv4 frame, or -1 when it is not TCP. */
function tcpPayload(f: Uint8Array): number {
  if (f.length < 54 || ((f[12]! << 8) | f[13]!) !== 0x0800 || f[23] !== 6) return -1;
  const ihl = (f[14]! & 0x0f) * 4;
  const total = (f[16]! << 8) | f[17]!;
  const doff = (f[14 + ihl + 12]! >>> 4) * 4;
  return total - ihl - doff;
}

/** Record the wire: frames the sleeper sent ('tx' at its port) and data frames it received ('rx'). */
function recordWire(pair: ReturnType<typeof buildLibPair>, out: { aTx: { t: number; n: number }[]; aRxData: number[] }): void {
  pair.segment!.taps.on('frame', (port: string, dir: string, now: number, f: Uint8Array) => {
    const n = tcpPayload(f);
    if (n < 0 || port !== pair.a.name) return;
    if (dir === 'tx') out.aTx.push({ t: now, n });
    else if (n > 0) out.aRxData.push(now);
  });
}

describe.each(['ethernet', 'an1'] as const)('upcall kernel thread, %s', (link) => {
  it('the sleeper ACKs the peer\'s data while it sleeps: its input and its delayed-ACK timer run on the upcall kernel thread', () => {
    const wire = { aTx: [] as { t: number; n: number }[], aRxData: [] as number[] };
    const { a, b } = runPair(link, 3, 0, 16 * 1024, link === 'ethernet' ? (p) => recordWire(p, wire) : undefined);
    const room = field(b, 'room', 'peer ');
    const asleep = field(a, 'at', 'asleep ');
    const awake = field(a, 'at', 'awake ');
    expect(awake - asleep).toBeGreaterThanOrEqual(SLEEP_NS);
    // The peer's 16 KB fill the sleeper's window; its next byte finds room once an ACK frees some.
    // Before, nothing was ACKed until the sleeper woke: room came after its wake-up.
    expect(room).toBeLessThan(asleep + 20 * MS);
    // During the sleep: 11 data segments in, an ACK for every second one (5) and the delayed ACK
    // of the last, odd one (1), all made by the upcall kernel thread (created once, never woken
    // again: it was parked by nothing), one network pass per wake-up.
    expect(field(a, 'received', 'awake ')).toBe(11);
    expect(field(a, 'sent', 'awake ')).toBe(6);
    expect(field(a, 'created', 'awake ')).toBe(1);
    expect(field(a, 'runs', 'awake ')).toBe(field(a, 'kwaits', 'awake '));
    if (link === 'ethernet') {
      const during = wire.aTx.filter((x) => x.t > asleep && x.t < awake);
      expect(during.map((x) => x.n)).toEqual([0, 0, 0, 0, 0, 0]);
      const rx = wire.aRxData.filter((t) => t > asleep && t < awake);
      expect(rx.length).toBe(11);
      // Each notification's pass takes every segment in the ring and ACKs at most every second
      // one at once: each immediate ACK leaves within 2.5 ms of the last segment before it (the
      // upcall's path: semaphore wake-up, input pass, net_send, the LANCE's transmit poll).
      for (let k = 0; k < 5; k++) {
        const before = rx.filter((t) => t < during[k]!.t);
        expect(before.length).toBeGreaterThanOrEqual(2 * (k + 1));
        expect(during[k]!.t - before[before.length - 1]!).toBeLessThan(2.5 * MS);
      }
      // The last, odd segment: the delayed-ACK timer (200 ms) fires during the sleep.
      const late = during[5]!.t - rx[10]!;
      expect(late).toBeGreaterThan(200 * MS);
      expect(late).toBeLessThan(202.5 * MS);
    }
  });

  it('a retransmission timer fires during the sleep; the peer\'s ACK of it is taken at once', () => {
    const wire = { aTx: [] as { t: number; n: number }[], aRxData: [] as number[] };
    const { a, b } = runPair(link, 3, 1, 0, link === 'ethernet' ? (p) => { dropFirstData(p); recordWire(p, wire); } : undefined);
    const asleep = field(a, 'at', 'asleep ');
    const awake = field(a, 'at', 'awake ');
    const read = field(b, 'read', 'peer ');
    if (link === 'ethernet') {
      // The first data segment was dropped; its retransmission (RTO = rtoMin = 1 s after the
      // handshake's RTT sample) left during the sleep, reached the peer, and the peer's ACK
      // stopped the timer: no second retransmission. Before, it left when the sleeper woke (3 s).
      const data = wire.aTx.filter((x) => x.n > 0 && x.t < awake);
      expect(data.length).toBe(2);
      const rto = data[1]!.t - data[0]!.t;
      expect(rto).toBeGreaterThan(1000 * MS);
      expect(rto).toBeLessThan(1001 * MS);
      expect(read).toBeGreaterThan(data[1]!.t);
      expect(read).toBeLessThan(data[1]!.t + 1 * MS);
      expect(field(a, 'sent', 'awake ')).toBe(1); // the retransmission
    } else {
      // Nothing lost: the byte arrives at once and the peer's ACK is taken during the sleep.
      expect(read - asleep).toBeLessThan(2 * MS);
    }
    expect(field(a, 'received', 'awake ')).toBe(1); // the peer's ACK of the byte, during the sleep
    expect(field(a, 'created', 'awake ')).toBe(1);
  });

  it('a connection a pre-accept thread adopts while the application sleeps gets the upcall kernel thread from it', () => {
    const w = new World({ seed: 5, traceOn: false });
    const pair = buildLibPair(w, link);
    const a = pair.spawn(pair.a, 'acceptor', sleepingAcceptor);
    w.sched.runUntil(() => a.log.some((l) => l.startsWith('asleep')), { nsMax: 1000 * MS });
    const b = pair.spawn(pair.b, 'writer', writerClient, { peerIp: pair.a.ip });
    w.sched.runUntil(() => !a.alive && !b.alive, { nsMax: 20_000 * MS });
    const asleep = field(a, 'at', 'asleep ');
    const awake = field(a, 'at', 'awake ');
    // Connected and ACKed during the sleep: the writer's 16 KB fill the window, its next byte finds
    // room within milliseconds. Without the hand-off the new network C-thread waited, ready, for
    // the acceptor's next library call: room came after the wake-up.
    expect(field(b, 'connected', 'writer ')).toBeGreaterThan(asleep);
    expect(field(b, 'room', 'writer ')).toBeLessThan(field(b, 'connected', 'writer ') + 30 * MS);
    expect(field(b, 'room', 'writer ')).toBeLessThan(awake);
    expect(field(a, 'created', 'awake ')).toBe(1);
    expect(field(a, 'received', 'awake ')).toBeGreaterThanOrEqual(11);
  });

  it('back in the library, the upcall kernel thread gives the semaphore back: a round trip is again one kernel wait of the application\'s thread', () => {
    const { a } = runPair(link, 3, 0, 0, undefined, 20);
    expect(field(a, 'created', 'awake ')).toBe(1);
    // The upcall kernel thread holds the semaphore from the sleep. The first write armed the
    // retransmission timer, earlier than the wait it is trapped in: one semaphore_signal ends that
    // wait (it makes one empty pass, hands back and parks), and the application's thread, which
    // found the semaphore taken, parks once. From then on every round is one kernel wait of the
    // application's thread (2 traps a host, as in structure.test.ts); the upcall thread stays parked.
    expect(field(a, 'upcallRuns', 'rounds done')).toBe(1);
    expect(field(a, 'upcallWaits', 'rounds done')).toBe(0);
    expect(field(a, 'kernelWaits', 'rounds done')).toBe(20);
    expect(field(a, 'parks', 'rounds done')).toBe(1);
  });
});

/** Drop the sleeper's first data-bearing segment on the wire (the tap runs before delivery's fault decision). */
function dropFirstData(pair: ReturnType<typeof buildLibPair>): void {
  const seg = pair.segment!;
  let seen = 0;
  seg.taps.on('frame', (port: string, dir: string, _now: number, f: Uint8Array) => {
    if (dir !== 'tx' || port !== pair.a.name || tcpPayload(f) <= 0) return;
    seen++;
    seg.setFaults(pair.a.name, pair.b.name, seen === 1 ? { loss: 1 } : {});
  });
}
