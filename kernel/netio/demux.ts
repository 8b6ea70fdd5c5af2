/**
 * Software demultiplexing of inbound Ethernet frames (paper §2.2, §3.4): the frame's Ethernet,
 * IP and TCP fields are turned into a key and looked up among the installed keys with one hash
 * lookup — no scan over channels. Keys:
 * - TCP over IPv4 (unfragmented, no IP options needed): (remote IP, local IP, remote port,
 *   local port) as they appear in the arriving packet (src = remote).
 * - Raw Ethernet channels (Table 1): (EtherType, source MAC).
 * IP fragments are not demultiplexed, as in the paper ("does not demultiplex fragmented IP
 * packets"): they go to the default channel.
 */
import { ETHERNET_HEADER_BYTES, ETHERTYPE_IPV4, IPPROTO_TCP } from './template.ts';

/** Header bytes the classifier needs: Ethernet + IPv4 (max options) + the TCP ports. */
export const DEMUX_HEADER_BYTES = ETHERNET_HEADER_BYTES + 60 + 4;

export type DemuxClass = 'tcp' | 'raw' | 'ip-fragment' | 'ip-other' | 'short';

export interface Classified {
  readonly cls: DemuxClass;
  /** The lookup key, '' when the frame cannot be demultiplexed. */
  readonly key: string;
}

const hex2 = (b: number): string => (b < 16 ? '0' : '') + b.toString(16);

export function tcpKey(remoteIp: number, localIp: number, remotePort: number, localPort: number): string {
  return `t${remoteIp >>> 0}:${localIp >>> 0}:${remotePort}:${localPort}`;
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
  if (h[ip + 9] !== IPPROTO_TCP) return { cls: 'ip-other', key: '' };
  const tcp = ip + ihl;
  if (length < tcp + 4 || h.length < tcp + 4) return { cls: 'short', key: '' };
  const src = ((h[ip + 12]! << 24) | (h[ip + 13]! << 16) | (h[ip + 14]! << 8) | h[ip + 15]!) >>> 0;
  const dst = ((h[ip + 16]! << 24) | (h[ip + 17]! << 16) | (h[ip + 18]! << 8) | h[ip + 19]!) >>> 0;
  const sport = (h[tcp]! << 8) | h[tcp + 1]!;
  const dport = (h[tcp + 2]! << 8) | h[tcp + 3]!;
  return { cls: 'tcp', key: tcpKey(src, dst, sport, dport) };
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
