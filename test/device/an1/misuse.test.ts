/**
 * Driver misuse: the board reports it with error status, counters and a guest-error trace, and
 * never throws (DESIGN.md "Devices"; QEMU LOG_GUEST_ERROR).
 */
import { describe, expect, it } from 'vitest';
import { buildBench, bqiOff, CSR, HDR, ISR, makeFrame, openRing, popAll, R, RXST, settle, withCrc } from './harness.ts';

const RAM = 8 * 1024 * 1024;
const payload = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 5 + 3) & 0xff);

function rxBench() {
  const b = buildBench({ ramBytes: RAM });
  b.wr(R.CSR, CSR.RXEN | CSR.TXEN | CSR.INTEN);
  b.wr(R.IMR, 0x1f);
  return b;
}

describe('AN1 receive misuse', () => {
  it('a descriptor outside RAM: DMA error status, DMAERRS, RXERR, nothing written, slot consumed', () => {
    const b = rxBench();
    openRing(b, 2, 1, [{ addr: RAM - 0x100, len: 4096 }, { addr: 0x10000, len: 4096 }], true);
    b.probe.send([withCrc(makeFrame(2, payload(600))), withCrc(makeFrame(2, payload(600)))]);
    expect(() => settle(b)).not.toThrow();
    expect(popAll(b)).toEqual([
      { bqi: 2, slot: 0, status: RXST.DMA_ERROR, length: 0 },
      { bqi: 2, slot: 1, status: RXST.OK, length: 620 },
    ]);
    expect(b.backdoorRam(RAM - 0x100, 0x100)).toEqual(new Uint8Array(0x100));
    expect(b.rd(R.DMAERRS)).toBe(1);
    expect(b.rd(R.ISR) & ISR.RXERR).toBe(ISR.RXERR);
    expect(b.trace.guestErrorsTotal).toBeGreaterThan(0);
  });

  it('unaligned and zero-length descriptors: buffer error status, DESCERRS, nothing written', () => {
    const b = rxBench();
    b.backdoorFill(0x20000, 0x100, 0xee);
    openRing(b, 4, 2, [{ addr: 0x20002, len: 4096 }, { addr: 0x30000, len: 0 }, { addr: 0x40000, len: 4096 }], true);
    b.probe.send([1, 2, 3].map(() => withCrc(makeFrame(4, payload(100)))));
    settle(b);
    expect(popAll(b).map((c) => [c.slot, c.status, c.length])).toEqual([
      [0, RXST.BUFFER_ERROR, 0],
      [1, RXST.BUFFER_ERROR, 0],
      [2, RXST.OK, 120],
    ]);
    expect(b.backdoorRam(0x20000, 0x100)).toEqual(new Uint8Array(0x100).fill(0xee));
    expect(b.rd(R.DESCERRS)).toBe(2);
    expect(b.trace.guestErrorsTotal).toBe(2);
  });

  it('frames over MAXFRAME are discarded and counted until MAXFRAME is raised', () => {
    const b = rxBench();
    openRing(b, 0, 6, [{ addr: 0x10000, len: 4096 }, { addr: 0x11000, len: 4096 }], true);
    const big = withCrc(makeFrame(0, payload(2000)));
    b.probe.send([big]);
    settle(b);
    expect(b.rd(R.RXC_COUNT)).toBe(0);
    expect(b.rd(R.RXERRS)).toBe(1);
    expect(b.rd(R.ISR) & ISR.RXERR).toBe(ISR.RXERR);
    b.wr(R.MAXFRAME, 4096);
    b.probe.send([big]);
    settle(b);
    expect(popAll(b)).toEqual([{ bqi: 0, slot: 0, status: RXST.OK, length: 2020 }]);
  });

  it('a bad CRC or a runt is counted as an error and never delivered', () => {
    const b = rxBench();
    openRing(b, 0, 6, [{ addr: 0x10000, len: 4096 }], true);
    const bad = withCrc(makeFrame(0, payload(300)));
    bad[100] = bad[100]! ^ 0x40;
    b.probe.send([bad, withCrc(new Uint8Array(10))]);
    settle(b);
    expect(b.rd(R.RXC_COUNT)).toBe(0);
    expect(b.rd(R.RXERRS)).toBe(2);
    expect(b.backdoorRam(0x10000, 16)).toEqual(new Uint8Array(16));
  });

  it('a buffer shorter than the frame gets the frame truncated, not overrun', () => {
    const b = rxBench();
    b.backdoorFill(0x50000, 256, 0x77);
    openRing(b, 0, 6, [{ addr: 0x50000, len: 100 }], true);
    b.probe.send([withCrc(makeFrame(0, payload(600)))]);
    settle(b);
    expect(popAll(b)).toEqual([{ bqi: 0, slot: 0, status: RXST.TRUNCATED, length: 100 }]);
    expect(b.backdoorRam(0x50000 + 100, 156)).toEqual(new Uint8Array(156).fill(0x77));
  });

  it('refuses over-posting, oversized rings, ring resizing with buffers out, and bad MAXFRAME', () => {
    const b = rxBench();
    b.wr(bqiOff(7, R.BQ_CTRL), 2 << 8); // ring of 4
    b.wr(bqiOff(7, R.BQ_POSTED), 5);
    expect(b.rd(bqiOff(7, R.BQ_POSTED))).toBe(0);
    b.wr(bqiOff(7, R.BQ_POSTED), 4);
    expect(b.rd(bqiOff(7, R.BQ_POSTED))).toBe(4);
    b.wr(bqiOff(7, R.BQ_CTRL), 3 << 8);
    expect(b.rd(bqiOff(7, R.BQ_CTRL))).toBe(2 << 8);
    b.wr(bqiOff(8, R.BQ_CTRL), 7 << 8);
    expect(b.rd(bqiOff(8, R.BQ_CTRL))).toBe(0);
    b.wr(R.MAXFRAME, 5000);
    expect(b.rd(R.MAXFRAME)).toBe(1520);
    b.wr(R.MAXFRAME, 10);
    expect(b.rd(R.MAXFRAME)).toBe(1520);
    expect(b.rd(R.DESCERRS)).toBe(3);
    expect(b.trace.guestErrorsTotal).toBe(5);
  });

  it('odd-sized, unaligned, read-only and unmapped accesses are guest errors, not throws', () => {
    const b = rxBench();
    const base = R.SLOT_BASE;
    expect(() => {
      b.host.bus.write16(base + R.CSR, 0xffff);
      b.host.bus.read8(base + R.ISR);
      b.host.bus.write32(base + R.CSR + 2, 1);
      b.wr(R.NBQI, 3);
      b.wr(bqiOff(1, R.BQ_FILLED), 9);
      b.wr(R.TX_DONE, 1);
      b.wr(0x5000, 1);
      b.rd(0x8000);
      b.wr(0x100, 1); // ROM
    }).not.toThrow();
    expect(b.trace.guestErrorsTotal).toBe(9);
    expect(b.rd(R.NBQI)).toBe(64);
    expect(b.rd(bqiOff(1, R.BQ_FILLED))).toBe(0);
  });
});

