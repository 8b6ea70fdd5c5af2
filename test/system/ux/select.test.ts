/**
 * poll/select in the single-server organization (issue 17 item 2): a POLL RPC the server parks
 * until an entry is ready or the deadline passes, behind the same SocketApi.poll; the library's
 * select programs run unchanged.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../kernel/kernel.ts';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildUxPair, type UxPair, type UxPairOptions } from '../../../studies/scenarios/ux-hosts.ts';
import { World } from '../../../studies/world.ts';
import { POLL } from '../../../userland/netlib/socket-api.ts';
import { SOCK_ERR } from '../../../userland/netlib/tcp-lib.ts';
import { uxStatsFromLog } from '../../../userland/ux/ux-server.ts';
import { uxSockets } from '../../../userland/ux/ux-sockets.ts';
import { holdServerWith, multiClientWith, pollClientWith, selectServerWith } from '../library/select-programs.ts';

const logs = (...ts: (Task | undefined)[]): string => ts.map((t) => `${t?.name}: ${t?.log.filter((l) => !l.startsWith('ux: {')).join(' | ')} exit=${JSON.stringify(t?.exit)}`).join('\n');
const run = (w: World, done: () => boolean, ns: number): void => void w.sched.runUntil(done, { nsMax: ns });

function pairOf(seed: number, o: UxPairOptions = {}): { w: World; pair: UxPair } {
  const w = new World({ seed, traceOn: false });
  return { w, pair: buildUxPair(w, { logStats: true, ...o }) };
}

function field(t: Task, key: string): string | undefined {
  for (const l of t.log) {
    const m = new RegExp(`(?:^| )${key}=(\\S+)`).exec(l);
    if (m !== null) return m[1];
  }
  return undefined;
}

describe('poll/select over the single server\'s sockets (Ethernet)', () => {
  for (const loss of [0, 0.02]) {
    it(`one thread multiplexes 6 connections with select: every byte exact${loss > 0 ? ', 2 % loss' : ''}`, () => {
      const { w, pair } = pairOf(41, loss > 0 ? { faults: { loss } } : {});
      const srv = pair.spawn(pair.b, 'srv', selectServerWith(uxSockets), { port: 80, conns: 6 });
      const cli = pair.spawn(pair.a, 'cli', multiClientWith(uxSockets), { peerIp: pair.b.ip, port: 80, threads: 6, bytes: 60_000 });
      run(w, () => !srv.alive && !cli.alive, 300e9);
      expect(logField(cli, 'ok'), logs(cli, srv)).toBe(6);
      expect(logField(srv, 'served'), logs(srv)).toBe(6);
      expect(logField(srv, 'bad')).toBe(0);
      expect(logField(srv, 'total')).toBe(6 * 60_000);
      expect(w.trace.guestErrorsTotal).toBe(0);
    });
  }

  it('timed polls end at their deadline; bad arguments; the peer\'s close; a closed fd; nothing left parked', () => {
    const { w, pair } = pairOf(42);
    const srv = pair.spawn(pair.b, 'srv', holdServerWith(uxSockets), { port: 80, holdNs: 600_000_000 });
    const cli = pair.spawn(pair.a, 'cli', pollClientWith(uxSockets), { peerIp: pair.b.ip, port: 80 });
    run(w, () => !srv.alive && !cli.alive, 30e9);
    w.sched.runFor(1e9);
    const all = logs(cli, srv);
    const over = [0, 1_000_000, 7_500_000, 250_000_000].map((t) => {
      const waited = Number(field(cli, `wait${t}`));
      expect(waited, `wait ${t}: ${all}`).toBeGreaterThanOrEqual(t);
      return waited - t;
    });
    expect(over[0], all).toBeLessThan(400_000); // one RPC to the server and back
    expect(over[2], all).toBe(over[1]);
    expect(over[3], all).toBe(over[1]);
    expect(over[1], all).toBeLessThan(600_000);
    expect(field(cli, 'out'), all).toBe(`[${POLL.OUT}]`);
    expect(field(cli, 'bad'), all).toBe(JSON.stringify([SOCK_ERR.EINVAL, SOCK_ERR.EINVAL, SOCK_ERR.EINVAL, SOCK_ERR.EBADF]));
    expect(field(cli, 'end'), all).toBe(`[${POLL.IN}]`);
    expect(field(cli, 'read'), all).toBe('0');
    expect(field(cli, 'nval'), all).toBe(`[${POLL.NVAL}]`);
    expect(uxStatsFromLog(pair.b.server!.log)?.parked ?? 0).toBe(0);
    expect(uxStatsFromLog(pair.a.server!.log)?.parked ?? 0).toBe(0);
  });
});
