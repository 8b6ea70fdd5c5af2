/**
 * Issue 13 F3, F4, F5, F9: every registry request is validated, and one task's requests are
 * bounded by per-task quotas (userland/registry/limits.ts), so other tasks can still connect.
 * Each attack replays from a fixed seed; each failed on 639d4fe.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../kernel/kernel.ts';
import { logField } from '../../../studies/scenarios/hosts.ts';
import { buildLibPair, type LibPair } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { ttcpReceiver, ttcpSender } from '../../../userland/apps/ttcp.ts';
import { REG_ERR, REG_MSG } from '../../../userland/netlib/registry-proto.ts';
import { REGISTRY_LIMITS } from '../../../userland/registry/limits.ts';
import { registryStatsFromLog } from '../../../userland/registry/registry-server.ts';
import { holdServer, idleClient, regRequests, replyCount } from './programs.ts';

const logs = (...ts: (Task | undefined)[]): string => ts.map((t) => `${t?.name}: ${t?.log.slice(-6).join(' | ')} exit=${JSON.stringify(t?.exit)}`).join('\n');
const ip4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

function pairOf(link: 'ethernet' | 'an1', seed: number): { w: World; pair: LibPair } {
  const w = new World({ seed, traceOn: false });
  return { w, pair: buildLibPair(w, link) };
}

/** A task on `a` connects to a server on `b` after the attack: it must still get a connection. */
function laterConnectSucceeds(w: World, pair: LibPair, port: number): Task {
  pair.spawn(pair.b, `srv${port}`, holdServer, { port });
  const c = pair.spawn(pair.a, `later${port}`, idleClient, { peerIp: pair.b.ip, port, idleNs: 1_000_000 });
  w.sched.runUntil(() => c.log.some((l) => l.startsWith('connected=')) || !c.alive, { nsMax: 5e9 });
  return c;
}

