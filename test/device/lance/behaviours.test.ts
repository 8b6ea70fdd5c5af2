/**
 * One test per behaviour of hw/lance-pmad-aa.md §7 ("what naive emulators get wrong") that applies
 * to the PMAD-AA, through the bus only, with exact time steps.
 */
import { describe, expect, it } from 'vitest';
import { DUT_MAC, PEER_MAC, makeRig, testFrame, type Rig } from './rig.ts';
import {
  BABL, BUF, CERR, CRC, D_ERR, ENP, ERR, IB, IDON, INEA, INIT, INTR, LCAR, MERR, MISS, M_COLL, M_DTCR, M_INTL, M_LOOP, M_PROM,
  OFLO, OWN, RINT, RTRY, RXON, RX_BUF, R_BUFF, STOP, STP, STRT, T3_BUFF, TDMD, TINT, TXON, TX_BUF, UFLO, T_DEF, T_ONE, T_MORE,
  bcnt, bringUp, buildInit, fcsOf, queueTx, rmd, tmd, wireNs,
} from './layout.ts';

const INIT_NS = 7_200;
const TDMD_NS = 600;
const POLL_NS = 1_600_000;
const GAP_NS = 20_000;

function sendTo(r: Rig, data: Uint8Array): number {
  r.peer.send(data);
  const t = wireNs(data.length + 4) + r.segment.propagationNs;
  r.step(t);
  return t;
}

