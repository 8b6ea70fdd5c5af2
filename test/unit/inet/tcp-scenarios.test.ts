/**
 * Scenario tests for every RFC 793 state transition, in the style of smoltcp's socket tests:
 * feed one segment or user call, then compare the exact segments that come out.
 */
import { describe, it, expect } from 'vitest';
import {
  DEFAULT_TCP_CONFIG, Seq32, TcpConnection, TcpFlag, type TcpConfig, type TcpRepr, type RandomSource,
} from '../../../userland/inet/index.ts';

const LOCAL_PORT = 80;
const REMOTE_PORT = 49500;
const ISS = 10_000;
const RSEQ = 20_000; // the peer's ISN
const MS = 1_000_000;
const S = 1_000_000_000;
const { SYN, ACK, FIN, RST, PSH, URG } = TcpFlag;

const fixedIss = (iss: number): RandomSource => ({ nextU32: () => iss });

function conn(cfg: Partial<TcpConfig> = {}, iss = ISS): TcpConnection {
  return new TcpConnection({ ...DEFAULT_TCP_CONFIG, ...cfg }, fixedIss(iss), {
    localIp: 0x0a000001, localPort: LOCAL_PORT, remoteIp: 0x0a000002, remotePort: REMOTE_PORT,
  });
}

interface SegIn {
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  payload?: string | Uint8Array;
  mss?: number | null;
  urgentPtr?: number;
}

function bytes(p: string | Uint8Array | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  return typeof p === 'string' ? new TextEncoder().encode(p) : p;
}

function seg(s: SegIn): TcpRepr {
  return {
    srcPort: REMOTE_PORT, dstPort: LOCAL_PORT, seq: Seq32.from(s.seq), ack: Seq32.from(s.ack ?? 0),
    flags: s.flags, window: s.window ?? 8192, urgentPtr: s.urgentPtr ?? 0, mss: s.mss ?? null,
    payload: bytes(s.payload),
  };
}

/** What we assert about an outgoing segment (window only when given). */
interface SegOut {
  seq: number;
  ack?: number;
  flags: number;
  len?: number;
  window?: number;
  mss?: number | null;
}

function out(c: TcpConnection): SegOut[] {
  return c.takeSegments().map((r) => ({
    seq: r.seq, ack: r.ack, flags: r.flags, len: r.payload.length, window: r.window, mss: r.mss,
  }));
}

function expectSegs(c: TcpConnection, want: SegOut[]): void {
  const got = out(c);
  expect(got.length, JSON.stringify(got)).toBe(want.length);
  want.forEach((w, i) => {
    const g = got[i];
    expect(g, `segment ${i}`).toBeDefined();
    if (g === undefined) return;
    expect(g.seq, `seq of ${i}`).toBe(w.seq >>> 0);
    expect(g.flags, `flags of ${i}: ${g.flags}`).toBe(w.flags);
    if (w.ack !== undefined) expect(g.ack, `ack of ${i}`).toBe(w.ack >>> 0);
    expect(g.len, `len of ${i}`).toBe(w.len ?? 0);
    if (w.window !== undefined) expect(g.window, `window of ${i}`).toBe(w.window);
    if (w.mss !== undefined) expect(g.mss, `mss of ${i}`).toBe(w.mss);
  });
}

/** A connection brought to ESTABLISHED by an active open, peer window 8192, peer MSS 1460. */
function established(cfg: Partial<TcpConfig> = {}, peerWindow = 8192): TcpConnection {
  const c = conn(cfg);
  c.connect(0);
  c.takeSegments();
  c.onSegment(1 * MS, seg({ seq: RSEQ, ack: ISS + 1, flags: SYN | ACK, mss: 1460, window: peerWindow }));
  c.takeSegments();
  expect(c.state).toBe('ESTABLISHED');
  return c;
}

/** Passive open to ESTABLISHED. */
function establishedPassive(cfg: Partial<TcpConfig> = {}): TcpConnection {
  const c = conn(cfg);
  c.listen();
  c.onSegment(0, seg({ seq: RSEQ, flags: SYN, mss: 1460 }));
  c.takeSegments();
  c.onSegment(1 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK }));
  c.takeSegments();
  expect(c.state).toBe('ESTABLISHED');
  return c;
}

const W = DEFAULT_TCP_CONFIG.rcvBufBytes; // 16384: our full window

