/**
 * The 10 Mb/s segment on its own, with bare stations: timing, CSMA/CD with any number of
 * stations, backoff from the run's PRNG, RTRY, late collisions, faults.
 */
import { describe, expect, it } from 'vitest';
import { crc32, fcsOk, writeFcs } from '../../../emulator/bits/crc32.ts';
import { EthernetSegment, type EthernetMac, type EthernetPort, type TransmitOutcome } from '../../../emulator/net/ethernet-segment.ts';
import type { FaultConfig } from '../../../emulator/net/faults.ts';
import { Rng } from '../../../emulator/sim/rng.ts';
import { Scheduler } from '../../../emulator/sim/scheduler.ts';
import { Trace } from '../../../emulator/sim/trace.ts';

class Station implements EthernetMac {
  readonly arrived: { at: number; frame: Uint8Array }[] = [];
  readonly outcomes: TransmitOutcome[] = [];
  port!: EthernetPort;
  constructor(private readonly sched: Scheduler) {}
  frameArrived(frame: Uint8Array): void {
    this.arrived.push({ at: this.sched.now, frame });
  }
  transmitDone(o: TransmitOutcome): void {
    this.outcomes.push(o);
  }
}

function frame(len: number, tag: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len - 4; i++) f[i] = (i + tag) & 0xff;
  writeFcs(f, len - 4, crc32(f, 0, len - 4));
  return f;
}

function lan(n: number, opts: { seed?: number; propagationNs?: number; faults?: FaultConfig } = {}) {
  const sched = new Scheduler();
  const trace = new Trace(sched);
  const seg = new EthernetSegment({ sched, trace, rng: Rng.fromSeed(opts.seed ?? 1) }, {
    name: 'lan',
    ...(opts.propagationNs !== undefined ? { propagationNs: opts.propagationNs } : {}),
    ...(opts.faults !== undefined ? { faults: opts.faults } : {}),
  });
  const st = Array.from({ length: n }, (_, i) => {
    const s = new Station(sched);
    s.port = seg.attach(`s${i}`, s);
    return s;
  });
  return { sched, seg, st };
}

describe('10 Mb/s Ethernet segment', () => {
  it('a frame takes (64 + 8·bytes) bit times and arrives after the propagation delay; back-to-back frames keep a 9.6 µs gap', () => {
    const { sched, st } = lan(2, { propagationNs: 500 });
    st[0]!.port.transmit({ frame: frame(100, 1), attemptsMax: 16 });
    sched.runFor(1_000_000);
    expect(st[0]!.outcomes[0]).toMatchObject({ ok: true, collisions: 0, deferred: false, startNs: 0, endNs: 86_400 });
    expect(st[1]!.arrived[0]!.at).toBe(86_900);
    st[0]!.port.transmit({ frame: frame(64, 2), attemptsMax: 16 });
    sched.runFor(1_000_000);
    // The station's own gap counts from the end of its last signal.
    expect(st[0]!.outcomes[1]!.startNs).toBe(1_000_000);
    const s = st[0]!;
    s.outcomes.length = 0;
    s.port.transmit({ frame: frame(64, 3), attemptsMax: 16 });
    const start = sched.now;
    sched.runUntil(() => s.outcomes.length === 1, { nsMax: 1_000_000 });
    s.port.transmit({ frame: frame(64, 4), attemptsMax: 16 });
    sched.runUntil(() => s.outcomes.length === 2, { nsMax: 1_000_000 });
    expect(s.outcomes[1]!.startNs - s.outcomes[0]!.endNs).toBe(9_600);
    expect(s.outcomes[0]!.startNs).toBe(start);
  });

  it('three stations starting together collide, back off and all get through; everyone receives everyone else', () => {
    const { sched, seg, st } = lan(3);
    st.forEach((s, i) => s.port.transmit({ frame: frame(200, i), attemptsMax: 16 }));
    sched.runFor(50_000_000);
    for (const [i, s] of st.entries()) {
      expect(s.outcomes[0]!.ok).toBe(true);
      expect(s.arrived.length).toBe(2);
      expect(s.arrived.every((a) => fcsOk(a.frame))).toBe(true);
      expect(s.arrived.map((a) => a.frame[0])).not.toContain(i);
    }
    expect(seg.collisionsTotal).toBeGreaterThanOrEqual(3);
    expect(st.reduce((a, s) => a + s.outcomes[0]!.collisions, 0)).toBe(seg.collisionsTotal);
  });

  it('backoff comes from the run\'s PRNG: same seed, same schedule; another seed, another', () => {
    const schedule = (seed: number): number[] => {
      const { sched, st } = lan(2, { seed });
      st.forEach((s, i) => s.port.transmit({ frame: frame(500, i), attemptsMax: 16 }));
      sched.runFor(100_000_000);
      return st.map((s) => s.outcomes[0]!.endNs);
    };
    expect(schedule(5)).toEqual(schedule(5));
    const others = [6, 7, 8, 9].map((s) => schedule(s).join());
    expect(others.some((x) => x !== schedule(5).join())).toBe(true);
  });

  it('with a single attempt (DRTY) a collision is a retry error; 16 attempts otherwise', () => {
    const { sched, st } = lan(2);
    st[0]!.port.transmit({ frame: frame(100, 0), attemptsMax: 1 });
    st[1]!.port.transmit({ frame: frame(100, 1), attemptsMax: 1 });
    sched.runFor(10_000_000);
    for (const s of st) expect(s.outcomes[0]).toMatchObject({ ok: false, retryError: true, collisions: 1 });
    expect(st[0]!.outcomes[0]!.tdrBitTimes).toBe(5);
  });

  it('a collision after the slot time is late: LCOL, no retry', () => {
    // 60 µs between stations: longer than a slot, so the second station cannot hear the first in time.
    const { sched, st } = lan(2, { propagationNs: 60_000 });
    st[0]!.port.transmit({ frame: frame(1000, 0), attemptsMax: 16 });
    sched.runFor(40_000);
    st[1]!.port.transmit({ frame: frame(1000, 1), attemptsMax: 16 });
    sched.runFor(10_000_000);
    expect(st[0]!.outcomes[0]).toMatchObject({ ok: false, lateCollision: true });
    expect(st[1]!.outcomes[0]!.lateCollision).toBe(false);
  });

  it('faults: loss, bit corruption (FCS fails), duplication, delay', () => {
    const { sched, seg, st } = lan(2);
    seg.setFaults('s0', 's1', { corrupt: 1 });
    st[0]!.port.transmit({ frame: frame(100, 0), attemptsMax: 16 });
    sched.runFor(1_000_000);
    expect(fcsOk(st[1]!.arrived[0]!.frame)).toBe(false);
    seg.setFaults('s0', 's1', { duplicate: 1, delayNs: 5_000 });
    const t = sched.now;
    st[0]!.port.transmit({ frame: frame(100, 1), attemptsMax: 16 });
    sched.runFor(1_000_000);
    expect(st[1]!.arrived.length).toBe(3);
    expect(st[1]!.arrived[1]!.at).toBe(t + 86_400 + 500 + 5_000);
    seg.setFaults('s0', 's1', { loss: 1 });
    st[0]!.port.transmit({ frame: frame(100, 2), attemptsMax: 16 });
    sched.runFor(1_000_000);
    expect(st[1]!.arrived.length).toBe(3);
    expect(st[1]!.port.counters.framesLostInbound).toBe(1);
  });
});
