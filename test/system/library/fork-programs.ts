/**
 * Guest programs of the fork-sharing tests (issue 17 item 2, docs/fork.md). The collectors are
 * test-side objects the programs fill in (what each reader got, how far each writer came); the
 * stream checks are made by the test.
 */
import { KERN } from '../../../kernel/abi/errors.ts';
import type { GuestContext, GuestProgram } from '../../../kernel/abi/guest.ts';
import { MSG_TYPE, type MsgItem, type PortName } from '../../../kernel/abi/message.ts';
import type { TrapRequest, TrapResult } from '../../../kernel/abi/syscalls.ts';
import { num } from '../../../userland/apps/params.ts';
import { rpc } from '../../../userland/mach/ipc.ts';
import { sys } from '../../../userland/mach/syscalls.ts';
import { forkShared } from '../../../userland/netlib/fork.ts';
import { encodeSnapshot } from '../../../userland/netlib/registry-proto.ts';
import { SHARED_MSG } from '../../../userland/netlib/shared-proto.ts';
import { TcpLib } from '../../../userland/netlib/tcp-lib.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

/** The peer's stream to the forked task: byte i of a hash sequence (no period a misplaced chunk could hide in). */
export const streamByte = (i: number): number => {
  let x = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) & 0xff;
};

export const TAG = { P: 0x50, C: 0x43 } as const;
/** One record a writer sends in one write: tag, seq (big-endian u32), then a pattern of both. */
export function record(tag: number, seq: number, len: number): Uint8Array {
  const r = new Uint8Array(len);
  r[0] = tag;
  r[1] = seq >>> 24;
  r[2] = (seq >>> 16) & 0xff;
  r[3] = (seq >>> 8) & 0xff;
  r[4] = seq & 0xff;
  for (let j = 5; j < len; j++) r[j] = (tag * 31 + seq * 7 + j) & 0xff;
  return r;
}

export interface ForkCollector {
  /** Chunks each reader got, in its order. */
  readonly P: Uint8Array[];
  readonly C: Uint8Array[];
  /** Records each writer got written (write returned). */
  wrote: { P: number; C: number };
  forkKr: number | undefined;
  /** Simulated ns forkShared took in the parent (SHARE, FORK ticket, task_create). */
  forkNs: number;
  forked: boolean;
  /** The child is about to make its first read. */
  childReading: boolean;
  /** Simulated ns (the task's clock) of each holder's close. */
  closedAt: { P: number; C: number };
  errors: string[];
}
export const newCollector = (): ForkCollector => ({ P: [], C: [], wrote: { P: 0, C: 0 }, forkKr: undefined, forkNs: 0, forked: false, childReading: false, closedAt: { P: -1, C: -1 }, errors: [] });

/**
 * The peer (the other host): accept one connection; one thread writes `bytes` of the stream then
 * shuts down, the main thread reads to end of stream parsing records (tag, seq in order per tag,
 * pattern), then logs `peer recP= recC= bad= eofAt=` and closes.
 */
export const forkPeer: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = lib.socket();
  lib.bind(ls, num(p, 'port', 7000));
  yield* lib.listen(ls, 5);
  const fd = yield* lib.accept(ls);
  if (fd < 0) {
    yield* sys.debug_log({ text: `accept failed ${fd}` });
    return;
  }
  const total = num(p, 'bytes', 0);
  let wroteDone = false;
  yield* sys.thread_create({
    priority: -1,
    program: function* () {
      const delay = num(p, 'writeDelayNs', 0);
      if (delay > 0) yield* sys.thread_sleep_ns({ ns: delay });
      const buf = new Uint8Array(4096);
      for (let off = 0; off < total; ) {
        const n = Math.min(buf.length, total - off);
        for (let k = 0; k < n; k++) buf[k] = streamByte(off + k);
        const w = yield* lib.write(fd, buf.subarray(0, n));
        if (w < 0) {
          yield* sys.debug_log({ text: `peer write failed ${w}` });
          break;
        }
        off += n;
      }
      yield* lib.shutdown(fd);
      wroteDone = true;
      yield* sys.thread_exit({});
    },
  });
  const len = num(p, 'recordLen', 1200);
  const rec = { P: 0, C: 0 };
  let bad = 0;
  let pend = new Uint8Array(0);
  for (;;) {
    const d = yield* lib.read(fd, 1 << 16);
    if (typeof d === 'number') {
      yield* sys.debug_log({ text: `peer read failed ${d}` });
      break;
    }
    if (d.length === 0) break;
    const all = new Uint8Array(pend.length + d.length);
    all.set(pend);
    all.set(d, pend.length);
    let o = 0;
    for (; o + len <= all.length; o += len) {
      const tag = all[o]!;
      const who = tag === TAG.P ? 'P' : tag === TAG.C ? 'C' : undefined;
      const seq = ((all[o + 1]! << 24) | (all[o + 2]! << 16) | (all[o + 3]! << 8) | all[o + 4]!) >>> 0;
      if (who === undefined || seq !== rec[who]) {
        bad++;
        continue;
      }
      const want = record(tag, seq, len);
      let ok = true;
      for (let j = 5; j < len; j++) if (all[o + j] !== want[j]) ok = false;
      if (!ok) bad++;
      else rec[who]++;
    }
    pend = all.slice(o);
  }
  const eofAt = (yield* sys.clock_get_ns({})).ns;
  while (!wroteDone) yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  yield* sys.debug_log({ text: `peer recP=${rec.P} recC=${rec.C} bad=${bad + (pend.length > 0 ? 1 : 0)} eofAt=${eofAt}` });
  yield* lib.close(fd);
};

