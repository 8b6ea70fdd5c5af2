/** Guest programs of the UDP system tests (the library organization): an echo server and a request-response client. */
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { num } from '../../../userland/apps/params.ts';
import { sys } from '../../../userland/mach/syscalls.ts';
import { UdpLib } from '../../../userland/netlib/udp-lib.ts';

const fill = (n: number, salt: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + salt) & 0xff);

/** Echo server: bind `port`, answer `count` datagrams to their source (learning its BQI on AN1), log served=N. */
export const udpEchoServer: GuestProgram = function* (ctx) {
  const lib = (yield* UdpLib.init(ctx))!;
  const fd = lib.socket();
  const b = yield* lib.bind(fd, num(ctx.params, 'port', 7));
  yield* sys.debug_log({ text: `bound=${b}` });
  let served = 0;
  const count = num(ctx.params, 'count', 1);
  for (let i = 0; i < count; i++) {
    const d = yield* lib.recvfrom(fd, 2048, num(ctx.params, 'timeoutNs', 5e9));
    if (d === null || typeof d === 'number') break;
    const r = yield* lib.sendto(fd, d.data, d.ip, d.port);
    if (r === d.data.length) served++;
  }
  yield* sys.debug_log({ text: `served=${served}` });
  yield* lib.close(fd);
};

/** Client: connect to (peerIp, port), `count` request-response rounds of `size` bytes; log ok=N bad=N err=E. */
export const udpClient: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* UdpLib.init(ctx))!;
  const fd = lib.socket();
  if (num(p, 'startDelayNs', 0) > 0) yield* sys.thread_sleep_ns({ ns: num(p, 'startDelayNs', 0) });
  const c = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 7));
  let ok = 0;
  let bad = 0;
  let err = 0;
  const size = num(p, 'size', 100);
  for (let i = 0; i < num(p, 'count', 1) && c === 0; i++) {
    const msg = fill(size, i);
    const s = yield* lib.sendto(fd, msg);
    if (s < 0) { err = s; break; }
    const d = yield* lib.recvfrom(fd, 2048, num(p, 'timeoutNs', 1e9));
    if (typeof d === 'number') { err = d; break; }
    if (d === null) { bad++; continue; }
    if (d.data.length === size && d.data.every((x, k) => x === msg[k])) ok++;
    else bad++;
  }
  yield* sys.debug_log({ text: `connect=${c} ok=${ok} bad=${bad} err=${err} port=${lib.localPort(fd)}` });
  yield* lib.close(fd);
};

/** Bind `port`, then connect the same socket to (peerIp, peerPort): the library re-grants the port with a connected channel. Logs bind=, connect=, port=, ok=. */
export const udpBindThenConnect: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = (yield* UdpLib.init(ctx))!;
  const fd = lib.socket();
  const b = yield* lib.bind(fd, num(p, 'port', 5000));
  const c = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'peerPort', 7));
  const msg = fill(64, 9);
  yield* lib.sendto(fd, msg);
  const d = yield* lib.recvfrom(fd, 2048, 1e9);
  const ok = d !== null && typeof d !== 'number' && d.data.every((x, k) => x === msg[k]) ? 1 : 0;
  yield* sys.debug_log({ text: `bind=${b} connect=${c} port=${lib.localPort(fd)} ok=${ok}` });
  yield* lib.close(fd);
};
