/**
 * AN1 register-level suite on the devkit (issue 16 item 6), written from the register map
 * (docs/an1.md, docs/registers/an1.md) the way a driver developer would: descriptor posting, ring
 * wrap, the BQI table, drops when a ring has no buffer, DMA outside RAM refused, interrupts and
 * their acknowledgement, misuse giving the controller's own error bits or guest errors — and never
 * a host exception (fast-check: random register accesses never throw, and the board still works
 * after a RESET).
 *
 * The test is the driver: it reads received frames as the CPU would, through the kit's data cache,
 * invalidating each buffer first (docs/devkit.md "Data cache").
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AN1_BQI, AN1_CSR, AN1_ISR, AN1_REGS, AN1_RXST, createDevkit, type Completion, type Devkit,
} from '../../../emulator/devkit/index.ts';
import { createBqiFirmware } from '../../../firmware/an1/main.ts';

const RAM = 8 * 1024 * 1024;
const NS = { nsMax: 5_000_000 };

function bench(): Devkit {
  const kit = createDevkit({ an1: { firmware: createBqiFirmware() }, ramBytes: RAM });
  kit.an1.write('IMR', AN1_ISR.RXDONE | AN1_ISR.TXDONE | AN1_ISR.RXDROP | AN1_ISR.RXERR | AN1_ISR.TXERR);
  kit.an1.write('CSR', AN1_CSR.RXEN | AN1_CSR.TXEN | AN1_CSR.INTEN);
  return kit;
}

/** A link frame for BQI `bqi` (DST_BQI at bytes 2..3, big-endian) with a tagged payload. */
function frame(bqi: number, length: number, tag: number): Uint8Array {
  const f = new Uint8Array(length);
  f[2] = bqi >>> 8;
  f[3] = bqi & 0xff;
  for (let i = 20; i < length; i++) f[i] = (tag * 7 + i) & 0xff;
  return f;
}

/** Send frames from the peer and wait until `n` completions are queued (or the limit). */
function deliver(kit: Devkit, frames: readonly Uint8Array[], n = frames.length): boolean {
  for (const f of frames) kit.linkPeer.send(f);
  return kit.runUntil(() => kit.backdoor.peek32(kit.an1.base + AN1_REGS.RXC_COUNT) >= n, NS);
}

/** Settle: run until the peer has nothing pending and a little longer for the last DMA. */
function settle(kit: Devkit): void {
  kit.runUntil(() => kit.linkPeer.pending === 0, NS);
  kit.runFor(500_000);
}

/** The driver's receive: acknowledge, then pop until empty (the recipe of docs/an1.md). */
function receiveAll(kit: Devkit): Completion[] {
  kit.an1.write('ISR', AN1_ISR.RXDONE);
  return kit.an1.popCompletions();
}

/** Read a received buffer as the CPU does: invalidate its lines, then load. */
function cpuRead(kit: Devkit, addr: number, length: number): Uint8Array {
  kit.invalidateDcache(addr, length);
  return kit.readRam(addr, length);
}

describe('AN1 suite: descriptor posting and ring wrap', () => {
  it('posted buffers are filled in slot order; BQ_FILLED follows; the bytes land where posted', () => {
    const kit = bench();
    const bufs = [0x10000, 0x11000, 0x12000].map((addr) => ({ addr, length: 0x800 }));
    kit.an1.openRing(4, 2, bufs);
    expect(kit.an1.readBqi(4, 'BQ_POSTED')).toBe(3);
    const fs = [100, 300, 1520].map((n, k) => frame(4, n, k));
    expect(deliver(kit, fs)).toBe(true);
    const c = receiveAll(kit);
    expect(c).toEqual(fs.map((f, k) => ({ bqi: 4, slot: k, status: AN1_RXST.OK, length: f.length })));
    expect(kit.an1.readBqi(4, 'BQ_FILLED')).toBe(3);
    fs.forEach((f, k) => expect(cpuRead(kit, bufs[k]!.addr, f.length)).toEqual(f));
    expect(kit.guestErrorCount).toBe(0);
  });

  it('a ring of 4 wraps: slots 0..3 twice, buffers reused after reposting, counters mod 2^16', () => {
    const kit = bench();
    const bufs = [0, 1, 2, 3].map((k) => ({ addr: 0x20000 + 0x1000 * k, length: 0x800 }));
    kit.an1.openRing(9, 2, bufs);
    const first = [0, 1, 2, 3].map((k) => frame(9, 64 + k, k));
    expect(deliver(kit, first)).toBe(true);
    expect(receiveAll(kit).map((c) => c.slot)).toEqual([0, 1, 2, 3]);
    // Repost the same four buffers: descriptors first, then BQ_POSTED (= FILLED + 4 = 8).
    kit.an1.openRing(9, 2, bufs);
    expect(kit.an1.readBqi(9, 'BQ_POSTED')).toBe(8);
    const second = [0, 1, 2, 3].map((k) => frame(9, 80 + k, 10 + k));
    expect(deliver(kit, second)).toBe(true);
    const c = receiveAll(kit);
    expect(c.map((x) => [x.slot, x.status, x.length])).toEqual(second.map((f, k) => [k, AN1_RXST.OK, f.length]));
    second.forEach((f, k) => expect(cpuRead(kit, bufs[k]!.addr, f.length)).toEqual(f));
    expect(kit.an1.readBqi(9, 'BQ_FILLED')).toBe(8);
  });

  it('posting more than the ring holds is refused (guest error, DESCERRS) and BQ_POSTED keeps its value', () => {
    const kit = bench();
    kit.an1.writeBqi(5, 'BQ_CTRL', 1 << 8); // ring of 2
    kit.an1.writeBqi(5, 'BQ_POSTED', 3);
    expect(kit.an1.readBqi(5, 'BQ_POSTED')).toBe(0);
    expect(kit.an1.read('DESCERRS')).toBe(1);
    expect(kit.an1.read('DESCERRS')).toBe(0); // clear on read
    expect(kit.guestErrorCount).toBe(1);
  });
});

