/**
 * The KN02 system CSR at 0x1FF00000 as an interrupt controller (hw/lance-pmad-aa.md §4.3):
 * bits 7:0 read the pending I/O interrupts (0..2 option slots, 5 SCSI, 6 on-board Ethernet,
 * 7 DZ serial), bits 23:16 are their enables, and writing bits 7:0 drives the diagnostic LEDs.
 * Pending-and-enabled sources are ORed onto the CPU's hardware interrupt 0. Lines are level
 * sensitive and nothing is acknowledged here: a line follows its device.
 */
import { RegisterFile, type RegisterDef } from '../bits/register-file.ts';
import type { InterruptLine } from '../bus/index.ts';

export const KN02_CSR_ADDR = 0x1ff0_0000;

export const KN02_CSR_REGS: readonly RegisterDef[] = [
  {
    name: 'CSR',
    offset: 0,
    width: 32,
    reset: 0,
    access: 'reserved',
    fields: [
      // Reads show pending lines; writes of these bits go to the LEDs (kept in `leds`).
      { name: 'IOINT', lsb: 0, width: 8, access: 'ro' },
      { name: 'IOINTEN', lsb: 16, width: 8, access: 'rw' },
    ],
  },
];

export class Kn02InterruptController {
  readonly regs = new RegisterFile('kn02-csr', KN02_CSR_REGS);
  private pending = 0;
  /** Last value written to the diagnostic LEDs. */
  leds = 0;
  private readonly csr = this.regs.index('CSR');

  constructor(private readonly notify: () => void) {}

  /** The line for I/O interrupt bit `bit` (slot number for slots 0..2, 5, 6; 7 for DZ). */
  line(bit: number): InterruptLine {
    const mask = 1 << bit;
    const self = this;
    return {
      get asserted() {
        return (self.pending & mask) !== 0;
      },
      set(asserted: boolean) {
        const before = self.pending;
        self.pending = asserted ? self.pending | mask : self.pending & ~mask;
        if (self.pending !== before) self.notify();
      },
    };
  }

  /** Pending and enabled: what the CPU's hardware interrupt 0 sees. */
  get active(): number {
    return this.pending & this.enables;
  }
  get enables(): number {
    return (this.regs.raw[this.csr]! >>> 16) & 0xff;
  }

  read(): number {
    return (this.regs.readIndex(this.csr) & ~0xff) | this.pending;
  }

  write(value: number): void {
    this.leds = value & 0xff;
    const before = this.enables;
    this.regs.writeIndex(this.csr, value);
    if (this.enables !== before) this.notify();
  }
}