describe('LANCE behaviours naive emulators get wrong', () => {
  it('#1 TXON/RXON come from STRT, not INIT; #2 INIT stays set next to IDON', () => {
    const r = makeRig();
    r.wcsr(0, STOP);
    buildInit(r);
    r.wcsr(0, INIT);
    r.step(INIT_NS);
    const c = r.rdp();
    expect(c & (TXON | RXON)).toBe(0);
    expect(c & INIT).toBe(INIT);
    expect(c & IDON).toBe(IDON);
    r.wrdp(STRT);
    expect(r.rdp() & (TXON | RXON)).toBe(TXON | RXON);
  });

  it('#3 STOP clears every other bit, wins over bits written with it, keeps RAP and CSR1/2', () => {
    const r = makeRig();
    bringUp(r);
    r.peer.send(testFrame(DUT_MAC, PEER_MAC, 64));
    r.step(wireNs(68) + 1000);
    expect(r.rdp() & (RINT | INEA | TXON | RXON)).toBe(RINT | INEA | TXON | RXON);
    expect(r.irqPending()).toBe(true);
    r.wrdp(STOP | STRT | INIT | INEA);
    expect(r.rdp()).toBe(STOP);
    expect(r.irqPending()).toBe(false);
    expect(r.readRap()).toBe(0);
    expect(r.csr(1)).toBe(IB);
  });

  it('#4 CSR1-3 are writable only while stopped; writes while running are ignored and reported, reads are defined', () => {
    const r = makeRig();
    bringUp(r);
    const before = r.guestErrors();
    r.wcsr(1, 0x1234);
    r.wcsr(3, 0x0004);
    expect(r.guestErrors()).toBe(before + 2);
    expect(r.csr(1)).toBe(IB);
    expect(r.csr(3)).toBe(0);
    expect(r.csr(0) & (TXON | RXON)).toBe(TXON | RXON);
  });

  it('#5 ERR and INTR are live ORs; CERR sets ERR but never INTR', () => {
    const r = makeRig({ dutPort: { sqeTest: false } });
    bringUp(r);
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 60));
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS + wireNs(64));
    expect(r.rdp()).toBe(ERR | CERR | TINT | INTR | INEA | RXON | TXON | STRT | INIT);
    r.wrdp(TINT | INEA);
    // CERR alone: ERR on, INTR off, /INTR released.
    expect(r.rdp()).toBe(ERR | CERR | INEA | RXON | TXON | STRT | INIT);
    expect(r.irqPending()).toBe(false);
    r.wrdp(CERR | INEA);
    expect(r.rdp()).toBe(0x0073);
  });

  it('#6 W1C: writing 0 is harmless, a flag raised after the read survives the ack; any CSR0 write without INEA drops it', () => {
    const r = makeRig();
    bringUp(r);
    sendTo(r, testFrame(DUT_MAC, PEER_MAC, 64, 1));
    const seen = r.rdp();
    expect(seen & RINT).toBe(RINT);
    // A transmit completes after the driver's read, before its acknowledge.
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 60));
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS + GAP_NS + wireNs(64));
    expect(r.rdp() & TINT).toBe(TINT);
    r.wrdp((seen & RINT) | INEA);
    expect(r.rdp() & (RINT | TINT | INTR)).toBe(TINT | INTR);
    expect(r.irqPending()).toBe(true);
    r.wrdp(0 | INEA);
    expect(r.rdp() & TINT).toBe(TINT);
    // Linux-style ack without INEA: interrupts off until INEA is written again.
    r.wrdp(TINT);
    expect(r.rdp() & INEA).toBe(0);
    r.wrdp(INEA);
    expect(r.rdp() & INEA).toBe(INEA);
  });

  it('#7 /INTR follows state changes without a register access (frame arrival raises it at its time)', () => {
    const r = makeRig();
    bringUp(r);
    r.peer.send(testFrame(DUT_MAC, PEER_MAC, 64));
    r.step(wireNs(68) + r.segment.propagationNs - 1);
    expect(r.irqPending()).toBe(false);
    r.step(1);
    expect(r.irqPending()).toBe(true);
  });

  it('#8 MISS when no receive descriptor is owned: nothing written, ring index not advanced', () => {
    const r = makeRig();
    bringUp(r, { giveRx: false });
    sendTo(r, testFrame(DUT_MAC, PEER_MAC, 100, 1));
    expect(r.rdp() & (MISS | ERR | INTR | RINT)).toBe(MISS | ERR | INTR);
    expect(r.r16(rmd(0) + 2)).toBe(0);
    expect(r.r16(rmd(0) + 6)).toBe(0);
    r.wrdp(MISS | INEA);
    // Hand over descriptor 1 only: the chip still looks at 0 (no scanning ahead).
    r.w16(rmd(1) + 2, OWN);
    r.step(GAP_NS);
    sendTo(r, testFrame(DUT_MAC, PEER_MAC, 100, 2));
    expect(r.rdp() & MISS).toBe(MISS);
    expect(r.r16(rmd(1) + 2)).toBe(OWN);
    r.wrdp(MISS | INEA);
    r.w16(rmd(0) + 2, OWN);
    r.step(GAP_NS);
    const f = testFrame(DUT_MAC, PEER_MAC, 100, 3);
    sendTo(r, f);
    expect(r.rdp() & (RINT | MISS)).toBe(RINT);
    expect(r.r16(rmd(0) + 2)).toBe(STP | ENP);
    expect([...r.rbytes(RX_BUF, 100)]).toEqual([...f]);
  });

  it('#9 receive chains over any number of buffers; BUFF|OFLO when the next is not owned', () => {
    const r = makeRig();
    bringUp(r, { rxLog2: 4, rxBuf: 128 });
    const f = testFrame(DUT_MAC, PEER_MAC, 1514, 7);
    sendTo(r, f);
    // 1518 bytes over 12 buffers of 128 (11 full + 110).
    for (let i = 0; i < 12; i++) {
      const flags = r.r16(rmd(i) + 2);
      expect(flags & OWN).toBe(0);
      expect(flags & (STP | ENP | D_ERR)).toBe((i === 0 ? STP : 0) | (i === 11 ? ENP : 0));
    }
    expect(r.r16(rmd(11) + 6)).toBe(1518);
    expect([...r.rbytes(RX_BUF, 1518)]).toEqual([...f, ...fcsOf(f)]);
    // Now only 4 buffers left (12..15): the frame runs out of buffers.
    r.wrdp(RINT | INEA);
    r.step(GAP_NS);
    sendTo(r, testFrame(DUT_MAC, PEER_MAC, 1000, 8));
    const last = r.r16(rmd(15) + 2);
    expect(last & (OWN | D_ERR | R_BUFF | OFLO | ENP)).toBe(D_ERR | R_BUFF | OFLO);
    expect(r.rdp() & RINT).toBe(RINT);
    // The chip continues at descriptor 0 (not owned): the next frame is missed, not stored.
    r.wrdp(RINT | INEA);
    r.step(GAP_NS);
    sendTo(r, testFrame(DUT_MAC, PEER_MAC, 100, 9));
    expect(r.rdp() & MISS).toBe(MISS);
    expect(r.guestErrors()).toBe(1); // the BUFF is reported once
  });

  it('#10 MCNT counts the 4 FCS bytes and the FCS is stored; a bad FCS gives CRC|ERR', () => {
    const r = makeRig();
    bringUp(r);
    const f = testFrame(DUT_MAC, PEER_MAC, 200, 1);
    sendTo(r, f);
    expect(r.r16(rmd(0) + 6)).toBe(204);
    expect([...r.rbytes(RX_BUF + 200, 4)]).toEqual([...fcsOf(f)]);
    r.step(GAP_NS);
    r.peer.send(testFrame(DUT_MAC, PEER_MAC, 200, 2), { fcs: 'bad' });
    r.step(wireNs(204) + r.segment.propagationNs);
    expect(r.r16(rmd(1) + 2)).toBe(STP | ENP | D_ERR | CRC);
  });

  it('#11 runts (< 64 bytes) are dropped silently', () => {
    const r = makeRig();
    bringUp(r);
    sendTo(r, testFrame(DUT_MAC, PEER_MAC, 40));
    expect(r.rdp() & (RINT | MISS | ERR)).toBe(0);
    expect(r.r16(rmd(0) + 2)).toBe(OWN);
  });

  it('#12 the chip filters addresses: own, broadcast, LADRF hash, PROM; other unicast dropped', () => {
    const r = makeRig();
    // 01:00:5E:00:00:01 hashes to LADRF word 3 bit 6 (hw doc §2.2 test vector).
    bringUp(r, { ladrf: [0, 0, 0, 0x0040] });
    const other = new Uint8Array([0x08, 0x00, 0x2b, 0x99, 0x99, 0x99]);
    const mcastIn = new Uint8Array([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
    const mcastOut = new Uint8Array([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]);
    const bcast = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    for (const dst of [other, mcastOut, mcastIn, bcast, DUT_MAC]) {
      sendTo(r, testFrame(dst, PEER_MAC, 64));
      r.step(GAP_NS);
    }
    // Exactly three frames landed, in order: mcastIn, broadcast, own.
    expect([...r.rbytes(RX_BUF, 6)]).toEqual([...mcastIn]);
    expect([...r.rbytes(RX_BUF + BUF, 6)]).toEqual([...bcast]);
    expect([...r.rbytes(RX_BUF + 2 * BUF, 6)]).toEqual([...DUT_MAC]);
    expect(r.r16(rmd(3) + 2)).toBe(OWN);
    // PROM takes everything.
    const p = makeRig();
    bringUp(p, { mode: M_PROM });
    sendTo(p, testFrame(other, PEER_MAC, 64));
    expect(p.r16(rmd(0) + 2)).toBe(STP | ENP);
  });

  it('#13 BCNT: 12-bit two\'s complement, ONES nibble ignored, 0 means 4096', () => {
    const r = makeRig();
    bringUp(r);
    // Receive buffer with BCNT word 0x0000 (4096 bytes) takes a whole frame.
    r.w16(rmd(0) + 4, 0x0000);
    const f = testFrame(DUT_MAC, PEER_MAC, 1500, 3);
    sendTo(r, f);
    expect(r.r16(rmd(0) + 2)).toBe(STP | ENP);
    // Transmit descriptor without the ONES nibble: still 100 bytes.
    r.step(GAP_NS);
    const out = testFrame(PEER_MAC, DUT_MAC, 100, 4);
    r.wbytes(TX_BUF, out);
    r.w16(tmd(0) + 4, -100 & 0x0fff);
    r.w16(tmd(0) + 2, OWN | STP | ENP);
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS + wireNs(104) + r.segment.propagationNs);
    expect(r.peer.frames[0]?.length).toBe(104);
    expect(r.guestErrors()).toBe(0);
  });

  it('#14 ring base low 3 bits are ignored (8-byte aligned)', () => {
    const r = makeRig();
    bringUp(r, { rdraLo: 0x0040 | 5 });
    sendTo(r, testFrame(DUT_MAC, PEER_MAC, 64));
    expect(r.r16(rmd(0) + 2)).toBe(STP | ENP);
    expect(r.guestErrorText()).toMatch(/8-byte aligned/);
  });

  it('#15 the transmit ring is polled every 1.6 ms without TDMD; TDMD self-clears', () => {
    const r = makeRig();
    bringUp(r);
    r.step(TDMD_NS); // the STRT poll found nothing
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 60));
    r.step(POLL_NS - 1);
    expect(r.rdp() & TINT).toBe(0);
    r.step(1 + wireNs(64));
    expect(r.rdp() & TINT).toBe(TINT);
    r.wrdp(TINT | INEA | TDMD);
    expect(r.rdp() & TDMD).toBe(TDMD);
    r.step(TDMD_NS);
    expect(r.rdp() & TDMD).toBe(0);
  });

  it('#15b an idle ring stays polled exactly: OWN handed over by one 16-bit write long after it went idle goes out at the next 1.6 ms poll', () => {
    // While the ring is idle the chip's poll is parked (fired virtually); a host write to its
    // memory must wake it, so the frame leaves at the poll it would have left at, not later.
    const r = makeRig();
    bringUp(r);
    const frame = testFrame(PEER_MAC, DUT_MAC, 60);
    r.wbytes(TX_BUF, frame);
    r.w16(tmd(0) + 4, bcnt(frame.length));
    r.w16(tmd(0) + 6, 0);
    r.w16(tmd(0) + 2, STP | ENP); // not yet owned
    r.step(TDMD_NS + 3 * POLL_NS + 1_000); // four idle polls: at TDMD_NS + k * POLL_NS
    r.w16(tmd(0) + 2, OWN | STP | ENP);
    r.step(POLL_NS - 1_000 - 1);
    expect(r.rdp() & TINT).toBe(0);
    r.step(1 + wireNs(64));
    expect(r.rdp() & TINT).toBe(TINT);
    expect(r.r16(tmd(0) + 2) & OWN).toBe(0);
    expect(r.guestErrors()).toBe(0);
  });

  it('#16 a chain without ENP before an unowned descriptor: BUFF|UFLO, TINT, TXON off; RXON stays', () => {
    const r = makeRig();
    bringUp(r);
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 120), STP);
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS);
    expect(r.rdp() & (TINT | TXON | RXON)).toBe(TINT | RXON);
    expect(r.r16(tmd(0) + 2) & (OWN | D_ERR)).toBe(D_ERR);
    expect(r.r16(tmd(0) + 6)).toBe(T3_BUFF | UFLO);
    expect(r.guestErrorText()).toMatch(/no ENP/);
    // The transmitter stays off until re-initialized.
    queueTx(r, 1, testFrame(PEER_MAC, DUT_MAC, 60));
    r.wrdp(INEA | TDMD);
    r.step(POLL_NS * 2);
    expect(r.peer.frames.length).toBe(0);
  });

  it('#17 BABL when more than 1518 bytes go on the wire; the frame is still sent', () => {
    const r = makeRig();
    bringUp(r);
    const big = testFrame(PEER_MAC, DUT_MAC, 1600);
    queueTx(r, 0, big);
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS + wireNs(1604) + r.segment.propagationNs);
    expect(r.rdp() & (BABL | ERR | INTR | TINT)).toBe(BABL | ERR | INTR | TINT);
    expect(r.peer.frames[0]?.length).toBe(1604);
    expect(r.guestErrorText()).toMatch(/giant/);
  });

  it('#18 RAP reads back exactly the CSR number written', () => {
    const r = makeRig();
    for (const n of [3, 1, 2, 0]) {
      r.rap(n);
      expect(r.readRap()).toBe(n);
    }
  });

  it('#19 ESAR byte in lane 2 of each longword (and replicated for lane-0 readers)', () => {
    const r = makeRig();
    for (let n = 0; n < 6; n++) {
      const w = r.bus.read32(r.base + 0x1c0000 + 4 * n);
      expect((w >>> 16) & 0xff).toBe(DUT_MAC[n]);
      expect(w & 0xff).toBe(DUT_MAC[n]);
    }
  });

  it('#21 internal loopback: 8..32-byte frames loop back, DTCR decides CRC checking; COLL forces RTRY', () => {
    const r = makeRig();
    bringUp(r, { mode: M_LOOP | M_INTL });
    const small = testFrame(DUT_MAC, DUT_MAC, 24, 5);
    queueTx(r, 0, small);
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS + wireNs(28));
    expect(r.rdp() & (RINT | TINT)).toBe(RINT | TINT);
    expect(r.r16(rmd(0) + 6)).toBe(28);
    expect([...r.rbytes(RX_BUF, 28)]).toEqual([...small, ...fcsOf(small)]);
    expect(r.peer.frames.length).toBe(0);
    // With DTCR the host supplies the FCS and the receiver checks it: a wrong one gives CRC.
    const d = makeRig();
    bringUp(d, { mode: M_LOOP | M_INTL | M_DTCR });
    const withBadFcs = new Uint8Array([...small, 1, 2, 3, 4]);
    queueTx(d, 0, withBadFcs);
    d.wrdp(INEA | TDMD);
    d.step(TDMD_NS + wireNs(28));
    expect(d.r16(rmd(0) + 2) & (D_ERR | CRC)).toBe(D_ERR | CRC);
    // COLL: every attempt collides, RTRY after 16.
    const c = makeRig();
    bringUp(c, { mode: M_LOOP | M_INTL | M_COLL });
    queueTx(c, 0, small);
    c.wrdp(INEA | TDMD);
    c.step(TDMD_NS + 20_000_000);
    expect(c.r16(tmd(0) + 2) & (OWN | D_ERR)).toBe(D_ERR);
    expect(c.r16(tmd(0) + 6) & RTRY).toBe(RTRY);
  });

  it('#23 a 1-entry receive ring cannot chain: BUFF', () => {
    const r = makeRig();
    bringUp(r, { rxLog2: 0, rxBuf: 256 });
    sendTo(r, testFrame(DUT_MAC, PEER_MAC, 600));
    expect(r.r16(rmd(0) + 2) & (D_ERR | R_BUFF | STP | OWN)).toBe(D_ERR | R_BUFF | STP);
  });

  it('#24 all 128 KB are backed: rings and buffers at the top of the SRAM work', () => {
    const r = makeRig();
    bringUp(r);
    r.w16(rmd(0) + 0, 0xf800);
    r.w16(rmd(0) + 2, OWN | 0x01); // HADR = 1: LANCE address 0x1F800
    const f = testFrame(DUT_MAC, PEER_MAC, 1500);
    sendTo(r, f);
    expect(r.r16(rmd(0) + 2)).toBe(STP | ENP | 0x01);
    expect([...r.rbytes(0x1f800, 1500)]).toEqual([...f]);
  });
});

