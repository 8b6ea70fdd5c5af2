/**
 * Am7990 behaviours as the data sheet states them, through the devkit (bus only):
 * - STOP halts all chip activity at once: a frame on the wire is cut off (the peer sees a runt or
 *   an FCS error and drops it), a frame not yet started never goes out, nothing is written back;
 * - MISS is decided when a frame's reception starts: a buffer handed over during the frame is
 *   too late for it;
 * - INIT is honoured only from the stopped state: written while running it is ignored and
 *   reported as a guest error.
 */
import { describe, expect, it } from 'vitest';
import {
  createDevkit, CSR0, DEVKIT_PEER_MAC, ethernetFrame, RMD1, TMD1, type Devkit,
} from '../../../emulator/devkit/index.ts';

const IB = 0x0, RX = 0x40, TX = 0x100, RX_BUF = 0x1000, TX_BUF = 0x8000, BUF = 0x600;
const BIT_NS = 100;
const wireNs = (bytes: number): number => (64 + 8 * bytes) * BIT_NS;

function bringUp(kit: Devkit, o: { rxLog2?: number; txLog2?: number; giveRx?: boolean } = {}): void {
  const l = kit.lance;
  const rxN = 1 << (o.rxLog2 ?? 2);
  const txN = 1 << (o.txLog2 ?? 2);
  l.write('CSR0', CSR0.STOP);
  l.write('CSR3', 0);
  l.writeInitBlock(IB, { padr: l.stationAddress(), rx: { base: RX, log2: o.rxLog2 ?? 2 }, tx: { base: TX, log2: o.txLog2 ?? 2 } });
  for (let i = 0; i < rxN; i++) l.writeDescriptor(RX, i, { addr: RX_BUF + BUF * i, length: BUF, flags: o.giveRx === false ? 0 : RMD1.OWN });
  for (let i = 0; i < txN; i++) l.writeDescriptor(TX, i, { addr: TX_BUF + BUF * i, length: BUF, flags: 0 });
  l.write('CSR1', IB);
  l.write('CSR2', 0);
  l.write('CSR0', CSR0.INIT);
  expect(kit.untilCsr0(CSR0.IDON, { nsMax: 100_000 })).toBe(true);
  l.write('CSR0', CSR0.IDON | CSR0.STRT | CSR0.INEA);
}

function queueTx(kit: Devkit, i: number, data: Uint8Array): void {
  kit.lance.writeBytes(TX_BUF + BUF * i, data);
  kit.lance.writeDescriptor(TX, i, { addr: TX_BUF + BUF * i, length: data.length, flags: TMD1.OWN | TMD1.STP | TMD1.ENP });
}

/** Run until the DUT's station starts a transmission (its port leaves idle for the wire). */
function untilOnWire(kit: Devkit): boolean {
  const port = kit.segment!.ports.find((p) => p.name === 'dut')!;
  return kit.runUntil(() => port.state === 'transmit', { nsMax: 2_000_000 });
}

