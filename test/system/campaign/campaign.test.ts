/**
 * `ulp fuzz` (issue 13 item 6): a small campaign runs every family and passes; the worker pool
 * gives the same tallies as one thread; a scenario replays exactly; a mutant of the guarded code
 * (net_send's template check disabled) is reported with a replay line that reproduces it; usage
 * errors are one line and exit 2.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FAMILY_NAMES, familyOf, runScenario } from '../../../studies/campaign/campaign.ts';
import { runCampaignHere, runCampaignPool, type CampaignSummary } from '../../../studies/campaign/run.ts';

function ulp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The tallies without wall times. */
const tallies = (s: CampaignSummary): unknown => Object.fromEntries(Object.entries(s.families).map(([k, t]) => [k, { runs: t.runs, checks: t.checks, violations: t.violations, byName: t.byName }]));

describe('the campaign', () => {
  const runs = 3 * FAMILY_NAMES.length;
  let here: CampaignSummary;

  it('a small campaign runs every family and every invariant holds', () => {
    here = runCampaignHere({ families: FAMILY_NAMES, seed: 7, runs, jobs: 1 });
    expect(here.failures).toEqual([]);
    expect(here.failedRuns).toBe(0);
    for (const name of FAMILY_NAMES) {
      const t = here.families[name]!;
      expect(t.runs, name).toBe(3);
      // Every scenario checks invariants beyond "did not crash".
      expect(t.checks, name).toBeGreaterThan(2 * t.runs);
      expect(Object.keys(t.byName).filter((k) => k !== 'no-crash').length, name).toBeGreaterThan(2);
    }
  }, 300_000);

  it('on worker threads (tinypool) the same scenarios give the same tallies', async () => {
    const pooled = await runCampaignPool({ families: FAMILY_NAMES, seed: 7, runs, jobs: 2 });
    expect(tallies(pooled)).toEqual(tallies(here));
  }, 300_000);

  it('a scenario is a function of (family, seed, index): a replay repeats it exactly, another index differs', () => {
    const fam = familyOf('netio')!;
    const a = runScenario(fam, 7, 2);
    const b = runScenario(fam, 7, 2);
    expect({ ...b, ms: 0 }).toEqual({ ...a, ms: 0 });
    const others = [7, 12, 17].map((i) => runScenario(fam, 7, i).byName);
    expect(others.some((o) => JSON.stringify(o) !== JSON.stringify(a.byName))).toBe(true);
  }, 120_000);
});

describe('ulp fuzz', () => {
  it('runs a campaign and prints per family the runs, invariants checked, violations and runs/s (exit 0)', () => {
    const r = ulp('fuzz', '--runs', '5', '--jobs', '1', '--seed', '3');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ulp fuzz: seed 3, 5 scenarios on 1 thread in [\d.]+ s \([\d.]+ runs\/s\)\n/);
    expect(r.stdout).toMatch(/^family +runs +invariants checked +violations +runs\/s \(one thread\)$/m);
    for (const name of FAMILY_NAMES) expect(r.stdout).toMatch(new RegExp(`^${name} +1 +\\d+ +0 +[\\d.]+$`, 'm'));
    expect(r.stdout).toMatch(/^every invariant held$/m);
  }, 300_000);

  it('a mutant (the template check disabled) is reported with a replay line that reproduces it; the unmutated replay passes', () => {
    const r = ulp('fuzz', '--runs', '8', '--jobs', '2', '--family', 'netio', '--mutant', 'netio-template-unchecked', '--json');
    expect(r.status).toBe(1);
    const s = JSON.parse(r.stdout) as { failedRuns: number; failures: { family: string; seed: number; index: number; violations: string[]; replay: string }[] };
    expect(s.failedRuns).toBeGreaterThan(0);
    const f = s.failures[0]!;
    expect(f.family).toBe('netio');
    expect(f.violations.join(' ')).toMatch(/netio\.(impersonation|send-oracle)/);
    expect(f.replay).toBe(`ulp fuzz --replay netio:1:${f.index} --mutant netio-template-unchecked`);
    expect(r.stderr).toContain(`FAIL netio seed=1 index=${f.index}; replay: ${f.replay}`);
    const replay = ulp(...f.replay.split(' ').slice(1));
    expect(replay.status).toBe(1);
    expect(replay.stdout).toContain(f.violations[0]!);
    const clean = ulp('fuzz', '--replay', `netio:1:${f.index}`);
    expect(clean.status).toBe(0);
    expect(clean.stdout).toMatch(new RegExp(`^ulp fuzz: netio seed=1 index=${f.index}: \\d+ invariants checked, 0 violated`));
  }, 300_000);

  it.each([
    [['--runs', '0'], /^ulp: --runs needs an integer in \[1, /],
    [['--runs', 'many'], /^ulp: --runs needs an integer/],
    [['--jobs', '0'], /^ulp: --jobs needs an integer in \[1, 256\]/],
    [['--family', 'nope'], /^ulp: unknown family 'nope' \(families: syscall, /],
    [['--seed', '1.5'], /^ulp: --seed needs an integer/],
    [['--replay', 'netio:1'], /^ulp: --replay needs FAMILY:SEED:INDEX/],
    [['--replay', 'nope:1:2'], /^ulp: unknown family 'nope'/],
    [['--replay', 'netio:1:2', '--runs', '5'], /^ulp: --replay runs one scenario: --runs does not apply/],
    [['--mutant', 'nope'], /^ulp: unknown mutant 'nope'/],
    [['--bogus'], /^ulp: Unknown option '--bogus'/],
    [['extra'], /^ulp: ulp fuzz takes no arguments, got 'extra'/],
  ])('usage error %j: one line, exit 2', (args, message) => {
    const r = ulp('fuzz', ...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});
