/**
 * One TCP connection (its TCB and state machine), sans-I/O, in the manner of 4.3BSD-Reno.
 *
 * Contract: every entry point takes `now`, integer nanoseconds on the run's clock, and never reads a
 * clock itself. Inputs are `onSegment(now, seg)` (a parsed, checksum-verified segment for this
 * connection), user calls (`connect`, `listen`, `write`, `read`, `shutdown`, `close`, `abort`) and
 * `onTimer(now)` once `now >= pollAt()`. Outputs are segments queued in an outbox that the host
 * drains with `takeSegments()`; the host wraps them in IP. Randomness (the ISN) comes from the
 * injected RandomSource. The whole TCB can be exported and re-imported (`exportSnapshot` /
 * `TcpConnection.fromSnapshot`) so that one host can hand a connection to another (the registry
 * server hands it to the library, paper §3.4).
 *
 * State names and TCB fields follow RFC 793; clause references are given where behaviour is not
 * obvious. docs/tcp-engine.md lists the choices made and the deviations from 4.3BSD-Reno.
 */
import { ByteRing } from './byte-ring.ts';
import { type Ipv4Addr, type Ns, type RandomSource, assertNever, invariant, invariantFailed } from './result.ts';
import { Seq32 } from './seq32.ts';
import { type TcpRepr, TcpFlag } from './tcp-wire.ts';

export type TcpState =
  | 'CLOSED' | 'LISTEN' | 'SYN-SENT' | 'SYN-RECEIVED' | 'ESTABLISHED' | 'FIN-WAIT-1'
  | 'FIN-WAIT-2' | 'CLOSE-WAIT' | 'CLOSING' | 'LAST-ACK' | 'TIME-WAIT';

export const TCP_STATES: readonly TcpState[] = [
  'CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1',
  'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT',
] as const;

/** Why a connection ended abnormally (errno names, as BSD reports them to the user). */
export type TcpError = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'ECONNABORTED';
/** Why a user call was refused. */
export type TcpCallError = 'ENOTCONN' | 'EPIPE' | 'EISCONN' | 'EINVAL';

export interface TcpConfig {
  /** MSS we advertise and the most we send (bytes). 1460 = 1500-byte IP MTU − 40. */
  readonly mss: number;
  readonly sndBufBytes: number;
  readonly rcvBufBytes: number;
  /** Maximum segment lifetime; TIME-WAIT lasts 2·MSL (RFC 793 §3.5). BSD: 30 s. */
  readonly mslNs: Ns;
  /** RTO before any RTT sample (BSD TCPTV_SRTTDFLT 3 s). */
  readonly rtoInitialNs: Ns;
  /** RTO clamp (BSD TCPTV_MIN 1 s, TCPTV_REXMTMAX 64 s). */
  readonly rtoMinNs: Ns;
  readonly rtoMaxNs: Ns;
  /** Retransmission timeouts in a row before the connection is dropped (BSD TCP_MAXRXTSHIFT 12). */
  readonly maxRetransmits: number;
  /** Delayed ACK timer (BSD fast timeout 200 ms); an ACK also goes out every second segment. */
  readonly delayedAckNs: Ns;
  readonly nagle: boolean;
  readonly keepalive: boolean;
  readonly keepIdleNs: Ns;
  readonly keepIntervalNs: Ns;
  readonly keepCount: number;
  /** Persist timer clamp (BSD TCPTV_PERSMIN 5 s, TCPTV_PERSMAX 60 s). */
  readonly persistMinNs: Ns;
  readonly persistMaxNs: Ns;
  /** FIN-WAIT-2 timeout once the user has closed (BSD tcp_maxidle, 10 min). */
  readonly finWait2TimeoutNs: Ns;
  /** RFC 5961 §7: at most this many challenge ACKs per connection per second. */
  readonly challengeAckPerSecond: number;
}

const S = 1_000_000_000;
export const DEFAULT_TCP_CONFIG: TcpConfig = {
  mss: 1460,
  sndBufBytes: 16 * 1024,
  rcvBufBytes: 16 * 1024,
  mslNs: 30 * S,
  rtoInitialNs: 3 * S,
  rtoMinNs: 1 * S,
  rtoMaxNs: 64 * S,
  maxRetransmits: 12,
  delayedAckNs: 200_000_000,
  nagle: true,
  keepalive: false,
  keepIdleNs: 2 * 3600 * S,
  keepIntervalNs: 75 * S,
  keepCount: 8,
  persistMinNs: 5 * S,
  persistMaxNs: 60 * S,
  finWait2TimeoutNs: 600 * S,
  challengeAckPerSecond: 100,
};

/** RFC 879 / RFC 1122 §4.2.2.6: the send MSS when the peer sends no MSS option. */
export const DEFAULT_PEER_MSS = 536;
/** Largest window expressible without window scaling (we do not implement RFC 7323). */
export const TCP_MAXWIN = 65535;

export interface TcpEndpoints {
  readonly localIp: Ipv4Addr;
  readonly localPort: number;
  readonly remoteIp: Ipv4Addr;
  readonly remotePort: number;
}

export interface TcpCounters {
  segsIn: number;
  segsOut: number;
  bytesSentTotal: number;
  bytesRetransmittedTotal: number;
  bytesReceivedTotal: number;
  retransmitTimeouts: number;
  fastRetransmits: number;
  dupAcksIn: number;
  challengeAcksOut: number;
  /** RFC 5961 triggers: in-window RST (§3.2), SYN (§4.2), ACK too old (§5.2); counted before rate limiting. */
  challengeForRst: number;
  challengeForSyn: number;
  challengeForOldAck: number;
  rstsOut: number;
  persistProbes: number;
  keepaliveProbes: number;
  outOfOrderSegs: number;
  duplicateSegs: number;
  rttSamples: number;
}

/** Plain-data copy of a TCB for hand-off between hosts (issue 8). Timers are re-armed on import. */
export interface TcpSnapshot {
  readonly version: 1;
  readonly endpoints: TcpEndpoints;
  readonly state: TcpState;
  readonly passive: boolean;
  readonly iss: number;
  readonly irs: number;
  readonly sndUna: number;
  readonly sndNxt: number;
  readonly sndMax: number;
  readonly sndWnd: number;
  readonly sndWl1: number;
  readonly sndWl2: number;
  readonly maxSndWnd: number;
  readonly rcvNxt: number;
  readonly rcvAdv: number;
  readonly rcvUp: number;
  readonly sndMss: number;
  readonly cwnd: number;
  readonly ssthresh: number;
  readonly srttNs: number;
  readonly rttvarNs: number;
  readonly rtoNs: number;
  readonly finQueued: boolean;
  readonly finAcked: boolean;
  readonly finReceived: boolean;
  readonly oooFinSeq: number | null;
  /** Bytes from the first unacknowledged data byte to the last queued byte. */
  readonly sndData: Uint8Array;
  /** Received, in-order bytes not yet read by the user. */
  readonly rcvData: Uint8Array;
  readonly sndBufBytes: number;
  readonly rcvBufBytes: number;
}

interface OooSegment {
  readonly seq: Seq32;
  readonly data: Uint8Array;
}

const NEVER = Number.POSITIVE_INFINITY;
const EMPTY = new Uint8Array(0);

export class TcpConnection {
  state: TcpState = 'CLOSED';
  error: TcpError | null = null;
  endpoints: TcpEndpoints;
  /** True when this connection was created by a passive open (LISTEN). */
  passive = false;

  // --- Send sequence space (RFC 793 §3.2) ---
  iss = Seq32.from(0);
  sndUna = Seq32.from(0);
  sndNxt = Seq32.from(0);
  /** Highest sequence number sent (BSD snd_max); sndNxt is pulled back below it on retransmission. */
  sndMax = Seq32.from(0);
  sndWnd = 0;
  sndWl1 = Seq32.from(0);
  sndWl2 = Seq32.from(0);
  maxSndWnd = 0;
  sndMss: number;

