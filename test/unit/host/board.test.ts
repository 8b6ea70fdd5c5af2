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

describe('timed writes queued by the system bus', () => {
  /** An option that records each write (word or block) with its stamp and the clock when it landed. */
  function recorder(now: () => number): BusTarget & { log: string[] } {
    const log: string[] = [];
    return {
      name: 'recorder',
      log,
      read: () => 0,
      peek: () => 0,
      write(offset, _size, value, atNs) {
        log.push(`w ${offset} ${value} @${atNs} now ${now()}`);
      },
      poke() {},
      accessCycles: () => 3,
      writeBlock(offset, src, atNs) {
        log.push(`b ${offset} ${Array.from(src).join(',')} @${atNs} now ${now()}`);
      },
      blockCycles: () => 5,
    };
  }

  it('applies thousands of writes from one burst in issue order, each at its stamp, and block writes with the bytes they had when issued', () => {
    const world = new World({ seed: 1 });
    const host = world.addHost('ws', 1 << 20);
    const opt = recorder(() => world.sched.now);
    host.installOption(0, opt);
    const expected: string[] = [];
    const WRITES = 3_000; // more than the bus's compaction threshold (1024 applied entries)
    host.cpu.execute('k', () => {
      const src = new Uint8Array(3);
      for (let i = 0; i < WRITES; i++) {
        host.cpu.charge(7);
        if (i % 500 === 250) {
          src.set([i & 0xff, 1, 2]);
          const at = host.cpu.localNow();
          host.bus.writeBlock(SLOT0 + 0x100, src);
          expected.push(`b 256 ${i & 0xff},1,2 @${at} now ${at}`);
          src.fill(0xee); // the caller reuses its array at once: the queued write keeps its own copy
        } else {
          const at = host.cpu.localNow();
          host.bus.write32(SLOT0 + 4 * (i % 64), i);
          expected.push(`w ${4 * (i % 64)} ${i} @${at} now ${at}`);
        }
      }
    });
    expect(host.bus.pendingWrites).toBe(WRITES);
    world.sched.runFor(1_000_000_000);
    expect(opt.log).toEqual(expected);
    expect(host.bus.pendingWrites).toBe(0);
    expect(host.bus.causality.writesMistimed).toBe(0);
  });
});
