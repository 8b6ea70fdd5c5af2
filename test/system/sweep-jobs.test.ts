/**
 * `ulp sweep --jobs N` (issue 14 item 3): the runs on a tinypool pool of worker threads give the
 * serial run's bytes whatever the completion order (the grid's first points are the slow ones, so
 * they finish last), from the precompiled bundle and from the sources through tsx, sharded and
 * merged too; a failed point is failed either way; the progress bar is on a terminal only; a
 * worker that throws settles its own task as failed and the others still run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runOnPool, type Settled } from '../../studies/pool.ts';
import { poolTask, type SweepRun, type SweepTask } from '../../studies/cli.ts';
import { progressLine } from '../../studies/sweep.ts';

function ulp(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8', timeout: 240_000, env: { ...process.env, ULP_COMMIT: 'test-commit', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'ulp-sweep-jobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The outputs of one sweep: its three files, stdout, stderr and exit code. */
function sweep(name: string, args: string[], env: Record<string, string> = {}): { files: string[]; out: string; err: string; code: number | null } {
  const paths = ['jsonl', 'csv', 'summary'].map((k) => join(dir, `${name}.${k}`));
  const r = ulp(['sweep', ...args, '--jsonl', paths[0]!, '--csv', paths[1]!, '--summary', paths[2]!], env);
  return { files: paths.map((p) => readFileSync(p, 'utf8')), out: r.out, err: r.err, code: r.code };
}

// Point 1 (400 frames) takes ~20 times point 3's time (20 frames): with 2 workers the later points
// finish first. A cost point makes some runs fail (the time limit), so failed rows are compared too.
const grid = ['raw-ethernet', '--param', 'frames=400,20', '--param', 'loss=0,0.05', '--seeds', '2'];
const failing = ['hello', '--param', 'hosts=1,2', '--cost', 'kernel.trapCycles=150,100000000', '--seeds', '2'];

