/**
 * UDP in the monolithic kernel (issue 17): datagram sockets behind traps (socket_dgram, bind,
 * connect, sendto, recvfrom, close), byte-exact echoes on both links, ICMP port unreachable as
 * ECONNREFUSED on a connected socket, a recvfrom timeout, and EMSGSIZE past the MTU.
 */
import { describe, expect, it } from 'vitest';
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { SOCK_ERRNO } from '../../../kernel/abi/socket.ts';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildKernelPair } from '../../../studies/scenarios/inkernel-hosts.ts';
import { World } from '../../../studies/world.ts';
import { udpEchoWith, udpPingWith } from '../../../userland/apps/udp-ping.ts';
import { num } from '../../../userland/apps/params.ts';
import { sys } from '../../../userland/mach/syscalls.ts';
import { kernelDatagrams } from '../../../userland/netlib/datagram-api.ts';

const echo = udpEchoWith(kernelDatagrams);
const ping = udpPingWith(kernelDatagrams);

/** Connect to (peerIp, port), send `size` bytes, wait `timeoutNs` for anything: logs send=, recv= (a count or an errno). */
const probe: GuestProgram = function* (ctx) {
  const api = (yield* kernelDatagrams(ctx))!;
  const fd = yield* api.socket();
  const c = yield* api.connect(fd, num(ctx.params, 'peerIp', 0), num(ctx.params, 'port', 7));
  const s = yield* api.sendto(fd, new Uint8Array(num(ctx.params, 'size', 10)));
  const d = yield* api.recvfrom(fd, 2048, num(ctx.params, 'timeoutNs', 50_000_000));
  yield* sys.debug_log({ text: `connect=${c} send=${s} recv=${d === null ? 'timeout' : typeof d === 'number' ? d : d.data.length}` });
};

/** Bind `port` and hold it, answering nothing, for a second. */
const idle: GuestProgram = function* (ctx) {
  const api = (yield* kernelDatagrams(ctx))!;
  const fd = yield* api.socket();
  yield* api.bind(fd, num(ctx.params, 'port', 8));
  yield* sys.thread_sleep_ns({ ns: 1_000_000_000 });
};

describe.each(['ethernet', 'an1'] as const)('monolithic UDP on %s', (link) => {
  it('ping-pong, 30 rounds of 1472 bytes, byte-exact', () => {
    const w = new World({ seed: 2, traceOn: false });
    const pair = buildKernelPair(w, link);
    pair.spawn(pair.b, 'echo', echo, { port: 7, count: 33 });
    const cli = pair.spawn(pair.a, 'ping', ping, { peerIp: pair.b.ip, port: 7, size: 1472, rounds: 30, warmup: 3 });
    w.sched.runUntil(() => !cli.alive, { nsMax: 10e9 });
    expect(logField(cli, 'rtts'), cli.log.join('|')).toBe(30);
    expect(logField(cli, 'bad')).toBe(0);
    expect(logField(cli, 'retries')).toBe(0);
  });

  it('no socket on the port: ICMP port unreachable → ECONNREFUSED; an idle socket times out; EMSGSIZE past 1472 bytes', () => {
    const w = new World({ seed: 2, traceOn: false });
    const pair = buildKernelPair(w, link);
    const a = pair.spawn(pair.a, 'refused', probe, { peerIp: pair.b.ip, port: 9999 });
    pair.spawn(pair.b, 'idle', idle, { port: 8 });
    const b = pair.spawn(pair.a, 'timeout', probe, { peerIp: pair.b.ip, port: 8 });
    const c = pair.spawn(pair.a, 'big', probe, { peerIp: pair.b.ip, port: 9998, size: 1473 });
    w.sched.runUntil(() => !a.alive && !b.alive && !c.alive, { nsMax: 5e9 });
    expect(a.log.join('|')).toContain(`recv=${SOCK_ERRNO.ECONNREFUSED}`);
    expect(c.log.join('|')).toContain(`send=${SOCK_ERRNO.EMSGSIZE}`);
    expect(b.log.join('|')).toContain('recv=timeout');
  });
});
