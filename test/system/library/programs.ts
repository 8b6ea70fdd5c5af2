/** Guest programs used only by the library's system tests. */
import { KERN } from '../../../kernel/abi/errors.ts';
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { sys } from '../../../userland/mach/syscalls.ts';
import { TcpLib } from '../../../userland/netlib/tcp-lib.ts';
import { REG_MSG, REGISTRY_SERVICE } from '../../../userland/netlib/registry-proto.ts';
import { send } from '../../../userland/mach/ipc.ts';
import { num } from '../../../userland/apps/params.ts';

export const byteAt = (i: number, salt: number): number => (i * 13 + salt + (i >>> 9)) & 0xff;
const countBytes = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

/** Read `fd` to end of stream, checking every byte against byteAt (salt = the first byte). */
function* readAndCheck(lib: TcpLib, fd: number) {
  let got = 0;
  let bad = 0;
  let salt = -1;
  for (;;) {
    const d = yield* lib.read(fd, 1 << 16);
    if (typeof d === 'number' || d.length === 0) break;
    for (let k = 0; k < d.length; k++) {
      if (salt < 0) salt = d[0]!;
      if (d[k] !== byteAt(got + k, salt)) bad++;
    }
    got += d.length;
  }
  return { got, bad };
}

/** Server: listen with `backlog`; after `acceptDelayNs`, accept `conns` connections, each served by its own thread (read all, check, echo a 4-byte count back, close). */
export const multiServer: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = lib.socket();
  lib.bind(ls, num(p, 'port', 80));
  yield* lib.listen(ls, num(p, 'backlog', 64));
  yield* sys.debug_log({ text: 'listening' });
  if (num(p, 'acceptDelayNs', 0) > 0) yield* sys.thread_sleep_ns({ ns: num(p, 'acceptDelayNs', 0) });
  let done = 0;
  let bad = 0;
  let total = 0;
  const conns = num(p, 'conns', 1);
  for (let i = 0; i < conns; i++) {
    const fd = yield* lib.accept(ls);
    const t = (yield* lib.now());
    yield* sys.debug_log({ text: `accepted=${i + 1} at=${t} fd=${fd}` });
    if (fd < 0) continue;
    yield* sys.thread_create({
      program: function* () {
        const r = yield* readAndCheck(lib, fd);
        const got = r.got;
        bad += r.bad;
        total += got;
        yield* lib.write(fd, countBytes(got));
        yield* lib.close(fd);
        done++;
      },
      priority: -1,
    });
  }
  while (done < conns) yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  yield* sys.debug_log({ text: `served=${done} bad=${bad} total=${total}` });
};

/** Client: `threads` threads, each its own connection: send `bytes` (salt = thread index + 1), half-close, read the count back. */
export const multiClient: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const threads = num(p, 'threads', 1);
  const bytes = num(p, 'bytes', 10000);
  let ok = 0;
  let finished = 0;
  const body = (i: number): GuestProgram =>
    function* () {
      const lib = (yield* TcpLib.init(ctx))!;
      const fd = lib.socket();
      const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 80));
      const t = yield* lib.now();
      yield* sys.debug_log({ text: `connected=${i} kr=${kr} at=${t}` });
      if (kr === 0) {
        const salt = i + 1;
        const buf = new Uint8Array(bytes);
        buf.forEach((_, k) => (buf[k] = byteAt(k, salt)));
        buf[0] = salt; // byteAt(0, salt) = salt
        yield* lib.write(fd, buf);
        yield* lib.shutdown(fd);
        const d = yield* lib.read(fd, 4);
        const got = typeof d === 'number' ? d : d.length === 4 ? (((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0) : -1000 - d.length;
        if (got === bytes) ok++;
        else yield* sys.debug_log({ text: `thread ${i}: count ${got}` });
        yield* lib.close(fd);
      }
      finished++;
    };
  for (let i = 1; i < threads; i++) yield* sys.thread_create({ program: body(i), priority: -1 });
  yield* body(0)(ctx);
  while (finished < threads) yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  yield* sys.debug_log({ text: `ok=${ok}` });
};

/** Connect from `localPort`, close, and try again at once and after `retryNs`: logs `first= second= third=`. */
export const reuseClient: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  const codes: number[] = [];
  for (const waitNs of [0, 0, num(p, 'retryNs', 0)]) {
    if (waitNs > 0) yield* sys.thread_sleep_ns({ ns: waitNs });
    const fd = lib.socket();
    lib.bind(fd, num(p, 'localPort', 4000));
    const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 80));
    codes.push(kr);
    if (kr === 0) {
      yield* lib.write(fd, Uint8Array.of(1, 2, 3));
      yield* lib.shutdown(fd);
      for (let d = yield* lib.read(fd, 64); typeof d !== 'number' && d.length > 0; d = yield* lib.read(fd, 64));
      yield* lib.close(fd); // we closed first: TIME-WAIT, held by the registry
    }
  }
  yield* sys.debug_log({ text: `first=${codes[0]} second=${codes[1]} third=${codes[2]}` });
};