describe('AN1 suite: the BQI table', () => {
  it('each BQI delivers into its own ring; a disabled or out-of-range BQI is redirected to BQI 0', () => {
    const kit = bench();
    kit.an1.openRing(0, 6, [{ addr: 0x40000, length: 0x800 }, { addr: 0x41000, length: 0x800 }]);
    kit.an1.openRing(7, 1, [{ addr: 0x50000, length: 0x800 }]);
    kit.an1.openRing(63, 1, [{ addr: 0x60000, length: 0x800 }]);
    kit.an1.openRing(12, 1, [{ addr: 0x70000, length: 0x800 }], false); // posted but not enabled
    const fs = [frame(7, 100, 1), frame(63, 120, 2), frame(12, 140, 3), frame(200, 160, 4)];
    expect(deliver(kit, fs)).toBe(true);
    const c = receiveAll(kit);
    expect(c.map((x) => [x.bqi, x.slot, x.status, x.length])).toEqual([
      [7, 0, AN1_RXST.OK, 100],
      [63, 0, AN1_RXST.OK, 120],
      [0, 0, AN1_RXST.REDIRECTED, 140],
      [0, 1, AN1_RXST.REDIRECTED, 160],
    ]);
    expect(cpuRead(kit, 0x50000, 100)).toEqual(fs[0]);
    expect(cpuRead(kit, 0x60000, 120)).toEqual(fs[1]);
    expect(cpuRead(kit, 0x40000, 140)).toEqual(fs[2]);
    expect(cpuRead(kit, 0x70000, 140)).toEqual(new Uint8Array(140)); // the disabled ring's buffer untouched
  });

  it('the table has NBQI entries at 0x10000 + 0x400·i, each with its own registers', () => {
    const kit = bench();
    expect(kit.an1.read('NBQI')).toBe(64);
    expect(kit.an1.read('RINGSLOTS')).toBe(64);
    for (const i of [1, 31, 63]) {
      kit.an1.writeBqi(i, 'BQ_CTRL', (i % 7) << 8);
      kit.an1.writeDescriptor(i, 5, 0x1000 * i, 100 + i);
    }
    for (const i of [1, 31, 63]) {
      expect(kit.an1.readBqi(i, 'BQ_CTRL')).toBe((i % 7) << 8);
      const at = kit.an1.base + AN1_BQI.TABLE + AN1_BQI.STRIDE * i + AN1_BQI.DESC + 8 * 5;
      expect(kit.bus.read32(at)).toBe(0x1000 * i);
      expect(kit.bus.read32(at + 4)).toBe(100 + i);
    }
    expect(kit.an1.readBqi(0, 'BQ_CTRL')).toBe(0x601); // BQI 0 resets enabled, ring of 64
    expect(kit.guestErrorCount).toBe(0);
  });
});

