/**
 * Scenario udp-rtt (issue 17): library round trips on both links at the five sizes, the same on
 * every seed tried, growing with the size; and the UDP protocol layers the run charged per datagram
 * are MB93 Table 4's UDP server-column rows (udp_output 229/398 µs, udp_input 61/273 µs at 1 / 1472
 * bytes), which the library's UDP constants are sourced on — within ±2 %, read from the CPU's
 * per-layer accounting (a charge removed or moved to another row fails it).
 */
import { describe, expect, it } from 'vitest';
import { findScenario, runScenario } from '../../../studies/run.ts';

const rounds = 6;
const warmup = 2;
const datagrams = rounds + warmup;

describe('udp-rtt', () => {
  const run = (seed: number, sizes = [1, 100, 512, 1024, 1472]) =>
    runScenario(findScenario('udp-rtt')!, { seed, params: { rounds, warmup, messageSizes: sizes } });

  it('library and monolithic, Ethernet and AN1: a round trip per size, growing with the size; AN1 faster than Ethernet', () => {
    const r = run(1);
    for (const org of ['library', 'monolithic'] as const) {
      const eth = (r.results['ethernet'] as Record<string, number[]>)[org]!;
      const an1 = (r.results['an1'] as Record<string, number[]>)[org]!;
      expect(eth).toHaveLength(5);
      for (let i = 1; i < 5; i++) {
        expect(eth[i]!).toBeGreaterThan(eth[i - 1]!);
        expect(an1[i]!).toBeGreaterThan(an1[i - 1]!);
      }
      for (let i = 0; i < 5; i++) expect(an1[i]!).toBeLessThan(eth[i]!);
    }
    // The single server, Ethernet only (as its TCP tables): slower than the other two at every size.
    const ux = (r.results['ethernet'] as Record<string, number[]>)['mach-ux']!;
    expect(ux).toHaveLength(5);
    const ethAll = r.results['ethernet'] as Record<string, number[]>;
    for (let i = 0; i < 5; i++) {
      if (i > 0) expect(ux[i]!).toBeGreaterThan(ux[i - 1]!);
      expect(ux[i]!).toBeGreaterThan(ethAll['library']![i]!);
      expect(ux[i]!).toBeGreaterThan(ethAll['monolithic']![i]!);
    }
    expect((r.results['an1'] as Record<string, unknown>)['mach-ux']).toBeUndefined();
    const eth = (r.results['ethernet'] as { library: number[] }).library;
    expect(r.results['retries']).toBe(0);
    expect(r.guestErrors).toBe(0);
    // Seeds do not change a loss-free run's timing.
    const r2 = run(2, [1, 1472]);
    expect((r2.results['ethernet'] as { library: number[] }).library).toEqual([eth[0], eth[4]]);
  });

  it('per datagram, udp_output and udp_input of the library (both links) and the single server are MB93\'s UDP server-column rows (±2 %)', () => {
    const r = run(1, [1, 1472]);
    const rows = { udp_output: [229, 398], udp_input: [61, 273] } as const;
    let checked = 0;
    for (const link of ['ethernet', 'an1', 'ux']) {
      ([1, 1472] as const).forEach((size, i) => {
        for (const h of ['a', 'b']) {
          const cpu = r.cpuUs[link === 'ux' ? `udpux-${size}-${h}` : `udp-${link}-${size}-${h}`]!;
          for (const [row, mb93] of Object.entries(rows)) {
            // On AN1 each host's registry also sent or took one 6-byte binder datagram (the BQI binding).
            const binder = link === 'an1' ? (row === 'udp_output' ? 5722 + 2.872 * 6 : 1521 + 3.603 * 6) / 25 : 0;
            const perDatagram = ((cpu[row] ?? 0) - binder) / datagrams;
            expect(perDatagram / mb93[i]!, `${link} ${size} B host ${h} ${row}: ${perDatagram} µs`).toBeGreaterThan(0.98);
            expect(perDatagram / mb93[i]!).toBeLessThan(1.02);
            checked++;
          }
        }
      });
    }
    expect(checked).toBe(24);
  });

  it('monolithic: per datagram, udp_output and udp_input are MB93\'s UDP kernel-column rows (±2 %)', () => {
    const r = run(1, [1, 1472]);
    const rows = { udp_output: [70, 273], udp_input: [67, 279] } as const;
    for (const link of ['ethernet', 'an1']) {
      ([1, 1472] as const).forEach((size, i) => {
        for (const h of ['a', 'b']) {
          const cpu = r.cpuUs[`udpk-${link}-${size}-${h}`]!;
          for (const [row, mb93] of Object.entries(rows)) {
            const perDatagram = (cpu[row] ?? 0) / datagrams;
            expect(perDatagram / mb93[i]!, `${link} ${size} B host ${h} ${row}: ${perDatagram} µs`).toBeGreaterThan(0.98);
            expect(perDatagram / mb93[i]!).toBeLessThan(1.02);
          }
        }
      });
    }
  });
});