describe.each(['ethernet', 'an1'] as const)('registry requests on %s', (link) => {
  it('F3: CONNECT from local port 65536 + P (P a live connection\'s port) is refused; the live connection is untouched', () => {
    const { w, pair } = pairOf(link, 41);
    const rx = pair.spawn(pair.b, 'rx', ttcpReceiver, { port: 5001 });
    const tx = pair.spawn(pair.a, 'tx', ttcpSender, { peerIp: pair.b.ip, port: 5001, bytes: 256 * 1024, writeSize: 4096, localPort: 4300, startDelayNs: 1_000_000 });
    w.sched.runUntil(() => pair.a.netio.channels.size > 1, { nsMax: 1e9 });
    w.sched.runFor(5_000_000);
    const atk = pair.spawn(pair.a, 'atk', regRequests, { msgId: REG_MSG.CONNECT, w0: pair.b.ip | 0, w1: 5001, w2: 65536 + 4300, n: 1, waitNs: 50_000_000 });
    const bad = pair.spawn(pair.a, 'bad', regRequests, { msgId: REG_MSG.CONNECT, w0: pair.b.ip | 0, w1: 5001, w2: -1, n: 1, waitNs: 50_000_000 });
    const bad2 = pair.spawn(pair.a, 'bad2', regRequests, { msgId: REG_MSG.CONNECT, w0: pair.b.ip | 0, w1: 70000, w2: 0, n: 1, waitNs: 50_000_000 });
    const bad3 = pair.spawn(pair.a, 'bad3', regRequests, { msgId: REG_MSG.CONNECT, w0: ip4(224, 0, 0, 1) | 0, w1: 80, w2: 0, n: 1, waitNs: 50_000_000 });
    w.sched.runUntil(() => !rx.alive && !tx.alive, { nsMax: 60e9 });
    expect(logField(rx, 'received'), logs(rx, tx, atk, pair.a.registry)).toBe(256 * 1024);
    expect(logField(rx, 'bad')).toBe(0);
    for (const t of [atk, bad, bad2, bad3]) expect(replyCount(t.log, REG_ERR.INVALID), logs(t)).toBe(1);
  });

  it('F4/quotas: one task asking for 70 connections to an unreachable address gets its quota; another task still connects', () => {
    const { w, pair } = pairOf(link, 42);
    const atk = pair.spawn(pair.a, 'atk', regRequests, { msgId: REG_MSG.CONNECT, w0: ip4(10, 0, 9, 99) | 0, w1: 80, w2: 0, n: 70, waitNs: 20_000_000, holdNs: 100e9 });
    w.sched.runUntil(() => atk.log.some((l) => l.startsWith('replies=')), { nsMax: 5e9 });
    const quota = link === 'an1' ? REGISTRY_LIMITS.bqisPerTask : REGISTRY_LIMITS.pendingConnectsPerTask;
    expect(replyCount(atk.log, REG_ERR.QUOTA), logs(atk, pair.a.registry)).toBe(70 - Math.min(70, quota));
    const c = laterConnectSucceeds(w, pair, 82);
    expect(logField(c, 'connected'), logs(c, atk, pair.a.registry)).toBe(0);
  });

  it('F5: 4,100 ACCEPTs from one live task are bounded by its quota; the registry keeps its names, others still connect; a listener dying with ACCEPTs pending leaks nothing', () => {
    const { w, pair } = pairOf(link, 43);
    const reg = pair.a.registry!;
    const base = reg.space.entries.size;
    const atk = pair.spawn(pair.a, 'atk', regRequests, { msgId: REG_MSG.ACCEPT, listenFirst: 7000, w0: 7000, words: 1, n: 4100, waitNs: 50_000_000, holdNs: 200_000_000 });
    w.sched.runUntil(() => atk.log.some((l) => l.startsWith('replies=')) || !atk.alive, { nsMax: 60e9 });
    expect(logField(atk, 'listen'), logs(atk)).toBe(0);
    expect(replyCount(atk.log, REG_ERR.QUOTA), logs(atk, reg)).toBe(4100 - REGISTRY_LIMITS.pendingAcceptsPerTask);
    expect(reg.space.entries.size - base).toBeLessThanOrEqual(REGISTRY_LIMITS.namesPerTask);
    const c = laterConnectSucceeds(w, pair, 83);
    expect(logField(c, 'connected'), logs(c, atk, reg)).toBe(0);
    // The attacker dies with its accepts pending: every name the registry held for it goes.
    w.sched.runUntil(() => !atk.alive && !c.alive, { nsMax: 1e9 });
    w.sched.runFor(20_000_000);
    expect(reg.space.entries.size, logs(reg)).toBe(base);
  });

  it('UNLISTEN answers the ACCEPTs still waiting (NO_LISTENER) and keeps none of their rights', () => {
    const w = new World({ seed: 46, traceOn: false });
    const pair = buildLibPair(w, link);
    const reg = pair.a.registry!;
    const base = reg.space.entries.size;
    const t = pair.spawn(pair.a, 'acc', regRequests, { msgId: REG_MSG.ACCEPT, listenFirst: 7100, w0: 7100, words: 1, n: 3, unlistenAfter: true, waitNs: 50_000_000, holdNs: 50_000_000 });
    w.sched.runUntil(() => t.log.some((l) => l.startsWith('replies=')) || !t.alive, { nsMax: 5e9 });
    expect(replyCount(t.log, REG_ERR.NO_LISTENER), t.log.join(' | ')).toBe(3);
    expect(replyCount(t.log, 0)).toBe(1); // the UNLISTEN itself
    expect(reg.space.entries.size - base, 'only the task port stays while the task lives').toBeLessThanOrEqual(1);
  });

  it('a task that exits right after sending CONNECTs (its task port dead in transit) leaves nothing behind', () => {
    const w = new World({ seed: 45, traceOn: false });
    const pair = buildLibPair(w, link, { mslNs: 20_000_000 });
    const reg = pair.a.registry!;
    const bqis = (): number => [...(pair.a.netio as unknown as { bqiInUse: Uint8Array }).bqiInUse].filter((x) => x !== 0).length;
    const base = { names: reg.space.entries.size, bqis: bqis() };
    const atk = pair.spawn(pair.a, 'atk', regRequests, { msgId: REG_MSG.CONNECT, w0: ip4(10, 0, 9, 99) | 0, w1: 80, w2: 0, n: 4, dieAfterSend: true });
    w.sched.runUntil(() => !atk.alive, { nsMax: 1e9 });
    w.sched.runFor(150_000_000); // well past the BQI hold (2·MSL = 40 ms); the SYNs would go on for minutes
    expect({ names: reg.space.entries.size, bqis: bqis() }, logs(reg)).toEqual(base);
  });

  it('F9: one task LISTENing on every ephemeral port gets its quota; another task\'s connect still finds a port', () => {
    const { w, pair } = pairOf(link, 44);
    const atk = pair.spawn(pair.a, 'atk', regRequests, { msgId: REG_MSG.LISTEN, w0: 49152, w1: 5, words: 2, varyIndex: 0, n: 16384, waitNs: 100_000_000, holdNs: 100e9 });
    w.sched.runUntil(() => atk.log.some((l) => l.startsWith('replies=')) || !atk.alive, { nsMax: 60e9 });
    expect(replyCount(atk.log, 0), logs(atk)).toBe(REGISTRY_LIMITS.listenPortsPerTask);
    expect(replyCount(atk.log, REG_ERR.QUOTA)).toBe(16384 - REGISTRY_LIMITS.listenPortsPerTask);
    const c = laterConnectSucceeds(w, pair, 84);
    expect(logField(c, 'connected'), logs(c, atk)).toBe(0);
    expect(registryStatsFromLog(pair.a.registry!.log)!.quota).toBeGreaterThan(0);
  });
});
