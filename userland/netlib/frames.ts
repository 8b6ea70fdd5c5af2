/** Building one TCP frame outside a connection (the registry server's probe before an RST). */
import { emitAn1Header, emitEthernetHeader, emitIpv4Header, emitTcp, tcpBufferLen, type TcpRepr } from '../inet/index.ts';

export interface FrameAddrs {
  readonly link: 'ethernet' | 'an1';
  readonly srcMac: number;
  readonly dstMac: number;
  readonly srcIp: number;
  readonly dstIp: number;
  readonly dstBqi?: number;
}

export function tcpFrame(a: FrameAddrs, seg: TcpRepr): Uint8Array {
  const l = a.link === 'ethernet' ? 14 : 20;
  const tcpLen = tcpBufferLen(seg);
  const f = new Uint8Array(l + 20 + tcpLen);
  if (a.link === 'ethernet') emitEthernetHeader(a.dstMac, a.srcMac, 0x0800, f, 0);
  else emitAn1Header({ dstShort: 0, dstBqi: a.dstBqi ?? 0, dst: a.dstMac, src: a.srcMac, etherType: 0x0800, spare: 0 }, f, 0);
  emitIpv4Header({ tos: 0, identification: 0, dontFragment: true, moreFragments: false, fragmentOffset8: 0, ttl: 64, protocol: 6, src: a.srcIp, dst: a.dstIp }, tcpLen, f, l);
  emitTcp(seg, f, l + 20, a.srcIp, a.dstIp);
  return f;
}

/** The TCP 4-tuple and flags of an IPv4/TCP frame (no options checked), or undefined. */
export function tcpTuple(link: 'ethernet' | 'an1', f: Uint8Array): { srcIp: number; dstIp: number; srcPort: number; dstPort: number; flags: number; spare: number } | undefined {
  const l = link === 'ethernet' ? 14 : 20;
  const type = (f[l - (link === 'ethernet' ? 2 : 4)]! << 8) | f[l - (link === 'ethernet' ? 1 : 3)]!;
  if (type !== 0x0800 || f.length < l + 40 || f[l + 9] !== 6) return undefined;
  const ihl = (f[l]! & 0x0f) * 4;
  const t = l + ihl;
  if (f.length < t + 14) return undefined;
  const u32 = (o: number): number => ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
  return {
    srcIp: u32(l + 12),
    dstIp: u32(l + 16),
    srcPort: (f[t]! << 8) | f[t + 1]!,
    dstPort: (f[t + 2]! << 8) | f[t + 3]!,
    flags: f[t + 13]!,
    spare: link === 'an1' ? (f[18]! << 8) | f[19]! : 0,
  };
}

/** A deterministic RandomSource for a guest (xorshift32), seeded from its parameters. */
export function xorshift(seed: number): { nextU32(): number } {
  let x = seed >>> 0 || 0x9e3779b9;
  return {
    nextU32() {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x;
    },
  };
}
