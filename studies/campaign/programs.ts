/**
 * Guest programs for the isolation tests (test/system/isolation) and the campaign (issue 13):
 * attackers that are valid in every respect but the one under test, and the plain clients and
 * servers they attack.
 */
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { sys } from '../../userland/mach/syscalls.ts';
import { TcpLib } from '../../userland/netlib/tcp-lib.ts';
import { tcpFrame } from '../../userland/netlib/frames.ts';
import { macJoin, REG_MSG, REGISTRY_SERVICE } from '../../userland/netlib/registry-proto.ts';
import { receive, rpc, send } from '../../userland/mach/ipc.ts';
import { MSG_TYPE, PORT_RIGHT, TASK_PORT } from '../../kernel/abi/message.ts';
import { num } from '../../userland/apps/params.ts';
import type { Seq32 } from '../../userland/inet/seq32.ts';
import type { LibHost } from '../scenarios/library-hosts.ts';

/** The payload every injected frame carries, so a test can find it in any ring page. */
export const INJECT_MARK = Uint8Array.of(0x49, 0x4e, 0x4a, 0x45, 0x43, 0x54, 0x21, 0x21); // 'INJECT!!'

type Lib = TcpLib;
type Conn = NonNullable<ReturnType<TcpLib['conn']>>;

/** Set up the library and connect to `peerIp:port` (logs `connect failed <kr>` and gives undefined). */
function* libConnect(ctx: Parameters<GuestProgram>[0], defaultPort: number, settleNs = 1000): ReturnType<GuestProgram> extends Generator<infer Y, unknown, infer N> ? Generator<Y, { lib: Lib; fd: number; conn: Conn } | undefined, N> : never {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  if (settleNs > 0) yield* sys.thread_sleep_ns({ ns: settleNs });
  const fd = lib.socket();
  const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', defaultPort), num(p, 'rate', 0));
  const conn = lib.conn(fd);
  if (kr !== 0 || conn === undefined) {
    yield* sys.debug_log({ text: `connect failed ${kr}` });
    return undefined;
  }
  return { lib, fd, conn };
}

/** A frame valid for `conn`'s template in every byte (its own addresses and ports, the peer's BQI). */
function templateFrame(lib: Lib, conn: Conn, tcp: { flags: number; window: number; payload: Uint8Array }): Uint8Array {
  const w = conn.grant.w;
  return tcpFrame(
    { link: lib.link, srcMac: macJoin(w.localMacHi, w.localMacLo), dstMac: macJoin(w.peerMacHi, w.peerMacLo), srcIp: w.localIp >>> 0, dstIp: conn.sock.remoteIp >>> 0, dstBqi: w.peerBqi },
    { srcPort: conn.sock.localPort, dstPort: conn.sock.remotePort, seq: 1 as Seq32, ack: 1 as Seq32, urgentPtr: 0, mss: null, ...tcp } as never,
  );
}