  // --- Receive sequence space ---
  irs = Seq32.from(0);
  rcvNxt = Seq32.from(0);
  /** Right edge of the window last advertised (BSD rcv_adv); never moves left. */
  rcvAdv = Seq32.from(0);
  rcvUp = Seq32.from(0);

  // --- Congestion control (Jacobson 1988, Reno) ---
  cwnd: number;
  ssthresh = TCP_MAXWIN;
  dupAcks = 0;

  // --- RTT estimation (Jacobson/Karels; RFC 6298 notation), nanoseconds ---
  srttNs = 0;
  rttvarNs = 0;
  /** RTO before backoff; the armed timer uses rtoNs · 2^rxtShift, clamped. */
  rtoNs: number;
  rxtShift = 0;
  private rtTiming = false;
  private rtSeq = Seq32.from(0);
  private rtStartNs = 0;

  // --- Timers: absolute deadlines in ns, NEVER when off ---
  rexmtAt: Ns = NEVER;
  persistAt: Ns = NEVER;
  delackAt: Ns = NEVER;
  keepAt: Ns = NEVER;
  /** TIME-WAIT 2·MSL, or the FIN-WAIT-2 timeout. */
  closeAt: Ns = NEVER;
  private persistShift = 0;
  private keepProbes = 0;
  /** When the last segment arrived (4.3BSD t_idle), for the slow-start restart after idle. */
  private lastRecvNs = 0;

  // --- Flags ---
  private finQueued = false;
  private finWasAcked = false;
  finReceived = false;
  private urgentSeen = false;
  private userClosed = false;
  private ackNow = false;
  private forceProbe = false;
  /**
   * Start of the bytes below SND.MAX that were only ever sent as zero-window probes (null: none).
   * They are not an original transmission whose end a retransmission must respect: once the
   * window reopens they go out inside a full segment from SND.UNA, as in 4.3BSD-Reno.
   */
  private probeFrom: Seq32 | null = null;
  private unackedSegs = 0;
  private challengeWindowStart = -NEVER;
  private challengeCount = 0;

  // --- Buffers ---
  readonly sndBuf: ByteRing;
  readonly rcvBuf: ByteRing;
  private ooo: OooSegment[] = [];
  private oooFinSeq: Seq32 | null = null;

  private outbox: TcpRepr[] = [];
  readonly counters: TcpCounters = {
    segsIn: 0, segsOut: 0, bytesSentTotal: 0, bytesRetransmittedTotal: 0, bytesReceivedTotal: 0,
    retransmitTimeouts: 0, fastRetransmits: 0, dupAcksIn: 0, challengeAcksOut: 0, challengeForRst: 0, challengeForSyn: 0, challengeForOldAck: 0, rstsOut: 0,
    persistProbes: 0, keepaliveProbes: 0, outOfOrderSegs: 0, duplicateSegs: 0, rttSamples: 0,
  };

  constructor(
    readonly config: TcpConfig,
    private readonly random: RandomSource,
    endpoints: TcpEndpoints,
  ) {
    invariant(config.mss > 0 && config.mss <= 65535 - 40, 'mss out of range');
    invariant(config.rcvBufBytes > 0 && config.sndBufBytes > 0, 'buffer sizes must be positive');
    this.endpoints = endpoints;
    this.sndMss = Math.min(config.mss, DEFAULT_PEER_MSS);
    this.cwnd = this.sndMss;
    this.rtoNs = config.rtoInitialNs;
    this.sndBuf = new ByteRing(config.sndBufBytes);
    this.rcvBuf = new ByteRing(config.rcvBufBytes);
  }

  // =====================================================================================
  // Observers
  // =====================================================================================

  /** Next instant at which `onTimer` must be called, or null when no timer is armed. */
  pollAt(): Ns | null {
    const t = Math.min(this.rexmtAt, this.persistAt, this.delackAt, this.keepAt, this.closeAt);
    return t === NEVER ? null : t;
  }

  /** Drains the segments produced so far, in transmission order. */
  takeSegments(): TcpRepr[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  get hasOutput(): boolean { return this.outbox.length > 0; }

  /** Bytes the user may read now. */
  get readableBytes(): number { return this.rcvBuf.length; }
  /** True once the peer's FIN has been consumed in order and all data before it read. */
  get eof(): boolean { return this.finReceived && this.rcvBuf.length === 0; }
  /** Free space in the send buffer (what `write` would accept now). */
  get writableBytes(): number {
    return this.canQueueData() ? this.sndBuf.free : 0;
  }
  /** True when the state can carry user data (RFC 793 SEND is legal). */
  get isSynchronized(): boolean {
    return this.state !== 'CLOSED' && this.state !== 'LISTEN' && this.state !== 'SYN-SENT' && this.state !== 'SYN-RECEIVED';
  }
  /**
   * Send window measured from SND.UNA. The peer's window is relative to the ACK it came with
   * (SND.WL2), so the right edge is SND.WL2 + SND.WND; a later ACK taken without a window update
   * (an old retransmitted segment carrying a new ACK) must not slide that edge to the right.
   */
  get effectiveSndWnd(): number {
    return Math.max(0, Seq32.diff(Seq32.add(this.sndWl2, this.sndWnd), this.sndUna));
  }
  /** Current retransmission timeout including backoff. */
  get currentRtoNs(): number {
    const backedOff = this.rtoNs * 2 ** Math.min(this.rxtShift, 30);
    return Math.min(this.config.rtoMaxNs, Math.max(this.config.rtoMinNs, backedOff));
  }
  /** Window we would advertise if a segment went out now (receiver SWS avoidance included). */
  get rcvWnd(): number { return this.windowToAdvertise(); }
  /** Sequence number just past the urgent data, when the peer has signalled urgent data. */
  get urgentMark(): Seq32 | null {
    return this.urgentSeen ? this.rcvUp : null;
  }

  /** A method, so TypeScript does not narrow `state` across calls that change it. */
  isClosed(): boolean {
    return this.state === 'CLOSED';
  }

  // =====================================================================================
  // User calls (RFC 793 §3.9 "User calls")
  // =====================================================================================

  /** Passive OPEN. */
  listen(): TcpCallError | null {
    if (this.state !== 'CLOSED') return 'EISCONN';
    this.state = 'LISTEN';
    this.passive = true;
    return null;
  }

  /** Active OPEN: chooses the ISS from the injected RandomSource and sends SYN. */
  connect(now: Ns): TcpCallError | null {
    if (this.state !== 'CLOSED' && this.state !== 'LISTEN') return 'EISCONN';
    this.iss = Seq32.from(this.random.nextU32());
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.passive = false;
    this.state = 'SYN-SENT';
    this.output(now);
    return null;
  }

  /** SEND: queues as many bytes as fit in the send buffer; returns the count taken. */
  write(now: Ns, data: Uint8Array): number | TcpCallError {
    if (this.state === 'CLOSED' || this.state === 'LISTEN') return this.error !== null ? 'EPIPE' : 'ENOTCONN';
    if (!this.canQueueData()) return 'EPIPE';
    const n = this.sndBuf.push(data);
    if (n > 0) this.output(now);
    return n;
  }

  /** RECEIVE: returns up to `max` in-order bytes (empty when none). May send a window update. */
  read(now: Ns, max: number = Number.MAX_SAFE_INTEGER): Uint8Array {
    if (this.rcvBuf.length === 0) return EMPTY;
    const out = this.rcvBuf.read(max);
    if (this.isSynchronized || this.state === 'SYN-RECEIVED') this.output(now);
    return out;
  }

  /** Half-close: no more data will be sent; a FIN follows the queued data (RFC 793 CLOSE). */
  shutdown(now: Ns): TcpCallError | null {
    switch (this.state) {
      case 'CLOSED':
        return 'ENOTCONN';
      case 'LISTEN':
      case 'SYN-SENT':
        // RFC 793 CLOSE in LISTEN / SYN-SENT: delete the TCB.
        this.enterClosed(null);
        return null;
      case 'SYN-RECEIVED':
        // RFC 793: the FIN waits until ESTABLISHED would be entered; then FIN-WAIT-1.
        this.finQueued = true;
        return null;
      case 'ESTABLISHED':
        // RFC 793: queue the FIN after pending sends, enter FIN-WAIT-1.
        this.finQueued = true;
        this.state = 'FIN-WAIT-1';
        this.output(now);
        return null;
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.state = 'LAST-ACK';
        this.output(now);
        return null;
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        return null; // already closing: RFC 793 "error: connection closing"; harmless, so not reported
      default:
        return assertNever(this.state);
    }
  }

  /**
   * Full close: shutdown plus "the user will read no more". Data arriving after that resets
   * the connection (4.3BSD tcp_input, "rcvafterclose"), and FIN-WAIT-2 gets a timeout.
   */
  close(now: Ns): TcpCallError | null {
    this.userClosed = true;
    const r = this.shutdown(now);
    if (this.state === 'FIN-WAIT-2' && this.closeAt === NEVER) this.closeAt = now + this.config.finWait2TimeoutNs;
    return r;
  }

  /**
   * RFC 1122 §4.2.2.13: a new SYN with a sequence number beyond RCV.NXT may reopen a connection
   * in TIME-WAIT. True when `seg` qualifies; the host then ends this TCB (`endTimeWait`) and hands
   * the SYN to its listener.
   */
  acceptsNewSyn(seg: TcpRepr): boolean {
    return this.state === 'TIME-WAIT'
      && (seg.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST | TcpFlag.FIN)) === TcpFlag.SYN
      && Seq32.gt(seg.seq, this.rcvNxt);
  }

