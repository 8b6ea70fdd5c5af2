/**
 * The kernel's LANCE driver against the PMAD-AA model: bring-up, transmit and receive upcall with
 * PIO costs, recovery paths, and the two-host 10,000-frame exchange with its pcaps read by tshark.
 */
import { isSync, runUntimed } from '../../../kernel/dev/sync.ts';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LanceDriver, lanceLadrf, type LanceDriverConfig, type LanceTxDone } from '../../../kernel/dev/lance/lance-driver.ts';
import type { DriverEnv } from '../../../kernel/dev/driver-env.ts';
import { Kernel } from '../../../kernel/kernel.ts';
import { World } from '../../../studies/world.ts';
import { runRawEthernet, type RawEthernetRun } from '../../../studies/scenarios/raw-ethernet.ts';
import { DUT_MAC, PEER_MAC, SLOT, makeRig, testFrame } from './rig.ts';

const MS = 1_000_000;

function makeDriverRig(config: Partial<LanceDriverConfig> = {}, rigOptions: Parameters<typeof makeRig>[0] = {}) {
  const r = makeRig(rigOptions);
  const kernel = new Kernel(r.host.hostPort());
  const env: DriverEnv = {
    host: r.host.hostPort(),
    registerInterrupt: (bit, h) => kernel.registerInterrupt(bit, h),
    postKernelWork: (w) => kernel.postKernelWork(w),
  };
  const driver = new LanceDriver(env, { slot: SLOT, slotBase: r.base, ...config });
  const received: Uint8Array[] = [];
  const done: LanceTxDone[] = [];
  driver.onFrame = (f) => received.push(f);
  driver.onTransmitDone = (d) => done.push(d);
  /** Run `work` as kernel work and wait (bounded) until it has run. */
  const kernelDo = (work: () => unknown): void => {
    let ran = false;
    kernel.postKernelWork(function* () {
      const r = work();
      if (isSync(r)) yield* r;
      ran = true;
    });
    r.sched.runUntil(() => ran, { nsMax: 10 * MS });
    expect(ran).toBe(true);
  };
  let up = false;
  kernelDo(function* () {
    up = (yield* driver.attach()) && (yield* driver.init());
  });
  expect(up).toBe(true);
  return { ...r, kernel, driver, received, done, kernelDo };
}

