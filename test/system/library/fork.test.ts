/**
 * Connections shared across fork (issue 17 item 2; P §3.5; docs/fork.md): a library task connected
 * to a peer on the other host forks (task_create, memory inherited); the connection moves into the
 * registry's engine and parent and child both read and write it through the registry.
 *
 * Byte accounting: the peer sends a hash stream; the chunks the parent read and the chunks the child
 * read, each in its own order, must interleave into exactly that stream (every byte read by exactly
 * one reader). Parent and child each write records in single writes; the peer parses the stream
 * it receives as records, each whole and in order per writer (interleaving at write granularity).
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../kernel/kernel.ts';
import { buildLibPair, type LibPair, type LinkName } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { ttcpReceiver } from '../../../userland/apps/ttcp.ts';
import { registryStatsFromLog } from '../../../userland/registry/registry-server.ts';
import { sharedStatsFromLog } from '../../../userland/registry/shared-conns.ts';
import { forker, forkPeer, newCollector, outsider, shareForger, streamByte } from './fork-programs.ts';
import { ttcpSender } from '../../../userland/apps/ttcp.ts';
import { KERN } from '../../../kernel/abi/errors.ts';
import { REG_ERR } from '../../../userland/netlib/registry-proto.ts';

const LINKS = ['ethernet', 'an1'] as const;
const logs = (...ts: (Task | undefined)[]): string => ts.map((t) => `${t?.name}: ${t?.log.slice(-6).join(' | ')} exit=${JSON.stringify(t?.exit)}`).join('\n');
const run = (w: World, done: () => boolean, ns: number): void => void w.sched.runUntil(done, { nsMax: ns });
const field = (t: Task, name: string): number | undefined => {
  for (let i = t.log.length - 1; i >= 0; i--) {
    const m = new RegExp(`(?:^|\\s)${name}=(-?\\d+)`).exec(t.log[i]!);
    if (m !== null) return Number(m[1]);
  }
  return undefined;
};

function pairOf(link: LinkName, seed: number, loss = 0): { w: World; pair: LibPair } {
  const w = new World({ seed, traceOn: false });
  return { w, pair: buildLibPair(w, link, loss > 0 ? { faults: { loss } } : {}) };
}

/**
 * Can `stream` be cut into the chunks of `a` (in order) and of `b` (in order), interleaved? Then
 * every byte was read by exactly one of the two readers and nothing else was read.
 */
export function interleaves(stream: Uint8Array, a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  const total = [...a, ...b].reduce((n, c) => n + c.length, 0);
  if (total !== stream.length) return false;
  const at = (c: Uint8Array, pos: number): boolean => {
    for (let k = 0; k < c.length; k++) if (stream[pos + k] !== c[k]) return false;
    return true;
  };
  const offA = [0];
  for (const c of a) offA.push(offA[offA.length - 1]! + c.length);
  const offB = [0];
  for (const c of b) offB.push(offB[offB.length - 1]! + c.length);
  // reach[i][j]: the first i chunks of a and j of b make up the stream's first offA[i] + offB[j] bytes.
  let prev: boolean[] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: boolean[] = [];
    for (let j = 0; j <= b.length; j++) {
      const pos = offA[i]! + offB[j]!;
      if (i === 0 && j === 0) row.push(true);
      else row.push((i > 0 && prev[j] === true && at(a[i - 1]!, pos - a[i - 1]!.length)) || (j > 0 && row[j - 1] === true && at(b[j - 1]!, pos - b[j - 1]!.length)));
    }
    prev = row;
  }
  return prev[b.length] === true;
}

const streamOf = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => streamByte(i));

function forkRun(link: LinkName, seed: number, o: { loss?: number; parent?: 'rw' | 'close'; child?: 'rw' | 'w' | 'r'; records?: number; bytes?: number; peerWriteDelayNs?: number } = {}) {
  const { w, pair } = pairOf(link, seed, o.loss ?? 0);
  const col = newCollector();
  const bytes = o.bytes ?? 100_000;
  const records = o.records ?? 40;
  const peer = pair.spawn(pair.b, 'peer', forkPeer, { port: 7000, bytes, recordLen: 1200, writeDelayNs: o.peerWriteDelayNs ?? 0 });
  const app = pair.spawn(pair.a, 'forker', forker(col), { peerIp: pair.b.ip, port: 7000, records, recordLen: 1200, parent: o.parent ?? 'rw', child: o.child ?? 'rw' });
  const child = (): Task | undefined => [...pair.a.kernel.tasks.values()].find((t) => t.name === 'forker.child');
  return { w, pair, col, peer, app, child, bytes, records };
}

