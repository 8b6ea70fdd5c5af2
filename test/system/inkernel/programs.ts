/** Guest programs for the in-kernel socket tests: plain traps, hostile arguments included. */
import { KERN } from '../../../kernel/abi/errors.ts';
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { num } from '../../../userland/apps/params.ts';
import { sys } from '../../../userland/mach/syscalls.ts';

const log = (text: string) => sys.debug_log({ text });

/** Connect to peerIp:port and log the result (`connect=<n>`), then close. */
export const connectOnce: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const fd = (yield* sys.socket({})).n;
  const r = yield* sys.connect({ fd, ip: num(p, 'peerIp', 0), port: num(p, 'port', 9) });
  yield* log(`connect=${r.n}`);
  yield* sys.close({ fd });
};

/**
 * Server: accept one connection, receive `bytes` (logging `got=`), send them back, close; logs
 * `closed=<n> again=<n>` (a second close of the same descriptor is EBADF).
 */
export const echoOnce: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const ls = (yield* sys.socket({})).n;
  yield* sys.bind({ fd: ls, port: num(p, 'port', 7) });
  yield* sys.listen({ fd: ls, backlog: 5 });
  yield* log('listening');
  const fd = (yield* sys.accept({ fd: ls })).n;
  const buf = (yield* sys.vm_allocate({ address: 0, size: 8192, anywhere: true })).address;
  let got = 0;
  const want = num(p, 'bytes', 100);
  while (got < want) {
    const r = yield* sys.recv({ fd, address: buf + got, length: want - got });
    if (r.n <= 0) break;
    got += r.n;
  }
  yield* log(`got=${got}`);
  yield* sys.send({ fd, address: buf, length: got });
  const c = yield* sys.close({ fd });
  const again = yield* sys.close({ fd });
  yield* sys.close({ fd: ls });
  yield* log(`closed=${c.n} again=${again.n}`);
};

/** Client for echoOnce: connect, send `bytes` of a pattern, read the echo, check it, close. Logs `echoed=<n> bad=<n>`. */
export const echoClient: GuestProgram = function* (ctx) {
  const p = ctx.params;
  yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  const fd = (yield* sys.socket({})).n;
  const kr = yield* sys.connect({ fd, ip: num(p, 'peerIp', 0), port: num(p, 'port', 7) });
  if (kr.n !== 0) return void (yield* log(`connect failed ${kr.n}`));
  const want = num(p, 'bytes', 100);
  const buf = (yield* sys.vm_allocate({ address: 0, size: 8192, anywhere: true })).address;
  for (let i = 0; i < want; i++) ctx.mem.write8(buf + i, (i * 13) & 0xff);
  yield* sys.send({ fd, address: buf, length: want });
  const back = buf + 4096;
  let got = 0;
  while (got < want) {
    const r = yield* sys.recv({ fd, address: back + got, length: want - got });
    if (r.n <= 0) break;
    got += r.n;
  }
  let bad = 0;
  for (let i = 0; i < got; i++) if (ctx.mem.read8(back + i) !== ((i * 13) & 0xff)) bad++;
  const eof = yield* sys.recv({ fd, address: back, length: 16 });
  yield* sys.close({ fd });
  yield* log(`echoed=${got} bad=${bad} eof=${eof.n}`);
};

/**
 * Hostile user buffers: send from and recv into unmapped, read-only and overflowing addresses;
 * each must come back as EFAULT (kr KERN_INVALID_ADDRESS) without hurting the task, and a good
 * recv afterwards still gets every byte the peer sent. Logs `faults=<n> goodRecv=<n> bad=<n>`.
 */