describe('AN1 transmit misuse', () => {
  it('TX_ADDR outside RAM: DMA error status, TX_FAILED, TXERR, nothing on the wire', () => {
    const b = rxBench();
    b.wr(R.TX_ADDR, RAM - 100);
    b.wr(R.TX_LEN, 1000);
    settle(b);
    expect(b.probe.arrived).toHaveLength(0);
    expect(b.rd(R.TX_STATUS)).toBe(1);
    expect(b.rd(R.TX_FAILED)).toBe(1);
    expect(b.rd(R.TX_DONE)).toBe(0);
    expect(b.rd(R.DMAERRS)).toBe(1);
    expect(b.rd(R.ISR) & ISR.TXERR).toBe(ISR.TXERR);
  });

  it('too long, too short and unaligned frames are refused with their status', () => {
    const b = rxBench();
    const frame = makeFrame(1, payload(1500));
    b.host.bus.writeBlock(0x60000, frame);
    const statuses: number[] = [];
    for (const [addr, len] of [
      [0x60000, 2000],
      [0x60000, 10],
      [0x60002, 100],
      [0x60000, frame.length],
    ] as const) {
      b.wr(R.TX_ADDR, addr);
      b.wr(R.TX_LEN, len);
      settle(b);
      statuses.push(b.rd(R.TX_STATUS));
    }
    expect(statuses).toEqual([2, 3, 1, 0]);
    expect(b.rd(R.TX_FAILED)).toBe(3);
    expect(b.rd(R.TX_DONE)).toBe(1);
    expect(b.probe.arrived).toHaveLength(1);
    expect(b.probe.arrived[0]!.length).toBe(HDR + 1500 + 4);
  });

  it('a TX_LEN write to a full queue is refused', () => {
    const b = buildBench({ ramBytes: RAM });
    for (let i = 0; i < 33; i++) {
      b.wr(R.TX_ADDR, 0x1000);
      b.wr(R.TX_LEN, 100);
    }
    expect(b.rd(R.TX_FREE)).toBe(0);
    expect(b.trace.guestErrorsTotal).toBe(1);
    b.wr(R.CSR, CSR.TXEN);
    settle(b);
    expect(b.rd(R.TX_DONE)).toBe(32);
  });
});
