/**
 * Causal device access (DESIGN.md "Causality", docs/foundation.md): a device sees a CPU write no
 * earlier than the write's CPU-local time, a CPU read answers the device's state at the read's
 * local time, and a DMA reads and writes RAM as of its own time. Each case runs a CPU burst on a
 * bare host (emulator/devkit) that runs far ahead of the clock, and would have gone the other way
 * when bursts applied their accesses as of their start (the measurements).
 */
import { describe, expect, it } from 'vitest';
import { AN1_CSR, AN1_ISR, CSR0, createDevkit, DEVKIT_PEER_MAC, ethernetFrame, TMD1, type Devkit } from '../../emulator/devkit/index.ts';
import { createBqiFirmware } from '../../firmware/an1/main.ts';
import { SYNC } from '../../kernel/dev/sync.ts';

const US = 1000;
const CYCLES_PER_US = 25;

/** Run `body` as one CPU burst starting now, then let the world run until it has ended. */
function burst(kit: Devkit, body: () => unknown): void {
  kit.host.cpu.execute('test', body);
  expect(kit.runUntil(() => !kit.host.cpu.isBusy, { nsMax: 50_000 * US })).toBe(true);
}

function violations(kit: Devkit): number {
  const c = kit.bus.causality;
  return c.readsAhead + c.writesMistimed;
}

/** A LANCE started as the datasheet says, with a 4-entry transmit ring at TX. */
function startedLance(): { kit: Devkit; TX: number } {
  const kit = createDevkit({ lance: true });
  const lance = kit.lance;
  const RX = 0x40, TX = 0x80;
  lance.write('CSR0', CSR0.STOP);
  lance.write('CSR3', 0);
  lance.writeInitBlock(0, { padr: lance.stationAddress(), rx: { base: RX, log2: 2 }, tx: { base: TX, log2: 2 } });
  for (let i = 0; i < 4; i++) lance.writeDescriptor(RX, i, { addr: 0x1000 + 0x600 * i, length: 0x600, flags: 0x8000 });
  for (let i = 0; i < 4; i++) lance.writeDescriptor(TX, i, { addr: 0x4000 + 0x600 * i, length: 0x600, flags: 0 });
  lance.write('CSR1', 0);
  lance.write('CSR2', 0);
  lance.write('CSR0', CSR0.INIT);
  expect(kit.untilCsr0(CSR0.IDON, { nsMax: 1000 * US })).toBe(true);
  lance.write('CSR0', CSR0.IDON | CSR0.STRT);
  return { kit, TX };
}

/** An AN1 with BQI 3's ring on one 2 KB buffer at 0x10000; receive enabled unless told. */
function an1Kit(rxOn = true): Devkit {
  const kit = createDevkit({ an1: { firmware: createBqiFirmware() } });
  kit.an1.write('IMR', AN1_ISR.RXDONE | AN1_ISR.TXDONE);
  kit.an1.write('CSR', (rxOn ? AN1_CSR.RXEN : 0) | AN1_CSR.TXEN | AN1_CSR.INTEN);
  kit.an1.openRing(3, 2, [{ addr: 0x10000, length: 2048 }]);
  return kit;
}

function an1Frame(fill: number, bytes = 200): Uint8Array {
  const f = new Uint8Array(bytes);
  f[3] = 3; // DST_BQI = 3
  f.fill(fill, 20);
  return f;
}