describe('CLOSED', () => {
  it('connect sends SYN with our MSS and enters SYN-SENT', () => {
    const c = conn();
    expect(c.connect(0)).toBeNull();
    expect(c.state).toBe('SYN-SENT');
    expectSegs(c, [{ seq: ISS, flags: SYN, mss: 1460, window: W }]);
    expect(c.pollAt()).toBe(DEFAULT_TCP_CONFIG.rtoInitialNs);
  });
  it('a segment with ACK gets <SEQ=SEG.ACK><CTL=RST> (RFC 793 p.65)', () => {
    const c = conn();
    c.onSegment(0, seg({ seq: RSEQ, ack: 555, flags: ACK, payload: 'x' }));
    expectSegs(c, [{ seq: 555, flags: RST }]);
  });
  it('a segment without ACK gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>', () => {
    const c = conn();
    c.onSegment(0, seg({ seq: RSEQ, flags: SYN | FIN, payload: 'abc' }));
    expectSegs(c, [{ seq: 0, ack: RSEQ + 5, flags: RST | ACK }]);
  });
  it('an RST is never answered', () => {
    const c = conn();
    c.onSegment(0, seg({ seq: RSEQ, flags: RST }));
    expectSegs(c, []);
  });
});

describe('LISTEN', () => {
  it('ignores RST, answers ACK with RST, ignores segments without SYN', () => {
    const c = conn();
    c.listen();
    c.onSegment(0, seg({ seq: RSEQ, flags: RST }));
    expectSegs(c, []);
    c.onSegment(0, seg({ seq: RSEQ, ack: 777, flags: ACK }));
    expectSegs(c, [{ seq: 777, flags: RST }]);
    c.onSegment(0, seg({ seq: RSEQ, flags: 0, payload: 'x' }));
    expectSegs(c, []);
    expect(c.state).toBe('LISTEN');
  });
  it('SYN → SYN-RECEIVED with SYN-ACK carrying our MSS', () => {
    const c = conn();
    c.listen();
    c.onSegment(0, seg({ seq: RSEQ, flags: SYN, mss: 536 }));
    expect(c.state).toBe('SYN-RECEIVED');
    expectSegs(c, [{ seq: ISS, ack: RSEQ + 1, flags: SYN | ACK, mss: 1460, window: W }]);
    expect(c.sndMss).toBe(536);
  });
  it('data on the SYN is kept and readable once established', () => {
    const c = conn();
    c.listen();
    c.onSegment(0, seg({ seq: RSEQ, flags: SYN, payload: 'early' }));
    expectSegs(c, [{ seq: ISS, ack: RSEQ + 6, flags: SYN | ACK }]);
    c.onSegment(MS, seg({ seq: RSEQ + 6, ack: ISS + 1, flags: ACK }));
    expect(c.state).toBe('ESTABLISHED');
    expect(new TextDecoder().decode(c.read(MS))).toBe('early');
  });
  it('shutdown in LISTEN deletes the TCB', () => {
    const c = conn();
    c.listen();
    c.shutdown(0);
    expect(c.state).toBe('CLOSED');
  });
});

