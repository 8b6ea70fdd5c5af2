/** The built-in scenarios, by name. */
import { helloScenario } from './hello.ts';
import { rawEthernetScenario } from './raw-ethernet.ts';
import { rawAn1Scenario } from './raw-an1.ts';
import { kernelPrimitivesScenario } from './kernel-primitives.ts';
import { paperTable1Scenario } from './paper-table1.ts';
import { paperTable5Scenario } from './paper-table5.ts';
import type { Scenario } from './types.ts';

export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map([helloScenario, rawEthernetScenario, rawAn1Scenario, kernelPrimitivesScenario, paperTable1Scenario, paperTable5Scenario].map((s) => [s.name, s]));
