/**
 * The R3000 data cache as a driver sees it, for the devkit (issue 16 item 5): a CPU read of a
 * buffer that a device has since filled by DMA returns what the cache still holds unless the
 * driver invalidated those lines first — the classic missing-invalidation bug, which the
 * emulator otherwise shows only as a cost.
 *
 * Model (simple, and only what a driver can observe):
 * - Direct mapped, `sizeBytes` (64 KB on the DECstation 5000/200) of `lineBytes` lines (4 bytes
 *   on the R3000: cost `cpu.dcacheLineBytes`, whose source is the datasheet and Linux c-r3k.c).
 *   A line is identified by its physical line address; line index = line address mod line count.
 * - A CPU read of a line that is not cached fills it from memory (a miss); a read of a cached
 *   line returns the bytes the line holds, whatever memory holds now.
 * - Write-through: a CPU store updates memory and a cached line it hits; a store that covers a
 *   whole line also allocates it (the R3000 writes a full word into the cache), a partial store
 *   that misses leaves the cache as it was.
 * - DMA writes memory only: the cache never sees them (the R3000 does not snoop).
 * - `invalidate(addr, length)` drops the lines covering the range (the driver's isolated-cache
 *   partial stores, Linux r3k_flush_dcache_range); the next reads miss and see memory.
 * Not modelled: the instruction cache, write buffer timing, cache timing itself (hits and misses
 * are charged by the host model as before; this class changes only which bytes a read returns).
 *
 * The cache applies to the devkit's CPU accesses to RAM (`kit.readRam`, `kit.writeRam`,
 * `kit.readRam32`); it is off for everything else, so no paper scenario changes.
 */

/** DECstation 5000/200 data-cache size (mach-semantics.md §10; cost `cpu.dcacheLineBytes`' source). */
export const R3000_DCACHE_BYTES = 64 * 1024;

export class DataCache {
  /** Line address held by each index, or -1. */
  private readonly tags: Float64Array;
  private readonly data: Uint8Array;
  private readonly lines: number;
  /** Reads that returned at least one byte different from memory (the bug, counted). */
  staleReads = 0;
  hits = 0;
  misses = 0;
  linesInvalidated = 0;

  constructor(
    readonly lineBytes: number,
    readonly sizeBytes: number = R3000_DCACHE_BYTES,
  ) {
    if (!Number.isInteger(lineBytes) || lineBytes < 1 || sizeBytes % lineBytes !== 0) throw new Error(`dcache: bad geometry ${sizeBytes}/${lineBytes}`);
    this.lines = sizeBytes / lineBytes;
    this.tags = new Float64Array(this.lines).fill(-1);
    this.data = new Uint8Array(sizeBytes);
  }

  /**
   * What the CPU reads at [addr, addr + memory.length) given what memory holds there now; fills
   * missing lines from `memoryLine(lineAddr)` (the whole line as memory holds it).
   */
  read(addr: number, memory: Uint8Array, memoryLine: (lineAddr: number, dst: Uint8Array) => void): Uint8Array {
    const out = new Uint8Array(memory.length);
    const lb = this.lineBytes;
    const buf = new Uint8Array(lb);
    let stale = false;
    for (let i = 0; i < memory.length; ) {
      const a = addr + i;
      const line = Math.floor(a / lb);
      const idx = line % this.lines;
      if (this.tags[idx] !== line) {
        this.misses++;
        memoryLine(line * lb, buf);
        this.data.set(buf, idx * lb);
        this.tags[idx] = line;
      } else {
        this.hits++;
      }
      const from = a - line * lb;
      const n = Math.min(lb - from, memory.length - i);
      for (let k = 0; k < n; k++) {
        const b = this.data[idx * lb + from + k]!;
        out[i + k] = b;
        if (b !== memory[i + k]) stale = true;
      }
      i += n;
    }
    if (stale) this.staleReads++;
    return out;
  }

  /** A CPU store of `src` at `addr` (memory is written by the caller): write-through. */
  write(addr: number, src: Uint8Array): void {
    const lb = this.lineBytes;
    for (let i = 0; i < src.length; ) {
      const a = addr + i;
      const line = Math.floor(a / lb);
      const idx = line % this.lines;
      const from = a - line * lb;
      const n = Math.min(lb - from, src.length - i);
      if (this.tags[idx] === line) {
        this.data.set(src.subarray(i, i + n), idx * lb + from);
      } else if (from === 0 && n === lb) {
        this.data.set(src.subarray(i, i + n), idx * lb);
        this.tags[idx] = line;
      }
      i += n;
    }
  }

  /** Drop the lines covering [addr, addr + length); returns how many were cached. */
  invalidate(addr: number, length: number): number {
    if (length <= 0) return 0;
    const lb = this.lineBytes;
    let dropped = 0;
    const first = Math.floor(addr / lb);
    const last = Math.floor((addr + length - 1) / lb);
    for (let line = first; line <= last; line++) {
      const idx = line % this.lines;
      if (this.tags[idx] === line) {
        this.tags[idx] = -1;
        dropped++;
      }
    }
    this.linesInvalidated += dropped;
    return dropped;
  }

  /** Drop every line. */
  flush(): void {
    this.tags.fill(-1);
  }
}
