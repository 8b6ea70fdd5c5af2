/**
 * The AN1 kernel driver's API as the network I/O module will use it: BQI configuration, buffer
 * posting, per-BQI handlers with batching, disabling, transmit back-pressure, probing.
 */
import { describe, expect, it } from 'vitest';
import { addAn1Host, connectAn1, type An1Host } from '../../../studies/scenarios/hosts.ts';
import { writeHeader } from '../../../studies/scenarios/raw-an1.ts';
import { World } from '../../../studies/world.ts';
import { An1Driver } from '../../../kernel/dev/an1/an1-driver.ts';
import { isSync } from '../../../kernel/dev/sync.ts';

interface Pair {
  world: World;
  a: An1Host;
  b: An1Host;
}

function pair(): Pair {
  const world = new World({ seed: 1, traceOn: false });
  const a = addAn1Host(world, 'ws-a', 0x08002b_000001);
  const b = addAn1Host(world, 'ws-b', 0x08002b_000002);
  connectAn1(world, a, b);
  return { world, a, b };
}

/** Run kernel-level code on a host's CPU and let the world run until it has. */
function kernelDo(p: Pair, h: An1Host, fn: () => unknown): void {
  let done = false;
  h.kernel.postKernelWork(function* () {
    const r = fn();
    if (isSync(r)) yield* r;
    done = true;
  });
  p.world.sched.runUntil(() => done, { nsMax: 1_000_000 });
}

/** Wired kernel pages on `h` (from the kernel's frame allocator). */
function pages(h: An1Host, n: number): number[] {
  const o = h.kernel.createWiredObject(n);
  if (o === undefined) throw new Error('out of RAM');
  return o.physAddrs;
}

/** Kernel-level sender on `h`: `count` frames of `payload` bytes to `bqi`, refilling on TX done. */
function sendFrames(h: An1Host, count: number, payload: number, bqi: (i: number) => number): { sent: number } {
  const st = { sent: 0, inflight: 0 };
  const tx = pages(h, 32);
  const pump = (): void => {
    while (st.sent < count && st.inflight < 32) {
      const at = tx[st.sent % 32]!;
      writeHeader(h.host.ram.bytes, at, 2, bqi(st.sent), 0x08002b_000002, h.driver.uid);
      h.host.ram.bytes[at + 20] = st.sent & 0xff;
      if (!h.driver.transmit(at, 20 + payload)) break;
      st.sent++;
      st.inflight++;
    }
  };
  h.driver.onTransmitDone((retired) => {
    st.inflight -= retired;
    pump();
  });
  pump();
  return st;
}

