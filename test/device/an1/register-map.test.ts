/**
 * The AN1 as its register map says (docs/an1.md "Register map"; issue 16 item 5), through the
 * devkit, by a driver's accesses only:
 * - MAXFRAME takes values in [20, 4096]; anything else is refused as a guest error and leaves the
 *   register as it was — decided on the value the bus presented, before the 13-bit field could
 *   cut it (9192 would otherwise become 1000, 0x80000600 would become 1536).
 * - Every read-only register's write is a guest error and changes nothing (UID_HI included).
 */
import { describe, expect, it } from 'vitest';
import { CSR_PAGE_REGS, BQI_ENTRY_REGS, CLOCK_PAGE_REGS, RXC_PAGE_REGS, TX_PAGE_REGS } from '../../../emulator/devices/an1/registers.ts';
import { AN1_REGS, createDevkit, type An1Register, type An1BqiRegister } from '../../../emulator/devkit/index.ts';
import { createBqiFirmware } from '../../../firmware/an1/main.ts';

const bench = () => createDevkit({ an1: { firmware: createBqiFirmware() } });

/** The read-only registers of the map, transcribed from docs/an1.md (not from the model). */
const READ_ONLY: readonly An1Register[] = [
  'UID_LO', 'UID_HI', 'NBQI', 'RINGSLOTS', 'FWREV', 'DROPS', 'RXERRS', 'DMAERRS', 'DESCERRS', 'OVERRUNS', 'RXFRAMES',
  'TX_FREE', 'TX_DONE', 'TX_STATUS', 'TX_FAILED', 'RXC_POP', 'RXC_COUNT', 'CLOCK', 'CLOCK_HI',
];
const READ_ONLY_BQ: readonly An1BqiRegister[] = ['BQ_FILLED', 'BQ_DROPS'];

describe('AN1 MAXFRAME: range checked before anything is truncated', () => {
  for (const bad of [19, 0, 4097, 5000, 8192, 9192, 0x80000600, 0xffffffff, 0x2000 + 1520]) {
    it(`0x${bad.toString(16)} is refused with a guest error and MAXFRAME keeps its value`, () => {
      const kit = bench();
      const an1 = kit.an1;
      an1.write('MAXFRAME', 2000);
      expect(an1.read('MAXFRAME')).toBe(2000);
      const before = kit.guestErrorCount;
      an1.write('MAXFRAME', bad);
      expect(an1.read('MAXFRAME')).toBe(2000);
      expect(kit.guestErrorCount).toBe(before + 1);
      expect(kit.guestErrorText()).toMatch(/MAXFRAME .*refused/);
    });
  }

  it('the bounds 20 and 4096 and a value between are accepted without a guest error', () => {
    const kit = bench();
    for (const ok of [20, 4096, 1520, 21]) {
      kit.an1.write('MAXFRAME', ok);
      expect(kit.an1.read('MAXFRAME')).toBe(ok);
    }
    expect(kit.guestErrorCount).toBe(0);
  });
});

describe('AN1 read-only registers: every write is a guest error and changes nothing', () => {
  for (const name of READ_ONLY) {
    it(`${name}`, () => {
      const kit = bench();
      const at = kit.an1.base + AN1_REGS[name];
      // Inspect through the backdoor so that a clear-on-read counter or the FIFO is not disturbed.
      const before = kit.backdoor.peek32(at);
      const errors = kit.guestErrorCount;
      kit.an1.write(name, 0xa5a5_1234);
      expect(kit.guestErrorCount).toBe(errors + 1);
      expect(kit.guestErrorText()).toMatch(/read-only|unimplemented/);
      expect(kit.backdoor.peek32(at)).toBe(before);
    });
  }
  for (const name of READ_ONLY_BQ) {
    it(`${name} of BQI 5`, () => {
      const kit = bench();
      const errors = kit.guestErrorCount;
      kit.an1.writeBqi(5, name, 7);
      expect(kit.guestErrorCount).toBe(errors + 1);
      expect(kit.an1.readBqi(5, name)).toBe(0);
    });
  }

  it('UID_HI keeps the station UID', () => {
    const kit = createDevkit({ an1: { firmware: createBqiFirmware(), uid: 0x0800_2b00_0042 } });
    kit.an1.write('UID_HI', 0xffff);
    expect(kit.an1.read('UID_HI')).toBe(0x0800);
    expect(kit.guestErrorCount).toBe(1);
  });

  it('the list above is every register of the model that has no host-writable bit', () => {
    const writable = (a: string): boolean => a === 'rw' || a === 'w1c' || a === 'set-only' || a === 'wo';
    const noWritableBit = [...CSR_PAGE_REGS, ...TX_PAGE_REGS, ...RXC_PAGE_REGS, ...CLOCK_PAGE_REGS, ...BQI_ENTRY_REGS]
      .filter((r) => !(r.fields ?? []).some((f) => writable(f.access)) && !(r.fields === undefined && writable(r.access)))
      .map((r) => r.name);
    expect(noWritableBit.sort()).toEqual([...READ_ONLY, ...READ_ONLY_BQ].sort());
  });
});