/** Server: listen on `port`, accept one connection, close it at once (lingerNs `lingerNs`), then stay alive `holdNs`. */
export const acceptAndClose: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = lib.socket();
  lib.bind(ls, num(p, 'port', 81));
  yield* lib.listen(ls, 5);
  const fd = yield* lib.accept(ls);
  yield* sys.debug_log({ text: `accepted fd=${fd}` });
  if (p['noClose'] === true) yield* sys.thread_sleep_ns({ ns: 100e9 }); // killed by the test instead
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
  const c = yield* libConnect(ctx, 81);
  if (c === undefined) return;
  const { lib, fd, conn } = c;
  for (;;) {
    const d = yield* lib.read(fd, 4096);
    if (typeof d === 'number' || d.length === 0) break;
  }
  yield* sys.debug_log({ text: `peer closed localPort=${conn.sock.localPort}` });
  yield* sys.thread_sleep_ns({ ns: num(p, 'attackDelayNs', 20_000_000) });
  const f = templateFrame(lib, conn, { flags: 0x18, window: 1000, payload: INJECT_MARK });
  const at = conn.ch.txOffset + (conn.ch.txPages - 1) * 4096; // the last transmit page: the library's own frames start at the first
  ctx.mem.writeBytes(conn.ch.grant.address + at, f);
  let sent = 0;
  let last = 0;
  for (let i = 0; i < num(p, 'frames', 20); i++) {
    const r = yield* sys.net_send({ channel: conn.ch.grant.channel, offset: at, length: f.length });
    last = r.kr;
    if (r.kr === 0) sent++;
    yield* sys.thread_sleep_ns({ ns: num(p, 'intervalNs', 200_000) });
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

/**
 * A server that accepts `conns` connections on `port` (each ACCEPT asking for a rate reservation
 * of `rate` wire bytes/s, 0 best effort) and keeps each open (reading) until the peer closes.
 * A refused ACCEPT is logged (`accept failed <code>`) and ends the accepting.
 */
export const holdServer: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = lib.socket();
  lib.bind(ls, num(p, 'port', 82));
  yield* lib.listen(ls, 16);
  for (let i = 0; i < num(p, 'conns', 1); i++) {
    const fd = yield* lib.accept(ls, num(p, 'rate', 0));
    if (fd < 0) {
      yield* sys.debug_log({ text: `accept failed ${fd}` });
      break;
    }
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

/**
 * Raw registry requests, as a library would send them but with the fields under test: `n`
 * messages of id `msgId`, int32 words `w0..w3` (word `varyIndex` incremented by one per message),
 * the task port as the port item, a send-once reply right each. A second thread counts the replies
 * by code; after `waitNs` (or all replies) logs `replies=<n> codes=<code>:<count>,...` and, with
 * `holdNs`, stays alive that long. With `dieAfterSend` it exits as soon as the requests are sent.
 */
export const regRequests: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const reg = yield* sys.bootstrap_look_up({ service: REGISTRY_SERVICE });
  const self = yield* sys.task_get_special_port({ which: TASK_PORT.KERNEL });
  const { name: replyPort } = yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE });
  yield* sys.mach_port_set_qlimit({ name: replyPort, qlimit: 1024 });
  if (num(p, 'listenFirst', 0) > 0) {
    const l = yield* rpc(reg.name, replyPort, REG_MSG.LISTEN, [
      { type: 'int32', values: [num(p, 'listenFirst', 0), 5] },
      { type: 'port', name: self.name, disposition: MSG_TYPE.COPY_SEND },
    ]);
    const it = l.msg?.items[0];
    yield* sys.debug_log({ text: `listen=${it?.type === 'int32' ? it.values[0] : -1}` });
  }
  const n = num(p, 'n', 1);
  const codes = new Map<number, number>();
  let replies = 0;
  yield* sys.thread_create({
    program: function* () {
      for (;;) {
        const r = yield* receive(replyPort);
        if (r.kr !== 0) return;
        replies++;
        const it = r.msg?.items[0];
        const code = it?.type === 'int32' ? (it.values[0] ?? -1) : it?.type === 'port' ? 0 : -2;
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    },
    priority: -1,
  });
  const words = [num(p, 'w0', 0), num(p, 'w1', 0), num(p, 'w2', 0), num(p, 'w3', 0)].slice(0, num(p, 'words', 3));
  const vary = num(p, 'varyIndex', -1);
  for (let i = 0; i < n; i++) {
    const values = words.map((x, k) => (k === vary ? x + i : x));
    yield* send(reg.name, num(p, 'msgId', REG_MSG.CONNECT), [
      { type: 'int32', values },
      { type: 'port', name: self.name, disposition: MSG_TYPE.COPY_SEND },
    ], { reply: replyPort });
  }
  yield* sys.debug_log({ text: `sent=${n}` });
  if (p['dieAfterSend'] === true) return;
  if (p['unlistenAfter'] === true) {
    yield* sys.thread_sleep_ns({ ns: 5_000_000 });
    yield* send(reg.name, REG_MSG.UNLISTEN, [
      { type: 'int32', values: [num(p, 'listenFirst', 0)] },
      { type: 'port', name: self.name, disposition: MSG_TYPE.COPY_SEND },
    ], { reply: replyPort });
  }
  const t0 = (yield* sys.clock_get_ns({})).ns;
  while (replies < n && (yield* sys.clock_get_ns({})).ns - t0 < num(p, 'waitNs', 100_000_000)) yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  yield* sys.debug_log({ text: `replies=${replies} codes=${[...codes].sort((a, b) => a[0] - b[0]).map(([c, k]) => `${c}:${k}`).join(',')}` });
  yield* sys.thread_sleep_ns({ ns: num(p, 'holdNs', 0) });
};

