import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameAllocator, PAGE_SIZE } from '../../../kernel/vm/frames.ts';

describe('frame allocator', () => {
  // Whatever a freed frame held (bytes anywhere in it, or none), the frame it hands out next is zero.
  it('a frame handed out is all zero, whatever it held before it was freed (FC_NUM_RUNS)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(PAGE_SIZE - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 8 }), fc.boolean(), (stores, scribbleFree) => {
    const ram = new Uint8Array(8 * PAGE_SIZE);
    const frames = new FrameAllocator(ram, 1);
    const f = frames.alloc()!;
    for (const [off, v] of stores) ram[f * PAGE_SIZE + off] = v;
    frames.unref(f);
    // A device may also have written a free frame (DMA to a stale address): it is zeroed too.
    if (scribbleFree) ram[(f - 1 >= 1 ? f - 1 : f + 1) * PAGE_SIZE + PAGE_SIZE - 1] = 0x5a;
    const again = frames.alloc()!;
    expect(again).toBe(f); // LIFO
    expect(ram.subarray(again * PAGE_SIZE, (again + 1) * PAGE_SIZE).every((b) => b === 0)).toBe(true);
    const next = frames.alloc()!;
    expect(ram.subarray(next * PAGE_SIZE, (next + 1) * PAGE_SIZE).every((b) => b === 0)).toBe(true);
      }),
    );
  });
});
