/** Guest programs for the library's select/poll tests (issue 17 item 2). */
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { sys } from '../../../userland/mach/syscalls.ts';
import { TcpLib } from '../../../userland/netlib/tcp-lib.ts';
import { POLL, selectOver, type PollFd, type SocketApi, type SocketOpener } from '../../../userland/netlib/socket-api.ts';
import type { TrapRequest, TrapResult } from '../../../kernel/abi/syscalls.ts';
import { libSocketApi } from '../../../userland/netlib/lib-sockets.ts';
import { num } from '../../../userland/apps/params.ts';
import { byteAt } from './programs.ts';

const countBytes = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

type G<T> = Generator<TrapRequest, T, TrapResult>;
type Ctx = Parameters<GuestProgram>[0];

/** Over `api`: a socket bound to `port` (default 80) and listening with `backlog`. */
function* listening(api: SocketApi, ctx: Ctx, backlog: number): G<number> {
  const ls = yield* api.socket();
  yield* api.bind(ls, num(ctx.params, 'port', 80));
  yield* api.listen(ls, backlog);
  return ls;
}

/** Over `api`: a socket connected to (peerIp, port), or undefined after logging `connect failed <kr>`. */
function* connected(api: SocketApi, ctx: Ctx): G<number | undefined> {
  const fd = yield* api.socket();
  const kr = yield* api.connect(fd, num(ctx.params, 'peerIp', 0), num(ctx.params, 'port', 80));
  if (kr === 0) return fd;
  yield* sys.debug_log({ text: `connect failed ${kr}` });
  return undefined;
}

/**
 * One application thread serves `conns` connections of listener `ls` with select: the listener is
 * in the read set until all are accepted, each accepted connection too; every byte is checked
 * against byteAt (salt = its first byte); at a connection's end of stream its count is written back
 * and it is closed. Reads pass `readTimeoutNs` (a ready socket never blocks). Logs `served= bad=
 * total= selects=` and `extra()` (or `select error <code>`).
 */
function* selectServe(api: SocketApi, ls: number, conns: number, readTimeoutNs: number | undefined, extra: () => string): G<void> {
  const open = new Map<number, { got: number; salt: number }>();
  let accepted = 0;
  let served = 0;
  let bad = 0;
  let total = 0;
  let selects = 0;
  while (served < conns) {
    const r = yield* selectOver(api, [...(accepted < conns ? [ls] : []), ...open.keys()], [], [...open.keys()]);
    selects++;
    if (typeof r === 'number') {
      yield* sys.debug_log({ text: `select error ${r}` });
      return;
    }
    for (const fd of r.read) {
      if (fd === ls) {
        const c = yield* api.accept(ls);
        if (c >= 0) {
          open.set(c, { got: 0, salt: -1 });
          accepted++;
        } else yield* sys.debug_log({ text: `accept error ${c}` });
        continue;
      }
      const st = open.get(fd)!;
      const d = yield* api.read(fd, 1 << 16, readTimeoutNs);
      if (typeof d === 'number' || d.length === 0) {
        if (typeof d !== 'number') yield* api.write(fd, countBytes(st.got));
        yield* api.close(fd);
        open.delete(fd);
        total += st.got;
        served++;
        continue;
      }
      for (let k = 0; k < d.length; k++) {
        if (st.salt < 0) st.salt = d[0]!;
        if (d[k] !== byteAt(st.got + k, st.salt)) bad++;
      }
      st.got += d.length;
    }
  }
  yield* sys.debug_log({ text: `served=${served} bad=${bad} total=${total} selects=${selects}${extra()}` });
}

/**
 * selectServe over the library (backlog 16, non-blocking reads); also logs `waitAny=` and
 * `preAccepts=` (threads: the task's kernel threads besides the pre-accept ones, from
 * thread_create: none).
 */
export const selectServer: GuestProgram = function* (ctx) {
  const lib = (yield* TcpLib.init(ctx))!;
  const api = libSocketApi(lib);
  const ls = yield* listening(api, ctx, num(ctx.params, 'backlog', 16));
  yield* sys.debug_log({ text: 'listening' });
  yield* selectServe(api, ls, num(ctx.params, 'conns', 3), 0, () => ` waitAny=${lib.pool.stats.kernelWaitAnyTotal} preAccepts=${lib.preAcceptsTotal}`);
};

/** Accept one connection and hold it: sleep `holdNs`, then (mode) close it, or exit without closing (the registry resets it). */
export const holdServer: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = yield* listening(libSocketApi(lib), ctx, 4);
  const fd = yield* lib.accept(ls);
  yield* sys.debug_log({ text: `accepted=${fd}` });
  yield* sys.thread_sleep_ns({ ns: num(p, 'holdNs', 1_000_000_000) });
  if (num(p, 'reset', 0) === 1) {
    yield* sys.debug_log({ text: 'exiting without close' });
    return; // libMain: task_exit, the registry inherits the connection and resets the peer
  }
  yield* lib.close(fd);
  yield* sys.debug_log({ text: 'closed' });
};

