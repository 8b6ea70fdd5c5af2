/**
 * The registry's connection templates, byte by byte (issue 13 item 4/5): a frame valid for the
 * connection in every byte is sent; changing any one byte of a field that names an endpoint
 * (link addresses and type, on AN1 DST_SHORT and DST_BQI, IPv4 version/IHL, protocol, addresses,
 * TCP ports) is refused by net_send, and changing any other header byte is not (the template
 * constrains exactly the identity fields).
 */
import { describe, expect, it } from 'vitest';
import { buildLibPair } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { fieldSweep, holdServer, releaseAndKeep } from './programs.ts';

const range = (a: number, n: number): number[] => Array.from({ length: n }, (_, i) => a + i);
const ipTcp = (l: number): number[] => [l, l + 9, ...range(l + 12, 4), ...range(l + 16, 4), ...range(l + 20, 2), ...range(l + 22, 2)];
const IDENTITY = {
  ethernet: [...range(0, 6), ...range(6, 6), 12, 13, ...ipTcp(14)],
  // DST_SHORT (0..1), DST_BQI (2..3), DST_UID, SRC_UID, TYPE; SPARE (18..19) is free.
  an1: [...range(0, 2), ...range(2, 2), ...range(4, 6), ...range(10, 6), 16, 17, ...ipTcp(20)],
};

describe.each(['ethernet', 'an1'] as const)('connection template on %s', (link) => {
  it('refuses a change to exactly the identity bytes (AN1: DST_SHORT included)', () => {
    const w = new World({ seed: 61, traceOn: false });
    const pair = buildLibPair(w, link);
    pair.spawn(pair.b, 'srv', holdServer, { port: 82 });
    const t = pair.spawn(pair.a, 'sweep', fieldSweep, { peerIp: pair.b.ip, port: 82 });
    w.sched.runUntil(() => t.log.some((l) => l.startsWith('refused=')) || !t.alive, { nsMax: 5e9 });
    expect(t.log.join(' | ')).toContain('valid=0 otherKr=-1');
    const line = t.log.find((l) => l.startsWith('refused='))!;
    const got = line.slice('refused='.length).split(',').filter((x) => x !== '').map(Number);
    expect(got).toEqual([...IDENTITY[link]].sort((a, b) => a - b));
  });

  it('a released connection has no channel: a library that kept its right cannot send through it', () => {
    const w = new World({ seed: 62, traceOn: false });
    const pair = buildLibPair(w, link);
    pair.spawn(pair.b, 'srv', holdServer, { port: 82 });
    const t = pair.spawn(pair.a, 'keeper', releaseAndKeep, { peerIp: pair.b.ip, port: 82 });
    w.sched.runUntil(() => t.log.some((l) => l.startsWith('before=')) || !t.alive, { nsMax: 5e9 });
    expect(t.log.join(' | ')).toContain('before=0');
    expect(t.log.join(' | ')).not.toContain('after=0');
  });
});
