/**
 * The applications `ulp live` runs on an emulated host (issue 17 item 4), written against
 * SocketApi so the same code runs over the linked library (the live host's organization):
 *
 * - `echoServer`: listens on `port` and serves up to ECHO_CONNS_MAX connections at once with poll
 *   (one thread): every byte read is written back, until the peer's FIN; then it closes that
 *   connection. Logs `echo: accepted conn=N`, `echo: closed conn=N bytes=B error=E`.
 * - `echoClient`: connects to `peerIp:port` and does the same on that one connection (so the far
 *   end drives the data and checks what comes back), then exits; a refused or timed-out connect
 *   is tried again 1 s later, `tries` times in all (default 10). Logs `connect: connected`,
 *   `connect: closed bytes=N`, or `connect: failed <error>`.
 *
 * Bytes are moved through unchanged: a stream checked at the far end tests the whole path (TAP,
 * segment, LANCE, network I/O module, library TCP) byte for byte.
 */
import type { GuestContext } from '../../kernel/abi/guest.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { sys } from '../mach/syscalls.ts';
import { POLL, type SocketApi, type SocketOpener } from '../netlib/socket-api.ts';
import { num } from './params.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

/** Connection attempts of `echoClient` (1 s apart), so a client started before its listener still gets through. */
export const CONNECT_TRIES = 10;

/** Bytes asked for per read: a few segments, so a write follows each read without holding data back. */
export const ECHO_READ_BYTES = 4096;

const ipText = (ip: number): string => [24, 16, 8, 0].map((s) => (ip >>> s) & 0xff).join('.');

/** Echo `fd` until the peer's end of stream (or an error): bytes echoed, or a negative error. */
function* echoStream(api: SocketApi, fd: number): G<{ bytes: number; error: number }> {
  let bytes = 0;
  for (;;) {
    const r = yield* api.read(fd, ECHO_READ_BYTES);
    if (typeof r === 'number') return { bytes, error: r };
    if (r.length === 0) return { bytes, error: 0 };
    const w = yield* api.write(fd, r);
    if (w < 0) return { bytes, error: w };
    bytes += r.length;
  }
}

/** Connections one echo server serves at once (the rest wait in the backlog): NOFILE-bounded, as poll's set. */
export const ECHO_CONNS_MAX = 16;

export function echoServer(open: SocketOpener): (ctx: GuestContext) => G<void> {
  return function* (ctx) {
    const port = num(ctx.params, 'port', 7);
    const api = yield* open(ctx);
    if (api === undefined) {
      yield* sys.debug_log({ text: 'echo: no sockets (registry not found)' });
      return;
    }
    const ls = yield* api.socket();
    const b = ls < 0 ? ls : yield* api.bind(ls, port);
    const l = b < 0 ? b : yield* api.listen(ls, 5);
    if (l < 0) {
      yield* sys.debug_log({ text: `echo: cannot listen on port ${port} (error ${l})` });
      return;
    }
    yield* sys.debug_log({ text: `echo: listening port=${port}` });
    if (api.poll === undefined) {
      // Without a multiplexed wait: one connection at a time.
      for (let n = 1; ; n++) {
        const fd = yield* api.accept(ls);
        if (fd < 0) {
          yield* sys.debug_log({ text: `echo: accept failed error=${fd}` });
          yield* sys.thread_sleep_ns({ ns: 10_000_000 });
          continue;
        }
        yield* sys.debug_log({ text: `echo: accepted conn=${n}` });
        const r = yield* echoStream(api, fd);
        yield* api.close(fd);
        yield* sys.debug_log({ text: `echo: closed conn=${n} bytes=${r.bytes} error=${r.error}` });
      }
    }
    // poll over the listener and every connection: a readable connection is read once and what
    // came is written back (the write may block while that peer's window is closed, as a simple
    // select-loop server's would); the listener is watched only below ECHO_CONNS_MAX connections.
    const conns: { fd: number; n: number; bytes: number }[] = [];
    for (let n = 1; ; ) {
      const watchListener = conns.length < ECHO_CONNS_MAX;
      const fds = [...(watchListener ? [{ fd: ls, events: POLL.IN }] : []), ...conns.map((c) => ({ fd: c.fd, events: POLL.IN }))];
      const r = yield* api.poll(fds);
      if (typeof r === 'number') {
        yield* sys.debug_log({ text: `echo: poll failed error=${r}` });
        yield* sys.thread_sleep_ns({ ns: 10_000_000 });
        continue;
      }
      const ready = conns.filter((_, i) => (r[i + (watchListener ? 1 : 0)] ?? 0) !== 0);
      if (watchListener && ((r[0] ?? 0) & POLL.IN) !== 0) {
        const fd = yield* api.accept(ls);
        if (fd >= 0) {
          conns.push({ fd, n, bytes: 0 });
          yield* sys.debug_log({ text: `echo: accepted conn=${n}` });
          n++;
        } else {
          yield* sys.debug_log({ text: `echo: accept failed error=${fd}` });
        }
      }
      for (const c of ready) {
        const d = yield* api.read(c.fd, ECHO_READ_BYTES);
        let error = typeof d === 'number' ? d : 0;
        if (typeof d !== 'number' && d.length > 0) {
          const w = yield* api.write(c.fd, d);
          if (w < 0) error = w;
          else {
            c.bytes += d.length;
            continue;
          }
        }
        yield* api.close(c.fd);
        conns.splice(conns.indexOf(c), 1);
        yield* sys.debug_log({ text: `echo: closed conn=${c.n} bytes=${c.bytes} error=${error}` });
      }
    }
  };
}

export function echoClient(open: SocketOpener): (ctx: GuestContext) => G<void> {
  return function* (ctx) {
    const ip = num(ctx.params, 'peerIp', 0);
    const port = num(ctx.params, 'port', 7);
    const api = yield* open(ctx);
    if (api === undefined) {
      yield* sys.debug_log({ text: 'connect: no sockets (registry not found)' });
      return;
    }
    const tries = num(ctx.params, 'tries', CONNECT_TRIES);
    let fd = -1;
    for (let i = 1; ; i++) {
      fd = yield* api.socket();
      const kr = fd < 0 ? fd : yield* api.connect(fd, ip, port);
      if (kr >= 0) break;
      if (fd >= 0) yield* api.close(fd);
      if (i >= tries) {
        yield* sys.debug_log({ text: `connect: failed ${ipText(ip)}:${port} error=${kr} tries=${i}` });
        return;
      }
      yield* sys.debug_log({ text: `connect: ${ipText(ip)}:${port} error=${kr}, trying again in 1 s` });
      yield* sys.thread_sleep_ns({ ns: 1_000_000_000 });
    }
    yield* sys.debug_log({ text: `connect: connected ${ipText(ip)}:${port}` });
    const r = yield* echoStream(api, fd);
    yield* api.close(fd);
    yield* sys.debug_log({ text: `connect: closed bytes=${r.bytes} error=${r.error}` });
  };
}
