/**
 * The paper's benchmark programs (P §4): a ttcp-like throughput sender and receiver, a ping-pong
 * round-trip timer, a connection-setup timer and an echo server. Each logs one `key=value` line
 * that scenarios parse. Parameters: `peerIp`, `port`, sizes and counts.
 *
 * The programs are written against SocketApi (userland/netlib/socket-api.ts), so the same code
 * runs over every organization: `xxxWith(opener)` builds the program over a socket implementation,
 * and the plain names (`ttcpSender`, ...) are the programs over the linked library.
 */
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { sys } from '../mach/syscalls.ts';
import { librarySockets } from '../netlib/lib-sockets.ts';
import type { SocketOpener } from '../netlib/socket-api.ts';
import { num } from './params.ts';


/** The byte at stream offset `i` of a ttcp-style stream: a function of the offset, so a receiver checks it exactly. */
export const streamByte = (i: number): number => (i * 7 + (i >>> 8)) & 0xff;

function pattern(n: number, base: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (base + streamByte(i)) & 0xff;
  return b;
}

/** Sender: connect, write `bytes` in writes of `writeSize`, close. Logs `sent=<n> ns=<t>`. */
export const ttcpSenderWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const lib = yield* open(ctx);
  if (lib === undefined) return;
  yield* sys.thread_sleep_ns({ ns: num(p, 'startDelayNs', 0) + 1000 });
  const fd = yield* lib.socket();
  if (num(p, 'localPort', 0) !== 0) yield* lib.bind(fd, num(p, 'localPort', 0));
  const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 5001));
  if (kr < 0) {
    yield* sys.debug_log({ text: `connect failed ${kr}` });
    return;
  }
  const total = num(p, 'bytes', 1 << 20);
  const ws = num(p, 'writeSize', 4096);
  const buf = pattern(ws, 0);
  const t0 = yield* lib.now();
  let sent = 0;
  while (sent < total) {
    const n = Math.min(ws, total - sent);
    // the byte stream is a function of the stream offset: the receiver checks it exactly
    for (let i = 0; i < n; i++) buf[i] = streamByte(sent + i);
    const w = yield* lib.write(fd, n === ws ? buf : buf.subarray(0, n));
    if (w < 0) {
      yield* sys.debug_log({ text: `write failed ${w} sent=${sent}` });
      return;
    }
    sent += w;
  }
  const t1 = yield* lib.now();
  yield* lib.close(fd);
  const extra = lib.logFields('sender');
  yield* sys.debug_log({ text: `sent=${sent} ns=${t1 - t0}${extra === '' ? '' : ' ' + extra}` });
};
export const ttcpSender: GuestProgram = ttcpSenderWith(librarySockets);

/** Receiver: listen, accept one connection, read until EOF checking the pattern. Logs `received=<n> bad=<n> firstNs lastNs`. */
export const ttcpReceiverWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const lib = yield* open(ctx);
  if (lib === undefined) return;
  const ls = yield* lib.socket();
  yield* lib.bind(ls, num(p, 'port', 5001));
  const lr = yield* lib.listen(ls, num(p, 'backlog', 5));
  yield* sys.debug_log({ text: `listening ${lr}` });
  const fd = yield* lib.accept(ls);
  if (fd < 0) {
    yield* sys.debug_log({ text: `accept failed ${fd}` });
    return;
  }
  let received = 0;
  let bad = 0;
  let firstNs = -1;
  let lastNs = -1;
  let bytesAfterFirst = 0;
  for (;;) {
    const d = yield* lib.read(fd, 1 << 16);
    if (typeof d === 'number') {
      yield* sys.debug_log({ text: `read error ${d}` });
      break;
    }
    if (d.length === 0) break;
    const t = yield* lib.now();
    if (firstNs < 0) firstNs = t;
    else bytesAfterFirst += d.length;
    lastNs = t;
    for (let i = 0; i < d.length; i++) if (d[i] !== streamByte(received + i)) bad++;
    ctx.spend(d.length); // the check touches every byte
    received += d.length;
  }
  yield* lib.close(fd);
  const extra = lib.logFields('receiver');
  yield* sys.debug_log({ text: `received=${received} bad=${bad}${extra === '' ? '' : ' ' + extra} firstNs=${firstNs} lastNs=${lastNs} bytesAfterFirst=${bytesAfterFirst}` });
};
export const ttcpReceiver: GuestProgram = ttcpReceiverWith(librarySockets);

