/**
 * Hostile input: any sequence of segments (random flags, sequence and acknowledgement numbers
 * near and far from the windows, payloads, MSS options) and user calls never makes the engine
 * throw, and the TCB invariants hold after every step.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_TCP_CONFIG, Seq32, TcpConnection, TCP_STATES, type TcpRepr, type RandomSource,
} from '../../../userland/inet/index.ts';

const ISS = 0xffff_ff00; // close to the wrap on purpose
const RSEQ = 0x7fff_fff0;

type Step =
  | { kind: 'seg'; dSeq: number; dAck: number; ackFromNxt: boolean; flags: number; window: number; len: number; mss: number | null; urg: number }
  | { kind: 'write'; len: number }
  | { kind: 'read'; max: number }
  | { kind: 'shutdown' }
  | { kind: 'close' }
  | { kind: 'abort' }
  | { kind: 'time'; dtNs: number };

const offset = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: -3, max: 3 }) },
  fc.integer({ min: -70_000, max: 70_000 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    kind: fc.constant('seg' as const), dSeq: offset, dAck: offset, ackFromNxt: fc.boolean(),
    flags: fc.oneof(fc.integer({ min: 0, max: 63 }), fc.constantFrom(0x10, 0x11, 0x12, 0x18, 0x02, 0x04, 0x14)),
    window: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 65535 })), len: fc.integer({ min: 0, max: 3000 }),
    mss: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }), urg: fc.integer({ min: 0, max: 65535 }),
  }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('write' as const), len: fc.integer({ min: 0, max: 20_000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), max: fc.integer({ min: 0, max: 20_000 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'shutdown' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'abort' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('time' as const), dtNs: fc.integer({ min: 0, max: 200e9 }) }) },
);

function checkInvariants(c: TcpConnection): void {
  expect(TCP_STATES).toContain(c.state);
  expect(Seq32.le(c.sndUna, c.sndNxt)).toBe(true);
  expect(Seq32.le(c.sndNxt, c.sndMax)).toBe(true);
  expect(c.sndBuf.length).toBeLessThanOrEqual(c.sndBuf.capacity);
  expect(c.rcvBuf.length).toBeLessThanOrEqual(c.rcvBuf.capacity);
  expect(c.cwnd).toBeGreaterThan(0);
  expect(c.rcvWnd).toBeGreaterThanOrEqual(0);
  expect(c.rcvWnd).toBeLessThanOrEqual(65535);
  const p = c.pollAt();
  if (p !== null) expect(Number.isFinite(p)).toBe(true);
  for (const s of c.takeSegments()) {
    expect(s.window).toBeGreaterThanOrEqual(0);
    expect(s.window).toBeLessThanOrEqual(65535);
    expect(s.payload.length).toBeLessThanOrEqual(DEFAULT_TCP_CONFIG.mss);
    expect(Number.isInteger(s.seq) && s.seq >= 0 && s.seq <= 0xffffffff).toBe(true);
  }
}

function run(active: boolean, steps: Step[]): void {
  let n = 0;
  const random: RandomSource = { nextU32: () => (ISS + n++) >>> 0 };
  const c = new TcpConnection(DEFAULT_TCP_CONFIG, random, { localIp: 1, localPort: 80, remoteIp: 2, remotePort: 5000 });
  let now = 0;
  if (active) c.connect(now);
  else c.listen();
  checkInvariants(c);
  for (const st of steps) {
    switch (st.kind) {
      case 'seg': {
        const seg: TcpRepr = {
          srcPort: 5000, dstPort: 80,
          seq: Seq32.add(c.state === 'LISTEN' || c.state === 'SYN-SENT' ? Seq32.from(RSEQ) : c.rcvNxt, st.dSeq),
          ack: Seq32.add(st.ackFromNxt ? c.sndMax : c.sndUna, st.dAck), flags: st.flags, window: st.window, urgentPtr: st.urg,
          mss: st.mss, payload: new Uint8Array(st.len).fill(0x5a),
        };
        c.onSegment(now, seg);
        break;
      }
      case 'write': c.write(now, new Uint8Array(st.len)); break;
      case 'read': c.read(now, st.max); break;
      case 'shutdown': c.shutdown(now); break;
      case 'close': c.close(now); break;
      case 'abort': c.abort(now); break;
      case 'time': {
        now += st.dtNs;
        const p = c.pollAt();
        if (p !== null && p <= now) c.onTimer(now);
        break;
      }
      default: {
        const never: never = st;
        throw new Error(String(never));
      }
    }
    checkInvariants(c);
  }
}

describe('TCP engine under hostile input', () => {
  it('never throws and keeps SND.UNA ≤ SND.NXT ≤ SND.MAX, buffers within bounds', () => {
    fc.assert(fc.property(fc.boolean(), fc.array(step, { maxLength: 60 }), (active, steps) => run(active, steps)));
  });
});
