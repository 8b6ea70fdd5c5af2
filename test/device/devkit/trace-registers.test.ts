/**
 * The register access log outside the kit (issue 16 item 2): `ulp run … --trace-registers FILE`
 * writes every device register access of a scenario as text, and `--trace` carries the same
 * accesses as instant events on each host's "device registers" track. Both observe only: the
 * run's fingerprint is the one of a run without them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AccessLog, LoggedTarget } from '../../../emulator/devkit/access-log.ts';
import { findScenario, runScenario } from '../../../studies/run.ts';
import { traceRegisters } from '../../../studies/trace/perfetto.ts';

const SCENARIO = 'paper-table4-library'; // LANCE and AN1 hosts, short

describe('register access log on a scenario', () => {
  const plain = runScenario(findScenario(SCENARIO), { seed: 3 });

  it('--trace-registers (in process): same fingerprint; LANCE and AN1 accesses by datasheet name', () => {
    const log = new AccessLog(true);
    const traced = runScenario(findScenario(SCENARIO), { seed: 3, onWorld: (w) => traceRegisters(w, log) });
    expect(traced.fingerprint).toBe(plain.fingerprint);
    expect(traced.simTimeNs).toBe(plain.simTimeNs);
    const devices = new Set(log.entries.map((e) => e.device));
    expect([...devices].some((d) => d.endsWith('.lance'))).toBe(true);
    expect([...devices].some((d) => d.endsWith('.an1'))).toBe(true);
    const stop = log.entries.find((e) => e.register === 'CSR0' && e.kind === 'write' && e.value === 0x0004);
    expect(stop?.decoded).toBe('STOP');
    expect(log.entries.some((e) => e.register === 'CLOCK' && e.kind === 'read')).toBe(true);
    // Times are the CPU-local times of the accesses (a CPU may run ahead of the clock), never negative.
    for (const e of log.entries) expect(e.timeNs).toBeGreaterThanOrEqual(0);
  });

  it('--trace: every logged access is one instant event on its host; fingerprint unchanged', () => {
    const log = new AccessLog(true);
    let json = '';
    const traced = runScenario(findScenario(SCENARIO), {
      seed: 3,
      onWorld: (w) => traceRegisters(w, log),
      timeline: { sink: (chunk: string) => (json += chunk) },
    });
    expect(traced.fingerprint).toBe(plain.fingerprint);
    const events = (JSON.parse(json) as { traceEvents: { ph: string; cat?: string; name: string; pid: number; tid: number }[] }).traceEvents;
    const instants = events.filter((e) => e.ph === 'i' && e.cat === 'register');
    expect(instants.length).toBe(log.entries.length);
    expect(instants.some((e) => e.name === 'W CSR0 = 0x4 STOP')).toBe(true);
    expect(events.some((e) => e.ph === 'M' && e.name === 'thread_name' && e.tid === instants[0]!.tid)).toBe(true);
  });

  it('the tap answers the bus as the device does (timeDetermined forwarded: the AN1 clock page)', () => {
    const inner = { name: 'x', read: () => 0, write: () => {}, peek: () => 0, poke: () => {}, accessCycles: () => 1, timeDetermined: (o: number) => o === 0x4000 };
    const t = new LoggedTarget(inner, 'x', { name: () => 'R', decode: () => '' }, new AccessLog(false));
    expect(t.timeDetermined?.(0x4000, 4)).toBe(true);
    expect(t.timeDetermined?.(0x1000, 4)).toBe(false);
  });
});

describe('ulp run --trace-registers FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulp-regs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the log as text and reports the fingerprint of a run without it', () => {
    const file = join(dir, 'regs.txt');
    const r = spawnSync(process.execPath, ['bin/ulp.js', 'run', SCENARIO, '--seed', '3', '--json', '--trace-registers', file], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { fingerprint: string }).fingerprint).toBe(plain().fingerprint);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(100);
    for (const l of lines.slice(0, 50)) expect(l).toMatch(/^ +\d+\.\d{3} us {2}cpu {2}[RW] \S+ \S+ (->|=) 0x[0-9a-f]+/);
    expect(lines.some((l) => / W \S+\.lance CSR0 = 0x0004 {2}STOP$/.test(l))).toBe(true);
  });

  it('a bad path is a usage error before any run', () => {
    const r = spawnSync(process.execPath, ['bin/ulp.js', 'run', SCENARIO, '--trace-registers', join(dir, 'no/such/dir/x.txt')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--trace-registers file/);
  });
});

let plainReport: ReturnType<typeof runScenario> | undefined;
function plain(): ReturnType<typeof runScenario> {
  plainReport ??= runScenario(findScenario(SCENARIO), { seed: 3 });
  return plainReport;
}
