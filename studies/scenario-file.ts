/**
 * Scenario files (`ulp run FILE.json|FILE.yaml`, `ulp sweep FILE`): a built-in scenario with its
 * parameters, cost overrides and seed(s) as data, so a study is a file under version control
 * rather than a command line. JSON or YAML (parsed by the `yaml` package, YAML 1.2 core schema:
 * the same data model as JSON). Every file is validated against the published JSON Schema
 * (studies/scenario-file.schema.json, the output of scenarioFileSchema; a test keeps them equal)
 * by ajv before any simulation, then ulp's field checks add what a schema cannot say (a cost's
 * bounds, constraints between parameters). An error is one line naming the file and the field
 * (`params.writeSizes[1]: needs an integer 1..65536, got "x"`), with its line in a YAML file.
 *
 *   {
 *     "description": "what this study asks (optional, any text)",
 *     "scenario": "paper-table2-library",
 *     "params": { "links": ["ethernet"], "writeSizes": [8192] },
 *     "costs": { "kernel.trapCycles": 200 },
 *     "seeds": 3                       // or "seed": 7, or "seeds": [1, 2, 5]
 *   }
 *
 * Or, instead of `scenario` and `params`, a topology: `hosts`, `links`, `apps` (from the app
 * catalogue), `limits`, `report` (studies/topology/model.ts checks them; the file then runs as
 * the scenario `topology-<base name>`, whose parameters are the apps' and the links').
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { decstationCostTable } from '../emulator/host/costs/decstation-5000-200.ts';
import { UsageError } from './errors.ts';
import { SCENARIOS } from './scenarios/index.ts';
import { checkParamJson, findParam, ParamError, type ParamValue } from './scenarios/params.ts';
import type { Scenario } from './scenarios/types.ts';
import { checkedParams } from './run.ts';
import { scenarioFileSchema } from './scenario-schema.ts';
import { checkTopology, TOPOLOGY_FIELDS, topologyScenario } from './topology/model.ts';

export interface ScenarioFile {
  readonly path: string;
  readonly description?: string;
  readonly scenario: Scenario;
  readonly params: ReadonlyMap<string, ParamValue>;
  readonly costs: ReadonlyMap<string, number>;
  /** The seeds the file names (`seed` or `seeds`), if it names any. */
  readonly seeds?: readonly number[];
}

const FIELDS = ['$schema', 'description', 'scenario', 'params', 'costs', 'seed', 'seeds', ...TOPOLOGY_FIELDS] as const;
const SEEDS_MAX = 1000;

/** True when `arg` names a scenario file rather than a built-in scenario. */
export const isScenarioFileArg = (arg: string): boolean => !SCENARIOS.has(arg) && (/\.(json|ya?ml)$/.test(arg) || arg.includes('/'));

const isYaml = (path: string): boolean => /\.ya?ml$/i.test(path);

/** A field's path (`['params', 'writeSizes', 1]`) as ulp prints it: `params.writeSizes[1]`. */
const fieldName = (at: readonly (string | number)[]): string =>
  at.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');

// ajv and yaml are loaded on first use (about 35 ms each), so a command without a file never pays for them.
const requireLazily = createRequire(import.meta.url);
const yamlLib = (): typeof import('yaml') => requireLazily('yaml') as typeof import('yaml');

