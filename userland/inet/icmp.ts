/**
 * The ICMP messages the stack uses (RFC 792): Destination Unreachable, code 3 (port unreachable),
 * sent for a UDP datagram that reached no socket (RFC 1122 §4.1.3.1: SHOULD), and received as an
 * error for the UDP socket the quoted datagram came from (RFC 1122 §4.1.3.3: MUST be passed to the
 * application; as 4.3BSD, only a connected socket gets it, as ECONNREFUSED).
 *
 * The message quotes the offending datagram's IP header and its first 8 bytes (RFC 792; RFC 1122
 * §3.2.2 allows more, 4.3BSD quotes exactly these), which hold the UDP ports.
 */
import { finish, internetChecksum, sum16 } from './checksum.ts';
import { type Ipv4Addr, type ParseResult, ok, err, readU16, readU32, writeU16 } from './result.ts';

export const ICMP_PROTOCOL = 1;
export const IcmpType = { ECHO_REPLY: 0, DEST_UNREACHABLE: 3, ECHO_REQUEST: 8 } as const;
export const IcmpUnreachCode = { NET: 0, HOST: 1, PROTOCOL: 2, PORT: 3 } as const;
/** Header (type, code, checksum, unused) before the quoted datagram. */
export const ICMP_HEADER_LEN = 8;
/** Bytes of the offending datagram quoted after its IP header. */
export const ICMP_QUOTE_DATA = 8;

/** What a Destination Unreachable quotes: the offending datagram's addresses, protocol and (for UDP/TCP) ports. */
export interface IcmpUnreachable {
  readonly code: number;
  readonly origSrc: Ipv4Addr;
  readonly origDst: Ipv4Addr;
  readonly origProtocol: number;
  readonly origSrcPort: number;
  readonly origDstPort: number;
}

/**
 * A Destination Unreachable quoting `offending` (an IPv4 datagram as received: its header, then at
 * least the first 8 bytes of its payload are quoted when present).
 */
export function icmpUnreachableMessage(code: number, offending: Uint8Array): Uint8Array {
  const ihl = ((offending[0] ?? 0x45) & 0x0f) * 4;
  const quote = offending.subarray(0, Math.min(offending.length, ihl + ICMP_QUOTE_DATA));
  const m = new Uint8Array(ICMP_HEADER_LEN + quote.length);
  m[0] = IcmpType.DEST_UNREACHABLE;
  m[1] = code & 0xff;
  m.set(quote, ICMP_HEADER_LEN);
  writeU16(m, 2, internetChecksum(m));
  return m;
}

/** Parses an ICMP message; only Destination Unreachable with a quoted IPv4 header + 8 bytes is returned (others: an error naming the type). */
export function parseIcmpUnreachable(buf: Uint8Array): ParseResult<IcmpUnreachable> {
  if (buf.length < ICMP_HEADER_LEN) return err(`icmp: ${buf.length} bytes < ${ICMP_HEADER_LEN}`);
  if (finish(sum16(buf, 0, buf.length)) !== 0) return err('icmp: bad checksum');
  if (buf[0] !== IcmpType.DEST_UNREACHABLE) return err(`icmp: type ${buf[0]}`);
  const q = buf.subarray(ICMP_HEADER_LEN);
  if (q.length < 20 || (q[0]! >>> 4) !== 4) return err('icmp: no quoted IPv4 header');
  const ihl = (q[0]! & 0x0f) * 4;
  if (ihl < 20 || q.length < ihl + 4) return err('icmp: quoted datagram too short');
  return ok({
    code: buf[1]!, origSrc: readU32(q, 12), origDst: readU32(q, 16), origProtocol: q[9]!,
    origSrcPort: readU16(q, ihl), origDstPort: readU16(q, ihl + 2),
  });
}