describe('SYN-SENT', () => {
  it('SYN-ACK → ESTABLISHED and an immediate ACK; peer MSS honoured', () => {
    const c = conn();
    c.connect(0);
    c.takeSegments();
    c.onSegment(MS, seg({ seq: RSEQ, ack: ISS + 1, flags: SYN | ACK, mss: 500, window: 4000 }));
    expect(c.state).toBe('ESTABLISHED');
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: ACK }]);
    expect(c.sndMss).toBe(500);
    expect(c.pollAt()).toBeNull(); // SYN acknowledged: no timer
    c.write(2 * MS, new Uint8Array(1200));
    const segs = out(c);
    expect(segs.map((s) => s.len)).toEqual([500, 500]); // cwnd = 2 segments after the SYN's ACK
  });
  it('no MSS option ⇒ 536 (RFC 1122 §4.2.2.6)', () => {
    const c = conn();
    c.connect(0);
    c.onSegment(MS, seg({ seq: RSEQ, ack: ISS + 1, flags: SYN | ACK, mss: null }));
    expect(c.sndMss).toBe(536);
  });
  it('unacceptable ACK gets a reset and the state stays', () => {
    const c = conn();
    c.connect(0);
    c.takeSegments();
    c.onSegment(MS, seg({ seq: RSEQ, ack: ISS + 5, flags: SYN | ACK }));
    expectSegs(c, [{ seq: ISS + 5, flags: RST }]);
    expect(c.state).toBe('SYN-SENT');
  });
  it('RST with acceptable ACK → CLOSED, ECONNREFUSED; RST without ACK ignored', () => {
    const c = conn();
    c.connect(0);
    c.takeSegments();
    c.onSegment(MS, seg({ seq: RSEQ, flags: RST }));
    expect(c.state).toBe('SYN-SENT');
    c.onSegment(MS, seg({ seq: 0, ack: ISS + 1, flags: RST | ACK }));
    expect(c.state).toBe('CLOSED');
    expect(c.error).toBe('ECONNREFUSED');
    expectSegs(c, []);
  });
  it('simultaneous open: SYN → SYN-RECEIVED, SYN-ACK, then ACK → ESTABLISHED', () => {
    const c = conn();
    c.connect(0);
    c.takeSegments();
    c.onSegment(MS, seg({ seq: RSEQ, flags: SYN, mss: 1460 }));
    expect(c.state).toBe('SYN-RECEIVED');
    expectSegs(c, [{ seq: ISS, ack: RSEQ + 1, flags: SYN | ACK }]);
    c.onSegment(2 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: SYN | ACK }));
    // The peer's SYN-ACK: its SYN is old (challenge-ACKed per RFC 5961 §4.2) — our ACK goes out.
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: ACK }]);
    c.onSegment(3 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK }));
    expect(c.state).toBe('ESTABLISHED');
  });
  it('SYN is retransmitted with exponential backoff, then ETIMEDOUT', () => {
    const c = conn({ maxRetransmits: 3 });
    c.connect(0);
    c.takeSegments();
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = c.pollAt();
      expect(t).not.toBeNull();
      times.push(t as number);
      c.onTimer(t as number);
      expectSegs(c, [{ seq: ISS, flags: SYN, mss: 1460 }]);
    }
    expect(times).toEqual([3 * S, 3 * S + 6 * S, 3 * S + 6 * S + 12 * S]);
    c.onTimer(c.pollAt() as number);
    expect(c.state).toBe('CLOSED');
    expect(c.error).toBe('ETIMEDOUT');
  });
  it('close in SYN-SENT deletes the TCB', () => {
    const c = conn();
    c.connect(0);
    c.close(0);
    expect(c.state).toBe('CLOSED');
  });
});

describe('SYN-RECEIVED', () => {
  function synReceived(): TcpConnection {
    const c = conn();
    c.listen();
    c.onSegment(0, seg({ seq: RSEQ, flags: SYN }));
    c.takeSegments();
    return c;
  }
  it('ACK of our SYN → ESTABLISHED, nothing sent', () => {
    const c = synReceived();
    c.onSegment(MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK }));
    expect(c.state).toBe('ESTABLISHED');
    expectSegs(c, []);
  });
  it('unacceptable ACK → RST <SEQ=SEG.ACK>', () => {
    const c = synReceived();
    c.onSegment(MS, seg({ seq: RSEQ + 1, ack: ISS + 9, flags: ACK }));
    expectSegs(c, [{ seq: ISS + 9, flags: RST }]);
    expect(c.state).toBe('SYN-RECEIVED');
  });
  it('RST at RCV.NXT → CLOSED (embryonic connection dropped, as 4.3BSD)', () => {
    const c = synReceived();
    c.onSegment(MS, seg({ seq: RSEQ + 1, flags: RST }));
    expect(c.state).toBe('CLOSED');
  });
  it('a repeated SYN is answered with the SYN-ACK again', () => {
    const c = synReceived();
    c.onSegment(MS, seg({ seq: RSEQ, flags: SYN }));
    expectSegs(c, [{ seq: ISS, ack: RSEQ + 1, flags: SYN | ACK }]);
  });
  it('SYN-ACK is retransmitted on timeout', () => {
    const c = synReceived();
    c.onTimer(c.pollAt() as number);
    expectSegs(c, [{ seq: ISS, ack: RSEQ + 1, flags: SYN | ACK }]);
  });
  it('a FIN in SYN-RECEIVED is remembered; the ACK of our SYN then leads to CLOSE-WAIT', () => {
    const c = conn();
    c.listen();
    c.onSegment(0, seg({ seq: RSEQ, flags: SYN | FIN }));
    expect(c.state).toBe('SYN-RECEIVED');
    expectSegs(c, [{ seq: ISS, ack: RSEQ + 2, flags: SYN | ACK }]);
    c.onTimer(c.pollAt() as number); // our SYN stays retransmittable
    expectSegs(c, [{ seq: ISS, ack: RSEQ + 2, flags: SYN | ACK }]);
    c.onSegment(4 * S, seg({ seq: RSEQ + 2, ack: ISS + 1, flags: ACK }));
    expect(c.state).toBe('CLOSE-WAIT');
    expect(c.eof).toBe(true);
  });
  it('close in SYN-RECEIVED waits for the ACK, then FIN-WAIT-1 with a FIN', () => {
    const c = synReceived();
    c.close(MS);
    expect(c.state).toBe('SYN-RECEIVED');
    expectSegs(c, []);
    c.onSegment(2 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK }));
    expect(c.state).toBe('FIN-WAIT-1');
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: FIN | ACK }]);
  });
});

