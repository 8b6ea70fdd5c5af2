/**
 * Assertions for emulator invariants. A failed assertion is an emulator bug, never a guest's
 * fault: guest misuse is reported through device error bits, kernel error codes or a recorded
 * task exit, and never reaches these functions.
 */
export class EmulatorBug extends Error {
  override readonly name = 'EmulatorBug';
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new EmulatorBug(message);
}

export function assertNever(value: never, what = 'value'): never {
  throw new EmulatorBug(`unexpected ${what}: ${String(value)}`);
}

export function assertU32(value: number, what: string): void {
  if (!(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff)) {
    throw new EmulatorBug(`${what} is not a u32: ${value}`);
  }
}

/**
 * Throw an EmulatorBug: the failing branch of a check whose message is costly to build, written
 * `if (!cond) bug(`…${x}`)` so the message is built only when the check fails (hot paths).
 */
export function bug(message: string): never {
  throw new EmulatorBug(message);
}
