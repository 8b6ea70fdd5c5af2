/**
 * Two hosts (kernel + AN1 driver + BQI firmware) exchange 10,000 frames each way at line rate
 * over the 100 Mb/s link: intact, in order, in the ring their BQI names, counters adding up.
 */
import { describe, expect, it } from 'vitest';
import { RAW_AN1_DEFAULTS, runRawAn1 } from '../../../studies/scenarios/raw-an1.ts';
import { World } from '../../../studies/world.ts';

describe('AN1 two-host exchange', () => {
  it('10,000 frames each way at line rate arrive intact and in order', () => {
    const world = new World({ seed: 1, traceOn: false });
    const r = runRawAn1(world, { ...RAW_AN1_DEFAULTS, frames: 10_000, bidirectional: true });
    expect(r['outcome']).toBe('done');
    expect(r['framesSent']).toBe(20_000);
    expect(r['framesReceived']).toBe(20_000);
    expect(r['framesDropped']).toBe(0);
    expect(r['misdelivered']).toBe(0);
    expect(r['corrupted']).toBe(0);
    expect(r['outOfOrder']).toBe(0);
    expect(r['sequenceGaps']).toBe(0);
    // pattern [1,2,3,0,7,100]: 7 and 100 are not enabled, so a third of the frames fall back to BQI 0
    expect(r['redirectedToBqi0']).toBe(2 * 3_332);
    // both directions near the 1500/1524-byte line rate of 97.6 Mb/s each
    expect(r['throughputMbps'] as number).toBeGreaterThan(2 * 97);
    expect(r['clockTicksPerUs']).toBe(25);
    expect(r['clockReadBy']).toBe('guest task, clock page mapped read-only');
    const hosts = r['hosts'] as { sent: number; received: number; boardDrops: number; overruns: number; rxErrs: number }[];
    for (const h of hosts) {
      expect(h.sent).toBe(10_000);
      expect(h.received).toBe(10_000);
      expect(h.boardDrops + h.overruns + h.rxErrs).toBe(0);
    }
    expect(world.trace.guestErrorsTotal).toBe(0);
  });

  it('on a lossy, corrupting link every frame is received, lost on the wire, or counted as an error', () => {
    const world = new World({ seed: 7, traceOn: false });
    const faults = { loss: 0.02, corrupt: 0.02 };
    const r = runRawAn1(world, { ...RAW_AN1_DEFAULTS, frames: 2_000, bidirectional: true, faults: [faults, faults] });
    const received = r['framesReceived'] as number;
    const dropped = r['framesDropped'] as number;
    expect(r['framesSent']).toBe(4_000);
    expect(received).toBeLessThan(4_000);
    expect(received + dropped).toBe(4_000);
    expect(r['misdelivered']).toBe(0);
    expect(r['corrupted']).toBe(0);
    expect(r['outOfOrder']).toBe(0);
    expect(r['sequenceGaps'] as number).toBeGreaterThan(0);
  });

  it('is deterministic: same seed, same fingerprint', () => {
    const run = (): string => {
      const world = new World({ seed: 3 });
      runRawAn1(world, { ...RAW_AN1_DEFAULTS, frames: 300, bidirectional: true, faults: [{ loss: 0.05 }, { reorder: 0.05 }] });
      return world.trace.fingerprint();
    };
    expect(run()).toBe(run());
  });
});
