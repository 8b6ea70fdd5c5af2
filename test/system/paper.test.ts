import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { paperValuesFor, PAPER_TABLES, pickLike } from '../../studies/paper/reproduce.ts';
import { SCENARIOS } from '../../studies/scenarios/index.ts';

describe('the paper\'s figures', () => {
  const paperScenarios = [...SCENARIOS.values()].filter((s) => s.name.startsWith('paper-'));

  it('every paper-* scenario names its section of tables.json and quotes it exactly', () => {
    expect(paperScenarios.length).toBeGreaterThan(0);
    for (const s of paperScenarios) {
      expect(s.paperSection, s.name).toBeDefined();
      expect(PAPER_TABLES[s.paperSection!], s.name).toBeDefined();
      expect(paperValuesFor(s), s.name).toEqual(s.paper);
    }
  });

  it('pickLike keeps only the paths the shape has', () => {
    expect(pickLike({ a: 1, b: { c: [1, 2] } }, { a: 5, x: 9, b: { c: [3, 4], d: 1 } })).toEqual({ a: 5, b: { c: [3, 4] } });
    expect(pickLike({ a: 1 }, { b: 2 })).toBeUndefined();
  });

  it('ulp paper --json - mirrors tables.json with computed values for table 5', () => {
    const r = spawnSync(process.execPath, ['bin/ulp.js', 'paper', '--tables', '5', '--json', '-'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const o = JSON.parse(r.stdout) as { table5_demultiplexing_us?: { lance_ethernet_software?: number; an1_hardware_bqi?: number } };
    expect(o.table5_demultiplexing_us?.lance_ethernet_software).toBeGreaterThan(0);
    expect(o.table5_demultiplexing_us?.an1_hardware_bqi).toBeGreaterThan(0);
  });
});