  /** Ends TIME-WAIT early (only for `acceptsNewSyn`). */
  endTimeWait(): void {
    invariant(this.state === 'TIME-WAIT', 'endTimeWait outside TIME-WAIT');
    this.enterClosed(null);
  }

  /** ABORT: RST to the peer if synchronized, then CLOSED (RFC 793 ABORT call). */
  abort(now: Ns): void {
    void now;
    if (this.state === 'SYN-RECEIVED' || this.isSynchronized) {
      if (this.state !== 'TIME-WAIT') this.emitRst(this.sndNxt, this.rcvNxt, true);
    }
    this.enterClosed('ECONNABORTED');
  }

  // =====================================================================================
  // Timers
  // =====================================================================================

  /** Runs every timer whose deadline is <= now, then sends what became sendable. */
  onTimer(now: Ns): void {
    if (now >= this.closeAt) {
      this.closeAt = NEVER;
      if (this.state === 'TIME-WAIT' || this.state === 'FIN-WAIT-2') {
        this.enterClosed(null);
        return;
      }
    }
    if (now >= this.rexmtAt) this.onRetransmitTimeout(now);
    if (this.isClosed()) return;
    if (now >= this.persistAt) this.onPersistTimeout(now);
    if (now >= this.keepAt) {
      this.onKeepaliveTimeout(now);
      if (this.isClosed()) return;
    }
    if (now >= this.delackAt) {
      this.delackAt = NEVER;
      this.ackNow = true;
    }
    this.output(now);
  }

  private onRetransmitTimeout(now: Ns): void {
    this.rexmtAt = NEVER;
    this.rxtShift += 1;
    if (this.rxtShift > this.config.maxRetransmits) {
      // BSD tcp_drop: RST the peer if synchronized, report ETIMEDOUT.
      if (this.isSynchronized) this.emitRst(this.sndNxt, this.rcvNxt, true);
      this.enterClosed('ETIMEDOUT');
      return;
    }
    this.counters.retransmitTimeouts += 1;
    // Karn: a retransmitted segment is never timed (Karn & Partridge 1987).
    this.rtTiming = false;
    // Jacobson 1988: ssthresh = max(flight/2, 2 segments); restart slow start from one segment.
    this.ssthresh = this.halvedWindow();
    this.cwnd = this.sndMss;
    this.dupAcks = 0;
    this.sndNxt = this.sndUna;
    this.output(now);
  }

  private onPersistTimeout(now: Ns): void {
    this.persistAt = NEVER;
    this.counters.persistProbes += 1;
    // Re-probe with the first unacknowledged byte (BSD pulls snd_nxt back into a closed window).
    if (this.effectiveSndWnd === 0) this.sndNxt = this.sndUna;
    this.forceProbe = true;
    this.output(now);
    this.forceProbe = false;
    this.persistShift = Math.min(this.persistShift + 1, 30);
    this.armPersistIfNeeded(now);
  }

  private onKeepaliveTimeout(now: Ns): void {
    this.keepAt = NEVER;
    if (!this.config.keepalive || !this.isKeepaliveState()) return;
    if (this.keepProbes >= this.config.keepCount) {
      this.emitRst(this.sndNxt, this.rcvNxt, true);
      this.enterClosed('ETIMEDOUT');
      return;
    }
    this.keepProbes += 1;
    this.counters.keepaliveProbes += 1;
    // RFC 1122 §4.2.3.6: a probe with SEG.SEQ = SND.NXT − 1 elicits an ACK from a live peer.
    this.emit({ seq: Seq32.add(this.sndUna, -1), ack: this.rcvNxt, flags: TcpFlag.ACK, payload: EMPTY, mss: null });
    this.keepAt = now + this.config.keepIntervalNs;
  }

  private isKeepaliveState(): boolean {
    return this.state === 'ESTABLISHED' || this.state === 'CLOSE-WAIT' || this.state === 'FIN-WAIT-1' || this.state === 'FIN-WAIT-2';
  }

  // =====================================================================================
  // Segment arrival (RFC 793 §3.9 "SEGMENT ARRIVES")
  // =====================================================================================

  onSegment(now: Ns, seg: TcpRepr): void {
    this.counters.segsIn += 1;
    this.lastRecvNs = now;
    switch (this.state) {
      case 'CLOSED':
        // RFC 793: "all data in the incoming segment is discarded ... a reset is sent in response".
        this.replyRstTo(seg);
        return;
      case 'LISTEN':
        this.onSegmentListen(now, seg);
        return;
      case 'SYN-SENT':
        this.onSegmentSynSent(now, seg);
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        this.onSegmentSynchronized(now, seg);
        return;
      default:
        assertNever(this.state);
    }
  }

  /** RFC 793 p.65 "If the state is LISTEN". */
  private onSegmentListen(now: Ns, seg: TcpRepr): void {
    if (seg.flags & TcpFlag.RST) return; // "An incoming RST should be ignored."
    if (seg.flags & TcpFlag.ACK) {
      // "<SEQ=SEG.ACK><CTL=RST>"
      this.emitRst(seg.ack, Seq32.from(0), false);
      return;
    }
    if (!(seg.flags & TcpFlag.SYN)) return;
    this.irs = seg.seq;
    this.rcvNxt = Seq32.add(seg.seq, 1);
    this.rcvAdv = this.rcvNxt;
    this.rcvUp = this.rcvNxt;
    this.iss = Seq32.from(this.random.nextU32());
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.takePeerMss(seg.mss);
    // Record the window now; SND.WL1 = SEG.SEQ so the ACK that completes the handshake updates it.
    this.sndWnd = seg.window;
    this.maxSndWnd = Math.max(this.maxSndWnd, seg.window);
    this.sndWl1 = seg.seq;
    this.sndWl2 = this.iss;
    this.state = 'SYN-RECEIVED';
    this.passive = true;
    this.ackNow = true;
    // RFC 793: data or FIN on the SYN is processed in SYN-RECEIVED (BSD "trimthenstep6").
    this.trimThenStep6(now, Seq32.add(seg.seq, 1), seg.payload, (seg.flags & TcpFlag.FIN) !== 0, seg);
    this.output(now);
  }

