/**
 * ARP for IPv4 over Ethernet-style 48-bit addresses (RFC 826). Only htype 1 / ptype 0x0800 /
 * hlen 6 / plen 4 is accepted; anything else is a parse error, not an exception.
 */
import {
  type Ipv4Addr, type MacAddr, type ParseResult, ok, err,
  readMac, readU16, readU32, writeMac, writeU16, writeU32,
} from './result.ts';

export const ARP_LEN = 28;
export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;
export type ArpOperation = (typeof ArpOp)[keyof typeof ArpOp];

export interface ArpRepr {
  readonly op: ArpOperation;
  readonly senderMac: MacAddr;
  readonly senderIp: Ipv4Addr;
  readonly targetMac: MacAddr;
  readonly targetIp: Ipv4Addr;
}

export class ArpView {
  private constructor(readonly buf: Uint8Array) {}
  static check(buf: Uint8Array): ParseResult<ArpView> {
    if (buf.length < ARP_LEN) return err(`arp: ${buf.length} bytes < ${ARP_LEN}`);
    const v = new ArpView(buf);
    if (v.htype !== 1) return err(`arp: htype ${v.htype} != 1`);
    if (v.ptype !== 0x0800) return err(`arp: ptype ${v.ptype} != 0x0800`);
    if (v.hlen !== 6 || v.plen !== 4) return err(`arp: hlen/plen ${v.hlen}/${v.plen}`);
    if (v.op !== ArpOp.REQUEST && v.op !== ArpOp.REPLY) return err(`arp: op ${v.op}`);
    return ok(v);
  }
  get htype(): number { return readU16(this.buf, 0); }
  get ptype(): number { return readU16(this.buf, 2); }
  get hlen(): number { return this.buf[4] ?? 0; }
  get plen(): number { return this.buf[5] ?? 0; }
  get op(): number { return readU16(this.buf, 6); }
  get senderMac(): MacAddr { return readMac(this.buf, 8); }
  get senderIp(): Ipv4Addr { return readU32(this.buf, 14); }
  get targetMac(): MacAddr { return readMac(this.buf, 18); }
  get targetIp(): Ipv4Addr { return readU32(this.buf, 24); }
}

export function parseArp(buf: Uint8Array): ParseResult<ArpRepr> {
  const v = ArpView.check(buf);
  if (!v.ok) return v;
  const a = v.value;
  return ok({
    op: a.op as ArpOperation, senderMac: a.senderMac, senderIp: a.senderIp,
    targetMac: a.targetMac, targetIp: a.targetIp,
  });
}

export function arpBufferLen(_r: ArpRepr): number {
  return ARP_LEN;
}

export function emitArp(r: ArpRepr, buf: Uint8Array, off = 0): number {
  writeU16(buf, off, 1);
  writeU16(buf, off + 2, 0x0800);
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  writeU16(buf, off + 6, r.op);
  writeMac(buf, off + 8, r.senderMac);
  writeU32(buf, off + 14, r.senderIp);
  writeMac(buf, off + 18, r.targetMac);
  writeU32(buf, off + 24, r.targetIp);
  return ARP_LEN;
}