describe('ESTABLISHED', () => {
  it('delayed ACK: one segment is acknowledged after 200 ms', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK | PSH, payload: 'hello' }));
    expectSegs(c, []);
    expect(c.pollAt()).toBe(210 * MS);
    c.onTimer(210 * MS);
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 6, flags: ACK, window: W - 5 }]);
    expect(new TextDecoder().decode(c.read(211 * MS))).toBe('hello');
  });
  it('every second segment is acknowledged at once', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK, payload: 'aaaa' }));
    expectSegs(c, []);
    c.onSegment(11 * MS, seg({ seq: RSEQ + 5, ack: ISS + 1, flags: ACK, payload: 'bbbb' }));
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 9, flags: ACK }]);
  });
  it('write sends data with PSH; Nagle holds a second small write until the ACK', () => {
    const c = established();
    c.write(10 * MS, bytes('one'));
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: ACK | PSH, len: 3 }]);
    c.write(11 * MS, bytes('two'));
    expectSegs(c, []);
    c.onSegment(12 * MS, seg({ seq: RSEQ + 1, ack: ISS + 4, flags: ACK }));
    expectSegs(c, [{ seq: ISS + 4, flags: ACK | PSH, len: 3 }]);
  });
  it('with Nagle off, small writes go at once', () => {
    const c = established({ nagle: false });
    c.write(10 * MS, bytes('one'));
    c.write(11 * MS, bytes('two'));
    expectSegs(c, [{ seq: ISS + 1, flags: ACK | PSH, len: 3 }, { seq: ISS + 4, flags: ACK | PSH, len: 3 }]);
  });
  it('FIN → CLOSE-WAIT with an immediate ACK; EOF after the data', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK | FIN, payload: 'bye' }));
    expect(c.state).toBe('CLOSE-WAIT');
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 5, flags: ACK }]);
    expect(c.eof).toBe(false);
    c.read(11 * MS);
    expect(c.eof).toBe(true);
  });
  it('shutdown → FIN-WAIT-1 with FIN after the queued data', () => {
    const c = established();
    c.write(10 * MS, bytes('data'));
    c.shutdown(10 * MS);
    expect(c.state).toBe('FIN-WAIT-1');
    expectSegs(c, [{ seq: ISS + 1, flags: ACK | PSH, len: 4 }, { seq: ISS + 5, flags: ACK | FIN }]);
  });
  it('RST at RCV.NXT → CLOSED, ECONNRESET', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1, flags: RST }));
    expect(c.state).toBe('CLOSED');
    expect(c.error).toBe('ECONNRESET');
    expectSegs(c, []);
  });
  it('in-window RST not at RCV.NXT → challenge ACK (RFC 5961 §3.2); outside the window → ignored', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 100, flags: RST }));
    expect(c.state).toBe('ESTABLISHED');
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: ACK }]);
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1 + 100_000, flags: RST }));
    expectSegs(c, []);
    expect(c.counters.challengeAcksOut).toBe(1);
  });
  it('SYN in a synchronized state → challenge ACK (RFC 5961 §4.2)', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 50, flags: SYN }));
    expect(c.state).toBe('ESTABLISHED');
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: ACK }]);
  });
  it('ACK of unsent data → ACK and drop (RFC 793 p.72)', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1000, flags: ACK, payload: 'zz' }));
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: ACK }]);
    expect(c.readableBytes).toBe(0);
  });
  it('ACK older than SND.UNA − MAX.SND.WND → challenge ACK (RFC 5961 §5.2)', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1, ack: ISS - 100_000, flags: ACK }));
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: ACK }]);
    expect(c.counters.challengeForOldAck).toBe(1);
  });
  it('segment outside the receive window → ACK, data dropped', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1 + W + 10, ack: ISS + 1, flags: ACK, payload: 'far' }));
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: ACK }]);
  });
  it('out-of-order data: immediate duplicate ACK, then one ACK covering both when the hole fills', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 4, ack: ISS + 1, flags: ACK, payload: 'def' }));
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: ACK }]);
    c.onSegment(11 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK, payload: 'abc' }));
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 7, flags: ACK }]);
    expect(new TextDecoder().decode(c.read(12 * MS))).toBe('abcdef');
  });
  it('duplicate (old) data is acknowledged and not delivered twice', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK, payload: 'abc' }));
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK, payload: 'abc' }));
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 4, flags: ACK }]);
    expect(new TextDecoder().decode(c.read(11 * MS))).toBe('abc');
  });
  it('retransmission timeout: go back to SND.UNA, cwnd one segment, RTO doubles', () => {
    const c = established({ nagle: false });
    c.write(10 * MS, new Uint8Array(2920));
    expectSegs(c, [{ seq: ISS + 1, flags: ACK, len: 1460 }, { seq: ISS + 1461, flags: ACK | PSH, len: 1460 }]);
    const t1 = c.pollAt() as number;
    c.onTimer(t1);
    expectSegs(c, [{ seq: ISS + 1, flags: ACK, len: 1460 }]);
    expect(c.cwnd).toBe(1460);
    expect(c.ssthresh).toBe(2920);
    const t2 = c.pollAt() as number;
    expect(c.rxtShift).toBe(1);
    expect(t2 - t1).toBe(c.currentRtoNs);
    expect(c.currentRtoNs).toBe(Math.max(DEFAULT_TCP_CONFIG.rtoMinNs, 2 * c.rtoNs));
    expect(c.counters.retransmitTimeouts).toBe(1);
  });
  it('three duplicate ACKs trigger fast retransmit and fast recovery (Reno)', () => {
    const c = established({ nagle: false }, 60_000);
    // Open cwnd: ACK segments one by one in slow start.
    let now = 10 * MS;
    for (let i = 0; i < 4; i++) {
      c.write(now, new Uint8Array(1460));
      c.takeSegments();
      now += MS;
      c.onSegment(now, seg({ seq: RSEQ + 1, ack: ISS + 1 + 1460 * (i + 1), flags: ACK, window: 60_000 }));
      c.takeSegments();
    }
    const una = ISS + 1 + 4 * 1460;
    c.write(now, new Uint8Array(6 * 1460));
    const sent = out(c);
    expect(sent.length).toBe(6);
    for (let i = 0; i < 3; i++) c.onSegment(now + MS, seg({ seq: RSEQ + 1, ack: una, flags: ACK, window: 60_000 }));
    expectSegs(c, [{ seq: una, flags: ACK, len: 1460 }]);
    expect(c.counters.fastRetransmits).toBe(1);
    expect(c.cwnd).toBe(c.ssthresh + 3 * 1460);
    // A new ACK ends recovery: cwnd deflates to ssthresh.
    c.onSegment(now + 2 * MS, seg({ seq: RSEQ + 1, ack: una + 6 * 1460, flags: ACK, window: 60_000 }));
    expect(c.cwnd).toBeLessThanOrEqual(c.ssthresh + 1460);
  });
  it('slow-start restart: after an idle period longer than the RTO, cwnd is one segment again', () => {
    const c = established({ nagle: false }, 60_000);
    let now = 10 * MS;
    for (let i = 0; i < 3; i++) {
      c.write(now, new Uint8Array(1460));
      c.takeSegments();
      now += MS;
      c.onSegment(now, seg({ seq: RSEQ + 1, ack: ISS + 1 + 1460 * (i + 1), flags: ACK, window: 60_000 }));
    }
    expect(c.cwnd).toBeGreaterThan(1460);
    c.write(now + 10 * S, new Uint8Array(3 * 1460));
    expect(out(c).map((x) => x.len)).toEqual([1460]);
  });
  it('RTT estimation (Jacobson/Karels): first sample sets SRTT and RTTVAR = R/2', () => {
    const c = conn({ rtoMinNs: 1 });
    c.connect(0);
    c.onSegment(100 * MS, seg({ seq: RSEQ, ack: ISS + 1, flags: SYN | ACK }));
    expect(c.srttNs).toBe(100 * MS);
    expect(c.rttvarNs).toBe(50 * MS);
    expect(c.rtoNs).toBe(300 * MS);
  });
  it('Karn: a retransmitted segment gives no RTT sample', () => {
    const c = conn();
    c.connect(0);
    c.onTimer(c.pollAt() as number); // SYN retransmitted
    c.onSegment(4 * S, seg({ seq: RSEQ, ack: ISS + 1, flags: SYN | ACK }));
    expect(c.counters.rttSamples).toBe(0);
    expect(c.srttNs).toBe(0);
  });
  it('zero window: persist probes with one byte, backing off; an opened window resumes', () => {
    const c = established({ nagle: false, persistMinNs: 5 * S }, 0);
    c.write(10 * MS, bytes('0123456789'));
    expectSegs(c, []);
    const p1 = c.pollAt() as number;
    expect(p1).toBe(10 * MS + 5 * S);
    c.onTimer(p1);
    expectSegs(c, [{ seq: ISS + 1, flags: ACK, len: 1 }]);
    // Still closed: the probe byte is not accepted.
    c.onSegment(p1 + MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK, window: 0 }));
    const p2 = c.pollAt() as number;
    expect(p2 - p1).toBeGreaterThanOrEqual(5 * S); // backoff of a tiny RTO, clamped to TCPTV_PERSMIN
    c.onTimer(p2);
    expectSegs(c, [{ seq: ISS + 1, flags: ACK, len: 1 }]);
    expect(c.counters.persistProbes).toBe(2);
    c.onSegment(p2 + MS, seg({ seq: RSEQ + 1, ack: ISS + 2, flags: ACK, window: 1000 }));
    expectSegs(c, [{ seq: ISS + 2, flags: ACK | PSH, len: 9 }]);
  });
  it('zero window reopened: one full segment from SND.UNA, not the probe byte alone (4.3BSD-Reno; issue 17 item 5)', () => {
    const c = established({ persistMinNs: 5 * S }, 2920); // Nagle on, as by default
    const una0 = ISS + 1;
    expect(c.write(10 * MS, new Uint8Array(10_000))).toBe(10_000);
    expectSegs(c, [{ seq: una0, flags: ACK, len: 1460 }, { seq: una0 + 1460, flags: ACK, len: 1460 }]);
    // The reader stalls: everything acknowledged, window closed.
    const una = una0 + 2920;
    c.onSegment(30 * MS, seg({ seq: RSEQ + 1, ack: una, flags: ACK, window: 0 }));
    expectSegs(c, []);
    const p1 = c.pollAt() as number;
    c.onTimer(p1);
    expectSegs(c, [{ seq: una, flags: ACK, len: 1 }]); // the probe
    c.onSegment(p1 + MS, seg({ seq: RSEQ + 1, ack: una, flags: ACK, window: 0 })); // refused
    expectSegs(c, []);
    const p2 = c.pollAt() as number;
    c.onTimer(p2);
    expectSegs(c, [{ seq: una, flags: ACK, len: 1 }]); // probed again
    c.onSegment(p2 + MS, seg({ seq: RSEQ + 1, ack: una, flags: ACK, window: 0 }));
    expectSegs(c, []);
    // The reader drains: a window update without the probe byte acknowledged (as Linux sends it).
    c.onSegment(p2 + 2 * S, seg({ seq: RSEQ + 1, ack: una, flags: ACK, window: 8192 }));
    // cwnd is one segment after the idle period; BSD sends one full segment from SND.UNA
    // (probe byte included), timed by the retransmit timer.
    expectSegs(c, [{ seq: una, flags: ACK, len: 1460 }]);
    expect(c.pollAt()).toBe(p2 + 2 * S + c.currentRtoNs);
    c.onSegment(p2 + 2 * S + 10 * MS, seg({ seq: RSEQ + 1, ack: una + 1460, flags: ACK, window: 8192 }));
    expectSegs(c, [{ seq: una + 1460, flags: ACK, len: 1460 }, { seq: una + 2920, flags: ACK, len: 1460 }]);
    expect(c.counters.bytesRetransmittedTotal).toBe(2); // the second probe and the byte resent in the full segment
  });
  it('receiver SWS avoidance: a full buffer advertises 0 and reopens only by a useful amount', () => {
    const c = established({ rcvBufBytes: 4096, mss: 1000 });
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK, payload: new Uint8Array(1000) }));
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1001, ack: ISS + 1, flags: ACK, payload: new Uint8Array(1000) }));
    c.onSegment(10 * MS, seg({ seq: RSEQ + 2001, ack: ISS + 1, flags: ACK, payload: new Uint8Array(1000) }));
    c.onSegment(10 * MS, seg({ seq: RSEQ + 3001, ack: ISS + 1, flags: ACK, payload: new Uint8Array(1000) }));
    const acks = out(c);
    // 96 bytes free < min(MSS, buffer/4) would be advertised as 0, but 96 were already promised and
    // a window never shrinks (RFC 793 §3.7).
    expect(acks[acks.length - 1]?.window).toBe(96);
    c.read(11 * MS, 100);
    expectSegs(c, []); // 196 free: not worth an update
    c.read(12 * MS, 2000);
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 4001, flags: ACK, window: 2196 }]);
  });
  it('urgent data is delivered inline and its mark remembered', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK | URG, payload: 'ab!', urgentPtr: 3 }));
    expect(c.urgentMark).toBe(RSEQ + 4);
    c.onTimer(c.pollAt() as number);
    expect(new TextDecoder().decode(c.read(300 * MS))).toBe('ab!');
  });
  it('keepalive: probes SND.UNA−1 after idle, drops after keepCount unanswered', () => {
    const c = established({ keepalive: true, keepIdleNs: 10 * S, keepIntervalNs: 1 * S, keepCount: 2 });
    c.onSegment(2 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK }));
    expect(c.pollAt()).toBe(2 * MS + 10 * S);
    c.onTimer(2 * MS + 10 * S);
    expectSegs(c, [{ seq: ISS, ack: RSEQ + 1, flags: ACK }]);
    c.onTimer(c.pollAt() as number);
    expectSegs(c, [{ seq: ISS, ack: RSEQ + 1, flags: ACK }]);
    c.onTimer(c.pollAt() as number);
    expect(c.state).toBe('CLOSED');
    expect(c.error).toBe('ETIMEDOUT');
  });
  it('a keepalive probe from the peer (SEQ = RCV.NXT − 1) is acknowledged', () => {
    const c = established();
    c.onSegment(10 * MS, seg({ seq: RSEQ, ack: ISS + 1, flags: ACK }));
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: ACK }]);
  });
  it('abort sends RST and reports ECONNABORTED', () => {
    const c = established();
    c.abort(10 * MS);
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: RST | ACK }]);
    expect(c.state).toBe('CLOSED');
    expect(c.error).toBe('ECONNABORTED');
  });
});

