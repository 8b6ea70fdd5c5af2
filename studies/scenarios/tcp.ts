/**
 * `tcp-throughput`, `tcp-round-trip`, `tcp-setup`: the benchmarks of the paper's Tables 2–4 with
 * the organization as a parameter (library, Ultrix-like in-kernel, Mach/UX-like single server), so
 * one sweep can cross organizations, links, sizes and costs: `ulp sweep tcp-throughput --param
 * organization=library,ultrix --param writeSizes=512,4096`. Same programs, same measurements and
 * the same parameters as the paper-table{2,3,4}-* scenarios; no comparison with the paper (they
 * are studies, not its cells).
 */
import { paramReader, faultsOf, type ParamSpec, type ParamValues } from './params.ts';
import { runTtcp, TABLE2_PARAMS, table2Results } from './paper-table2-library.ts';
import { runKernelTtcp } from './paper-table2-ultrix.ts';
import { runUxTtcp } from './paper-table2-mach-ux.ts';
import { runPing, TABLE3_PARAMS, table3Results } from './paper-table3-library.ts';
import { runKernelPing } from './paper-table3-ultrix.ts';
import { runUxPing } from './paper-table3-mach-ux.ts';
import { runSetup, TABLE4_PARAMS, type SetupOptions } from './paper-table4-library.ts';
import { runKernelSetup } from './paper-table4-ultrix.ts';
import { runUxSetup } from './paper-table4-mach-ux.ts';
import type { LinkName } from './library-hosts.ts';
import type { Results, Scenario } from './types.ts';

const ORGANIZATION: ParamSpec = {
  name: 'organization',
  type: 'enum',
  default: 'library',
  values: ['library', 'ultrix', 'mach-ux'],
  unit: '',
  doc: 'where TCP runs: library (linked into the application, the paper\'s), ultrix (in the kernel), mach-ux (one trusted server; Ethernet only)',
};

/** The single server drives the LANCE only. */
function uxOnEthernet(v: ParamValues): string | undefined {
  return v['organization'] === 'mach-ux' && (v['links'] as readonly string[]).includes('an1') ? 'organization mach-ux runs on Ethernet only (--param links=ethernet)' : undefined;
}

const THROUGHPUT_PARAMS: readonly ParamSpec[] = [ORGANIZATION, ...TABLE2_PARAMS];
const ROUND_TRIP_PARAMS: readonly ParamSpec[] = [ORGANIZATION, ...TABLE3_PARAMS];
const SETUP_PARAMS: readonly ParamSpec[] = [ORGANIZATION, ...TABLE4_PARAMS];

export const tcpThroughputScenario: Scenario = {
  name: 'tcp-throughput',
  summary: 'Table 2\'s ttcp benchmark with the organization as a parameter: TCP throughput by write size (Mb/s)',
  params: THROUGHPUT_PARAMS,
  checkParams: uxOnEthernet,
  run(world, options) {
    const p = paramReader(THROUGHPUT_PARAMS, options.params);
    const org = p.str('organization');
    return table2Results(p, org, (link, ws, bytes, faults) => {
      const prefix = `${org}-${link}-${ws}`;
      if (org === 'library') return runTtcp(world, link, ws, bytes, prefix, faults);
      if (org === 'ultrix') return runKernelTtcp(world, link, ws, bytes, prefix, faults);
      return runUxTtcp(world, ws, bytes, prefix, faults);
    });
  },
};

export const tcpRoundTripScenario: Scenario = {
  name: 'tcp-round-trip',
  summary: 'Table 3\'s ping-pong benchmark with the organization as a parameter: round-trip time by message size (ms)',
  params: ROUND_TRIP_PARAMS,
  checkParams: uxOnEthernet,
  run(world, options) {
    const p = paramReader(ROUND_TRIP_PARAMS, options.params);
    const org = p.str('organization');
    return table3Results(p, org, (link, size, o) => {
      const prefix = `${org}-${link}-${size}`;
      if (org === 'library') return runPing(world, link, size, prefix, o);
      if (org === 'ultrix') return runKernelPing(world, link, size, prefix, o);
      return runUxPing(world, size, prefix, o);
    });
  },
};

export const tcpSetupScenario: Scenario = {
  name: 'tcp-setup',
  summary: 'Table 4\'s connection set-up benchmark with the organization as a parameter (ms)',
  params: SETUP_PARAMS,
  checkParams: uxOnEthernet,
  run(world, options) {
    const p = paramReader(SETUP_PARAMS, options.params);
    const org = p.str('organization');
    const faults = faultsOf(p);
    const o: SetupOptions = { opens: p.num('opens'), ...(faults !== undefined ? { faults } : {}) };
    const out: Record<string, Results> = {};
    for (const link of p.strs('links') as readonly LinkName[]) {
      const prefix = `${org}-setup-${link}`;
      const ms =
        org === 'library' ? Math.round(runSetup(world, link, prefix, undefined, o)['totalUs']!) / 1000
        : org === 'ultrix' ? runKernelSetup(world, link, prefix, o)
        : Math.round(runUxSetup(world, prefix, o)) / 1000;
      out[link] = { [org]: ms };
    }
    return out satisfies Results;
  },
};
