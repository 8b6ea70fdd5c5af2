/**
 * Two engines over a seeded faulty link (loss, duplication, reordering, delay, corruption):
 * both byte streams arrive exactly and in order; both sides end in CLOSED or TIME-WAIT as RFC 793
 * says; no data segment ever exceeds the receiver's advertised window (zero-window probes excepted).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { SimNet, TestRng, BulkApp, patternBytes, IP_A, IP_B, type LinkFaults } from '../../unit/inet/sim-net.ts';
import { Seq32, TcpFlag, type TcpListener, type TcpSocket, type RandomSource } from '../../../userland/inet/index.ts';

interface Scenario {
  seed: number;
  faults: LinkFaults;
  bytesAtoB: number;
  bytesBtoA: number;
  rcvBufA: number;
  rcvBufB: number;
  mss: number;
  nagle: boolean;
  slowReaderB: boolean;
  nearWrap: boolean;
  /** Both ends call connect() at once with crossing SYNs (RFC 793 Figure 8) instead of listen/connect. */
  simultaneous: boolean;
  link: 'ethernet' | 'an1';
}

const MS = 1_000_000;

const scenario: fc.Arbitrary<Scenario> = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  faults: fc.record({
    lossRate: fc.double({ min: 0, max: 0.1, noNaN: true }),
    dupRate: fc.double({ min: 0, max: 0.05, noNaN: true }),
    reorderRate: fc.double({ min: 0, max: 0.1, noNaN: true }),
    corruptRate: fc.double({ min: 0, max: 0.05, noNaN: true }),
    delayNs: fc.integer({ min: 10_000, max: 50 * MS }),
    jitterNs: fc.integer({ min: 0, max: 5 * MS }),
    reorderDelayNs: fc.integer({ min: 1, max: 100 * MS }),
  }),
  bytesAtoB: fc.integer({ min: 0, max: 60_000 }),
  bytesBtoA: fc.integer({ min: 0, max: 30_000 }),
  rcvBufA: fc.integer({ min: 2048, max: 16384 }),
  rcvBufB: fc.integer({ min: 2048, max: 16384 }),
  mss: fc.integer({ min: 64, max: 1460 }),
  nagle: fc.boolean(),
  slowReaderB: fc.boolean(),
  nearWrap: fc.boolean(),
  simultaneous: fc.boolean(),
  link: fc.constantFrom('ethernet' as const, 'an1' as const),
});

/** Every draw lands in the last 64 KB below 2^32, so ISNs wrap within the first segments. */
function nearWrapSource(inner: RandomSource): RandomSource {
  return { nextU32: () => (0xffff_0000 + (inner.nextU32() % 0x1_0000)) >>> 0 };
}