/** The count of replies with `code` in a regRequests log. */
export function replyCount(log: readonly string[], code: number): number {
  const l = log.find((x) => x.startsWith('replies='));
  const m = l?.match(new RegExp(`[=,]${code}:(\\d+)`));
  return m === undefined || m === null ? 0 : Number(m[1]);
}

/** Connect to `peerIp:port`, write `bytes`, close (linger `lingerNs`); logs `connectedAt=` and `closeAt=` (ns since the task began). */
export const connectWriteClose: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const t0 = yield* lib.now();
  const fd = lib.socket();
  const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 82));
  yield* sys.debug_log({ text: `connected=${kr} connectedAt=${(yield* lib.now()) - t0}` });
  if (kr !== 0) return;
  yield* lib.write(fd, new Uint8Array(num(p, 'bytes', 8192)).fill(7));
  yield* sys.debug_log({ text: `closeAt=${(yield* lib.now()) - t0}` });
  yield* lib.close(fd, num(p, 'lingerNs', 2_000_000_000));
  yield* sys.debug_log({ text: `closed` });
};

/**
 * Template sweep: connect to `peerIp:port`, build a frame valid for this connection's template in
 * every byte, send it (logs `valid=`), then for each header byte offset send it with only that
 * byte changed. Logs `refused=<offsets whose change net_send refused>` and `otherKr=` (any code
 * other than success and TEMPLATE_MISMATCH, -1 if none).
 */
export const fieldSweep: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const c = yield* libConnect(ctx, 82);
  if (c === undefined) return;
  const { lib, fd, conn } = c;
  const f = templateFrame(lib, conn, { flags: 0x10, window: 0, payload: new Uint8Array(0) });
  const at = conn.ch.txOffset + (conn.ch.txPages - 1) * 4096;
  const base = conn.ch.grant.address + at;
  const sendOne = function* (g: Uint8Array) {
    ctx.mem.writeBytes(base, g);
    return (yield* sys.net_send({ channel: conn.ch.grant.channel, offset: at, length: g.length })).kr;
  };
  const valid = yield* sendOne(f);
  const refused: number[] = [];
  let otherKr = -1;
  const hdr = (lib.link === 'an1' ? 20 : 14) + 40;
  for (let off = 0; off < hdr; off++) {
    const g = f.slice();
    g[off] = g[off]! ^ 0x55;
    const r = yield* sendOne(g);
    if (r === 2600) refused.push(off);
    else if (r !== 0) otherKr = r;
    yield* sys.thread_sleep_ns({ ns: 50_000 });
  }
  yield* sys.debug_log({ text: `valid=${valid} otherKr=${otherKr}` });
  yield* sys.debug_log({ text: `refused=${refused.join(',')}` });
};

/**
 * The F8 flooder: connect to `peerIp:port` (with a rate reservation `rate`, wire bytes/s; 0 best
 * effort), then (at `startAtNs` on the clock, if later) send frames valid for its template (its
 * own connection, `frameBytes` long) through its channel as fast as net_send takes them, for `floodNs`. Logs `flood start t0=` and
 * then `flooded=<frames accepted> refused=<frames refused> t0= tLast=<ns of the last accepted
 * send's return> len=<frame bytes>`.
 */
export const flooder: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const c = yield* libConnect(ctx, 82, 0);
  if (c === undefined) return;
  const { lib, conn } = c;
  yield* conn.stop(); // the library's network thread gets out of the way: the channel is ours
  const hdr = lib.link === 'an1' ? 20 : 14;
  const f = templateFrame(lib, conn, { flags: 0x10, window: 0, payload: new Uint8Array(Math.max(0, num(p, 'frameBytes', 1514) - hdr - 40)) });
  const pages = conn.ch.txPages;
  for (let k = 0; k < pages; k++) ctx.mem.writeBytes(conn.ch.grant.address + conn.ch.txOffset + k * 4096, f);
  const startAt = num(p, 'startAtNs', 0); // flooders that should start together wait for the same instant
  const now0 = (yield* sys.clock_get_ns({})).ns;
  if (startAt > now0) yield* sys.thread_sleep_ns({ ns: startAt - now0 });
  const t0 = (yield* sys.clock_get_ns({})).ns;
  yield* sys.debug_log({ text: `flood start t0=${t0}` });
  let sent = 0;
  let refused = 0;
  let tLast = t0;
  for (let i = 0; ; i++) {
    const now = (yield* sys.clock_get_ns({})).ns;
    if (now - t0 > num(p, 'floodNs', 1e9)) break;
    const r = yield* sys.net_send({ channel: conn.ch.grant.channel, offset: conn.ch.txOffset + (i % pages) * 4096, length: f.length });
    if (r.kr === 0) {
      sent++;
      tLast = (yield* sys.clock_get_ns({})).ns;
    } else refused++;
  }
  yield* sys.debug_log({ text: `flooded=${sent} refused=${refused} t0=${t0} tLast=${tLast} len=${f.length}` });
};

