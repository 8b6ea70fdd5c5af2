/**
 * Put the register access log in front of the devices of any host (a scenario's, not only the
 * kit's): `tapHostOptions(host, log)` makes every option installed afterwards go through a
 * `LoggedTarget` named by its device's datasheet names. Observers only: a LoggedTarget forwards
 * every access unchanged, so a run with the tap writes the same fingerprint as one without
 * (test/device/devkit/trace-registers.test.ts).
 */
import type { BusTarget } from '../bus/index.ts';
import { An1Controller } from '../devices/an1/controller.ts';
import { PmadAa } from '../devices/lance/pmad-aa.ts';
import type { DecStation5000 } from '../host/decstation.ts';
import { AccessLog, LoggedTarget } from './access-log.ts';
import { an1Namer } from './an1-kit.ts';
import { lanceNamer } from './lance-kit.ts';

/** `target` behind a logging tap when it is a device the kit can name (PMAD-AA, AN1); else itself. */
export function loggedOption(target: BusTarget, log: AccessLog): BusTarget {
  let device = target;
  while (device instanceof LoggedTarget) device = device.inner; // taps stack (a timeline and a text log)
  if (device instanceof PmadAa) return new LoggedTarget(target, device.chip.name, lanceNamer(device), log);
  if (device instanceof An1Controller) return new LoggedTarget(target, device.name, an1Namer(), log);
  return target;
}

/** Log the register accesses of every option installed on `host` from now on. */
export function tapHostOptions(host: DecStation5000, log: AccessLog): void {
  const install = host.installOption.bind(host);
  host.installOption = (slot, target) => install(slot, loggedOption(target, log));
}
