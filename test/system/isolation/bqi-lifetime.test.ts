/**
 * Issue 13 F1/F2: a BQI is never handed to a new connection while a channel, template or frame
 * in flight can still name it. Both attacks replay from fixed seeds on AN1.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../kernel/kernel.ts';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildLibPair } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { acceptAndClose, holdServer, idleClient, keepOpenInjector, markedSlots, readThenAbandon, writerServer } from './programs.ts';

const logs = (...ts: (Task | undefined)[]): string => ts.map((t) => `${t?.name}: ${t?.log.join(' | ')} exit=${JSON.stringify(t?.exit)}`).join('\n');

describe('BQI lifetime (AN1)', () => {
  it('F1: an attacker that keeps its channel open after the peer closed cannot inject into the connection that gets the peer BQI next', () => {
    const w = new World({ seed: 31, traceOn: false });
    const pair = buildLibPair(w, 'an1');
    const { a, b } = pair;
    const srv = pair.spawn(b, 'closer', acceptAndClose, { port: 81, lingerNs: 5_000_000, holdNs: 5e9 });
    const hold = pair.spawn(a, 'hold', holdServer, { port: 82 });
    const atk = pair.spawn(a, 'attacker', keepOpenInjector, { peerIp: b.ip, port: 81, attackDelayNs: 60_000_000, frames: 20 });
    const vic = pair.spawn(b, 'victim', idleClient, { peerIp: a.ip, port: 82, startDelayNs: 30_000_000, idleNs: 300_000_000 });
    w.sched.runUntil(() => atk.log.some((l) => l.startsWith('injected=')) || !atk.alive, { nsMax: 5e9 });
    expect(logField(atk, 'injected'), logs(atk, srv, vic, b.registry)).toBe(20); // every frame passed its template check and left
    expect(logField(vic, 'connected')).toBe(0);
    // None of the attacker's frames reached the victim's ring (nor any other connection's).
    expect(markedSlots(b), logs(atk, srv, vic, b.registry)).toBe(0);
    void hold;
  });

  it('a BQI stays held past 2·MSL while frames keep naming it (a patient attacker injecting every 5 ms)', () => {
    const w = new World({ seed: 33, traceOn: false });
    const mslNs = 20_000_000; // 2·MSL = 40 ms
    const pair = buildLibPair(w, 'an1', { mslNs });
    const { a, b } = pair;
    const srv = pair.spawn(b, 'closer', acceptAndClose, { port: 81, lingerNs: 5_000_000, holdNs: 5e9 });
    pair.spawn(a, 'hold', holdServer, { port: 82 });
    const atk = pair.spawn(a, 'attacker', keepOpenInjector, { peerIp: b.ip, port: 81, attackDelayNs: 20_000_000, frames: 60, intervalNs: 5_000_000 });
    // The victim connects well after 2·MSL from the close, while the injections go on.
    const vic = pair.spawn(b, 'victim', idleClient, { peerIp: a.ip, port: 82, startDelayNs: 150_000_000, idleNs: 400_000_000 });
    w.sched.runUntil(() => atk.log.some((l) => l.startsWith('injected=')) || !atk.alive, { nsMax: 5e9 });
    expect(logField(atk, 'injected'), logs(atk, srv, vic)).toBe(60);
    expect(logField(vic, 'connected')).toBe(0);
    expect(markedSlots(b), logs(atk, srv, vic, b.registry)).toBe(0);
  });

  it('F2: a close handed to the registry keeps its BQI: the next task to connect does not receive the old connection\'s data, the registry does', () => {
    const w = new World({ seed: 32, traceOn: false });
    const pair = buildLibPair(w, 'an1');
    const { a, b } = pair;
    const wr = pair.spawn(a, 'writer', writerServer, { port: 83, bytes: 256 * 1024 });
    const hold = pair.spawn(a, 'hold', holdServer, { port: 82 });
    const ab = pair.spawn(b, 'abandon', readThenAbandon, { peerIp: a.ip, port: 83, readBytes: 2048, lingerNs: 0 });
    const vic = pair.spawn(b, 'victim', idleClient, { peerIp: a.ip, port: 82, startDelayNs: 20_000_000, idleNs: 3_000_000_000 });
    w.sched.runUntil(() => vic.log.some((l) => l.startsWith('idle done')) || !vic.alive, { nsMax: 10e9 });
    expect(logField(ab, 'handed'), logs(ab, vic, wr, b.registry)).toBe(1);
    expect(logField(vic, 'connected')).toBe(0);
    expect(markedSlots(b), logs(ab, vic, wr, b.registry)).toBe(0);
    void hold;
  });
});