function runScenario(sc: Scenario): void {
  const rng = new TestRng(sc.seed);
  const tcp = (rcvBufBytes: number) => ({ rcvBufBytes, mss: sc.mss, nagle: sc.nagle, mslNs: 120_000 * MS });
  const randomA = sc.nearWrap ? nearWrapSource(new TestRng(sc.seed ^ 0x5555)) : new TestRng(sc.seed ^ 0x1111);
  const randomB = sc.nearWrap ? nearWrapSource(new TestRng(sc.seed ^ 0xaaaa)) : new TestRng(sc.seed ^ 0x2222);
  const net = new SimNet(sc.faults, rng, { link: sc.link, tcp: tcp(sc.rcvBufA), random: randomA }, { link: sc.link, tcp: tcp(sc.rcvBufB), random: randomB });
  const [A, B] = net.hosts;
  let listener: TcpListener | null = null;
  let cli: TcpSocket;
  let srv: TcpSocket | null = null;
  if (sc.simultaneous) {
    cli = A.connect(0, IP_B, 7002, { localPort: 7001 }) as TcpSocket;
    srv = B.connect(0, IP_A, 7001, { localPort: 7002 }) as TcpSocket;
  } else {
    listener = B.listen(7000) as TcpListener;
    cli = A.connect(0, IP_B, 7000) as TcpSocket;
  }
  expect(typeof cli).toBe('object');
  const toB = patternBytes(sc.bytesAtoB, sc.seed);
  const toA = patternBytes(sc.bytesBtoA, sc.seed + 1);
  const appA = new BulkApp(() => cli, toA.length === 0 ? toB : toB, rng);
  const appB = new BulkApp(() => srv, toA, rng, sc.slowReaderB ? 20 * MS : 0, sc.slowReaderB ? 700 : Number.MAX_SAFE_INTEGER);

  const violations: string[] = [];
  net.observers.push((from, seg) => {
    if (seg.payload.length === 0) return;
    const [sender, receiver] = from === 0 ? [A, B] : [B, A];
    const senderIp = from === 0 ? IP_A : IP_B;
    const rs = receiver.findSocket(senderIp, seg.srcPort, seg.dstPort);
    const ss = sender.findSocket(from === 0 ? IP_B : IP_A, seg.dstPort, seg.srcPort);
    if (rs === null || ss === null) return;
    const end = Seq32.add(seg.seq, seg.payload.length);
    const probe = seg.payload.length === 1 && ss.conn.effectiveSndWnd === 0;
    if (Seq32.gt(end, rs.conn.rcvAdv) && !probe) {
      violations.push(`from ${from}: seq ${seg.seq} len ${seg.payload.length} beyond rcvAdv ${rs.conn.rcvAdv}`);
    }
    if (seg.flags & TcpFlag.SYN) violations.push('data on SYN');
  });
  net.pump();
  net.app = (now) => {
    if (srv === null && listener !== null) srv = listener.accept();
    appA.run(now, net);
    appB.run(now, net);
  };
  const done = (s: TcpSocket | null) => s !== null && (s.state === 'CLOSED' || s.state === 'TIME-WAIT');
  // Stops at the first window violation; bounded in simulated time and in steps so a broken
  // engine fails fast instead of spinning.
  const finished = net.runUntil(() => violations.length > 0 || (appA.closed && appB.closed && done(cli) && done(srv)), 3_000e9, 300_000);
  expect(violations, `seed ${sc.seed}`).toEqual([]);
  const ctx = `seed ${sc.seed} t=${net.now / 1e9}s stats ${JSON.stringify(net.stats)} cli ${cli.state}/${cli.error} srv ${srv === null ? 'none' : `${(srv as TcpSocket).state}/${(srv as TcpSocket).error}`} rxB ${appB.rxBytes}/${toB.length} rxA ${appA.rxBytes}/${toA.length}`;
  expect(finished, ctx).toBe(true);
  expect(violations, ctx).toEqual([]);
  expect(Buffer.from(appB.received()).equals(Buffer.from(toB)), ctx).toBe(true);
  expect(Buffer.from(appA.received()).equals(Buffer.from(toA)), ctx).toBe(true);
  const s = srv as TcpSocket | null;
  expect(cli.error, ctx).toBeNull();
  expect(s?.error ?? null, ctx).toBeNull();
  // RFC 793: whoever closes first (or both, in a simultaneous close) waits in TIME-WAIT.
  expect(cli.state === 'TIME-WAIT' || s?.state === 'TIME-WAIT', ctx).toBe(true);
  // After 2·MSL everything is gone.
  net.runUntil(() => A.connectionCount === 0 && B.connectionCount === 0, net.now + 5_000e9);
  expect(cli.state, ctx).toBe('CLOSED');
  expect(s?.state, ctx).toBe('CLOSED');
  expect(A.connectionCount + B.connectionCount, ctx).toBe(0);
}

describe('TCP between two engines over a faulty link', () => {
  it('both streams arrive exactly, both ends close properly, windows respected', () => {
    fc.assert(fc.property(scenario, (sc) => runScenario(sc)), { numRuns: Number(process.env["INET_LINK_RUNS"] ?? Math.min(fc.readConfigureGlobal().numRuns ?? 100, 150)) });
  });

  it('simultaneous open with crossing SYNs, heavy faults (regression anchor)', () => {
    runScenario({
      seed: 4242,
      faults: { lossRate: 0.08, dupRate: 0.05, reorderRate: 0.1, corruptRate: 0.03, delayNs: 20 * MS, jitterNs: 5 * MS, reorderDelayNs: 60 * MS },
      bytesAtoB: 20_000, bytesBtoA: 20_000, rcvBufA: 16384, rcvBufB: 16384, mss: 1460, nagle: true, slowReaderB: false, nearWrap: false,
      simultaneous: true, link: 'ethernet',
    });
  });

  it('a fixed heavy-fault seed (regression anchor)', () => {
    runScenario({
      seed: 12345,
      faults: { lossRate: 0.1, dupRate: 0.05, reorderRate: 0.1, corruptRate: 0.05, delayNs: 5 * MS, jitterNs: 2 * MS, reorderDelayNs: 50 * MS },
      bytesAtoB: 60_000, bytesBtoA: 30_000, rcvBufA: 4096, rcvBufB: 2048, mss: 536, nagle: true, slowReaderB: true, nearWrap: true,
      simultaneous: false, link: 'an1',
    });
  });
});
