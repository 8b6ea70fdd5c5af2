/**
 * Physical RAM: one byte array cut into 4 KB page frames. Frame allocation (which frames are in
 * use) is the kernel's business; this is only the memory, with functional access for loaders and
 * tests and a DMA port for bus-master devices.
 */
import { bug } from '../sim/assert.ts';
import type { DmaPort, PhysAddr } from '../bus/index.ts';

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** A CPU store that reached RAM ahead of the global clock, with the bytes it replaced. */
interface EarlyStore {
  readonly stampNs: number;
  readonly addr: number;
  readonly old: Uint8Array;
}

/** Early stores remembered at most (a limit on everything; a burst stores far fewer). */
export const EARLY_STORES_MAX = 4096;

export class Ram {
  readonly bytes: Uint8Array;
  /**
   * The global clock (set by the board). A CPU body runs ahead of it and its stores land in
   * `bytes` at once; `noteCpuStore` remembers what each replaced until the clock reaches the
   * store's time, so that a DMA reads RAM as of its own time (DESIGN.md "Causality").
   */
  clock: () => number = () => Number.POSITIVE_INFINITY;
  private early: EarlyStore[] = [];
  /** Early stores dropped over the limit (each a causality violation a test would see). */
  earlyStoresDropped = 0;
  readonly view: DataView;
  /** Bytes written by DMA since reset, for accounting. */
  dmaBytesWritten = 0;
  dmaBytesRead = 0;
  dmaErrors = 0;

  constructor(readonly size: number) {
    if (!(size > 0 && size % PAGE_SIZE === 0)) bug(`RAM size must be whole pages: ${size}`);
    // A SharedArrayBuffer (used by this thread only; the same zero-filled bytes and accesses):
    // V8 counts a plain ArrayBuffer's whole size as memory just allocated, so each 32 MB host
    // forced young- and old-generation collections although a guest touches a few MB of it
    // (`ulp paper`: 52 mark-compacts and 155 external-memory scavenges, against 2 and 62).
    // Untouched pages stay uncommitted either way. docs/speed.md has the measurements.
    this.bytes = new Uint8Array(new SharedArrayBuffer(size));
    this.view = new DataView(this.bytes.buffer);
  }

  get frames(): number {
    return this.size / PAGE_SIZE;
  }

  contains(addr: PhysAddr, length: number): boolean {
    return Number.isInteger(addr) && Number.isInteger(length) && addr >= 0 && length >= 0 && addr + length <= this.size;
  }

  /**
   * A CPU store of `length` bytes at `addr`, made at CPU-local time `stampNs`, is about to land.
   * Call before storing. Nothing to remember when the store is not ahead of the clock.
   */
  noteCpuStore(addr: number, length: number, stampNs: number): void {
    const now = this.clock();
    if (stampNs <= now || length <= 0 || !this.contains(addr, length)) return;
    this.prune(now);
    if (this.early.length >= EARLY_STORES_MAX) {
      this.early.shift();
      this.earlyStoresDropped++;
    }
    this.early.push({ stampNs, addr, old: this.bytes.slice(addr, addr + length) });
  }

  /** Forget early stores whose time has come (they are simply RAM now). */
  private prune(now: number): void {
    let n = 0;
    while (n < this.early.length && this.early[n]!.stampNs <= now) n++;
    if (n > 0) this.early.splice(0, n);
  }

  /** Read RAM as it is at the clock's time: undo the early stores, newest first. */
  private readAsOfNow(addr: number, dst: Uint8Array): void {
    dst.set(this.bytes.subarray(addr, addr + dst.length));
    if (this.early.length === 0) return;
    this.prune(this.clock());
    for (let i = this.early.length - 1; i >= 0; i--) {
      const e = this.early[i]!;
      const lo = Math.max(addr, e.addr);
      const hi = Math.min(addr + dst.length, e.addr + e.old.length);
      if (lo < hi) dst.set(e.old.subarray(lo - e.addr, hi - e.addr), lo - addr);
    }
  }

  /**
   * A DMA write at the clock's time: it lands before any early store to the same bytes, so where
   * one covers a byte the DMA's value goes into the earliest such store's memory of what it
   * replaced, and the CPU's later value stays in RAM.
   */
  private writeAsOfNow(addr: number, src: Uint8Array): void {
    if (this.early.length > 0) this.prune(this.clock());
    if (this.early.length === 0) {
      this.bytes.set(src, addr);
      return;
    }
    for (let k = 0; k < src.length; k++) {
      const a = addr + k;
      let covered = false;
      for (const e of this.early) {
        if (a >= e.addr && a < e.addr + e.old.length) {
          e.old[a - e.addr] = src[k]!;
          covered = true;
          break;
        }
      }
      if (!covered) this.bytes[a] = src[k]!;
    }
  }

  /** A DMA port onto this RAM (for bus-master devices): reads and writes as of the clock's time. */
  dmaPort(): DmaPort {
    return {
      ramSize: this.size,
      read: (addr, dst) => {
        if (!this.contains(addr, dst.length)) {
          this.dmaErrors++;
          return false;
        }
        this.readAsOfNow(addr, dst);
        this.dmaBytesRead += dst.length;
        return true;
      },
      write: (addr, src) => {
        if (!this.contains(addr, src.length)) {
          this.dmaErrors++;
          return false;
        }
        this.writeAsOfNow(addr, src);
        this.dmaBytesWritten += src.length;
        return true;
      },
    };
  }
}
