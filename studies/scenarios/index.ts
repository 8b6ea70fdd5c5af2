/** The built-in scenarios, by name. */
import { helloScenario } from './hello.ts';
import type { Scenario } from './types.ts';

export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map([helloScenario].map((s) => [s.name, s]));
