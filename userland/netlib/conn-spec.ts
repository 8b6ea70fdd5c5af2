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

/** A UDP socket's endpoints (issue 17): peerIp/peerPort 0 for a bound, unconnected socket. */
export interface UdpEndpoints {
  readonly link: 'ethernet' | 'an1';
  readonly localMac: number;
  readonly localIp: number;
  readonly localPort: number;
  /** Connected: the peer (its MAC from the registry's ARP). */
  readonly peerMac?: number;
  readonly peerIp?: number;
  readonly peerPort?: number;
  /** AN1: our reserved BQI (pinned in SPARE: the return address every frame carries). */
  readonly bqi?: number;
  /** AN1, connected: the peer socket's BQI, as the peer's registry bound it (pinned in DST_BQI). */
  readonly peerBqi?: number;
}

/**
 * The channel spec of a UDP socket: the template pins what identifies the sender — link source,
 * type, IPv4 version/IHL, protocol 17, source address and port — and for a connected socket the
 * destination too (link address, IP, port). A bound socket may send to any host and port of the
 * link, as a BSD UDP socket may. On AN1 DST_SHORT is pinned (0: the point-to-point link), SPARE is
 * pinned to our own BQI; a connected socket's DST_BQI is pinned to the peer socket's (bound by the
 * registries, as TCP's handshake binds it), a bound socket's is left to BQI discovery (the module
 * allows 0 or a BQI the channel has received from). Inbound: the 4-tuple (connected) or (local IP, port) key.
 */
export function udpSpec(e: UdpEndpoints): NetioChannelSpec {
  const connected = e.peerIp !== undefined && e.peerIp !== 0;
  const l = e.link === 'ethernet' ? 14 : 20;
  const link =
    e.link === 'ethernet'
      ? connected
        ? [{ offset: 0, bytes: Uint8Array.of(...mac6(e.peerMac ?? 0), ...mac6(e.localMac), 0x08, 0x00) }]
        : [{ offset: 6, bytes: Uint8Array.of(...mac6(e.localMac), 0x08, 0x00) }]
      : [
          connected ? { offset: 0, bytes: Uint8Array.of(0, 0, ...u16(e.peerBqi ?? 0)) } : { offset: 0, bytes: u16(0) },
          connected
            ? { offset: 4, bytes: Uint8Array.of(...mac6(e.peerMac ?? 0), ...mac6(e.localMac), 0x08, 0x00, ...u16(e.bqi ?? 0)) }
            : { offset: 10, bytes: Uint8Array.of(...mac6(e.localMac), 0x08, 0x00, ...u16(e.bqi ?? 0)) },
        ];
  const ipPorts = connected
    ? [{ offset: l + 12, bytes: Uint8Array.of(...u32(e.localIp), ...u32(e.peerIp ?? 0), ...u16(e.localPort), ...u16(e.peerPort ?? 0)) }]
    : [{ offset: l + 12, bytes: u32(e.localIp) }, { offset: l + 20, bytes: u16(e.localPort) }];
  return {
    demux: { kind: 'udp', localIp: e.localIp, localPort: e.localPort, remoteIp: connected ? (e.peerIp ?? 0) : 0, remotePort: connected ? (e.peerPort ?? 0) : 0 },
    isDefault: false,
    template: [...link, { offset: l, bytes: Uint8Array.of(0x45) }, { offset: l + 9, bytes: Uint8Array.of(17) }, ...ipPorts],
    ...(e.link === 'an1' && e.bqi !== undefined ? { bqi: e.bqi, ...(connected ? {} : { discoverBqi: true }) } : {}),
  };
}
