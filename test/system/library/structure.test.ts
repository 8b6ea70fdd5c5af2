/**
 * The library's structure as P §3.2 describes it: its own threads synchronize through C-Threads
 * (a network C-thread per connection, conditions and mutexes at user level), the task's one
 * kernel wait is the network I/O module's semaphore notification, and the clock is the AN1 clock
 * page, mapped read-only, on both links (every host carries an AN1). Counted per round trip from
 * the kernels' own trap counters, by difference of two run lengths.
 */
import { describe, expect, it } from 'vitest';
import { CTHREAD_SWITCH_CYCLES } from '../../../userland/cthreads/cthreads.ts';
import { CTHREAD_MUTEX_CYCLES } from '../../../userland/cthreads/pool.ts';
import { sys } from '../../../userland/mach/syscalls.ts';
import { UserClock } from '../../../userland/netlib/user-clock.ts';
import { buildLibPair } from '../../../studies/scenarios/library-hosts.ts';
import { buildKernelPair } from '../../../studies/scenarios/inkernel-hosts.ts';
import { buildUxPair } from '../../../studies/scenarios/ux-hosts.ts';
import { World } from '../../../studies/world.ts';
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { perRoundTrip } from '../ping-runs.ts';

const waits = (m: ReadonlyMap<string, number>, h: string): number => (m.get(`${h}:semaphore_wait`) ?? 0) + (m.get(`${h}:semaphore_timedwait`) ?? 0);

describe.each(['ethernet', 'an1'] as const)('library structure, %s', (link) => {
  it('a 1-byte round trip costs each host two traps: net_send and the wait for the channel semaphore — no clock read, no semaphore between its own threads', () => {
    const r = perRoundTrip('library', link, 1);
    const names = [...r.bySyscall.keys()].sort();
    expect({ a: r.a, b: r.b }, names.join(' ')).toEqual({ a: 2, b: 2 });
    for (const h of ['a', 'b']) {
      expect(r.bySyscall.get(`${h}:net_send`)).toBe(1);
      expect(waits(r.bySyscall, h)).toBe(1);
    }
    expect(names.filter((k) => /clock_get_ns|semaphore_signal|net_rx_done|thread_|semaphore_create/.test(k))).toEqual([]);
  });

  it('the monolithic organization, for comparison: two traps per host (send, recv)', () => {
    const r = perRoundTrip('monolithic', link, 1);
    expect({ a: r.a, b: r.b }).toEqual({ a: 2, b: 2 });
  });
});

/** Read the mapped clock page (UserClock) and the kernel clock side by side; log the largest gap and the page address. */
const clockProbe: GuestProgram = function* (ctx) {
  const page = UserClock.pageOf(ctx.params);
  const uc = new UserClock(ctx.mem, page);
  yield* uc.now(); // the first reading synchronises with one trap
  let gap = 0;
  let back = 0;
  let last = 0;
  for (let i = 0; i < 20; i++) {
    yield* sys.thread_sleep_ns({ ns: 250_000 + 1000 * i });
    const k = (yield* sys.clock_get_ns({})).ns;
    const u = yield* uc.now();
    gap = Math.max(gap, Math.abs(u - k));
    if (u < last) back++;
    last = u;
  }
  yield* sys.debug_log({ text: `page=${page} gap=${gap} back=${back}` });
};

describe('the AN1 clock page on every host', () => {
  it.each([
    ['library, Ethernet', (w: World) => { const p = buildLibPair(w, 'ethernet'); return p.spawn(p.a, 'clock', clockProbe); }],
    ['library, AN1', (w: World) => { const p = buildLibPair(w, 'an1'); return p.spawn(p.a, 'clock', clockProbe); }],
    ['monolithic, Ethernet', (w: World) => { const p = buildKernelPair(w, 'ethernet'); return p.spawn(p.a, 'clock', clockProbe); }],
    ['single server, Ethernet', (w: World) => { const p = buildUxPair(w); return p.spawn(p.a, 'clock', clockProbe); }],
  ] as const)('%s: applications get the page mapped and read the kernel clock’s time through it, without a trap', (_, spawn) => {
    const w = new World({ seed: 3, traceOn: false });
    const t = spawn(w);
    w.sched.runUntil(() => !t.alive, { nsMax: 1e9 });
    const line = t.log.find((l) => l.startsWith('page='))!;
    const f = Object.fromEntries(line.split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
    expect(f['page']).toBeGreaterThan(0);
    expect(f['back']).toBe(0);
    // Two readings a few instructions apart, one through the page (40 ns ticks) and one by trap.
    expect(f['gap']).toBeLessThan(20_000);
    // 1 sync + 20 × (sleep + clock_get_ns) + debug_log + task_exit: the page readings added none.
    expect(t.threads[0]!.trapsTotal).toBe(1 + 40 + 2);
  });
});

it('the C-Threads costs the guests use are the cost table’s', () => {
  const w = new World({ seed: 1, traceOn: false });
  expect(w.costs.get('cthreads.mutexCycles')).toBe(CTHREAD_MUTEX_CYCLES);
  expect(w.costs.get('cthreads.switchCycles')).toBe(CTHREAD_SWITCH_CYCLES);
});