describe('LANCE MODE and transmit chaining', () => {
  it('DRX: STRT leaves RXON off and frames are ignored; DTX: TXON off and the ring is never read', () => {
    const r = makeRig();
    bringUp(r, { mode: 0x0001 | 0x0002 });
    expect(r.rdp() & (TXON | RXON)).toBe(0);
    sendTo(r, testFrame(DUT_MAC, PEER_MAC, 64));
    expect(r.r16(rmd(0) + 2)).toBe(OWN);
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 60));
    r.wrdp(INEA | TDMD);
    r.step(2 * POLL_NS);
    expect(r.peer.frames.length).toBe(0);
    expect(r.r16(tmd(0) + 2) & OWN).toBe(OWN);
  });

  it('a frame gathered from three buffers (STP, -, ENP) goes out whole; every descriptor is released', () => {
    const r = makeRig();
    bringUp(r);
    const f = testFrame(PEER_MAC, DUT_MAC, 700, 4);
    const parts = [f.subarray(0, 300), f.subarray(300, 500), f.subarray(500)];
    // Hand over the later descriptors first, the STP one last (as drivers do).
    queueTx(r, 2, parts[2]!, ENP);
    queueTx(r, 1, parts[1]!, 0);
    queueTx(r, 0, parts[0]!, STP);
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS + wireNs(704) + r.segment.propagationNs);
    expect(r.peer.frames.length).toBe(1);
    expect([...r.peer.frames[0]!]).toEqual([...f, ...fcsOf(f)]);
    expect([0, 1, 2].map((i) => r.r16(tmd(i) + 2))).toEqual([STP, 0, ENP]);
    expect(r.rdp() & TINT).toBe(TINT);
  });
});

