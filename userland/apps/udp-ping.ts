/**
 * UDP request-response programs (issue 17), written against DatagramApi so every organization runs
 * the same code: an echo server that answers each datagram to its source (on AN1 to the BQI it
 * learned from the request's link header, P §2.2), and a ping client that times round trips.
 */
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { sys } from '../mach/syscalls.ts';
import { libraryDatagrams, type DatagramOpener } from '../netlib/datagram-api.ts';
import { num } from './params.ts';

const pattern = (n: number, salt: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt) & 0xff);

/** Echo server on `port`: answers `count` datagrams (or until `idleNs` passes without one). Logs echoed=N. */
export const udpEchoWith = (open: DatagramOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const api = yield* open(ctx);
  if (api === undefined) return;
  const fd = yield* api.socket();
  const b = yield* api.bind(fd, num(p, 'port', 7));
  if (b < 0) {
    yield* sys.debug_log({ text: `bind failed ${b}` });
    return;
  }
  let echoed = 0;
  for (let i = 0; i < num(p, 'count', 1_000_000); i++) {
    const d = yield* api.recvfrom(fd, 65536, num(p, 'idleNs', 2e9));
    if (d === null || typeof d === 'number') break;
    if ((yield* api.sendto(fd, d.data, d.ip, d.port)) === d.data.length) echoed++;
  }
  yield* sys.debug_log({ text: `echoed=${echoed}` });
  yield* api.close(fd);
};

/**
 * Ping client: connect to (peerIp, port); `warmup` then `rounds` request-response rounds of `size`
 * bytes, each checked byte for byte; a lost round is sent again after `retryNs`. Logs the mean.
 */
export const udpPingWith = (open: DatagramOpener): GuestProgram => function* (ctx) {
  const p = ctx.params;
  const api = yield* open(ctx);
  if (api === undefined) return;
  yield* sys.thread_sleep_ns({ ns: num(p, 'startDelayNs', 1000) });
  const fd = yield* api.socket();
  const kr = yield* api.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 7));
  if (kr < 0) {
    yield* sys.debug_log({ text: `connect failed ${kr}` });
    return;
  }
  const size = num(p, 'size', 1);
  const rounds = num(p, 'rounds', 20);
  const warm = num(p, 'warmup', 3);
  let t0 = 0;
  let bad = 0;
  let retries = 0;
  for (let r = 0; r < rounds + warm; r++) {
    if (r === warm) t0 = yield* api.now();
    const msg = pattern(size, r);
    for (;;) {
      const s = yield* api.sendto(fd, msg);
      if (s < 0) {
        yield* sys.debug_log({ text: `ping send failed ${s}` });
        return;
      }
      const d = yield* api.recvfrom(fd, 65536, num(p, 'retryNs', 1e9));
      if (typeof d === 'number') {
        yield* sys.debug_log({ text: `ping recv failed ${d}` });
        return;
      }
      if (d === null) {
        retries++;
        continue;
      }
      if (d.data.length !== size || d.data.some((x, k) => x !== msg[k])) bad++;
      break;
    }
  }
  const t1 = yield* api.now();
  yield* api.close(fd);
  yield* sys.debug_log({ text: `rtts=${rounds} meanNs=${Math.round((t1 - t0) / rounds)} bad=${bad} retries=${retries}` });
};

export const udpEchoServer: GuestProgram = udpEchoWith(libraryDatagrams);
export const udpPingClient: GuestProgram = udpPingWith(libraryDatagrams);
