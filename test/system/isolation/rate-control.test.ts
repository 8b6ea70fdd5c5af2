/**
 * Rate control per channel (issue 13 F8; P §3.5 "pre-arranged rate limitations"): the registry
 * sets each connection's channel rate when it creates it — a reservation the application asked
 * for (admitted against the link's reservable capacity) or best effort, an equal share of what
 * the reservations leave — and the network I/O module holds a sender in net_send until its token
 * bucket covers the frame's wire bytes. A flooding library on its own valid channel then sends no
 * faster than its channel's rate, exactly, and costs no CPU while it waits.
 */
import { describe, expect, it } from 'vitest';
import { NETIO_LINK_BYTES_PER_SECOND } from '../../../kernel/abi/netio.ts';
import { buildLibPair } from '../../../studies/scenarios/library-hosts.ts';
import { World } from '../../../studies/world.ts';
import { REGISTRY_LIMITS } from '../../../userland/registry/limits.ts';
import { SOCK_ERR } from '../../../userland/netlib/tcp-lib.ts';
import { holdServer, rateVictim } from './programs.ts';
import { rateRun } from './rate-runs.ts';

const BURST = { ethernet: REGISTRY_LIMITS.rateBurstEthernet, an1: REGISTRY_LIMITS.rateBurstAn1 } as const;

describe.each(['ethernet', 'an1'] as const)('rate control on %s', (link) => {
  const cap = NETIO_LINK_BYTES_PER_SECOND[link];

  it('a flooder never sends faster than its channel rate (exact, from simulated time) and waits in the kernel without CPU', () => {
    const rate = link === 'ethernet' ? 100_000 : 1_000_000;
    const r = rateRun(link, { floods: [{ rate, floodNs: 300_000_000 }] });
    const f = r.floods[0]!;
    expect(f.kr).toBe(0);
    expect(f.refused).toBe(0); // nothing refused: every send waited for its tokens instead
    const span = f.tLast - f.t0;
    const bytes = f.frames * f.wire;
    // The bucket was full (burst) when the flood began and refilled at `rate` since: never more.
    expect(bytes).toBeLessThanOrEqual(BURST[link] + (rate * span) / 1e9);
    // A greedy sender uses what it is given: all of the refill (less than one frame short).
    expect(bytes).toBeGreaterThan(BURST[link] + (rate * span) / 1e9 - 2 * f.wire);
    // The CPU of host a while the flooder floods: its sends, and taking in the peer's answer to
    // each frame (B acknowledges every out-of-window segment), nothing else; spinning on refused
    // sends took all of it. Measured 5 % (Ethernet, 65 frames/s) and 14 % (AN1, 650 frames/s).
    expect(f.busyNs / span).toBeLessThan(0.25);
  });

  it('the registry sets each connection\'s rate: a reservation as asked, best effort sharing the rest; the flooder is held to its share', () => {
    const reserve = Math.floor((cap * REGISTRY_LIMITS.reservablePercent) / 100);
    const r = rateRun(link, { victim: { rate: reserve, bytes: 256 * 1024 }, floods: [{ rate: 0, floodNs: 400_000_000 }] });
    expect(r.victim!.kr).toBe(0);
    expect(r.victim!.bytes).toBe(256 * 1024);
    expect(r.ratesDuring).toEqual([reserve, cap - reserve]);
    const f = r.floods[0]!;
    // While the victim's reservation holds (the flood outlives it: its share is the whole link after).
    expect(f.frames * f.wire).toBeLessThanOrEqual(BURST[link] + (cap * (f.tLast - f.t0)) / 1e9);
  });

  it('two best-effort flooders starting together each get exactly half of the link', () => {
    const r = rateRun(link, { floods: [{ rate: 0, floodNs: 300_000_000 }, { rate: 0, floodNs: 300_000_000 }] });
    expect(r.ratesDuring).toEqual([cap / 2, cap / 2]);
    // Fair sharing, exactly: each flooder's wire bytes lie between its share over its span (less
    // two frames: the one it waits for and the rounding of its last) and that plus the bucket's
    // depth (full when the flood began). Measured (seed 81, 300 ms): Ethernet 691 and 629 kB/s,
    // AN1 6.31 and 6.39 MB/s — the depth spread over a short span puts both above the share.
    for (const f of r.floods) {
      const bytes = f.frames * f.wire;
      const share = ((cap / 2) * (f.tLast - f.t0)) / 1e9;
      expect(f.refused).toBe(0);
      expect(bytes).toBeLessThanOrEqual(BURST[link] + share);
      expect(bytes).toBeGreaterThanOrEqual(share - 2 * f.wire);
    }
  });

  it('CONNECT beyond the reservable capacity is refused with NO_BANDWIDTH; best effort still connects', () => {
    const w = new World({ seed: 83, traceOn: false });
    const pair = buildLibPair(w, link, { logStats: false });
    const { a, b } = pair;
    pair.spawn(b, 'srv', holdServer, { port: 82, conns: 3, holdNs: 100e9 });
    w.sched.runFor(1_000_000);
    const reservable = Math.floor((cap * REGISTRY_LIMITS.reservablePercent) / 100);
    const logs: string[][] = [];
    for (const rate of [reservable - 1000, 2000, 0]) {
      const t = pair.spawn(a, `c${rate}`, rateVictim, { peerIp: b.ip, port: 82, rate, bytes: 4096 });
      w.sched.runUntil(() => t.log.some((l) => l.startsWith('victim connected=')) || !t.alive, { nsMax: 2e9 });
      logs.push(t.log);
    }
    expect(logs.map((l) => l.find((x) => x.startsWith('victim connected=')))).toEqual([
      'victim connected=0', `victim connected=${SOCK_ERR.ENOBANDWIDTH}`, 'victim connected=0',
    ]);
  });

  it('ACCEPT carries a reservation too: the accepted connection\'s channel gets it; beyond the capacity NO_BANDWIDTH', () => {
    const w = new World({ seed: 84, traceOn: false });
    const pair = buildLibPair(w, link, { logStats: false });
    const { a, b } = pair;
    const reservable = Math.floor((cap * REGISTRY_LIMITS.reservablePercent) / 100);
    const over = pair.spawn(b, 'srv-over', holdServer, { port: 81, conns: 1, rate: reservable + 1 });
    pair.spawn(b, 'srv', holdServer, { port: 82, conns: 1, rate: cap / 4, holdNs: 100e9 });
    w.sched.runUntil(() => over.log.some((l) => l.startsWith('accept failed')) || !over.alive, { nsMax: 1e9 });
    expect(over.log).toContain(`accept failed ${SOCK_ERR.ENOBANDWIDTH}`);
    const t = pair.spawn(a, 'cli', rateVictim, { peerIp: b.ip, port: 82, rate: 0, bytes: 4096 });
    w.sched.runUntil(() => t.log.some((l) => l.startsWith('victim connected=')) || !t.alive, { nsMax: 2e9 });
    expect(t.log).toContain('victim connected=0');
    const rates = [...b.netio.channels.values()].filter((c) => !c.isDefault).map((c) => c.bucket?.bytesPerSecond);
    expect(rates).toEqual([cap / 4]);
  });
});

