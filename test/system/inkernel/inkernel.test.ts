/**
 * The monolithic (Ultrix-like) baseline end to end: in-kernel sockets over the shared engine on
 * both links. Seeds are fixed; a failure prints the task logs.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../kernel/kernel.ts';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildKernelPair, type KernelPair, type KernelPairOptions } from '../../../studies/scenarios/inkernel-hosts.ts';
import type { LinkName } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { ttcpReceiverWith, ttcpSenderWith } from '../../../userland/apps/ttcp.ts';
import { kernelSockets } from '../../../userland/netlib/kernel-sockets.ts';
import { badPointers, connectOnce, drain, echoBack, echoClient, echoOnce, streamForever } from './programs.ts';
import { bulkBothWays } from '../bulk.ts';

const LINKS = ['ethernet', 'an1'] as const;
const logs = (...ts: (Task | undefined)[]): string => ts.map((t) => `${t?.name}: ${t?.log.join(' | ')} exit=${JSON.stringify(t?.exit)}`).join('\n');
const run = (w: World, done: () => boolean, ns: number): void => void w.sched.runUntil(done, { nsMax: ns });
const sender = ttcpSenderWith(kernelSockets);
const receiver = ttcpReceiverWith(kernelSockets);

function pairOf(link: LinkName, seed: number, o: KernelPairOptions = {}): { w: World; pair: KernelPair } {
  const w = new World({ seed, traceOn: false });
  return { w, pair: buildKernelPair(w, link, o) };
}

describe.each(LINKS)('in-kernel TCP on %s', (link) => {
  for (const loss of [0, 0.02]) {
    it(`1 MB byte-exact both ways${loss > 0 ? ' with 2 % loss' : ''}`, () => {
      const { w, pair } = pairOf(link, 21, loss > 0 ? { faults: { loss } } : {});
      const { ta } = bulkBothWays(w, pair, { sender: sender, receiver: receiver }, logs);
      expect(logField(ta, 'faults')).toBe(0);
      expect(w.trace.guestErrorsTotal).toBe(0);
      if (loss > 0) expect(pair.a.net.stats.framesIn + pair.b.net.stats.framesIn).toBeGreaterThan(0);
      // Every descriptor went with its task; nobody is left blocked in the kernel.
      for (const h of [pair.a, pair.b]) {
        expect(h.net.openFiles).toBe(0);
        expect(h.net.blockedThreads).toBe(0);
      }
    });
  }

  it('connect, accept, echo, close; descriptors and connections released (after TIME-WAIT)', () => {
    const { w, pair } = pairOf(link, 22, { mslNs: 500_000_000 });
    const srv = pair.spawn(pair.b, 'srv', echoOnce, { port: 7, bytes: 3000 });
    const cli = pair.spawn(pair.a, 'cli', echoClient, { peerIp: pair.b.ip, port: 7, bytes: 3000 });
    run(w, () => !srv.alive && !cli.alive, 10e9);
    expect(logField(srv, 'got'), logs(srv, cli)).toBe(3000);
    expect(logField(cli, 'echoed'), logs(srv, cli)).toBe(3000);
    expect(logField(cli, 'bad')).toBe(0);
    expect(logField(cli, 'eof'), 'the server closed: end of stream').toBe(0);
    expect(logField(srv, 'closed')).toBe(0);
    expect(logField(srv, 'again'), 'a closed descriptor is gone').toBe(-9);
    // TIME-WAIT (2·MSL = 1 s) ends, then nothing is left in either kernel.
    w.sched.runFor(3e9);
    for (const h of [pair.a, pair.b]) {
      expect(h.net.openFiles).toBe(0);
      expect(h.net.stack.connectionCount).toBe(0);
    }
    expect(w.trace.guestErrorsTotal).toBe(0);
  });

  it('a connect to a port nobody listens on is refused (RST → ECONNREFUSED)', () => {
    const { w, pair } = pairOf(link, 23);
    const cli = pair.spawn(pair.a, 'cli', connectOnce, { peerIp: pair.b.ip, port: 4444 });
    run(w, () => !cli.alive, 5e9);
    expect(logField(cli, 'connect'), logs(cli)).toBe(-61);
    expect(pair.a.net.stack.connectionCount).toBe(0);
  });

  it('bad user pointers to send and recv return EFAULT; the task and its data are unharmed', () => {
    const { w, pair } = pairOf(link, 24);
    const srv = pair.spawn(pair.b, 'srv', echoBack, { port: 7 });
    const cli = pair.spawn(pair.a, 'cli', badPointers, { peerIp: pair.b.ip, port: 7 });
    run(w, () => !cli.alive, 10e9);
    expect(logField(cli, 'faults'), logs(cli, srv)).toBe(6);
    expect(logField(cli, 'goodRecv')).toBe(100);
    expect(logField(cli, 'bad')).toBe(0);
    expect(logField(cli, 'badFd')).toBe(-9);
    expect(logField(cli, 'negFd')).toBe(-9);
    expect(cli.exit).toEqual({ kind: 'exit', code: 0 });
    expect(pair.a.net.stats.copyFaults).toBe(6);
    expect(w.trace.guestErrorsTotal).toBe(0);
  });

  it('a task killed mid-connection: its socket is reset (peer reads ECONNRESET) and its kernel resources released', () => {
    const { w, pair } = pairOf(link, 25);
    const rx = pair.spawn(pair.b, 'rx', drain, { port: 5001 });
    const tx = pair.spawn(pair.a, 'tx', streamForever, { peerIp: pair.b.ip, port: 5001 });
    run(w, () => tx.log.some((l) => l.startsWith('connect=0')), 5e9);
    w.sched.runFor(50e6); // mid-transfer: the sender is blocked in send with a full buffer
    expect(pair.a.net.openFiles).toBe(1);
    pair.a.kernel.endTask(tx, { kind: 'killed', by: 'test' });
    run(w, () => !rx.alive, 5e9);
    expect(logField(rx, 'received'), logs(rx, tx)).toBeGreaterThan(0);
    expect(logField(rx, 'end'), logs(rx, tx)).toBe(-54);
    expect(pair.a.net.stats.resetsOnDeath).toBe(1);
    expect(pair.a.net.openFiles).toBe(0);
    expect(pair.a.net.blockedThreads).toBe(0);
    expect(pair.a.net.stack.connectionCount).toBe(0);
    expect(pair.b.net.openFiles).toBe(0);
  });
});