function* writeRecords(lib: TcpLib, fd: number, tag: number, n: number, len: number, col: ForkCollector, who: 'P' | 'C'): G<void> {
  for (let seq = 0; seq < n; seq++) {
    const w = yield* lib.write(fd, record(tag, seq, len));
    if (w !== len) {
      col.errors.push(`${who} write ${seq}: ${w}`);
      return;
    }
    col.wrote[who]++;
  }
}

function* readAll(lib: TcpLib, fd: number, into: Uint8Array[], col: ForkCollector, who: string): G<void> {
  for (;;) {
    const d = yield* lib.read(fd, num({ m: 3000 }, 'm', 3000));
    if (typeof d === 'number') {
      col.errors.push(`${who} read: ${d}`);
      return;
    }
    if (d.length === 0) return;
    into.push(d.slice());
  }
}

/**
 * The forked application (params: peerIp, port, records, recordLen; parent: 'rw' | 'close' (closes at
 * once after the fork); child: 'rw' | 'w' (writes only) | 'r' (reads only)): connect, fork, and both parent and child use the one socket.
 */
export function forker(col: ForkCollector): GuestProgram {
  return function* (ctx: GuestContext) {
    const p = ctx.params;
    const lib = (yield* TcpLib.init(ctx))!;
    const fd = lib.socket();
    const c = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 7000));
    if (c !== 0) {
      col.errors.push(`connect ${c}`);
      return;
    }
    const n = num(p, 'records', 40);
    const len = num(p, 'recordLen', 1200);
    const childMode = p['child'] === 'w' ? 'w' : p['child'] === 'r' ? 'r' : 'rw';
    const parentMode = p['parent'] === 'close' ? 'close' : 'rw';
    const now = function* (): G<number> {
      return (yield* sys.clock_get_ns({})).ns;
    };
    const t0 = yield* now();
    const r = yield* forkShared(lib, function* (_cctx, clib) {
      if (childMode !== 'r') yield* writeRecords(clib, fd, TAG.C, n, len, col, 'C');
      col.childReading = true;
      if (childMode !== 'w') yield* readAll(clib, fd, col.C, col, 'C');
      col.closedAt.C = yield* now();
      yield* clib.close(fd);
    });
    col.forkNs = (yield* now()) - t0;
    col.forkKr = r.kr;
    col.forked = true;
    if (r.kr !== KERN.SUCCESS || r.shared.length !== 1) {
      col.errors.push(`fork ${r.kr} shared=${r.shared.join(',')} lost=${r.lost.join(',')}`);
      return;
    }
    if (parentMode === 'close') {
      col.closedAt.P = yield* now();
      yield* lib.close(fd);
      return;
    }
    yield* writeRecords(lib, fd, TAG.P, n, len, col, 'P');
    yield* readAll(lib, fd, col.P, col, 'P');
    col.closedAt.P = yield* now();
    yield* lib.close(fd);
  };
}