describe('STOP halts the transmitter at once (Am7990: STOP stops all external activity)', () => {
  it('a frame on the wire is cut off: the peer gets a fragment that fails the FCS, never the frame', () => {
    const kit = createDevkit({ lance: true });
    bringUp(kit);
    const me = kit.lance.stationAddress();
    queueTx(kit, 0, ethernetFrame(DEVKIT_PEER_MAC, me, 1500, 1));
    kit.lance.write('CSR0', CSR0.INEA | CSR0.TDMD);
    expect(untilOnWire(kit)).toBe(true);
    const start = kit.now;
    kit.runFor(100_000); // 100 µs in: preamble + ≈ 1242 bytes sent
    kit.lance.write('CSR0', CSR0.STOP);
    expect(kit.lance.read('CSR0')).toBe(CSR0.STOP);
    kit.runFor(3_000_000);
    const peer = kit.ethernetPeer;
    expect(peer.frames).toHaveLength(0);
    expect(peer.rejected).toHaveLength(1);
    const cut = peer.rejected[0]!;
    expect(cut.fcsOk).toBe(false);
    expect(cut.frame.length).toBe(Math.floor((100_000 / BIT_NS - 64) / 8));
    // The fragment's last bit reached the peer one propagation delay after STOP, not at the frame's end.
    expect(cut.timeNs).toBe(start + 100_000 + kit.segment!.propagationNs);
    // Nothing written back: the descriptor is still the chip's, no TINT.
    expect(kit.lance.readDescriptor(TX, 0).flags & (TMD1.OWN | TMD1.ERR)).toBe(TMD1.OWN);
  });

  it('cut in the preamble: nothing reaches the peer at all', () => {
    const kit = createDevkit({ lance: true });
    bringUp(kit);
    queueTx(kit, 0, ethernetFrame(DEVKIT_PEER_MAC, kit.lance.stationAddress(), 200));
    kit.lance.write('CSR0', CSR0.INEA | CSR0.TDMD);
    expect(untilOnWire(kit)).toBe(true);
    kit.runFor(3_000); // 3 µs of a 6.4 µs preamble
    kit.lance.write('CSR0', CSR0.STOP);
    kit.runFor(1_000_000);
    expect(kit.ethernetPeer.arrivals).toHaveLength(0);
  });

  it('a frame deferring to the peer when STOP comes is never sent, even after re-INIT and a new frame', () => {
    const kit = createDevkit({ lance: true });
    bringUp(kit);
    const me = kit.lance.stationAddress();
    const peer = kit.ethernetPeer;
    peer.send(ethernetFrame(me, DEVKIT_PEER_MAC, 1500)); // holds the wire ≈ 1.2 ms
    kit.runFor(50_000);
    const discarded = ethernetFrame(DEVKIT_PEER_MAC, me, 100, 0xd1);
    queueTx(kit, 0, discarded);
    kit.lance.write('CSR0', CSR0.INEA | CSR0.TDMD);
    kit.runFor(20_000); // polled, handed to the medium, deferring
    kit.lance.write('CSR0', CSR0.STOP);
    bringUp(kit); // the driver rebuilds its rings: the discarded frame is gone
    const kept = ethernetFrame(DEVKIT_PEER_MAC, me, 100, 0x4e);
    queueTx(kit, 0, kept);
    kit.lance.write('CSR0', CSR0.INEA | CSR0.TDMD);
    expect(kit.untilPeerReceived(1, { nsMax: 5_000_000 })).toBe(true);
    kit.runFor(3_000_000);
    expect(peer.frames).toHaveLength(1);
    expect(peer.frames[0]!.subarray(0, 100)).toEqual(kept);
    expect(peer.arrivals).toHaveLength(1);
  });

  it('30 STOP/INIT cycles under two-way traffic: no frame the driver discarded reaches the peer', () => {
    const kit = createDevkit({ lance: true, seed: 16 });
    const me = () => kit.lance.stationAddress();
    const rng = kit.rng.fork('test.stop-cycles');
    const peer = kit.ethernetPeer;
    const discarded = new Set<number>();
    const completed = new Set<number>();
    let tag = 0;
    bringUp(kit);
    const mac = me();
    for (let cycle = 0; cycle < 30; cycle++) {
      // Both directions busy: the peer sends to the DUT while the DUT sends four frames.
      for (let k = 0; k < 2; k++) peer.send(ethernetFrame(mac, DEVKIT_PEER_MAC, rng.int(60, 1500), cycle));
      const tags: number[] = [];
      for (let i = 0; i < 4; i++) {
        const data = ethernetFrame(DEVKIT_PEER_MAC, mac, rng.int(60, 1500), 0);
        data[14] = tag & 0xff;
        data[15] = tag >>> 8;
        queueTx(kit, i, data);
        tags.push(tag++);
      }
      kit.lance.write('CSR0', CSR0.INEA | CSR0.TDMD);
      kit.runFor(rng.int(0, 4_000_000));
      kit.lance.write('CSR0', CSR0.STOP);
      // What the driver sees at STOP: descriptors the chip gave back were sent; the rest are discarded.
      tags.forEach((t, i) => {
        const d = kit.lance.readDescriptor(TX, i);
        if ((d.flags & TMD1.OWN) === 0 && (d.flags & TMD1.ERR) === 0) completed.add(t);
        else discarded.add(t);
      });
      bringUp(kit);
      kit.lance.write('CSR0', CSR0.RINT | CSR0.TINT | CSR0.MISS | CSR0.INEA);
    }
    kit.runFor(10_000_000);
    const seen = peer.frames.filter((f) => f[0] === DEVKIT_PEER_MAC[0] && f[5] === DEVKIT_PEER_MAC[5]).map((f) => f[14]! | (f[15]! << 8));
    expect(discarded.size).toBeGreaterThan(10);
    expect(completed.size).toBeGreaterThan(10);
    expect(seen.filter((t) => discarded.has(t))).toEqual([]);
    expect([...completed].filter((t) => !seen.includes(t))).toEqual([]);
  });
});

