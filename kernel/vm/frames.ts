/**
 * Physical page frames of the host's RAM. The kernel owns the allocator; the first
 * `reservedFrames` frames (kernel text, data, message buffers, drivers' fixed buffers) are never
 * handed out. A frame is shared by every mapping and memory object that holds a reference; it
 * returns to the free list when the last reference goes. The free list is LIFO, so a run is a
 * pure function of its inputs.
 */
import { assert, bug } from '../../emulator/sim/assert.ts';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;
/** References per frame (mappings + objects), at most (a limit on everything). */
export const FRAME_REFS_MAX = 0xffff;

/**
 * Zero the frame at `base`, writing only when a byte is not zero already: a frame never written
 * since boot stays untouched host memory (reading the host's zero pages commits none), so a
 * host's RSS holds only the frames its guests really used. The frame is zero either way.
 */
function zeroFrame(ram: Uint8Array, base: number): void {
  const end = base + PAGE_SIZE;
  for (let i = base; i < end; i++) {
    if (ram[i] !== 0) {
      ram.fill(0, i, end);
      return;
    }
  }
}

export class FrameAllocator {
  private readonly refs: Uint16Array;
  private readonly free: number[] = [];
  readonly framesTotal: number;

  constructor(
    private readonly ram: Uint8Array,
    readonly reservedFrames: number,
  ) {
    this.framesTotal = Math.floor(ram.length / PAGE_SIZE);
    assert(reservedFrames >= 0 && reservedFrames < this.framesTotal, 'reserved frames exceed RAM');
    this.refs = new Uint16Array(this.framesTotal);
    for (let f = this.framesTotal - 1; f >= reservedFrames; f--) this.free.push(f);
  }

  get freeCount(): number {
    return this.free.length;
  }

  /** A zeroed frame with one reference, or undefined when RAM is exhausted. */
  alloc(): number | undefined {
    const f = this.free.pop();
    if (f === undefined) return undefined;
    if (!(this.refs[f] === 0)) bug(`frame ${f} on the free list with references`);
    this.refs[f] = 1;
    zeroFrame(this.ram, f * PAGE_SIZE);
    return f;
  }

  /** `n` frames, all or none. */
  allocMany(n: number): number[] | undefined {
    if (n > this.free.length) return undefined;
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.alloc()!);
    return out;
  }

  ref(f: number): boolean {
    if (!(this.refs[f] !== undefined && this.refs[f] > 0)) bug(`ref of free frame ${f}`);
    if (this.refs[f]! >= FRAME_REFS_MAX) return false;
    this.refs[f]!++;
    return true;
  }

  unref(f: number): void {
    const r = this.refs[f];
    if (!(r !== undefined && r > 0)) bug(`unref of free frame ${f}`);
    this.refs[f] = r - 1;
    if (r === 1) this.free.push(f);
  }

  refCount(f: number): number {
    return this.refs[f] ?? 0;
  }

  physAddr(f: number): number {
    return f * PAGE_SIZE;
  }
}
