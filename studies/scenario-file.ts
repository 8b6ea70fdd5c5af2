/**
 * Scenario files (`ulp run FILE.json`, `ulp sweep FILE.json`): a built-in scenario with its
 * parameters, cost overrides and seed(s) as data, so a study is a file under version control
 * rather than a command line. Checked field by field before any simulation; an error is one line
 * naming the file and the field (`params.writeSizes[1]: needs an integer 1..65536, got "x"`).
 *
 *   {
 *     "description": "what this study asks (optional, any text)",
 *     "scenario": "paper-table2-library",
 *     "params": { "links": ["ethernet"], "writeSizes": [8192] },
 *     "costs": { "kernel.trapCycles": 200 },
 *     "seeds": 3                       // or "seed": 7, or "seeds": [1, 2, 5]
 *   }
 */
import { readFileSync } from 'node:fs';
import { decstationCostTable } from '../emulator/host/costs/decstation-5000-200.ts';
import { UsageError } from './errors.ts';
import { SCENARIOS } from './scenarios/index.ts';
import { checkParamJson, findParam, ParamError, type ParamValue } from './scenarios/params.ts';
import type { Scenario } from './scenarios/types.ts';
import { checkedParams } from './run.ts';

export interface ScenarioFile {
  readonly path: string;
  readonly description?: string;
  readonly scenario: Scenario;
  readonly params: ReadonlyMap<string, ParamValue>;
  readonly costs: ReadonlyMap<string, number>;
  /** The seeds the file names (`seed` or `seeds`), if it names any. */
  readonly seeds?: readonly number[];
}

const FIELDS = ['$schema', 'description', 'scenario', 'params', 'costs', 'seed', 'seeds'] as const;
const SEEDS_MAX = 1000;

/** True when `arg` names a scenario file rather than a built-in scenario. */
export const isScenarioFileArg = (arg: string): boolean => !SCENARIOS.has(arg) && (arg.endsWith('.json') || arg.includes('/'));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

export function loadScenarioFile(path: string): ScenarioFile {
  const fail = (field: string, problem: string): never => {
    throw new UsageError(`scenario file '${path}': ${field === '' ? '' : `${field}: `}${problem}`);
  };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new UsageError(`cannot read scenario file '${path}' (${typeof code === 'string' ? code : 'error'})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail('', `not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isObject(doc)) return fail('', 'needs a JSON object at the top');
  for (const k of Object.keys(doc)) if (!(FIELDS as readonly string[]).includes(k)) fail(k, `unknown field (fields: ${FIELDS.join(', ')})`);
  if (doc['description'] !== undefined && typeof doc['description'] !== 'string') fail('description', 'needs a string');
  const name = doc['scenario'];
  if (name === undefined) fail('scenario', `missing (a built-in scenario: ${[...SCENARIOS.keys()].join(', ')})`);
  if (typeof name !== 'string') return fail('scenario', `needs a string, got ${JSON.stringify(name)}`);
  const scenario = SCENARIOS.get(name);
  if (scenario === undefined) return fail('scenario', `unknown scenario '${name}' (known: ${[...SCENARIOS.keys()].join(', ')})`);

  const params = new Map<string, ParamValue>();
  if (doc['params'] !== undefined) {
    const p = doc['params'];
    if (!isObject(p)) return fail('params', 'needs an object of parameter: value');
    for (const [k, v] of Object.entries(p)) {
      try {
        params.set(k, checkParamJson(findParam(scenario, k), v, `params.${k}`));
      } catch (e) {
        if (e instanceof ParamError) fail('', e.message.startsWith('params.') ? e.message.replace(/^(params\.[^ ]+) /, '$1: ') : `params.${k}: ${e.message}`);
        throw e;
      }
    }
  }

  const costs = new Map<string, number>();
  if (doc['costs'] !== undefined) {
    const c = doc['costs'];
    if (!isObject(c)) return fail('costs', 'needs an object of cost name: number');
    const table = decstationCostTable();
    for (const [k, v] of Object.entries(c)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`costs.${k}`, `needs a number, got ${JSON.stringify(v)}`);
      try {
        table.override(k, v as number);
      } catch (e) {
        fail(`costs.${k}`, (e as Error).message.split('\n')[0]!);
      }
      costs.set(k, v as number);
    }
  }

  let seeds: number[] | undefined;
  if (doc['seed'] !== undefined && doc['seeds'] !== undefined) fail('seeds', "give 'seed' (one run) or 'seeds' (replications), not both");
  if (doc['seed'] !== undefined) {
    if (!isInt(doc['seed'])) fail('seed', `needs an integer, got ${JSON.stringify(doc['seed'])}`);
    seeds = [doc['seed'] as number];
  }
  if (doc['seeds'] !== undefined) {
    const s = doc['seeds'];
    if (isInt(s)) {
      if (s < 1 || s > SEEDS_MAX) fail('seeds', `a count needs 1 ≤ N ≤ ${SEEDS_MAX}, got ${s}`);
      seeds = Array.from({ length: s }, (_, i) => i + 1);
    } else if (Array.isArray(s) && s.length > 0 && s.length <= SEEDS_MAX) {
      s.forEach((x, i) => {
        if (!isInt(x)) fail(`seeds[${i}]`, `needs an integer, got ${JSON.stringify(x)}`);
      });
      if (new Set(s).size !== s.length) fail('seeds', 'lists a seed twice');
      seeds = (s as number[]).slice().sort((a, b) => a - b);
    } else fail('seeds', `needs a count N or a non-empty array of integer seeds, got ${JSON.stringify(s)}`);
  }
  try {
    checkedParams(scenario, params);
  } catch (e) {
    if (e instanceof ParamError) fail('params', e.message);
    throw e;
  }
  return {
    path,
    ...(typeof doc['description'] === 'string' ? { description: doc['description'] } : {}),
    scenario,
    params,
    costs,
    ...(seeds !== undefined ? { seeds } : {}),
  };
}