/** Ping-pong client: `rounds` exchanges of `size` bytes. Logs `rtts=<n> meanNs=<t>`. */
export const pingClientWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const lib = yield* open(ctx);
  if (lib === undefined) return;
  yield* sys.thread_sleep_ns({ ns: 1000 });
  const fd = yield* lib.socket();
  const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 7));
  if (kr < 0) {
    yield* sys.debug_log({ text: `connect failed ${kr}` });
    return;
  }
  const size = num(p, 'size', 1);
  const rounds = num(p, 'rounds', 20);
  const warm = num(p, 'warmup', 3);
  const msg = pattern(size, 1);
  let t0 = 0;
  for (let r = 0; r < rounds + warm; r++) {
    if (r === warm) t0 = yield* lib.now();
    yield* lib.write(fd, msg);
    let got = 0;
    while (got < size) {
      const d = yield* lib.read(fd, size - got);
      if (typeof d === 'number' || d.length === 0) {
        yield* sys.debug_log({ text: `ping read failed ${String(d)}` });
        return;
      }
      got += d.length;
    }
  }
  const t1 = yield* lib.now();
  yield* lib.close(fd);
  yield* sys.debug_log({ text: `rtts=${rounds} meanNs=${Math.round((t1 - t0) / rounds)}` });
};
export const pingClient: GuestProgram = pingClientWith(librarySockets);

/** Echo server: accept `conns` connections one after another; echo each until EOF. */
export const echoServerWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const lib = yield* open(ctx);
  if (lib === undefined) return;
  const ls = yield* lib.socket();
  yield* lib.bind(ls, num(p, 'port', 7));
  yield* lib.listen(ls, num(p, 'backlog', 5));
  for (let c = 0; c < num(p, 'conns', 1); c++) {
    const fd = yield* lib.accept(ls);
    if (fd < 0) return;
    for (;;) {
      const d = yield* lib.read(fd, 1 << 16);
      if (typeof d === 'number' || d.length === 0) break;
      yield* lib.write(fd, d);
    }
    yield* lib.close(fd);
  }
  yield* sys.debug_log({ text: 'echo done' });
};
export const echoServer: GuestProgram = echoServerWith(librarySockets);

/**
 * Connection-setup timer: `opens` active opens to a listener, each closed after. Logs per-phase
 * means (µs): the implementation's own phases when it measures them (the library), else the
 * application's clock around `connect` (totalUs only; the other fields 0). Parameter `settleNs`
 * (default 0): a pause before each open.
 */
export const connSetupTimerWith = (open: SocketOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const lib = yield* open(ctx);
  if (lib === undefined) return;
  yield* sys.thread_sleep_ns({ ns: 1000 });
  const opens = num(p, 'opens', 5);
  const sum = { total: 0, outbound: 0, rtt: 0, channel: 0, tcb: 0, registry: 0, importUs: 0 };
  let ok = 0;
  const settleNs = num(p, 'settleNs', 0);
  for (let i = 0; i < opens; i++) {
    // Optionally let the previous connection's close finish first (an implementation whose close
    // returns before the FIN exchange would otherwise time that work into the next open).
    if (settleNs > 0) yield* sys.thread_sleep_ns({ ns: settleNs });
    const phased = lib.setupPhases !== undefined;
    const fd = yield* lib.socket();
    const t0 = phased ? 0 : yield* lib.now();
    const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 7));
    if (kr < 0) {
      yield* sys.debug_log({ text: `connect failed ${kr}` });
      continue;
    }
    const s = lib.setupPhases?.();
    if (s !== undefined) {
      sum.total += s.totalUs;
      sum.outbound += s.outboundUs;
      sum.rtt += s.peerRttUs;
      sum.channel += s.channelUs;
      sum.tcb += s.tcbUs;
      sum.registry += s.registryTotalUs;
      sum.importUs += s.importUs;
    } else sum.total += ((yield* lib.now()) - t0) / 1000;
    ok++;
    yield* lib.close(fd);
  }
  const m = (x: number): number => Math.round(x / Math.max(1, ok));
  yield* sys.debug_log({
    text: `opens=${ok} totalUs=${m(sum.total)} outboundUs=${m(sum.outbound)} rttUs=${m(sum.rtt)} channelUs=${m(sum.channel)} tcbUs=${m(sum.tcb)} registryUs=${m(sum.registry)} importUs=${m(sum.importUs)}`,
  });
};
export const connSetupTimer: GuestProgram = connSetupTimerWith(librarySockets);
