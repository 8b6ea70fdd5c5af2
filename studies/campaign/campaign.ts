/**
 * `ulp fuzz`: a campaign of generated adversarial scenarios (issue 13 item 6). Scenario `index`
 * of a campaign with seed `seed` runs family `families[index % families.length]` on the random
 * stream derived from (family, seed, index) alone (draw.ts), so any one of them can be replayed
 * by itself: `ulp fuzz --replay FAMILY:SEED:INDEX`.
 *
 * A scenario returns the invariants it checked (counts by name) and the ones violated; an
 * exception out of the emulator is a violation too (a guest must never crash it).
 */
import { Checks } from './check.ts';
import { deviceScenario } from './device.ts';
import { Draw } from './draw.ts';
import { netioScenario } from './netio.ts';
import { syscallScenario } from './syscall.ts';
import { registryScenario } from './registry.ts';
import { killScenario } from './kill.ts';

export interface Family {
  readonly name: string;
  readonly what: string;
  run(d: Draw, c: Checks): void;
}

export const FAMILIES: readonly Family[] = [
  { name: 'syscall', what: 'random traps of the whole system-call table with forged arguments from adversarial tasks', run: syscallScenario },
  { name: 'registry', what: 'forged and malformed registry requests: reply codes, quotas, nothing left behind', run: registryScenario },
  { name: 'netio', what: 'the network I/O module: impersonation, isolation and accounting under generated adversarial tasks', run: netioScenario },
  { name: 'kill', what: 'a client or server killed at a random time during set-up, transfer or close: nothing leaks', run: killScenario },
  { name: 'device', what: 'random driver-register sequences against the LANCE and AN1 models', run: deviceScenario },
];

export const FAMILY_NAMES: readonly string[] = FAMILIES.map((f) => f.name);

export function familyOf(name: string): Family | undefined {
  return FAMILIES.find((f) => f.name === name);
}

export interface ScenarioResult {
  readonly family: string;
  readonly seed: number;
  readonly index: number;
  readonly checks: number;
  readonly byName: Readonly<Record<string, number>>;
  readonly violations: readonly string[];
  /** Wall time of the scenario, ms. */
  readonly ms: number;
}

/** Run one scenario. */
export function runScenario(family: Family, seed: number, index: number): ScenarioResult {
  const c = new Checks();
  const t0 = performance.now();
  try {
    family.run(Draw.forScenario(family.name, seed, index), c);
  } catch (e) {
    c.check('no-crash', false, () => `the emulator threw: ${e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e)}`);
  }
  if (c.violations.length === 0) c.check('no-crash', true);
  return { family: family.name, seed, index, checks: c.count, byName: Object.fromEntries(c.byName), violations: c.violations, ms: performance.now() - t0 };
}

/** The one-line command that replays a scenario. */
export function replayCommand(r: { family: string; seed: number; index: number }): string {
  return `ulp fuzz --replay ${r.family}:${r.seed}:${r.index}`;
}