describe('FIN-WAIT-1 / FIN-WAIT-2 / CLOSING / TIME-WAIT (active close)', () => {
  function finWait1(): TcpConnection {
    const c = established();
    c.shutdown(10 * MS);
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 1, flags: ACK | FIN }]);
    return c;
  }
  it('ACK of FIN → FIN-WAIT-2; FIN → TIME-WAIT with ACK; 2·MSL → CLOSED', () => {
    const c = finWait1();
    c.onSegment(11 * MS, seg({ seq: RSEQ + 1, ack: ISS + 2, flags: ACK }));
    expect(c.state).toBe('FIN-WAIT-2');
    c.onSegment(12 * MS, seg({ seq: RSEQ + 1, ack: ISS + 2, flags: ACK | FIN }));
    expect(c.state).toBe('TIME-WAIT');
    expectSegs(c, [{ seq: ISS + 2, ack: RSEQ + 2, flags: ACK }]);
    expect(c.pollAt()).toBe(12 * MS + 2 * DEFAULT_TCP_CONFIG.mslNs);
    c.onTimer(12 * MS + 2 * DEFAULT_TCP_CONFIG.mslNs);
    expect(c.state).toBe('CLOSED');
    expect(c.error).toBeNull();
  });
  it('FIN+ACK of our FIN in one segment → TIME-WAIT directly', () => {
    const c = finWait1();
    c.onSegment(11 * MS, seg({ seq: RSEQ + 1, ack: ISS + 2, flags: ACK | FIN }));
    expect(c.state).toBe('TIME-WAIT');
    expectSegs(c, [{ seq: ISS + 2, ack: RSEQ + 2, flags: ACK }]);
  });
  it('simultaneous close: FIN without ACK of ours → CLOSING; then ACK → TIME-WAIT', () => {
    const c = finWait1();
    c.onSegment(11 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK | FIN }));
    expect(c.state).toBe('CLOSING');
    expectSegs(c, [{ seq: ISS + 2, ack: RSEQ + 2, flags: ACK }]);
    c.onSegment(12 * MS, seg({ seq: RSEQ + 2, ack: ISS + 2, flags: ACK }));
    expect(c.state).toBe('TIME-WAIT');
  });
  it('the FIN is retransmitted on timeout', () => {
    const c = finWait1();
    c.onTimer(c.pollAt() as number);
    expectSegs(c, [{ seq: ISS + 1, flags: ACK | FIN }]);
  });
  it('TIME-WAIT: a retransmitted FIN is ACKed and restarts 2·MSL; RST is ignored (RFC 1337)', () => {
    const c = finWait1();
    c.onSegment(11 * MS, seg({ seq: RSEQ + 1, ack: ISS + 2, flags: ACK | FIN }));
    c.takeSegments();
    c.onSegment(20 * S, seg({ seq: RSEQ + 1, ack: ISS + 2, flags: ACK | FIN }));
    expectSegs(c, [{ seq: ISS + 2, ack: RSEQ + 2, flags: ACK }]);
    expect(c.pollAt()).toBe(20 * S + 2 * DEFAULT_TCP_CONFIG.mslNs);
    c.onSegment(21 * S, seg({ seq: RSEQ + 2, flags: RST }));
    expect(c.state).toBe('TIME-WAIT');
  });
  it('FIN-WAIT-2 after close() times out', () => {
    const c = established();
    c.close(10 * MS);
    c.onSegment(11 * MS, seg({ seq: RSEQ + 1, ack: ISS + 2, flags: ACK }));
    expect(c.state).toBe('FIN-WAIT-2');
    expect(c.pollAt()).toBe(11 * MS + DEFAULT_TCP_CONFIG.finWait2TimeoutNs);
    c.onTimer(c.pollAt() as number);
    expect(c.state).toBe('CLOSED');
  });
  it('data arriving after close() resets the connection (4.3BSD)', () => {
    const c = established();
    c.close(10 * MS);
    c.takeSegments();
    c.onSegment(11 * MS, seg({ seq: RSEQ + 1, ack: ISS + 2, flags: ACK, payload: 'late' }));
    expect(c.state).toBe('CLOSED');
    expectSegs(c, [{ seq: ISS + 2, flags: RST | ACK }]);
  });
});

