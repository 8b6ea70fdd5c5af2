/**
 * The in-kernel path's calibrated rows (emulator/host/costs/inkernel-costs.ts) land where MB93
 * Table 4's Mach 2.5 kernel column puts them, measured on two hosts from the CPU accounting of one
 * segment on an idle established connection (Ethernet, LANCE):
 *   send entry  = the send trap + socket layer + copyin (sender: kernel.trapCycles + Δ sosend + Δ copy);
 *   device read = the receive interrupt, driver, PIO copy and mbuf allocation (receiver: Δ interrupt + driver + pio);
 *   netisr      = the software interrupt alone (receiver: Δ netisr; MB93 lists ipintr and tcp_input as rows of their own).
 * The TCP rows (1 B / 1460 B) of ../shared/calibration/mb93-table4.json; scenario mb93-layers measures every row.
 * Also printed with the published figure and the ratio (docs/inkernel.md quotes them).
 */
import { describe, expect, it } from 'vitest';
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { buildKernelPair, type KernelHost } from '../../../studies/scenarios/inkernel-hosts.ts';
import { World } from '../../../studies/world.ts';
import { num } from '../../../userland/apps/params.ts';
import { sys } from '../../../userland/mach/syscalls.ts';

const listener: GuestProgram = function* () {
  const ls = (yield* sys.socket({})).n;
  yield* sys.bind({ fd: ls, port: 9 });
  yield* sys.listen({ fd: ls, backlog: 1 });
  yield* sys.accept({ fd: ls });
  yield* sys.thread_sleep_ns({ ns: 2_000_000_000 }); // never reads: no wake-up, no copyout in the window
};

const oneSend: GuestProgram = function* (ctx) {
  const fd = (yield* sys.socket({})).n;
  const c = yield* sys.connect({ fd, ip: num(ctx.params, 'peerIp', 0), port: 9 });
  yield* sys.debug_log({ text: `connected=${c.n}` });
  const buf = (yield* sys.vm_allocate({ address: 0, size: 4096, anywhere: true })).address;
  yield* sys.thread_sleep_ns({ ns: 20_000_000 });
  yield* sys.send({ fd, address: buf, length: num(ctx.params, 'bytes', 1) });
  yield* sys.thread_sleep_ns({ ns: 2_000_000_000 });
};

const US_PER_CYCLE = 0.04;
const snap = (h: KernelHost): Map<string, number> => new Map(h.hostCpu.cyclesByCategory);
const delta = (h: KernelHost, before: Map<string, number>, ...cats: string[]): number =>
  cats.reduce((s, c) => s + (h.hostCpu.cyclesByCategory.get(c) ?? 0) - (before.get(c) ?? 0), 0);

/** One segment of `bytes` (copyin of `bytes`; the receiver sees the first frame). µs per row. */
function measure(bytes: number): { sendEntryUs: number; deviceReadUs: number; netisrUs: number; ipintrUs: number; tcpInputUs: number } {
  const w = new World({ seed: 3, traceOn: false });
  const pair = buildKernelPair(w, 'ethernet');
  pair.spawn(pair.b, 'listener', listener);
  const tx = pair.spawn(pair.a, 'tx', oneSend, { peerIp: pair.b.ip, bytes });
  w.sched.runUntil(() => tx.log.some((l) => l === 'connected=0'), { nsMax: 1e9 });
  w.sched.runFor(10_000_000); // the handshake's last ACK is in; both hosts idle
  const a0 = snap(pair.a);
  const b0 = snap(pair.b);
  const in0 = pair.b.net.stats.framesIn;
  w.sched.runUntil(() => pair.b.net.stats.framesIn > in0, { nsMax: 100_000_000 });
  expect(pair.b.net.stats.framesIn).toBe(in0 + 1);
  const trap = w.costs.read('kernel.trapCycles', 'cycles');
  return {
    sendEntryUs: (trap + delta(pair.a, a0, 'sosend', 'copy')) * US_PER_CYCLE,
    deviceReadUs: delta(pair.b, b0, 'interrupt', 'driver', 'pio') * US_PER_CYCLE,
    netisrUs: delta(pair.b, b0, 'netisr') * US_PER_CYCLE,
    ipintrUs: delta(pair.b, b0, 'ipintr') * US_PER_CYCLE,
    tcpInputUs: delta(pair.b, b0, 'tcp_input') * US_PER_CYCLE,
  };
}