export const badPointers: GuestProgram = function* (ctx) {
  const p = ctx.params;
  yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  const fd = (yield* sys.socket({})).n;
  const c = yield* sys.connect({ fd, ip: num(p, 'peerIp', 0), port: num(p, 'port', 7) });
  if (c.n !== 0) return void (yield* log(`connect failed ${c.n}`));
  const buf = (yield* sys.vm_allocate({ address: 0, size: 4096, anywhere: true })).address;
  const ro = (yield* sys.vm_allocate({ address: 0, size: 4096, anywhere: true })).address;
  yield* sys.vm_protect({ address: ro, size: 4096, setMax: false, prot: 1 });
  let faults = 0;
  const efault = (r: { kr: number; n: number }): void => {
    if (r.kr === KERN.INVALID_ADDRESS && r.n === -14) faults++;
  };
  efault(yield* sys.send({ fd, address: 0xdead_0000, length: 100 }));
  efault(yield* sys.send({ fd, address: ro + 4000, length: 200 })); // runs off the end of the last mapping
  efault(yield* sys.send({ fd, address: 0xffff_fff0, length: 64 })); // wraps past 4 GB
  // 100 good bytes so the peer echoes something back.
  for (let i = 0; i < 100; i++) ctx.mem.write8(buf + i, i);
  yield* sys.send({ fd, address: buf, length: 100 });
  yield* sys.thread_sleep_ns({ ns: 50_000_000 }); // the echo has arrived
  efault(yield* sys.recv({ fd, address: 0, length: 100 }));
  efault(yield* sys.recv({ fd, address: ro, length: 100 })); // read-only page
  efault(yield* sys.recv({ fd, address: 0xdead_0000, length: 100 }));
  let got = 0;
  while (got < 100) {
    const r = yield* sys.recv({ fd, address: buf + 1000 + got, length: 100 - got });
    if (r.n <= 0) break;
    got += r.n;
  }
  let bad = 0;
  for (let i = 0; i < got; i++) if (ctx.mem.read8(buf + 1000 + i) !== i) bad++;
  const badFd = yield* sys.recv({ fd: 99, address: buf, length: 1 });
  const negFd = yield* sys.send({ fd: -5, address: buf, length: 1 });
  yield* sys.close({ fd });
  yield* log(`faults=${faults} goodRecv=${got} bad=${bad} badFd=${badFd.n} negFd=${negFd.n}`);
};

/** Echo `bytes` back once (server side of badPointers). */
export const echoBack: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const ls = (yield* sys.socket({})).n;
  yield* sys.bind({ fd: ls, port: num(p, 'port', 7) });
  yield* sys.listen({ fd: ls, backlog: 5 });
  const fd = (yield* sys.accept({ fd: ls })).n;
  const buf = (yield* sys.vm_allocate({ address: 0, size: 4096, anywhere: true })).address;
  for (;;) {
    const r = yield* sys.recv({ fd, address: buf, length: 4096 });
    if (r.n <= 0) break;
    yield* sys.send({ fd, address: buf, length: r.n });
  }
  yield* sys.close({ fd });
  yield* log('echo done');
};

/** Send `bytes` from a buffer, `writeSize` a call, forever unless told how much; logs progress. */
export const streamForever: GuestProgram = function* (ctx) {
  const p = ctx.params;
  yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  const fd = (yield* sys.socket({})).n;
  const c = yield* sys.connect({ fd, ip: num(p, 'peerIp', 0), port: num(p, 'port', 5001) });
  yield* log(`connect=${c.n}`);
  const buf = (yield* sys.vm_allocate({ address: 0, size: 4096, anywhere: true })).address;
  for (;;) {
    const r = yield* sys.send({ fd, address: buf, length: 4096 });
    if (r.n < 0) return void (yield* log(`send=${r.n}`));
  }
};

/** Receive until error or end of stream; logs `received=<n> end=<n>` (end: 0 = EOF, < 0 an error). */
export const drain: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const ls = (yield* sys.socket({})).n;
  yield* sys.bind({ fd: ls, port: num(p, 'port', 5001) });
  yield* sys.listen({ fd: ls, backlog: 5 });
  const fd = (yield* sys.accept({ fd: ls })).n;
  const buf = (yield* sys.vm_allocate({ address: 0, size: 8192, anywhere: true })).address;
  let received = 0;
  for (;;) {
    const r = yield* sys.recv({ fd, address: buf, length: 8192 });
    if (r.n <= 0) {
      yield* log(`received=${received} end=${r.n}`);
      break;
    }
    received += r.n;
  }
  yield* sys.close({ fd });
};
