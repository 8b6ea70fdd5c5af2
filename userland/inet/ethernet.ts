/**
 * Ethernet II framing (DIX): dst(6) src(6) type(2) payload. No FCS: the LANCE strips/appends it,
 * and TAP/pcap frames carry none. `emit` does not pad to 60 bytes (the driver/device pads);
 * upper layers therefore take their length from their own headers, never from the frame length.
 */
import { type MacAddr, type ParseResult, ok, err, readMac, readU16, writeMac, writeU16 } from './result.ts';

export const ETHERNET_HEADER_LEN = 14;
export const EtherType = { IPV4: 0x0800, ARP: 0x0806 } as const;

export interface EthernetRepr {
  readonly dst: MacAddr;
  readonly src: MacAddr;
  readonly etherType: number;
  readonly payload: Uint8Array;
}

/** Zero-copy accessors over a buffer already length-checked by `EthernetView.check`. */
export class EthernetView {
  private constructor(readonly buf: Uint8Array) {}
  static check(buf: Uint8Array): ParseResult<EthernetView> {
    if (buf.length < ETHERNET_HEADER_LEN) return err(`ethernet: ${buf.length} bytes < header ${ETHERNET_HEADER_LEN}`);
    return ok(new EthernetView(buf));
  }
  get dst(): MacAddr { return readMac(this.buf, 0); }
  get src(): MacAddr { return readMac(this.buf, 6); }
  get etherType(): number { return readU16(this.buf, 12); }
  get payload(): Uint8Array { return this.buf.subarray(ETHERNET_HEADER_LEN); }
}

export function parseEthernet(buf: Uint8Array): ParseResult<EthernetRepr> {
  const v = EthernetView.check(buf);
  if (!v.ok) return v;
  const e = v.value;
  return ok({ dst: e.dst, src: e.src, etherType: e.etherType, payload: e.payload });
}

export function ethernetBufferLen(r: EthernetRepr): number {
  return ETHERNET_HEADER_LEN + r.payload.length;
}

export function emitEthernetHeader(dst: MacAddr, src: MacAddr, etherType: number, buf: Uint8Array, off: number): void {
  writeMac(buf, off, dst);
  writeMac(buf, off + 6, src);
  writeU16(buf, off + 12, etherType);
}

/** Writes exactly `ethernetBufferLen(r)` bytes at `off`; returns that count. */
export function emitEthernet(r: EthernetRepr, buf: Uint8Array, off = 0): number {
  emitEthernetHeader(r.dst, r.src, r.etherType, buf, off);
  buf.set(r.payload, off + ETHERNET_HEADER_LEN);
  return ethernetBufferLen(r);
}