  /** RFC 793 p.66 "If the state is SYN-SENT". */
  private onSegmentSynSent(now: Ns, seg: TcpRepr): void {
    const hasAck = (seg.flags & TcpFlag.ACK) !== 0;
    if (hasAck && (Seq32.le(seg.ack, this.iss) || Seq32.gt(seg.ack, this.sndMax))) {
      // "If SEG.ACK =< ISS, or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set)".
      if (!(seg.flags & TcpFlag.RST)) this.emitRst(seg.ack, Seq32.from(0), false);
      return;
    }
    if (seg.flags & TcpFlag.RST) {
      // Acceptable only with an acceptable ACK (RFC 793; RFC 5961 §3.2 keeps this for SYN-SENT).
      if (hasAck) this.enterClosed('ECONNREFUSED');
      return;
    }
    if (!(seg.flags & TcpFlag.SYN)) return;
    this.irs = seg.seq;
    this.rcvNxt = Seq32.add(seg.seq, 1);
    this.rcvAdv = this.rcvNxt;
    this.rcvUp = this.rcvNxt;
    this.takePeerMss(seg.mss);
    this.ackNow = true;
    if (hasAck) {
      this.processNewAck(now, seg.ack);
      this.state = 'ESTABLISHED';
      this.sndWnd = seg.window;
      this.maxSndWnd = Math.max(this.maxSndWnd, seg.window);
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
    } else {
      // Simultaneous open (RFC 793 Figure 8): SYN-RECEIVED, re-send our SYN now carrying an ACK.
      this.state = 'SYN-RECEIVED';
      this.sndWnd = seg.window;
      this.maxSndWnd = Math.max(this.maxSndWnd, seg.window);
      this.sndWl1 = seg.seq;
      this.sndWl2 = this.iss;
      this.sndNxt = this.iss;
      this.rtTiming = false;
    }
    this.trimThenStep6(now, Seq32.add(seg.seq, 1), seg.payload, (seg.flags & TcpFlag.FIN) !== 0, seg);
    this.output(now);
  }

  /** Trims data carried on a SYN to the window, then runs the URG/text/FIN steps. */
  private trimThenStep6(now: Ns, seq: Seq32, payload: Uint8Array, fin: boolean, seg: TcpRepr): void {
    let data = payload;
    let hasFin = fin;
    const wnd = this.acceptWindow();
    if (data.length > wnd) {
      data = data.subarray(0, wnd);
      hasFin = false;
    }
    this.processUrgent(seg, seq);
    this.processText(now, seq, data, hasFin);
  }

  /** RFC 793 p.69 "Otherwise" (SYN-RECEIVED and every synchronized state). */
  private onSegmentSynchronized(now: Ns, seg: TcpRepr): void {
    if (this.config.keepalive && this.isKeepaliveState()) {
      this.keepProbes = 0;
      this.keepAt = now + this.config.keepIdleNs;
    }
    const flags = seg.flags;
    const wnd = this.acceptWindow();

    // RFC 5961 §3.2: RST is acted on only when SEG.SEQ = RCV.NXT; in-window ⇒ challenge ACK.
    if (flags & TcpFlag.RST) {
      if (seg.seq === this.rcvNxt) {
        this.onAcceptableReset();
      } else if (Seq32.inWindow(seg.seq, this.rcvNxt, Math.max(wnd, 1))) {
        this.challengeAck(now, 'rst');
        this.output(now);
      }
      return;
    }

    if (flags & TcpFlag.SYN) {
      if (this.state === 'SYN-RECEIVED' && seg.seq === this.irs && !(flags & TcpFlag.ACK)) {
        // The peer did not get our SYN-ACK and repeats its SYN: answer with the SYN-ACK again.
        this.sndNxt = this.iss;
        this.rtTiming = false;
        this.output(now);
        return;
      }
      // RFC 5961 §4.2: any SYN in a synchronized state gets a challenge ACK and is dropped.
      this.challengeAck(now, 'syn');
      this.output(now);
      return;
    }

    // TIME-WAIT: a retransmitted FIN is acknowledged and restarts the 2·MSL timer (RFC 793 p.73).
    if (this.state === 'TIME-WAIT' && (flags & TcpFlag.FIN)) {
      this.closeAt = now + 2 * this.config.mslNs;
      this.ackNow = true;
    }

    // Sequence check, as trimming (RFC 793 p.69; 4.3BSD keeps processing the ACK of a duplicate).
    let seq = seg.seq;
    let data = seg.payload;
    let fin = (flags & TcpFlag.FIN) !== 0;
    const before = Seq32.diff(this.rcvNxt, seq);
    if (before > 0) {
      if (before > data.length || (before === data.length && !fin)) {
        // Entirely old: acknowledge (answers keepalive probes too) and keep only the ACK fields.
        if (data.length > 0 || fin) this.counters.duplicateSegs += 1;
        data = EMPTY;
        fin = false;
        seq = this.rcvNxt;
        this.ackNow = true;
      } else {
        data = data.subarray(before);
        seq = this.rcvNxt;
      }
    }
    const beyond = Seq32.diff(Seq32.add(seq, data.length), Seq32.add(this.rcvNxt, wnd));
    if (beyond > 0) {
      if (beyond >= data.length) {
        if (wnd === 0 && seq === this.rcvNxt) {
          // A zero-window probe: not accepted, but acknowledged, and its ACK field processed.
          this.ackNow = true;
          data = EMPTY;
          fin = false;
        } else {
          // RFC 793: not acceptable ⇒ send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and drop.
          this.ackNow = true;
          this.output(now);
          return;
        }
      } else {
        data = data.subarray(0, data.length - beyond);
        fin = false;
      }
    }

    // "if the ACK bit is off drop the segment and return"
    if (!(flags & TcpFlag.ACK)) {
      this.output(now);
      return;
    }

    if (this.state === 'SYN-RECEIVED') {
      // "If SND.UNA < SEG.ACK =< SND.NXT then enter ESTABLISHED state" (SND.MAX here).
      if (!(Seq32.lt(this.sndUna, seg.ack) && Seq32.le(seg.ack, this.sndMax))) {
        this.emitRst(seg.ack, Seq32.from(0), false);
        return;
      }
      // A FIN that arrived in SYN-RECEIVED was remembered (see onFinInOrder): go where it leads now.
      if (this.finReceived) this.state = this.finQueued ? 'LAST-ACK' : 'CLOSE-WAIT';
      else this.state = this.finQueued ? 'FIN-WAIT-1' : 'ESTABLISHED';
      this.sndWnd = seg.window;
      this.maxSndWnd = Math.max(this.maxSndWnd, seg.window);
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
    }

    if (!this.processAck(now, seg, seq, data.length)) return;
    if (this.isClosed()) return;

    this.processUrgent(seg, seq);
    this.processText(now, seq, data, fin);
    this.output(now);
  }