describe('ulp sweep --jobs', () => {
  it('--jobs 2 writes the bytes of --jobs 1 (files, stdout, stderr, exit code), failed points included', () => {
    // A scenario file reaches the workers as its path: they read it as this thread did.
    const fromFile = ['studies/examples/raw-ethernet-four-stations.json', '--param', 'frames=40', '--param', 'hosts=4,2'];
    for (const [name, args] of [['grid', grid], ['failing', failing], ['file', fromFile]] as const) {
      const serial = sweep(`${name}-1`, [...args, '--jobs', '1']);
      const parallel = sweep(`${name}-2`, [...args, '--jobs', '2']);
      expect(serial.code, serial.err).toBe(name === 'failing' ? 3 : 0);
      expect(parallel.code, parallel.err).toBe(serial.code);
      expect(parallel.files).toEqual(serial.files);
      expect(parallel.out).toBe(serial.out);
      expect(parallel.err).toBe(serial.err);
    }
    const rows = readFileSync(join(dir, 'failing-2.jsonl'), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as { point: number; outcome: string; failure: string | null });
    expect(rows.map((r) => [r.point, r.outcome])).toEqual([[1, 'done'], [1, 'done'], [2, 'failed'], [2, 'failed'], [3, 'done'], [3, 'done'], [4, 'failed'], [4, 'failed']]);
    expect(rows[2]!.failure).toMatch(/results\.outcome is 'limit'/);
  }, 300_000);

  it('--jobs 2 through tsx (ULP_TSX=1: the workers load the sources) and --jobs auto give the same bytes', () => {
    const serial = sweep('tsx-1', [...grid, '--jobs', '1']);
    const tsx = sweep('tsx-2', [...grid, '--jobs', '2'], { ULP_TSX: '1' });
    const auto = sweep('auto', [...grid, '--jobs', 'auto']);
    expect(tsx.code, tsx.err).toBe(0);
    expect(tsx.files).toEqual(serial.files);
    expect(auto.files).toEqual(serial.files);
  }, 300_000);

  it('shards run with --jobs 2 and merged are byte for byte the unsharded serial sweep', () => {
    const whole = sweep('whole', [...grid, '--jobs', '1']);
    for (const i of [1, 2]) expect(ulp(['sweep', ...grid, '--shard', `${i}/2`, '--jobs', '2', '--jsonl', join(dir, `sh${i}.jsonl`)]).code).toBe(0);
    const m = ulp(['merge', join(dir, 'sh2.jsonl'), join(dir, 'sh1.jsonl'), '--jsonl', join(dir, 'm.jsonl'), '--csv', join(dir, 'm.csv'), '--summary', join(dir, 'm.summary')]);
    expect(m.code, m.err).toBe(0);
    expect(['m.jsonl', 'm.csv', 'm.summary'].map((f) => readFileSync(join(dir, f), 'utf8'))).toEqual(whole.files);
  }, 300_000);

  it('a bad --jobs is one line and exit 2', () => {
    for (const bad of ['0', '65', 'two', '1.5', '']) {
      const r = ulp(['sweep', 'hello', '--jobs', bad]);
      expect(r.code).toBe(2);
      expect(r.err).toBe(`ulp: --jobs needs a whole number 1..64 or 'auto', got '${bad}'\n`);
    }
  });

  it('the progress bar is drawn on a terminal (stderr) and not on a pipe', () => {
    const piped = ulp(['sweep', ...failing, '--jobs', '2']);
    expect(piped.err).not.toMatch(/\r|ulp sweep \[/);
    if (!existsSync('/usr/bin/script')) {
      console.warn('skipped the terminal half: script(1) is not installed');
      return;
    }
    // script(1) gives the command a pseudo-terminal; its output is what the terminal showed.
    const r = spawnSync('/usr/bin/script', ['-qec', `${process.execPath} bin/ulp.js sweep ${failing.join(' ')} --jobs 2`, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stdout).toMatch(/\r\x1b\[Kulp sweep \[[#-]+\] \d\/8 runs/);
    expect(r.stdout).toMatch(/ulp sweep \[#+\] 8\/8 runs, 4 failed/);
  }, 200_000);

  it('the bar line: filled in proportion, failures and the time left, cut to the terminal width', () => {
    expect(progressLine({ done: 3, total: 12, failed: 0, text: '', elapsedMs: 3000, columns: 80 })).toBe(`ulp sweep [#######${'-'.repeat(23)}] 3/12 runs, ~9s left`);
    expect(progressLine({ done: 12, total: 12, failed: 2, text: 'done point 6, seed 2', elapsedMs: 9000, columns: 120 })).toBe(`ulp sweep [${'#'.repeat(30)}] 12/12 runs, 2 failed · done point 6, seed 2`);
    expect(progressLine({ done: 1, total: 4, failed: 0, text: 'x'.repeat(200), elapsedMs: 100_000, columns: 60 })).toHaveLength(59);
  });
});

describe('the pool (studies/pool.ts) in this process: workers run the sources through tsx', () => {
  it('outcomes in task order; a task whose worker throws settles as an error, the others still run', async () => {
    const tasks = [
      { kind: 'sweep', scenarioArg: 'hello', seed: 2, params: { hosts: 2, rounds: 3, workCycles: 500 }, costs: [] },
      { kind: 'sweep', scenarioArg: 'no-such-scenario', seed: 1, params: {}, costs: [] },
      { kind: 'sweep', scenarioArg: 'hello', seed: 1, params: {}, costs: [['kernel.trapCycles', 300]] },
    ] as const satisfies readonly SweepTask[];
    const order: number[] = [];
    const got = await runOnPool<SweepTask, SweepRun>(tasks, 2, (i) => order.push(i));
    expect(order.sort()).toEqual([0, 1, 2]);
    // (An error crosses the thread as a plain Error: its message stays, its class does not.)
    expect(got[1]).toEqual({ ok: false, error: expect.stringMatching(/^Error: unknown scenario 'no-such-scenario'/) as unknown });
    // Each worker's run is the run in this thread.
    for (const i of [0, 2]) {
      const s = got[i] as Settled<SweepRun>;
      expect(s.ok).toBe(true);
      expect(s.ok && s.value).toEqual(poolTask(tasks[i]!));
    }
  }, 120_000);
});
