/**
 * The channel spec the registry server asks for, for one TCP connection (P §3.4): the header
 * template every frame the library sends must carry (link addresses and type — on AN1 also the
 * peer's BQI —, IPv4 version/IHL, protocol, addresses, TCP ports) and the inbound binding (the
 * TCP 4-tuple on Ethernet; a reserved BQI on AN1).
 */
import { encodeChannelSpec, type NetioChannelSpec } from '../../kernel/abi/netio.ts';

export interface ConnEndpoints {
  readonly link: 'ethernet' | 'an1';
  readonly localMac: number;
  readonly peerMac: number;
  readonly localIp: number;
  readonly peerIp: number;
  readonly localPort: number;
  readonly peerPort: number;
  /** AN1: the peer's BQI (DST_BQI of every frame we send) and our reserved BQI. */
  readonly peerBqi?: number;
  readonly bqi?: number;
}

const mac6 = (m: number): Uint8Array => {
  const out = new Uint8Array(6);
  let v = m;
  for (let i = 5; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
};
const u16 = (v: number): Uint8Array => Uint8Array.of((v >>> 8) & 0xff, v & 0xff);
const u32 = (v: number): Uint8Array => Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);

export function connSpec(e: ConnEndpoints): NetioChannelSpec {
  const l = e.link === 'ethernet' ? 14 : 20;
  const link =
    e.link === 'ethernet'
      ? [{ offset: 0, bytes: Uint8Array.of(...mac6(e.peerMac), ...mac6(e.localMac), 0x08, 0x00) }]
      : [
          { offset: 2, bytes: Uint8Array.of(...u16(e.peerBqi ?? 0), ...mac6(e.peerMac), ...mac6(e.localMac)) },
          { offset: 16, bytes: u16(0x0800) },
        ];
  return {
    demux: e.link === 'ethernet' ? { kind: 'tcp', remoteIp: e.peerIp, localIp: e.localIp, remotePort: e.peerPort, localPort: e.localPort } : { kind: 'none' },
    isDefault: false,
    template: [
      ...link,
      { offset: l, bytes: Uint8Array.of(0x45) },
      { offset: l + 9, bytes: Uint8Array.of(6) },
      { offset: l + 12, bytes: Uint8Array.of(...u32(e.localIp), ...u32(e.peerIp), ...u16(e.localPort), ...u16(e.peerPort)) },
    ],
    ...(e.link === 'an1' && e.bqi !== undefined ? { bqi: e.bqi } : {}),
  };
}

export const encodeConnSpec = (e: ConnEndpoints): Uint8Array => encodeChannelSpec(connSpec(e));
