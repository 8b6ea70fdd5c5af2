/**
 * The fingerprint covers the time of every event (issue 14 item 5): a what-if that moves any event
 * moves the fingerprint, even when no trace record changes. raw-an1 with a 3-byte data-cache line
 * makes the receiving driver's invalidation dearer: the receiver's CPU time changes, the frames'
 * times and the run's end do not, and before every event was folded in the fingerprint stayed put.
 */
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../studies/scenarios/index.ts';
import { runScenario } from '../../studies/run.ts';

describe('fingerprint', () => {
  it('changes with a cost that moves only CPU bursts, and is the same for the same run', () => {
    const s = SCENARIOS.get('raw-an1')!;
    const params = { frames: 200 };
    const base = runScenario(s, { seed: 1, params });
    const again = runScenario(s, { seed: 1, params });
    const slower = runScenario(s, { seed: 1, params, costOverrides: new Map([['cpu.dcacheLineBytes', 3]]) });
    expect(again.fingerprint).toBe(base.fingerprint);
    expect(slower.simTimeNs).toBe(base.simTimeNs); // nothing the scenario reports moved
    expect(slower.fingerprint).not.toBe(base.fingerprint);
  });
});
