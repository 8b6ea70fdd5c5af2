/**
 * The timing-study workbench from the command line: scenario parameters (--param), scenario
 * files (ulp run FILE.json and the examples in studies/examples), sweeps with replications
 * (ulp sweep), campaigns split into shards and merged (ulp merge: the same bytes as one run),
 * failed points kept and exit 3. Each user error is one line on stderr, exit 2, before any run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

function ulp(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ULP_COMMIT: 'test-commit' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'ulp-workbench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A scenario file in the temporary directory with `doc` as its text. */
function file(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
}

describe('user errors: one line, exit 2, nothing run', () => {
  it.each([
    [['run', 'hello', '--param', 'nope=1'], /unknown parameter 'nope' for scenario hello \(known: hosts, rounds, workCycles\)/],
    [['run', 'hello', '--set', 'hosts=0'], /parameter hosts needs an integer 1\.\.26, got '0'/],
    [['run', 'hello', '--param', 'hosts'], /--param needs NAME=VALUE/],
    [['run', 'hello', '--param', 'rounds=2.5'], /rounds needs an integer/],
    [['run', 'raw-ethernet', '--param', 'sizeMin=900', '--param', 'sizeMax=800'], /sizeMin 900 > sizeMax 800/],
    [['run', 'paper-table2-library', '--param', 'links=ethernet,fddi'], /links needs one of ethernet, an1, got 'fddi'/],
    [['run', 'paper-table3-mach-ux', '--param', 'links=an1'], /links needs one of ethernet, got 'an1'/],
    [['run', 'mb93-primitives', '--param', 'x=1'], /scenario mb93-primitives has no parameters/],
    [['params'], /needs one scenario name/],
    [['params', 'nope'], /unknown scenario 'nope'/],
    [['scenarios', 'a', 'b'], /at most one scenario name/],
    [['run', join(dir, 'missing.json')], /cannot read scenario file '.*missing\.json' \(ENOENT\)/],
    [['sweep', 'hello', '--param', 'rounds=5:1:1'], /range '5:1:1' needs START ≤ STOP/],
    [['sweep', 'hello', '--param', 'hosts=1,0'], /hosts needs an integer 1\.\.26, got '0'/],
    [['sweep', 'hello', '--param', 'hosts=1,2', '--param', 'hosts=3'], /--param hosts given twice/],
    [['sweep', 'hello', '--cost', 'kernel.trapCycles=150,abc'], /--cost kernel\.trapCycles needs a number, got 'abc'/],
    [['sweep', 'hello', '--cost', 'no.such=1,2'], /unknown cost 'no\.such'/],
    [['sweep', 'hello', '--shard', '3/2'], /--shard needs I\/N with 1 ≤ I ≤ N/],
    [['sweep', 'hello', '--shard', 'x'], /--shard needs I\/N/],
    [['sweep', 'hello', '--seed', '1', '--seeds', '2'], /not both/],
    [['sweep', 'raw-ethernet', '--param', 'sizeMin=100,2000'], /sizeMin needs an integer 20\.\.1514, got '2000'/],
    [['sweep', 'raw-ethernet', '--param', 'sizeMax=100,1000', '--param', 'sizeMin=500'], /point 1 \(sizeMax=100\): scenario raw-ethernet: sizeMin 500 > sizeMax 100/],
    [['sweep', 'hello', '--jsonl', '/proc/ulp-no-such.jsonl'], /cannot write --jsonl file/],
    [['sweep', 'hello', '--csv', 'test'], /cannot write --csv file 'test' \(EISDIR\)/],
    [['sweep', 'hello', '--param', 'rounds=1:1000000:1'], /more than 100000/],
    [['merge'], /needs the shards' JSON-lines files/],
    [['merge', join(dir, 'none.jsonl')], /cannot read shard file/],
    [['merge', 'package.json'], /not a ulp sweep file|is not JSON/],
  ])('%j', (args, message) => {
    const r = ulp(...args);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe('scenario files: errors name the file and the field', () => {
  it.each([
    ['not-json.json', '{ "scenario": ', /not-json\.json': not valid JSON/],
    ['array.json', [], /needs a JSON object at the top/],
    ['unknown-field.json', { scenario: 'hello', sead: 3 }, /sead: unknown field \(fields: /],
    ['no-scenario.json', { params: {} }, /scenario: missing/],
    ['bad-scenario.json', { scenario: 'nope' }, /scenario: unknown scenario 'nope'/],
    ['scenario-type.json', { scenario: 3 }, /scenario: needs a string, got 3/],
    ['params-type.json', { scenario: 'hello', params: [1] }, /params: needs an object/],
    ['param-name.json', { scenario: 'hello', params: { hots: 2 } }, /params\.hots: unknown parameter 'hots' for scenario hello/],
    ['param-string.json', { scenario: 'hello', params: { hosts: '2' } }, /params\.hosts: needs an integer 1\.\.26, got "2"/],
    ['param-list.json', { scenario: 'paper-table2-library', params: { writeSizes: [512, 'x'] } }, /params\.writeSizes\[1\]: needs an integer, got "x"/],
    ['param-range.json', { scenario: 'paper-table2-library', params: { writeSizes: [512, 0] } }, /params\.writeSizes\[1\]: needs an integer 1\.\.65536, got 0/],
    ['param-cross.json', { scenario: 'raw-ethernet', params: { sizeMin: 900, sizeMax: 800 } }, /params: scenario raw-ethernet: sizeMin 900 > sizeMax 800/],
    ['cost-name.json', { scenario: 'hello', costs: { 'no.such': 1 } }, /costs\.no\.such: unknown cost 'no\.such'/],
    ['cost-type.json', { scenario: 'hello', costs: { 'kernel.trapCycles': '300' } }, /costs\.kernel\.trapCycles: needs a number, got "300"/],
    ['cost-bound.json', { scenario: 'raw-an1', costs: { 'cpu.dcacheLineBytes': 0 } }, /costs\.cpu\.dcacheLineBytes: .*needs a value ≥ 1/],
    ['seed.json', { scenario: 'hello', seed: 1.5 }, /seed: needs an integer, got 1\.5/],
    ['seed-seeds.json', { scenario: 'hello', seed: 1, seeds: 2 }, /seeds: give 'seed' .* not both/],
    ['seeds-twice.json', { scenario: 'hello', seeds: [1, 1] }, /seeds: lists a seed twice/],
    ['seeds-zero.json', { scenario: 'hello', seeds: 0 }, /seeds: a count needs 1 ≤ N ≤ 1000, got 0/],
    ['seeds-item.json', { scenario: 'hello', seeds: [1, 'x'] }, /seeds\[1\]: needs an integer/],
  ])('%s', (name, doc, message) => {
    const r = ulp('run', file(name, doc));
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(new RegExp(`scenario file '[^']*${name.replace('.', '\\.')}'`));
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});

describe('parameters', () => {
  it('ulp params NAME and ulp run NAME --help list them; scenarios --json carries them', () => {
    const p = ulp('params', 'paper-table2-library');
    expect(p.code).toBe(0);
    expect(p.out).toMatch(/writeSizes\s+default 512,1024,2048,4096 bytes\s+comma-separated integers 1\.\.65536/);
    expect(p.out).toMatch(/loss\s+default 0 probability/);
    expect(ulp('scenarios', 'hello').out).toMatch(/hosts\s+default 2 hosts\s+integer 1\.\.26/);
    expect(ulp('run', 'hello', '--help').out).toMatch(/parameters of hello[\s\S]*workCycles/);
    const all = JSON.parse(ulp('scenarios', '--json').out) as { name: string; params: { name: string; type: string; default: unknown; unit: string; doc: string }[] }[];
    const hello = all.find((s) => s.name === 'hello')!;
    expect(hello.params.map((p) => p.name)).toEqual(['hosts', 'rounds', 'workCycles']);
    expect(JSON.parse(ulp('params', 'raw-an1', '--json').out).params.find((p: { name: string }) => p.name === 'bidirectional').type).toBe('bool');
  });

  it('run --json records every parameter; a changed one changes the run; text marks it and drops the paper comparison', () => {
    const base = JSON.parse(ulp('run', 'hello', '--json').out) as { params: Record<string, unknown>; fingerprint: string };
    expect(base.params).toEqual({ hosts: 2, rounds: 3, workCycles: 2500 });
    const three = JSON.parse(ulp('run', 'hello', '--param', 'hosts=3', '--json').out) as { params: Record<string, unknown>; fingerprint: string; results: { hosts: unknown[] } };
    expect(three.params).toEqual({ hosts: 3, rounds: 3, workCycles: 2500 });
    expect(three.results.hosts).toHaveLength(3);
    expect(three.fingerprint).not.toBe(base.fingerprint);
    const t = ulp('run', 'paper-table4-ultrix', '--param', 'links=ethernet', '--param', 'opens=2');
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/parameters: links=ethernet\* opens=2\*/);
    expect(t.out).toMatch(/beside the paper: not shown, the parameters are not the paper's/);
    expect(t.out).not.toMatch(/ratio/);
    expect(t.out).not.toMatch(/an1/);
  });
});

describe('scenario files', () => {
  const examples = readdirSync('studies/examples').filter((f) => f.endsWith('.json')).sort();
  it('the examples are there', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });
  it.each(examples)('studies/examples/%s runs, each seed a completed run with the file\'s inputs', (name) => {
    const path = `studies/examples/${name}`;
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { scenario?: string; params?: Record<string, unknown>; costs?: Record<string, number>; seed?: number; seeds?: number };
    const r = ulp('run', path, '--json');
    expect(r.code, r.err).toBe(0);
    const runs = r.out.trim().split('\n').map((l) => JSON.parse(l) as { scenario: string; seed: number; outcome: string; params: Record<string, unknown>; costOverrides: Record<string, number>; scenarioFile: string });
    expect(runs.map((x) => x.seed)).toEqual(doc.seeds !== undefined ? Array.from({ length: doc.seeds }, (_, i) => i + 1) : [doc.seed ?? 1]);
    for (const run of runs) {
      // A topology file (no `scenario`) runs as the scenario named after the file.
      expect(run.scenario).toBe(doc.scenario ?? `topology-${name.replace(/\.json$/, '')}`);
      expect(run.outcome).toBe('done');
      expect(run.scenarioFile).toBe(path);
      expect(run.params).toMatchObject(doc.params ?? {});
      expect(run.costOverrides).toEqual(doc.costs ?? {});
    }
  });
  it('the paper-table4-ultrix example reproduces the built-in scenario exactly (same fingerprint)', () => {
    const fromFile = JSON.parse(ulp('run', 'studies/examples/paper-table4-ultrix.json', '--json').out) as { fingerprint: string; results: unknown };
    const builtIn = JSON.parse(ulp('run', 'paper-table4-ultrix', '--json').out) as { fingerprint: string; results: unknown };
    expect(fromFile.fingerprint).toBe(builtIn.fingerprint);
    expect(fromFile.results).toEqual(builtIn.results);
  });
  it('command-line options override the file', () => {
    const r = JSON.parse(ulp('run', 'studies/examples/raw-ethernet-four-stations.json', '--seed', '9', '--param', 'frames=100', '--json').out) as { seed: number; params: Record<string, unknown> };
    expect(r.seed).toBe(9);
    expect(r.params).toMatchObject({ hosts: 4, frames: 100, loss: 0.02 });
  });
});

describe('sweeps', () => {
  const grid = ['raw-ethernet', '--param', 'frames=60', '--param', 'loss=0,0.1', '--param', 'hosts=2:3:1', '--seeds', '3'];
  it('the whole sweep: long-form rows, a summary with 95 % intervals, provenance in every row', () => {
    const r = ulp('sweep', ...grid, '--jsonl', join(dir, 'all.jsonl'), '--csv', join(dir, 'all.csv'), '--summary', join(dir, 'all-summary.csv'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/sweep raw-ethernet: 4 points × 3 seeds \(1–3\)/);
    expect(r.out).toMatch(/mean ± half-width of the 95 % interval/);
    const lines = readFileSync(join(dir, 'all.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ ulpSweep: 1, scenario: 'raw-ethernet', points: 4, seeds: [1, 2, 3], shard: null, commit: 'test-commit', params: { frames: 60 } });
    const rows = lines.slice(1) as { point: number; seed: number; params: Record<string, unknown>; outcome: string; fingerprint: string; version: string; commit: string }[];
    expect(rows.map((x) => [x.point, x.seed])).toEqual([1, 2, 3, 4].flatMap((p) => [1, 2, 3].map((s) => [p, s])));
    // The first dimension varies slowest.
    expect(rows.filter((x) => x.seed === 1).map((x) => [x.params['loss'], x.params['hosts']])).toEqual([[0, 2], [0, 3], [0.1, 2], [0.1, 3]]);
    for (const x of rows) {
      expect(x.outcome).toBe('done');
      expect(x.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      expect(x.commit).toBe('test-commit');
      expect(x.version).toMatch(/^\d+\.\d+\.\d+/);
    }
    const csv = readFileSync(join(dir, 'all.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(13);
    expect(csv[0]).toMatch(/^scenario,point,seed,param\.frames,param\.hosts,.*,outcome,failure,fingerprint,simTimeNs,events,guestErrors,version,commit,framesSent,/);
    const summary = readFileSync(join(dir, 'all-summary.csv'), 'utf8').trim().split('\n');
    expect(summary[0]).toBe('scenario,point,param.loss,param.hosts,metric,outcome,n,failedSeeds,mean,sd,ci95Low,ci95High,min,max');
    const recv = summary.filter((l) => l.includes(',framesReceived,')).map((l) => l.split(','));
    expect(recv).toHaveLength(4);
    for (const c of recv) {
      const [mean, lo, hi] = [Number(c[8]), Number(c[10]), Number(c[11])];
      expect(lo).toBeLessThanOrEqual(mean);
      expect(hi).toBeGreaterThanOrEqual(mean);
    }
    // No loss: every frame arrives on every seed, so the interval is the point itself.
    expect(recv[0]!.slice(8)).toEqual(['60', '0', '60', '60', '60', '60']);
  });

  it('shards 1/3, 2/3, 3/3 merged (in any order) are byte for byte the whole sweep', () => {
    for (const i of [1, 2, 3]) {
      const r = ulp('sweep', ...grid, '--shard', `${i}/3`, '--jsonl', join(dir, `s${i}.jsonl`));
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(new RegExp(`shard ${i}/3: ${i === 1 ? 2 : 1} points`));
    }
    const m = ulp('merge', join(dir, 's3.jsonl'), join(dir, 's1.jsonl'), join(dir, 's2.jsonl'), '--jsonl', join(dir, 'm.jsonl'), '--csv', join(dir, 'm.csv'), '--summary', join(dir, 'm-summary.csv'));
    expect(m.code, m.err).toBe(0);
    for (const [a, b] of [['all.jsonl', 'm.jsonl'], ['all.csv', 'm.csv'], ['all-summary.csv', 'm-summary.csv']] as const) {
      expect(readFileSync(join(dir, b), 'utf8'), `${b} = ${a}`).toBe(readFileSync(join(dir, a), 'utf8'));
    }
    const partial = ulp('merge', join(dir, 's1.jsonl'), join(dir, 's2.jsonl'));
    expect(partial.code).toBe(2);
    expect(partial.err).toMatch(/shard 3\/3 missing/);
  });

  it('a failed point is a row marked failed, its summary failed, exit 3 with one line per failed run', () => {
    const r = ulp('sweep', 'hello', '--cost', 'kernel.trapCycles=150,100000000', '--csv', join(dir, 'f.csv'), '--summary', join(dir, 'f-summary.csv'));
    expect(r.code, r.err).toBe(3);
    expect(r.err.trim().split('\n')).toEqual([expect.stringMatching(/^ulp: run failed: hello point 2 \(seed 1\): results\.outcome is 'limit'/)]);
    expect(r.out).toMatch(/\n\s+2\s+100000000\s+0\/1 FAILED\s+failed/);
    const rows = readFileSync(join(dir, 'f.csv'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/^hello,1,1,.*,150,done,,/);
    expect(rows[2]).toMatch(/^hello,2,1,.*,100000000,failed,results\.outcome is 'limit'/);
    const summary = readFileSync(join(dir, 'f-summary.csv'), 'utf8');
    expect(summary).toMatch(/\nhello,2,100000000,[^,\n]+,failed,0,1,,/);
  });

  it('a sweep from a scenario file takes its parameters, costs and seeds', () => {
    const r = ulp('sweep', 'studies/examples/raw-ethernet-four-stations.json', '--param', 'frames=40', '--param', 'hosts=2,4', '--jsonl', join(dir, 'file.jsonl'));
    expect(r.code, r.err).toBe(0);
    const [head, ...rows] = readFileSync(join(dir, 'file.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seeds?: number[]; params: Record<string, unknown> });
    expect(head!.seeds).toEqual([1, 2, 3]);
    expect(rows).toHaveLength(6);
    expect(rows.map((x) => x.params['hosts'])).toEqual([2, 2, 2, 4, 4, 4]);
    expect(rows.every((x) => x.params['loss'] === 0.02 && x.params['frames'] === 40)).toBe(true);
  });
});

describe('the organization as a parameter', () => {
  it('tcp-setup gives the Table 4 row of the organization asked for, and a sweep crosses organizations', () => {
    const results = (...args: string[]): unknown => (JSON.parse(ulp('run', ...args, '--json').out) as { results: unknown }).results;
    expect(results('tcp-setup', '--param', 'organization=ultrix', '--param', 'opens=2')).toEqual(results('paper-table4-ultrix', '--param', 'opens=2'));
    const bad = ulp('run', 'tcp-setup', '--param', 'organization=mach-ux');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/organization mach-ux runs on Ethernet only/);
    const r = ulp('sweep', 'tcp-setup', '--param', 'organization=library,ultrix,mach-ux', '--param', 'links=ethernet', '--param', 'opens=1', '--jsonl', join(dir, 'orgs.jsonl'));
    expect(r.code, r.err).toBe(0);
    const rows = readFileSync(join(dir, 'orgs.jsonl'), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as { outcome: string; results: { ethernet: Record<string, number> } });
    expect(rows.map((x) => Object.keys(x.results.ethernet))).toEqual([['library'], ['ultrix'], ['mach-ux']]);
    expect(rows.every((x) => x.outcome === 'done')).toBe(true);
  });
});

describe('--pcap from the command line', () => {
  it('the TCP traffic of Table 4 on both links, one file per interface', () => {
    const out = join(dir, 'pcap');
    const r = ulp('run', 'paper-table4-ultrix', '--param', 'opens=1', '--pcap', out, '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as { captures: string[] };
    expect(readdirSync(out).sort()).toEqual(['t4u-an1-a-an0.pcapng', 't4u-an1-b-an0.pcapng', 't4u-ethernet-a-ln0.pcapng', 't4u-ethernet-b-ln0.pcapng']);
    expect([...report.captures].sort()).toEqual(readdirSync(out).sort());
    // The text output names the format; --pcap-format pcap writes classic pcap files.
    expect(ulp('run', 'paper-table4-ultrix', '--param', 'opens=1', '--pcap', out).out).toMatch(/\ncaptures: 4 pcapng files in .*\(t4u-ethernet-a-ln0\.pcapng, \.\.\.\)\n/);
    const classic = join(dir, 'pcap-classic');
    const c = ulp('run', 'paper-table4-ultrix', '--param', 'opens=1', '--pcap', classic, '--pcap-format', 'pcap', '--json');
    expect(c.code, c.err).toBe(0);
    expect(readdirSync(classic).sort()).toEqual(['t4u-an1-a-an0.pcap', 't4u-an1-b-an0.pcap', 't4u-ethernet-a-ln0.pcap', 't4u-ethernet-b-ln0.pcap']);
    expect(readFileSync(join(classic, 't4u-ethernet-a-ln0.pcap')).readUInt32LE(0)).toBe(0xa1b23c4d);
    expect(readFileSync(join(out, 't4u-ethernet-a-ln0.pcapng')).readUInt32LE(0)).toBe(0x0a0d0d0a);
  });
  it.each([
    [['run', 'hello', '--pcap', 'x', '--pcap-format', 'pcapx'], /--pcap-format needs pcapng or pcap, got 'pcapx'/],
    [['run', 'hello', '--pcap-format', 'pcap'], /--pcap-format needs --pcap DIR/],
  ])('%j: one line, exit 2', (args, message) => {
    const r = ulp(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
  it('a scenario with no network says so', () => {
    const r = ulp('run', 'hello', '--pcap', join(dir, 'pcap-hello'));
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/warning: --pcap: scenario hello has no network interface to capture/);
  });
});
