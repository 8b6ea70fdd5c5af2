/**
 * The registry server's request protocol (library ⇄ registry, ordinary Mach messages), the
 * grant a connection hand-off carries, the TCB wire encoding, and the connection-passing message
 * (application ⇄ application, P §3.2). Pure data and codecs.
 */
import { MSG_TYPE, type MsgItem, type ReceivedMsg } from '../../kernel/abi/message.ts';
import type { TcpSnapshot } from '../inet/index.ts';

export const REGISTRY_SERVICE = 'tcp-registry';

export const REG_MSG = {
  /** int32 [port, backlog], port: the caller's task port (COPY_SEND). Reply int32 [kr, port]. */
  LISTEN: 0x5400,
  /**
   * int32 [remoteIp, remotePort, localPort(0 = ephemeral), rate?], task port. Reply: a grant.
   * rate (optional): a reservation for the connection's channel in wire bytes/s (P §3.5: a
   * pre-arranged rate); absent or 0: best effort. Beyond what the link has left: REG_ERR.NO_BANDWIDTH.
   */
  CONNECT: 0x5401,
  /** int32 [port, rate?], task port. Reply: a grant once a connection is established (rate: as CONNECT's, for that connection). */
  ACCEPT: 0x5402,
  /**
   * int32 [localPort, remoteIp, remotePort, timeWait 0/1], task port, channel right (the proof):
   * the library closed normally (one-way). With an inline TCB as a fourth item it is a close the
   * library could not finish within its linger time (data or FIN still unacknowledged): an RPC,
   * and the registry takes the connection over and finishes it (reply int32 [kr]).
   */
  RELEASE: 0x5403,
  /** int32 [port]: stop listening. Reply int32 [kr]. */
  UNLISTEN: 0x5404,
  /**
   * Rerouting (issue 17 item 3, docs/reroute.md): int32 [localPort, remoteIp, remotePort, hopHi,
   * hopLo], task port, channel right (the proof, as RELEASE's). Move the connection's frames to
   * the next hop `hop` — Ethernet: a station address (the peer's own, or a gateway the registry
   * was configured with); AN1: a DST_SHORT (0 or a route it was configured with). Reply int32
   * [kr]: KERN_SUCCESS, REG_ERR.NOT_OWNER (no such live connection, or the right is not its
   * channel's), REG_ERR.NO_ROUTE (a hop the registry does not approve), REG_ERR.INVALID, or the
   * module's code.
   */
  REROUTE: 0x5405,
  /**
   * Connection passing between applications (P §3.2), no registry or network I/O module involved:
   * the grant items (channel right, words, TCB), then the region's and the semaphore's send
   * rights, all moved (MOVE_SEND). The receiver vm_maps the region (`regionBytes` long).
   */
  PASS: 0x5410,
  /**
   * UDP (issue 17): int32 [localPort (0 = ephemeral), remoteIp, remotePort] (remote 0/0: a bound,
   * unconnected socket), task port. Reply: a UDP grant (udpGrantItems) or int32 [error]. The
   * channel's template pins the local addresses and port (and for a connected socket the peer's);
   * on AN1 SPARE is pinned to the channel's own BQI and DST_BQI is left to discovery. The port is
   * freed when the channel dies (net_channel_close, or the owner's death).
   */
  UDP_BIND: 0x5420,
  /** int32 [ip], task port: the link address of an on-link host (the registry's ARP). Reply int32 [kr, macHi, macLo]. */
  RESOLVE: 0x5421,
} as const;

/**
 * AN1: the UDP port of every registry's BQI binder (issue 17). A registry asked for a connected UDP
 * socket asks the peer host's registry which BQI the peer's port receives on (an address-binding
 * step, P §5: "after the address binding phase, the dedicated server can be bypassed"): query
 * u32 'BQI?' + u16 port; answer u32 'BQI!' + u16 port + u16 bqi (0: no socket has the port).
 */
export const REGISTRY_BINDER_PORT = 111;
export const BINDER_QUERY = 0x42514930; // 'BQI0'
export const BINDER_ANSWER = 0x42514931; // 'BQI1'

/** Library-side error codes in a reply's first int32 (besides KERN_*). */
export const REG_ERR = {
  ADDR_IN_USE: 2700,
  CONN_REFUSED: 2701,
  TIMED_OUT: 2702,
  NOT_OWNER: 2703,
  NO_LISTENER: 2704,
  /** A request malformed or out of range (a port outside 1..65535, a remote address that is 0 or multicast, a TCB too long, an unknown request). */
  INVALID: 2705,
  /** A per-task quota of userland/registry/limits.ts is reached (the reply's second word names which: REG_QUOTA). */
  QUOTA: 2706,
  /** AN1: no BQI is free on this host (every one is bound, reserved or held after its connection: BQI lifetime). */
  NO_BQI: 2707,
  /** A rate reservation (CONNECT/ACCEPT) the link's reservable capacity cannot admit besides the reservations in force (limits.ts reservablePercent). */
  NO_BANDWIDTH: 2710,
  /** REROUTE: the next hop asked for is not one the registry approves for the connection's peer. */
  NO_ROUTE: 2711,
} as const;

/** Which quota a REG_ERR.QUOTA reply names (its second word). */
export const REG_QUOTA = { PENDING_CONNECTS: 1, PENDING_ACCEPTS: 2, LISTEN_PORTS: 3, CHANNELS: 4, BQIS: 5, NAMES: 6 } as const;