describe('CLOSE-WAIT / LAST-ACK (passive close)', () => {
  it('FIN → CLOSE-WAIT; shutdown → LAST-ACK with FIN; ACK → CLOSED', () => {
    const c = establishedPassive();
    c.onSegment(10 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK | FIN }));
    expect(c.state).toBe('CLOSE-WAIT');
    expectSegs(c, [{ seq: ISS + 1, ack: RSEQ + 2, flags: ACK }]);
    c.write(11 * MS, bytes('last words'));
    c.shutdown(11 * MS);
    expect(c.state).toBe('LAST-ACK');
    expectSegs(c, [{ seq: ISS + 1, flags: ACK | PSH, len: 10 }, { seq: ISS + 11, flags: ACK | FIN }]);
    c.onSegment(12 * MS, seg({ seq: RSEQ + 2, ack: ISS + 12, flags: ACK }));
    expect(c.state).toBe('CLOSED');
    expect(c.error).toBeNull();
  });
  it('writes fail after shutdown', () => {
    const c = establishedPassive();
    c.shutdown(10 * MS);
    expect(c.write(11 * MS, bytes('x'))).toBe('EPIPE');
  });
});

describe('sequence numbers across the 2^32 wrap', () => {
  it('a connection whose ISS is 2^32 − 3 transfers and acknowledges across zero', () => {
    const c = conn({ nagle: false }, 0xffff_fffd);
    c.connect(0);
    c.takeSegments();
    c.onSegment(MS, seg({ seq: 0xffff_fff0, ack: 0xffff_fffe, flags: SYN | ACK }));
    expect(c.state).toBe('ESTABLISHED');
    c.write(2 * MS, bytes('wrap-around'));
    expectSegs(c, [
      { seq: 0xffff_fffe, ack: 0xffff_fff1, flags: ACK },
      { seq: 0xffff_fffe, ack: 0xffff_fff1, flags: ACK | PSH, len: 11 },
    ]);
    c.onSegment(3 * MS, seg({ seq: 0xffff_fff1, ack: 9, flags: ACK, payload: new Uint8Array(30) }));
    expect(c.sndUna).toBe(9);
    expect(c.rcvNxt).toBe(15);
    expect(c.readableBytes).toBe(30);
  });
});