describe('MISS is decided when reception starts', () => {
  function missSetup(handBackAfterNs: number | undefined) {
    const kit = createDevkit({ lance: true });
    bringUp(kit, { rxLog2: 0, giveRx: false });
    const me = kit.lance.stationAddress();
    kit.ethernetPeer.send(ethernetFrame(me, DEVKIT_PEER_MAC, 1000)); // ≈ 806 µs on the wire
    const arriveNs = kit.segment!.propagationNs + wireNs(1004);
    if (handBackAfterNs !== undefined) {
      kit.runFor(handBackAfterNs);
      kit.lance.writeDescriptor(RX, 0, { addr: RX_BUF, length: BUF, flags: RMD1.OWN });
    }
    kit.runFor(arriveNs + 10_000 - (handBackAfterNs ?? 0));
    return kit;
  }

  it('a buffer handed back 300 µs into an 806 µs frame is too late: MISS, nothing written, index kept', () => {
    const kit = missSetup(300_000);
    const c = kit.lance.read('CSR0');
    expect(c & (CSR0.MISS | CSR0.RINT)).toBe(CSR0.MISS);
    const d = kit.lance.readDescriptor(RX, 0);
    expect(d.flags & (RMD1.OWN | RMD1.STP | RMD1.ENP)).toBe(RMD1.OWN);
    expect(d.word3).toBe(0);
    // The next frame finds the same descriptor, owned since before it started: received.
    kit.lance.write('CSR0', CSR0.MISS | CSR0.INEA);
    kit.ethernetPeer.send(ethernetFrame(kit.lance.stationAddress(), DEVKIT_PEER_MAC, 200));
    expect(kit.untilCsr0(CSR0.RINT, { nsMax: 1_000_000 })).toBe(true);
    expect(kit.lance.read('CSR0') & CSR0.MISS).toBe(0);
    expect(kit.lance.readDescriptor(RX, 0).word3 & 0xfff).toBe(204);
  });

  it('a buffer handed back before the first bit arrives catches the frame', () => {
    const kit = missSetup(1_000); // the preamble reaches the DUT only after 500 ns + 6.4 µs
    expect(kit.lance.read('CSR0') & (CSR0.MISS | CSR0.RINT)).toBe(CSR0.RINT);
  });

  it('no buffer at all: MISS (and the frame is not stored later)', () => {
    const kit = missSetup(undefined);
    expect(kit.lance.read('CSR0') & (CSR0.MISS | CSR0.RINT)).toBe(CSR0.MISS);
  });
});

describe('INIT is honoured only while stopped', () => {
  it('INIT written while running after a normal start: ignored, the chip keeps running, a guest error', () => {
    const kit = createDevkit({ lance: true });
    bringUp(kit);
    const before = kit.lance.read('CSR0');
    expect(before & (CSR0.INIT | CSR0.STRT | CSR0.TXON | CSR0.RXON)).toBe(CSR0.INIT | CSR0.STRT | CSR0.TXON | CSR0.RXON);
    const errors = kit.guestErrorCount;
    kit.lance.write('CSR0', CSR0.INIT | CSR0.INEA);
    kit.runFor(100_000);
    expect(kit.lance.read('CSR0')).toBe(before);
    expect(kit.guestErrorCount).toBe(errors + 1);
    expect(kit.guestErrorText()).toMatch(/INIT written while the chip is not stopped/);
    // Still running: a frame goes out.
    queueTx(kit, 0, ethernetFrame(DEVKIT_PEER_MAC, kit.lance.stationAddress(), 60));
    kit.lance.write('CSR0', CSR0.INEA | CSR0.TDMD);
    expect(kit.untilPeerReceived(1, { nsMax: 2_000_000 })).toBe(true);
  });
});
