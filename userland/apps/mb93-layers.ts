/**
 * Programs for mb93-layers (studies/scenarios/mb93-layers.ts): one-way TCP messages timed layer by
 * layer, as MB93 Table 4 timed them — one message at a time on idle hosts. The sender connects,
 * then for each size in `sizes` writes `rounds` messages, one every `gapNs` (longer than the
 * 200 ms delayed-ACK timer, so each message's ACK goes out long after its receive path is done and
 * no reverse traffic falls inside a measured message). The receiver reads each message whole.
 * Neither logs inside the loop (a log line is a trap): with `clock` set, they read the clock just
 * before each write / just after each read returns and log all the readings at the end
 * (`t <ns> <ns> ...`). Written against SocketApi, so the same programs run on every organization.
 */
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { sys } from '../mach/syscalls.ts';
import type { SocketOpener } from '../netlib/socket-api.ts';
import { acceptOne, connectTo } from './connect.ts';
import { num } from './params.ts';

/** Messages per run, at most (a limit on everything). */
export const LAYERS_MESSAGES_MAX = 200;

const sizesOf = (p: Readonly<Record<string, unknown>>): number[] => [num(p, 'size0', 1), num(p, 'size1', 1460)].filter((s) => s > 0);

export const layersSenderWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const c = yield* connectTo(open, ctx, 9);
  if (c === undefined) return;
  const { api, fd } = c;
  const clock = p['clock'] === true;
  const gap = num(p, 'gapNs', 250_000_000);
  const rounds = Math.min(num(p, 'rounds', 10), LAYERS_MESSAGES_MAX / 2);
  const times: number[] = [];
  let sent = 0;
  for (const size of sizesOf(p)) {
    const msg = new Uint8Array(size).fill(0x5a);
    for (let i = 0; i < rounds; i++) {
      yield* sys.thread_sleep_ns({ ns: gap });
      if (clock) times.push(yield* api.now());
      const w = yield* api.write(fd, msg);
      if (w === size) sent++;
    }
  }
  yield* sys.thread_sleep_ns({ ns: gap });
  if (clock) yield* sys.debug_log({ text: `t ${times.join(' ')}` });
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
