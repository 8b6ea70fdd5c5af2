/**
 * Guest programs for the isolation tests (issue 13): attackers that are valid in every respect
 * but the one under test, and the plain clients and servers they attack.
 */
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { sys } from '../../../userland/mach/syscalls.ts';
import { TcpLib } from '../../../userland/netlib/tcp-lib.ts';
import { tcpFrame } from '../../../userland/netlib/frames.ts';
import { macJoin } from '../../../userland/netlib/registry-proto.ts';
import { num } from '../../../userland/apps/params.ts';
import type { Seq32 } from '../../../userland/inet/seq32.ts';

/** The payload every injected frame carries, so a test can find it in any ring page. */
export const INJECT_MARK = Uint8Array.of(0x49, 0x4e, 0x4a, 0x45, 0x43, 0x54, 0x21, 0x21); // 'INJECT!!'

/** Server: listen on `port`, accept one connection, close it at once (lingerNs `lingerNs`), then stay alive `holdNs`. */
export const acceptAndClose: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = lib.socket();
  lib.bind(ls, num(p, 'port', 81));
  yield* lib.listen(ls, 5);
  const fd = yield* lib.accept(ls);
  yield* sys.debug_log({ text: `accepted fd=${fd}` });
  const kr = yield* lib.close(fd, num(p, 'lingerNs', 2_000_000_000));
  yield* sys.debug_log({ text: `closed=${kr}` });
  yield* sys.thread_sleep_ns({ ns: num(p, 'holdNs', 0) });
};

/**
 * The F1 attacker: connect to `peerIp:port`, read until the peer closes, keep the channel open
 * (never close), wait `attackDelayNs`, then send `frames` frames through its own channel: valid
 * for its template in every byte (its own addresses, ports and the peer's BQI it was given).
 */
export const keepOpenInjector: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  yield* sys.thread_sleep_ns({ ns: 1000 });
  const fd = lib.socket();
  const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 81));
  const conn = lib.conn(fd);
  if (kr !== 0 || conn === undefined) {
    yield* sys.debug_log({ text: `connect failed ${kr}` });
    return;
  }
  for (;;) {
    const d = yield* lib.read(fd, 4096);
    if (typeof d === 'number' || d.length === 0) break;
  }
  yield* sys.debug_log({ text: `peer closed localPort=${conn.sock.localPort}` });
  yield* sys.thread_sleep_ns({ ns: num(p, 'attackDelayNs', 20_000_000) });
  const w = conn.grant.w;
  const f = tcpFrame(
    { link: lib.link, srcMac: macJoin(w.localMacHi, w.localMacLo), dstMac: macJoin(w.peerMacHi, w.peerMacLo), srcIp: w.localIp >>> 0, dstIp: conn.sock.remoteIp >>> 0, dstBqi: w.peerBqi },
    { srcPort: conn.sock.localPort, dstPort: conn.sock.remotePort, seq: 1 as Seq32, ack: 1 as Seq32, flags: 0x18, window: 1000, urgentPtr: 0, mss: null, payload: INJECT_MARK } as never,
  );
  const at = conn.ch.txOffset + (conn.ch.txPages - 1) * 4096; // the last transmit page: the library's own frames start at the first
  ctx.mem.writeBytes(conn.ch.grant.address + at, f);
  let sent = 0;
  let last = 0;
  for (let i = 0; i < num(p, 'frames', 20); i++) {
    const r = yield* sys.net_send({ channel: conn.ch.grant.channel, offset: at, length: f.length });
    last = r.kr;
    if (r.kr === 0) sent++;
    yield* sys.thread_sleep_ns({ ns: 200_000 });
  }
  yield* sys.debug_log({ text: `injected=${sent} lastKr=${last}` });
  yield* sys.thread_sleep_ns({ ns: num(p, 'holdNs', 1_000_000_000) });
};

/** A client that connects to `peerIp:port` after `startDelayNs` and then stays idle (reads with a timeout) for `idleNs`. */
export const idleClient: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  yield* sys.thread_sleep_ns({ ns: num(p, 'startDelayNs', 0) + 1000 });
  const fd = lib.socket();
  const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 82));
  const c = lib.conn(fd);
  yield* sys.debug_log({ text: `connected=${kr} bqi=${c?.grant.w.bqi ?? -1}` });
  if (kr !== 0) return;
  let got = 0;
  const until = (yield* lib.now()) + num(p, 'idleNs', 100_000_000);
  for (;;) {
    const now = yield* lib.now();
    if (now >= until) break;
    const d = yield* lib.read(fd, 4096, until - now);
    if (typeof d === 'number' || d.length === 0) break;
    got += d.length;
  }
  yield* sys.debug_log({ text: `idle done got=${got}` });
  yield* sys.thread_sleep_ns({ ns: num(p, 'holdNs', 1_000_000) });
  yield* lib.close(fd);
};

/** A server that accepts `conns` connections on `port` and keeps each open (reading) until the peer closes. */
export const holdServer: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = lib.socket();
  lib.bind(ls, num(p, 'port', 82));
  yield* lib.listen(ls, 16);
  for (let i = 0; i < num(p, 'conns', 1); i++) {
    const fd = yield* lib.accept(ls);
    yield* sys.thread_create({
      program: function* () {
        for (;;) {
          const d = yield* lib.read(fd, 4096);
          if (typeof d === 'number' || d.length === 0) break;
        }
        yield* lib.close(fd);
      },
      priority: -1,
    });
  }
  yield* sys.thread_sleep_ns({ ns: num(p, 'holdNs', 10_000_000_000) });
};

/** A server on `port` that writes `bytes` to the first connection it accepts (in 1 KB writes), then closes. Logs `wrote=`. */
export const writerServer: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = lib.socket();
  lib.bind(ls, num(p, 'port', 83));
  yield* lib.listen(ls, 5);
  const fd = yield* lib.accept(ls);
  const chunk = new Uint8Array(1024).fill(0x5a);
  chunk.set(INJECT_MARK, 0);
  let wrote = 0;
  const total = num(p, 'bytes', 64 * 1024);
  while (wrote < total) {
    const r = yield* lib.write(fd, chunk);
    if (r < 0) break;
    wrote += chunk.length;
  }
  yield* sys.debug_log({ text: `wrote=${wrote}` });
  yield* lib.close(fd);
};

/** A client that connects to `peerIp:port`, reads `readBytes`, then closes with linger `lingerNs` (0: hand the close to the registry at once). */
export const readThenAbandon: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  yield* sys.thread_sleep_ns({ ns: 1000 });
  const fd = lib.socket();
  const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 83));
  if (kr !== 0) {
    yield* sys.debug_log({ text: `connect failed ${kr}` });
    return;
  }
  let got = 0;
  while (got < num(p, 'readBytes', 1024)) {
    const d = yield* lib.read(fd, 4096);
    if (typeof d === 'number' || d.length === 0) break;
    got += d.length;
  }
  yield* lib.close(fd, num(p, 'lingerNs', 0));
  yield* sys.debug_log({ text: `abandoned got=${got} handed=${lib.closesHandedOver}` });
};
