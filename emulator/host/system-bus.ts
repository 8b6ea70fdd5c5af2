/**
 * The KN02 physical address space as the CPU sees it: RAM from 0, TURBOchannel slots from
 * 0x1E000000 (each 4 MB, decoded by the option's own glue), and the system slot's CSR.
 * Timed accesses charge the CPU (one charge per access, one per block) and reach devices at the
 * CPU's local time; nothing here schedules an event.
 */
import { assert } from '../sim/assert.ts';
import type { Ns } from '../sim/time.ts';
import type { AccessSize, BusTarget, CycleSink, PhysAddr, PhysicalBus } from '../bus/index.ts';
import type { Ram } from '../memory/ram.ts';
import { KN02_CSR_ADDR, type Kn02InterruptController } from './interrupts.ts';
import { TC_SLOT_COUNT, TC_SLOT_SIZE, TC_SLOTS_BASE } from './turbochannel.ts';

export interface SystemBusCosts {
  readonly ramWordAccessCycles: number;
  readonly memcpyCyclesPerByte: number;
  readonly memcpySetupCycles: number;
  readonly csrAccessCycles: number;
}

const ALL_ONES: Record<AccessSize, number> = { 1: 0xff, 2: 0xffff, 4: 0xffff_ffff };

export class SystemBus implements PhysicalBus {
  private readonly slots: (BusTarget | undefined)[] = new Array<BusTarget | undefined>(TC_SLOT_COUNT).fill(undefined);
  busErrors = 0;
  /** The address of the last bus error, for diagnostics. */
  lastBusErrorAddr = -1;

  constructor(
    private readonly ram: Ram,
    private readonly cpu: CycleSink,
    private readonly intc: Kn02InterruptController,
    private readonly costs: SystemBusCosts,
  ) {}

  attachSlot(slot: number, target: BusTarget): void {
    assert(slot >= 0 && slot < TC_SLOT_COUNT, `no slot ${slot}`);
    assert(this.slots[slot] === undefined, `slot ${slot} is already occupied`);
    this.slots[slot] = target;
  }

  slotTarget(slot: number): BusTarget | undefined {
    return this.slots[slot];
  }

  probe(addr: PhysAddr): boolean {
    if (addr >= 0 && addr < this.ram.size) return true;
    if (addr >>> 0 === KN02_CSR_ADDR) return true;
    return this.decodeSlot(addr) !== undefined;
  }

  private decodeSlot(addr: PhysAddr): BusTarget | undefined {
    const a = addr >>> 0;
    if (a < TC_SLOTS_BASE) return undefined;
    const slot = Math.floor((a - TC_SLOTS_BASE) / TC_SLOT_SIZE);
    return slot < TC_SLOT_COUNT ? this.slots[slot] : undefined;
  }

  private busError(addr: PhysAddr): void {
    this.busErrors++;
    this.lastBusErrorAddr = addr >>> 0;
  }

  private isRam(addr: PhysAddr, size: number): boolean {
    return addr >= 0 && addr + size <= this.ram.size;
  }

  private readTimed(addr: PhysAddr, size: AccessSize): number {
    assert(Number.isInteger(addr), `bus address ${addr} is not an integer`);
    if (this.isRam(addr, size)) {
      this.cpu.charge(this.costs.ramWordAccessCycles, 'memory');
      return this.ramRead(addr, size);
    }
    if (addr >>> 0 === KN02_CSR_ADDR && size === 4) {
      this.cpu.charge(this.costs.csrAccessCycles, 'pio');
      return this.intc.read();
    }
    const t = this.decodeSlot(addr);
    if (t === undefined) {
      this.busError(addr);
      return ALL_ONES[size];
    }
    const offset = (addr >>> 0) % TC_SLOT_SIZE;
    const at: Ns = this.cpu.localNow();
    this.cpu.charge(t.accessCycles(offset, size, false), 'pio');
    return t.read(offset, size, at);
  }

  private writeTimed(addr: PhysAddr, size: AccessSize, value: number): void {
    assert(Number.isInteger(addr), `bus address ${addr} is not an integer`);
    if (this.isRam(addr, size)) {
      this.cpu.charge(this.costs.ramWordAccessCycles, 'memory');
      this.ramWrite(addr, size, value);
      return;
    }
    if (addr >>> 0 === KN02_CSR_ADDR && size === 4) {
      this.cpu.charge(this.costs.csrAccessCycles, 'pio');
      this.intc.write(value);
      return;
    }
    const t = this.decodeSlot(addr);
    if (t === undefined) {
      this.busError(addr);
      return;
    }
    const offset = (addr >>> 0) % TC_SLOT_SIZE;
    const at: Ns = this.cpu.localNow();
    this.cpu.charge(t.accessCycles(offset, size, true), 'pio');
    t.write(offset, size, value, at);
  }

