/**
 * Programs for mb93-layers (studies/scenarios/mb93-layers.ts): one-way TCP messages (and UDP
 * datagrams, below) timed layer by layer, as MB93 Table 4 timed them — one message at a time on idle hosts. The sender connects,
 * then for each size in `sizes` writes `rounds` messages, one every `gapNs` (longer than the
 * 200 ms delayed-ACK timer, so each message's ACK goes out long after its receive path is done and
 * no reverse traffic falls inside a measured message). The receiver reads each message whole.
 * Neither logs inside the loop (a log line is a trap): with `clock` set, they read the clock just
 * before each write / just after each read returns and log all the readings at the end
 * (`t <ns> <ns> ...`). Written against SocketApi, so the same programs run on every organization.
 */
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { sys } from '../mach/syscalls.ts';
import type { DatagramOpener } from '../netlib/datagram-api.ts';
import type { SocketOpener } from '../netlib/socket-api.ts';
import { acceptOne, connectTo } from './connect.ts';
import { num } from './params.ts';

/** Messages per run, at most (a limit on everything). */
export const LAYERS_MESSAGES_MAX = 200;

const sizesOf = (p: Readonly<Record<string, unknown>>): number[] => [num(p, 'size0', 1), num(p, 'size1', 1460)].filter((s) => s > 0);

type G<T> = Generator<TrapRequest, T, TrapResult>;

/**
 * The sender's loop: `rounds` messages of each size, one every `gapNs` (reading the clock just
 * before each `send` when `clock`), then one more gap; logs the readings (`t ...`) when `clock`.
 * Returns how many went whole.
 */
function* sendSpaced(p: Readonly<Record<string, unknown>>, clock: boolean, now: () => G<number>, send: (msg: Uint8Array) => G<number>): G<number> {
  const gap = num(p, 'gapNs', 250_000_000);
  const rounds = Math.min(num(p, 'rounds', 10), LAYERS_MESSAGES_MAX / 2);
  const times: number[] = [];
  let sent = 0;
  for (const size of sizesOf(p)) {
    const msg = new Uint8Array(size).fill(0x5a);
    for (let i = 0; i < rounds; i++) {
      yield* sys.thread_sleep_ns({ ns: gap });
      if (clock) times.push(yield* now());
      if ((yield* send(msg)) === size) sent++;
    }
  }
  yield* sys.thread_sleep_ns({ ns: gap });
  if (clock) yield* sys.debug_log({ text: `t ${times.join(' ')}` });
  return sent;
}

export const layersSenderWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const c = yield* connectTo(open, ctx, 9);
  if (c === undefined) return;
  const { api, fd } = c;
  const sent = yield* sendSpaced(ctx.params, ctx.params['clock'] === true, () => api.now(), (msg) => api.write(fd, msg));
  yield* api.close(fd);
  yield* sys.debug_log({ text: `sent=${sent}` });
};

export const layersReceiverWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const c = yield* acceptOne(open, ctx, 9);
  if (c === undefined) return;
  const { api, fd } = c;
  const clock = p['clock'] === true;
  const rounds = Math.min(num(p, 'rounds', 10), LAYERS_MESSAGES_MAX / 2);
  const times: number[] = [];
  let received = 0;
  let short = 0;
  for (const size of sizesOf(p)) {
    for (let i = 0; i < rounds; i++) {
      let got = 0;
      let reads = 0;
      while (got < size) {
        const d = yield* api.read(fd, size - got);
        if (typeof d === 'number' || d.length === 0) break;
        got += d.length;
        reads++;
      }
      if (clock) times.push(yield* api.now());
      if (got === size) received++;
      if (reads !== 1) short++;
    }
  }
  if (clock) yield* sys.debug_log({ text: `t ${times.join(' ')}` });
  yield* sys.debug_log({ text: `received=${received} split=${short}` });
  yield* api.close(fd);
};

/** The warm-up datagram's length (neither measured size): it carries the ARP exchange and opens the first window. */
export const LAYERS_WARMUP_BYTES = 3;

/**
 * UDP (MB93's UDP rows): after `startDelayNs` (the receiver binds), connect to (peerIp, port), send
 * one warm-up datagram at once (its ARP exchange stays out of the windows), then `rounds`
 * datagrams of each size in `sizes`, one every `gapNs`, reading the clock before each sendto.
 */
export const layersDatagramSenderWith = (open: DatagramOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const api = yield* open(ctx);
  if (api === undefined) return;
  yield* sys.thread_sleep_ns({ ns: num(p, 'startDelayNs', 100_000_000) });
  const fd = yield* api.socket();
  const kr = yield* api.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 9));
  if (kr < 0) {
    yield* sys.debug_log({ text: `connect failed ${kr}` });
    return;
  }
  yield* api.sendto(fd, new Uint8Array(LAYERS_WARMUP_BYTES));
  const sent = yield* sendSpaced(p, true, () => api.now(), (msg) => api.sendto(fd, msg));
  yield* api.close(fd);
  yield* sys.debug_log({ text: `sent=${sent}` });
};

/** Bound to `port`: the warm-up datagram, then `rounds` datagrams of each size, reading the clock as each recvfrom returns. */
export const layersDatagramReceiverWith = (open: DatagramOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const api = yield* open(ctx);
  if (api === undefined) return;
  const fd = yield* api.socket();
  if ((yield* api.bind(fd, num(p, 'port', 9))) < 0) {
    yield* sys.debug_log({ text: 'bind failed' });
    return;
  }
  const rounds = Math.min(num(p, 'rounds', 10), LAYERS_MESSAGES_MAX / 2);
  const times: number[] = [];
  let received = 0;
  let wrong = 0;
  const warm = yield* api.recvfrom(fd, 65536, 5_000_000_000);
  if (warm === null || typeof warm === 'number' || warm.data.length !== LAYERS_WARMUP_BYTES) wrong++;
  for (const size of sizesOf(p)) {
    for (let i = 0; i < rounds; i++) {
      const d = yield* api.recvfrom(fd, 65536, 5_000_000_000);
      times.push(yield* api.now());
      if (d !== null && typeof d !== 'number' && d.data.length === size) received++;
      else wrong++;
    }
  }
  yield* sys.debug_log({ text: `t ${times.join(' ')}` });
  yield* sys.debug_log({ text: `received=${received} wrong=${wrong}` });
  yield* api.close(fd);
};
