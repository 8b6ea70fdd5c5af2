/**
 * The speed work's guarantees that can be checked without timing anything: the precompiled CLI
 * is built from the sources and runs them; `ulp paper` on worker threads reports exactly what the
 * serial run does; the bench reports the documented shape (its figures are never asserted).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { benchWorkload, WORKLOADS } from '../../studies/bench.ts';

function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('speed work', () => {
  it('ulp paper --jobs 2 gives byte-identical JSON to --jobs 1 (replicated seeds, a cost override)', () => {
    const args = ['paper', '--tables', '5', '--seeds', '1,2', '--cost', 'an1.drvRxPerFrameCycles=300', '--json', '-'];
    const serial = cli([...args, '--jobs', '1']);
    const parallel = cli([...args, '--jobs', '2']);
    expect(serial.status).toBe(0);
    expect(parallel.status).toBe(0);
    expect(parallel.stdout).toBe(serial.stdout);
    expect(JSON.parse(serial.stdout)).toHaveProperty('seeds', [1, 2]);
  }, 300_000);

  it('the precompiled CLI and the sources through tsx give the same run', () => {
    const built = cli(['run', 'hello', '--seed', '3', '--json']);
    const tsx = cli(['run', 'hello', '--seed', '3', '--json'], { ULP_TSX: '1' });
    expect(built.status).toBe(0);
    expect(built.stdout).toBe(tsx.stdout);
  }, 120_000);

  it('the bench reports steady-state figures per workload (shape only, a tiny run)', () => {
    expect(WORKLOADS.map((w) => w.name)).toEqual(['raw-ethernet', 'raw-an1', 'library-tcp-ethernet', 'library-tcp-an1', 'monolithic-tcp-ethernet']);
    const row = benchWorkload('raw-an1', { quick: true });
    expect(row.workload).toBe('raw-an1');
    expect(row.packets[1]).toBeGreaterThan(row.packets[0]);
    for (const k of ['wallUsPerPacket', 'cpuUsPerPacket', 'eventsPerPacket', 'setupMs', 'simSecondsPerWallSecond', 'peakRssMb'] as const) expect(Number.isFinite(row[k])).toBe(true);
    expect(row.eventsPerPacket).toBeGreaterThan(1);
    expect(row.wallUsPerPacketEach).toHaveLength(row.reps);
  }, 120_000);
});
