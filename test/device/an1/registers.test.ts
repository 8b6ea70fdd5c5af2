/**
 * Black-box register tests: the board seen only through the physical bus and the wire.
 */
import { describe, expect, it } from 'vitest';
import { buildBench, bqiOff, CSR, decodeCompletion, descOff, HDR, ISR, makeFrame, openRing, popAll, R, RXC_EMPTY, RXST, settle, withCrc } from './harness.ts';

const text = (b: ReturnType<typeof buildBench>, off: number): string => {
  let s = '';
  for (let i = 0; i < 8; i++) s += String.fromCharCode(b.rd(off + 4 * i) & 0xff);
  return s;
};

const payload = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);

describe('AN1 option ROM and reset state', () => {
  it('identifies as AN1-TC from DEC in the TURBOchannel ROM header', () => {
    const b = buildBench();
    expect(text(b, R.ROM_MODULE)).toBe('AN1-TC  ');
    expect(text(b, R.ROM_VENDOR)).toBe('DEC     ');
    expect(b.rd(0x3f0) & 0xff).toBe(0x55); // test pattern 55 00 AA FF
    expect(b.rd(0x3f8) & 0xff).toBe(0xaa);
  });

  it('comes out of reset with the §8.2 values', () => {
    const b = buildBench();
    expect(b.rd(R.CSR)).toBe(CSR.LINKUP);
    expect(b.rd(R.ISR)).toBe(0);
    expect(b.rd(R.IMR)).toBe(0);
    expect(b.rd(R.MAXFRAME)).toBe(1520);
    expect(b.rd(R.NBQI)).toBe(64);
    expect(b.rd(R.RINGSLOTS)).toBe(64);
    expect(b.rd(R.FWREV) >>> 31).toBe(1);
    expect(b.rd(R.UID_LO)).toBe(0x2b000042);
    expect(b.rd(R.UID_HI)).toBe(0x0800);
    expect(b.rd(bqiOff(0, R.BQ_CTRL))).toBe(0x601);
    expect(b.rd(bqiOff(1, R.BQ_CTRL))).toBe(0);
    expect(b.rd(R.TX_FREE)).toBe(32);
    expect(b.rd(R.RXC_POP)).toBe(RXC_EMPTY);
    expect(b.rd(R.RXC_COUNT)).toBe(0);
    expect(b.trace.guestErrorsTotal).toBe(0);
  });

  it('RESET self-clears and restores every register, except the clock', () => {
    const b = buildBench();
    b.wr(R.IMR, 0x1f);
    b.wr(R.MAXFRAME, 4096);
    b.wr(bqiOff(5, R.BQ_CTRL), 0x301);
    b.sched.runFor(4_000);
    b.wr(R.CSR, CSR.RESET | CSR.RXEN);
    expect(b.rd(R.CSR)).toBe(CSR.LINKUP);
    expect(b.rd(R.IMR)).toBe(0);
    expect(b.rd(R.MAXFRAME)).toBe(1520);
    expect(b.rd(bqiOff(5, R.BQ_CTRL))).toBe(0);
    expect(b.rd(R.CLOCK)).toBe(100);
  });
});

describe('AN1 clock page', () => {
  it('counts exact 40 ns ticks of simulated time', () => {
    const b = buildBench();
    expect(b.rd(R.CLOCK)).toBe(0);
    b.sched.runFor(39);
    expect(b.rd(R.CLOCK)).toBe(0);
    b.sched.runFor(1);
    expect(b.rd(R.CLOCK)).toBe(1);
    b.sched.runFor(1_000_000 - 40);
    expect(b.rd(R.CLOCK)).toBe(25_000); // 25 ticks per µs
    expect(b.rd(R.CLOCK_HI)).toBe(0);
  });

  it('wraps at 2^32 ticks and latches the high word when CLOCK is read', () => {
    const b = buildBench();
    b.sched.runFor(2 ** 32 * 40 + 80);
    expect(b.rd(R.CLOCK)).toBe(2);
    expect(b.rd(R.CLOCK_HI)).toBe(1);
  });
});

