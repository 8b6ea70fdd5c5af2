/**
 * Simulated time: integer nanoseconds since the start of the run (a branded number; exact up to
 * 2^53 ns ≈ 104 days). Every conversion between clock domains lives in this file, so a unit
 * mistake has one place to hide (gem5's Clocked::cyclesToTicks).
 */
import { EmulatorBug } from './assert.ts';

export type Ns = number & { readonly __unit: 'ns' };

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

export function ns(value: number): Ns {
  if (!Number.isSafeInteger(value) || value < 0) throw new EmulatorBug(`not a time in ns: ${value}`);
  return value as Ns;
}
export const usToNs = (us: number): Ns => ns(Math.round(us * NS_PER_US));
export const msToNs = (ms: number): Ns => ns(Math.round(ms * NS_PER_MS));
export const nsToUs = (t: number): number => t / NS_PER_US;
export const nsToMs = (t: number): number => t / NS_PER_MS;
export const nsToS = (t: number): number => t / NS_PER_S;

/** A clock domain: something that counts cycles of a fixed integer period. */
export interface ClockDomain {
  readonly name: string;
  readonly periodNs: number;
}

/** R3000 at 25 MHz on the KN02 (DECstation 5000/200): 40 ns a cycle (hw/lance-pmad-aa.md §6.4). */
export const R3000_25MHZ: ClockDomain = { name: 'r3000', periodNs: 40 };
/** The AN1 controller's real-time clock ticks every 40 ns (paper §4; hw/an1-autonet.md §8.2). */
export const AN1_CLOCK_40NS: ClockDomain = { name: 'an1-clock', periodNs: 40 };

export function cyclesToNs(domain: ClockDomain, cycles: number): Ns {
  return (cycles * domain.periodNs) as Ns;
}
/** Whole cycles elapsed by time t (floor). */
export function nsToCycles(domain: ClockDomain, t: number): number {
  return Math.floor(t / domain.periodNs);
}

/** Serial link bit times: 10 Mb/s Ethernet = 100 ns/bit, 100 Mb/s AN1 = 10 ns/bit. */
export function bitTimeNs(megabitsPerSecond: number): number {
  const t = 1_000 / megabitsPerSecond;
  if (!Number.isInteger(t)) throw new EmulatorBug(`bit time of ${megabitsPerSecond} Mb/s is not whole ns`);
  return t;
}
export function bytesOnWireNs(bytes: number, megabitsPerSecond: number): Ns {
  return (bytes * 8 * bitTimeNs(megabitsPerSecond)) as Ns;
}
/** Throughput in Mb/s from bytes moved in a simulated interval. */
export function mbps(bytes: number, intervalNs: number): number {
  return intervalNs > 0 ? (bytes * 8 * 1_000) / intervalNs : 0;
}