describe.each(LINKS)('connections shared across fork on %s', (link) => {
  for (const loss of [0, 0.02]) {
    it(`parent and child both write and both read one socket: byte-exact${loss > 0 ? ' with 2 % loss' : ''}`, () => {
      const r = forkRun(link, loss > 0 ? 23 : 21, { loss });
      run(r.w, () => !r.peer.alive && !r.app.alive && r.child()?.alive === false, 300e9);
      const ch = r.child();
      expect(r.col.errors, logs(r.app, ch, r.peer, r.pair.a.registry)).toEqual([]);
      expect(r.col.forkKr).toBe(0);
      expect([field(r.peer, 'recP'), field(r.peer, 'recC'), field(r.peer, 'bad')], logs(r.peer, r.app, ch)).toEqual([r.records, r.records, 0]);
      // Both read, and what they read is the peer's stream, each byte once.
      expect(r.col.P.length).toBeGreaterThan(0);
      expect(r.col.C.length).toBeGreaterThan(0);
      expect(interleaves(streamOf(r.bytes), r.col.P, r.col.C)).toBe(true);
      // The connection was closed by the last holder: the peer saw end of stream after both closes.
      expect(field(r.peer, 'eofAt')!).toBeGreaterThan(Math.max(r.col.closedAt.P, r.col.closedAt.C));
      r.w.sched.runFor(10_000_000);
      const s = sharedStatsFromLog(r.pair.a.registry!.log)!;
      expect(s).toMatchObject({ shared: 1, closed: 1, tickets: 1, adopted: 1, refused: 0 });
      expect(registryStatsFromLog(r.pair.a.registry!.log)!.inherited).toBe(0);
      // Nothing of the connection is left in either task: only the default channel on host A.
      expect(r.pair.a.netio.channels.size).toBe(1);
      expect(r.w.trace.guestErrorsTotal).toBe(0);
    });
  }

  it('close by one holder does not close the connection: the child goes on alone after the parent closes and exits', () => {
    const r = forkRun(link, 25, { parent: 'close' });
    run(r.w, () => !r.peer.alive && r.child()?.alive === false, 300e9);
    const ch = r.child();
    expect(r.col.errors, logs(r.app, ch, r.peer)).toEqual([]);
    expect(r.app.alive).toBe(false);
    expect([field(r.peer, 'recP'), field(r.peer, 'recC'), field(r.peer, 'bad')], logs(r.peer, ch)).toEqual([0, r.records, 0]);
    // The child alone read the whole stream.
    expect(interleaves(streamOf(r.bytes), [], r.col.C)).toBe(true);
    expect(r.col.closedAt.P).toBeGreaterThan(0);
    expect(r.col.closedAt.C).toBeGreaterThan(r.col.closedAt.P);
    expect(field(r.peer, 'eofAt')!).toBeGreaterThan(r.col.closedAt.C);
    r.w.sched.runFor(10_000_000);
    expect(sharedStatsFromLog(r.pair.a.registry!.log)).toMatchObject({ shared: 1, closed: 1 });
  });

  it('a holder killed mid-transfer does not break the other: its whole records stay, the parent reads everything', () => {
    const r = forkRun(link, 27, { child: 'w', records: 150 });
    run(r.w, () => r.col.wrote.C >= 20 || !r.peer.alive, 60e9);
    const ch = r.child()!;
    expect(ch.alive, logs(r.app, ch, r.peer)).toBe(true);
    r.pair.a.kernel.endTask(ch, { kind: 'killed', by: 'test' });
    const killedAt = r.col.wrote.C;
    run(r.w, () => !r.peer.alive && !r.app.alive, 300e9);
    expect(r.col.errors.filter((e) => e.startsWith('P')), logs(r.app, r.peer)).toEqual([]);
    const recC = field(r.peer, 'recC')!;
    expect([field(r.peer, 'recP'), field(r.peer, 'bad')], logs(r.peer, r.app)).toEqual([r.records, 0]);
    // Every record the child's write returned for reached the peer whole (and one more may have been accepted as it died).
    expect(recC).toBeGreaterThanOrEqual(killedAt);
    expect(recC).toBeLessThan(r.records);
    expect(interleaves(streamOf(r.bytes), r.col.P, [])).toBe(true);
    r.w.sched.runFor(10_000_000);
    expect(sharedStatsFromLog(r.pair.a.registry!.log)).toMatchObject({ shared: 1, closed: 1 });
  });

  it('a reader killed while its READ waits in the registry loses nothing: the data goes back to the stream, the parent reads it all', () => {
    const r = forkRun(link, 31, { child: 'r', peerWriteDelayNs: 100_000_000 });
    run(r.w, () => r.col.childReading || !r.app.alive, 60e9);
    r.w.sched.runFor(5_000_000); // its READ is parked: the peer writes nothing for 100 ms
    const ch = r.child()!;
    expect(ch.alive).toBe(true);
    expect(ch.threads.some((t) => t.state.kind === 'blocked'), logs(ch)).toBe(true);
    r.pair.a.kernel.endTask(ch, { kind: 'killed', by: 'test' });
    run(r.w, () => !r.peer.alive && !r.app.alive, 300e9);
    expect(r.col.errors, logs(r.app, r.peer)).toEqual([]);
    expect(r.col.C).toEqual([]);
    expect([field(r.peer, 'recP'), field(r.peer, 'recC'), field(r.peer, 'bad')], logs(r.peer, r.app)).toEqual([r.records, 0, 0]);
    expect(interleaves(streamOf(r.bytes), r.col.P, [])).toBe(true);
  });

  it('SHARE is refused without the connection\'s channel right, without a TCB or with one that does not decode; the victim is byte-exact', () => {
    const { w, pair } = pairOf(link, 33);
    const rv = pair.spawn(pair.b, 'victim-rx', ttcpReceiver, { port: 5001 });
    const sink = pair.spawn(pair.b, 'sink', ttcpReceiver, { port: 7001 });
    const tv = pair.spawn(pair.a, 'victim-tx', ttcpSender, { peerIp: pair.b.ip, port: 5001, bytes: 256 * 1024, writeSize: 1024, localPort: 4300, startDelayNs: 1_000_000 });
    const fg = pair.spawn(pair.a, 'forger', shareForger, { peerIp: pair.b.ip, port: 7001, victimPort: 4300, victimPeerPort: 5001, delayNs: 20_000_000 });
    run(w, () => !rv.alive && !tv.alive && !fg.alive, 300e9);
    expect([field(fg, 'a'), field(fg, 'b'), field(fg, 'c'), field(fg, 'd')], logs(fg)).toEqual([REG_ERR.NOT_OWNER, REG_ERR.INVALID, REG_ERR.INVALID, KERN.SUCCESS]);
    expect([field(rv, 'received'), field(rv, 'bad')], logs(rv, tv)).toEqual([256 * 1024, 0]);
    w.sched.runFor(10_000_000);
    expect(sharedStatsFromLog(pair.a.registry!.log)).toMatchObject({ shared: 1, refused: 3 });
    void sink;
  });

  it('an outsider that holds a capability of its own is refused on the victim\'s connection; the victim is byte-exact', () => {
    const r = forkRun(link, 29, { bytes: 60_000 });
    const sink = r.pair.spawn(r.pair.b, 'sink', ttcpReceiver, { port: 7001 });
    const out = r.pair.spawn(r.pair.a, 'outsider', outsider(r.col), { peerIp: r.pair.b.ip, port: 7001 });
    run(r.w, () => !r.peer.alive && !r.app.alive && r.child()?.alive === false && !out.alive, 300e9);
    expect(field(out, 'tries'), logs(out)).toBe(12);
    expect(field(out, 'refused'), logs(out)).toBe(12);
    expect(field(out, 'got')).toBe(0);
    expect(r.col.errors, logs(r.app, r.child(), r.peer)).toEqual([]);
    expect([field(r.peer, 'recP'), field(r.peer, 'recC'), field(r.peer, 'bad')], logs(r.peer)).toEqual([r.records, r.records, 0]);
    expect(interleaves(streamOf(r.bytes), r.col.P, r.col.C)).toBe(true);
    expect(sink.alive).toBe(false);
  });
});

describe('interleaves (the byte accounting)', () => {
  const s = streamOf(100);
  it('accepts a true interleaving and refuses a lost, duplicated or moved byte', () => {
    expect(interleaves(s, [s.slice(0, 10), s.slice(30, 60)], [s.slice(10, 30), s.slice(60, 100)])).toBe(true);
    expect(interleaves(s, [s.slice(0, 10), s.slice(30, 60)], [s.slice(10, 30), s.slice(61, 100)])).toBe(false);
    expect(interleaves(s, [s.slice(0, 11), s.slice(30, 60)], [s.slice(10, 30), s.slice(60, 100)])).toBe(false);
    expect(interleaves(s, [s.slice(30, 60), s.slice(0, 10)], [s.slice(10, 30), s.slice(60, 100)])).toBe(false);
  });
});
