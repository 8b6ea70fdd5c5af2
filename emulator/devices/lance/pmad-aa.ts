/**
 * DEC PMAD-AA TURBOchannel Ethernet module (and the KN02's on-board copy in slot 6): an Am7990
 * LANCE, 128 KB of packet SRAM the LANCE reaches as its whole memory, the station-address ROM
 * (ESAR) and the TURBOchannel option ROM (../shared/hw/lance-pmad-aa.md §4).
 *
 * Slot-relative map:
 *   0x000000–0x01FFFF  SRAM; LANCE address A is host byte slot+A (contiguous, any access width)
 *   0x100000           RDP (bits 15:0 of the longword; 16-bit accesses as drivers use)
 *   0x100004           RAP (bits 15:0)
 *   0x1C0000–0x1C007F  ESAR: byte n in byte lane 2 of longword n (slot+0x1C0002+4n); a longword
 *                      read returns the byte in all four lanes (GX), so lane-0 readers work too
 *   0x1C03E0…          TURBOchannel option-ROM header, module "PMAD-AA "
 * Modelling choices where the real decode is unknown ([U] in the doc): SRAM is not aliased above
 * 128 KB and the rest of the slot is undecoded; undecoded reads return 0 and writes are dropped,
 * with a guest-error trace (the real board's behaviour there is unknown). The LANCE addresses only
 * the SRAM: a LANCE address ≥ 128 KB gets no READY, hence MERR.
 *
 * Timing: every host access is a programmed-I/O TURBOchannel transaction charged from the cost
 * table (tc.ioReadCycles / tc.ioWriteCycles per access; tc.ioReadNsPerByte / tc.ioWriteNsPerByte
 * for block copies; tc.romReadCycles for ROM). The host's SRAM accesses never stall the LANCE
 * (contention unknown, §8).
 */
import type { AccessSize, BusTarget, CostReader } from '../../bus/index.ts';
import type { InterruptLine } from '../../bus/index.ts';
import { assert, bug } from '../../sim/assert.ts';
import type { Scheduler } from '../../sim/scheduler.ts';
import { R3000_25MHZ, type Ns } from '../../sim/time.ts';
import type { Trace } from '../../sim/trace.ts';
import { buildOptionRom } from '../../host/turbochannel.ts';
import type { EthernetPort, EthernetSegment, PortOptions } from '../../net/ethernet-segment.ts';
import { Am7990, type LanceMemory } from './am7990.ts';
import { RMD1 } from './registers.ts';

export const PMAD_SRAM_BYTES = 128 * 1024;
export const PMAD_RDP = 0x100000;
export const PMAD_RAP = 0x100004;
export const PMAD_ROM_BASE = 0x1c0000;
export const PMAD_ROM_BYTES = 0x800;
export const PMAD_ESAR_BYTES = 32;
export const PMAD_MODULE_NAME = 'PMAD-AA ';

export interface PmadAaOptions {
  /** Trace source prefix, e.g. the host's name. */
  readonly name: string;
  readonly sched: Scheduler;
  readonly trace: Trace;
  readonly costs: CostReader;
  /** Station address, wire order (6 bytes, group bit clear). */
  readonly mac: Uint8Array;
}

/** The 32 ESAR bytes (hw doc §4.1): address, 2 check bytes, mirror, copy, test pattern. */
export function buildEsar(mac: Uint8Array): Uint8Array {
  assert(mac.length === 6, 'station address must be 6 bytes');
  const e = new Uint8Array(PMAD_ESAR_BYTES);
  e.set(mac, 0);
  // Bytes 6-7: DEC's checksum in the real ESAR format [U]; here copies of bytes 0-1 as GX does.
  e[6] = mac[0]!;
  e[7] = mac[1]!;
  for (let i = 0; i < 8; i++) {
    e[15 - i] = e[i]!;
    e[16 + i] = e[i]!;
  }
  e.set([0xff, 0x00, 0x55, 0xaa, 0xff, 0x00, 0x55, 0xaa], 24);
  return e;
}

export class PmadAa implements BusTarget {
  readonly name: string;
  private readonly sram = new Uint8Array(PMAD_SRAM_BYTES);
  readonly chip: Am7990;
  private readonly sramView = new DataView(this.sram.buffer);
  private readonly rom: Uint8Array;
  private readonly trace: Trace;
  private line: InterruptLine | undefined = undefined;
  private pendingIrq = false;
  private readonly readCycles: number;
  private readonly writeCycles: number;
  private readonly romCycles: number;
  private readonly readNsPerByte: number;
  private readonly writeNsPerByte: number;