describe('AN1 interrupt status, mask and line', () => {
  it('ISR is write-1-to-clear; the line follows INTEN and ISR & IMR', () => {
    const b = buildBench();
    const kn02Pending = (): number => b.host.bus.read32(R.KN02_CSR) & (1 << R.SLOT);
    openRing(b, 0, 6, [{ addr: 0x10000, len: 4096 }], true);
    b.wr(R.IMR, ISR.TXDONE);
    b.wr(R.CSR, CSR.RXEN | CSR.TXEN | CSR.INTEN | CSR.LOOPBACK);
    b.host.bus.writeBlock(0x20000, makeFrame(0, payload(100)));
    b.wr(R.TX_ADDR, 0x20000);
    b.wr(R.TX_LEN, HDR + 100);
    settle(b);
    expect(b.rd(R.ISR)).toBe(ISR.TXDONE | ISR.RXDONE);
    expect(kn02Pending()).not.toBe(0);
    b.wr(R.ISR, ISR.TXDONE);
    expect(b.rd(R.ISR)).toBe(ISR.RXDONE);
    expect(kn02Pending()).toBe(0); // RXDONE is masked
    b.wr(R.IMR, ISR.RXDONE);
    expect(kn02Pending()).not.toBe(0);
    b.wr(R.CSR, CSR.RXEN | CSR.TXEN);
    expect(kn02Pending()).toBe(0); // INTEN clear
    b.wr(R.ISR, 0); // writing 0 clears nothing
    expect(b.rd(R.ISR)).toBe(ISR.RXDONE);
  });
});

