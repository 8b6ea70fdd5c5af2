/**
 * The devkit's own helpers: one-call benches, run-until limits, the peers (queue on a busy port,
 * FCS appended unless told), the register access log, the KN02 "enable without handler" warning
 * and the interrupt-storm report, and the AN1 bench by register name.
 */
import { describe, expect, it } from 'vitest';
import {
  AN1_CSR, AN1_ISR, AN1_REGS, AN1_RXST, createDevkit, CSR0, DEVKIT_PEER_MAC, ethernetFrame, IRQ_STORM_RUNS, RMD1, TMD1, type Devkit,
} from '../../../emulator/devkit/index.ts';
import { createBqiFirmware } from '../../../firmware/an1/main.ts';

const RX = 0x40, TX = 0x100;

function up(kit: Devkit, rxLog2 = 3): void {
  const l = kit.lance;
  l.write('CSR0', CSR0.STOP);
  l.write('CSR3', 0);
  l.writeInitBlock(0, { padr: l.stationAddress(), rx: { base: RX, log2: rxLog2 }, tx: { base: TX, log2: 2 } });
  for (let i = 0; i < 1 << rxLog2; i++) l.writeDescriptor(RX, i, { addr: 0x1000 + 0x600 * i, length: 0x600, flags: RMD1.OWN });
  for (let i = 0; i < 4; i++) l.writeDescriptor(TX, i, { addr: 0x8000 + 0x600 * i, length: 0x600, flags: 0 });
  l.write('CSR1', 0);
  l.write('CSR2', 0);
  l.write('CSR0', CSR0.INIT);
  expect(kit.untilCsr0(CSR0.IDON, { nsMax: 100_000 })).toBe(true);
  l.write('CSR0', CSR0.IDON | CSR0.STRT | CSR0.INEA);
}

describe('devkit: time control with limits', () => {
  it('untilCsr0 stops at its limit and says so; runFor steps exactly', () => {
    const kit = createDevkit({ lance: true });
    up(kit);
    const t0 = kit.now;
    expect(kit.untilCsr0(CSR0.RINT, { nsMax: 5_000_000 })).toBe(false); // nothing is sent to it
    expect(kit.now - t0).toBeLessThanOrEqual(5_000_000);
    expect(kit.now - t0).toBeGreaterThan(0);
    const t1 = kit.now;
    kit.runFor(12_345);
    expect(kit.now).toBe(t1 + 12_345);
  });

  it('untilInterrupt sees the device line (the KN02 pending bit), enabled or not', () => {
    const kit = createDevkit({ lance: true });
    kit.lance.write('CSR0', CSR0.STOP);
    kit.lance.writeInitBlock(0, { padr: kit.lance.stationAddress(), rx: { base: RX, log2: 0 }, tx: { base: TX, log2: 0 } });
    kit.lance.write('CSR0', CSR0.INIT | CSR0.INEA);
    expect(kit.interruptAsserted()).toBe(false);
    expect(kit.untilInterrupt({ nsMax: 100_000 })).toBe(true);
    expect(kit.lance.read('CSR0') & (CSR0.IDON | CSR0.INTR)).toBe(CSR0.IDON | CSR0.INTR);
    expect((kit.bus.read32(0x1ff0_0000) & 1) !== 0).toBe(true);
  });
});

describe('devkit: the Ethernet peer', () => {
  it('queues frames given while its port is busy and sends them all, in order, with a good FCS', () => {
    const kit = createDevkit({ lance: true });
    up(kit);
    const me = kit.lance.stationAddress();
    for (let k = 0; k < 5; k++) kit.ethernetPeer.send(ethernetFrame(me, DEVKIT_PEER_MAC, 100 + k, k));
    expect(kit.ethernetPeer.pending).toBe(5);
    expect(kit.runUntil(() => kit.ethernetPeer.outcomes.length === 5, { nsMax: 10_000_000 })).toBe(true);
    kit.runFor(10_000); // the last frame's last bit reaches the DUT one propagation delay later
    for (let k = 0; k < 5; k++) {
      const d = kit.lance.readDescriptor(RX, k);
      expect(d.flags & (RMD1.OWN | RMD1.ERR)).toBe(0);
      expect(d.word3 & 0xfff).toBe(104 + k);
    }
    expect(kit.ethernetPeer.warnings).toEqual([]);
  });

  it("fcs: 'bad' gives the receiver a CRC error; fcs: 'none' sends the bytes as given", () => {
    const kit = createDevkit({ lance: true });
    up(kit);
    const me = kit.lance.stationAddress();
    kit.ethernetPeer.send(ethernetFrame(me, DEVKIT_PEER_MAC, 100), { fcs: 'bad' });
    const withFcs = new Uint8Array(104);
    withFcs.set(ethernetFrame(me, DEVKIT_PEER_MAC, 100));
    kit.ethernetPeer.send(withFcs, { fcs: 'none' }); // zero FCS bytes: wrong too
    expect(kit.runUntil(() => kit.ethernetPeer.outcomes.length === 2, { nsMax: 10_000_000 })).toBe(true);
    kit.runFor(10_000);
    expect(kit.lance.readDescriptor(RX, 0).flags & (RMD1.ERR | RMD1.CRC)).toBe(RMD1.ERR | RMD1.CRC);
    expect(kit.lance.readDescriptor(RX, 1).flags & (RMD1.ERR | RMD1.CRC)).toBe(RMD1.ERR | RMD1.CRC);
  });

  it('keeps good frames in frames and drops runts into rejected', () => {
    const kit = createDevkit({ lance: true });
    up(kit);
    const me = kit.lance.stationAddress();
    kit.lance.writeBytes(0x8000, ethernetFrame(DEVKIT_PEER_MAC, me, 30));
    kit.lance.writeDescriptor(TX, 0, { addr: 0x8000, length: 30, flags: TMD1.OWN | TMD1.STP | TMD1.ENP });
    kit.lance.write('CSR0', CSR0.INEA | CSR0.TDMD);
    kit.runFor(1_000_000);
    expect(kit.ethernetPeer.frames).toHaveLength(0);
    expect(kit.ethernetPeer.rejected.map((a) => [a.frame.length, a.fcsOk])).toEqual([[34, true]]);
  });
});