/**
 * An outsider on the same host: it shares a connection of its own (so it holds the service port and
 * a valid capability — of its own connection), then names the victim's connection ids with that
 * capability, and with the service port itself as the capability: every READ / WRITE / SHUTDOWN must
 * be refused. Logs `outsider tries= refused= got=` (got: bytes a READ returned).
 */
export function outsider(victim: ForkCollector): GuestProgram {
  return function* (ctx: GuestContext) {
    const p = ctx.params;
    const lib = (yield* TcpLib.init(ctx))!;
    const fd = lib.socket();
    const c = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 7001));
    while (!victim.forked) yield* sys.thread_sleep_ns({ ns: 1_000_000 });
    const r = yield* forkShared(lib, function* () {});
    const t = lib.shared;
    if (c !== 0 || r.kr !== KERN.SUCCESS || t === undefined) {
      yield* sys.debug_log({ text: `outsider setup failed c=${c} kr=${r.kr}` });
      return;
    }
    const [, mine] = t.entries()[0]!;
    const reply = (yield* sys.mach_reply_port({})).name;
    let tries = 0;
    let refused = 0;
    let got = 0;
    const attempt = function* (id: number, msg: number, cap: PortName, values: number[], extra: MsgItem[]): G<void> {
      tries++;
      const a = yield* rpc(t.svc, reply, msg, [{ type: 'int32', values: [id, ...values] }, { type: 'port', name: cap, disposition: MSG_TYPE.COPY_SEND }, ...extra]);
      const it = a.msg?.items.find((i) => i.type === 'int32');
      const code = it?.type === 'int32' ? it.values[0] : undefined;
      if (code === 2703 /* REG_ERR.NOT_OWNER */) refused++;
      const d = a.msg?.items.find((i) => i.type === 'inline');
      if (d?.type === 'inline') got += d.data.length;
    };
    for (let id = 1; id <= 4; id++) {
      if (id === mine.id) continue;
      for (const cap of [mine.cap, t.svc]) {
        yield* attempt(id, SHARED_MSG.READ, cap, [3000], []);
        yield* attempt(id, SHARED_MSG.WRITE, cap, [], [{ type: 'inline', data: new Uint8Array(1200).fill(0x58) }]);
      }
    }
    yield* sys.debug_log({ text: `outsider tries=${tries} refused=${refused} got=${got}` });
    yield* lib.close(fd);
  };
}

/**
 * A forger of SHARE requests: it holds a connection of its own (so a valid channel right and a valid
 * TCB) and sends SHARE (a) naming the victim's connection with its own channel right, (b) its own
 * without the TCB, (c) its own with a TCB that does not decode, (d) its own, well formed. Logs
 * `forger a= b= c= d=` (each reply's first word).
 */
export const shareForger: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const fd = lib.socket();
  const c = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 7001));
  yield* sys.thread_sleep_ns({ ns: num(p, 'delayNs', 20_000_000) });
  const d = c === 0 ? yield* lib.detach(fd) : undefined;
  if (d === undefined) {
    yield* sys.debug_log({ text: `forger setup failed ${c}` });
    return;
  }
  const s = d.conn.sock;
  const tcb = encodeSnapshot(d.snap);
  const share = function* (values: number[], extra: MsgItem[]): G<number> {
    const r = yield* rpc(lib.registry, lib.replyPort, SHARED_MSG.SHARE, [
      { type: 'int32', values },
      { type: 'port', name: lib.taskPort, disposition: MSG_TYPE.COPY_SEND },
      { type: 'port', name: d.conn.ch.grant.channel, disposition: MSG_TYPE.COPY_SEND },
      ...extra,
    ]);
    const it = r.msg?.items.find((i) => i.type === 'int32');
    return it?.type === 'int32' ? (it.values[0] ?? -1) : r.kr;
  };
  const own = [s.localPort, s.remoteIp >>> 0, s.remotePort];
  const a = yield* share([num(p, 'victimPort', 0), num(p, 'peerIp', 0) >>> 0, num(p, 'victimPeerPort', 0)], [{ type: 'inline', data: tcb }]);
  const b = yield* share(own, []);
  const cc = yield* share(own, [{ type: 'inline', data: Uint8Array.of(1, 2, 3, 4) }]);
  const dd = yield* share(own, [{ type: 'inline', data: tcb }]);
  yield* sys.debug_log({ text: `forger a=${a} b=${b} c=${cc} d=${dd}` });
};
