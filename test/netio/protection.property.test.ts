/**
 * Protection properties of the network I/O module (issue 6), with adversarial guest tasks the
 * test generates: each task runs a generated program of real traps and memory accesses. The
 * scenario, its generator and its invariants are the campaign's family `netio`
 * (studies/campaign/netio.ts); here fast-check makes its choices (and shrinks them), with longer
 * programs than the campaign's.
 *
 * - Impersonation: no frame leaves host A whose header differs from the template of a channel
 *   the sending task was granted; a send succeeds exactly when the name is the task's own live
 *   channel right, the range and length are good and the header in the region matches the
 *   template field by field (an oracle independent of the compiled matcher); forged names,
 *   another task's names, dead names, out-of-region offsets and lengths never send. On AN1 a
 *   second thread rewrites the header continuously while frames are queued for DMA.
 * - Isolation: every frame a channel on B receives matches that channel's key; no task maps
 *   another task's channel region — `vm_map` succeeds exactly on the task's own live region
 *   right (not another task's name for its region, a channel right, or a random name); after
 *   revocation a channel receives nothing more.
 * - Accounting: at B every arriving frame went to one channel, the default channel or a counter.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { netioScenario } from '../../studies/campaign/netio.ts';
import { fcDraw, fcRuns, runChecked } from '../system/campaign/fc-draw.ts';

describe('protection properties (Ethernet, generated adversarial tasks)', () => {
  // Seeds whose runs commit a frame to a channel closed while its copy-out of the board waited for
  // the clock (netio stages the frame and re-checks the channel since; a mutant without the
  // re-check fails each of them within 20 runs, and a fresh search of 20 runs only now and then):
  // replayed every run, as well as a fresh search.
  it.each([['a fresh search', undefined], ['seed 1 (replay)', 1], ['seed 6 (replay)', 6]] as const)('impersonation, isolation and accounting hold for any interleaving of generated programs: %s', (_what, replaySeed) => {
    const mapTally = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(fc.gen(), (g) => {
        const c = runChecked((c) => netioScenario(fcDraw(g), c, { link: 'ethernet', ops: [10, 60] }));
        mapTally.ok += c.tallies.get('netio.map-ok') ?? 0;
        mapTally.refused += c.tallies.get('netio.map-refused') ?? 0;
      }),
      replaySeed === undefined ? { numRuns: Math.max(10, Math.floor(fcRuns() / 5)) } : { seed: replaySeed, numRuns: 20 },
    );
    // The generator reached both sides of the vm_map oracle.
    expect(mapTally.ok).toBeGreaterThan(0);
    expect(mapTally.refused).toBeGreaterThan(0);
  });
});

describe('protection properties (AN1: header rewritten while the frame waits for DMA)', () => {
  it('every frame that leaves carries the checked header, whatever a second thread writes', () => {
    fc.assert(
      fc.property(fc.gen(), (g) => {
        runChecked((c) => netioScenario(fcDraw(g), c, { link: 'an1', frames: [5, 40] }));
      }),
      { numRuns: Math.max(5, Math.floor(fcRuns() / 10)) },
    );
  });
});
