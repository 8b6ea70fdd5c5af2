/**
 * The published JSON Schema of scenario files (studies/scenario-file.schema.json) is what
 * `ulp schema` generates from the scenarios' declarations, and a maintained validator (Python's
 * jsonschema, draft 2020-12; skipped where it is not installed) agrees with ulp's own checks:
 * the examples pass, files ulp rejects fail.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scenarioFileSchema } from '../../studies/scenario-schema.ts';
import { SCENARIOS } from '../../studies/scenarios/index.ts';

const SCHEMA_FILE = 'studies/scenario-file.schema.json';
const haveJsonschema = spawnSync('python3', ['-c', 'import jsonschema'], { encoding: 'utf8' }).status === 0;

/** Number of schema errors of each document, by Python's jsonschema (Draft202012Validator). */
function schemaErrors(docs: readonly unknown[]): number[] {
  const script = [
    'import json, sys, jsonschema',
    `schema = json.load(open(${JSON.stringify(SCHEMA_FILE)}))`,
    'jsonschema.Draft202012Validator.check_schema(schema)',
    'v = jsonschema.Draft202012Validator(schema)',
    'print(json.dumps([len(list(v.iter_errors(d))) for d in json.load(sys.stdin)]))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], { input: JSON.stringify(docs), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as number[];
}

describe('the scenario-file schema', () => {
  it('the published file is the generated schema (regenerate: ulp schema > studies/scenario-file.schema.json)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(JSON.stringify(scenarioFileSchema([...SCENARIOS.values()]), null, 2) + '\n');
  });

  it('a maintained validator accepts the examples and rejects what ulp rejects (skipped without python3 jsonschema)', (ctx) => {
    if (!haveJsonschema) {
      ctx.skip('python3 -m pip install jsonschema to run this check');
      return;
    }
    const examples = readdirSync('studies/examples').filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(`studies/examples/${f}`, 'utf8')) as unknown);
    expect(schemaErrors(examples)).toEqual(examples.map(() => 0));
    const bad = [
      { scenario: 'hello', sead: 3 },
      { params: {} },
      { scenario: 'nope' },
      { scenario: 'hello', params: { hots: 2 } },
      { scenario: 'hello', params: { hosts: '2' } },
      { scenario: 'hello', params: { hosts: 27 } },
      { scenario: 'paper-table2-library', params: { writeSizes: [512, 0] } },
      { scenario: 'paper-table2-library', params: { links: ['ethernet', 'ethernet'] } },
      { scenario: 'hello', costs: { 'no.such': 1 } },
      { scenario: 'hello', costs: { 'kernel.trapCycles': '300' } },
      { scenario: 'hello', seed: 1.5 },
      { scenario: 'hello', seed: 1, seeds: 2 },
      { scenario: 'hello', seeds: [1, 1] },
      { scenario: 'mb93-primitives', params: { x: 1 } },
    ];
    for (const [i, n] of schemaErrors(bad).entries()) expect(n, JSON.stringify(bad[i])).toBeGreaterThan(0);
  });
});
