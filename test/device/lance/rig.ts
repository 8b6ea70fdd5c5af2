/**
 * Test rig for black-box LANCE tests: one DECstation with a PMAD-AA in slot 0 on a segment, plus a
 * bare "peer" station the test drives directly (it sends frames with a correct FCS and records
 * what reaches it). Tests touch the PMAD-AA only through the physical bus and step simulated time
 * themselves; register constants live in the test files, not here.
 */
import { crc32, writeFcs } from '../../../emulator/bits/crc32.ts';
import { PmadAa } from '../../../emulator/devices/lance/pmad-aa.ts';
import { EthernetSegment, type EthernetMac, type EthernetPort, type PortOptions, type TransmitOutcome } from '../../../emulator/net/ethernet-segment.ts';
import type { FaultConfig } from '../../../emulator/net/faults.ts';
import { World } from '../../../studies/world.ts';

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

export class PeerStation implements EthernetMac {
  readonly frames: Uint8Array[] = [];
  readonly outcomes: TransmitOutcome[] = [];
  port!: EthernetPort;
  frameArrived(frame: Uint8Array): void {
    this.frames.push(frame.slice());
  }
  transmitDone(outcome: TransmitOutcome): void {
    this.outcomes.push(outcome);
  }
  /** Send DA..data; the FCS is appended here (correct unless `badFcs`). */
  send(data: Uint8Array, badFcs = false): void {
    const f = new Uint8Array(data.length + 4);
    f.set(data);
    writeFcs(f, data.length, crc32(data) ^ (badFcs ? 1 : 0));
    this.port.transmit({ frame: f, attemptsMax: 16 });
  }
}

export function makeRig(options: RigOptions = {}) {
  const world = new World({ seed: options.seed ?? 1 });
  const host = world.addHost('dut');
  const segment = new EthernetSegment(world, {
    name: 'ether0',
    ...(options.propagationNs !== undefined ? { propagationNs: options.propagationNs } : {}),
    ...(options.faults !== undefined ? { faults: options.faults } : {}),
  });
  const board = new PmadAa({ name: 'dut', sched: world.sched, trace: world.trace, costs: world.costs, mac: DUT_MAC });
  board.attachInterrupt(host.installOption(SLOT, board));
  board.connect(segment, 'dut', options.dutPort ?? {});
  const peer = new PeerStation();
  peer.port = segment.attach('peer', peer);
  const bus = host.bus;
  const base = host.slotBase(SLOT);
  // Enable the slot's interrupt in the KN02 system CSR so its pending bit is meaningful.
  bus.write32(KN02_CSR, 1 << (16 + SLOT));
  return {
    world,
    host,
    bus,
    base,
    segment,
    peer,
    sched: world.sched,
    /** Step simulated time by exactly `ns`. */
    step(ns: number): void {
      world.sched.runFor(ns);
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
      return world.trace.guestErrorsTotal;
    },
    guestErrorText(): string {
      return world.trace.guestErrors.map((r) => r.text).join('\n');
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