  private ramRead(addr: number, size: AccessSize): number {
    const v = this.ram.view;
    return size === 1 ? v.getUint8(addr) : size === 2 ? v.getUint16(addr, true) : v.getUint32(addr, true);
  }
  private ramWrite(addr: number, size: AccessSize, value: number): void {
    const v = this.ram.view;
    if (size === 1) v.setUint8(addr, value & 0xff);
    else if (size === 2) v.setUint16(addr, value & 0xffff, true);
    else v.setUint32(addr, value >>> 0, true);
  }

  read8(addr: PhysAddr): number {
    return this.readTimed(addr, 1);
  }
  read16(addr: PhysAddr): number {
    return this.readTimed(addr, 2);
  }
  read32(addr: PhysAddr): number {
    return this.readTimed(addr, 4);
  }
  write8(addr: PhysAddr, value: number): void {
    this.writeTimed(addr, 1, value);
  }
  write16(addr: PhysAddr, value: number): void {
    this.writeTimed(addr, 2, value);
  }
  write32(addr: PhysAddr, value: number): void {
    this.writeTimed(addr, 4, value);
  }

  readBlock(addr: PhysAddr, dst: Uint8Array): void {
    if (this.isRam(addr, dst.length)) {
      this.cpu.charge(this.costs.memcpySetupCycles + dst.length * this.costs.memcpyCyclesPerByte, 'copy');
      dst.set(this.ram.bytes.subarray(addr, addr + dst.length));
      return;
    }
    const t = this.decodeSlot(addr);
    const offset = (addr >>> 0) % TC_SLOT_SIZE;
    if (t === undefined || offset + dst.length > TC_SLOT_SIZE) {
      this.busError(addr);
      dst.fill(0xff);
      return;
    }
    if (t.readBlock !== undefined && t.blockCycles !== undefined) {
      const at = this.cpu.localNow();
      this.cpu.charge(t.blockCycles(offset, dst.length, false), 'pio');
      t.readBlock(offset, dst, at);
      return;
    }
    for (let i = 0; i < dst.length; i++) dst[i] = this.readTimed(addr + i, 1);
  }

  writeBlock(addr: PhysAddr, src: Uint8Array): void {
    if (this.isRam(addr, src.length)) {
      this.cpu.charge(this.costs.memcpySetupCycles + src.length * this.costs.memcpyCyclesPerByte, 'copy');
      this.ram.bytes.set(src, addr);
      return;
    }
    const t = this.decodeSlot(addr);
    const offset = (addr >>> 0) % TC_SLOT_SIZE;
    if (t === undefined || offset + src.length > TC_SLOT_SIZE) {
      this.busError(addr);
      return;
    }
    if (t.writeBlock !== undefined && t.blockCycles !== undefined) {
      const at = this.cpu.localNow();
      this.cpu.charge(t.blockCycles(offset, src.length, true), 'pio');
      t.writeBlock(offset, src, at);
      return;
    }
    for (let i = 0; i < src.length; i++) this.writeTimed(addr + i, 1, src[i]!);
  }

  // Functional access: free, no side effects, bus errors are not counted.
  private peek(addr: PhysAddr, size: AccessSize): number {
    if (this.isRam(addr, size)) return this.ramRead(addr, size);
    if (addr >>> 0 === KN02_CSR_ADDR) return this.intc.read();
    const t = this.decodeSlot(addr);
    return t === undefined ? ALL_ONES[size] : t.peek((addr >>> 0) % TC_SLOT_SIZE, size);
  }
  private poke(addr: PhysAddr, size: AccessSize, value: number): void {
    if (this.isRam(addr, size)) return this.ramWrite(addr, size, value);
    const t = this.decodeSlot(addr);
    if (t !== undefined) t.poke((addr >>> 0) % TC_SLOT_SIZE, size, value);
  }
  peek8(addr: PhysAddr): number {
    return this.peek(addr, 1);
  }
  peek16(addr: PhysAddr): number {
    return this.peek(addr, 2);
  }
  peek32(addr: PhysAddr): number {
    return this.peek(addr, 4);
  }
  poke8(addr: PhysAddr, value: number): void {
    this.poke(addr, 1, value);
  }
  poke16(addr: PhysAddr, value: number): void {
    this.poke(addr, 2, value);
  }
  poke32(addr: PhysAddr, value: number): void {
    this.poke(addr, 4, value);
  }
  peekBlock(addr: PhysAddr, dst: Uint8Array): void {
    if (this.isRam(addr, dst.length)) {
      dst.set(this.ram.bytes.subarray(addr, addr + dst.length));
      return;
    }
    for (let i = 0; i < dst.length; i++) dst[i] = this.peek(addr + i, 1);
  }
  pokeBlock(addr: PhysAddr, src: Uint8Array): void {
    if (this.isRam(addr, src.length)) {
      this.ram.bytes.set(src, addr);
      return;
    }
    for (let i = 0; i < src.length; i++) this.poke(addr + i, 1, src[i]!);
  }
}