describe('AN1 receive path', () => {
  it('loopback: the whole frame, link header included, lands in BQI 0, CRC stripped', () => {
    const b = buildBench();
    b.wr(R.CSR, CSR.RXEN | CSR.TXEN | CSR.LOOPBACK);
    openRing(b, 0, 6, [{ addr: 0x10000, len: 4096 }], true);
    const frame = makeFrame(0, payload(1500));
    b.host.bus.writeBlock(0x30000, frame);
    b.wr(R.TX_ADDR, 0x30000);
    b.wr(R.TX_LEN, frame.length);
    settle(b);
    expect(b.rd(R.TX_DONE)).toBe(1);
    expect(b.rd(R.TX_STATUS)).toBe(0);
    expect(popAll(b)).toEqual([{ bqi: 0, slot: 0, status: RXST.OK, length: 1520 }]);
    expect(b.backdoorRam(0x10000, 1520)).toEqual(frame);
    expect(b.backdoorRam(0x10000 + 1520, 4)).toEqual(new Uint8Array(4)); // no CRC in host memory
    expect(b.rd(bqiOff(0, R.BQ_FILLED))).toBe(1);
    expect(b.rd(R.RXFRAMES)).toBe(1);
  });

  it('demultiplexes by DST_BQI, redirecting disabled and out-of-range BQIs to BQI 0', () => {
    const b = buildBench();
    b.wr(R.CSR, CSR.RXEN);
    openRing(b, 0, 2, [0, 1, 2].map((i) => ({ addr: 0x100000 + i * 0x1000, len: 4096 })), true);
    openRing(b, 5, 2, [0, 1].map((i) => ({ addr: 0x200000 + i * 0x1000, len: 4096 })), true);
    openRing(b, 6, 2, [{ addr: 0x300000, len: 4096 }], false); // disabled
    b.probe.send([5, 6, 0xffff, 5].map((q) => withCrc(makeFrame(q, payload(64, q)))));
    settle(b);
    expect(popAll(b)).toEqual([
      { bqi: 5, slot: 0, status: RXST.OK, length: 84 },
      { bqi: 0, slot: 0, status: RXST.REDIRECTED, length: 84 },
      { bqi: 0, slot: 1, status: RXST.REDIRECTED, length: 84 },
      { bqi: 5, slot: 1, status: RXST.OK, length: 84 },
    ]);
    expect(b.backdoorRam(0x100000 + 0x1000 + 2, 2)).toEqual(Uint8Array.of(0xff, 0xff));
    expect(b.backdoorRam(0x300000, 84)).toEqual(new Uint8Array(84)); // the disabled ring is untouched
  });

  it('a full ring drops and counts, never overwrites', () => {
    const b = buildBench();
    b.wr(R.CSR, CSR.RXEN | CSR.INTEN);
    b.wr(R.IMR, ISR.RXDROP);
    openRing(b, 3, 1, [{ addr: 0x100000, len: 2048 }, { addr: 0x101000, len: 2048 }], true);
    b.probe.send([1, 2, 3, 4].map((i) => withCrc(makeFrame(3, payload(200, i)))));
    settle(b);
    expect(popAll(b).map((c) => c.slot)).toEqual([0, 1]);
    expect(b.rd(R.ISR) & ISR.RXDROP).toBe(ISR.RXDROP);
    expect(b.rd(bqiOff(3, R.BQ_DROPS))).toBe(2);
    expect(b.rd(R.DROPS)).toBe(2);
    expect(b.rd(R.DROPS)).toBe(0); // clear on read
    expect(b.backdoorRam(0x100000 + HDR, 200)).toEqual(payload(200, 1));
    expect(b.backdoorRam(0x101000 + HDR, 200)).toEqual(payload(200, 2));
  });

  it('counts frames arriving with RXEN clear as overruns and delivers nothing', () => {
    const b = buildBench();
    b.probe.send([withCrc(makeFrame(0, payload(50)))]);
    settle(b);
    expect(b.rd(R.OVERRUNS)).toBe(1);
    expect(b.rd(R.RXC_COUNT)).toBe(0);
  });

  it('posts the completion exactly when wire, firmware and DMA time have elapsed', () => {
    const b = buildBench();
    const c = b.ctx.costs;
    b.wr(R.CSR, CSR.RXEN);
    openRing(b, 0, 6, [{ addr: 0x10000, len: 4096 }], true);
    b.probe.send([withCrc(makeFrame(0, payload(1500)))]);
    b.sched.runUntil(() => b.kit.backdoor.peek32(R.SLOT_BASE + R.RXC_COUNT) > 0, { nsMax: 1_000_000 });
    const wire = (1520 + 4) * 80 + c.get('an1.wireFramingNs') + c.get('an1.linkPropagationNs');
    const fwRx = ['an1.fwRxDispatchCycles', 'an1.fwRxCheckCycles', 'an1.fwRxBqiLookupCycles', 'an1.fwRxDescriptorCycles', 'an1.fwRxDmaSetupCycles'].reduce(
      (s, k) => s + c.get(k),
      0,
    );
    const dma = c.get('an1.dmaSetupNs') + 1520 * c.get('an1.dmaNsPerByte');
    expect(b.sched.now).toBe(wire + fwRx * 40 + dma + c.get('an1.fwRxCompleteCycles') * 40);
    expect(decodeCompletion(b.rd(R.RXC_POP)).length).toBe(1520);
  });

  it('takes its timing from the cost table (what-if: slower DMA, slower firmware)', () => {
    const at = (costs: Record<string, number>): number => {
      const b = buildBench({ costs });
      b.wr(R.CSR, CSR.RXEN);
      openRing(b, 0, 6, [{ addr: 0x10000, len: 4096 }], true);
      b.probe.send([withCrc(makeFrame(0, payload(1000)))]);
      b.sched.runUntil(() => b.kit.backdoor.peek32(R.SLOT_BASE + R.RXC_COUNT) > 0, { nsMax: 1_000_000 });
      return b.sched.now;
    };
    const base = at({});
    expect(at({ 'an1.dmaNsPerByte': 80 }) - base).toBe(1020 * 40);
    expect(at({ 'an1.fwRxBqiLookupCycles': 120 }) - base).toBe(100 * 40);
  });

  it('keeps descriptors in on-board registers that read back as written', () => {
    const b = buildBench();
    b.wr(descOff(9, 63), 0x123450);
    b.wr(descOff(9, 63) + 4, 777);
    expect(b.rd(descOff(9, 63))).toBe(0x123450);
    expect(b.rd(descOff(9, 63) + 4)).toBe(777);
  });
});