let schemaValidator: ValidateFunction | undefined;
/** ajv's validator of the published schema, compiled on first use (a run without a file never pays for it). */
function validator(): ValidateFunction {
  if (schemaValidator === undefined) {
    const { Ajv2020 } = requireLazily('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    schemaValidator = new Ajv2020({ allErrors: false, strict: true, strictTypes: false, strictRequired: false }).compile(scenarioFileSchema([...SCENARIOS.values()]));
  }
  return schemaValidator;
}

/** An ajv error as `field: problem`, for what the schema rejects and ulp's field checks did not name. */
function schemaProblem(e: ErrorObject): { at: (string | number)[]; problem: string } {
  const at = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map((k) => {
    const key = k.replaceAll('~1', '/').replaceAll('~0', '~');
    return /^(0|[1-9]\d*)$/.test(key) ? Number(key) : key;
  });
  const p = e.params as Record<string, unknown>;
  const detail =
    e.keyword === 'additionalProperties' ? ` ('${String(p['additionalProperty'])}')`
    : e.keyword === 'enum' && Array.isArray(p['allowedValues']) ? ` (${p['allowedValues'].map(String).join(', ')})`
    : '';
  return { at, problem: `${e.message ?? e.keyword}${detail}` };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

export function loadScenarioFile(path: string): ScenarioFile {
  /** The line of a field in a YAML file, where the parser knows it. */
  let lineOf: (at: readonly (string | number)[]) => number | undefined = () => undefined;
  const fail = (field: string, problem: string, at: readonly (string | number)[] = []): never => {
    const line = at.length > 0 ? lineOf(at) : undefined;
    throw new UsageError(`scenario file '${path}'${line !== undefined ? `, line ${line}` : ''}: ${field === '' ? '' : `${field}: `}${problem}`);
  };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new UsageError(`cannot read scenario file '${path}' (${typeof code === 'string' ? code : 'error'})`);
  }
  let doc: unknown;
  if (isYaml(path)) {
    const { isMap, isSeq, LineCounter, parseDocument } = yamlLib();
    const lines = new LineCounter();
    const ydoc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
    const err = ydoc.errors[0];
    if (err !== undefined) fail('', `not valid YAML (${err.message.split('\n')[0]!.replace(/:$/, '')})`);
    doc = ydoc.toJS({ maxAliasCount: 100 });
    lineOf = (at) => {
      // The node of the deepest part of the path that exists (a missing field: its parent).
      for (let n = at.length; n > 0; n--) {
        const parent = n === 1 ? ydoc.contents : ydoc.getIn(at.slice(0, n - 1), true);
        const key = at[n - 1];
        if (isMap(parent)) {
          const pair = parent.items.find((it) => (it.key as { value?: unknown } | null)?.value === key);
          const r = (pair?.key as { range?: [number, number, number] } | null | undefined)?.range;
          if (r !== undefined) return lines.linePos(r[0]).line;
        } else if (isSeq(parent) && typeof key === 'number') {
          const r = (parent.items[key] as { range?: [number, number, number] } | undefined)?.range;
          if (r !== undefined) return lines.linePos(r[0]).line;
        }
      }
      return undefined;
    };
  } else {
    try {
      doc = JSON.parse(text);
    } catch (e) {
      fail('', `not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
  }
  const validate = validator();
  if (!validate(doc)) {
    // The schema rejects the file. ulp's field checks name most problems in its own words; what
    // they do not know (a field's type the schema fixes, say) is reported as ajv words it.
    checkFields(doc, fail, path);
    const e = validate.errors?.[0];
    if (e === undefined) return fail('', 'does not match the scenario-file schema');
    const { at, problem } = schemaProblem(e);
    return fail(at.length === 0 ? '' : fieldName(at), problem, at);
  }
  return { path, ...checkFields(doc, fail, path) };
}

/** The path of a parameter error (`params.writeSizes[1] ...`: ['params', 'writeSizes', 1]). */
function paramAt(k: string, message: string): (string | number)[] {
  const i = /^params\.[^ [:]+\[(\d+)\]/.exec(message)?.[1];
  return i !== undefined ? ['params', k, Number(i)] : ['params', k];
}

type Fail = (field: string, problem: string, at?: readonly (string | number)[]) => never;

/** The scenario name of a topology file: `topology-` and the file's base name (`topology-three-hosts-two-orgs`). */
export const topologyName = (path: string): string => `topology-${basename(path).replace(/\.(json|ya?ml)$/i, '')}`;

/** ulp's own checks of a parsed file: its one-line messages, and what a schema cannot say. */
function checkFields(doc: unknown, fail: Fail, path: string): Omit<ScenarioFile, 'path'> {
  if (!isObject(doc)) return fail('', 'needs a JSON object at the top');
  for (const k of Object.keys(doc)) if (!(FIELDS as readonly string[]).includes(k)) fail(k, `unknown field (fields: ${FIELDS.join(', ')})`, [k]);
  if (doc['description'] !== undefined && typeof doc['description'] !== 'string') fail('description', 'needs a string', ['description']);
  const topoField = TOPOLOGY_FIELDS.find((k) => doc[k] !== undefined);
  if (doc['scenario'] === undefined && topoField !== undefined) {
    if (doc['params'] !== undefined) fail('params', 'a topology file sets each app\'s parameters in apps[i].params and each link\'s faults in links[i].faults', ['params']);
    const topo = checkTopology(doc, (at, problem) => fail(fieldName(at), problem, at));
    const costs = checkCosts(doc, fail);
    const seeds = checkSeeds(doc, fail);
    const description = typeof doc['description'] === 'string' ? doc['description'] : undefined;
    return {
      ...(description !== undefined ? { description } : {}),
      scenario: topologyScenario(topologyName(path), topo, description),
      params: new Map(),
      costs,
      ...(seeds !== undefined ? { seeds } : {}),
    };
  }
  if (doc['scenario'] !== undefined && topoField !== undefined) fail(topoField, `a file names a built-in scenario or describes a topology (hosts, links, apps), not both`, [topoField]);
  const name = doc['scenario'];
  if (name === undefined) fail('scenario', `missing (a built-in scenario: ${[...SCENARIOS.keys()].join(', ')}; or a topology: hosts, links and apps)`);
  if (typeof name !== 'string') return fail('scenario', `needs a string, got ${JSON.stringify(name)}`, ['scenario']);
  const scenario = SCENARIOS.get(name);
  if (scenario === undefined) return fail('scenario', `unknown scenario '${name}' (known: ${[...SCENARIOS.keys()].join(', ')})`, ['scenario']);

  const params = new Map<string, ParamValue>();
  if (doc['params'] !== undefined) {
    const p = doc['params'];
    if (!isObject(p)) return fail('params', 'needs an object of parameter: value', ['params']);
    for (const [k, v] of Object.entries(p)) {
      try {
        params.set(k, checkParamJson(findParam(scenario, k), v, `params.${k}`));
      } catch (e) {
        if (e instanceof ParamError) fail('', e.message.startsWith('params.') ? e.message.replace(/^(params\.[^ ]+) /, '$1: ') : `params.${k}: ${e.message}`, paramAt(k, e.message));
        throw e;
      }
    }
  }

  const costs = checkCosts(doc, fail);
  const seeds = checkSeeds(doc, fail);
  try {
    checkedParams(scenario, params);
  } catch (e) {
    if (e instanceof ParamError) fail('params', e.message, ['params']);
    throw e;
  }
  return {
    ...(typeof doc['description'] === 'string' ? { description: doc['description'] } : {}),
    scenario,
    params,
    costs,
    ...(seeds !== undefined ? { seeds } : {}),
  };
}

/** The file's `costs`: each a known cost within its bounds. */
function checkCosts(doc: Record<string, unknown>, fail: Fail): Map<string, number> {
  const costs = new Map<string, number>();
  if (doc['costs'] !== undefined) {
    const c = doc['costs'];
    if (!isObject(c)) return fail('costs', 'needs an object of cost name: number', ['costs']);
    const table = decstationCostTable();
    for (const [k, v] of Object.entries(c)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`costs.${k}`, `needs a number, got ${typeof v === 'number' ? String(v) : JSON.stringify(v)}`, ['costs', k]);
      try {
        table.override(k, v as number);
      } catch (e) {
        fail(`costs.${k}`, (e as Error).message.split('\n')[0]!, ['costs', k]);
      }
      costs.set(k, v as number);
    }
  }

  return costs;
}

/** The file's `seed` or `seeds`, if it names any. */
function checkSeeds(doc: Record<string, unknown>, fail: Fail): number[] | undefined {
  let seeds: number[] | undefined;
  if (doc['seed'] !== undefined && doc['seeds'] !== undefined) fail('seeds', "give 'seed' (one run) or 'seeds' (replications), not both", ['seeds']);
  if (doc['seed'] !== undefined) {
    if (!isInt(doc['seed'])) fail('seed', `needs an integer, got ${JSON.stringify(doc['seed'])}`, ['seed']);
    seeds = [doc['seed'] as number];
  }
  if (doc['seeds'] !== undefined) {
    const s = doc['seeds'];
    if (isInt(s)) {
      if (s < 1 || s > SEEDS_MAX) fail('seeds', `a count needs 1 ≤ N ≤ ${SEEDS_MAX}, got ${s}`, ['seeds']);
      seeds = Array.from({ length: s }, (_, i) => i + 1);
    } else if (Array.isArray(s) && s.length > 0 && s.length <= SEEDS_MAX) {
      s.forEach((x, i) => {
        if (!isInt(x)) fail(`seeds[${i}]`, `needs an integer, got ${JSON.stringify(x)}`, ['seeds', i]);
      });
      if (new Set(s).size !== s.length) fail('seeds', 'lists a seed twice', ['seeds']);
      seeds = (s as number[]).slice().sort((a, b) => a - b);
    } else fail('seeds', `needs a count N or a non-empty array of integer seeds, got ${JSON.stringify(s)}`, ['seeds']);
  }
  return seeds;
}
