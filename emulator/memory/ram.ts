/**
 * Physical RAM: one byte array cut into 4 KB page frames. Frame allocation (which frames are in
 * use) is the kernel's business; this is only the memory, with functional access for loaders and
 * tests and a DMA port for bus-master devices.
 */
import { bug } from '../sim/assert.ts';
import type { DmaPort, PhysAddr } from '../bus/index.ts';

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

export class Ram {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Bytes written by DMA since reset, for accounting. */
  dmaBytesWritten = 0;
  dmaBytesRead = 0;
  dmaErrors = 0;

  constructor(readonly size: number) {
    if (!(size > 0 && size % PAGE_SIZE === 0)) bug(`RAM size must be whole pages: ${size}`);
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  get frames(): number {
    return this.size / PAGE_SIZE;
  }

  contains(addr: PhysAddr, length: number): boolean {
    return Number.isInteger(addr) && Number.isInteger(length) && addr >= 0 && length >= 0 && addr + length <= this.size;
  }

  /** A DMA port onto this RAM (for bus-master devices). */
  dmaPort(): DmaPort {
    return {
      ramSize: this.size,
      read: (addr, dst) => {
        if (!this.contains(addr, dst.length)) {
          this.dmaErrors++;
          return false;
        }
        dst.set(this.bytes.subarray(addr, addr + dst.length));
        this.dmaBytesRead += dst.length;
        return true;
      },
      write: (addr, src) => {
        if (!this.contains(addr, src.length)) {
          this.dmaErrors++;
          return false;
        }
        this.bytes.set(src, addr);
        this.dmaBytesWritten += src.length;
        return true;
      },
    };
  }
}