describe('devkit: the register access log', () => {
  function scenario(log: boolean): Devkit {
    const kit = createDevkit({ lance: true, accessLog: log, trace: true });
    up(kit);
    kit.ethernetPeer.send(ethernetFrame(kit.lance.stationAddress(), DEVKIT_PEER_MAC, 80));
    kit.untilCsr0(CSR0.RINT, { nsMax: 1_000_000 });
    kit.lance.read('CSR0');
    kit.lance.write('CSR0', CSR0.RINT | CSR0.INEA);
    return kit;
  }

  it('records each register access with time, name (RDP by the CSR that RAP selects), value and bits', () => {
    const kit = scenario(true);
    const e = kit.log.entries;
    expect(e.length).toBeGreaterThan(10);
    expect(e[0]).toMatchObject({ register: 'CSR0', kind: 'write', value: CSR0.STOP, decoded: 'STOP', initiator: 'cpu', device: 'dut.lance' });
    expect(kit.log.of('RAP', 'write').map((x) => x.value)).toContain(3);
    expect(kit.log.of('CSR3', 'write')).toHaveLength(1);
    const idon = kit.log.of('CSR0', 'write').find((x) => (x.value & CSR0.STRT) !== 0)!;
    expect(idon.decoded).toBe('IDON|INEA|STRT'); // most significant first
    const reads = kit.log.of('CSR0', 'read');
    expect(reads).toHaveLength(1);
    expect(reads[0]!.decoded).toMatch(/^RINT\|INTR\|INEA\|RXON\|TXON\|STRT\|INIT$/);
    expect(kit.log.of('ESAR[0]', 'read')).toHaveLength(2); // stationAddress(), twice
    const last = e[e.length - 1]!;
    expect(last).toMatchObject({ register: 'CSR0', kind: 'write', timeNs: kit.now });
    expect(kit.log.text()).toMatch(/W dut\.lance CSR0 = 0x0004  STOP/);
    // Times never go backwards.
    for (let i = 1; i < e.length; i++) expect(e[i]!.timeNs).toBeGreaterThanOrEqual(e[i - 1]!.timeNs);
  });

  it('off, it records nothing and the run is the same run (same trace fingerprint)', () => {
    const off = scenario(false);
    const on = scenario(true);
    expect(off.log.entries).toHaveLength(0);
    expect(on.trace.fingerprint()).toBe(off.trace.fingerprint());
    expect(on.now).toBe(off.now);
  });
});