  /**
   * The ACK step of RFC 793 p.72, with RFC 5961 §5.2 acceptance, Reno fast retransmit/recovery
   * and the window update. Returns false when the segment must be dropped.
   */
  private processAck(now: Ns, seg: TcpRepr, seq: Seq32, dataLen: number): boolean {
    const ack = seg.ack;
    if (Seq32.gt(ack, this.sndMax)) {
      // "If the ACK acks something not yet sent ... send an ACK, drop the segment, and return."
      this.ackNow = true;
      this.output(now);
      return false;
    }
    // RFC 5961 §5.2: acceptable iff (SND.UNA − MAX.SND.WND) =< SEG.ACK =< SND.NXT.
    if (Seq32.lt(ack, Seq32.add(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
      this.challengeAck(now, 'ack');
      this.output(now);
      return false;
    }

    if (Seq32.le(ack, this.sndUna)) {
      // Duplicate ACK (Jacobson/Reno): same ACK, no data, unchanged window, data outstanding.
      if (dataLen === 0 && seg.window === this.sndWnd && ack === this.sndUna && !(seg.flags & TcpFlag.FIN)) {
        this.counters.dupAcksIn += 1;
        if (this.rexmtAt === NEVER || Seq32.le(this.sndMax, this.sndUna)) {
          this.dupAcks = 0;
        } else {
          this.dupAcks += 1;
          if (this.dupAcks === 3) {
            this.fastRetransmit(now);
          } else if (this.dupAcks > 3) {
            // Fast recovery: each further duplicate means a segment has left the network.
            this.cwnd = Math.min(this.cwnd + this.sndMss, this.cwndMax());
          }
        }
      } else {
        this.dupAcks = 0;
      }
    } else {
      // New data acknowledged.
      if (this.dupAcks >= 3 && this.cwnd > this.ssthresh) this.cwnd = this.ssthresh; // Reno: deflate
      this.dupAcks = 0;
      this.processNewAck(now, ack);
    }

    // Window update (RFC 793 p.72): only from a segment not older than the last one used.
    if (Seq32.lt(this.sndWl1, seq) || (this.sndWl1 === seq && Seq32.le(this.sndWl2, ack))) {
      this.sndWnd = seg.window;
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      if (seg.window > this.maxSndWnd) this.maxSndWnd = seg.window;
      if (this.effectiveSndWnd > 0) {
        this.persistAt = NEVER;
        this.persistShift = 0;
      }
    }

    const finAcked = this.isFinAcked();
    switch (this.state) {
      case 'FIN-WAIT-1':
        if (finAcked) {
          this.state = 'FIN-WAIT-2';
          if (this.userClosed) this.closeAt = now + this.config.finWait2TimeoutNs;
        }
        break;
      case 'CLOSING':
        if (finAcked) this.enterTimeWait(now);
        break;
      case 'LAST-ACK':
        if (finAcked) {
          this.enterClosed(null);
          return false;
        }
        break;
      case 'ESTABLISHED':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'TIME-WAIT':
      case 'SYN-RECEIVED':
        break;
      case 'CLOSED':
      case 'LISTEN':
      case 'SYN-SENT':
        invariantFailed(`processAck in ${this.state}`);
        break;
      default:
        assertNever(this.state);
    }
    return true;
  }

  /** SND.UNA advances to `ack` (> SND.UNA): RTT sample, cwnd growth, buffer release, timers. */
  private processNewAck(now: Ns, ack: Seq32): void {
    if (this.rtTiming && Seq32.gt(ack, this.rtSeq)) {
      this.rtTiming = false;
      this.rttSample(now - this.rtStartNs);
    }
    // Slow start below ssthresh, else congestion avoidance: about one segment per round trip.
    const incr = this.cwnd <= this.ssthresh ? this.sndMss : Math.max(1, Math.floor((this.sndMss * this.sndMss) / this.cwnd));
    this.cwnd = Math.min(this.cwnd + incr, this.cwndMax());

    let acked = Seq32.diff(ack, this.sndUna);
    if (this.sndUna === this.iss && acked > 0) acked -= 1; // the SYN
    const dataAcked = Math.min(acked, this.sndBuf.length);
    if (this.finQueued && acked > dataAcked) this.finWasAcked = true; // the FIN's sequence number
    this.sndBuf.drop(dataAcked);
    this.sndUna = ack;
    if (Seq32.lt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
    if (this.probeFrom !== null && Seq32.ge(this.sndUna, this.sndMax)) this.probeFrom = null;

    if (this.sndUna === this.sndMax) {
      this.rexmtAt = NEVER;
    } else if (this.persistAt === NEVER) {
      this.rexmtAt = now + this.currentRtoNs;
    }
  }

  /** Jacobson/Karels estimator (Jacobson 1988 appendix A; RFC 6298 §2), in nanoseconds. */
  private rttSample(rttNs: number): void {
    const r = Math.max(0, rttNs);
    this.counters.rttSamples += 1;
    if (this.srttNs === 0) {
      this.srttNs = Math.max(r, 1);
      this.rttvarNs = Math.floor(r / 2);
    } else {
      const delta = r - this.srttNs;
      this.rttvarNs = Math.floor(this.rttvarNs + (Math.abs(delta) - this.rttvarNs) / 4);
      this.srttNs = Math.max(1, Math.floor(this.srttNs + delta / 8));
    }
    this.rtoNs = this.srttNs + 4 * this.rttvarNs;
    // A valid sample ends any backoff (Karn: samples only ever come from unretransmitted segments).
    this.rxtShift = 0;
  }

  private fastRetransmit(now: Ns): void {
    this.counters.fastRetransmits += 1;
    const onxt = this.sndNxt;
    this.ssthresh = this.halvedWindow();
    this.rexmtAt = NEVER;
    this.rtTiming = false;
    this.sndNxt = this.sndUna;
    this.cwnd = this.sndMss;
    this.output(now);
    // Reno fast recovery: inflate by the three segments known to have left the network.
    this.cwnd = this.ssthresh + this.sndMss * this.dupAcks;
    if (Seq32.gt(onxt, this.sndNxt)) this.sndNxt = onxt;
  }

  private halvedWindow(): number {
    const flight = Math.min(this.effectiveSndWnd, this.cwnd);
    return Math.max(2, Math.floor(flight / 2 / this.sndMss)) * this.sndMss;
  }

  private cwndMax(): number {
    return Math.max(TCP_MAXWIN, this.config.sndBufBytes);
  }

  private processUrgent(seg: TcpRepr, seq: Seq32): void {
    // Urgent data is accepted and delivered inline, in sequence (SO_OOBINLINE behaviour);
    // only the mark is remembered (RFC 1122 §4.2.2.4: the pointer is to the last urgent byte + 1).
    if (!(seg.flags & TcpFlag.URG)) return;
    if (this.state === 'CLOSE-WAIT' || this.state === 'CLOSING' || this.state === 'LAST-ACK' || this.state === 'TIME-WAIT') return;
    const up = Seq32.add(seq, seg.urgentPtr);
    if (!this.urgentSeen || Seq32.gt(up, this.rcvUp)) this.rcvUp = up;
    this.urgentSeen = true;
  }

  /** RFC 793 p.74 "seventh, process the segment text" and p.75 "eighth, check the FIN bit". */
  private processText(now: Ns, seq: Seq32, data: Uint8Array, fin: boolean): void {
    if (data.length === 0 && !fin) return;
    if (this.finReceived) return; // nothing follows a FIN
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
        break;
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        // "This should not occur, since a FIN has been received from the remote side. Ignore."
        return;
      case 'CLOSED':
      case 'LISTEN':
      case 'SYN-SENT':
        return;
      default:
        assertNever(this.state);
    }
    if (this.userClosed && data.length > 0 && (this.state === 'FIN-WAIT-1' || this.state === 'FIN-WAIT-2')) {
      // Nobody will ever read this: reset, as 4.3BSD does after close().
      this.emitRst(this.sndNxt, this.rcvNxt, true);
      this.enterClosed('ECONNABORTED');
      return;
    }
    if (seq === this.rcvNxt && this.ooo.length === 0) {
      if (data.length > 0) {
        const n = this.rcvBuf.push(data);
        invariant(n === data.length, 'in-window data must fit the receive buffer');
        this.rcvNxt = Seq32.add(this.rcvNxt, n);
        this.counters.bytesReceivedTotal += n;
        // Delayed ACK: at most every second segment, else within delayedAckNs (RFC 1122 §4.2.3.2).
        this.unackedSegs += 1;
        if (this.unackedSegs >= 2) this.ackNow = true;
        else if (this.delackAt === NEVER) this.delackAt = now + this.config.delayedAckNs;
      }
      if (fin) this.onFinInOrder(now);
      return;
    }
    // Out of order: queue and send an immediate duplicate ACK (RFC 5681 §4.2).
    this.counters.outOfOrderSegs += 1;
    this.ackNow = true;
    this.insertOoo(seq, data);
    if (fin) {
      const fs = Seq32.add(seq, data.length);
      if (this.oooFinSeq === null) this.oooFinSeq = fs;
    }
    const before = this.rcvNxt;
    this.drainOoo(now);
    if (before !== this.rcvNxt) this.ackNow = true; // a hole was filled: ACK at once
  }

  private insertOoo(seq: Seq32, data: Uint8Array): void {
    if (data.length === 0) return;
    const start = Seq32.diff(seq, this.rcvNxt);
    const end = start + data.length;
    const pieces: OooSegment[] = [];
    let cur = start;
    for (const e of this.ooo) {
      const es = Seq32.diff(e.seq, this.rcvNxt);
      const ee = es + e.data.length;
      if (ee <= cur) continue;
      if (es >= end) break;
      if (es > cur) pieces.push({ seq: Seq32.add(this.rcvNxt, cur), data: data.slice(cur - start, es - start) });
      cur = Math.max(cur, ee);
      if (cur >= end) break;
    }
    if (cur < end) pieces.push({ seq: Seq32.add(this.rcvNxt, cur), data: data.slice(cur - start, end - start) });
    if (pieces.length === 0) return;
    this.ooo.push(...pieces);
    const base = this.rcvNxt;
    this.ooo.sort((a, b) => Seq32.diff(a.seq, base) - Seq32.diff(b.seq, base));
  }

  private drainOoo(now: Ns): void {
    while (this.ooo.length > 0) {
      const e = this.ooo[0];
      invariant(e !== undefined, 'ooo head');
      const es = Seq32.diff(e.seq, this.rcvNxt);
      if (es > 0) break;
      this.ooo.shift();
      const skip = -es;
      if (skip >= e.data.length) continue;
      const part = e.data.subarray(skip);
      const n = this.rcvBuf.push(part);
      invariant(n === part.length, 'reassembled data must fit the receive buffer');
      this.rcvNxt = Seq32.add(this.rcvNxt, n);
      this.counters.bytesReceivedTotal += n;
    }
    if (this.oooFinSeq !== null && this.oooFinSeq === this.rcvNxt && this.ooo.length === 0) {
      this.oooFinSeq = null;
      this.onFinInOrder(now);
    }
  }

  /** RFC 793 p.75: the FIN is in sequence. */
  private onFinInOrder(now: Ns): void {
    this.rcvNxt = Seq32.add(this.rcvNxt, 1);
    this.finReceived = true;
    this.ackNow = true;
    this.ooo = [];
    this.oooFinSeq = null;
    switch (this.state) {
      case 'SYN-RECEIVED':
        // RFC 793 enters CLOSE-WAIT here, but our SYN is not acknowledged yet and must stay
        // retransmittable: stay in SYN-RECEIVED; the ACK of our SYN leads to CLOSE-WAIT.
        break;
      case 'ESTABLISHED':
        this.state = 'CLOSE-WAIT';
        break;
      case 'FIN-WAIT-1':
        // Our FIN acknowledged by this segment ⇒ TIME-WAIT, else simultaneous close ⇒ CLOSING.
        if (this.isFinAcked()) this.enterTimeWait(now);
        else this.state = 'CLOSING';
        break;
      case 'FIN-WAIT-2':
        this.enterTimeWait(now);
        break;
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
      case 'CLOSED':
      case 'LISTEN':
      case 'SYN-SENT':
        break;
      default:
        assertNever(this.state);
    }
  }

  private onAcceptableReset(): void {
    switch (this.state) {
      case 'SYN-RECEIVED':
        // RFC 793 returns a passive open to LISTEN; like 4.3BSD we drop the embryonic connection
        // (the listener itself is a separate TCB that never left LISTEN).
        this.enterClosed(this.passive ? 'ECONNRESET' : 'ECONNREFUSED');
        return;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        this.enterClosed('ECONNRESET');
        return;
      case 'CLOSING':
      case 'LAST-ACK':
        this.enterClosed(null);
        return;
      case 'TIME-WAIT':
        // RFC 1337 (TIME-WAIT assassination): ignore RST in TIME-WAIT. RFC 793 and 4.3BSD close
        // here; a peer that already closed answers our duplicate ACK with exactly such an RST.
        return;
      case 'CLOSED':
      case 'LISTEN':
      case 'SYN-SENT':
        return;
      default:
        assertNever(this.state);
    }
  }

  private challengeAck(now: Ns, why: 'rst' | 'syn' | 'ack'): void {
    switch (why) {
      case 'rst': this.counters.challengeForRst += 1; break;
      case 'syn': this.counters.challengeForSyn += 1; break;
      case 'ack': this.counters.challengeForOldAck += 1; break;
      default: assertNever(why);
    }
    if (now - this.challengeWindowStart >= 1_000_000_000) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.config.challengeAckPerSecond) return;
    this.challengeCount += 1;
    this.counters.challengeAcksOut += 1;
    this.ackNow = true;
  }

  private enterTimeWait(now: Ns): void {
    this.state = 'TIME-WAIT';
    this.rexmtAt = NEVER;
    this.persistAt = NEVER;
    this.keepAt = NEVER;
    this.delackAt = NEVER;
    this.closeAt = now + 2 * this.config.mslNs;
  }

  private enterClosed(error: TcpError | null): void {
    this.state = 'CLOSED';
    if (error !== null && this.error === null) this.error = error;
    this.rexmtAt = NEVER;
    this.persistAt = NEVER;
    this.delackAt = NEVER;
    this.keepAt = NEVER;
    this.closeAt = NEVER;
    this.ooo = [];
    this.oooFinSeq = null;
  }

  // =====================================================================================
  // Output (the tcp_output decision procedure)
  // =====================================================================================

  private canQueueData(): boolean {
    if (this.finQueued) return false;
    return this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED' || this.state === 'ESTABLISHED' || this.state === 'CLOSE-WAIT';
  }

  /** First sequence number of the send buffer: ISS+1 until the SYN is acknowledged. */
  private dataStartSeq(): Seq32 {
    return this.sndUna === this.iss ? Seq32.add(this.iss, 1) : this.sndUna;
  }

  /** True once our FIN has been sent and acknowledged. */
  private isFinAcked(): boolean {
    return this.finWasAcked;
  }

  /** Receive window to advertise: free buffer space with receiver SWS avoidance, never shrinking. */
  private windowToAdvertise(): number {
    let win = this.rcvBuf.free;
    // RFC 1122 §4.2.3.3 / 4.3BSD: don't advertise a small increase.
    if (win < this.config.rcvBufBytes / 4 && win < this.config.mss) win = 0;
    const promised = Seq32.diff(this.rcvAdv, this.rcvNxt);
    if (win < promised) win = promised; // RFC 793 §3.7: never shrink the window
    return Math.min(win, TCP_MAXWIN);
  }

  /** Window used to accept arriving data: what we promised or what fits, whichever is larger. */
  private acceptWindow(): number {
    const promised = Math.max(0, Seq32.diff(this.rcvAdv, this.rcvNxt));
    return Math.min(Math.max(promised, this.rcvBuf.free), TCP_MAXWIN);
  }

  private output(now: Ns): void {
    if (this.config.keepalive && this.keepAt === NEVER && this.isKeepaliveState()) this.keepAt = now + this.config.keepIdleNs;
    for (let guard = 0; guard < 4096; guard++) {
      if (!this.sendOne(now)) break;
    }
    this.armPersistIfNeeded(now);
  }

  private armPersistIfNeeded(now: Ns): void {
    if (!this.isSynchronized && this.state !== 'SYN-RECEIVED') return;
    if (this.state === 'TIME-WAIT') return;
    const pendingData = this.sndBuf.length > 0;
    if (!pendingData || this.rexmtAt !== NEVER || this.persistAt !== NEVER) return;
    const unsent = this.sndBuf.length - Math.max(0, Seq32.diff(this.sndNxt, this.dataStartSeq()));
    if (this.effectiveSndWnd > 0 && unsent <= 0) return;
    // Persist (RFC 1122 §4.2.2.17): probe a zero window, and also un-stick a small window that SWS
    // avoidance refuses to fill while nothing is outstanding (4.3BSD tcp_output).
    const t = Math.min(this.config.persistMaxNs, Math.max(this.config.persistMinNs, this.currentRtoNs * 2 ** this.persistShift));
    this.persistAt = now + t;
  }

  /** Decides and emits at most one segment; returns true if one was sent. */
  private sendOne(now: Ns): boolean {
    switch (this.state) {
      case 'CLOSED':
      case 'LISTEN':
        return false;
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
        return this.sendHandshake(now);
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        return this.sendData(now);
      default:
        return assertNever(this.state);
    }
  }

  private sendHandshake(now: Ns): boolean {
    const synAck = this.state === 'SYN-RECEIVED';
    if (this.sndNxt === this.iss) {
      const retransmit = Seq32.lt(this.sndNxt, this.sndMax);
      this.emit({
        seq: this.iss,
        ack: synAck ? this.rcvNxt : Seq32.from(0),
        flags: synAck ? TcpFlag.SYN | TcpFlag.ACK : TcpFlag.SYN,
        payload: EMPTY,
        mss: this.config.mss,
      });
      this.sndNxt = Seq32.add(this.iss, 1);
      if (Seq32.gt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      if (!retransmit && !this.rtTiming) {
        this.rtTiming = true;
        this.rtSeq = this.iss;
        this.rtStartNs = now;
      }
      if (this.rexmtAt === NEVER) this.rexmtAt = now + this.currentRtoNs;
      this.afterSend(now);
      return true;
    }
    if (synAck && this.ackNow) {
      this.emit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TcpFlag.ACK, payload: EMPTY, mss: null });
      this.afterSend(now);
      return true;
    }
    return false;
  }

