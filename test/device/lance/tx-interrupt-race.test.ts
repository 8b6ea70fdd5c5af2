/**
 * A LANCE interrupt taken inside a burst that is handing the chip a transmit descriptor
 * (docs/lance.md "Driver critical sections"). The burst's code runs ahead of the clock: the
 * driver's bookkeeping (txProd, txOutstanding) is done at once, the descriptor's OWN write lands
 * at its CPU-local stamp. An interrupt due before that stamp must not see the bookkeeping without
 * the descriptor, or drainTx retires a slot the chip has not been given.
 */
import { describe, expect, it } from 'vitest';
import { isSync } from '../../../kernel/dev/sync.ts';
import { LanceDriver, type LanceDriverConfig } from '../../../kernel/dev/lance/lance-driver.ts';
import type { DriverEnv } from '../../../kernel/dev/driver-env.ts';
import { Kernel } from '../../../kernel/kernel.ts';
import { DUT_MAC, PEER_MAC, SLOT, makeRig, testFrame } from './rig.ts';

const MS = 1_000_000;

function rig(config: Partial<LanceDriverConfig> = {}) {
  const r = makeRig();
  const kernel = new Kernel(r.host.hostPort());
  const env: DriverEnv = {
    host: r.host.hostPort(),
    registerInterrupt: (bit, h) => kernel.registerInterrupt(bit, h),
    postKernelWork: (w) => kernel.postKernelWork(w),
  };
  const driver = new LanceDriver(env, { slot: SLOT, slotBase: r.base, ...config });
  /** At each completion: (frames the peer had received, ok). */
  const done: { onWire: number; ok: boolean; atNs: number }[] = [];
  driver.onTransmitDone = (x) => done.push({ onWire: r.peer.frames.length, ok: x.ok, atNs: r.sched.now });
  const kernelDo = (work: () => unknown): void => {
    let ran = false;
    kernel.postKernelWork(function* () {
      const w = work();
      if (isSync(w)) yield* w;
      ran = true;
    });
    r.sched.runUntil(() => ran, { nsMax: 10 * MS });
  };
  let up = false;
  kernelDo(function* () {
    up = (yield* driver.attach()) && (yield* driver.init());
  });
  expect(up).toBe(true);
  return { ...r, kernel, driver, done, kernelDo };
}

/**
 * Frame 1 (60 bytes) goes out from kernel work; an interruptible burst (a thread's trap, as
 * netio's send runs) starts `leadNs` before frame 1's transmit interrupt and hands the driver a
 * 1514-byte frame 2 (its PIO copy takes ≈ 180 µs, so the interrupt falls inside the put); then
 * frames 3..n follow from kernel work, one per millisecond.
 */
function race(leadNs: number, n: number, config: Partial<LanceDriverConfig> = {}) {
  // Where frame 1's completion is handled, on an undisturbed rig (deterministic).
  const probe = rig(config);
  probe.kernelDo(() => probe.driver.transmit(testFrame(PEER_MAC, DUT_MAC, 60, 1)));
  probe.sched.runUntil(() => probe.done.length > 0, { nsMax: 2 * MS });
  const doneAt = probe.done[0]!.atNs;
  const d = rig(config);
  d.kernelDo(() => d.driver.transmit(testFrame(PEER_MAC, DUT_MAC, 60, 1)));
  d.step(doneAt - leadNs - d.sched.now);
  expect(d.host.cpu.isBusy).toBe(false);
  let accepted = false;
  d.host.cpu.execute('user', () => {
    d.host.cpu.charge(25, 'trap');
    accepted = d.driver.transmitFrom(1514, (w) => w.write(0, testFrame(PEER_MAC, DUT_MAC, 1514, 2)));
  });
  expect(accepted).toBe(true);
  // Frames 3..n at once, from kernel work that runs as soon as the burst ends (the ring fills).
  d.kernelDo(() => {
    for (let k = 3; k <= n; k++) d.driver.transmit(testFrame(PEER_MAC, DUT_MAC, 1000, k));
  });
  d.step(60 * MS);
  return d;
}

describe('LANCE driver: an interrupt during a transmit put (splimp)', () => {
  // Leads from 30 to 80 µs put frame 1's transmit interrupt inside the burst before frame 2's
  // descriptor write (stamped ≈ 180 µs into it). Before the masked section, drainTx retired slot 1
  // from its stale descriptor: frame 2 reported sent while the peer had 1 frame, and the ring
  // bookkeeping one slot short from then on (2 of the next 38 frames lost).
  for (const lead of [30_000, 50_000, 80_000]) {
    it(`the interrupt ${lead / 1000} µs before the burst waits for the put; every completion follows its frame; nothing is lost`, () => {
      const n = 40;
      const d = race(lead, n, { txRingLog2: 2, watchdogNs: 10 * MS });
      d.done.forEach((x, i) => {
        expect(x.ok).toBe(true);
        
        expect(x.onWire, `completion ${i + 1} reported with ${x.onWire} frames on the wire`).toBeGreaterThanOrEqual(i + 1);
      });
      expect(d.done.length).toBe(n);
      // Every frame once, in order (testFrame's byte 14 is 14·7 + tag).
      expect(d.peer.frames.map((f) => (f[14]! - 98) & 0xff)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(d.driver.counters.framesSent).toBe(n);
      expect(d.driver.counters.watchdogResets + d.driver.counters.reinits).toBe(0);
      expect(d.host.cpu.interruptsDeferredTotal).toBeGreaterThanOrEqual(1);
    });
  }
});