describe('LANCE driver', () => {
  it('attaches (ESAR address, ROM name), initializes through the 21-step sequence and starts', () => {
    const d = makeDriverRig();
    expect([...d.driver.stationAddress]).toEqual([...DUT_MAC]);
    expect(d.driver.isRunning).toBe(true);
    expect(d.bus.peek16(d.base + 0x100000) & 0x0073).toBe(0x0073);
    expect(d.guestErrors()).toBe(0);
  });

  it('refuses a slot without a PMAD-AA', () => {
    const d = makeDriverRig();
    const env: DriverEnv = { host: d.host.hostPort(), registerInterrupt: () => {}, postKernelWork: () => {} };
    const empty = new LanceDriver(env, { slot: 1, slotBase: d.host.slotBase(1) });
    expect(runUntimed(empty.attach())).toBe(false);
  });

  it('transmits by PIO (padding to 60) with its cost charged, and reports completion', () => {
    const d = makeDriverRig();
    const pioBefore = d.host.cpu.cyclesByCategory.get('pio') ?? 0;
    d.kernelDo(() => {
      expect(d.driver.transmit(testFrame(PEER_MAC, DUT_MAC, 42, 1))).toBe(true);
      expect(d.driver.transmit(testFrame(PEER_MAC, DUT_MAC, 1000, 2))).toBe(true);
    });
    const pio = (d.host.cpu.cyclesByCategory.get('pio') ?? 0) - pioBefore;
    // 60 + 1000 bytes at 120 ns/byte = 3180 cycles of block PIO, plus descriptor and CSR stores.
    expect(pio).toBeGreaterThanOrEqual(Math.ceil((60 * 120) / 40) + Math.ceil((1000 * 120) / 40));
    d.step(3 * MS);
    expect(d.peer.frames.map((f) => f.length)).toEqual([64, 1004]);
    expect([...d.peer.frames[0]!.subarray(0, 42)]).toEqual([...testFrame(PEER_MAC, DUT_MAC, 42, 1)]);
    expect([...d.peer.frames[0]!.subarray(42, 60)]).toEqual(new Array(18).fill(0));
    expect(d.done.map((x) => x.ok)).toEqual([true, true]);
    expect(d.driver.counters.framesSent).toBe(2);
  });

  it('receive upcall: the handler reads the header and copies a range by PIO into RAM before the descriptor goes back', () => {
    const d = makeDriverRig();
    const ram = d.host.hostPort().ram;
    const REGION = 0x20_0000;
    let headerSeen: number[] = [];
    let lengthSeen = 0;
    d.driver.setReceiveHandler(function* (f) {
      headerSeen = [...(yield* f.readHeader(14))];
      lengthSeen = f.length;
      yield* f.copyTo(ram.subarray(REGION, REGION + 2048), 0, 14);
      // Out-of-range requests are clamped, never thrown.
      yield* f.copyTo(ram.subarray(REGION + 4096, REGION + 4100), 0, 5000, 10);
    });
    const f = testFrame(DUT_MAC, PEER_MAC, 700, 9);
    d.peer.send(f);
    const pioBefore = d.host.cpu.cyclesByCategory.get('pio') ?? 0;
    d.step(2 * MS);
    expect(lengthSeen).toBe(700);
    expect(headerSeen).toEqual([...f.subarray(0, 14)]);
    expect([...ram.subarray(REGION, REGION + 686)]).toEqual([...f.subarray(14)]);
    const pio = (d.host.cpu.cyclesByCategory.get('pio') ?? 0) - pioBefore;
    expect(pio).toBeGreaterThanOrEqual(Math.ceil((700 * 280) / 40));
    expect(d.driver.counters.framesReceived).toBe(1);
    expect(d.received.length).toBe(0);
    // The default handler copies whole frames out again once the hook is removed.
    d.driver.setReceiveHandler(undefined);
    d.peer.send(testFrame(DUT_MAC, PEER_MAC, 100, 3));
    d.step(2 * MS);
    expect(d.received.map((x) => x.length)).toEqual([100]);
  });

  it('MISS while interrupts are blocked is counted; the rings keep running', () => {
    const d = makeDriverRig({ rxRingLog2: 1 });
    // Kernel work that holds the CPU at raised priority for 3 ms.
    d.kernel.postKernelWork(() => d.host.cpu.chargeNs(3 * MS));
    d.step(1000);
    for (let i = 0; i < 4; i++) {
      d.peer.send(testFrame(DUT_MAC, PEER_MAC, 64, i));
      d.step(200_000);
    }
    d.step(4 * MS);
    expect(d.received.length).toBe(2);
    expect(d.driver.counters.rxMissed).toBeGreaterThanOrEqual(1);
    d.peer.send(testFrame(DUT_MAC, PEER_MAC, 64, 9));
    d.step(1 * MS);
    expect(d.received.length).toBe(3);
    expect(d.driver.counters.reinits).toBe(0);
  });

  it('MERR → full re-initialization, then traffic resumes', () => {
    const d = makeDriverRig();
    // A memory fault: receive descriptor 0's buffer address now points beyond the 128 KB.
    const flags = d.bus.peek16(d.base + 0x20 + 2);
    d.bus.poke16(d.base + 0x20 + 2, flags | 0x05);
    d.peer.send(testFrame(DUT_MAC, PEER_MAC, 100, 1));
    d.step(2 * MS);
    expect(d.driver.counters.memoryErrors).toBe(1);
    expect(d.driver.counters.reinits).toBe(1);
    expect(d.driver.isRunning).toBe(true);
    d.peer.send(testFrame(DUT_MAC, PEER_MAC, 100, 2));
    d.step(2 * MS);
    expect(d.received.length).toBe(1);
  });

  it('transmit BUFF/UFLO (chain without ENP) → TXON off → re-initialization; the frame is reported failed', () => {
    const d = makeDriverRig({ txRingLog2: 2 });
    d.kernelDo(() => {
      d.driver.transmit(testFrame(PEER_MAC, DUT_MAC, 200, 1));
    });
    // After the driver's descriptor store has reached the board (OWN set) and before its TDMD
    // store does (writes land at their CPU-local times), clear ENP in TMD 0: a driver bug or a
    // memory fault.
    const tmd0 = 0x20 + 64 * 8;
    d.sched.runUntil(() => (d.bus.peek16(d.base + tmd0 + 2) & 0x8000) !== 0, { nsMax: MS });
    expect(d.host.bus.pendingWrites).toBeGreaterThan(0);
    const flags = d.bus.peek16(d.base + tmd0 + 2);
    d.bus.poke16(d.base + tmd0 + 2, flags & ~0x0100);
    d.step(2 * MS);
    expect(d.driver.counters.txUnderflows).toBe(1);
    expect(d.driver.counters.reinits).toBe(1);
    expect(d.done[0]).toMatchObject({ ok: false, error: 'underflow' });
    d.kernelDo(() => {
      d.driver.transmit(testFrame(PEER_MAC, DUT_MAC, 200, 2));
    });
    d.step(2 * MS);
    expect(d.peer.frames.length).toBe(1);
    expect(d.done[1]).toMatchObject({ ok: true });
  });

  it('the transmit watchdog re-initializes a chip that stopped behind the driver\'s back', () => {
    const d = makeDriverRig({ watchdogNs: 10 * MS });
    d.bus.write16(d.base + 0x100004, 0);
    d.bus.write16(d.base + 0x100000, 0x0004); // STOP
    d.kernelDo(() => {
      d.driver.transmit(testFrame(PEER_MAC, DUT_MAC, 100, 1));
    });
    d.step(5 * MS);
    expect(d.peer.frames.length).toBe(0);
    d.step(10 * MS);
    expect(d.driver.counters.watchdogResets).toBe(1);
    expect(d.done[0]).toMatchObject({ ok: false, error: 'reset' });
    d.kernelDo(() => {
      d.driver.transmit(testFrame(PEER_MAC, DUT_MAC, 100, 2));
    });
    d.step(2 * MS);
    expect(d.peer.frames.length).toBe(1);
  });

  it('multicast filter: the driver\'s LADRF lets a joined group in, others stay out; a change re-initializes', () => {
    expect(lanceLadrf([new Uint8Array([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01])])).toEqual([0, 0, 0, 0x0040]);
    const d = makeDriverRig();
    const group = new Uint8Array([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]);
    d.peer.send(testFrame(group, PEER_MAC, 64, 1));
    d.step(1 * MS);
    expect(d.received.length).toBe(0);
    let ok = false;
    d.kernelDo(function* () {
      ok = yield* d.driver.setFilter({ multicast: [group] });
    });
    expect(ok).toBe(true);
    expect(d.driver.counters.reinits).toBe(1);
    d.peer.send(testFrame(group, PEER_MAC, 64, 2));
    d.step(1 * MS);
    expect(d.received.length).toBe(1);
  });

  it('lost carrier and CRC errors are counted, not fatal', () => {
    const d = makeDriverRig({}, { dutPort: { transceiver: 'no-carrier' } });
    d.kernelDo(() => {
      d.driver.transmit(testFrame(PEER_MAC, DUT_MAC, 100, 1));
    });
    d.step(2 * MS);
    expect(d.driver.counters.txLostCarrier).toBe(1);
    expect(d.driver.counters.heartbeatErrors).toBeGreaterThanOrEqual(1);
    d.peer.send(testFrame(DUT_MAC, PEER_MAC, 100, 2), { fcs: 'bad' });
    d.step(2 * MS);
    expect(d.driver.counters.rxCrcErrors).toBe(1);
    expect(d.driver.counters.reinits).toBe(0);
  });
});

