/**
 * Scenario parameters as data: each built-in scenario declares what a study may vary (write
 * sizes, byte counts, rounds, frame counts, links, fault rates, hosts) with its type, default,
 * allowed range, unit and a one-line description. `ulp run X --param name=value`, scenario files
 * and `ulp sweep` all go through `parseParamText` / `checkParamJson` and `resolveParams`, so a bad
 * name or value is one line (ParamError → exit 2) before any simulation. A scenario reads its
 * values with `paramReader`, which knows the declared defaults, so no default is written twice.
 */

export type ParamType = 'int' | 'number' | 'bool' | 'enum' | 'int-list' | 'enum-list';
export type ParamValue = number | boolean | string | readonly number[] | readonly string[];
export type ParamValues = { readonly [name: string]: ParamValue };

export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  readonly default: ParamValue;
  /** Bounds of a number, or of each element of an int-list (inclusive). */
  readonly min?: number;
  readonly max?: number;
  /** The allowed words of an enum or enum-list. */
  readonly values?: readonly string[];
  readonly unit: string;
  readonly doc: string;
}

/** A bad parameter name or value: the CLI prints the message as one line and exits 2. */
export class ParamError extends Error {
  override readonly name = 'ParamError';
}

/** What the value of `spec` must be, in words (for errors and `ulp scenarios NAME`). */
function boundsText(spec: ParamSpec): string {
  return spec.min !== undefined && spec.max !== undefined ? ` ${spec.min}..${spec.max}` : spec.min !== undefined ? ` ≥ ${spec.min}` : spec.max !== undefined ? ` ≤ ${spec.max}` : '';
}

