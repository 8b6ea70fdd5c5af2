/**
 * Test rig for black-box LANCE tests, built on the devkit (emulator/devkit, docs/devkit.md): one
 * DECstation with a PMAD-AA in slot 0 on a segment, plus the devkit's peer station (it queues,
 * appends the FCS, and keeps good frames in `frames`, everything in `arrivals`). Tests touch the
 * PMAD-AA only through the physical bus and step simulated time themselves; register constants
 * live in the test files (layout.ts), not here.
 */
import { createDevkit, type Devkit } from '../../../emulator/devkit/index.ts';
import type { PortOptions } from '../../../emulator/net/ethernet-segment.ts';
import type { FaultConfig } from '../../../emulator/net/faults.ts';

export const SLOT = 0;
export const KN02_CSR = 0x1ff0_0000;
export const DUT_MAC = new Uint8Array([0x08, 0x00, 0x2b, 0x12, 0x34, 0x56]);
export const PEER_MAC = new Uint8Array([0x08, 0x00, 0x2b, 0xaa, 0xbb, 0xcc]);

export interface RigOptions {
  readonly seed?: number;
  readonly propagationNs?: number;
  readonly dutPort?: PortOptions;
  readonly faults?: FaultConfig;
}

export function makeRig(options: RigOptions = {}) {
  const kit: Devkit = createDevkit({
    seed: options.seed ?? 1,
    trace: true,
    lance: {
      slot: SLOT,
      mac: DUT_MAC,
      ...(options.propagationNs !== undefined ? { propagationNs: options.propagationNs } : {}),
      ...(options.faults !== undefined ? { faults: options.faults } : {}),
      ...(options.dutPort !== undefined ? { port: options.dutPort } : {}),
    },
  });
  const bus = kit.bus;
  const base = kit.lance.base;
  return {
    kit,
    host: kit.host,
    bus,
    base,
    segment: kit.segment!,
    peer: kit.ethernetPeer,
    sched: kit.sched,
    /** Step simulated time by exactly `ns`. */
    step(ns: number): void {
      kit.runFor(ns);
    },
    rap(n: number): void {
      bus.write16(base + 0x100004, n);
    },
    readRap(): number {
      return bus.read16(base + 0x100004);
    },
    rdp(): number {
      return bus.read16(base + 0x100000);
    },
    wrdp(v: number): void {
      bus.write16(base + 0x100000, v);
    },
    csr(n: number): number {
      bus.write16(base + 0x100004, n);
      return bus.read16(base + 0x100000);
    },
    wcsr(n: number, v: number): void {
      bus.write16(base + 0x100004, n);
      bus.write16(base + 0x100000, v);
    },
    /** SRAM at LANCE address a. */
    w16(a: number, v: number): void {
      bus.write16(base + a, v);
    },
    r16(a: number): number {
      return bus.read16(base + a);
    },
    wbytes(a: number, src: Uint8Array): void {
      bus.writeBlock(base + a, src);
    },
    rbytes(a: number, n: number): Uint8Array {
      const d = new Uint8Array(n);
      bus.readBlock(base + a, d);
      return d;
    },
    /** The slot's pending bit in the KN02 system CSR (the LANCE's /INTR as the CPU sees it). */
    irqPending(): boolean {
      return (bus.read32(KN02_CSR) & (1 << SLOT)) !== 0;
    },
    guestErrors(): number {
      return kit.guestErrorCount;
    },
    guestErrorText(): string {
      return kit.guestErrorText();
    },
  };
}
export type Rig = ReturnType<typeof makeRig>;

/** A frame DA..data of `length` bytes with a recognisable payload. */
export function testFrame(dst: Uint8Array, src: Uint8Array, length: number, tag = 0): Uint8Array {
  if (length < 14) return testFrame(dst, src, 14, tag).slice(0, length);
  const f = new Uint8Array(length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  for (let i = 14; i < length; i++) f[i] = (i * 7 + tag) & 0xff;
  return f;
}
