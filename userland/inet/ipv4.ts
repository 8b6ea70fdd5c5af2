/**
 * IPv4 (RFC 791). Parse checks version, IHL, total length and the header checksum; options are
 * skipped (never interpreted). Emit always writes a 20-byte header (IHL 5) with its checksum.
 * Fragments are parsed faithfully here; the stack refuses them and counts them (docs/tcp-engine.md).
 */
import { internetChecksum } from './checksum.ts';
import { type Ipv4Addr, type ParseResult, ok, err, readU16, readU32, writeU16, writeU32 } from './result.ts';

export const IPV4_HEADER_LEN = 20;
export const IpProtocol = { ICMP: 1, TCP: 6, UDP: 17 } as const;

export interface Ipv4Repr {
  readonly tos: number;
  readonly identification: number;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  /** Fragment offset in 8-byte units, as on the wire (0..8191). */
  readonly fragmentOffset8: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly src: Ipv4Addr;
  readonly dst: Ipv4Addr;
  readonly payload: Uint8Array;
}

export interface Ipv4ParseOptions {
  readonly verifyChecksum?: boolean;
}

export class Ipv4View {
  private constructor(readonly buf: Uint8Array) {}
  static check(buf: Uint8Array, opts: Ipv4ParseOptions = {}): ParseResult<Ipv4View> {
    if (buf.length < IPV4_HEADER_LEN) return err(`ipv4: ${buf.length} bytes < ${IPV4_HEADER_LEN}`);
    const v = new Ipv4View(buf);
    if (v.version !== 4) return err(`ipv4: version ${v.version}`);
    const hl = v.headerLen;
    if (hl < IPV4_HEADER_LEN) return err(`ipv4: IHL ${hl} < 20`);
    if (v.totalLength < hl) return err(`ipv4: total length ${v.totalLength} < header ${hl}`);
    if (v.totalLength > buf.length) return err(`ipv4: total length ${v.totalLength} > buffer ${buf.length}`);
    if (opts.verifyChecksum !== false && internetChecksum(buf, 0, hl) !== 0) return err('ipv4: bad header checksum');
    return ok(v);
  }
  get version(): number { return (this.buf[0] ?? 0) >>> 4; }
  get headerLen(): number { return ((this.buf[0] ?? 0) & 0x0f) * 4; }
  get tos(): number { return this.buf[1] ?? 0; }
  get totalLength(): number { return readU16(this.buf, 2); }
  get identification(): number { return readU16(this.buf, 4); }
  get dontFragment(): boolean { return ((this.buf[6] ?? 0) & 0x40) !== 0; }
  get moreFragments(): boolean { return ((this.buf[6] ?? 0) & 0x20) !== 0; }
  get fragmentOffset8(): number { return readU16(this.buf, 6) & 0x1fff; }
  get ttl(): number { return this.buf[8] ?? 0; }
  get protocol(): number { return this.buf[9] ?? 0; }
  get checksum(): number { return readU16(this.buf, 10); }
  get src(): Ipv4Addr { return readU32(this.buf, 12); }
  get dst(): Ipv4Addr { return readU32(this.buf, 16); }
  get payload(): Uint8Array { return this.buf.subarray(this.headerLen, this.totalLength); }
  get isFragment(): boolean { return this.moreFragments || this.fragmentOffset8 !== 0; }
}

export function parseIpv4(buf: Uint8Array, opts: Ipv4ParseOptions = {}): ParseResult<Ipv4Repr> {
  const r = Ipv4View.check(buf, opts);
  if (!r.ok) return r;
  const v = r.value;
  return ok({
    tos: v.tos, identification: v.identification, dontFragment: v.dontFragment,
    moreFragments: v.moreFragments, fragmentOffset8: v.fragmentOffset8, ttl: v.ttl,
    protocol: v.protocol, src: v.src, dst: v.dst, payload: v.payload,
  });
}

export function ipv4BufferLen(r: Ipv4Repr): number {
  return IPV4_HEADER_LEN + r.payload.length;
}

export type Ipv4Header = Omit<Ipv4Repr, 'payload'>;

/** Writes the 20-byte header for a payload of `payloadLen` bytes, checksum included. */
export function emitIpv4Header(h: Ipv4Header, payloadLen: number, buf: Uint8Array, off: number): void {
  buf[off] = 0x45;
  buf[off + 1] = h.tos & 0xff;
  writeU16(buf, off + 2, IPV4_HEADER_LEN + payloadLen);
  writeU16(buf, off + 4, h.identification);
  writeU16(buf, off + 6, (h.dontFragment ? 0x4000 : 0) | (h.moreFragments ? 0x2000 : 0) | (h.fragmentOffset8 & 0x1fff));
  buf[off + 8] = h.ttl & 0xff;
  buf[off + 9] = h.protocol & 0xff;
  writeU16(buf, off + 10, 0);
  writeU32(buf, off + 12, h.src);
  writeU32(buf, off + 16, h.dst);
  writeU16(buf, off + 10, internetChecksum(buf, off, off + IPV4_HEADER_LEN));
}

export function emitIpv4(r: Ipv4Repr, buf: Uint8Array, off = 0): number {
  emitIpv4Header(r, r.payload.length, buf, off);
  buf.set(r.payload, off + IPV4_HEADER_LEN);
  return ipv4BufferLen(r);
}