/**
 * The F8 victim: connect to `peerIp:port` (with a rate reservation `rate`, wire bytes/s; 0 best
 * effort), after `startDelayNs`; write `bytes`; close (waiting for the peer's acknowledgement of
 * everything). Logs `victim connected=<kr>` and then `victim wrote=<bytes> closed=<kr> ns=<first
 * write to close done>`.
 */
export const rateVictim: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  yield* sys.thread_sleep_ns({ ns: num(p, 'startDelayNs', 0) + 1000 });
  const fd = lib.socket();
  const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 82), num(p, 'rate', 0));
  yield* sys.debug_log({ text: `victim connected=${kr}` });
  if (kr !== 0) return;
  const t0 = yield* lib.now();
  const n = yield* lib.write(fd, new Uint8Array(num(p, 'bytes', 1 << 20)).fill(7));
  const k = lib.conn(fd)!.sock.conn.counters;
  const rto = k.retransmitTimeouts;
  const fast = k.fastRetransmits;
  const closed = yield* lib.close(fd, 20_000_000_000);
  yield* sys.debug_log({ text: `victim wrote=${n} closed=${closed} ns=${(yield* lib.now()) - t0} rto=${rto} fast=${fast}` });
};

/** Pages of `h`'s connection channels (not the default channel) whose receive slots hold INJECT_MARK, per channel BQI. */
export function markedSlots(h: LibHost, except?: (bqi: number) => boolean): number {
  const ram = h.kernel.host.ram;
  let n = 0;
  for (const ch of h.netio.channels.values()) {
    if (ch.isDefault || except?.(ch.bqi) === true) continue;
    for (let s = 0; s < ch.rxSlots; s++) {
      const a = ch.slotPhys(s);
      const page = ram.subarray(a, a + 4096);
      for (let i = 0; i + INJECT_MARK.length <= page.length; i++) {
        let k = 0;
        while (k < INJECT_MARK.length && page[i + k] === INJECT_MARK[k]) k++;
        if (k === INJECT_MARK.length) {
          n++;
          break;
        }
      }
    }
  }
  return n;
}


/** Connect, RELEASE the connection as a close would (proof: the channel right) but keep the channel, then send through it. Logs `before= after=`. */
export const releaseAndKeep: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const c = yield* libConnect(ctx, 82, 0);
  if (c === undefined) return;
  const { lib, fd, conn } = c;
  yield* conn.stop();
  const f = templateFrame(lib, conn, { flags: 0x10, window: 0, payload: new Uint8Array(0) });
  const at = conn.ch.txOffset + (conn.ch.txPages - 1) * 4096;
  ctx.mem.writeBytes(conn.ch.grant.address + at, f);
  const before = (yield* sys.net_send({ channel: conn.ch.grant.channel, offset: at, length: f.length })).kr;
  const reg = yield* sys.bootstrap_look_up({ service: REGISTRY_SERVICE });
  const self = yield* sys.task_get_special_port({ which: TASK_PORT.KERNEL });
  yield* send(reg.name, REG_MSG.RELEASE, [
    { type: 'int32', values: [conn.sock.localPort, conn.sock.remoteIp >>> 0, conn.sock.remotePort, 1] },
    { type: 'port', name: self.name, disposition: MSG_TYPE.COPY_SEND },
    { type: 'port', name: conn.ch.grant.channel, disposition: MSG_TYPE.COPY_SEND },
  ]);
  yield* sys.thread_sleep_ns({ ns: 5_000_000 });
  const after = (yield* sys.net_send({ channel: conn.ch.grant.channel, offset: at, length: f.length })).kr;
  yield* sys.debug_log({ text: `before=${before} after=${after}` });
};