export function rangeText(spec: ParamSpec): string {
  const bounds = boundsText(spec);
  switch (spec.type) {
    case 'int':
      return `integer${bounds}`;
    case 'number':
      return `number${bounds}`;
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${(spec.values ?? []).join(', ')}`;
    case 'int-list':
      return `comma-separated integers${bounds}`;
    case 'enum-list':
      return `comma-separated, each one of ${(spec.values ?? []).join(', ')}`;
  }
}

/** A value as `--param` text: lists comma-separated. */
export function formatParam(v: ParamValue): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

function checkNumber(spec: ParamSpec, n: number, integer: boolean, shown: string, where: string): number {
  const ok = Number.isFinite(n) && (!integer || Number.isSafeInteger(n)) && (spec.min === undefined || n >= spec.min) && (spec.max === undefined || n <= spec.max);
  if (!ok) throw new ParamError(`${where} needs ${integer ? 'an integer' : 'a number'}${boundsText(spec)}, got ${shown}`);
  return n;
}

function checkWord(spec: ParamSpec, w: string, shown: string, where: string): string {
  if (!(spec.values ?? []).includes(w)) throw new ParamError(`${where} needs one of ${(spec.values ?? []).join(', ')}, got ${shown}`);
  return w;
}

const numberText = (t: string): number => (t.trim() === '' ? Number.NaN : Number(t));

/** Parse `--param name=TEXT`'s TEXT for `spec`. */
export function parseParamText(spec: ParamSpec, text: string, where = `parameter ${spec.name}`): ParamValue {
  const shown = `'${text}'`;
  switch (spec.type) {
    case 'int':
    case 'number':
      return checkNumber(spec, numberText(text), spec.type === 'int', shown, where);
    case 'bool':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw new ParamError(`${where} needs true or false, got ${shown}`);
    case 'enum':
      return checkWord(spec, text, shown, where);
    case 'int-list': {
      const items = text.split(',');
      if (text === '' || items.length === 0) throw new ParamError(`${where} needs at least one integer, got ${shown}`);
      return items.map((t) => checkNumber(spec, numberText(t), true, `'${t}' in ${shown}`, where));
    }
    case 'enum-list': {
      const items = text.split(',');
      if (text === '') throw new ParamError(`${where} needs at least one of ${(spec.values ?? []).join(', ')}, got ''`);
      const words = items.map((t) => checkWord(spec, t, `'${t}' in ${shown}`, where));
      if (new Set(words).size !== words.length) throw new ParamError(`${where} lists a value twice: ${shown}`);
      return words;
    }
  }
}

/** Check a JSON value (a scenario file's `params.name`) for `spec`; `where` names the field. */
export function checkParamJson(spec: ParamSpec, v: unknown, where: string): ParamValue {
  const shown = JSON.stringify(v) ?? String(v);
  switch (spec.type) {
    case 'int':
    case 'number':
      if (typeof v !== 'number') throw new ParamError(`${where} needs ${spec.type === 'int' ? 'an integer' : 'a number'}${boundsText(spec)}, got ${shown}`);
      return checkNumber(spec, v, spec.type === 'int', shown, where);
    case 'bool':
      if (typeof v !== 'boolean') throw new ParamError(`${where} needs true or false, got ${shown}`);
      return v;
    case 'enum':
      if (typeof v !== 'string') throw new ParamError(`${where} needs one of ${(spec.values ?? []).join(', ')}, got ${shown}`);
      return checkWord(spec, v, shown, where);
    case 'int-list':
      if (!Array.isArray(v) || v.length === 0) throw new ParamError(`${where} needs a non-empty array of integers (each${boundsText(spec) || ' any integer'}), got ${shown}`);
      return v.map((x, i) => {
        if (typeof x !== 'number') throw new ParamError(`${where}[${i}] needs an integer, got ${JSON.stringify(x)}`);
        return checkNumber(spec, x, true, JSON.stringify(x), `${where}[${i}]`);
      });
    case 'enum-list': {
      if (!Array.isArray(v) || v.length === 0) throw new ParamError(`${where} needs a non-empty array, each one of ${(spec.values ?? []).join(', ')}, got ${shown}`);
      const words = v.map((x, i) => {
        if (typeof x !== 'string') throw new ParamError(`${where}[${i}] needs one of ${(spec.values ?? []).join(', ')}, got ${JSON.stringify(x)}`);
        return checkWord(spec, x, JSON.stringify(x), `${where}[${i}]`);
      });
      if (new Set(words).size !== words.length) throw new ParamError(`${where} lists a value twice: ${shown}`);
      return words;
    }
  }
}

/** The spec named `name`, or a ParamError naming the scenario's parameters. */
export function findParam(scenario: { readonly name: string; readonly params?: readonly ParamSpec[] }, name: string, where = 'parameter'): ParamSpec {
  const specs = scenario.params ?? [];
  const spec = specs.find((s) => s.name === name);
  if (spec === undefined) {
    throw new ParamError(
      specs.length === 0
        ? `scenario ${scenario.name} has no parameters (${where} '${name}')`
        : `unknown ${where} '${name}' for scenario ${scenario.name} (known: ${specs.map((s) => s.name).join(', ')})`,
    );
  }
  return spec;
}

/** Every declared parameter with its value: the given one, else the default (declaration order). */
export function resolveParams(specs: readonly ParamSpec[] | undefined, given: ReadonlyMap<string, ParamValue> = new Map()): ParamValues {
  const out: Record<string, ParamValue> = {};
  for (const s of specs ?? []) out[s.name] = given.get(s.name) ?? s.default;
  return out;
}

const same = (a: ParamValue, b: ParamValue): boolean => formatParam(a) === formatParam(b) && Array.isArray(a) === Array.isArray(b);

/** True when every value is its declared default (the paper's configuration, for the built-ins). */
export function isDefault(specs: readonly ParamSpec[] | undefined, values: ParamValues): boolean {
  return (specs ?? []).every((s) => values[s.name] === undefined || same(values[s.name]!, s.default));
}

/** Typed reads of a scenario's resolved parameters; a name the scenario did not declare is a bug. */
export interface ParamReader {
  num(name: string): number;
  bool(name: string): boolean;
  str(name: string): string;
  nums(name: string): readonly number[];
  strs(name: string): readonly string[];
  /** Names read so far (a test checks that a scenario reads every parameter it declares). */
  readonly read: ReadonlySet<string>;
}

export function paramReader(specs: readonly ParamSpec[], values: ParamValues | undefined): ParamReader {
  const read = new Set<string>();
  const get = (name: string, type: ParamType): ParamValue => {
    const spec = specs.find((s) => s.name === name);
    if (spec === undefined || spec.type !== type) throw new Error(`scenario reads undeclared parameter ${name} (${type})`);
    read.add(name);
    return values?.[name] ?? spec.default;
  };
  return {
    num: (n) => get(n, specs.find((s) => s.name === n)?.type === 'number' ? 'number' : 'int') as number,
    bool: (n) => get(n, 'bool') as boolean,
    str: (n) => get(n, 'enum') as string,
    nums: (n) => get(n, 'int-list') as readonly number[],
    strs: (n) => get(n, 'enum-list') as readonly string[],
    read,
  };
}

// ---- Parameters several scenarios share --------------------------------------------------------

export const LINK_VALUES = ['ethernet', 'an1'] as const;

export const linksParam = (doc = 'links to measure on, in this order'): ParamSpec => ({
  name: 'links', type: 'enum-list', default: [...LINK_VALUES], values: [...LINK_VALUES], unit: '', doc,
});

/** Fault rates of a link, each the probability per frame (both directions). */
export const FAULT_PARAMS: readonly ParamSpec[] = [
  { name: 'loss', type: 'number', default: 0, min: 0, max: 0.5, unit: 'probability', doc: 'probability a frame vanishes on the wire' },
  { name: 'corrupt', type: 'number', default: 0, min: 0, max: 0.5, unit: 'probability', doc: 'probability one bit of a frame is flipped (the receiver\'s CRC check drops it)' },
  { name: 'duplicate', type: 'number', default: 0, min: 0, max: 0.5, unit: 'probability', doc: 'probability a frame is delivered twice' },
  { name: 'reorder', type: 'number', default: 0, min: 0, max: 0.5, unit: 'probability', doc: 'probability a frame is held back up to 1 ms, letting later ones pass' },
];

/** The link faults the fault parameters ask for, or undefined when all are 0 (no injector at all). */
export function faultsOf(p: ParamReader): { loss?: number; corrupt?: number; duplicate?: number; reorder?: number; reorderDelayNsMax?: number } | undefined {
  const loss = p.num('loss');
  const corrupt = p.num('corrupt');
  const duplicate = p.num('duplicate');
  const reorder = p.num('reorder');
  if (loss === 0 && corrupt === 0 && duplicate === 0 && reorder === 0) return undefined;
  return { loss, corrupt, duplicate, reorder, ...(reorder > 0 ? { reorderDelayNsMax: 1_000_000 } : {}) };
}