describe('devkit: interrupts as the CPU takes them', () => {
  it('a KN02 enable with no handler installed is a warning, and the CPU does not spin on an empty handler', () => {
    const kit = createDevkit({ lance: true });
    kit.enableInterrupts([0]);
    kit.runFor(0); // the CPU samples its interrupt input at the instant of the change
    expect(kit.warnings).toHaveLength(1);
    expect(kit.warnings[0]).toMatch(/no CPU handler installed/);
    up(kit);
    kit.ethernetPeer.send(ethernetFrame(kit.lance.stationAddress(), DEVKIT_PEER_MAC, 80));
    kit.runFor(1_000_000);
    expect(kit.interruptAsserted()).toBe(true);
    expect(kit.host.cpu.interruptsTotal).toBe(0);
    expect(kit.warnings).toHaveLength(1); // once per enable bit
  });

  it('with a handler: it runs when the line rises, acknowledges through the bus, and the line drops', () => {
    const kit = createDevkit({ lance: true });
    const seen: number[] = [];
    kit.onInterrupt(() => {
      const c = kit.lance.read('CSR0');
      seen.push(c);
      kit.lance.write('CSR0', (c & (CSR0.RINT | CSR0.TINT | CSR0.IDON | CSR0.MISS)) | CSR0.INEA);
    });
    kit.enableInterrupts([0]);
    up(kit);
    kit.ethernetPeer.send(ethernetFrame(kit.lance.stationAddress(), DEVKIT_PEER_MAC, 80));
    kit.runFor(1_000_000);
    expect(kit.warnings).toEqual([]);
    expect(seen.some((c) => (c & CSR0.RINT) !== 0)).toBe(true);
    expect(kit.interruptAsserted()).toBe(false);
    expect(kit.host.cpu.interruptsTotal).toBe(seen.length);
  });

  it('a handler that never acknowledges is reported as an interrupt storm', () => {
    const kit = createDevkit({ lance: true });
    let runs = 0;
    kit.onInterrupt(() => {
      runs++;
    });
    kit.enableInterrupts([0]);
    up(kit);
    kit.ethernetPeer.send(ethernetFrame(kit.lance.stationAddress(), DEVKIT_PEER_MAC, 80));
    kit.runUntil(() => runs > IRQ_STORM_RUNS, { nsMax: 10_000_000 });
    expect(kit.warnings.join('\n')).toMatch(/interrupt storm/);
  });
});

describe('devkit: an AN1 bench by register name', () => {
  it('receives a frame from the link peer into a posted ring and sends one back', () => {
    const kit = createDevkit({ an1: { firmware: createBqiFirmware() }, accessLog: true });
    const an1 = kit.an1;
    expect(an1.read('NBQI')).toBe(64);
    expect(an1.read('CSR') & AN1_CSR.LINKUP).toBe(AN1_CSR.LINKUP);
    an1.write('IMR', AN1_ISR.RXDONE | AN1_ISR.TXDONE);
    an1.write('CSR', AN1_CSR.RXEN | AN1_CSR.TXEN | AN1_CSR.INTEN);
    an1.openRing(3, 2, [{ addr: 0x10000, length: 2048 }]);
    const frame = new Uint8Array(100);
    frame[3] = 3; // DST_BQI = 3
    frame.fill(0x5a, 20);
    kit.linkPeer.send(frame);
    expect(kit.untilInterrupt({ nsMax: 1_000_000 })).toBe(true);
    expect(an1.read('ISR') & AN1_ISR.RXDONE).toBe(AN1_ISR.RXDONE);
    expect(an1.popCompletions()).toEqual([{ bqi: 3, slot: 0, status: AN1_RXST.OK, length: 100 }]);
    expect(kit.readRam(0x10000, 100)).toEqual(frame);
    expect(kit.log.of('BQ[3].POSTED', 'write').map((e) => e.value)).toEqual([1]);
    expect(kit.log.of('BQ[3].DESC_LEN[0]', 'write').map((e) => e.value)).toEqual([2048]);

    kit.writeRam(0x20000, frame);
    an1.transmit(0x20000, 100);
    expect(kit.untilLinkPeerReceived(1, { nsMax: 1_000_000 })).toBe(true);
    expect(kit.linkPeer.frames[0]!.subarray(0, 100)).toEqual(frame);
    expect(kit.guestErrorCount).toBe(0);
  });

  it('ISR.RXDONE is a latched event: acknowledging it with completions queued leaves them, line low (drain after acknowledging)', () => {
    const kit = createDevkit({ an1: { firmware: createBqiFirmware() } });
    const an1 = kit.an1;
    an1.write('IMR', AN1_ISR.RXDONE);
    an1.write('CSR', AN1_CSR.RXEN | AN1_CSR.INTEN);
    an1.openRing(0, 6, [{ addr: 0x10000, length: 2048 }, { addr: 0x20000, length: 2048 }]);
    const frame = new Uint8Array(64);
    kit.linkPeer.send(frame);
    kit.linkPeer.send(frame);
    expect(kit.runUntil(() => kit.backdoor.peek32(kit.an1.base + AN1_REGS.RXC_COUNT) === 2, { nsMax: 1_000_000 })).toBe(true);
    an1.write('ISR', AN1_ISR.RXDONE); // acknowledge with two entries still queued
    expect(an1.read('ISR') & AN1_ISR.RXDONE).toBe(0);
    expect(an1.read('RXC_COUNT')).toBe(2);
    expect(kit.interruptAsserted()).toBe(false);
    expect(an1.popCompletions()).toHaveLength(2); // the recipe: acknowledge, then pop until empty
  });
});