function haveTshark(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('two hosts exchange 10,000 raw frames through their drivers (1 % loss, both sending at once)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulp-lance-'));
  const world = new World({ seed: 1 });
  let run!: RawEthernetRun;
  let res!: Record<string, unknown> & { dropped: Record<string, number> };
  let wallMs = 0;
  beforeAll(() => {
    const t0 = process.hrtime.bigint();
    run = runRawEthernet(world, { frames: 10_000, loss: 0.01, pcapDir: dir });
    wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    res = run.results as Record<string, unknown> & { dropped: Record<string, number> };
  });

  it('every frame not lost arrives intact and in order; the counters add up', () => {
    expect(res['outcome']).toBe('done');
    expect(res['framesSent']).toBe(10_000);
    expect(res['outOfOrder']).toBe(0);
    expect(res['corruptDelivered']).toBe(0);
    expect(res['framesSent']).toBe((res['framesReceived'] as number) + (res['framesDropped'] as number));
    expect(res.dropped['unexplained']).toBe(0);
    // 1 % of ≈10,000 frames on the wire.
    expect(res.dropped['lostOnWire']).toBeGreaterThan(50);
    expect(res.dropped['lostOnWire']).toBeLessThan(160);
    expect(res['collisions'] as number).toBeGreaterThan(0);
    for (const [i, s] of run.stations.entries()) {
      const peer = run.stations[1 - i]!;
      const c = s.driver.counters;
      expect(c.framesSent + c.txErrors).toBe(s.sent);
      expect(c.framesReceived).toBe(s.received);
      expect(s.board.chip.stats.framesReceived).toBe(c.framesReceived);
      const port = run.segment.ports.find((p) => p.name === s.name)!;
      const peerPort = run.segment.ports.find((p) => p.name === peer.name)!;
      expect(port.counters.framesSent).toBe(c.framesSent);
      expect(port.counters.framesSent).toBe(peerPort.counters.framesArrived + peerPort.counters.framesLostInbound);
      expect(c.reinits).toBe(0);
    }
    expect(world.trace.guestErrorsTotal).toBe(0);
    // Throughput near the 10 Mb/s line rate minus preamble, gaps and collisions.
    expect(res['throughputMbps'] as number).toBeGreaterThan(8);
    expect(res['throughputMbps'] as number).toBeLessThan(10);
    console.log(`raw-ethernet 10,000 frames: ${wallMs.toFixed(0)} ms wall, ${JSON.stringify({ thr: res['throughputMbps'], coll: res['collisions'], dropped: res.dropped })}`);
  });

  it('the per-interface pcaps read cleanly in tshark (skipped without tshark)', (ctx) => {
    if (!haveTshark()) {
      ctx.skip('tshark not installed: apt-get install tshark to run this check');
      return;
    }
    expect(run.pcapFiles.length).toBe(2);
    for (const file of run.pcapFiles) {
      const info = execFileSync('capinfos', ['-t', '-E', '-c', file], { encoding: 'utf8' });
      expect(info).toMatch(/nanosecond pcap/);
      expect(info).toMatch(/Ethernet/);
      const out = execFileSync('tshark', ['-n', '-r', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const lines = out.split('\n').filter((l) => l.trim() !== '');
      const name = file.endsWith('ws-a.pcap') ? 'ws-a' : 'ws-b';
      const port = run.segment.ports.find((p) => p.name === name)!;
      expect(lines.length).toBe(port.counters.framesSent + port.counters.framesArrived);
      expect(out).not.toMatch(/Malformed/i);
      const bad = execFileSync('tshark', ['-n', '-r', file, '-Y', '_ws.malformed || _ws.expert.severity >= "Warning"'], { encoding: 'utf8' });
      expect(bad.trim()).toBe('');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('bit corruption on the wire is caught by the FCS (CRC errors), never delivered', () => {
    const w = new World({ seed: 2 });
    const c = runRawEthernet(w, { frames: 2_000, loss: 0, corrupt: 0.02 }).results as Record<string, unknown> & { dropped: Record<string, number> };
    expect(c['crcErrors'] as number).toBeGreaterThan(10);
    expect(c['corruptDelivered']).toBe(0);
    expect(c['outOfOrder']).toBe(0);
    expect(c.dropped['unexplained']).toBe(0);
  });

  it('capture does not change the run: same fingerprint with and without pcap', () => {
    const a = new World({ seed: 3 });
    runRawEthernet(a, { frames: 600 });
    const b = new World({ seed: 3 });
    const d2 = mkdtempSync(join(tmpdir(), 'ulp-lance-fp-'));
    runRawEthernet(b, { frames: 600, pcapDir: d2 });
    rmSync(d2, { recursive: true, force: true });
    expect(b.trace.fingerprint()).toBe(a.trace.fingerprint());
    expect(b.sched.now).toBe(a.sched.now);
  });
});
