/** The built-in scenarios, by name. */
import { helloScenario } from './hello.ts';
import { rawEthernetScenario } from './raw-ethernet.ts';
import { rawAn1Scenario } from './raw-an1.ts';
import { kernelPrimitivesScenario } from './kernel-primitives.ts';
import { mb93PrimitivesScenario } from './mb93-primitives.ts';
import { mb93LayersScenario } from './mb93-layers.ts';
import { paperTable1Scenario } from './paper-table1.ts';
import { paperTable5Scenario } from './paper-table5.ts';
import { paperTable2LibraryScenario } from './paper-table2-library.ts';
import { paperTable3LibraryScenario } from './paper-table3-library.ts';
import { paperTable4LibraryScenario } from './paper-table4-library.ts';
import { paperTable2UltrixScenario } from './paper-table2-ultrix.ts';
import { paperTable3UltrixScenario } from './paper-table3-ultrix.ts';
import { paperTable4UltrixScenario } from './paper-table4-ultrix.ts';
import { uxPrimitivesScenario } from './ux-primitives.ts';
import { paperTable2MachUxScenario } from './paper-table2-mach-ux.ts';
import { paperTable3MachUxScenario } from './paper-table3-mach-ux.ts';
import { paperTable4MachUxScenario } from './paper-table4-mach-ux.ts';
import { tcpRoundTripScenario, tcpSetupScenario, tcpThroughputScenario } from './tcp.ts';
import { udpRoundTripScenario } from './udp.ts';
import { rerouteScenario } from './reroute.ts';
import type { Scenario } from './types.ts';

export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map([helloScenario, rawEthernetScenario, rawAn1Scenario, kernelPrimitivesScenario, mb93PrimitivesScenario, mb93LayersScenario, paperTable1Scenario, paperTable5Scenario, paperTable2LibraryScenario, paperTable3LibraryScenario, paperTable4LibraryScenario, paperTable2UltrixScenario, paperTable3UltrixScenario, paperTable4UltrixScenario, uxPrimitivesScenario, paperTable2MachUxScenario, paperTable3MachUxScenario, paperTable4MachUxScenario, tcpThroughputScenario, tcpRoundTripScenario, tcpSetupScenario, udpRoundTripScenario, rerouteScenario].map((s) => [s.name, s]));
