/**
 * Generated adversaries against the whole system-call table (xv6 usertests' "ridiculous
 * arguments", generated): tasks run random sequences of every trap the ABI declares — core Mach
 * calls, the network I/O module's, the monolithic kernel's socket calls — with adversarial
 * arguments of the right kinds (names that exist and names that do not, 0, 2^32 − 1, huge sizes,
 * random messages with random rights and out-of-line regions, threads that do the same), plus
 * requests that are not traps at all. On the library organization (registry, network I/O module)
 * and the monolithic one (in-kernel TCP), with a peer and traffic around. The scenario, its
 * generator and its invariants are the campaign's family `syscall` (studies/campaign/syscall.ts);
 * fast-check makes its choices (1–3 adversaries of 5–40 traps, 200 ms) and shrinks them.
 *
 * Properties: the emulator never throws; every answered trap gets a kern_return the ABI defines;
 * the adversaries end (by their own doing or killed) and every resource they could have taken
 * comes back — physical frames, ports, queued messages — once TIME-WAIT has passed; the registry
 * keeps running.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { syscallScenario, type SyscallOrg } from '../../../studies/campaign/syscall.ts';
import { fcDraw, fcRuns, runChecked } from '../../system/campaign/fc-draw.ts';

/** Which calls succeeded at least once over all runs (the generator must reach past the argument checks). */
const succeeded = new Set<string>();

const property = (orgs: readonly SyscallOrg[]): void =>
  fc.assert(
    fc.property(fc.gen(), (g) => {
      const c = runChecked((c) => syscallScenario(fcDraw(g), c, { orgs, adversaries: [1, 3], traps: [5, 40], runNs: 200_000_000 }));
      for (const name of c.tallies.keys()) if (name.startsWith('syscall.ok.')) succeeded.add(name.slice('syscall.ok.'.length));
    }),
    { numRuns: Math.max(10, Math.floor(fcRuns() / 4)) },
  );

describe('generated adversaries against every system call', () => {
  it('the library organization (registry, network I/O module) on Ethernet: no throw, nothing leaks', () => {
    property(['library']);
  });

  it('the monolithic organization (in-kernel TCP) on Ethernet and AN1: no throw, nothing leaks', () => {
    property(['kernel-ethernet', 'kernel-an1']);
  });

  it('reached past the argument checks: many different calls succeeded', () => {
    // Runs after the two properties above (vitest runs a file's tests in order).
    expect(succeeded.size).toBeGreaterThanOrEqual(15);
  });
});
