import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function ulp(...args: string[]): { code: number | null; out: string; err: string } {
  // A hang (the old recursive mkdir under /proc spun for ever) fails the test instead of blocking it.
  const r = spawnSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('ulp CLI', () => {
  it('prints help', () => {
    const r = ulp('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ulp run <scenario>/);
  });

  it.each([
    [['frob'], /unknown command 'frob'/],
    [['run', 'no-such'], /unknown scenario 'no-such'/],
    [['run', 'hello', '--bogus'], /Unknown option '--bogus'/],
    [['run', 'hello', '--cost', 'no.such=1'], /unknown cost 'no.such'/],
    [['run', 'hello', '--cost', 'kernel.trapCycles=abc'], /needs a number/],
    [['run', 'hello', '--cost', 'kernel.trapCycles'], /NAME=VALUE/],
    [['run', 'hello', '--seed', 'x'], /--seed needs an integer/],
    [['run'], /exactly one scenario/],
    [['paper', '--tables', '4', '--cost', 'nope=1'], /unknown cost 'nope'/],
    [['paper', '--tables', '4', '--seed', 'x'], /--seed needs an integer/],
    [['run', 'hello', '--trace', '/nonexistent-dir-for-ulp/x.json'], /cannot write --trace file/],
    [['run', 'hello', '--trace', '/'], /cannot write --trace file/],
    [['run', 'hello', '--trace-limit', '10'], /--trace-limit needs --trace/],
    [['run', 'hello', '--trace', '/dev/null', '--trace-limit', '0'], /--trace-limit needs a positive integer/],
    // Unknown flags on every command.
    [['scenarios', '--bogus'], /Unknown option '--bogus'/],
    [['costs', '--bogus'], /Unknown option '--bogus'/],
    [['paper', '--bogus'], /Unknown option '--bogus'/],
    [['bench', '--bogus'], /Unknown option '--bogus'/],
    // Cost values out of the constant's bounds: one line before the run, not an EmulatorBug trace or a hang.
    [['run', 'raw-an1', '--cost', 'cpu.dcacheLineBytes=0'], /cost 'cpu.dcacheLineBytes' needs a value ≥ 1/],
    [['run', 'raw-an1', '--cost', 'cpu.dcacheLineBytes=2.5'], /cost 'cpu.dcacheLineBytes' needs a whole number/],
    [['run', 'raw-ethernet', '--cost', 'lance.txPollPeriodNs=0'], /cost 'lance.txPollPeriodNs' needs a value ≥ 1000/],
    [['paper', '--tables', '5', '--cost', 'cpu.dcacheLineBytes=0'], /needs a value ≥ 1/],
    // Output paths that cannot be written: found before the run.
    [['run', 'raw-an1', '--pcap', 'package.json'], /cannot write --pcap directory 'package.json' \(ENOTDIR/],
    [['run', 'raw-an1', '--pcap', 'package.json/sub'], /cannot write --pcap directory 'package.json\/sub' \(ENOTDIR/],
    [['run', 'raw-an1', '--pcap', '/proc/ulp-no-such-dir'], /cannot write --pcap directory '\/proc\/ulp-no-such-dir'/],
    [['run', 'hello', '--trace', '/proc/ulp-no-such-file'], /cannot write --trace file/],
    [['paper', '--tables', '5', '--json', 'test'], /cannot write --json file 'test' \(EISDIR\)/],
    [['paper', '--tables', '5', '--json', '/proc/ulp-no-such-file.json'], /cannot write --json file/],
    [['paper', '--tables', '5', '--json', 'package.json/x.json'], /cannot write --json file/],
    [['paper', '--tables', '5', '--report', '/proc/ulp-no-such-dir'], /cannot write --report directory '\/proc\/ulp-no-such-dir'/],
    [['paper', '--tables', '5', '--report', '/proc/ulp-a/b/c'], /cannot write --report directory/],
    [['paper', '--seeds', '0'], /--seeds N needs 1 ≤ N/],
    [['paper', '--seeds', 'x'], /--seeds needs a count N or a list/],
    [['paper', '--seeds', '1,,2'], /--seeds needs a count N or a list/],
    [['paper', '--seeds', '2,2'], /lists a seed twice/],
    [['paper', '--seed', '1', '--seeds', '2'], /not both/],
  ])('%j → one clear line, exit 2, no stack trace', (args, message) => {
    const r = ulp(...args);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe(''); // found before anything ran or printed
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('costs --json lists every constant with value, unit and source', () => {
    const rows = JSON.parse(ulp('costs', '--json').out) as { name: string; value: number; unit: string; source: string }[];
    expect(rows.length).toBeGreaterThan(5);
    for (const r of rows) {
      expect(typeof r.value).toBe('number');
      expect(r.unit.length).toBeGreaterThan(0);
      expect(r.source.length).toBeGreaterThan(10);
    }
    expect(rows.map((r) => r.name)).toContain('kernel.trapCycles');
  });

  it('run --json prints one object with the required keys', () => {
    const r = ulp('run', 'hello', '--seed', '3', '--json');
    expect(r.code).toBe(0);
    const o = JSON.parse(r.out) as Record<string, unknown>;
    for (const k of ['scenario', 'seed', 'simTimeNs', 'events', 'fingerprint', 'results']) expect(o).toHaveProperty(k);
    expect(o['seed']).toBe(3);
  });

  it('paper --cost applies the what-if to every experiment (zero-cost page zeroing shortens the library\'s channel set-up)', () => {
    const t4 = (...extra: string[]) => {
      const r = ulp('paper', '--tables', '4', '--json', '-', ...extra);
      expect(r.code, r.err).toBe(0);
      return (JSON.parse(r.out) as { table4_connection_setup_ms: { ethernet: Record<string, number> } }).table4_connection_setup_ms.ethernet;
    };
    const base = t4();
    const whatIf = t4('--cost', 'kernel.pageZeroCycles=0');
    expect(whatIf['library']!).toBeLessThan(base['library']! - 1); // 49 pages × 82 µs of zeroing gone
    expect(whatIf['ultrix']).toBe(base['ultrix']); // the monolithic kernel zeroes no page per connection
  });
});
