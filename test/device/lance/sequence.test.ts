/**
 * The canonical driver sequence of hw/lance-pmad-aa.md §5, step by step through the bus only, with
 * simulated time stepped exactly and CSR0 checked at each step.
 */
import { describe, expect, it } from 'vitest';
import { DUT_MAC, PEER_MAC, makeRig, testFrame } from './rig.ts';
import {
  BUF, ENP, IB, IDON, INEA, INIT, INTR, OWN, RINT, RXON, RX_BUF, STOP, STP, STRT, TDMD, TINT, TXON, TX_BUF,
  buildInit, bcnt, fcsOf, rmd, tmd, wireNs,
} from './layout.ts';

const ESAR = 0x1c0002;
const ROM_MODULE = 0x1c0440;

describe('LANCE on the PMAD-AA: the 21-step driver sequence', () => {
  it('probe, init, start, transmit, interrupt, receive, re-init, shutdown with the expected CSR0 at each step', () => {
    const r = makeRig();
    const initNs = r.kit.costs.get('lance.initNs');
    const tdmdNs = r.kit.costs.get('lance.tdmdLatencyNs');
    const prop = r.segment.propagationNs;

    // 1. ESAR: byte n in lane 2 of longword n; address, mirror, copy, test pattern. Option ROM name.
    const esar = Array.from({ length: 32 }, (_, n) => r.bus.read8(r.base + ESAR + 4 * n));
    expect(esar.slice(0, 6)).toEqual([...DUT_MAC]);
    expect(esar.slice(24, 28)).toEqual([0xff, 0x00, 0x55, 0xaa]);
    for (let i = 0; i < 8; i++) {
      expect(esar[15 - i]).toBe(esar[i]);
      expect(esar[16 + i]).toBe(esar[i]);
    }
    let name = '';
    for (let i = 0; i < 8; i++) name += String.fromCharCode(r.bus.read32(r.base + ROM_MODULE + 4 * i) & 0xff);
    expect(name).toBe('PMAD-AA ');

    // 2. Reset state, then STOP.
    expect(r.readRap()).toBe(0);
    expect(r.csr(0)).toBe(0x0004);
    r.wcsr(0, STOP);
    expect(r.csr(0)).toBe(0x0004);

    // 3. STOP again, wait 100 µs.
    r.wcsr(0, STOP);
    r.step(100_000);
    expect(r.csr(0)).toBe(0x0004);

    // 4-6. CSR3 = 0, init block and rings, CSR1/CSR2 (read back while stopped).
    buildInit(r);
    expect(r.csr(3)).toBe(0);
    expect(r.csr(1)).toBe(IB);
    expect(r.csr(2)).toBe(0);
    expect(r.r16(rmd(0) + 2)).toBe(OWN);

    // 7. INIT: INIT set, STOP cleared, IDON not yet.
    r.wcsr(0, INIT);
    expect(r.rdp()).toBe(0x0001);
    r.step(initNs - 1);
    expect(r.rdp()).toBe(0x0001);

    // 8. IDON after the init-block read: INIT|IDON|INTR, no TXON/RXON (INIT does not start), no /INTR (INEA=0).
    r.step(1);
    expect(r.rdp()).toBe(0x0181);
    expect(r.irqPending()).toBe(false);

    // 9. NetBSD: INEA|STRT|IDON in one store.
    r.wrdp(INEA | STRT | IDON);
    expect(r.rdp()).toBe(0x0073);

    // 10. TXON and RXON on.
    expect(r.rdp() & (TXON | RXON)).toBe(TXON | RXON);
    expect(r.irqPending()).toBe(false);
    // STRT polls the (empty) transmit ring after the poll latency; nothing goes out.
    r.step(tdmdNs);
    expect(r.peer.frames.length).toBe(0);

    // 11-12. A 60-byte frame in TMD 0: TMD2, TMD3, then TMD1 with OWN last.
    const out = testFrame(PEER_MAC, DUT_MAC, 60, 1);
    r.wbytes(TX_BUF, out);
    r.w16(tmd(0) + 4, bcnt(60));
    r.w16(tmd(0) + 6, 0);
    r.w16(tmd(0) + 2, OWN | STP | ENP);

    // 13. TDMD: reads 1 until the chip polls.
    r.rap(0);
    r.wrdp(INEA | TDMD);
    expect(r.rdp()).toBe(0x007b);
    r.step(tdmdNs - 1);
    expect(r.rdp()).toBe(0x007b);
    r.step(1);
    expect(r.rdp()).toBe(0x0073);
    // On the wire for 64 bytes + preamble; TINT at the last bit.
    r.step(wireNs(64) - 1);
    expect(r.rdp()).toBe(0x0073);
    expect(r.irqPending()).toBe(false);
    r.step(1);
    // 15. TINT|INTR, and the KN02 CSR shows the slot pending.
    expect(r.rdp()).toBe(0x02f3);
    expect(r.irqPending()).toBe(true);
    r.step(prop);
    expect(r.peer.frames.length).toBe(1);
    expect([...r.peer.frames[0]!]).toEqual([...out, ...fcsOf(out)]);
    // 19. TMD1: OWN given back, no error, no collisions, STP|ENP kept.
    expect(r.r16(tmd(0) + 2)).toBe(STP | ENP);
    expect(r.r16(tmd(0) + 6)).toBe(0);

    // 14. (The driver arms its software watchdog here; nothing on the chip.)
    // 16. Acknowledge what was read (NetBSD): INTR drops, /INTR released.
    const c = r.rdp();
    // 17. No error flags to handle: ERR clear.
    expect(c & 0x8000).toBe(0);
    r.wrdp((c & (TINT | RINT | IDON)) | INEA);
    expect(r.rdp()).toBe(0x0073);
    expect(r.irqPending()).toBe(false);

    // 18. Receive: 100 bytes + FCS into RMD 0; MCNT counts the FCS, which is in the buffer.
    const inFrame = testFrame(DUT_MAC, PEER_MAC, 100, 2);
    r.step(20_000); // past the inter-frame gap after our frame
    r.peer.send(inFrame);
    const rxDone = wireNs(104) + prop;
    r.step(rxDone - 1);
    expect(r.rdp()).toBe(0x0073);
    r.step(1);
    expect(r.rdp()).toBe(0x04f3);
    expect(r.irqPending()).toBe(true);
    expect(r.r16(rmd(0) + 2)).toBe(STP | ENP);
    expect(r.r16(rmd(0) + 6)).toBe(104);
    expect([...r.rbytes(RX_BUF, 104)]).toEqual([...inFrame, ...fcsOf(inFrame)]);
    expect(r.r16(rmd(1) + 2)).toBe(OWN);
    // Give it back; acknowledge RINT.
    r.w16(rmd(0) + 4, bcnt(BUF));
    r.w16(rmd(0) + 6, 0);
    r.w16(rmd(0) + 2, OWN);
    r.wrdp(RINT | INEA);
    expect(r.rdp()).toBe(0x0073);
    expect(r.irqPending()).toBe(false);

    // 20. Full re-initialization: STOP clears everything, CSR1-3 writable again, INIT, IDON, STRT.
    r.step(20_000); // the medium's inter-frame gap after the peer's frame
    r.wrdp(STOP);
    expect(r.rdp()).toBe(0x0004);
    buildInit(r);
    r.wcsr(0, INIT);
    r.step(initNs);
    expect(r.rdp()).toBe(0x0181);
    r.wrdp(INEA | STRT | IDON);
    expect(r.rdp()).toBe(0x0073);
    // Both rings restart at entry 0.
    const again = testFrame(PEER_MAC, DUT_MAC, 80, 3);
    r.wbytes(TX_BUF, again);
    r.w16(tmd(0) + 4, bcnt(80));
    r.w16(tmd(0) + 2, OWN | STP | ENP);
    r.wrdp(INEA | TDMD);
    r.step(tdmdNs + wireNs(84) + prop);
    expect(r.peer.frames.length).toBe(2);
    expect(r.rdp()).toBe(0x02f3);

    // 21. Shutdown.
    r.wrdp(STOP);
    expect(r.rdp()).toBe(0x0004);
    expect(r.irqPending()).toBe(false);
    expect(r.guestErrors()).toBe(0);
  });

  it('Linux-style start: IDON ack, STRT, then INEA (INEA dropped in between)', () => {
    const r = makeRig();
    r.wcsr(0, STOP);
    buildInit(r);
    r.wcsr(0, INIT);
    r.step(r.kit.costs.get('lance.initNs'));
    expect(r.rdp()).toBe(0x0181);
    r.wrdp(IDON);
    expect(r.rdp()).toBe(0x0001);
    r.wrdp(STRT);
    expect(r.rdp()).toBe(0x0033);
    r.wrdp(INEA);
    expect(r.rdp()).toBe(0x0073);
  });

  it('NT-style first init: INIT|INEA, IDON arrives as an interrupt (behaviour #20)', () => {
    const r = makeRig();
    r.wcsr(0, STOP);
    buildInit(r);
    r.wcsr(0, INIT | INEA);
    expect(r.rdp()).toBe(INIT | INEA);
    expect(r.irqPending()).toBe(false);
    r.step(r.kit.costs.get('lance.initNs'));
    expect(r.rdp()).toBe(IDON | INTR | INEA | INIT);
    expect(r.irqPending()).toBe(true);
    expect(r.guestErrors()).toBe(0);
  });

  it('INIT|STRT in one store starts the chip when the init completes (MAME)', () => {
    const r = makeRig();
    r.wcsr(0, STOP);
    buildInit(r);
    r.wcsr(0, INIT | STRT);
    expect(r.rdp()).toBe(INIT | STRT);
    r.step(r.kit.costs.get('lance.initNs'));
    expect(r.rdp()).toBe(0x01b3);
  });
});
