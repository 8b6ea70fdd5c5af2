/**
 * Guest programs for the `mb93-primitives` scenario: the send and receive halves of Maeda &
 * Bershad's one-way latency breakdown (MB93 Table 4) on a network I/O channel, timed with the
 * kernel clock. Channel names, region address and semaphore come as task parameters (set by the
 * scenario, which creates the channels), as for `rawSink`.
 */
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { NETIO_CTL } from '../../kernel/abi/netio.ts';
import { sys } from '../mach/syscalls.ts';
import { RawChannel } from '../netlib/raw-channel.ts';
import { rawFrameOf } from './raw-exchange.ts';
import { num } from './params.ts';


/**
 * Sender: params.frames frames of params.frameBytes, one every params.gapNs (so each send finds
 * the device idle and no interrupt of an earlier frame falls inside the window). Around each
 * `net_send` three clock reads: c0, c1 (back to back: one clock trap), send, c2. The output path
 * is (c2 − c1) − (c1 − c0): the `net_send` trap, template check and copy into the device, with
 * the clock trap that brackets it taken out. Logs `outputNs=<mean> clockTrapNs=<mean> sent=<n>`.
 */
export const mb93Sender: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const ch = new RawChannel(ctx, { channel: num(p, 'channel', 0), address: num(p, 'address', 0), sem: num(p, 'sem', 0) });
  const length = num(p, 'frameBytes', 60);
  const frame = rawFrameOf(p, length);
  const at = ch.put(frame);
  const n = num(p, 'frames', 50);
  const gapNs = num(p, 'gapNs', 3_000_000);
  let outputNs = 0;
  let clockNs = 0;
  let sent = 0;
  for (let i = 0; i < n; i++) {
    yield* sys.thread_sleep_ns({ ns: gapNs });
    const c0 = yield* sys.clock_get_ns({});
    const c1 = yield* sys.clock_get_ns({});
    const kr = yield* ch.send(at, length);
    const c2 = yield* sys.clock_get_ns({});
    if (kr !== 0) continue;
    sent++;
    clockNs += c1.ns - c0.ns;
    outputNs += c2.ns - c1.ns - (c1.ns - c0.ns);
  }
  const d = Math.max(1, sent);
  yield* sys.debug_log({ text: `outputNs=${outputNs / d} clockTrapNs=${clockNs / d} sent=${sent}` });
};

/**
 * Receiver: wait on the channel's semaphore; the moment the wait returns, read the clock (the
 * woken thread's first trap); then consume what the ring holds. Stops after params.frames frames
 * or params.idleNs without one. Logs `wakeClockSumNs=<sum of the clock reads> wakeups=<n>
 * received=<n>`: the scenario subtracts the times the kernel signalled the semaphore.
 */
export const mb93Receiver: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const address = num(p, 'address', 0);
  const sem = num(p, 'sem', 0);
  const n = num(p, 'frames', 50);
  const idleNs = num(p, 'idleNs', 50_000_000);
  let tail = ctx.mem.read32(address + NETIO_CTL.RX_TAIL);
  let received = 0;
  let wakeups = 0;
  let clockSum = 0;
  while (received < n) {
    const w = yield* sys.semaphore_timedwait({ sem, ns: idleNs });
    if (w.kr !== 0) break;
    const c = yield* sys.clock_get_ns({});
    clockSum += c.ns;
    wakeups++;
    const head = ctx.mem.read32(address + NETIO_CTL.RX_HEAD);
    const k = (head - tail) >>> 0;
    tail = head;
    received += k;
    ctx.mem.write32(address + NETIO_CTL.RX_TAIL, tail);
    ctx.spend(30);
  }
  yield* sys.debug_log({ text: `wakeClockSumNs=${clockSum} wakeups=${wakeups} received=${received}` });
};