/**
 * Connect, then: polls with timeouts on the idle connection (and on nothing), logging each wait
 * (`wait<T>=<elapsed>`); bad-argument calls (`bad=<codes>`); then waits for the peer's close or
 * reset with poll and logs `end=<revents> read=<result>`; after its own shutdown `hup=<revents>`;
 * on a closed fd `nval=<revents>`.
 */
export const pollClient: GuestProgram = function* (ctx) {
  const lib = (yield* TcpLib.init(ctx))!;
  const fd = yield* connected(libSocketApi(lib), ctx);
  if (fd === undefined) return;
  const waits = [0, 1_000, 1_000_000, 7_500_000, 250_000_000];
  for (const t of waits) {
    const t0 = yield* lib.now();
    const r = yield* lib.poll([{ fd, events: POLL.IN }], t);
    const t1 = yield* lib.now();
    yield* sys.debug_log({ text: `wait${t}=${t1 - t0} r=${JSON.stringify(r)}` });
  }
  {
    const t0 = yield* lib.now();
    const r = yield* lib.poll([], 3_000_000);
    const t1 = yield* lib.now();
    yield* sys.debug_log({ text: `waitEmpty=${t1 - t0} r=${JSON.stringify(r)}` });
  }
  // Writable at once (the send buffer is empty).
  const w = yield* lib.poll([{ fd, events: POLL.OUT | POLL.IN }], 0);
  yield* sys.debug_log({ text: `out=${JSON.stringify(w)}` });
  // Bad arguments: each call valid except one field.
  const tooMany: PollFd[] = Array.from({ length: 65 }, () => ({ fd, events: POLL.IN }));
  const codes = [
    yield* lib.poll(tooMany, 0),
    yield* lib.poll([{ fd, events: 0x400 }], 0),
    yield* lib.poll([{ fd, events: POLL.IN }], -1),
    yield* lib.poll([{ fd, events: POLL.IN }], Number.NaN),
    yield* lib.poll([{ fd: 1.5, events: POLL.IN }], 0),
    yield* lib.poll(null as unknown as PollFd[], 0),
    yield* lib.poll([null as unknown as PollFd], 0),
    yield* selectOver(libSocketApi(lib), [999], [], [], 0),
  ];
  yield* sys.debug_log({ text: `bad=${JSON.stringify(codes)}` });
  // The largest set is accepted.
  const max = yield* lib.poll(Array.from({ length: 64 }, () => ({ fd, events: POLL.OUT })), 0);
  yield* sys.debug_log({ text: `max=${typeof max === 'number' ? max : max.length}` });
  // The peer closes or resets: poll wakes with the event.
  const t0 = yield* lib.now();
  const end = yield* lib.poll([{ fd, events: POLL.IN }]);
  const t1 = yield* lib.now();
  const rd = yield* lib.read(fd, 100, 0);
  yield* sys.debug_log({ text: `end=${JSON.stringify(end)} after=${t1 - t0} read=${typeof rd === 'number' ? rd : rd.length}` });
  yield* lib.shutdown(fd);
  const hup = yield* lib.poll([{ fd, events: POLL.IN | POLL.OUT }], 2_000_000_000);
  yield* sys.debug_log({ text: `hup=${JSON.stringify(hup)}` });
  yield* lib.close(fd);
  const nval = yield* lib.poll([{ fd, events: POLL.IN }], 0);
  yield* sys.debug_log({ text: `nval=${JSON.stringify(nval)}` });
};

/** Accept `conns` connections, then poll them all `conns` times, logging when each became readable (`woke<i>=<kernel clock>`). */
export const latencyServer: GuestProgram = function* (ctx) {
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = yield* listening(libSocketApi(lib), ctx, 8);
  const n = num(ctx.params, 'conns', 3);
  const fds: number[] = [];
  for (let i = 0; i < n; i++) fds.push(yield* lib.accept(ls));
  for (let round = 0; round < n; round++) {
    const r = yield* lib.poll(fds.map((fd) => ({ fd, events: POLL.IN })));
    const { ns } = yield* sys.clock_get_ns({});
    if (typeof r === 'number') return;
    for (let i = 0; i < n; i++) {
      if ((r[i]! & POLL.IN) === 0) continue;
      yield* lib.read(fds[i]!, 16, 0);
      yield* sys.debug_log({ text: `woke${i}=${ns}` });
    }
  }
  yield* sys.debug_log({ text: `waitAny=${lib.pool.stats.kernelWaitAnyTotal}` });
  for (const fd of fds) yield* lib.close(fd);
};