describe('causal device access', () => {
  it('LANCE: the transmit poll never sends a frame whose OWN store lies in its future', () => {
    const { kit, TX } = startedLance();
    const lance = kit.lance;
    const cpu = kit.host.cpu;
    const frame = ethernetFrame(DEVKIT_PEER_MAC, lance.stationAddress(), 60);
    let ownAt = 0;
    // 3 ms of work, then the frame and its descriptor (OWN last) with no TDMD: only the chip's
    // own 1.6 ms transmit poll can find it, and it polls inside this burst's span twice.
    kit.host.cpu.execute('test', () => {
      cpu.charge(3000 * CYCLES_PER_US, 'test');
      lance.writeBytes(0x4000, frame);
      ownAt = cpu.localNow();
      lance.writeDescriptor(TX, 0, { addr: 0x4000, length: 60, flags: TMD1.OWN | TMD1.STP | TMD1.ENP });
    });
    expect(kit.runUntil(() => kit.sched.now >= ownAt - 1, { nsMax: 10_000 * US })).toBe(true);
    expect(kit.ethernetPeer.frames).toHaveLength(0);
    expect(lance.readDescriptor(TX, 0).flags & TMD1.OWN).toBe(0); // the store has not landed yet
    expect(kit.untilPeerReceived(1, { nsMax: 5000 * US })).toBe(true);
    // 64 bytes + preamble at 0.8 µs a byte: the frame cannot have started before the OWN store.
    expect(kit.sched.now).toBeGreaterThanOrEqual(ownAt + 64 * 800);
    expect(kit.ethernetPeer.frames[0]!.subarray(0, 60)).toEqual(frame);
    expect(violations(kit)).toBe(0);
  });

  it('AN1: RXEN written after a frame has arrived does not catch that frame; written before, it does', () => {
    for (const [delayUs, caught] of [[200, false], [0, true]] as const) {
      const kit = an1Kit(false);
      const cpu = kit.host.cpu;
      kit.linkPeer.send(an1Frame(0x5a)); // arrives within about 20 µs
      burst(kit, () => {
        cpu.charge(delayUs * CYCLES_PER_US, 'test');
        kit.an1.write('CSR', AN1_CSR.RXEN | AN1_CSR.TXEN | AN1_CSR.INTEN);
      });
      kit.runFor(500 * US);
      expect({ delayUs, completions: kit.an1.read('RXC_COUNT') }).toEqual({ delayUs, completions: caught ? 1 : 0 });
      expect(violations(kit)).toBe(0);
    }
  });

  it('AN1: polls of RXC_COUNT inside one burst see the completion once it has happened (0 → 1, never early)', () => {
    const kit = an1Kit();
    const cpu = kit.host.cpu;
    const an1 = kit.an1;
    kit.linkPeer.send(an1Frame(0x33));
    const seen: { atNs: number; count: number }[] = [];
    burst(kit, function* () {
      for (let i = 0; i < 52; i++) {
        cpu.charge(2 * CYCLES_PER_US, 'test');
        if (cpu.isAhead) yield SYNC;
        seen.push({ atNs: cpu.localNow(), count: an1.read('RXC_COUNT') });
      }
    });
    const first = seen.findIndex((s) => s.count === 1);
    expect(first).toBeGreaterThan(0); // not there at the first poll, there later in the same burst
    expect(seen.slice(first).every((s) => s.count === 1)).toBe(true);
    expect(seen.slice(0, first).every((s) => s.count === 0)).toBe(true);
    // The completion really had happened by the poll that saw it, and not by the one before.
    const replay = an1Kit();
    replay.linkPeer.send(an1Frame(0x33));
    expect(replay.runUntil(() => replay.an1Controller!.peek(0x3004, 4) === 1, { nsMax: 1000 * US })).toBe(true);
    const doneAt = replay.sched.now;
    expect(seen[first]!.atNs).toBeGreaterThanOrEqual(doneAt);
    expect(seen[first - 1]!.atNs).toBeLessThan(doneAt);
    expect(violations(kit)).toBe(0);
  });

  it('the check: a body that polls a device with no sync point is counted as reading ahead of the clock', () => {
    const kit = an1Kit();
    const cpu = kit.host.cpu;
    burst(kit, () => {
      for (let i = 0; i < 10; i++) {
        cpu.charge(2 * CYCLES_PER_US, 'test');
        kit.an1.read('RXC_COUNT');
      }
    });
    expect(kit.bus.causality.readsAhead).toBe(10);
    expect(kit.bus.causality.firstViolation).toMatch(/device read at \d+ answered at \d+/);
  });

  it('AN1: RESET written after a receive DMA has ended leaves the frame in RAM', () => {
    for (const [delayUs, kept] of [[300, true], [0, false]] as const) {
      const kit = an1Kit();
      const cpu = kit.host.cpu;
      const f = an1Frame(0x77);
      kit.linkPeer.send(f);
      burst(kit, () => {
        cpu.charge(delayUs * CYCLES_PER_US, 'test');
        kit.an1.write('CSR', AN1_CSR.RESET);
      });
      kit.runFor(500 * US);
      const inRam = kit.readRam(0x10000, f.length).every((b, i) => b === f[i]);
      expect({ delayUs, inRam }).toEqual({ delayUs, inRam: kept });
      expect(violations(kit)).toBe(0);
    }
  });

  it('AN1: a transmit DMA reads the buffer as of its own time: a rewrite after the DMA does not reach the wire', () => {
    const kit = an1Kit();
    const cpu = kit.host.cpu;
    const a = an1Frame(0xaa, 1500);
    const b = an1Frame(0xbb, 1500);
    burst(kit, () => {
      kit.bus.writeBlock(0x20000, a);
      kit.an1.write('TX_ADDR', 0x20000);
      kit.an1.write('TX_LEN', a.length);
      cpu.charge(400 * CYCLES_PER_US, 'test'); // the DMA (≈ 1500 B at TURBOchannel rates) is long done
      kit.bus.writeBlock(0x20000, b);
    });
    expect(kit.untilLinkPeerReceived(1, { nsMax: 2000 * US })).toBe(true);
    expect(kit.linkPeer.frames[0]!.subarray(20, 1500).every((x) => x === 0xaa)).toBe(true);
    expect(kit.readRam(0x20000, 1500)).toEqual(b); // RAM holds the rewrite
    expect(violations(kit)).toBe(0);
  });

  it('AN1: a buffer rewritten before its transmit DMA starts goes out rewritten', () => {
    const kit = an1Kit();
    const cpu = kit.host.cpu;
    const a = an1Frame(0xaa, 1500);
    const b = an1Frame(0xbb, 1500);
    burst(kit, () => {
      kit.bus.writeBlock(0x20000, a);
      kit.bus.writeBlock(0x20000, b); // both stores before the doorbell
      cpu.charge(10 * CYCLES_PER_US, 'test');
      kit.an1.write('TX_ADDR', 0x20000);
      kit.an1.write('TX_LEN', b.length);
    });
    expect(kit.untilLinkPeerReceived(1, { nsMax: 2000 * US })).toBe(true);
    expect(kit.linkPeer.frames[0]!.subarray(20, 1500).every((x) => x === 0xbb)).toBe(true);
  });

  it('an interrupt taken inside a burst pushes the burst\'s later writes by the handler\'s duration', () => {
    const kit = an1Kit();
    const cpu = kit.host.cpu;
    const handlerUs = 100;
    let handled = 0;
    kit.onInterrupt(() => {
      handled++;
      cpu.charge(handlerUs * CYCLES_PER_US, 'test');
      kit.an1.write('ISR', AN1_ISR.RXDONE | AN1_ISR.TXDONE); // acknowledge (the line drops at its time)
    });
    kit.enableInterrupts([1]);
    kit.linkPeer.send(an1Frame(0x11)); // completes (RXDONE) after about 20–30 µs
    let writeStamp = 0;
    kit.host.cpu.execute('test', () => {
      cpu.charge(200 * CYCLES_PER_US, 'test');
      writeStamp = cpu.localNow();
      kit.an1.write('SHORTADDR', 0x1234);
    });
    // Without the interrupt the store would land at writeStamp; the handler ran inside the burst.
    expect(kit.runUntil(() => kit.sched.now >= writeStamp + handlerUs * US - 1, { nsMax: 5000 * US })).toBe(true);
    expect(handled).toBe(1);
    expect(kit.an1Controller!.peek(0x18, 4) & 0xffff).not.toBe(0x1234);
    kit.runFor(10 * US);
    expect(violations(kit)).toBe(0);
  });
});