  private sendData(now: Ns): boolean {
    // Jacobson 1988 / 4.3BSD-Reno: after an idle period longer than the RTO the ACK clock is
    // gone; restart from one segment.
    if (this.sndMax === this.sndUna && now - this.lastRecvNs >= this.currentRtoNs && this.cwnd > this.sndMss) {
      this.cwnd = this.sndMss;
    }
    const dataStart = this.dataStartSeq();
    const bufLen = this.sndBuf.length;
    const off = Seq32.diff(this.sndNxt, dataStart);
    const unsent = bufLen - off;
    const sndWnd = this.effectiveSndWnd;
    let win = Math.min(sndWnd, this.cwnd);
    // A zero-window probe (RFC 1122 §4.2.2.17) sends one byte past a closed window and is not timed
    // by the retransmit timer (persist re-probes); a forced send into an open but small window
    // (SWS deadlock breaking) is an ordinary transmission.
    const zeroWindowProbe = this.forceProbe && sndWnd === 0;
    if (zeroWindowProbe) win = 1;
    const inFlight = Seq32.diff(this.sndNxt, this.sndUna);
    let len = Math.max(0, Math.min(unsent, win - inFlight));
    if (len > this.sndMss) len = this.sndMss;
    // A retransmission ends where the original transmission ended, so new data never rides on it
    // (keeps captures analysable; 4.3BSD would merge them). Bytes only ever sent as zero-window
    // probes had no original segment: a send from SND.UNA after the window reopens is a full
    // segment that carries them and new data, as 4.3BSD's tcp_output sends it (issue 17 item 5).
    const origEnd = this.probeFrom !== null && Seq32.lt(this.probeFrom, this.sndMax) ? this.probeFrom : this.sndMax;
    if (Seq32.lt(this.sndNxt, origEnd)) len = Math.min(len, Seq32.diff(origEnd, this.sndNxt));
    if (win === 0 && !this.forceProbe && inFlight > 0 && bufLen > 0 && sndWnd === 0) {
      // Window closed under us: cancel the retransmit timer and pull SND.NXT back; persist takes over.
      this.rexmtAt = NEVER;
      this.sndNxt = this.sndUna;
      return this.sendData(now);
    }
    const finSeq = Seq32.add(dataStart, bufLen);
    const fin = this.finQueued && off >= 0 && Seq32.add(this.sndNxt, len) === finSeq && !this.finWasAcked;

    let send = false;
    if (len > 0) {
      if (len === this.sndMss) send = true;
      else if ((!this.config.nagle || this.sndNxt === this.sndUna) && off + len === bufLen) send = true; // Nagle (RFC 896)
      else if (this.forceProbe) send = true;
      else if (this.maxSndWnd > 0 && len >= this.maxSndWnd / 2) send = true; // sender SWS (RFC 1122 §4.2.3.4)
      else if (Seq32.lt(this.sndNxt, this.sndMax)) send = true; // retransmission
    }
    if (!send && fin && (len === unsent)) send = true;
    if (!send && this.state !== 'TIME-WAIT') {
      // Window update when the window has opened by two segments or half the buffer (4.3BSD).
      const adv = this.windowToAdvertise() - Math.max(0, Seq32.diff(this.rcvAdv, this.rcvNxt));
      if (!this.finReceived && (adv >= 2 * this.config.mss || 2 * adv >= this.config.rcvBufBytes)) send = true;
    }
    if (!send && this.ackNow) send = true;
    if (!send) return false;

    const seq = this.sndNxt;
    const payload = len > 0 ? this.sndBuf.peek(off, len) : EMPTY;
    let flags = TcpFlag.ACK;
    if (fin) flags |= TcpFlag.FIN;
    if (len > 0 && off + len === bufLen) flags |= TcpFlag.PSH;
    const retransmit = Seq32.lt(seq, this.sndMax);
    this.emit({ seq, ack: this.rcvNxt, flags, payload, mss: null });
    if (len > 0) {
      // Only the probe bytes of a segment sent after a zero window can be old and new at once.
      const old = retransmit ? Math.min(len, Seq32.diff(this.sndMax, seq)) : 0;
      this.counters.bytesRetransmittedTotal += old;
      this.counters.bytesSentTotal += len - old;
    }
    this.sndNxt = Seq32.add(this.sndNxt, len + (fin ? 1 : 0));
    if (Seq32.gt(this.sndNxt, this.sndMax)) {
      if (!this.rtTiming && !zeroWindowProbe) {
        // Karn: time from the first never-sent byte, so an ACK of an earlier probe is no sample.
        this.rtTiming = true;
        this.rtSeq = retransmit ? this.sndMax : seq;
        this.rtStartNs = now;
      }
      if (zeroWindowProbe) {
        if (this.probeFrom === null) this.probeFrom = this.sndMax;
      } else {
        this.probeFrom = null;
      }
      this.sndMax = this.sndNxt;
    }
    if (this.sndNxt !== this.sndUna && this.rexmtAt === NEVER && !zeroWindowProbe) {
      this.rexmtAt = now + this.currentRtoNs;
      if (this.persistAt !== NEVER) {
        this.persistAt = NEVER;
        this.persistShift = 0;
      }
    }
    if (this.forceProbe) this.forceProbe = false;
    this.afterSend(now);
    return true;
  }