describe('TCB export / import (hand-off, issue 8)', () => {
  it('a snapshot re-imported elsewhere carries on the same stream', () => {
    const a = established({ nagle: false });
    a.write(10 * MS, bytes('unacked'));
    a.takeSegments();
    a.onSegment(11 * MS, seg({ seq: RSEQ + 1, ack: ISS + 1, flags: ACK, payload: 'unread' }));
    const snap = a.exportSnapshot();
    expect(snap.state).toBe('ESTABLISHED');
    expect(snap.sndUna).toBe(ISS + 1);
    expect(snap.rcvNxt).toBe(RSEQ + 7);
    const b = TcpConnection.fromSnapshot(100 * MS, snap, DEFAULT_TCP_CONFIG, fixedIss(1));
    expect(b.exportSnapshot()).toEqual(snap);
    expect(new TextDecoder().decode(b.read(100 * MS))).toBe('unread');
    b.takeSegments();
    // The unacknowledged bytes are retransmitted by the importer's timer.
    b.onTimer(b.pollAt() as number);
    expectSegs(b, [{ seq: ISS + 1, ack: RSEQ + 7, flags: ACK | PSH, len: 7 }]);
    b.onSegment(5 * S, seg({ seq: RSEQ + 7, ack: ISS + 8, flags: ACK }));
    expect(b.sndUna).toBe(ISS + 8);
  });
});