describe('AN1 suite: drops and DMA refusals', () => {
  it('a frame for an enabled ring with no buffer is dropped: DROPS, BQ_DROPS, ISR.RXDROP, no completion', () => {
    const kit = bench();
    kit.an1.openRing(3, 1, []); // enabled, nothing posted
    kit.linkPeer.send(frame(3, 200, 1));
    settle(kit);
    expect(kit.an1.read('RXC_COUNT')).toBe(0);
    expect(kit.an1.readBqi(3, 'BQ_DROPS')).toBe(1);
    expect(kit.an1.read('ISR') & AN1_ISR.RXDROP).toBe(AN1_ISR.RXDROP);
    expect(kit.interruptAsserted()).toBe(true);
    expect(kit.an1.read('DROPS')).toBe(1);
    expect(kit.an1.read('DROPS')).toBe(0);
    // Posting a buffer afterwards: the next frame is delivered.
    kit.an1.openRing(3, 1, [{ addr: 0x30000, length: 0x800 }]);
    expect(deliver(kit, [frame(3, 200, 2)])).toBe(true);
    expect(receiveAll(kit).map((c) => c.status)).toEqual([AN1_RXST.OK]);
  });

  it('a receive buffer outside RAM: DMA error completion, DMAERRS, ISR.RXERR, the slot consumed, RAM untouched', () => {
    const kit = bench();
    kit.an1.openRing(2, 1, [{ addr: RAM - 0x40, length: 0x800 }, { addr: 0x10000, length: 0x800 }]);
    expect(deliver(kit, [frame(2, 300, 1), frame(2, 300, 2)])).toBe(true);
    expect(receiveAll(kit).map((c) => [c.slot, c.status])).toEqual([[0, AN1_RXST.DMA_ERROR], [1, AN1_RXST.OK]]);
    expect(kit.an1.read('DMAERRS')).toBe(1);
    expect(kit.an1.read('ISR') & AN1_ISR.RXERR).toBe(AN1_ISR.RXERR);
    expect(kit.backdoor.peekBlock(RAM - 0x40, 0x40)).toEqual(new Uint8Array(0x40));
  });

  it('a transmit buffer outside RAM: TX_STATUS DMA error, TX_FAILED, ISR.TXERR, nothing on the wire', () => {
    const kit = bench();
    kit.an1.transmit(RAM - 16, 200);
    kit.runFor(1_000_000);
    expect(kit.an1.read('TX_STATUS')).toBe(1);
    expect(kit.an1.read('TX_FAILED')).toBe(1);
    expect(kit.an1.read('TX_DONE')).toBe(0);
    expect(kit.an1.read('ISR') & AN1_ISR.TXERR).toBe(AN1_ISR.TXERR);
    expect(kit.linkPeer.arrivals).toHaveLength(0);
  });
});

describe('AN1 suite: interrupts and their acknowledgement', () => {
  it('the line is INTEN ∧ (ISR ∧ IMR ≠ 0); writing ISR bits acknowledges; TXDONE after a transmit', () => {
    const kit = bench();
    kit.an1.write('IMR', 0);
    kit.an1.openRing(1, 1, [{ addr: 0x10000, length: 0x800 }]);
    expect(deliver(kit, [frame(1, 100, 1)])).toBe(true);
    expect(kit.an1.read('ISR') & AN1_ISR.RXDONE).toBe(AN1_ISR.RXDONE);
    expect(kit.interruptAsserted()).toBe(false); // masked
    kit.an1.write('IMR', AN1_ISR.RXDONE);
    expect(kit.interruptAsserted()).toBe(true);
    kit.an1.write('CSR', AN1_CSR.RXEN | AN1_CSR.TXEN); // INTEN off
    expect(kit.interruptAsserted()).toBe(false);
    kit.an1.write('CSR', AN1_CSR.RXEN | AN1_CSR.TXEN | AN1_CSR.INTEN);
    expect(kit.interruptAsserted()).toBe(true);
    kit.an1.write('ISR', AN1_ISR.TXDONE); // a bit that is not set: no effect
    expect(kit.interruptAsserted()).toBe(true);
    kit.an1.write('ISR', AN1_ISR.RXDONE);
    expect(kit.interruptAsserted()).toBe(false);
    expect(kit.an1.popCompletions()).toHaveLength(1);

    kit.an1.write('IMR', AN1_ISR.TXDONE);
    const out = frame(0, 200, 5);
    kit.writeRam(0x80000, out);
    kit.an1.transmit(0x80000, out.length);
    expect(kit.untilInterrupt(NS)).toBe(true);
    expect(kit.an1.read('ISR') & AN1_ISR.TXDONE).toBe(AN1_ISR.TXDONE);
    expect(kit.an1.read('TX_DONE')).toBe(1);
    kit.an1.write('ISR', AN1_ISR.TXDONE);
    expect(kit.interruptAsserted()).toBe(false);
    expect(kit.untilLinkPeerReceived(1, NS)).toBe(true);
    expect(kit.linkPeer.frames[0]!.subarray(0, out.length)).toEqual(out);
  });

  it('a handler on the CPU acknowledges and drains: every frame of a burst is received, the line ends low', () => {
    const kit = bench();
    kit.an1.write('IMR', AN1_ISR.RXDONE);
    const bufs = Array.from({ length: 8 }, (_, k) => ({ addr: 0x100000 + 0x800 * k, length: 0x800 }));
    kit.an1.openRing(6, 3, bufs);
    const got: Completion[] = [];
    kit.onInterrupt(() => {
      kit.an1.write('ISR', AN1_ISR.RXDONE);
      got.push(...kit.an1.popCompletions());
    });
    kit.enableInterrupts([kit.an1.slot]);
    const fs = Array.from({ length: 8 }, (_, k) => frame(6, 100 + 50 * k, k));
    for (const f of fs) kit.linkPeer.send(f);
    expect(kit.runUntil(() => got.length === 8, NS)).toBe(true);
    expect(got.map((c) => [c.slot, c.status, c.length])).toEqual(fs.map((f, k) => [k, AN1_RXST.OK, f.length]));
    settle(kit);
    expect(kit.interruptAsserted()).toBe(false);
    expect(kit.warnings).toEqual([]);
  });
});