describe('AN1 driver', () => {
  it('probes: attach fails on an empty slot and succeeds on the board', () => {
    const p = pair();
    const ghost = new An1Driver(p.a.env, { slot: 2 });
    let results: boolean[] = [];
    kernelDo(p, p.a, function* () {
      results = [yield* ghost.attach(), yield* p.a.driver.attach()];
    });
    expect(results).toEqual([false, true]);
    expect(p.a.driver.uid).toBe(0x08002b_000001);
  });

  it('validates BQI configuration and buffer posting', () => {
    const p = pair();
    const d = p.b.driver;
    const out: unknown[] = [];
    kernelDo(p, p.b, function* () {
      yield* d.attach();
      out.push(d.configureBqi(0, 8), d.configureBqi(64, 8), d.configureBqi(5, 3), d.configureBqi(5, 128), d.enableBqi(6));
      const pg = pages(p.b, 6);
      out.push(d.configureBqi(5, 4), d.postBuffers(5, [pg[0]!, pg[1]!, pg[2]! + 2, pg[3]!]), d.ringRoom(5));
      out.push(d.postBuffers(5, [p.b.host.ram.size - 100]), d.postBuffers(5, [pg[2]!, pg[3]!, pg[4]!, pg[5]!]), d.ringRoom(5));
    });
    expect(out).toEqual(['bad-bqi', 'bad-bqi', 'bad-size', 'bad-size', 'not-configured', 'ok', 2, 2, 0, 2, 0]);
    expect(p.world.trace.guestErrorsTotal).toBe(0);
  });

  it('delivers per BQI with the buffer address, and batches: one batchEnd per BQI per interrupt', () => {
    const p = pair();
    const frames: { bqi: number; addr: number; length: number; status: number }[] = [];
    const batches: number[] = [];
    let batchFrames = 0;
    const ring9 = pages(p.b, 16);
    kernelDo(p, p.b, function* () {
      const d = p.b.driver;
      yield* d.attach();
      d.configureBqi(9, 16);
      d.postBuffers(9, ring9);
      d.enableBqi(9);
      for (const bqi of [0, 9]) {
        d.setReceiveHandler(bqi, {
          frame: (q, _slot, addr, length, status) => {
            frames.push({ bqi: q, addr, length, status });
            batchFrames++;
            // Hold B's CPU at interrupt level for 500 µs mid-stream: completions pile up in the FIFO.
            if (frames.length === 10) p.b.kernel.postKernelWork(() => p.b.host.cpu.charge(12_500, 'test'));
            d.postBuffers(q, [addr]);
          },
          batchEnd: () => {
            batches.push(batchFrames);
            batchFrames = 0;
          },
        });
      }
    });
    kernelDo(p, p.a, function* () {
      yield* p.a.driver.attach();
      sendFrames(p.a, 100, 200, (i) => (i % 2 === 0 ? 9 : 0));
    });
    p.world.sched.runUntil(() => frames.length === 100, { nsMax: 50_000_000 });
    expect(frames).toHaveLength(100);
    expect(frames.filter((f) => f.bqi === 9).every((f) => ring9.includes(f.addr) && f.status === 0)).toBe(true);
    expect(frames.filter((f) => f.bqi === 0)).toHaveLength(50);
    expect(frames.every((f) => f.length === 220)).toBe(true);
    expect(Math.max(...batches)).toBeGreaterThan(1);
    expect(batches.reduce((s, n) => s + n, 0)).toBe(100);
    expect(p.b.driver.stats.interrupts).toBeLessThan(100);
  });

  it('disabling a BQI returns its outstanding buffers; its frames then fall back to BQI 0', () => {
    const p = pair();
    const seen: { bqi: number; status: number }[] = [];
    let returned: number[] = [];
    const ring4 = pages(p.b, 3);
    kernelDo(p, p.b, function* () {
      const d = p.b.driver;
      yield* d.attach();
      d.configureBqi(4, 4);
      d.postBuffers(4, ring4);
      d.enableBqi(4);
      const h = {
        frame: (q: number, _s: number, addr: number, _l: number, status: number) => {
          seen.push({ bqi: q, status });
          d.postBuffers(q, [addr]);
        },
      };
      d.setReceiveHandler(0, h);
      d.setReceiveHandler(4, h);
    });
    kernelDo(p, p.a, function* () {
      yield* p.a.driver.attach();
      sendFrames(p.a, 1, 100, () => 4);
    });
    p.world.sched.runUntil(() => seen.length === 1, { nsMax: 10_000_000 });
    kernelDo(p, p.b, function* () {
      returned = yield* p.b.driver.disableBqi(4);
    });
    expect(returned).toEqual([ring4[1], ring4[2], ring4[0]]);
    kernelDo(p, p.a, () => sendFrames(p.a, 1, 100, () => 4));
    p.world.sched.runUntil(() => seen.length === 2, { nsMax: 10_000_000 });
    expect(seen).toEqual([
      { bqi: 4, status: 0 },
      { bqi: 0, status: 3 },
    ]);
    expect(p.b.driver.isEnabled(4)).toBe(false);
  });

  it('transmit refuses when the board queue is full, and retires every frame', () => {
    const p = pair();
    let accepted = 0;
    let retired = 0;
    const [tx] = pages(p.a, 1);
    kernelDo(p, p.a, function* () {
      const d = p.a.driver;
      yield* d.attach();
      writeHeader(p.a.host.ram.bytes, tx!, 2, 0, 2, 1);
      d.onTransmitDone((n) => {
        retired += n;
      });
      for (let i = 0; i < 40; i++) if (d.transmit(tx!, 1520)) accepted++;
    });
    expect(accepted).toBe(32);
    expect(p.a.driver.stats.txQueueFull).toBe(8);
    p.world.sched.runUntil(() => retired === 32, { nsMax: 10_000_000 });
    expect(p.a.driver.stats.txSent).toBe(32);
  });
});
