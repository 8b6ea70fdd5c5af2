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
import { APPS } from './topology/apps.ts';
import { appParamSpecs, APPS_MAX, HOSTS_MAX, IP_PATTERN, LINK_COSTS, LINK_KINDS, MAC_PATTERN, NAME_PATTERN, ORGANIZATIONS, REPORT_SECTIONS, TIME_MS_DEFAULT, TIME_MS_MAX } from './topology/model.ts';
import { FAULT_PARAMS } from './scenarios/params.ts';

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

/** The topology form's fields: hosts, links, apps (from the catalogue, each with its parameters), limits, report. */
function topologyProperties(costProps: Schema): Schema {
  const name = (what: string): Schema => ({ type: 'string', pattern: NAME_PATTERN, description: `the ${what}'s name (hosts, links and apps need distinct names)` });
  const faults = Object.fromEntries(FAULT_PARAMS.map((p) => [p.name, paramSchema(p)]));
  return {
    links: {
      type: 'array',
      minItems: 1,
      maxItems: HOSTS_MAX,
      description: 'the networks: Ethernet segments (any number of stations, 2..32) and AN1 point-to-point links (two hosts of one organization)',
      items: {
        type: 'object',
        required: ['name', 'kind'],
        additionalProperties: false,
        properties: {
          name: name('link'),
          kind: { enum: [...LINK_KINDS], description: 'ethernet: a 10 Mb/s CSMA/CD segment (LANCE); an1: a 100 Mb/s point-to-point AN1 link (BQI firmware)' },
          faults: { type: 'object', additionalProperties: false, properties: faults, description: 'fault rates per frame, in every direction (emulator/net/faults.ts)' },
        },
      },
    },
    hosts: {
      type: 'array',
      minItems: 1,
      maxItems: HOSTS_MAX,
      description: 'DECstation 5000/200s, each on one link (no IP forwarding: one interface each)',
      items: {
        type: 'object',
        required: ['name', 'organization', 'link'],
        additionalProperties: false,
        properties: {
          name: name('host'),
          organization: { enum: [...ORGANIZATIONS], description: "where TCP runs: library (linked into the application, the paper's), ultrix (in the monolithic kernel), mach-ux (one trusted server; Ethernet only)" },
          link: { type: 'string', description: 'the link the host attaches to (a name in links)' },
          ip: { type: 'string', pattern: IP_PATTERN, description: "IPv4 address in the link's /24 (default: the next free one, 10.1.N.1... for the N-th link)" },
          mac: { type: 'string', pattern: MAC_PATTERN, description: 'unicast MAC address (default 08:00:2b:01:00:01, ... in host order)' },
          costs: {
            type: 'object',
            additionalProperties: false,
            properties: Object.fromEntries(Object.entries(costProps).filter(([k]) => !LINK_COSTS.includes(k))),
            description: "this host's cost-table overrides, on top of the top-level costs (not the AN1 link's own constants)",
          },
        },
      },
    },
    apps: {
      type: 'array',
      minItems: 1,
      maxItems: APPS_MAX,
      description: 'programs from the app catalogue, started in this order after the hosts are up',
      items: {
        type: 'object',
        required: ['name', 'app', 'host'],
        additionalProperties: false,
        properties: {
          name: name('app'),
          app: { enum: [...APPS.keys()], description: [...APPS.values()].map((a) => `${a.name}: ${a.summary}`).join('; ') },
          host: { type: 'string', description: 'the host it runs on (a name in hosts)' },
          params: { type: 'object', description: "the app's parameters" },
        },
        allOf: [...APPS.values()].map((a) => ({
          if: { properties: { app: { const: a.name } }, required: ['app'] },
          then: {
            properties: {
              params: {
                type: 'object',
                additionalProperties: false,
                ...(a.role === 'client' ? { required: ['peer'] } : {}),
                // A peer names a host of the file: the schema knows it is a string, ulp checks the name.
                properties: Object.fromEntries(appParamSpecs(a.name, []).map((p) => [p.name, p.name === 'peer' ? { type: 'string', description: p.doc } : paramSchema(p)])),
              },
            },
            ...(a.role === 'client' ? { required: ['params'] } : {}),
          },
        })),
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      description: 'when the run ends',
      properties: {
        timeMs: { type: 'integer', minimum: 1, maximum: TIME_MS_MAX, default: TIME_MS_DEFAULT, description: 'simulated ms the apps may run; an awaited app still running then fails the run (exit 3)' },
        until: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string' }, description: 'the apps whose end ends the run (default: every app)' },
      },
    },
    report: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: [...REPORT_SECTIONS] },
      default: [...REPORT_SECTIONS],
      description: "what the results hold: apps (each app's figures), hosts (per-host CPU), links (per-link frame counters)",
    },
  };
}

export function scenarioFileSchema(scenarios: readonly Scenario[]): Schema {
  const costs = decstationCostTable().rows();
  const costProps = Object.fromEntries(costs.map((c) => [c.name, { type: 'number', default: c.value, description: `${c.what} (${c.unit})` }]));
  const builtInOnly = ['scenario', 'params'];
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'ulp-emu scenario file',
    description: 'A built-in scenario with its parameters, cost overrides and seed(s), or a topology (hosts, links, apps): ulp run FILE.json, ulp sweep FILE.json (docs/workbench.md).',
    type: 'object',
    additionalProperties: false,
    // A built-in scenario (scenario, params) or a topology (hosts, links, apps, limits, report).
    oneOf: [
      { required: ['scenario'], not: { anyOf: ['hosts', 'links', 'apps', 'limits', 'report'].map((k) => ({ required: [k] })) } },
      { required: ['hosts', 'links', 'apps'], not: { anyOf: builtInOnly.map((k) => ({ required: [k] })) } },
    ],
    properties: {
      $schema: { type: 'string' },
      description: { type: 'string', description: 'what the study asks (free text)' },
      scenario: { enum: scenarios.map((s) => s.name), description: 'a built-in scenario (ulp scenarios)' },
      params: { type: 'object', description: 'parameter: value (ulp params NAME)' },
      costs: {
        type: 'object',
        description: 'cost-table overrides (ulp costs); ulp checks each against its bounds',
        additionalProperties: false,
        properties: costProps,
      },
      seed: { type: 'integer', description: 'one run on this seed' },
      seeds: {
        description: 'replications: a count N (seeds 1..N) or the seeds',
        oneOf: [
          { type: 'integer', minimum: 1, maximum: 1000 },
          { type: 'array', minItems: 1, maxItems: 1000, uniqueItems: true, items: { type: 'integer' } },
        ],
      },
      ...topologyProperties(costProps),
    },
    not: { required: ['seed', 'seeds'] },
    allOf: scenarios.map((s) => ({
      if: { properties: { scenario: { const: s.name } }, required: ['scenario'] },
      then: { properties: { params: { type: 'object', additionalProperties: false, properties: Object.fromEntries((s.params ?? []).map((p) => [p.name, paramSchema(p)])) } } },
    })),
  };
}
