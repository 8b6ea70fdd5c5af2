/**
 * UDP in the single server (issue 17): datagram sockets as RPCs to the server (UDP_SOCKET, BIND,
 * CONNECT, SENDTO, RECVFROM, CLOSE), byte-exact echoes, ICMP port unreachable as ECONNREFUSED on a
 * connected socket, a parked recvfrom that times out, EMSGSIZE past the MTU.
 */
import { describe, expect, it } from 'vitest';
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildUxPair } from '../../../studies/scenarios/ux-hosts.ts';
import { World } from '../../../studies/world.ts';
import { udpEchoWith, udpPingWith } from '../../../userland/apps/udp-ping.ts';
import { num } from '../../../userland/apps/params.ts';
import { sys } from '../../../userland/mach/syscalls.ts';
import { SOCK_ERR } from '../../../userland/netlib/tcp-lib.ts';
import { uxDatagrams } from '../../../userland/ux/ux-sockets.ts';

const probe: GuestProgram = function* (ctx) {
  const api = (yield* uxDatagrams(ctx))!;
  const fd = yield* api.socket();
  const c = yield* api.connect(fd, num(ctx.params, 'peerIp', 0), num(ctx.params, 'port', 7));
  const s = yield* api.sendto(fd, new Uint8Array(num(ctx.params, 'size', 10)));
  const d = yield* api.recvfrom(fd, 2048, 50_000_000);
  yield* sys.debug_log({ text: `connect=${c} send=${s} recv=${d === null ? 'timeout' : typeof d === 'number' ? d : d.data.length}` });
};
const idle: GuestProgram = function* (ctx) {
  const api = (yield* uxDatagrams(ctx))!;
  const fd = yield* api.socket();
  yield* api.bind(fd, 8);
  yield* sys.thread_sleep_ns({ ns: 1_000_000_000 });
};

describe('single-server UDP (Ethernet)', () => {
  it('ping-pong, 30 rounds of 1472 bytes, byte-exact', () => {
    const w = new World({ seed: 2, traceOn: false });
    const pair = buildUxPair(w);
    pair.spawn(pair.b, 'echo', udpEchoWith(uxDatagrams), { port: 7, count: 33 });
    const cli = pair.spawn(pair.a, 'ping', udpPingWith(uxDatagrams), { peerIp: pair.b.ip, port: 7, size: 1472, rounds: 30, warmup: 3 });
    w.sched.runUntil(() => !cli.alive, { nsMax: 10e9 });
    expect(logField(cli, 'rtts'), cli.log.join('|')).toBe(30);
    expect(logField(cli, 'bad')).toBe(0);
    expect(logField(cli, 'retries')).toBe(0);
  });

  it('ECONNREFUSED from ICMP, a recvfrom timeout, EMSGSIZE', () => {
    const w = new World({ seed: 2, traceOn: false });
    const pair = buildUxPair(w);
    pair.spawn(pair.b, 'idle', idle, {});
    const a = pair.spawn(pair.a, 'refused', probe, { peerIp: pair.b.ip, port: 9999 });
    const b = pair.spawn(pair.a, 'timeout', probe, { peerIp: pair.b.ip, port: 8 });
    const c = pair.spawn(pair.a, 'big', probe, { peerIp: pair.b.ip, port: 9998, size: 1473 });
    w.sched.runUntil(() => !a.alive && !b.alive && !c.alive, { nsMax: 5e9 });
    expect(a.log.join('|')).toContain(`recv=${SOCK_ERR.ECONNREFUSED}`);
    expect(b.log.join('|')).toContain('recv=timeout');
    expect(c.log.join('|')).toContain('send=-40');
  });
});
