/**
 * Software demultiplexing of inbound Ethernet frames (paper §2.2, §3.4): the frame's Ethernet,
 * IP and TCP fields are turned into a key and looked up among the installed keys with one hash
 * lookup — no scan over channels. Keys:
 * - TCP over IPv4 (unfragmented, no IP options needed): (remote IP, local IP, remote port,
 *   local port) as they appear in the arriving packet (src = remote).
 * - Raw Ethernet channels (Table 1): (EtherType, source MAC).
 * - UDP over IPv4: the 4-tuple first (a connected socket's channel), then (local IP, local port)
 *   (a bound socket's channel): two lookups at most. An ICMP destination unreachable quoting a
 *   UDP datagram is looked up by the quoted 4-tuple (local = the quoted source): it reaches the
 *   connected socket's channel (4.3BSD udp_ctlinput), or the default channel.
 * (AN1 UDP channels get their frames by BQI: the peer names the BQI the registry bound, or one
 * discovered from a datagram's link header; docs/netio.md.)
 * IP fragments are not demultiplexed, as in the paper ("does not demultiplex fragmented IP
 * packets"): they go to the default channel.
 */
import { ETHERNET_HEADER_BYTES, ETHERTYPE_IPV4, IPPROTO_TCP } from './template.ts';

const IPPROTO_UDP = 17;
const IPPROTO_ICMP = 1;

/** Header bytes the classifier needs: Ethernet + IPv4 (max options) + the TCP ports. */
export const DEMUX_HEADER_BYTES = ETHERNET_HEADER_BYTES + 60 + 4;

export type DemuxClass = 'tcp' | 'udp' | 'icmp' | 'raw' | 'ip-fragment' | 'ip-other' | 'short';

export interface Classified {
  readonly cls: DemuxClass;
  /** The lookup key, '' when the frame cannot be demultiplexed. */
  readonly key: string;
  /** UDP: the bound-port key, looked up when the 4-tuple key finds nothing. */
  readonly key2?: string;
}

/** Bytes an ICMP destination unreachable needs for its quoted UDP ports (Ethernet, no options in either IP header). */
export const DEMUX_ICMP_BYTES = ETHERNET_HEADER_BYTES + 20 + 8 + 20 + 4;

const hex2 = (b: number): string => (b < 16 ? '0' : '') + b.toString(16);

export function tcpKey(remoteIp: number, localIp: number, remotePort: number, localPort: number): string {
  return `t${remoteIp >>> 0}:${localIp >>> 0}:${remotePort}:${localPort}`;
}
export function udpKey(remoteIp: number, localIp: number, remotePort: number, localPort: number, prefix = ''): string {
  return `${prefix}u${remoteIp >>> 0}:${localIp >>> 0}:${remotePort}:${localPort}`;
}
export function udpBoundKey(localIp: number, localPort: number, prefix = ''): string {
  return `${prefix}b${localIp >>> 0}:${localPort}`;
}
export function rawKey(etherType: number, srcMac: Uint8Array): string {
  let s = `r${etherType}:`;
  for (let i = 0; i < 6; i++) s += hex2(srcMac[i] ?? 0);
  return s;
}

/** Classify a frame from its first bytes (`h`, at least as many as arrived, up to DEMUX_HEADER_BYTES). */
export function classify(h: Uint8Array, length: number): Classified {
  if (length < ETHERNET_HEADER_BYTES) return { cls: 'short', key: '' };
  const etherType = (h[12]! << 8) | h[13]!;
  if (etherType !== ETHERTYPE_IPV4) return { cls: 'raw', key: rawKey(etherType, h.subarray(6, 12)) };
  const ip = ETHERNET_HEADER_BYTES;
  if (length < ip + 20) return { cls: 'short', key: '' };
  const ihl = (h[ip]! & 0x0f) * 4;
  if (h[ip]! >>> 4 !== 4 || ihl < 20) return { cls: 'ip-other', key: '' };
  const fragment = ((h[ip + 6]! & 0x3f) << 8) | h[ip + 7]!; // MF bit + fragment offset
  if (fragment !== 0) return { cls: 'ip-fragment', key: '' };
  if (h[ip + 9] === IPPROTO_UDP || h[ip + 9] === IPPROTO_ICMP) return classifyUdp(h, length, ip, '');
  if (h[ip + 9] !== IPPROTO_TCP) return { cls: 'ip-other', key: '' };
  const tcp = ip + ihl;
  if (length < tcp + 4 || h.length < tcp + 4) return { cls: 'short', key: '' };
  const src = ((h[ip + 12]! << 24) | (h[ip + 13]! << 16) | (h[ip + 14]! << 8) | h[ip + 15]!) >>> 0;
  const dst = ((h[ip + 16]! << 24) | (h[ip + 17]! << 16) | (h[ip + 18]! << 8) | h[ip + 19]!) >>> 0;
  const sport = (h[tcp]! << 8) | h[tcp + 1]!;
  const dport = (h[tcp + 2]! << 8) | h[tcp + 3]!;
  return { cls: 'tcp', key: tcpKey(src, dst, sport, dport) };
}

const u32At = (h: Uint8Array, o: number): number => ((h[o]! << 24) | (h[o + 1]! << 16) | (h[o + 2]! << 8) | h[o + 3]!) >>> 0;

/** UDP, or ICMP quoting UDP, after the IPv4 header at `ip` (checked: version 4, unfragmented). */
function classifyUdp(h: Uint8Array, length: number, ip: number, prefix: string): Classified {
  const ihl = (h[ip]! & 0x0f) * 4;
  const l4 = ip + ihl;
  const src = u32At(h, ip + 12);
  const dst = u32At(h, ip + 16);
  if (h[ip + 9] === IPPROTO_UDP) {
    if (length < l4 + 4 || h.length < l4 + 4) return { cls: 'short', key: '' };
    const sport = (h[l4]! << 8) | h[l4 + 1]!;
    const dport = (h[l4 + 2]! << 8) | h[l4 + 3]!;
    return { cls: 'udp', key: udpKey(src, dst, sport, dport, prefix), key2: udpBoundKey(dst, dport, prefix) };
  }
  // ICMP type 3 (destination unreachable) quoting a UDP datagram we sent: quoted src = us.
  const q = l4 + 8;
  if (length < q + 20 || h.length < q + 20 || h[l4] !== 3 || h[q]! >>> 4 !== 4 || h[q + 9] !== IPPROTO_UDP) return { cls: 'ip-other', key: '' };
  const qp = q + (h[q]! & 0x0f) * 4;
  if (length < qp + 4 || h.length < qp + 4) return { cls: 'ip-other', key: '' };
  return { cls: 'icmp', key: udpKey(u32At(h, q + 16), u32At(h, q + 12), (h[qp + 2]! << 8) | h[qp + 3]!, (h[qp]! << 8) | h[qp + 1]!, prefix) };
}

/** The installed keys: key → channel id. One hash lookup per frame. */
export class DemuxTable<T> {
  private readonly byKey = new Map<string, T>();

  get size(): number {
    return this.byKey.size;
  }
  install(key: string, value: T): boolean {
    if (this.byKey.has(key)) return false;
    this.byKey.set(key, value);
    return true;
  }
  remove(key: string): void {
    this.byKey.delete(key);
  }
  lookup(key: string): T | undefined {
    return key === '' ? undefined : this.byKey.get(key);
  }
}