describe('LANCE CSR3', () => {
  it('BSWP swaps buffer bytes (not descriptors); the PMAD-AA wants CSR3 = 0 and says so', () => {
    const r = makeRig();
    r.wcsr(0, STOP);
    buildInit(r);
    r.wcsr(3, 0x0004);
    expect(r.csr(3)).toBe(0x0004);
    expect(r.guestErrorText()).toMatch(/requires CSR3 = 0/);
    r.wcsr(0, INIT);
    r.step(INIT_NS);
    r.wrdp(INEA | STRT | IDON);
    const f = testFrame(DUT_MAC, PEER_MAC, 64, 3);
    sendTo(r, f);
    expect(r.r16(rmd(0) + 6)).toBe(68);
    const got = r.rbytes(RX_BUF, 4);
    expect([...got]).toEqual([f[1], f[0], f[3], f[2]]);
  });
});

describe('LANCE on a busy segment', () => {
  it('collides with a station that starts within the propagation delay, jams, backs off, retries (ONE/MORE)', () => {
    const r = makeRig();
    bringUp(r);
    r.step(TDMD_NS);
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 200));
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS - 100);
    r.peer.send(testFrame(DUT_MAC, PEER_MAC, 200)); // the chip starts 100 ns later, before this reaches it
    r.step(5_000_000);
    const flags = r.r16(tmd(0) + 2);
    expect(flags & (OWN | D_ERR)).toBe(0);
    expect(flags & (T_ONE | T_MORE)).not.toBe(0);
    expect(r.peer.outcomes[0]?.collisions).toBeGreaterThanOrEqual(1);
    expect(r.peer.frames.length).toBe(1);
    expect(r.r16(rmd(0) + 2)).toBe(STP | ENP);
  });

  it('defers to carrier (DEF)', () => {
    const r = makeRig();
    bringUp(r);
    // The peer starts a long frame; the chip wants to send during it.
    r.peer.send(testFrame(DUT_MAC, PEER_MAC, 1000));
    r.step(1000);
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 60));
    r.wrdp(INEA | TDMD);
    r.step(2_000_000);
    expect(r.r16(tmd(0) + 2) & (OWN | D_ERR | T_DEF)).toBe(T_DEF);
    expect(r.peer.frames.length).toBe(1);
  });

  it('an unplugged transceiver ends every transmit with LCAR (and CERR: no heartbeat)', () => {
    const r = makeRig({ dutPort: { transceiver: 'no-carrier' } });
    bringUp(r);
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 60));
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS + wireNs(64));
    expect(r.r16(tmd(0) + 2) & (OWN | D_ERR)).toBe(D_ERR);
    expect(r.r16(tmd(0) + 6) & LCAR).toBe(LCAR);
    expect(r.rdp() & (CERR | TINT)).toBe(CERR | TINT);
  });

  it('MERR when a descriptor points beyond the 128 KB buffer: TXON/RXON drop, reported', () => {
    const r = makeRig();
    bringUp(r);
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 60));
    r.w16(tmd(0) + 2, OWN | STP | ENP | 0x02); // HADR = 2: LANCE address 0x2xxxx
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS);
    expect(r.rdp() & (MERR | ERR | INTR | TXON | RXON)).toBe(MERR | ERR | INTR);
    expect(r.guestErrorText()).toMatch(/MERR/);
  });
});

