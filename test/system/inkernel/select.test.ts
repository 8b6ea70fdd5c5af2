/**
 * poll/select in the monolithic organization (issue 17 item 2): the in-kernel `poll` trap behind
 * the same SocketApi.poll the library has; the same select server program multiplexes several
 * connections byte-exact, timed polls end at their deadline, bad arguments get EINVAL / EBADF.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../kernel/kernel.ts';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildKernelPair, type KernelPair } from '../../../studies/scenarios/inkernel-hosts.ts';
import type { LinkName } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { SOCK_ERRNO } from '../../../kernel/abi/socket.ts';
import { POLL } from '../../../userland/netlib/socket-api.ts';
import { kernelSockets } from '../../../userland/netlib/kernel-sockets.ts';
import { holdServerWith, multiClientWith, pollClientWith, selectServerWith } from '../library/select-programs.ts';

const LINKS = ['ethernet', 'an1'] as const;
const logs = (...ts: (Task | undefined)[]): string => ts.map((t) => `${t?.name}: ${t?.log.join(' | ')} exit=${JSON.stringify(t?.exit)}`).join('\n');
const run = (w: World, done: () => boolean, ns: number): void => void w.sched.runUntil(done, { nsMax: ns });

function pairOf(link: LinkName, seed: number, o: Parameters<typeof buildKernelPair>[2] = {}): { w: World; pair: KernelPair } {
  const w = new World({ seed, traceOn: false });
  return { w, pair: buildKernelPair(w, link, o) };
}

function field(t: Task, key: string): string | undefined {
  for (const l of t.log) {
    const m = new RegExp(`(?:^| )${key}=(\\S+)`).exec(l);
    if (m !== null) return m[1];
  }
  return undefined;
}

describe.each(LINKS)('poll/select over in-kernel sockets on %s', (link) => {
  for (const loss of [0, 0.02]) {
    it(`one thread multiplexes 6 connections with select: every byte exact${loss > 0 ? ', 2 % loss' : ''}`, () => {
      const { w, pair } = pairOf(link, 31, loss > 0 ? { faults: { loss } } : {});
      const srv = pair.spawn(pair.b, 'srv', selectServerWith(kernelSockets), { port: 80, conns: 6 });
      const cli = pair.spawn(pair.a, 'cli', multiClientWith(kernelSockets), { peerIp: pair.b.ip, port: 80, threads: 6, bytes: 60_000 });
      run(w, () => !srv.alive && !cli.alive, 300e9);
      expect(logField(cli, 'ok'), logs(cli, srv)).toBe(6);
      expect(logField(srv, 'served'), logs(srv)).toBe(6);
      expect(logField(srv, 'bad')).toBe(0);
      expect(logField(srv, 'total')).toBe(6 * 60_000);
      expect(w.trace.guestErrorsTotal).toBe(0);
      for (const h of [pair.a, pair.b]) expect(h.net.blockedThreads).toBe(0);
    });
  }

  it('timed polls end at their deadline; bad arguments; the peer\'s close; a closed fd', () => {
    const { w, pair } = pairOf(link, 32);
    const srv = pair.spawn(pair.b, 'srv', holdServerWith(kernelSockets), { port: 80, holdNs: 600_000_000 });
    const cli = pair.spawn(pair.a, 'cli', pollClientWith(kernelSockets), { peerIp: pair.b.ip, port: 80 });
    run(w, () => !srv.alive && !cli.alive, 30e9);
    const all = logs(cli, srv);
    const over = [0, 1_000_000, 7_500_000, 250_000_000].map((t) => {
      const waited = Number(field(cli, `wait${t}`));
      expect(waited, `wait ${t}: ${all}`).toBeGreaterThanOrEqual(t);
      return waited - t;
    });
    expect(over[0], all).toBeLessThan(50_000); // the trap and the socket layer's control path (29.9 µs)
    // The same fixed path after every deadline (timer callout, wake-up, restart, return: 87.9 µs).
    expect(over[2], all).toBe(over[1]);
    expect(over[3], all).toBe(over[1]);
    expect(over[1], all).toBeLessThan(200_000);
    expect(field(cli, 'out'), all).toBe(`[${POLL.OUT}]`);
    expect(field(cli, 'bad'), all).toBe(JSON.stringify([SOCK_ERRNO.EINVAL, SOCK_ERRNO.EINVAL, SOCK_ERRNO.EINVAL, SOCK_ERRNO.EBADF]));
    expect(field(cli, 'end'), all).toBe(`[${POLL.IN}]`);
    expect(field(cli, 'read'), all).toBe('0');
    expect(field(cli, 'nval'), all).toBe(`[${POLL.NVAL}]`);
    for (const h of [pair.a, pair.b]) expect(h.net.blockedThreads).toBe(0);
  });
});
