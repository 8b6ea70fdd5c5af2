/**
 * Shared small types for the sans-I/O inet engine.
 * Nothing here reads a clock or does I/O; every module in userland/inet imports only siblings.
 */

/** Result of parsing untrusted bytes: parse functions never throw. */
export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
export const err = <T>(error: string): ParseResult<T> => ({ ok: false, error });

export function assertNever(x: never): never {
  throw new Error(`unreachable: ${String(x)}`);
}

/** Only engine bugs throw; guest input never does. */
export function invariant(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new Error(`inet invariant: ${msg}`);
}

/** The failing branch of an invariant whose message is costly to build: `if (!cond) invariantFailed(`…`)`. */
export function invariantFailed(msg: string): never {
  throw new Error(`inet invariant: ${msg}`);
}

/** Simulated time: integer nanoseconds on the run's single clock. */
export type Ns = number;

/** Injected randomness (the emulator's seeded PRNG stream satisfies it). */
export interface RandomSource {
  /** A uniformly distributed integer in [0, 2^32). */
  nextU32(): number;
}

/** IPv4 address as an unsigned 32-bit integer, network order (10.9.0.1 = 0x0a090001). */
export type Ipv4Addr = number;
/** 48-bit MAC address as an integer in [0, 2^48); exact in a double. */
export type MacAddr = number;

export const MAC_BROADCAST: MacAddr = 0xffff_ffff_ffff;

export function readU16(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}
export function readU32(b: Uint8Array, off: number): number {
  return (((b[off] ?? 0) << 24) | ((b[off + 1] ?? 0) << 16) | ((b[off + 2] ?? 0) << 8) | (b[off + 3] ?? 0)) >>> 0;
}
export function writeU16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}
export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}
export function readMac(b: Uint8Array, off: number): MacAddr {
  return readU16(b, off) * 0x1_0000_0000 + readU32(b, off + 2);
}
export function writeMac(b: Uint8Array, off: number, m: MacAddr): void {
  writeU16(b, off, Math.floor(m / 0x1_0000_0000) & 0xffff);
  writeU32(b, off + 2, m % 0x1_0000_0000);
}

export function ipv4ToString(a: Ipv4Addr): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}
/** Parses dotted-quad text (configuration only, not packet input). Returns null when malformed. */
export function ipv4FromString(s: string): Ipv4Addr | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v >>> 0;
}
export function macToString(m: MacAddr): string {
  const out: string[] = [];
  for (let i = 5; i >= 0; i--) out.push((Math.floor(m / 2 ** (8 * i)) & 0xff).toString(16).padStart(2, '0'));
  return out.join(':');
}
export function macFromString(s: string): MacAddr | null {
  const parts = s.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return null;
  return parts.reduce((acc, p) => acc * 256 + parseInt(p, 16), 0);
}