describe('LANCE stopped mid-frame', () => {
  // Am7990: STOP stops all chip activity at once. The frame on the wire is cut off (the peer sees a
  // fragment with no valid FCS and drops it); it is not completed, as this model once did.
  it('STOP while a frame is on the wire, then restart: the old frame is cut off, nothing is written back, the next one follows', () => {
    const r = makeRig();
    bringUp(r);
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 1500, 1));
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS + 100_000);
    r.wrdp(STOP);
    bringUp(r);
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 100, 2));
    r.wrdp(INEA | TDMD);
    r.step(3_000_000);
    expect(r.peer.frames.map((f) => f.length)).toEqual([104]);
    expect(r.peer.arrivals.map((a) => a.fcsOk)).toEqual([false, true]);
    expect(r.peer.arrivals[0]!.frame.length).toBeLessThan(1504);
    expect(r.r16(tmd(0) + 2) & (OWN | D_ERR)).toBe(0);
    expect(r.r16(tmd(1) + 2)).toBe(0);
  });
});

describe('LANCE misuse: the chip sets its bits, reports, and never throws', () => {
  it('ring-length word with the count in the reserved bits: reported, ring is 1 entry', () => {
    const r = makeRig();
    bringUp(r, { rlenWord: 16 << 8 }); // "16 entries" written into bits 12:8, RLEN (15:13) left 0
    expect(r.guestErrorText()).toMatch(/reserved bits 12:8/);
    sendTo(r, testFrame(DUT_MAC, PEER_MAC, 64));
    r.wrdp(RINT | INEA);
    r.step(GAP_NS);
    sendTo(r, testFrame(DUT_MAC, PEER_MAC, 64));
    // One-entry ring: the second frame finds descriptor 0 still host-owned → MISS.
    expect(r.rdp() & MISS).toBe(MISS);
  });

  it('runt transmit goes out short (the chip does not pad) and the receiver drops it', () => {
    const r = makeRig();
    bringUp(r);
    queueTx(r, 0, testFrame(PEER_MAC, DUT_MAC, 30));
    r.wrdp(INEA | TDMD);
    r.step(TDMD_NS + wireNs(34) + 1000);
    expect(r.guestErrorText()).toMatch(/runt transmit/);
    expect(r.peer.arrivals[0]?.frame.length).toBe(34);
    expect(r.peer.frames).toHaveLength(0); // a runt: a receiving MAC drops it
  });

  it('INIT while running, INEA while stopped, bad RAP bits, byte writes to RDP: ignored and reported', () => {
    const r = makeRig();
    bringUp(r);
    r.wrdp(STOP);
    r.wrdp(INEA);
    expect(r.rdp()).toBe(STOP);
    bringUp(r);
    r.wrdp(STRT | INEA); // already running: nothing changes
    r.rap(0xfff0);
    expect(r.readRap()).toBe(0);
    r.bus.write8(r.base + 0x100000, 0x04);
    expect(r.rdp() & STOP).toBe(0);
    expect(r.guestErrors()).toBeGreaterThanOrEqual(3);
  });

  it('random register and buffer traffic never throws', () => {
    const r = makeRig({ seed: 7 });
    const rng = r.kit.rng.fork('fuzz');
    for (let i = 0; i < 4000; i++) {
      const k = rng.int(0, 10);
      if (k < 3) r.rap(rng.int(0, 0x10000));
      else if (k < 6) r.wrdp(rng.int(0, 0x10000));
      else if (k < 8) r.w16(rng.int(0, 0x400) & ~1, rng.int(0, 0x10000));
      else if (k < 9) r.peer.pending > 0 || r.peer.send(testFrame(rng.chance(0.5) ? DUT_MAC : PEER_MAC, PEER_MAC, rng.int(14, 1600)));
      else r.step(rng.int(0, 200_000));
      r.rdp();
    }
    expect(r.guestErrors()).toBeGreaterThan(0);
  });
});
