/**
 * The two ends of a one-connection benchmark, written once against SocketApi: open the sockets
 * interface, then connect to `peerIp:port` (after a 1 ms settle, so the listener is up) or listen
 * on `port` and accept one connection. Used by the MB93 measurement programs.
 */
import type { GuestContext } from '../../kernel/abi/guest.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { sys } from '../mach/syscalls.ts';
import type { SocketApi, SocketOpener } from '../netlib/socket-api.ts';
import { num } from './params.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

/** Connected: the interface and the socket, or undefined (a failed connect is logged). */
export function* connectTo(open: SocketOpener, ctx: GuestContext, defaultPort: number): G<{ api: SocketApi; fd: number } | undefined> {
  const p = ctx.params;
  const api = yield* open(ctx);
  if (api === undefined) return undefined;
  yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  const fd = yield* api.socket();
  const kr = yield* api.connect(fd, num(p, 'peerIp', 0), num(p, 'port', defaultPort));
  if (kr < 0) {
    yield* sys.debug_log({ text: `connect failed ${kr}` });
    return undefined;
  }
  return { api, fd };
}

/** Listening on `port` with a backlog of 1, the first connection accepted, or undefined. */
export function* acceptOne(open: SocketOpener, ctx: GuestContext, defaultPort: number): G<{ api: SocketApi; fd: number } | undefined> {
  const api = yield* open(ctx);
  if (api === undefined) return undefined;
  const ls = yield* api.socket();
  yield* api.bind(ls, num(ctx.params, 'port', defaultPort));
  yield* api.listen(ls, 1);
  const fd = yield* api.accept(ls);
  return fd < 0 ? undefined : { api, fd };
}
