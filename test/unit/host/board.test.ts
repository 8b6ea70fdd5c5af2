import { describe, expect, it } from 'vitest';
import type { AccessSize, BusTarget } from '../../../emulator/bus/index.ts';
import { buildOptionRom, readRomModuleName } from '../../../emulator/host/turbochannel.ts';
import { World } from '../../../studies/world.ts';

// Test-declared constants (never the model's): KN02 physical map.
const SLOT0 = 0x1e00_0000;
const SLOT1 = 0x1e40_0000;
const SLOT2 = 0x1e80_0000;
const KN02_CSR = 0x1ff0_0000;

/** A ROM-only option: the standard TURBOchannel header at 0x3E0, one byte per longword. */
function romOption(module: string): BusTarget & { writes: number } {
  const rom = buildOptionRom({ module, vendor: 'DEC     ', firmwareRevision: 'V1.0    ', firmwareType: 'TCF0', romSize8k: 1, slotSize4m: 1 });
  const read = (offset: number, _size: AccessSize): number => (offset < rom.length ? rom[offset]! : 0);
  return {
    name: 'rom-option',
    writes: 0,
    read,
    peek: read,
    write() {
      this.writes++;
    },
    poke() {},
    accessCycles: () => 28,
  };
}

describe('DECstation 5000/200 board', () => {
  it('probes TURBOchannel slots: an empty slot bus-errors, an option shows its ROM module name', () => {
    const world = new World({ seed: 1 });
    const host = world.addHost('ws');
    host.installOption(1, romOption('PMAD-AA '));
    const bus = host.bus;
    expect(bus.probe(SLOT0)).toBe(false);
    expect(bus.read32(SLOT0 + 0x3e0)).toBe(0xffff_ffff);
    expect(bus.busErrors).toBe(1);
    expect(bus.probe(SLOT1)).toBe(true);
    expect(readRomModuleName((off) => bus.read32(SLOT1 + off))).toBe('PMAD-AA ');
    // Test pattern at +0x3F0: 55 00 AA FF, one per longword.
    expect([0, 4, 8, 12].map((o) => bus.read32(SLOT1 + 0x3f0 + o))).toEqual([0x55, 0x00, 0xaa, 0xff]);
    expect(bus.probe(SLOT2)).toBe(false);
    expect(bus.busErrors).toBe(1);
  });

  it('RAM is reachable by timed and functional access; beyond RAM is a bus error', () => {
    const world = new World({ seed: 1 });
    const host = world.addHost('ws', 1 << 20);
    host.bus.write32(0x100, 0xdeadbeef);
    expect(host.bus.peek32(0x100)).toBe(0xdeadbeef);
    expect(host.bus.read16(0x102)).toBe(0xdead);
    host.bus.poke8(0x200, 0x7f);
    expect(host.bus.read8(0x200)).toBe(0x7f);
    expect(host.bus.read32(1 << 20)).toBe(0xffff_ffff);
    expect(host.bus.busErrors).toBe(1);
  });

  it('the KN02 CSR shows pending lines in bits 7:0 and gates the CPU interrupt with enables in 23:16', () => {
    const world = new World({ seed: 1 });
    const host = world.addHost('ws');
    const line = host.installOption(2, romOption('TEST    '));
    const taken: number[] = [];
    host.cpu.hardwareIrqHandler = () => {
      taken.push(world.sched.now);
      host.cpu.charge(10);
      line.set(false);
    };
    line.set(true);
    world.sched.runFor(1_000);
    expect(host.bus.read32(KN02_CSR) & 0xff).toBe(1 << 2);
    expect(taken).toEqual([]); // not enabled yet
    host.bus.write32(KN02_CSR, (1 << 2) << 16);
    world.sched.runFor(1_000);
    expect(taken).toEqual([1_000]);
    expect(host.bus.read32(KN02_CSR)).toBe((1 << 2) << 16);
  });

  it('charges each timed access to the CPU; functional access is free', () => {
    const world = new World({ seed: 1 });
    const host = world.addHost('ws');
    host.installOption(0, romOption('TEST    '));
    const pio = () => host.cpu.cyclesByCategory.get('pio') ?? 0;
    host.cpu.execute('k', () => host.bus.peek32(SLOT0 + 0x440));
    expect(pio()).toBe(0);
    world.sched.runFor(1_000);
    host.cpu.execute('k', () => host.bus.read32(SLOT0 + 0x440));
    expect(pio()).toBe(28);
    host.bus.read32(SLOT0 + 0x440); // outside a burst: accounted as untimed only
    expect(pio()).toBe(28);
    expect(host.cpu.untimedCycles).toBe(28);
  });
});
