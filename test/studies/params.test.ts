/**
 * Scenario parameters: every built-in scenario's declarations are well-formed and their defaults
 * pass their own checks; text and JSON values are checked against type and range; a scenario
 * reads what it declares (a changed value changes the run) and nothing it does not declare.
 */
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../studies/scenarios/index.ts';
import {
  checkParamJson, findParam, formatParam, isDefault, ParamError, paramReader, parseParamText, resolveParams, type ParamSpec,
} from '../../studies/scenarios/params.ts';
import { checkedParams, runScenario } from '../../studies/run.ts';

const int: ParamSpec = { name: 'frames', type: 'int', default: 10, min: 1, max: 100, unit: 'frames', doc: 'frames' };
const list: ParamSpec = { name: 'sizes', type: 'int-list', default: [1, 2], min: 1, max: 1460, unit: 'bytes', doc: 'sizes' };
const links: ParamSpec = { name: 'links', type: 'enum-list', default: ['ethernet'], values: ['ethernet', 'an1'], unit: '', doc: 'links' };

describe('parameter declarations of the built-in scenarios', () => {
  const all = [...SCENARIOS.values()];
  it('every scenario but the two MB93 calibration runs declares parameters', () => {
    // mb93-primitives and mb93-layers measure at the published sizes (1 B and 1460/1472 B) only.
    expect(all.filter((s) => (s.params ?? []).length === 0).map((s) => s.name)).toEqual(['mb93-primitives', 'mb93-layers']);
  });
  it.each(all.filter((s) => (s.params ?? []).length > 0).map((s) => [s.name, s] as const))('%s: names unique, docs and units said, defaults valid', (_name, s) => {
    const specs = s.params!;
    expect(new Set(specs.map((p) => p.name)).size).toBe(specs.length);
    for (const p of specs) {
      expect(p.doc.length, p.name).toBeGreaterThan(8);
      if (p.type === 'int' || p.type === 'number' || p.type === 'int-list') {
        expect(p.min, `${p.name} has a lower bound`).toBeDefined();
        expect(p.max, `${p.name} has an upper bound`).toBeDefined();
      }
      // The default passes the same checks a user's value does, as text and as JSON.
      expect(parseParamText(p, formatParam(p.default))).toEqual(p.default);
      expect(checkParamJson(p, p.default, p.name)).toEqual(p.default);
    }
    expect(() => checkedParams(s)).not.toThrow();
    expect(isDefault(specs, resolveParams(specs))).toBe(true);
  });
});

describe('values from the command line and from files', () => {
  it.each([
    [int, '5', 5],
    [int, '100', 100],
    [{ ...int, type: 'number' as const, min: 0, max: 1 }, '0.25', 0.25],
    [list, '512,1024', [512, 1024]],
    [links, 'an1,ethernet', ['an1', 'ethernet']],
    [{ ...int, type: 'bool' as const, default: false }, 'true', true],
  ])('%j accepts %s', (spec, text, value) => {
    expect(parseParamText(spec, text)).toEqual(value);
  });
  it.each([
    [int, '0', /frames needs an integer 1\.\.100, got '0'/],
    [int, '101', /1\.\.100/],
    [int, '2.5', /needs an integer/],
    [int, '', /needs an integer/],
    [int, '1e400', /needs an integer/],
    [list, '512,,1024', /got '' in '512,,1024'/],
    [list, '0', /needs an integer 1\.\.1460/],
    [links, 'fddi', /needs one of ethernet, an1, got 'fddi'/],
    [links, 'an1,an1', /lists a value twice/],
    [{ ...int, type: 'bool' as const, default: false }, 'yes', /true or false/],
  ])('%j rejects %s with one line', (spec, text, message) => {
    expect(() => parseParamText(spec, text)).toThrow(message);
    expect(() => parseParamText(spec, text)).toThrow(ParamError);
  });
  it('JSON values keep their types: a string is not a number, errors name the field', () => {
    expect(() => checkParamJson(int, '5', 'params.frames')).toThrow(/params\.frames needs an integer 1\.\.100, got "5"/);
    expect(() => checkParamJson(list, [512, 'x'], 'params.sizes')).toThrow(/params\.sizes\[1\] needs an integer, got "x"/);
    expect(() => checkParamJson(list, [], 'params.sizes')).toThrow(/non-empty array/);
    expect(checkParamJson(list, [512], 'params.sizes')).toEqual([512]);
  });
  it('unknown names are named with the known ones; a scenario without parameters says so', () => {
    expect(() => findParam(SCENARIOS.get('hello')!, 'nope')).toThrow(/unknown parameter 'nope' for scenario hello \(known: hosts, rounds, workCycles\)/);
    expect(() => findParam(SCENARIOS.get('mb93-primitives')!, 'x')).toThrow(/has no parameters/);
  });
  it('cross-parameter checks run before any simulation', () => {
    const s = SCENARIOS.get('raw-ethernet')!;
    expect(() => checkedParams(s, new Map([['sizeMin', 900], ['sizeMax', 800]]))).toThrow(/sizeMin 900 > sizeMax 800/);
  });
  it('a scenario reading a parameter it did not declare is a bug, not a default', () => {
    const r = paramReader([int], {});
    expect(r.num('frames')).toBe(10);
    expect(() => r.num('other')).toThrow(/undeclared parameter other/);
    expect(() => r.nums('frames')).toThrow(/undeclared/);
    expect([...r.read]).toEqual(['frames']);
  });
});

describe('a scenario reads every parameter it declares', () => {
  // Small runs: each parameter moved off its default must change the run (fingerprint or results).
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['hello', {}, { hosts: 3, rounds: 4, workCycles: 100 }],
    ['raw-ethernet', { frames: 40 }, { frames: 41, hosts: 3, sizeMin: 100, sizeMax: 1000, loss: 0.2, corrupt: 0.2, duplicate: 0.2, reorder: 0.2 }],
    ['raw-an1', { frames: 40 }, { frames: 41, payloadBytes: 100, bidirectional: true, loss: 0.2, corrupt: 0.2, duplicate: 0.2, reorder: 0.2 }],
    ['kernel-primitives', {}, { trapRounds: 10, rpcRounds: 10, yieldRounds: 10, cthreadRounds: 10, semaphoreRounds: 10 }],
    ['paper-table5', { frames: 5 }, { frames: 6, gapUs: 2000, links: ['an1'] }],
  ];
  it.each(cases)('%s', (name, base, moved) => {
    const s = SCENARIOS.get(name)!;
    const run = (extra: Record<string, unknown>): string => {
      const r = runScenario(s, { seed: 1, params: { ...base, ...extra } as never });
      return `${r.fingerprint} ${JSON.stringify(r.results)}`;
    };
    const ref = run({});
    for (const [k, v] of Object.entries(moved)) expect(run({ [k]: v }), `${name}: ${k}=${JSON.stringify(v)} changed nothing`).not.toBe(ref);
    // Every declared parameter is among those moved here.
    expect((s.params ?? []).map((p) => p.name).sort()).toEqual(Object.keys(moved).sort());
  });
});
