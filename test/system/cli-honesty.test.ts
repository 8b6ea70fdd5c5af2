/**
 * The CLI is honest about outcomes: a failed run exits 3 with one line, its cells print as failed
 * (never NaN); a closed stdout ends quietly; --version, per-command help, scenarios --json;
 * provenance in paper --json; a warning for an override nothing read; progress on a terminal.
 * Process-level behaviour, so the CLI runs as a child process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmulatorBug } from '../../emulator/sim/assert.ts';
import { runChecked } from '../../studies/cli.ts';
import { runFailures } from '../../studies/run.ts';

function ulp(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const lines = (s: string): string[] => s.trim().split('\n').filter((l) => l !== '');
const noTrace = (s: string): void => expect(s).not.toMatch(/\n\s+at |EmulatorBug:.*\n.*\^/);

describe('a failed run exits 3 with one line, never silently', () => {
  it('run: results with NaN (a context switch of 1e10 cycles starves the ping-pong) → exit 3, one line naming the figure', () => {
    const r = ulp('run', 'paper-table3-library', '--cost', 'kernel.contextSwitchCycles=1e10');
    expect(r.code).toBe(3);
    expect(lines(r.err)).toEqual([expect.stringMatching(/^ulp: run failed: paper-table3-library \(seed 1\): results\.ethernet\.library\[0\] is (NaN|null) \(and 5 more\)$/)]);
    expect(r.out).toContain('FAILED'); // the cells beside the paper say so
    expect(r.out).not.toMatch(/\bNaN\b.*ratio|ratio.*\bNaN\b/);
  });

  it('run: a run that stops on its time limit → exit 3 (raw-ethernet with 1 s per byte of PIO)', () => {
    const r = ulp('run', 'raw-ethernet', '--cost', 'tc.ioWriteNsPerByte=1e9', '--json');
    expect(r.code).toBe(3);
    expect(lines(r.err)).toEqual(["ulp: run failed: raw-ethernet (seed 1): results.outcome is 'limit' (it stopped on its time limit before completing)"]);
    const j = JSON.parse(r.out) as { outcome: string; failures: string[] };
    expect(j.outcome).toBe('failed');
    expect(j.failures).toHaveLength(1);
  });

  it('a completed run exits 0 and says outcome done', () => {
    const r = ulp('run', 'hello', '--json');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect((JSON.parse(r.out) as { outcome: string; failures: string[] })).toMatchObject({ outcome: 'done', failures: [] });
  });

  it('paper: failed cells print "failed" (terminal, report, CSV, JSON null), one line per failed run, exit 3', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulp-fail-'));
    const r = ulp('paper', '--tables', '5', '--cost', 'kernel.contextSwitchCycles=1e10', '--report', dir);
    expect(r.code).toBe(3);
    expect(lines(r.err)).toEqual([expect.stringMatching(/^ulp: run failed: paper-table5 \(seed 1\): results\.lance\.outcome is 'limit'/)]);
    expect(r.out).toMatch(/ethernet library demultiplexing software\s+µs\s+52\s+failed/);
    expect(r.out).toMatch(/2 FAILED/);
    expect(r.out).not.toMatch(/NaN/);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toMatch(/\| paper-table5 \| 1 \|.*\| \*\*failed\*\*: results\.lance\.outcome is 'limit'/);
    expect(md).toMatch(/\| library \| — \| demultiplexing_software \| µs \| 52 \| \*\*failed\*\* \|/);
    expect(md).not.toMatch(/NaN/);
    const csv = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\r\n').slice(1);
    for (const row of csv) expect(row).toMatch(/,52,,,failed,kernel\.contextSwitchCycles=10000000000$|,50,,,failed,kernel\.contextSwitchCycles=10000000000$/);
    const j = ulp('paper', '--tables', '5', '--cost', 'kernel.contextSwitchCycles=1e10', '--json', '-');
    expect(j.code).toBe(3);
    const o = JSON.parse(j.out) as { outcome: string; table5_demultiplexing_us: Record<string, unknown>; runs: { outcome: string }[] };
    expect(o.outcome).toBe('failed');
    expect(o.runs[0]!.outcome).toBe('failed');
    expect(o.table5_demultiplexing_us).toEqual({ lance_ethernet_software: null, an1_hardware_bqi: null });
  });

  it('runFailures: NaN, ±Infinity, null and an outcome other than done, each with its path', () => {
    expect(runFailures({ a: 1, b: [2, Number.NaN], c: { d: null, e: Infinity, outcome: 'done' }, f: { outcome: 'limit' }, s: 'text' })).toEqual([
      'b[1] is NaN',
      'c.d is null',
      'c.e is Infinity',
      "f.outcome is 'limit' (it stopped on its time limit before completing)",
    ]);
    expect(runFailures({ outcome: 'done', x: [1, 2], y: { z: 0 } })).toEqual([]);
  });

  it('a model error under the given costs is a failed run with one line, not a trace', () => {
    const o = runChecked(
      {
        name: 'throws',
        summary: 'a scenario whose model fails',
        run: () => {
          throw new EmulatorBug('bad cycle charge Infinity');
        },
      },
      { seed: 1 },
    );
    expect(o.failures).toEqual(['the model failed: EmulatorBug: bad cycle charge Infinity']);
    expect(o.report.fingerprint).toBe('');
  });
});

describe('a closed stdout ends quietly', () => {
  it.each([['costs'], ['scenarios'], ['paper --tables 5'], ['costs --json']])('ulp %s | head -1: exit 0, nothing on stderr (3 tries)', (cmd) => {
    const errFile = join(mkdtempSync(join(tmpdir(), 'ulp-epipe-')), 'stderr');
    for (let i = 0; i < 3; i++) {
      const r = spawnSync('bash', ['-c', `node bin/ulp.js ${cmd} 2>${errFile} | head -1 >/dev/null; echo "rc=\${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stdout.trim()).toBe('rc=0');
      expect(readFileSync(errFile, 'utf8')).toBe('');
    }
  });
});

describe('help, version, scenarios --json', () => {
  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = ulp(flag);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`ulp-emu ${pkg.version}\n`);
    }
  });

  it('ulp run X --help prints the help of run (not the global help), and runs nothing', () => {
    const r = ulp('run', 'paper-table2-library', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage:\n  ulp run <scenario>/);
    expect(r.out).not.toMatch(/ulp paper \[/);
    expect(r.out).toContain('raw-ethernet'); // lists the scenarios
    expect(ulp('paper', '--help').out).toMatch(/^usage:\n  ulp paper \[--tables/);
    expect(ulp('help', 'scenarios').out).toMatch(/ulp scenarios \[--json\]/);
    expect(ulp('--help').out).toMatch(/exit status: 0 done; 2 a usage error/);
  });

  it('scenarios --json lists every scenario with its summary', () => {
    const r = ulp('scenarios', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as { name: string; summary: string; paperSection?: string }[];
    expect(list.map((s) => s.name)).toContain('hello');
    expect(list.find((s) => s.name === 'paper-table5')?.paperSection).toBe('table5_demultiplexing_us');
    for (const s of list) expect(s.summary.length).toBeGreaterThan(10);
  });
});

describe('provenance and what-ifs that change nothing', () => {
  it('paper --json records the seed, the overrides and every run\'s fingerprint', () => {
    const r = ulp('paper', '--tables', '5', '--seed', '3', '--cost', 'kernel.trapCycles=300', '--json', '-');
    expect(r.code, r.err).toBe(0);
    const o = JSON.parse(r.out) as { seeds: number[]; costOverrides: Record<string, number>; runs: { scenario: string; seed: number; fingerprint: string; costOverrides: Record<string, number> }[] };
    expect(o.seeds).toEqual([3]);
    expect(o.costOverrides).toEqual({ 'kernel.trapCycles': 300 });
    expect(o.runs).toEqual([expect.objectContaining({ scenario: 'paper-table5', seed: 3, costOverrides: { 'kernel.trapCycles': 300 }, fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) })]);
  });

  it('an override that nothing in the run reads is one warning line on stderr; one that is read gives none', () => {
    const unread = ulp('run', 'raw-ethernet', '--cost', 'lib.tcpInputCycles=5');
    expect(unread.code).toBe(0);
    expect(lines(unread.err)).toEqual(['ulp: warning: --cost lib.tcpInputCycles=5 changed nothing: no part of this run reads lib.tcpInputCycles']);
    const read = ulp('run', 'raw-ethernet', '--cost', 'lance.driverRxFrameCycles=200');
    expect(read.code).toBe(0);
    expect(read.err).toBe('');
    const paper = ulp('paper', '--tables', '5', '--cost', 'ux.sosendCycles=1', '--json', '-');
    expect(lines(paper.err)).toEqual(['ulp: warning: --cost ux.sosendCycles=1 changed nothing: no part of this run reads ux.sosendCycles']);
  });
});

describe('npm start reads well', () => {
  it('paper: fixed-point figures, no sizes printed as results, short labels, a summary line, no progress when stderr is not a terminal', () => {
    const r = ulp('paper', '--tables', '3,4');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).not.toMatch(/\d[eE][+-]\d/);
    expect(r.out).not.toMatch(/sizes\[/); // the axes are not results
    for (const l of r.out.split('\n')) expect(l.length, l).toBeLessThanOrEqual(140);
    expect(r.out).toMatch(/^25 cells: \d+ within ±10 % of the paper, \d+ within ±25 %, \d+ more than 2× off \(ratio = emulator \/ paper\)$/m);
  });

  it('paper on a terminal: a progress line per experiment on stderr', () => {
    if (spawnSync('script', ['--version']).status !== 0) {
      console.log('skip: no script(1) to give the CLI a terminal');
      return;
    }
    const r = spawnSync('script', ['-qec', 'node bin/ulp.js paper --tables 4 >/dev/null', '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    for (const [i, s] of ['paper-table4-library', 'paper-table4-ultrix', 'paper-table4-mach-ux'].entries()) expect(r.stdout).toContain(`ulp paper: [${i + 1}/3] ${s}`);
    expect(r.stdout.endsWith('\r\x1b[K')).toBe(true); // the line is cleared at the end
  });
});
