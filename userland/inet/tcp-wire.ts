/**
 * TCP segment format (RFC 793 §3.1). The checksum covers the RFC 793 pseudo-header, so parse and
 * emit take the IP source and destination. Options: MSS (kind 2, RFC 793/RFC 6691) is parsed and
 * emitted; END and NOP are honoured; every other option is skipped by its length byte; a malformed
 * option list ends option parsing (the segment is still accepted, like most stacks).
 */
import { finish, pseudoHeaderSum, sum16 } from './checksum.ts';
import { type Ipv4Addr, type ParseResult, ok, err, readU16, readU32, writeU16, writeU32 } from './result.ts';
import { Seq32 } from './seq32.ts';

export const TCP_HEADER_LEN = 20;
export const TCP_PROTOCOL = 6;

/** Control bits, low six bits of byte 13 (RFC 793). ECE/CWR are not used and read as 0. */
export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

export interface TcpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: Seq32;
  readonly ack: Seq32;
  /** Bitwise OR of TcpFlag values. */
  readonly flags: number;
  readonly window: number;
  readonly urgentPtr: number;
  /** MSS option value, or null when absent. */
  readonly mss: number | null;
  readonly payload: Uint8Array;
}

export interface TcpParseOptions {
  readonly verifyChecksum?: boolean;
}

export class TcpView {
  private constructor(readonly buf: Uint8Array) {}
  static check(buf: Uint8Array, src: Ipv4Addr, dst: Ipv4Addr, opts: TcpParseOptions = {}): ParseResult<TcpView> {
    if (buf.length < TCP_HEADER_LEN) return err(`tcp: ${buf.length} bytes < ${TCP_HEADER_LEN}`);
    const v = new TcpView(buf);
    const hl = v.headerLen;
    if (hl < TCP_HEADER_LEN) return err(`tcp: data offset ${hl} < 20`);
    if (hl > buf.length) return err(`tcp: data offset ${hl} > segment ${buf.length}`);
    if (opts.verifyChecksum !== false) {
      const s = sum16(buf, 0, buf.length, pseudoHeaderSum(src, dst, TCP_PROTOCOL, buf.length));
      if (finish(s) !== 0) return err('tcp: bad checksum');
    }
    return ok(v);
  }
  get srcPort(): number { return readU16(this.buf, 0); }
  get dstPort(): number { return readU16(this.buf, 2); }
  get seq(): Seq32 { return readU32(this.buf, 4) as Seq32; }
  get ack(): Seq32 { return readU32(this.buf, 8) as Seq32; }
  get headerLen(): number { return ((this.buf[12] ?? 0) >>> 4) * 4; }
  get flags(): number { return (this.buf[13] ?? 0) & 0x3f; }
  get window(): number { return readU16(this.buf, 14); }
  get checksum(): number { return readU16(this.buf, 16); }
  get urgentPtr(): number { return readU16(this.buf, 18); }
  get payload(): Uint8Array { return this.buf.subarray(this.headerLen); }
  /** The MSS option if present and well formed, else null. Never reads past the header. */
  get mss(): number | null {
    const end = this.headerLen;
    let i = TCP_HEADER_LEN;
    while (i < end) {
      const kind = this.buf[i] ?? 0;
      if (kind === 0) return null; // END
      if (kind === 1) { i += 1; continue; } // NOP
      if (i + 1 >= end) return null;
      const len = this.buf[i + 1] ?? 0;
      if (len < 2 || i + len > end) return null; // malformed: stop parsing options
      if (kind === 2 && len === 4) return readU16(this.buf, i + 2);
      i += len;
    }
    return null;
  }
}

export function parseTcp(buf: Uint8Array, src: Ipv4Addr, dst: Ipv4Addr, opts: TcpParseOptions = {}): ParseResult<TcpRepr> {
  const r = TcpView.check(buf, src, dst, opts);
  if (!r.ok) return r;
  const v = r.value;
  return ok({
    srcPort: v.srcPort, dstPort: v.dstPort, seq: v.seq, ack: v.ack, flags: v.flags,
    window: v.window, urgentPtr: v.urgentPtr, mss: v.mss, payload: v.payload,
  });
}

export function tcpHeaderLen(r: Pick<TcpRepr, 'mss'>): number {
  return TCP_HEADER_LEN + (r.mss === null ? 0 : 4);
}

export function tcpBufferLen(r: TcpRepr): number {
  return tcpHeaderLen(r) + r.payload.length;
}

/** Writes exactly `tcpBufferLen(r)` bytes at `off`, checksum over the pseudo-header included. */
export function emitTcp(r: TcpRepr, buf: Uint8Array, off: number, src: Ipv4Addr, dst: Ipv4Addr): number {
  const hl = tcpHeaderLen(r);
  const total = hl + r.payload.length;
  writeU16(buf, off, r.srcPort);
  writeU16(buf, off + 2, r.dstPort);
  writeU32(buf, off + 4, r.seq);
  writeU32(buf, off + 8, r.ack);
  buf[off + 12] = (hl / 4) << 4;
  buf[off + 13] = r.flags & 0x3f;
  writeU16(buf, off + 14, r.window);
  writeU16(buf, off + 16, 0);
  writeU16(buf, off + 18, r.urgentPtr);
  if (r.mss !== null) {
    buf[off + 20] = 2;
    buf[off + 21] = 4;
    writeU16(buf, off + 22, r.mss);
  }
  buf.set(r.payload, off + hl);
  const s = sum16(buf, off, off + total, pseudoHeaderSum(src, dst, TCP_PROTOCOL, total));
  writeU16(buf, off + 16, finish(s));
  return total;
}

/** Sequence space a segment occupies: data plus one for SYN and one for FIN (RFC 793 §3.3). */
export function segmentSeqLen(r: Pick<TcpRepr, 'flags' | 'payload'>): number {
  return r.payload.length + (r.flags & TcpFlag.SYN ? 1 : 0) + (r.flags & TcpFlag.FIN ? 1 : 0);
}

export function flagsToString(flags: number): string {
  const names: string[] = [];
  for (const [k, v] of Object.entries(TcpFlag)) if (flags & v) names.push(k);
  return names.join('|') || '-';
}

export { Seq32 };