/** Open `conns` connections from one thread, then every `gapNs` write one byte on connection order[i], logging `sent<i>=<kernel clock>`. */
export const latencyClient: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const n = num(p, 'conns', 3);
  const fds: number[] = [];
  for (let i = 0; i < n; i++) {
    const fd = lib.socket();
    yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 80));
    fds.push(fd);
  }
  const order = [n - 1, 0, ...Array.from({ length: n - 2 }, (_, i) => i + 1)];
  for (const i of order) {
    yield* sys.thread_sleep_ns({ ns: num(p, 'gapNs', 50_000_000) });
    const { ns } = yield* sys.clock_get_ns({});
    yield* lib.write(fds[i]!, Uint8Array.of(i));
    yield* sys.debug_log({ text: `sent${i}=${ns}` });
  }
  yield* sys.thread_sleep_ns({ ns: 100_000_000 });
  for (const fd of fds) yield* lib.close(fd);
};

/** selectServe over any organization's SocketApi (the monolithic kernel's `poll` trap here; backlog 5). */
export const selectServerWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const api = (yield* open(ctx))!;
  const ls = yield* listening(api, ctx, num(ctx.params, 'backlog', 5));
  yield* selectServe(api, ls, num(ctx.params, 'conns', 3), undefined, () => '');
};

/** `threads` threads, each its own connection over `open`: send `bytes` (salt = index + 1), half-close, read the count back. */
export const multiClientWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const threads = num(p, 'threads', 1);
  const bytes = num(p, 'bytes', 10000);
  let ok = 0;
  let finished = 0;
  const body = (i: number): GuestProgram => function* () {
    const api = (yield* open(ctx))!;
    const fd = yield* connected(api, ctx);
    if (fd !== undefined) {
      const salt = i + 1;
      const buf = new Uint8Array(bytes);
      buf.forEach((_, k) => (buf[k] = byteAt(k, salt)));
      buf[0] = salt;
      yield* api.write(fd, buf);
      yield* api.shutdown(fd);
      let d = new Uint8Array(0) as Uint8Array | number;
      const got: number[] = [];
      while (got.length < 4) {
        d = yield* api.read(fd, 4 - got.length);
        if (typeof d === 'number' || d.length === 0) break;
        got.push(...d);
      }
      const n = got.length === 4 ? (((got[0]! << 24) | (got[1]! << 16) | (got[2]! << 8) | got[3]!) >>> 0) : -1;
      if (n === bytes) ok++;
      yield* api.close(fd);
    }
    finished++;
  };
  for (let i = 1; i < threads; i++) yield* sys.thread_create({ program: body(i), priority: -1 });
  yield* body(0)(ctx);
  while (finished < threads) yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  yield* sys.debug_log({ text: `ok=${ok}` });
};

/** Over `open`: connect, timed polls on the idle connection (`wait<T>=`), bad calls (`bad=`), then the peer's close (`end=`). */
export const pollClientWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const api = (yield* open(ctx))!;
  const fd = yield* connected(api, ctx);
  if (fd === undefined) return;
  if (api.poll === undefined) {
    yield* sys.debug_log({ text: 'no poll' });
    return;
  }
  for (const t of [0, 1_000_000, 7_500_000, 250_000_000]) {
    const t0 = yield* api.now();
    const r = yield* api.poll([{ fd, events: POLL.IN }], t);
    const t1 = yield* api.now();
    yield* sys.debug_log({ text: `wait${t}=${t1 - t0} r=${JSON.stringify(r)}` });
  }
  const w = yield* api.poll([{ fd, events: POLL.OUT | POLL.IN }], 0);
  yield* sys.debug_log({ text: `out=${JSON.stringify(w)}` });
  const codes = [
    yield* api.poll(Array.from({ length: 65 }, () => ({ fd, events: POLL.IN })), 0),
    yield* api.poll([{ fd, events: 0x400 }], 0),
    yield* api.poll([{ fd, events: POLL.IN }], -1),
    yield* selectOver(api, [999], [], [], 0),
  ];
  yield* sys.debug_log({ text: `bad=${JSON.stringify(codes)}` });
  const end = yield* api.poll([{ fd, events: POLL.IN }]);
  const rd = yield* api.read(fd, 100);
  yield* sys.debug_log({ text: `end=${JSON.stringify(end)} read=${typeof rd === 'number' ? rd : rd.length}` });
  yield* api.close(fd);
  const nval = yield* api.poll([{ fd, events: POLL.IN }], 0);
  yield* sys.debug_log({ text: `nval=${JSON.stringify(nval)}` });
};

/** Accept one connection over `open`, hold it `holdNs`, close it. */
export const holdServerWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const api = (yield* open(ctx))!;
  const ls = yield* listening(api, ctx, 4);
  const fd = yield* api.accept(ls);
  yield* sys.thread_sleep_ns({ ns: num(ctx.params, 'holdNs', 600_000_000) });
  yield* api.close(fd);
};
