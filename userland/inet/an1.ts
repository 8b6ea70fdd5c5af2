/**
 * The AN1 link header as proposed in ../shared/hw/an1-autonet.md §8.4 (20 bytes, so the IP header
 * that follows is 4-byte aligned; the 4-byte CRC is added/stripped by hardware and never seen here):
 *   0 DST_SHORT(2)  2 DST_BQI(2)  4 DST_UID(6)  10 SRC_UID(6)  16 TYPE(2)  18 SPARE(2)
 * SPARE carries, during the TCP handshake, the BQI the sender wants to receive on (paper §3.4).
 */
import { type MacAddr, type ParseResult, ok, err, readMac, readU16, writeMac, writeU16 } from './result.ts';

export const AN1_HEADER_LEN = 20;

export interface An1Repr {
  readonly dstShort: number;
  readonly dstBqi: number;
  readonly dst: MacAddr;
  readonly src: MacAddr;
  readonly etherType: number;
  readonly spare: number;
  readonly payload: Uint8Array;
}

export class An1View {
  private constructor(readonly buf: Uint8Array) {}
  static check(buf: Uint8Array): ParseResult<An1View> {
    if (buf.length < AN1_HEADER_LEN) return err(`an1: ${buf.length} bytes < header ${AN1_HEADER_LEN}`);
    return ok(new An1View(buf));
  }
  get dstShort(): number { return readU16(this.buf, 0); }
  get dstBqi(): number { return readU16(this.buf, 2); }
  get dst(): MacAddr { return readMac(this.buf, 4); }
  get src(): MacAddr { return readMac(this.buf, 10); }
  get etherType(): number { return readU16(this.buf, 16); }
  get spare(): number { return readU16(this.buf, 18); }
  get payload(): Uint8Array { return this.buf.subarray(AN1_HEADER_LEN); }
}

export function parseAn1(buf: Uint8Array): ParseResult<An1Repr> {
  const v = An1View.check(buf);
  if (!v.ok) return v;
  const h = v.value;
  return ok({
    dstShort: h.dstShort, dstBqi: h.dstBqi, dst: h.dst, src: h.src,
    etherType: h.etherType, spare: h.spare, payload: h.payload,
  });
}

export function an1BufferLen(r: An1Repr): number {
  return AN1_HEADER_LEN + r.payload.length;
}

export type An1Header = Omit<An1Repr, 'payload'>;

export function emitAn1Header(h: An1Header, buf: Uint8Array, off: number): void {
  writeU16(buf, off, h.dstShort);
  writeU16(buf, off + 2, h.dstBqi);
  writeMac(buf, off + 4, h.dst);
  writeMac(buf, off + 10, h.src);
  writeU16(buf, off + 16, h.etherType);
  writeU16(buf, off + 18, h.spare);
}

export function emitAn1(r: An1Repr, buf: Uint8Array, off = 0): number {
  emitAn1Header(r, buf, off);
  buf.set(r.payload, off + AN1_HEADER_LEN);
  return an1BufferLen(r);
}