describe('AN1 suite: misuse is the controller\'s error bits or a guest error, never a host exception', () => {
  it('a zero-length descriptor: buffer-error completion and DESCERRS', () => {
    const kit = bench();
    kit.an1.openRing(8, 1, [{ addr: 0x10000, length: 0 }]);
    expect(deliver(kit, [frame(8, 100, 1)])).toBe(true);
    expect(receiveAll(kit).map((c) => c.status)).toEqual([AN1_RXST.BUFFER_ERROR]);
    expect(kit.an1.read('DESCERRS')).toBe(1);
  });

  it('TX_LEN with the queue full is refused with a guest error; TX_FREE never goes below 0', () => {
    const kit = bench();
    kit.an1.write('CSR', AN1_CSR.RXEN); // TXEN off: nothing drains the queue
    kit.writeRam(0x80000, frame(0, 100, 1));
    for (let k = 0; k < 33; k++) kit.an1.transmit(0x80000, 100);
    expect(kit.an1.read('TX_FREE')).toBe(0);
    expect(kit.guestErrorCount).toBe(1);
  });

  const OFFSETS = [
    ...Object.values(AN1_REGS),
    ...[0, 1, 63].flatMap((i) => [0, 4, 8, 12, 0x100, 0x104, 0x1f8, 0x1fc, 0x3fc].map((r) => AN1_BQI.TABLE + AN1_BQI.STRIDE * i + r)),
    0x0, 0x3e0, 0x1040, 0x2020, 0x3008, 0x4008, 0x5000, 0x20000,
  ];
  const access = fc.record({
    offset: fc.oneof(fc.constantFrom(...OFFSETS), fc.integer({ min: 0, max: 0x3fffff })),
    misalign: fc.constantFrom(0, 0, 0, 1, 2),
    size: fc.constantFrom(4, 4, 4, 2, 1),
    write: fc.boolean(),
    value: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 1, 0x601, 0xffffffff, 4096, 9192, 0x80000600)),
    runNs: fc.constantFrom(0, 0, 0, 1_000, 50_000),
  });

  it('random register accesses (any offset, size, alignment, value; frames arriving) never throw, and the board works after RESET', () => {
    fc.assert(
      fc.property(fc.array(access, { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 3 }), (ops, traffic) => {
        const kit = bench();
        for (let k = 0; k < traffic; k++) kit.linkPeer.send(frame(k, 100 + 40 * k, k));
        const addr = (o: { offset: number; misalign: number }): number => kit.an1.base + ((o.offset + o.misalign) & 0x3fffff);
        expect(() => {
          for (const o of ops) {
            const a = addr(o);
            if (o.write) {
              if (o.size === 4) kit.bus.write32(a, o.value);
              else if (o.size === 2) kit.bus.write16(a, o.value & 0xffff);
              else kit.bus.write8(a, o.value & 0xff);
            } else if (o.size === 4) kit.bus.read32(a);
            else if (o.size === 2) kit.bus.read16(a);
            else kit.bus.read8(a);
            if (o.runNs > 0) kit.runFor(o.runNs);
          }
          kit.runFor(2_000_000);
        }).not.toThrow();
        // RESET, then the documented bring-up: a frame is received as usual.
        kit.an1.write('CSR', AN1_CSR.RESET);
        kit.runFor(100_000);
        kit.an1.write('ISR', 0x3f);
        kit.an1.popCompletions();
        kit.an1.write('IMR', AN1_ISR.RXDONE);
        kit.an1.write('CSR', AN1_CSR.RXEN | AN1_CSR.INTEN);
        kit.an1.openRing(5, 1, [{ addr: 0x300000, length: 0x800 }]);
        const f = frame(5, 150, 99);
        kit.linkPeer.send(f);
        expect(kit.runUntil(() => kit.interruptAsserted(), NS)).toBe(true);
        const c = receiveAll(kit);
        expect(c.map((x) => [x.bqi, x.status, x.length])).toEqual([[5, AN1_RXST.OK, 150]]);
        expect(cpuRead(kit, 0x300000, 150)).toEqual(f);
      }),
      { numRuns: 40, seed: 16 },
    );
  });
});