  constructor(options: PmadAaOptions) {
    this.name = `${options.name}.pmad-aa`;
    this.trace = options.trace;
    const c = options.costs;
    this.readCycles = c.get('tc.ioReadCycles');
    this.writeCycles = c.get('tc.ioWriteCycles');
    this.romCycles = c.get('tc.romReadCycles');
    this.readNsPerByte = c.get('tc.ioReadNsPerByte');
    this.writeNsPerByte = c.get('tc.ioWriteNsPerByte');
    this.rom = buildOptionRom({
      module: PMAD_MODULE_NAME,
      vendor: 'DEC     ',
      firmwareRevision: 'V1.0    ',
      firmwareType: 'TCF0',
      romSize8k: 1,
      slotSize4m: 1,
    }, PMAD_ROM_BYTES);
    const esar = buildEsar(options.mac);
    for (let n = 0; n < PMAD_ESAR_BYTES; n++) for (let lane = 0; lane < 4; lane++) this.rom[4 * n + lane] = esar[n]!;
    const sram = this.sram;
    const view = this.sramView;
    const memory: LanceMemory = {
      size: PMAD_SRAM_BYTES,
      read16: (a) => view.getUint16(a, true),
      write16: (a, v) => view.setUint16(a, v, true),
      read: (a, dst) => dst.set(sram.subarray(a, a + dst.length)),
      write: (a, src) => sram.set(src, a),
      reportsHostWrites: true,
    };
    this.chip = new Am7990({
      name: `${options.name}.lance`,
      sched: options.sched,
      trace: options.trace,
      timing: {
        initNs: c.get('lance.initNs'),
        tdmdLatencyNs: c.get('lance.tdmdLatencyNs'),
        txPollPeriodNs: c.get('lance.txPollPeriodNs'),
        rxFifoBytes: c.get('lance.rxFifoBytes'),
      },
      memory,
      irq: (asserted) => this.drive(asserted),
      csr3MustBeZero: true,
    });
  }

  /** Wire the module's interrupt to the slot's line (from DecStation5000.installOption). */
  attachInterrupt(line: InterruptLine): void {
    if (!(this.line === undefined)) bug(`${this.name}: interrupt already attached`);
    this.line = line;
    line.set(this.pendingIrq);
  }

  /** Put the module's transceiver on a segment as station `stationName`. */
  connect(segment: EthernetSegment, stationName: string, options: PortOptions = {}): EthernetPort {
    const port = segment.attach(stationName, this.chip, options);
    this.chip.connect(port);
    return port;
  }

  private drive(asserted: boolean): void {
    this.pendingIrq = asserted;
    this.line?.set(asserted);
  }

  // ---- BusTarget ---------------------------------------------------------------------------

  accessCycles(offset: number, _size: AccessSize, isWrite: boolean): number {
    if (offset >= PMAD_ROM_BASE && offset < PMAD_ROM_BASE + PMAD_ROM_BYTES && !isWrite) return this.romCycles;
    return isWrite ? this.writeCycles : this.readCycles;
  }

  blockCycles(_offset: number, length: number, isWrite: boolean): number {
    const ns = length * (isWrite ? this.writeNsPerByte : this.readNsPerByte);
    return Math.ceil(ns / R3000_25MHZ.periodNs);
  }

  read(offset: number, size: AccessSize, atNs: Ns): number {
    if (offset + size <= PMAD_SRAM_BYTES) return this.sramRead(offset, size);
    if (offset >= PMAD_RDP && offset < PMAD_RDP + 4) return this.regRead(offset - PMAD_RDP, size, () => this.chip.readRdp(atNs));
    if (offset >= PMAD_RAP && offset < PMAD_RAP + 4) return this.regRead(offset - PMAD_RAP, size, () => this.chip.readRap());
    if (offset >= PMAD_ROM_BASE && offset + size <= PMAD_ROM_BASE + PMAD_ROM_BYTES) return this.romRead(offset - PMAD_ROM_BASE, size);
    this.trace.guestError(this.name, `read of undecoded offset 0x${offset.toString(16)} (${size} bytes): reads 0`, offset, size);
    return 0;
  }

