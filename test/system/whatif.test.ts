/**
 * What-if studies with the two runs side by side (issue 12, item 4), on the paper-table3
 * ping-pong (test/system/ping-runs.ts: the scenarios' set-up, fewer rounds, in-process):
 *
 * (a) Doubling the kernel's system-call entry (kernel.trapCycles). The library reaches the kernel
 *     per round trip only for net_send and for the network I/O module's wake-up (its threads
 *     synchronize through C-Threads, its clock is the AN1 page), like the monolithic kernel's
 *     send and recv: so the time the what-if adds to the library's round trip is no more than
 *     what it adds to the monolithic one's, and the fraction is smaller whenever the library's
 *     round trip is the longer one — as in every cell of the paper's Table 3.
 * (b) Doubling the TURBOchannel programmed-I/O costs (tc.io*: the PMAD-AA's register accesses and
 *     the copies to and from its board memory; the AN1's registers use the word costs too). The
 *     Ethernet path moves every byte by PIO, the AN1 path by DMA: Ethernet cells slow by a larger
 *     fraction, in both organizations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { LinkName } from '../../studies/scenarios/library-hosts.ts';
import { World } from '../../studies/world.ts';
import { pingRun, type Org } from './ping-runs.ts';

const ROUNDS = 10;
const costs = new World({ seed: 1, traceOn: false }).costs;
const TRAP_X2 = { 'kernel.trapCycles': 2 * costs.get('kernel.trapCycles') };
const PIO_X2 = Object.fromEntries(['tc.ioReadCycles', 'tc.ioWriteCycles', 'tc.ioReadNsPerByte', 'tc.ioWriteNsPerByte'].map((n) => [n, 2 * costs.get(n)]));

interface Pair {
  readonly baseNs: number;
  readonly whatIfNs: number;
  /** Time added per round trip (ns) and as a fraction of the base. */
  readonly addedNs: number;
  readonly fraction: number;
}
function sideBySide(org: Org, link: LinkName, size: number, over: Record<string, number>): Pair {
  const baseNs = pingRun(org, link, size, ROUNDS).meanNs;
  const whatIfNs = pingRun(org, link, size, ROUNDS, over).meanNs;
  expect(Number.isFinite(baseNs) && Number.isFinite(whatIfNs), `${org} ${link} ${size} B ran`).toBe(true);
  return { baseNs, whatIfNs, addedNs: whatIfNs - baseNs, fraction: whatIfNs / baseNs - 1 };
}
const show = (p: Pair): string => `${(p.baseNs / 1000).toFixed(1)} → ${(p.whatIfNs / 1000).toFixed(1)} µs (+${(p.fraction * 100).toFixed(2)} %)`;

describe.each(['ethernet', 'an1'] as const)('what-if kernel.trapCycles × 2, 1-byte round trip, %s', (link) => {
  let lib: Pair;
  let mono: Pair;
  let why = '';
  beforeAll(() => {
    lib = sideBySide('library', link, 1, TRAP_X2);
    mono = sideBySide('monolithic', link, 1, TRAP_X2);
    why = `library ${show(lib)}, monolithic ${show(mono)}`;
  });

  it('slows both organizations (the override reaches every kernel)', () => {
    expect(lib.addedNs, why).toBeGreaterThan(0);
    expect(mono.addedNs, why).toBeGreaterThan(0);
  });

  it('adds no more time to the library’s round trip than to the monolithic one’s (no extra kernel crossing on its path)', () => {
    // One more trap on the library's path per host would add half again: 25 % catches it.
    expect(lib.addedNs, why).toBeLessThanOrEqual(1.25 * mono.addedNs);
  });

  it('slows the monolithic organization by a larger fraction than the library (issue 12 item 4)', () => {
    // The library's round trip is the longer one now that its protocol layers cost what MB93's
    // server column measured (P §3.2), so the same system-call time is a smaller share of it.
    expect(lib.baseNs, why).toBeGreaterThan(mono.baseNs);
    expect(mono.fraction, why).toBeGreaterThan(lib.fraction);
  });
});

describe.each(['library', 'monolithic'] as const)('what-if TURBOchannel PIO × 2 (PMAD-AA), %s', (org) => {
  it.each([1, 1460])('%i-byte round trips: Ethernet slows by a larger fraction than AN1', (size) => {
    const eth = sideBySide(org, 'ethernet', size, PIO_X2);
    const an1 = sideBySide(org, 'an1', size, PIO_X2);
    const why = `Ethernet ${show(eth)}, AN1 ${show(an1)}`;
    expect(eth.fraction, why).toBeGreaterThan(0);
    expect(eth.fraction, why).toBeGreaterThan(an1.fraction);
  });
});
