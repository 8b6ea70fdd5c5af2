/**
 * The single-server organization end to end (userland/ux): a UX-like server per host owning all
 * TCP, applications reaching it by Mach RPC through the emulation library, on Ethernet. Seeds are
 * fixed; a failure prints the task logs.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../kernel/kernel.ts';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildUxPair, type UxPair, type UxPairOptions } from '../../../studies/scenarios/ux-hosts.ts';
import { World } from '../../../studies/world.ts';
import { ttcpReceiverWith, ttcpSenderWith } from '../../../userland/apps/ttcp.ts';
import { SOCK_ERR } from '../../../userland/netlib/tcp-lib.ts';
import { uxStatsFromLog } from '../../../userland/ux/ux-server.ts';
import { uxSockets } from '../../../userland/ux/ux-sockets.ts';
import { countClient, countServer, idleReader, malformed, refusedClient } from './programs.ts';
import { bulkBothWays } from '../bulk.ts';

const logs = (...ts: (Task | undefined)[]): string => ts.map((t) => `${t?.name}: ${t?.log.filter((l) => !l.startsWith('ux: {')).join(' | ')} exit=${JSON.stringify(t?.exit)}`).join('\n');
const run = (w: World, done: () => boolean, ns: number): void => void w.sched.runUntil(done, { nsMax: ns });
const sender = ttcpSenderWith(uxSockets);
const receiver = ttcpReceiverWith(uxSockets);

function pairOf(seed: number, o: UxPairOptions = {}): { w: World; pair: UxPair } {
  const w = new World({ seed, traceOn: false });
  return { w, pair: buildUxPair(w, { logStats: true, ...o }) };
}

describe('single server (Mach/UX-like) on Ethernet', () => {
  for (const loss of [0, 0.02]) {
    it(`1 MB byte-exact both ways${loss > 0 ? ' with 2 % loss' : ''}`, () => {
      const { w, pair } = pairOf(21, loss > 0 ? { faults: { loss } } : {});
      const { ta } = bulkBothWays(w, pair, { sender: sender, receiver: receiver }, logs);
      // Every socket call was one RPC: the 4096-byte sender made 256 writes (+ socket, connect, close).
      expect(logField(ta, 'calls')).toBe(256 + 3);
      expect(w.trace.guestErrorsTotal).toBe(0);
    });
  }

  it('several clients at once; a client blocked in read does not hold up the others', () => {
    const { w, pair } = pairOf(22);
    const srv = pair.spawn(pair.b, 'srv', countServer, { port: 80, conns: 5 });
    const idle = pair.spawn(pair.a, 'idle', idleReader, { peerIp: pair.b.ip, port: 80 });
    const clients = [1, 2, 3, 4].map((i) => pair.spawn(pair.a, `cli-${i}`, countClient, { peerIp: pair.b.ip, port: 80, bytes: 30_000 + 1000 * i, salt: i }));
    run(w, () => clients.every((c) => !c.alive), 30e9);
    clients.forEach((c, i) => expect(logField(c, 'count'), logs(c, srv, idle)).toBe(30_000 + 1000 * (i + 1)));
    expect(idle.alive).toBe(true); // still parked in the server
    const s = uxStatsFromLog(pair.a.server!.log)!;
    expect(s.parked).toBe(1);
    expect(s.errorReplies).toBe(0);
    // The idle client's peer thread answers once the idle client goes away (its connection is reset).
    pair.a.kernel.endTask(idle, { kind: 'killed', by: 'test' });
    run(w, () => !srv.alive, 10e9);
    expect(srv.log.join(' '), logs(srv)).toContain('served=5 bad=0');
  });

  it('connect to a port nobody listens on: ECONNREFUSED; misuse of descriptors gets error codes', () => {
    const { w, pair } = pairOf(23);
    const c = pair.spawn(pair.a, 'cli', refusedClient, { peerIp: pair.b.ip, port: 81 });
    run(w, () => !c.alive, 5e9);
    expect(c.log.join(' '), logs(c)).toContain(`connect=${SOCK_ERR.ECONNREFUSED} again=${SOCK_ERR.EINVAL} close=0 twice=${SOCK_ERR.EBADF}`);
  });

  it('a client killed mid-transfer: its connection is reset and the server releases its state', () => {
    const { w, pair } = pairOf(24);
    const ka = pair.a.kernel;
    const srvA = pair.a.server!;
    const base = { names: srvA.space.entries.size, ports: ka.ipc.portsLive, kmsgs: ka.ipc.kmsgsLive, frames: ka.frames.freeCount };
    const rx = pair.spawn(pair.b, 'rx', receiver, { port: 5001 });
    const tx = pair.spawn(pair.a, 'tx', sender, { peerIp: pair.b.ip, port: 5001, bytes: 1 << 24, writeSize: 4096, startDelayNs: 1_000_000 });
    run(w, () => logField(rx, 'received') > 0 || rx.log.length > 1, 1e9);
    w.sched.runFor(100_000_000); // mid-transfer
    expect(tx.alive).toBe(true);
    ka.endTask(tx, { kind: 'killed', by: 'test' });
    run(w, () => !rx.alive, 10e9);
    expect(rx.log.some((l) => l.includes(`read error ${SOCK_ERR.ECONNRESET}`)), logs(rx, tx)).toBe(true);
    w.sched.runFor(10_000_000);
    const s = uxStatsFromLog(srvA.log)!;
    expect(s).toMatchObject({ clients: 0, sockets: 0, parked: 0, connections: 0, deadClients: 1, aborted: 1 });
    // No name, port or page left behind by the dead client (its session port, task port and reply rights are gone).
    expect(srvA.space.entries.size).toBe(base.names);
    expect({ ports: ka.ipc.portsLive, kmsgs: ka.ipc.kmsgsLive, frames: ka.frames.freeCount }).toEqual({ ports: base.ports, kmsgs: base.kmsgs, frames: base.frames });
    expect(srvA.alive).toBe(true);
  });

  it('malformed requests get error replies; the server keeps serving', () => {
    const { w, pair } = pairOf(25);
    const bad = pair.spawn(pair.a, 'bad', malformed, {});
    run(w, () => !bad.alive, 5e9);
    const E = SOCK_ERR;
    // service port: unknown id, HELLO without a task port, a call on the service port;
    // session: unknown, no words, foreign fd, socket → 3, bind 70000, connect port −5, read unconnected,
    // oversized write, listen unbound, accept unlistened, shutdown carrying a right and OOL memory, socket → 4.
    expect(bad.log.join(' '), logs(bad)).toContain(`codes=${[E.EINVAL, E.EINVAL, E.EINVAL, E.EINVAL, E.EBADF, E.EBADF, 3, E.EINVAL, E.EINVAL, E.EINVAL, E.EINVAL, E.EINVAL, E.EINVAL, E.ENOTCONN, 4].join(',')}`);
    const s = uxStatsFromLog(pair.a.server!.log)!;
    expect(s.malformed).toBeGreaterThanOrEqual(5);
    expect(pair.a.server!.alive).toBe(true);
    // A normal transfer afterwards.
    const rx = pair.spawn(pair.b, 'rx', receiver, { port: 5001 });
    const tx = pair.spawn(pair.a, 'tx', sender, { peerIp: pair.b.ip, port: 5001, bytes: 100_000, writeSize: 4096, startDelayNs: 1_000_000 });
    run(w, () => !rx.alive && !tx.alive, 10e9);
    expect(logField(rx, 'received'), logs(rx, tx)).toBe(100_000);
    expect(w.trace.guestErrorsTotal).toBe(0);
  });
});