describe('in-kernel path on MB93 Table 4 (Mach 2.5 kernel column)', () => {
  it('send entry, device read and netisr land on the published rows', () => {
    const small = measure(1);
    const max = measure(1460); // a 1514-byte frame, MB93's maximum TCP segment
    const sendMax = max.sendEntryUs;
    const rows: [string, number, number, number][] = [
      ['send entry (trap + copyin), 1 B', small.sendEntryUs, 50, 50],
      ['send entry, 1460 B', sendMax, 153, 153],
      ['device read, small', small.deviceReadUs, 77, 77],
      ['device read, max', max.deviceReadUs, 469, 469],
      ['netisr, small', small.netisrUs, 79, 79],
      ['netisr, max', max.netisrUs, 73, 73],
      ['ipintr, 1 B / 1460 B', small.ipintrUs + max.ipintrUs, 67, 67],
      ['tcp_input, 1 B / 1460 B', small.tcpInputUs + max.tcpInputUs, 346, 346],
    ];
    for (const [what, us, lo, hi] of rows) console.log(`${what.padEnd(34)} ${us.toFixed(1).padStart(7)} µs  MB93 ${lo === hi ? lo : `${lo}–${hi}`}  ratio ${(us / ((lo + hi) / 2)).toFixed(2)}`);
    // Calibrated rows: on the published figure.
    expect(small.sendEntryUs).toBeCloseTo(50, 0);
    expect(sendMax).toBeCloseTo(153, 0);
    expect(small.deviceReadUs).toBeGreaterThan(76);
    expect(small.deviceReadUs).toBeLessThan(78);
    expect(small.ipintrUs).toBeCloseTo(30, 0);
    expect(max.ipintrUs).toBeCloseTo(37, 0);
    expect(small.tcpInputUs).toBeCloseTo(76, 0);
    expect(max.tcpInputUs).toBeCloseTo(270, 0);
    // Rows that follow from per-byte costs or are flat: within 15 % of the published figure.
    expect(max.deviceReadUs / 469).toBeGreaterThan(0.85);
    expect(max.deviceReadUs / 469).toBeLessThan(1.15);
    expect(small.netisrUs / 79).toBeGreaterThan(0.85);
    expect(max.netisrUs / 73).toBeLessThan(1.15);
  });

  it('wake user thread: a reader asleep in recv pays the kernel column\'s wake-up, not the library\'s', () => {
    const reader: GuestProgram = function* () {
      const ls = (yield* sys.socket({})).n;
      yield* sys.bind({ fd: ls, port: 9 });
      yield* sys.listen({ fd: ls, backlog: 1 });
      const fd = (yield* sys.accept({ fd: ls })).n;
      const buf = (yield* sys.vm_allocate({ address: 0, size: 4096, anywhere: true })).address;
      yield* sys.recv({ fd, address: buf, length: 4096 }); // asleep until the segment arrives
      yield* sys.debug_log({ text: 'got' });
      yield* sys.thread_sleep_ns({ ns: 2_000_000_000 });
    };
    const w = new World({ seed: 3, traceOn: false });
    const pair = buildKernelPair(w, 'ethernet');
    const rx = pair.spawn(pair.b, 'reader', reader);
    const tx = pair.spawn(pair.a, 'tx', oneSend, { peerIp: pair.b.ip, bytes: 1 });
    w.sched.runUntil(() => tx.log.some((l) => l === 'connected=0'), { nsMax: 1e9 });
    w.sched.runFor(10_000_000); // the reader is asleep in recv
    const b0 = snap(pair.b);
    w.sched.runUntil(() => rx.log.includes('got'), { nsMax: 100_000_000 });
    const wakeUs = delta(pair.b, b0, 'wakeup', 'context-switch') * US_PER_CYCLE;
    console.log(`wake user thread ${wakeUs.toFixed(1)} µs  MB93 TCP 54`);
    expect(delta(pair.b, b0, 'wakeup')).toBe(w.costs.read('inkernel.wakeupCycles', 'cycles'));
    expect(wakeUs / 54).toBeGreaterThan(0.85);
    expect(wakeUs / 54).toBeLessThan(1.15);
  });
});
