import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { findScenario, runScenario } from '../../studies/run.ts';

const hello = findScenario('hello');

function cli(args: string[]): string {
  return execFileSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8' });
}

describe('determinism', () => {
  it('same scenario and seed give the same fingerprint and results in one process', () => {
    const a = runScenario(hello, { seed: 7 });
    const b = runScenario(hello, { seed: 7 });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a).toEqual(b);
    expect(a.results['outcome']).toBe('done');
  });

  it('taps on or off give the same fingerprint', () => {
    const plain = runScenario(hello, { seed: 7 });
    let seen = 0;
    const tapped = runScenario(hello, {
      seed: 7,
      onWorld: (w) => {
        w.trace.taps.on('record', () => seen++);
      },
    });
    expect(seen).toBeGreaterThan(0);
    expect(tapped.fingerprint).toBe(plain.fingerprint);
  });

  it('same seed across processes prints the same fingerprint', () => {
    const a = JSON.parse(cli(['run', 'hello', '--seed', '7', '--json'])) as { fingerprint: string; simTimeNs: number };
    const b = JSON.parse(cli(['run', 'hello', '--seed', '7', '--json'])) as { fingerprint: string; simTimeNs: number };
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).toBe(runScenario(hello, { seed: 7 }).fingerprint);
  });

  it('a --cost override of the trap cost changes simTimeNs by exactly the traps it costs', () => {
    const base = runScenario(hello, { seed: 7 });
    const slow = runScenario(hello, { seed: 7, costOverrides: new Map([['kernel.trapCycles', 300]]) });
    expect(slow.simTimeNs).toBeGreaterThan(base.simTimeNs);
    expect(slow.fingerprint).not.toBe(base.fingerprint);
    const cli1 = JSON.parse(cli(['run', 'hello', '--seed', '7', '--json', '--cost', 'kernel.trapCycles=300'])) as { simTimeNs: number };
    expect(cli1.simTimeNs).toBe(slow.simTimeNs);
  });
});