  private afterSend(now: Ns): void {
    void now;
    this.ackNow = false;
    this.delackAt = NEVER;
    this.unackedSegs = 0;
  }

  private takePeerMss(mss: number | null): void {
    const peer = mss === null || mss === 0 ? DEFAULT_PEER_MSS : mss;
    this.sndMss = Math.max(1, Math.min(peer, this.config.mss));
    this.cwnd = this.sndMss;
  }

  /** Every segment leaves through here; the window field is computed at emission. */
  private emit(s: { seq: Seq32; ack: Seq32; flags: number; payload: Uint8Array; mss: number | null }): void {
    const win = this.windowToAdvertise();
    const hasAck = (s.flags & TcpFlag.ACK) !== 0;
    this.outbox.push({
      srcPort: this.endpoints.localPort,
      dstPort: this.endpoints.remotePort,
      seq: s.seq,
      ack: hasAck ? s.ack : Seq32.from(0),
      flags: s.flags,
      window: win,
      urgentPtr: 0,
      mss: s.mss,
      payload: s.payload,
    });
    this.counters.segsOut += 1;
    if (hasAck) {
      const edge = Seq32.add(this.rcvNxt, win);
      if (Seq32.gt(edge, this.rcvAdv)) this.rcvAdv = edge;
    }
  }

