/**
 * Scenario files are validated against the published JSON Schema by ajv at run time, and may be
 * YAML (`.yaml`, `.yml`) as well as JSON: the same schema, the same one-line errors (with the
 * field's line in a YAML file), and the YAML example gives the same fingerprint as its JSON twin.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as yamlText } from 'yaml';
import { UsageError } from '../../studies/errors.ts';
import { loadScenarioFile } from '../../studies/scenario-file.ts';

function ulp(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'ulp-scenario-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The one-line error loading `path` gives, without the file's name (and its line, if any). */
function loadError(path: string): string {
  try {
    loadScenarioFile(path);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    expect(e.message.split('\n')).toHaveLength(1);
    return e.message.replace(/^scenario file '[^']*'(, line \d+)?: /, '');
  }
  throw new Error(`${path} loaded without an error`);
}

// The rejected files of test/system/workbench.test.ts, each a JSON object.
const BAD: readonly [string, unknown][] = [
  ['array', []],
  ['unknown-field', { scenario: 'hello', sead: 3 }],
  ['no-scenario', { params: {} }],
  ['bad-scenario', { scenario: 'nope' }],
  ['scenario-type', { scenario: 3 }],
  ['params-type', { scenario: 'hello', params: [1] }],
  ['param-name', { scenario: 'hello', params: { hots: 2 } }],
  ['param-string', { scenario: 'hello', params: { hosts: '2' } }],
  ['param-list', { scenario: 'paper-table2-library', params: { writeSizes: [512, 'x'] } }],
  ['param-range', { scenario: 'paper-table2-library', params: { writeSizes: [512, 0] } }],
  ['param-cross', { scenario: 'raw-ethernet', params: { sizeMin: 900, sizeMax: 800 } }],
  ['cost-name', { scenario: 'hello', costs: { 'no.such': 1 } }],
  ['cost-type', { scenario: 'hello', costs: { 'kernel.trapCycles': '300' } }],
  ['cost-bound', { scenario: 'raw-an1', costs: { 'cpu.dcacheLineBytes': 0 } }],
  ['seed', { scenario: 'hello', seed: 1.5 }],
  ['seed-seeds', { scenario: 'hello', seed: 1, seeds: 2 }],
  ['seeds-twice', { scenario: 'hello', seeds: [1, 1] }],
  ['seeds-zero', { scenario: 'hello', seeds: 0 }],
  ['seeds-item', { scenario: 'hello', seeds: [1, 'x'] }],
  ['schema-type', { $schema: 3, scenario: 'hello' }],
];

describe('the published schema, checked by ajv at run time', () => {
  it('a field only the schema constrains is rejected in one line naming it, exit 2, nothing run', () => {
    // ulp's own field checks ignore `$schema`; the schema says it is a string.
    const r = ulp('run', file('schema-type.json', JSON.stringify({ $schema: 3, scenario: 'hello' })));
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/^ulp: scenario file '[^']*schema-type\.json': \$schema: must be string\n$/);
    expect(r.out).toBe('');
  });
  it('what both reject keeps ulp\'s own words', () => {
    expect(loadError(file('p.json', JSON.stringify({ scenario: 'hello', params: { hosts: 27 } })))).toBe('params.hosts: needs an integer 1..26, got 27');
  });
});

describe('YAML scenario files', () => {
  it('the YAML example gives the same fingerprint and results as its JSON twin and the built-in scenario', () => {
    const json = JSON.parse(ulp('run', 'studies/examples/paper-table4-ultrix.json', '--json').out) as { fingerprint: string; results: unknown; params: unknown };
    const r = ulp('run', 'studies/examples/paper-table4-ultrix.yaml', '--json');
    expect(r.code, r.err).toBe(0);
    const yaml = JSON.parse(r.out) as { fingerprint: string; results: unknown; params: unknown; scenarioFile: string; outcome: string };
    expect(yaml.scenarioFile).toBe('studies/examples/paper-table4-ultrix.yaml');
    expect(yaml.outcome).toBe('done');
    expect(yaml.fingerprint).toBe(json.fingerprint);
    expect(yaml.results).toEqual(json.results);
    expect(yaml.params).toEqual(json.params);
    expect(yaml.fingerprint).toBe((JSON.parse(ulp('run', 'paper-table4-ultrix', '--json').out) as { fingerprint: string }).fingerprint);
  });

  it('the YAML example holds the data of its JSON twin, apart from the description', () => {
    const { description: _a, $schema: _b, ...json } = JSON.parse(readFileSync('studies/examples/paper-table4-ultrix.json', 'utf8')) as Record<string, unknown>;
    const { description: _c, ...yaml } = parseYaml(readFileSync('studies/examples/paper-table4-ultrix.yaml', 'utf8')) as Record<string, unknown>;
    expect(yaml).toEqual(json);
  });

  it.each(BAD)('%s: the same error in YAML as in JSON', (name, doc) => {
    const fromJson = loadError(file(`${name}.json`, JSON.stringify(doc)));
    expect(loadError(file(`${name}.yaml`, yamlText(doc)))).toBe(fromJson);
    expect(loadError(file(`${name}.yml`, yamlText(doc)))).toBe(fromJson);
  });

  it.each([
    ['hosts.yaml', 'scenario: hello\nparams:\n  hosts: 2\n  rounds: "x"\n', /^ulp: scenario file '[^']*hosts\.yaml', line 4: params\.rounds: needs an integer 1\.\.100000, got "x"$/],
    ['list.yaml', 'scenario: paper-table2-library\nparams:\n  writeSizes:\n    - 512\n    - 0\n', /', line 5: params\.writeSizes\[1\]: needs an integer 1\.\.65536, got 0$/],
    ['field.yaml', 'scenario: hello\n\nsead: 3\n', /', line 3: sead: unknown field/],
    ['cost.yaml', 'scenario: hello\ncosts:\n  kernel.trapCycles: .inf\n', /', line 3: costs\.kernel\.trapCycles: needs a number, got Infinity$/],
    ['schema.yaml', 'scenario: hello\n$schema: [1]\n', /', line 2: \$schema: must be string$/],
    ['syntax.yaml', 'scenario: hello\nparams: {hosts: 2\n', /: not valid YAML \(.* at line 3, column 1\)$/],
    ['dup.yaml', 'scenario: hello\nseed: 1\nseed: 2\n', /: not valid YAML \(Map keys must be unique at line 3, column 1\)$/],
    ['scalar.yaml', 'just text\n', /: needs a JSON object at the top$/],
  ])('%s: one line naming the line, exit 2, nothing run', (name, text, message) => {
    const r = ulp('run', file(name, text));
    expect(r.code, r.err).toBe(2);
    expect(r.err.trimEnd()).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.out).toBe('');
  });

  it('a sweep starts from a YAML file', () => {
    const path = file('sweep.yml', 'scenario: hello\nparams:\n  rounds: 2\nseeds: [3, 1]\n');
    const r = ulp('sweep', path, '--param', 'hosts=1,2', '--jsonl', join(dir, 'sweep.jsonl'));
    expect(r.code, r.err).toBe(0);
    const [head, ...rows] = readFileSync(join(dir, 'sweep.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seeds?: number[]; seed?: number; params: Record<string, unknown> });
    expect(head!.seeds).toEqual([1, 3]);
    expect(rows.map((x) => [x.params['hosts'], x.params['rounds'], x.seed])).toEqual([[1, 2, 1], [1, 2, 3], [2, 2, 1], [2, 2, 3]]);
  });
});
