/**
 * Programs for ux-primitives (studies/scenarios/ux-primitives.ts): MB93 Table 4's single-server
 * rows measured on the emulator. The sender writes `rounds` messages of each size in `sizes`,
 * one every `gapNs` (250 ms: longer than the delayed-ACK timer, so Nagle never holds a message back) (idle hosts between them, as MB93 timed single messages), logging the clock
 * just before each write (`w size=<n> t0=<ns>`); the server's probe logs when protocol output
 * begins. The receiver reads them, logging the clock as each read returns (`r n=<n> t=<ns>`);
 * the server's probe logs when it found the data for the parked read. Written against SocketApi.
 */
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { sys } from '../mach/syscalls.ts';
import type { SocketOpener } from '../netlib/socket-api.ts';
import { acceptOne, connectTo } from './connect.ts';
import { num } from './params.ts';

export const primitivesSenderWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const c = yield* connectTo(open, ctx, 9);
  if (c === undefined) return;
  const { api, fd } = c;
  const sizes = [num(p, 'size0', 1), num(p, 'size1', 1472)];
  for (const size of sizes) {
    const msg = new Uint8Array(size).fill(0x5a);
    for (let i = 0; i < num(p, 'rounds', 10); i++) {
      yield* sys.thread_sleep_ns({ ns: num(p, 'gapNs', 250_000_000) });
      const t0 = yield* api.now();
      yield* api.write(fd, msg);
      yield* sys.debug_log({ text: `w size=${size} t0=${t0}` });
    }
  }
  yield* sys.thread_sleep_ns({ ns: num(p, 'gapNs', 250_000_000) });
  yield* api.close(fd);
  yield* sys.debug_log({ text: 'sender done' });
};

export const primitivesReceiverWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const c = yield* acceptOne(open, ctx, 9);
  if (c === undefined) return;
  const { api, fd } = c;
  for (;;) {
    const d = yield* api.read(fd, 4096);
    const t = yield* api.now();
    if (typeof d === 'number' || d.length === 0) break;
    yield* sys.debug_log({ text: `r n=${d.length} t=${t}` });
  }
  yield* api.close(fd);
  yield* sys.debug_log({ text: 'receiver done' });
};