  write(offset: number, size: AccessSize, value: number, atNs: Ns): void {
    if (offset + size <= PMAD_SRAM_BYTES) {
      this.chip.memoryWritten();
      const w = this.chip.rxOwnWatchAddr;
      if (offset < w + 2 && offset + size > w) {
        const before = this.sramView.getUint16(w, true);
        this.sramWrite(offset, size, value);
        this.noteRxOwn(w, before, atNs);
      } else this.sramWrite(offset, size, value);
      return;
    }
    if (offset === PMAD_RDP && size !== 1) {
      this.chip.writeRdp(value & 0xffff, atNs);
      return;
    }
    if (offset === PMAD_RAP && size !== 1) {
      this.chip.writeRap(value & 0xffff);
      return;
    }
    if ((offset >= PMAD_RDP && offset < PMAD_RDP + 4) || (offset >= PMAD_RAP && offset < PMAD_RAP + 4)) {
      this.trace.guestError(this.name, `${size}-byte write at 0x${offset.toString(16)}: LANCE ports take 16-bit writes at bits 15:0; dropped`, offset, value);
      return;
    }
    this.trace.guestError(this.name, `write to ${offset >= PMAD_ROM_BASE && offset < PMAD_ROM_BASE + 0x40000 ? 'ROM' : 'undecoded'} offset 0x${offset.toString(16)}: dropped`, offset, value);
  }

  peek(offset: number, size: AccessSize): number {
    if (offset + size <= PMAD_SRAM_BYTES) return this.sramRead(offset, size);
    if (offset >= PMAD_RDP && offset < PMAD_RDP + 4) return this.regRead(offset - PMAD_RDP, size, () => this.chip.peekRdp());
    if (offset >= PMAD_RAP && offset < PMAD_RAP + 4) return this.regRead(offset - PMAD_RAP, size, () => this.chip.readRap());
    if (offset >= PMAD_ROM_BASE && offset + size <= PMAD_ROM_BASE + PMAD_ROM_BYTES) return this.romRead(offset - PMAD_ROM_BASE, size);
    return 0;
  }

  /** Functional write: SRAM only (registers have side effects; ROM is read-only). */
  poke(offset: number, size: AccessSize, value: number): void {
    if (offset + size <= PMAD_SRAM_BYTES) {
      this.chip.memoryWritten();
      this.sramWrite(offset, size, value);
    }
  }

  readBlock(offset: number, dst: Uint8Array, atNs: Ns): void {
    if (offset + dst.length <= PMAD_SRAM_BYTES) {
      dst.set(this.sram.subarray(offset, offset + dst.length));
      return;
    }
    for (let i = 0; i < dst.length; i++) dst[i] = this.read(offset + i, 1, atNs);
  }

  writeBlock(offset: number, src: Uint8Array, atNs: Ns): void {
    if (offset + src.length <= PMAD_SRAM_BYTES) {
      this.chip.memoryWritten();
      const w = this.chip.rxOwnWatchAddr;
      if (offset < w + 2 && offset + src.length > w) {
        const before = this.sramView.getUint16(w, true);
        this.sram.set(src, offset);
        this.noteRxOwn(w, before, atNs);
      } else this.sram.set(src, offset);
      return;
    }
    for (let i = 0; i < src.length; i++) this.write(offset + i, 1, src[i]!, atNs);
  }

  /**
   * The chip decides MISS when a frame starts arriving, so it must know when the host handed it
   * the current receive descriptor: a timed host write that sets RMD1.OWN there is reported.
   * (Functional pokes are not: a poked descriptor counts as owned from before.)
   */
  private noteRxOwn(w: number, before: number, atNs: Ns): void {
    const after = this.sramView.getUint16(w, true);
    if ((before & RMD1.OWN) === 0 && (after & RMD1.OWN) !== 0) this.chip.rxOwnGranted(atNs);
  }

  private sramRead(offset: number, size: AccessSize): number {
    const v = this.sramView;
    return size === 1 ? v.getUint8(offset) : size === 2 ? v.getUint16(offset, true) : v.getUint32(offset, true);
  }
  private sramWrite(offset: number, size: AccessSize, value: number): void {
    const v = this.sramView;
    if (size === 1) v.setUint8(offset, value & 0xff);
    else if (size === 2) v.setUint16(offset, value & 0xffff, true);
    else v.setUint32(offset, value >>> 0, true);
  }

  /** A LANCE port occupies bits 15:0 of its longword; the upper half reads 0. */
  private regRead(byteInWord: number, size: AccessSize, get: () => number): number {
    const v = get() & 0xffff;
    const word = v >>> 0;
    if (size === 4) return word;
    if (size === 2) return byteInWord < 2 ? v : 0;
    return byteInWord < 2 ? (v >>> (8 * byteInWord)) & 0xff : 0;
  }

  private romRead(offset: number, size: AccessSize): number {
    const r = this.rom;
    if (size === 1) return r[offset]!;
    if (size === 2) return r[offset]! | (r[offset + 1]! << 8);
    return (r[offset]! | (r[offset + 1]! << 8) | (r[offset + 2]! << 16) | (r[offset + 3]! << 24)) >>> 0;
  }
}