describe('AN1 transmit path', () => {
  it('sends a frame with a correct CRC at 10 ns a bit and counts it', () => {
    const b = buildBench();
    b.wr(R.CSR, CSR.TXEN);
    const frame = makeFrame(7, payload(1000));
    b.host.bus.writeBlock(0x40000, frame);
    b.wr(R.TX_ADDR, 0x40000);
    b.wr(R.TX_LEN, frame.length);
    expect(b.rd(R.TX_FREE)).toBe(31);
    settle(b);
    expect(b.probe.arrived).toHaveLength(1);
    expect(b.probe.arrived[0]).toEqual(withCrc(frame));
    expect(b.rd(R.TX_DONE)).toBe(1);
    expect(b.rd(R.TX_FREE)).toBe(32);
    expect(b.rd(R.ISR) & ISR.TXDONE).toBe(ISR.TXDONE);
  });

  it('holds queued frames until TXEN and then keeps the wire busy back to back', () => {
    const b = buildBench();
    const frame = makeFrame(1, payload(1500));
    b.host.bus.writeBlock(0x40000, frame);
    for (let i = 0; i < 10; i++) {
      b.wr(R.TX_ADDR, 0x40000);
      b.wr(R.TX_LEN, frame.length);
    }
    b.sched.runFor(1_000_000);
    expect(b.probe.arrived).toHaveLength(0);
    const t0 = b.sched.now;
    b.wr(R.CSR, CSR.TXEN);
    b.sched.runUntil(() => b.probe.arrived.length === 10, { nsMax: 10_000_000 });
    const wire = (1524 * 80 + 1000);
    // first frame waits for firmware + DMA; then one frame per wire time
    const firstDelay = b.sched.now - t0 - 10 * wire - 500;
    expect(firstDelay).toBeGreaterThan(60_000);
    expect(firstDelay).toBeLessThan(70_000);
  });
});

describe('AN1 limits under load', () => {
  it('tiny frames back to back outrun the receive path: overruns are counted, the rest delivered in order', () => {
    const b = buildBench();
    b.wr(R.CSR, CSR.RXEN);
    openRing(b, 0, 6, Array.from({ length: 40 }, (_, k) => ({ addr: 0x100000 + k * 0x1000, len: 4096 })), true);
    b.probe.send(Array.from({ length: 40 }, (_, i) => withCrc(makeFrame(0, Uint8Array.of(i)))));
    settle(b);
    const got = popAll(b);
    const overruns = b.rd(R.OVERRUNS);
    expect(overruns).toBeGreaterThan(0);
    expect(got.length + overruns).toBe(40);
    const firstBytes = got.map((c) => b.backdoorRam(0x100000 + c.slot * 0x1000 + HDR, 1)[0]!);
    expect(firstBytes).toEqual([...firstBytes].sort((x, y) => x - y));
  });

  it('a full completion FIFO (128) drops further frames as overruns instead of losing completions', () => {
    const b = buildBench();
    b.wr(R.CSR, CSR.RXEN);
    openRing(b, 0, 6, Array.from({ length: 64 }, (_, k) => ({ addr: 0x100000 + k * 0x1000, len: 4096 })), true);
    for (const q of [1, 2]) openRing(b, q, 6, Array.from({ length: 64 }, (_, k) => ({ addr: 0x100000 + q * 0x40000 + k * 0x1000, len: 4096 })), true);
    b.probe.gapNsMin = 20_000;
    b.probe.send(Array.from({ length: 140 }, (_, i) => withCrc(makeFrame(i % 3, Uint8Array.of(i)))));
    settle(b);
    expect(b.rd(R.RXC_COUNT)).toBe(128);
    expect(b.rd(R.OVERRUNS)).toBe(12);
    expect(popAll(b)).toHaveLength(128);
  });

  it('RESET in the middle of a transmit stream neither throws nor overlaps frames on the wire', () => {
    const b = buildBench();
    b.wr(R.CSR, CSR.TXEN | CSR.RXEN);
    const frame = makeFrame(0, new Uint8Array(1500).fill(9));
    b.host.bus.writeBlock(0x40000, frame);
    const queue = (n: number): void => {
      for (let i = 0; i < n; i++) {
        b.wr(R.TX_ADDR, 0x40000);
        b.wr(R.TX_LEN, frame.length);
      }
    };
    queue(10);
    b.sched.runFor(150_000); // frame 1 on the wire, frame 2 in DMA
    expect(() => {
      b.wr(R.CSR, CSR.RESET);
      b.wr(R.CSR, CSR.TXEN);
      queue(3);
      settle(b);
    }).not.toThrow();
    expect(b.rd(R.TX_DONE)).toBe(3);
    expect(b.probe.arrived.length).toBe(4); // the frame already on the wire finished
    expect(b.probe.arrived.every((f) => f.length === 1524)).toBe(true);
  });
});
