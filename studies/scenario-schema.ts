/**
 * The JSON Schema (draft 2020-12) of scenario files, generated from the scenarios' parameter
 * declarations and the cost table, so an editor can complete and check a study file as it is
 * written (`ulp schema`; studies/examples/scenario-file.schema.json is this output, kept in
 * step by a test). `ulp` itself checks files with studies/scenario-file.ts, which gives the same
 * verdicts with one-line errors that name the field.
 */
import { decstationCostTable } from '../emulator/host/costs/decstation-5000-200.ts';
import type { ParamSpec } from './scenarios/params.ts';
import type { Scenario } from './scenarios/types.ts';

type Schema = { readonly [k: string]: unknown };

function paramSchema(p: ParamSpec): Schema {
  const bounds = { ...(p.min !== undefined ? { minimum: p.min } : {}), ...(p.max !== undefined ? { maximum: p.max } : {}) };
  const description = `${p.doc}${p.unit === '' ? '' : ` (${p.unit})`}`;
  switch (p.type) {
    case 'int':
      return { type: 'integer', ...bounds, default: p.default, description };
    case 'number':
      return { type: 'number', ...bounds, default: p.default, description };
    case 'bool':
      return { type: 'boolean', default: p.default, description };
    case 'enum':
      return { enum: p.values ?? [], default: p.default, description };
    case 'int-list':
      return { type: 'array', minItems: 1, items: { type: 'integer', ...bounds }, default: p.default, description };
    case 'enum-list':
      return { type: 'array', minItems: 1, uniqueItems: true, items: { enum: p.values ?? [] }, default: p.default, description };
  }
}

export function scenarioFileSchema(scenarios: readonly Scenario[]): Schema {
  const costs = decstationCostTable().rows();
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'ulp-emu scenario file',
    description: 'A built-in scenario with its parameters, cost overrides and seed(s): ulp run FILE.json, ulp sweep FILE.json (docs/workbench.md).',
    type: 'object',
    required: ['scenario'],
    additionalProperties: false,
    properties: {
      $schema: { type: 'string' },
      description: { type: 'string', description: 'what the study asks (free text)' },
      scenario: { enum: scenarios.map((s) => s.name), description: 'a built-in scenario (ulp scenarios)' },
      params: { type: 'object', description: 'parameter: value (ulp params NAME)' },
      costs: {
        type: 'object',
        description: 'cost-table overrides (ulp costs); ulp checks each against its bounds',
        additionalProperties: false,
        properties: Object.fromEntries(costs.map((c) => [c.name, { type: 'number', default: c.value, description: `${c.what} (${c.unit})` }])),
      },
      seed: { type: 'integer', description: 'one run on this seed' },
      seeds: {
        description: 'replications: a count N (seeds 1..N) or the seeds',
        oneOf: [
          { type: 'integer', minimum: 1, maximum: 1000 },
          { type: 'array', minItems: 1, maxItems: 1000, uniqueItems: true, items: { type: 'integer' } },
        ],
      },
    },
    not: { required: ['seed', 'seeds'] },
    allOf: scenarios.map((s) => ({
      if: { properties: { scenario: { const: s.name } }, required: ['scenario'] },
      then: { properties: { params: { type: 'object', additionalProperties: false, properties: Object.fromEntries((s.params ?? []).map((p) => [p.name, paramSchema(p)])) } } },
    })),
  };
}