/**
 * Issue 13 item 3: with a flooding library and a victim transfer on the same host, the victim
 * keeps at least 80 % of its solo throughput. The victim (1 MB from a to a server on b) reserves
 * what the registry admits; the flooder (1514-byte frames valid for its own connection to a
 * second server on b, best effort) gets the rest. The registry's reservable part is raised from
 * its default 80 % so that the rest is 10 % of the Ethernet and 2 % of the AN1 wire: the shares
 * at which the victim keeps 80 % (docs/netio.md "What it achieves" measures why a 20 % share does
 * not suffice: on Ethernet each flood frame's 1.23 ms on the wire stalls the victim's
 * window-limited pipeline; on AN1 both hosts' CPUs, not the wire, are the bottleneck).
 * Simulated time is deterministic: the ratios are exact on these seeds.
 */
describe('the victim keeps ≥ 80 % of its solo throughput next to a flooder (issue 13 item 3)', () => {
  const MB = 1 << 20;
  const cases = [
    { link: 'ethernet', reservablePercent: 90, floodNs: 2.5e9, seeds: { 81: 0.852, 82: 0.855, 83: 0.837 } },
    { link: 'an1', reservablePercent: 98, floodNs: 1.5e9, seeds: { 81: 0.832, 82: 0.832, 83: 0.832 } },
  ] as const;
  for (const c of cases) {
    for (const [seedS, want] of Object.entries(c.seeds)) {
      const seed = Number(seedS);
      it(`${c.link}, seed ${seed}: the flooder held to ${100 - c.reservablePercent} % of the wire, the victim keeps ${want}`, () => {
        const cap = NETIO_LINK_BYTES_PER_SECOND[c.link];
        const reserve = (cap * c.reservablePercent) / 100;
        const solo = rateRun(c.link, { seed, victim: { rate: 0, bytes: MB } });
        const r = rateRun(c.link, {
          seed, victim: { rate: reserve, bytes: MB }, floods: [{ rate: 0, floodNs: c.floodNs }],
          registryParams: { reservablePercent: c.reservablePercent },
        });
        expect(solo.victim!.bytes).toBe(MB);
        expect(r.victim!.bytes).toBe(MB);
        expect(r.ratesDuring).toEqual([reserve, cap - reserve]);
        const ratio = r.victim!.bytesPerSecond / solo.victim!.bytesPerSecond;
        expect(Math.round(ratio * 1000) / 1000).toBe(want);
        expect(ratio).toBeGreaterThanOrEqual(0.8);
        // The flood outlasted the victim's transfer (the flooder sent all along).
        expect(r.floods[0]!.tLast).toBeGreaterThan(r.floods[0]!.t0 + r.victim!.ns);
        expect(r.lanceResets).toBe(0);
      }, 180_000);
    }
  }
});
