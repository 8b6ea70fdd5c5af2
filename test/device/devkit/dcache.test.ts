/**
 * The R3000 data cache as a driver sees it (emulator/devkit/dcache.ts; issue 16 item 5): the
 * classic missing-invalidation bug shows up as stale bytes, and the fix (invalidate the buffer's
 * lines before reading a DMAed frame) makes it go away. The driver here is the test, through the
 * devkit: it reuses one receive buffer for two frames.
 */
import { describe, expect, it } from 'vitest';
import { AN1_CSR, AN1_ISR, AN1_RXST, createDevkit, DataCache, type Devkit } from '../../../emulator/devkit/index.ts';
import { createBqiFirmware } from '../../../firmware/an1/main.ts';

const BUF = 0x10000;

function frame(tag: number): Uint8Array {
  const f = new Uint8Array(200);
  f[3] = 2; // DST_BQI 2
  for (let i = 20; i < f.length; i++) f[i] = (tag * 31 + i) & 0xff;
  return f;
}

/** Receive one frame into BUF (ring of 1 on BQI 2, reposted each time) and return what the CPU reads. */
function receive(kit: Devkit, f: Uint8Array, invalidate: boolean): Uint8Array {
  const an1 = kit.an1;
  an1.write('ISR', AN1_ISR.RXDONE);
  an1.openRing(2, 0, [{ addr: BUF, length: 2048 }]);
  kit.linkPeer.send(f);
  expect(kit.runUntil(() => kit.interruptAsserted(), { nsMax: 2_000_000 })).toBe(true);
  an1.write('ISR', AN1_ISR.RXDONE);
  const c = an1.popCompletions();
  expect(c.map((x) => [x.bqi, x.status, x.length])).toEqual([[2, AN1_RXST.OK, f.length]]);
  if (invalidate) kit.invalidateDcache(BUF, f.length);
  return kit.readRam(BUF, f.length);
}

function bench(dcache?: boolean): Devkit {
  const kit = createDevkit({ an1: { firmware: createBqiFirmware() }, ...(dcache !== undefined ? { dcache } : {}) });
  kit.an1.write('IMR', AN1_ISR.RXDONE);
  kit.an1.write('CSR', AN1_CSR.RXEN | AN1_CSR.INTEN);
  return kit;
}

describe('devkit data cache: a DMAed buffer read without invalidation is stale', () => {
  it('the bug: the second frame into a reused buffer reads as the first one', () => {
    const kit = bench();
    expect(receive(kit, frame(1), false)).toEqual(frame(1)); // cold lines: memory
    const second = receive(kit, frame(2), false);
    expect(second).toEqual(frame(1)); // every line of the buffer was cached: all stale
    expect(second).not.toEqual(frame(2));
    expect(kit.backdoor.peekBlock(BUF, 200)).toEqual(frame(2)); // memory has the new frame
    expect(kit.dcache!.staleReads).toBe(1);
  });

  it('the fix: invalidating the buffer before reading gives the new frame', () => {
    const kit = bench();
    expect(receive(kit, frame(1), true)).toEqual(frame(1));
    expect(receive(kit, frame(2), true)).toEqual(frame(2));
    expect(receive(kit, frame(3), true)).toEqual(frame(3));
    expect(kit.dcache!.staleReads).toBe(0);
    expect(kit.dcache!.linesInvalidated).toBe(2 * 50); // frames 2 and 3 found 50 cached 4-byte lines
  });

  it('invalidating only part of the buffer leaves the rest stale, line by line', () => {
    const kit = bench();
    receive(kit, frame(1), false);
    const an1 = kit.an1;
    an1.openRing(2, 0, [{ addr: BUF, length: 2048 }]);
    kit.linkPeer.send(frame(2));
    expect(kit.runUntil(() => kit.interruptAsserted(), { nsMax: 2_000_000 })).toBe(true);
    an1.write('ISR', AN1_ISR.RXDONE);
    an1.popCompletions();
    kit.invalidateDcache(BUF, 20); // the header only: lines 0..4
    const got = kit.readRam(BUF, 200);
    expect(got.subarray(0, 20)).toEqual(frame(2).subarray(0, 20));
    expect(got.subarray(20)).toEqual(frame(1).subarray(20));
  });

  it('off (dcache: false): the CPU always sees memory, as in the paper scenarios', () => {
    const kit = bench(false);
    expect(kit.dcache).toBeUndefined();
    receive(kit, frame(1), false);
    expect(receive(kit, frame(2), false)).toEqual(frame(2));
  });

  it('CPU stores are write-through: a driver reads back what it wrote', () => {
    const kit = bench();
    kit.writeRam(0x20000, Uint8Array.of(1, 2, 3, 4, 5, 6));
    expect(kit.readRam(0x20000, 6)).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6));
    expect(kit.readRam32(0x20000)).toBe(0x04030201);
  });
});

describe('DataCache (direct mapped, write-through, no snooping)', () => {
  const mem = new Uint8Array(1 << 20);
  const line = (a: number, d: Uint8Array): void => d.set(mem.subarray(a, a + d.length));
  const read = (c: DataCache, a: number, n: number): Uint8Array => c.read(a, mem.slice(a, a + n), line);

  it('a conflicting line (same index, 64 KB apart) evicts: the next read sees memory', () => {
    const c = new DataCache(4, 64 * 1024);
    mem[0x100] = 7;
    expect(read(c, 0x100, 1)[0]).toBe(7);
    mem[0x100] = 8; // "DMA"
    expect(read(c, 0x100, 1)[0]).toBe(7); // stale
    read(c, 0x100 + 64 * 1024, 1); // evicts index 0x40
    expect(read(c, 0x100, 1)[0]).toBe(8);
  });

  it('a partial store that misses does not allocate; one that hits updates the line', () => {
    const c = new DataCache(4, 64 * 1024);
    c.write(0x200, Uint8Array.of(9)); // miss, partial: not cached
    mem[0x200] = 1;
    expect(read(c, 0x200, 1)[0]).toBe(1);
    c.write(0x200, Uint8Array.of(5));
    mem[0x200] = 5; // the caller writes memory too
    expect(read(c, 0x200, 1)[0]).toBe(5);
  });
});