/** What a grant carries besides the channel right and the TCB (int32 words, in order). */
export interface GrantWords {
  readonly kr: number;
  /** The region's address, and names of the semaphore's and region's send rights, in the owner's space. */
  readonly address: number;
  readonly sem: number;
  readonly region: number;
  readonly regionBytes: number;
  readonly bqi: number;
  readonly peerBqi: number;
  readonly localIp: number;
  readonly localMacHi: number;
  readonly localMacLo: number;
  readonly peerMacHi: number;
  readonly peerMacLo: number;
  /** Registry-measured phases (µs) for Table 4: outbound, peer round trip, channel set-up, TCB export+reply. */
  readonly outboundUs: number;
  readonly peerRttUs: number;
  readonly channelUs: number;
  readonly tcbUs: number;
  readonly registryTotalUs: number;
}
const GRANT_KEYS: readonly (keyof GrantWords)[] = [
  'kr', 'address', 'sem', 'region', 'regionBytes', 'bqi', 'peerBqi', 'localIp', 'localMacHi', 'localMacLo', 'peerMacHi', 'peerMacLo',
  'outboundUs', 'peerRttUs', 'channelUs', 'tcbUs', 'registryTotalUs',
];

export function grantItems(channel: number, w: GrantWords, snap: TcpSnapshot, channelDisposition: number): MsgItem[] {
  return [
    { type: 'port', name: channel, disposition: channelDisposition },
    { type: 'int32', values: GRANT_KEYS.map((k) => w[k] | 0) },
    { type: 'inline', data: encodeSnapshot(snap) },
  ];
}

export interface ParsedGrant {
  readonly channel: number;
  readonly w: GrantWords;
  readonly snap: TcpSnapshot;
}

/** A UDP grant: the channel right, the grant words (no TCB: UDP has no state to hand over), the local port. */
export function udpGrantItems(channel: number, w: GrantWords, localPort: number): MsgItem[] {
  return [
    { type: 'port', name: channel, disposition: MSG_TYPE.COPY_SEND },
    { type: 'int32', values: GRANT_KEYS.map((k) => w[k] | 0) },
    { type: 'int32', values: [localPort] },
  ];
}

export function parseUdpGrant(msg: ReceivedMsg | undefined): { readonly channel: number; readonly w: GrantWords; readonly localPort: number } | number {
  const items = msg?.items ?? [];
  const a = items[0];
  const b = items[1];
  const c = items[2];
  if (a?.type === 'int32') return a.values[0] ?? -1;
  if (a?.type !== 'port' || b?.type !== 'int32' || c?.type !== 'int32') return -1;
  const w: Record<string, number> = {};
  GRANT_KEYS.forEach((k, i) => (w[k] = b.values[i] ?? 0));
  return { channel: a.name, w: w as unknown as GrantWords, localPort: c.values[0] ?? 0 };
}

/** A PASS message: the grant items with the region's and semaphore's rights moved after them. */
export function passItems(channel: number, w: GrantWords, snap: TcpSnapshot): MsgItem[] {
  return [
    ...grantItems(channel, w, snap, MSG_TYPE.MOVE_SEND),
    { type: 'port', name: w.region, disposition: MSG_TYPE.MOVE_SEND },
    { type: 'port', name: w.sem, disposition: MSG_TYPE.MOVE_SEND },
  ];
}

/** A received PASS message: the grant, with `region` and `sem` the names the rights got in this task. */
export function parsePass(msg: ReceivedMsg | undefined): ParsedGrant | number {
  if (msg?.id !== REG_MSG.PASS) return -1;
  const g = parseGrant(msg);
  if (typeof g === 'number') return -1;
  const r = msg.items[3];
  const s = msg.items[4];
  if (r?.type !== 'port' || s?.type !== 'port' || r.name === 0 || s.name === 0) return -1;
  return { ...g, w: { ...g.w, region: r.name, sem: s.name } };
}

export function parseGrant(msg: ReceivedMsg | undefined): ParsedGrant | number {
  const items = msg?.items ?? [];
  const a = items[0];
  const b = items[1];
  const c = items[2];
  if (a?.type === 'int32') return a.values[0] ?? -1; // an error reply
  if (a?.type !== 'port' || b?.type !== 'int32' || c?.type !== 'inline') return -1;
  const w: Record<string, number> = {};
  GRANT_KEYS.forEach((k, i) => (w[k] = b.values[i] ?? 0));
  const snap = decodeSnapshot(c.data);
  if (snap === undefined) return -1;
  return { channel: a.name, w: w as unknown as GrantWords, snap };
}

/** MacAddr (48-bit integer) ⇄ two words. */
export const macHi = (m: number): number => Math.floor(m / 0x1_0000_0000) | 0;
export const macLo = (m: number): number => m % 0x1_0000_0000 | 0;
export const macJoin = (hi: number, lo: number): number => (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0);

/** TCB wire form: JSON with byte arrays as number lists (the message copy is charged by the kernel). */
export function encodeSnapshot(s: TcpSnapshot): Uint8Array {
  const json = JSON.stringify(s, (_k, v: unknown) => (v instanceof Uint8Array ? { u8: Array.from(v) } : v));
  const out = new Uint8Array(json.length);
  for (let i = 0; i < json.length; i++) out[i] = json.charCodeAt(i) & 0xff;
  return out;
}

export function decodeSnapshot(b: Uint8Array): TcpSnapshot | undefined {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  try {
    const v = JSON.parse(s, (_k, x: unknown) => {
      if (typeof x === 'object' && x !== null && 'u8' in x && Array.isArray((x as { u8: unknown }).u8)) return Uint8Array.from((x as { u8: number[] }).u8);
      return x;
    }) as TcpSnapshot;
    return typeof v === 'object' && v !== null && v.version === 1 ? v : undefined;
  } catch {
    return undefined;
  }
}
