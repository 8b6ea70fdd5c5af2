/**
 * UDP datagram format (RFC 768). The checksum covers the RFC 768 pseudo-header (source, destination,
 * zero, protocol 17, UDP length), so parse and emit take the IP addresses. RFC 1122 §4.1.3.4: a
 * sender computes the checksum (we always do; a computed 0 is sent as 0xFFFF, RFC 768's "all
 * ones" rule, since an all-zero field means "no checksum"), and a receiver verifies it when it is
 * not zero and silently discards a datagram whose checksum is wrong.
 */
import { finish, pseudoHeaderSum, sum16 } from './checksum.ts';
import { type Ipv4Addr, type ParseResult, ok, err, readU16, writeU16 } from './result.ts';

export const UDP_HEADER_LEN = 8;
export const UDP_PROTOCOL = 17;

export interface UdpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

export interface UdpParseOptions {
  readonly verifyChecksum?: boolean;
}

export class UdpView {
  private constructor(readonly buf: Uint8Array) {}
  /**
   * Checks the length field (8 ≤ length ≤ the IP payload; bytes past it are ignored, RFC 768) and,
   * unless the field is 0 (the sender computed none), the checksum over exactly `length` bytes.
   */
  static check(buf: Uint8Array, src: Ipv4Addr, dst: Ipv4Addr, opts: UdpParseOptions = {}): ParseResult<UdpView> {
    if (buf.length < UDP_HEADER_LEN) return err(`udp: ${buf.length} bytes < ${UDP_HEADER_LEN}`);
    const len = readU16(buf, 4);
    if (len < UDP_HEADER_LEN) return err(`udp: length ${len} < 8`);
    if (len > buf.length) return err(`udp: length ${len} > datagram ${buf.length}`);
    const v = new UdpView(buf.subarray(0, len));
    if (opts.verifyChecksum !== false && v.checksum !== 0) {
      const s = sum16(buf, 0, len, pseudoHeaderSum(src, dst, UDP_PROTOCOL, len));
      if (finish(s) !== 0) return err('udp: bad checksum');
    }
    return ok(v);
  }
  get srcPort(): number { return readU16(this.buf, 0); }
  get dstPort(): number { return readU16(this.buf, 2); }
  get length(): number { return readU16(this.buf, 4); }
  get checksum(): number { return readU16(this.buf, 6); }
  get payload(): Uint8Array { return this.buf.subarray(UDP_HEADER_LEN); }
}

export function parseUdp(buf: Uint8Array, src: Ipv4Addr, dst: Ipv4Addr, opts: UdpParseOptions = {}): ParseResult<UdpRepr> {
  const r = UdpView.check(buf, src, dst, opts);
  if (!r.ok) return r;
  const v = r.value;
  return ok({ srcPort: v.srcPort, dstPort: v.dstPort, payload: v.payload });
}

export function udpBufferLen(r: UdpRepr): number {
  return UDP_HEADER_LEN + r.payload.length;
}

/**
 * Writes the datagram at `off` with its checksum (a computed 0 goes out as 0xFFFF). `checksum:
 * false` sends the field as 0 (no checksum: allowed by RFC 768, a MAY-NOT-default of RFC 1122).
 */
export function emitUdp(r: UdpRepr, buf: Uint8Array, off: number, src: Ipv4Addr, dst: Ipv4Addr, opts: { readonly checksum?: boolean } = {}): number {
  const len = udpBufferLen(r);
  writeU16(buf, off, r.srcPort);
  writeU16(buf, off + 2, r.dstPort);
  writeU16(buf, off + 4, len);
  writeU16(buf, off + 6, 0);
  buf.set(r.payload, off + UDP_HEADER_LEN);
  if (opts.checksum !== false) {
    const c = finish(sum16(buf, off, off + len, pseudoHeaderSum(src, dst, UDP_PROTOCOL, len)));
    writeU16(buf, off + 6, c === 0 ? 0xffff : c);
  }
  return len;
}
