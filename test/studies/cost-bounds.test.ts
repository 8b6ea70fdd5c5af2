import { describe, expect, it } from 'vitest';
import { CostTable, UnknownCostError } from '../../emulator/host/costs/cost-table.ts';
import { decstationCostTable } from '../../emulator/host/costs/decstation-5000-200.ts';

const table = (): CostTable =>
  new CostTable([
    {
      'x.lineBytes': { value: 4, unit: 'bytes', source: 'test', what: 'a size the model divides by', min: 1, integer: true },
      'x.periodNs': { value: 1600, unit: 'ns', source: 'test', what: 'a period', min: 1000 },
      'x.cycles': { value: 10, unit: 'cycles', source: 'test', what: 'free' },
    },
  ]);

describe('cost bounds and the names a run reads', () => {
  it('an override outside a constant\'s bounds is a user error naming the bound', () => {
    const t = table();
    expect(() => t.override('x.lineBytes', 0)).toThrow(new UnknownCostError("cost 'x.lineBytes' needs a value ≥ 1 (bytes), got '0'"));
    expect(() => t.override('x.lineBytes', 2.5)).toThrow(/needs a whole number/);
    expect(() => t.override('x.periodNs', 999)).toThrow(/needs a value ≥ 1000/);
    expect(() => t.override('x.cycles', -1)).toThrow(/non-negative/);
    t.override('x.lineBytes', 3);
    t.override('x.periodNs', 1000);
    t.override('x.cycles', 0);
    expect([t.get('x.lineBytes'), t.get('x.periodNs'), t.get('x.cycles')]).toEqual([3, 1000, 0]);
  });

  it('a default outside its own bounds is caught when the table is built', () => {
    expect(() => new CostTable([{ 'y.bad': { value: 0, unit: 'bytes', source: 'test', what: 'w', min: 1 } }])).toThrow(/outside its own bounds/);
    expect(() => new CostTable([{ 'y.bad': { value: 1.5, unit: 'count', source: 'test', what: 'w', integer: true } }])).toThrow(/outside its own bounds/);
  });

  it('records the names read by get and read (shared with clones), not by listing the table', () => {
    const t = table();
    t.rows();
    expect([...t.namesRead()]).toEqual([]);
    t.get('x.cycles');
    t.clone().read('x.periodNs', 'ns');
    expect([...t.namesRead()].sort()).toEqual(['x.cycles', 'x.periodNs']);
  });

  it('the DECstation table declares the bounds the model needs', () => {
    const t = decstationCostTable();
    expect(() => t.override('cpu.dcacheLineBytes', 0)).toThrow(UnknownCostError);
    expect(() => t.override('lance.txPollPeriodNs', 0)).toThrow(UnknownCostError);
  });
});