  private emitRst(seq: Seq32, ack: Seq32, withAck: boolean): void {
    this.counters.rstsOut += 1;
    this.counters.segsOut += 1;
    this.outbox.push({
      srcPort: this.endpoints.localPort,
      dstPort: this.endpoints.remotePort,
      seq,
      ack: withAck ? ack : Seq32.from(0),
      flags: withAck ? TcpFlag.RST | TcpFlag.ACK : TcpFlag.RST,
      window: 0,
      urgentPtr: 0,
      mss: null,
      payload: EMPTY,
    });
  }

  private replyRstTo(seg: TcpRepr): void {
    const r = rstReplyFor(seg);
    if (r === null) return;
    this.counters.rstsOut += 1;
    this.counters.segsOut += 1;
    this.outbox.push(r);
  }

  // =====================================================================================
  // Hand-off (issue 8): export / import the TCB
  // =====================================================================================

  exportSnapshot(): TcpSnapshot {
    return {
      version: 1,
      endpoints: { ...this.endpoints },
      state: this.state,
      passive: this.passive,
      iss: this.iss, irs: this.irs,
      sndUna: this.sndUna, sndNxt: this.sndNxt, sndMax: this.sndMax, sndWnd: this.sndWnd,
      sndWl1: this.sndWl1, sndWl2: this.sndWl2, maxSndWnd: this.maxSndWnd,
      rcvNxt: this.rcvNxt, rcvAdv: this.rcvAdv, rcvUp: this.rcvUp,
      sndMss: this.sndMss, cwnd: this.cwnd, ssthresh: this.ssthresh,
      srttNs: this.srttNs, rttvarNs: this.rttvarNs, rtoNs: this.rtoNs,
      finQueued: this.finQueued, finAcked: this.finWasAcked, finReceived: this.finReceived,
      oooFinSeq: this.oooFinSeq,
      sndData: this.sndBuf.peek(0, this.sndBuf.length),
      rcvData: this.rcvBuf.peek(0, this.rcvBuf.length),
      sndBufBytes: this.sndBuf.capacity,
      rcvBufBytes: this.rcvBuf.capacity,
    };
  }

  /**
   * Rebuilds a connection from a snapshot taken on another host. Unacknowledged data is
   * retransmitted from SND.UNA (SND.NXT is pulled back), timers restart from `now`.
   */
  static fromSnapshot(now: Ns, snap: TcpSnapshot, config: TcpConfig, random: RandomSource): TcpConnection {
    invariant(snap.version === 1, 'snapshot version');
    const cfg: TcpConfig = { ...config, sndBufBytes: snap.sndBufBytes, rcvBufBytes: snap.rcvBufBytes };
    const c = new TcpConnection(cfg, random, snap.endpoints);
    c.state = snap.state;
    c.passive = snap.passive;
    c.iss = Seq32.from(snap.iss);
    c.irs = Seq32.from(snap.irs);
    c.sndUna = Seq32.from(snap.sndUna);
    c.sndMax = Seq32.from(snap.sndMax);
    c.sndNxt = Seq32.from(snap.sndNxt);
    c.sndWnd = snap.sndWnd;
    c.sndWl1 = Seq32.from(snap.sndWl1);
    c.sndWl2 = Seq32.from(snap.sndWl2);
    c.maxSndWnd = snap.maxSndWnd;
    c.rcvNxt = Seq32.from(snap.rcvNxt);
    c.rcvAdv = Seq32.from(snap.rcvAdv);
    c.rcvUp = Seq32.from(snap.rcvUp);
    c.sndMss = snap.sndMss;
    c.cwnd = snap.cwnd;
    c.ssthresh = snap.ssthresh;
    c.srttNs = snap.srttNs;
    c.rttvarNs = snap.rttvarNs;
    c.rtoNs = snap.rtoNs;
    c.finQueued = snap.finQueued;
    c.finReceived = snap.finReceived;
    c.oooFinSeq = snap.oooFinSeq === null ? null : Seq32.from(snap.oooFinSeq);
    invariant(c.sndBuf.push(snap.sndData) === snap.sndData.length, 'snapshot send data exceeds buffer');
    invariant(c.rcvBuf.push(snap.rcvData) === snap.rcvData.length, 'snapshot receive data exceeds buffer');
    c.finWasAcked = snap.finAcked;
    c.lastRecvNs = now;
    if (c.state === 'TIME-WAIT') c.closeAt = now + 2 * cfg.mslNs;
    if (c.sndNxt !== c.sndUna) c.rexmtAt = now + c.currentRtoNs;
    if (c.config.keepalive && c.isKeepaliveState()) c.keepAt = now + c.config.keepIdleNs;
    c.armPersistIfNeeded(now);
    return c;
  }
}

/**
 * The reset RFC 793 (p.36, "Reset Generation" case 1) sends for a segment that matches no
 * connection: <SEQ=SEG.ACK><CTL=RST> if it had an ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 * Returns null for an incoming RST (never answer a reset).
 */
export function rstReplyFor(seg: TcpRepr): TcpRepr | null {
  if (seg.flags & TcpFlag.RST) return null;
  const hasAck = (seg.flags & TcpFlag.ACK) !== 0;
  const segLen = seg.payload.length + (seg.flags & TcpFlag.SYN ? 1 : 0) + (seg.flags & TcpFlag.FIN ? 1 : 0);
  return {
    srcPort: seg.dstPort,
    dstPort: seg.srcPort,
    seq: hasAck ? seg.ack : Seq32.from(0),
    ack: hasAck ? Seq32.from(0) : Seq32.add(seg.seq, segLen),
    flags: hasAck ? TcpFlag.RST : TcpFlag.RST | TcpFlag.ACK,
    window: 0,
    urgentPtr: 0,
    mss: null,
    payload: EMPTY,
  };
}
