/**
 * The campaign's invariant book-keeping: a scenario counts every invariant it checks and keeps
 * the ones that failed (as one-line descriptions). Messages are built only on failure.
 */
export class Checks {
  /** Invariants checked, by name (the summary's counts). */
  readonly byName = new Map<string, number>();
  count = 0;
  readonly violations: string[] = [];
  /** What a scenario reached, by name (not invariants: the property tests' coverage checks). */
  readonly tallies = new Map<string, number>();

  /** Check one invariant `name`; `what` describes a failure (called only when `ok` is false). */
  check(name: string, ok: boolean, what?: () => string): boolean {
    this.count++;
    this.byName.set(name, (this.byName.get(name) ?? 0) + 1);
    if (!ok) this.violations.push(`${name}: ${what === undefined ? 'violated' : what()}`);
    return ok;
  }

  /** Count one occurrence of `name` (e.g. which side of an oracle a generated call reached). */
  tally(name: string): void {
    this.tallies.set(name, (this.tallies.get(name) ?? 0) + 1);
  }

  /** `a` must equal `b` (numbers or strings). */
  equal(name: string, a: number | string | boolean, b: number | string | boolean, label = ''): boolean {
    return this.check(name, a === b, () => `${label}${label === '' ? '' : ': '}got ${String(a)}, expected ${String(b)}`);
  }
}


/** Main memory of the campaign's hosts: 8 MB, the DECstation 5000/200's smallest configuration (see WorldOptions.ramBytes). */
export const CAMPAIGN_RAM_BYTES = 8 * 1024 * 1024;
