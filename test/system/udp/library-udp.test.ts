/**
 * UDP in the library organization end to end (issue 17): the registry allocates the port and the
 * channel, the network I/O module demultiplexes UDP (Ethernet: in software; AN1: the first
 * datagram to BQI 0 in software, then by the BQI each side discovered from the other's link
 * header), ICMP port unreachable reaches a connected socket, and a closed socket's port is free.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../kernel/kernel.ts';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildLibPair, type LinkName } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { registryStatsFromLog } from '../../../userland/registry/registry-server.ts';
import { UDP_ERR } from '../../../userland/netlib/udp-lib.ts';
import { udpBindThenConnect, udpClient, udpEchoServer } from './programs.ts';

const logs = (...ts: (Task | undefined)[]): string => ts.map((t) => `${t?.name}: ${t?.log.join(' | ')} exit=${JSON.stringify(t?.exit)}`).join('\n');

function pairOf(link: LinkName, seed: number) {
  const w = new World({ seed, traceOn: false });
  return { w, pair: buildLibPair(w, link) };
}

describe.each(['ethernet', 'an1'] as const)('library UDP on %s', (link) => {
  it('request-response: 20 rounds each of 1, 512 and 1472 bytes, byte-exact; the ports are freed at close', () => {
    const { w, pair } = pairOf(link, 3);
    const srv = pair.spawn(pair.b, 'srv', udpEchoServer, { port: 7, count: 60 });
    const clis = [1, 512, 1472].map((size, i) => pair.spawn(pair.a, `cli${size}`, udpClient, { peerIp: pair.b.ip, port: 7, size, count: 20, startDelayNs: 2_000_000 + i * 200_000_000 }));
    w.sched.runUntil(() => !srv.alive && clis.every((c) => !c.alive), { nsMax: 20e9 });
    for (const c of clis) {
      expect(logField(c, 'ok'), logs(c, srv, pair.b.registry)).toBe(20);
      expect(logField(c, 'bad')).toBe(0);
    }
    expect(logField(srv, 'served')).toBe(60);
    w.sched.runFor(10_000_000);
    // Only the registries' default channels are left; every UDP port was given back.
    expect(pair.a.netio.channels.size + pair.b.netio.channels.size).toBe(2);
    const sb = registryStatsFromLog(pair.b.registry!.log);
    void sb;
    if (link === 'an1') {
      // Every datagram went to a BQI (the client's requests to the one the registries bound, the
      // replies to the one the server discovered); BQI 0 carried only the registries' binder queries.
      expect(pair.a.netio.stats.txRefusedBqi + pair.b.netio.stats.txRefusedBqi).toBe(0);
      expect(pair.b.netio.stats.rxDelivered).toBeGreaterThanOrEqual(60);
      expect(pair.a.netio.stats.rxDelivered).toBeGreaterThanOrEqual(60);
      expect(pair.b.netio.stats.rxToDefault + pair.a.netio.stats.rxToDefault).toBeLessThanOrEqual(12); // ARP + binder
    }
  });

  it('a port nobody has: ECONNREFUSED (Ethernet: the ICMP port unreachable reaches the connected socket; AN1: the registries\' binding finds no BQI)', () => {
    const { w, pair } = pairOf(link, 4);
    const cli = pair.spawn(pair.a, 'cli', udpClient, { peerIp: pair.b.ip, port: 9999, size: 10, count: 1 });
    w.sched.runUntil(() => !cli.alive, { nsMax: 5e9 });
    if (link === 'ethernet') {
      expect(logField(cli, 'connect'), logs(cli, pair.a.registry, pair.b.registry)).toBe(0);
      expect(logField(cli, 'err')).toBe(UDP_ERR.ECONNREFUSED);
    } else expect(logField(cli, 'connect'), logs(cli, pair.a.registry, pair.b.registry)).toBe(UDP_ERR.ECONNREFUSED);
  });

  it('the server closes after one answer: the next request gets an ICMP port unreachable from its registry, delivered as ECONNREFUSED', () => {
    const { w, pair } = pairOf(link, 5);
    const srv = pair.spawn(pair.b, 'srv', udpEchoServer, { port: 7, count: 1 });
    const cli = pair.spawn(pair.a, 'cli', udpClient, { peerIp: pair.b.ip, port: 7, size: 10, count: 3, startDelayNs: 2_000_000 });
    w.sched.runUntil(() => !srv.alive && !cli.alive, { nsMax: 10e9 });
    expect(logField(cli, 'ok'), logs(cli, srv, pair.a.registry, pair.b.registry)).toBe(1);
    expect(logField(cli, 'err')).toBe(UDP_ERR.ECONNREFUSED);
    expect(logField(cli, 'bad')).toBe(0); // refused at once, no timeout
  });

  it('connect on a bound socket keeps its port (the registry re-grants it with a connected channel)', () => {
    const { w, pair } = pairOf(link, 6);
    const srv = pair.spawn(pair.b, 'srv', udpEchoServer, { port: 7, count: 1 });
    const cli = pair.spawn(pair.a, 'cli', udpBindThenConnect, { peerIp: pair.b.ip, peerPort: 7, port: 5000 });
    w.sched.runUntil(() => !srv.alive && !cli.alive, { nsMax: 5e9 });
    expect(logField(cli, 'bind'), logs(cli, srv, pair.a.registry)).toBe(0);
    expect(logField(cli, 'connect')).toBe(0);
    expect(logField(cli, 'port')).toBe(5000);
    expect(logField(cli, 'ok')).toBe(1);
  });
});