/** Attacker with its own connection to the victim's peer: forge the victim's 4-tuple through its own channel, read the victim's region, use a right it gave away. */
export const attacker: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  yield* sys.thread_sleep_ns({ ns: num(p, 'startDelayNs', 0) + 1000 });
  const fd = lib.socket();
  const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 81));
  const conn = lib.conn(fd);
  if (kr !== 0 || conn === undefined) {
    yield* sys.debug_log({ text: `attacker connect failed ${kr}` });
    return;
  }
  // 1. A frame carrying the victim's ports, sent with our own capability.
  const link = lib.link;
  const l = link === 'ethernet' ? 14 : 20;
  const at = conn.ch.txOffset;
  const hdr = ctx.mem.readBytes(conn.ch.grant.address + at, l + 40); // our last frame's headers (our template)
  const forged = new Uint8Array(l + 40 + 16);
  forged.set(hdr, 0);
  const vport = num(p, 'victimPort', 0);
  forged[l + 20] = vport >>> 8;
  forged[l + 21] = vport & 0xff;
  ctx.mem.writeBytes(conn.ch.grant.address + at, forged);
  const r1 = yield* sys.net_send({ channel: conn.ch.grant.channel, offset: at, length: forged.length });
  // 2. Give our channel right away (to a port of our own that we then destroy), then use it.
  const { name: sink } = yield* sys.mach_port_allocate({ right: 1 });
  const mv = yield* sys.mach_msg({
    option: 1,
    msg: { bits: 20, remote: sink, local: 0, id: 1, items: [{ type: 'port', name: conn.ch.grant.channel, disposition: 17 }] },
    rcvName: 0, rcvSize: 0, timeoutMs: 0, notify: 0,
  });
  const r2 = yield* sys.net_send({ channel: conn.ch.grant.channel, offset: at, length: l + 40 });
  yield* sys.debug_log({ text: `forge=${r1.kr} moved=${mv.kr} reuse=${r2.kr} success=${KERN.SUCCESS}` });
  // 3. Ask the registry to release the victim's connection (without its channel right).
  const reg = yield* sys.bootstrap_look_up({ service: REGISTRY_SERVICE });
  const self = yield* sys.task_get_special_port({ which: 1 });
  yield* send(reg.name, REG_MSG.RELEASE, [
    { type: 'int32', values: [vport, num(p, 'peerIp', 0), num(p, 'victimPeerPort', 5001), 0] },
    { type: 'port', name: self.name, disposition: 19 },
  ]);
  yield* sys.debug_log({ text: 'fake release sent' });
  // 4. Read the victim's region (its address in the victim's task): a fault ends us.
  yield* sys.debug_log({ text: 'reading victim region' });
  const v = ctx.mem.read32(num(p, 'victimAddress', 0x7000_0000));
  yield* sys.debug_log({ text: `read victim region: ${v}` });
};

/** inetd: accept one connection on `port` and pass it to the bootstrap service `daemon`, then exit. */
export const inetd: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* TcpLib.init(ctx))!;
  const ls = lib.socket();
  lib.bind(ls, num(p, 'port', 23));
  yield* lib.listen(ls, 5);
  const fd = yield* lib.accept(ls);
  let look = yield* sys.bootstrap_look_up({ service: 'daemon' });
  for (let i = 0; look.kr !== KERN.SUCCESS && i < 100; i++) {
    yield* sys.thread_sleep_ns({ ns: 100_000 });
    look = yield* sys.bootstrap_look_up({ service: 'daemon' });
  }
  const c = lib.conn(fd);
  const was = { channel: c?.ch.grant.channel ?? 0, region: c?.grant.w.region ?? 0, sem: c?.grant.w.sem ?? 0 };
  const kr = yield* lib.pass(fd, look.name);
  // Everything was moved away: the names are gone from this task.
  const s = yield* sys.net_send({ channel: was.channel, offset: 0, length: 60 });
  const m = yield* sys.vm_map({ object: was.region, offset: 0, size: 4096, address: 0, anywhere: true, prot: 3 });
  const w = yield* sys.semaphore_timedwait({ sem: was.sem, ns: 0 });
  yield* sys.debug_log({ text: `passed=${kr} fd=${fd} send=${s.kr} map=${m.kr} wait=${w.kr}` });
  yield* sys.thread_sleep_ns({ ns: num(p, 'holdNs', 0) });
};

/** The daemon: receive a passed connection, read it all (checking the pattern), answer the count, close. */
export const daemon: GuestProgram = function* (ctx) {
  const lib = (yield* TcpLib.init(ctx))!;
  const { name: port } = yield* sys.mach_port_allocate({ right: 1 });
  yield* sys.mach_port_insert_right({ name: port, disposition: 20 });
  yield* sys.bootstrap_register({ service: 'daemon', name: port });
  const fd = yield* lib.receivePassed(port);
  if (fd < 0) {
    yield* sys.debug_log({ text: `receive failed ${fd}` });
    return;
  }
  const { got, bad } = yield* readAndCheck(lib, fd);
  yield* lib.write(fd, countBytes(got));
  yield* lib.close(fd);
  yield* sys.debug_log({ text: `daemon got=${got} bad=${bad}` });
};
