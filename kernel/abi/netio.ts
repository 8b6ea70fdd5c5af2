/**
 * The network I/O module's ABI (paper §3.3): the layout of a channel's shared packet region, as
 * the kernel's network I/O module and the user-level library both see it. Pure data.
 *
 * A channel's region is `pages` 4 KB pages, wired, mapped read-write into the owning task:
 *
 *   page 0            control page (below)
 *   pages 1 .. R      receive slots, one page each (on AN1 these pages ARE the BQI ring's
 *                     buffers: the controller DMAs frames into them; on Ethernet the interrupt
 *                     path copies matching frames into them by programmed I/O)
 *   pages R+1 ..      transmit area: the library builds frames here and names them to net_send
 *
 * Receive is a single-producer/single-consumer ring of slots in arrival order: the kernel writes
 * the slot's length word, then bumps RX_HEAD; the library consumes slots in order and bumps
 * RX_TAIL; slots between RX_TAIL and RX_HEAD belong to the library. When the ring is full
 * (RX_HEAD − RX_TAIL = RX_SLOTS) an arriving frame is dropped and RX_DROPS counted. On AN1 the
 * kernel re-posts consumed slots to the controller when the library hands them back
 * (`net_rx_done`, or piggy-backed on `net_send`), reading RX_TAIL.
 */

export const NETIO_MAGIC = 0x4e494f31; // 'NIO1'
export const NETIO_PAGE_SIZE = 4096;

/** Byte offsets of 32-bit words in the control page. */
export const NETIO_CTL = {
  MAGIC: 0x00,
  /** Receive slots (pages 1..RX_SLOTS). */
  RX_SLOTS: 0x04,
  /** Frames written by the kernel (mod 2^32). */
  RX_HEAD: 0x08,
  /** Frames consumed by the library (mod 2^32). */
  RX_TAIL: 0x0c,
  /** Frames dropped because the ring was full. */
  RX_DROPS: 0x10,
  /** First byte offset of the transmit area within the region. */
  TX_OFFSET: 0x14,
  /** Bytes of transmit area. */
  TX_BYTES: 0x18,
  /** The link: 1 Ethernet, 2 AN1. */
  LINK: 0x1c,
  /** Semaphore signals sent (one per batch of frames). */
  SIGNALS: 0x20,
  /** Frames refused by net_send's template check. */
  TX_REFUSED: 0x24,
  /** Frames net_send accepted (mod 2^32): the n-th accepted frame is frame n. */
  TX_SENT: 0x28,
  /**
   * Frames whose transmission finished (mod 2^32), in acceptance order: frame n's transmit page
   * may be rewritten once TX_DONE ≥ n. On AN1 the controller DMAs a frame's body from the region
   * after net_send returned; on Ethernet net_send copied it already (TX_DONE = TX_SENT on return).
   */
  TX_DONE: 0x2c,
  /**
   * Rerouting (issue 17 item 3, docs/reroute.md): times the registry changed the channel's route
   * (net_channel_reroute), and the route now in force — the link header's destination bytes,
   * NETIO_ROUTE_BYTES[link] of them (Ethernet: destination MAC; AN1: DST_SHORT, DST_BQI, DST_UID).
   * 0 and zeros until the first reroute: a library sends as it was granted.
   */
  ROUTE_GEN: 0x30,
  ROUTE: 0x34,
  /** Per-slot frame lengths: u32 at LENGTHS + 4·slot (bytes of the frame in the slot page). */
  LENGTHS: 0x100,
} as const;

/** Receive slots per channel at most (the length table must fit the control page). */
export const NETIO_RX_SLOTS_MAX = (NETIO_PAGE_SIZE - NETIO_CTL.LENGTHS) / 4;

export const NETIO_LINK = { ethernet: 1, an1: 2 } as const;

/**
 * Bytes of a link header that say where a frame goes — its route, the only part of a template
 * net_channel_reroute may change: Ethernet the destination MAC (bytes 0..5); AN1 DST_SHORT,
 * DST_BQI and DST_UID (bytes 0..9, hw/an1-autonet.md §8.4).
 */
export const NETIO_ROUTE_BYTES = { ethernet: 6, an1: 10 } as const;

/** Byte offset of receive slot `slot` within the region. */
export function rxSlotOffset(slot: number): number {
  return (1 + slot) * NETIO_PAGE_SIZE;
}

/** Byte offset of the transmit area in a region of `rxSlots` receive slots. */
export function txAreaOffset(rxSlots: number): number {
  return (1 + rxSlots) * NETIO_PAGE_SIZE;
}

/**
 * Message ids of the device path by Mach IPC (net_device_open; MB92 §2: frames in from the packet
 * filter by IPC, out by a message to the device). FRAME_IN: the kernel → the port named at open,
 * one inline item holding one whole frame (link header included). FRAME_OUT: a task → the
 * device's port, exactly one inline item holding the frame to send.
 */
export const NETIO_DEVICE_MSG = { FRAME_IN: 2700, FRAME_OUT: 2701 } as const;

/** The network I/O module's own return codes (beside KERN_*; D_* of Mach device I/O are 2500+). */
export const NETIO_ERR = {
  /** net_channel_create / net_bqi_release: the BQI named is not one reserved with net_bqi_reserve. */
  BQI_NOT_RESERVED: 2606,
  /** net_send: the frame's headers differ from the channel's template (nothing left the host). */
  TEMPLATE_MISMATCH: 2600,
  /** net_send: the channel's token bucket is empty (nothing left the host). */
  RATE_LIMITED: 2601,
  /** net_send: the length is outside the link's frame sizes or shorter than the template. */
  BAD_LENGTH: 2602,
  /** net_channel_create: the demultiplexing key is installed already. */
  KEY_IN_USE: 2603,
  /** net_channel_create: no free BQI on the AN1 (63 non-zero BQIs at most). */
  NO_BQI: 2604,
  /** net_channel_create: the link named has no device on this host. */
  NO_DEVICE: 2605,
  /**
   * net_send on an AN1 channel with BQI discovery: the frame's (DST_UID, DST_BQI) is not one this
   * channel has received a frame from (SRC_UID, SPARE), and not BQI 0 (nothing left the host).
   */
  BQI_UNDISCOVERED: 2607,
  /**
   * net_channel_reroute: the channel cannot be rerouted — the default channel, a template that
   * does not pin every byte of the route (a bound UDP socket's), or a route of the wrong length.
   */
  NOT_ROUTABLE: 2608,
} as const;

/** How inbound frames find a channel: a TCP 4-tuple or a raw (EtherType, source MAC) key on Ethernet; AN1 channels get a BQI. */
export type NetioDemuxSpec =
  | { readonly kind: 'none' }
  | { readonly kind: 'tcp'; readonly remoteIp: number; readonly localIp: number; readonly remotePort: number; readonly localPort: number }
  | { readonly kind: 'raw'; readonly etherType: number; readonly srcMac: Uint8Array }
  /** UDP: a connected socket's 4-tuple, or (remoteIp 0, remotePort 0) a bound socket's (local IP, local port). */
  | { readonly kind: 'udp'; readonly remoteIp: number; readonly localIp: number; readonly remotePort: number; readonly localPort: number };

/** What net_channel_create binds (carried as bytes, encodeChannelSpec). */
export interface NetioChannelSpec {
  readonly demux: NetioDemuxSpec;
  /** The registry server's default channel: frames that match no key (and IP fragments) land here. */
  readonly isDefault: boolean;
  /** Header template: each field's frame offset and the exact bytes every sent frame must carry there. */
  readonly template: readonly { readonly offset: number; readonly bytes: Uint8Array }[];
  /**
   * Rate control (P §3.5): a token bucket on the channel's sent WIRE bytes (`netioWireBytes`);
   * a send it cannot cover blocks until it can. `bytesPerSecond` > 0: a reservation, that fixed
   * rate; 0: best effort, an equal share of the link's capacity left unreserved by the open
   * channels (re-shared as channels come and go). Without `rate` the channel is not limited.
   */
  readonly rate?: { readonly bytesPerSecond: number; readonly burstBytes: number };
  /** AN1: a BQI reserved earlier with net_bqi_reserve (the one offered to the peer); without it the module picks one. */
  readonly bqi?: number;
  /**
   * AN1, connectionless protocols (P §2.2): DST_BQI is not fixed by the template; a frame may name
   * BQI 0 or a (DST_UID, DST_BQI) this channel has received a frame from (its SRC_UID, SPARE),
   * learned by the module while the channel lives (docs/netio.md).
   */
  readonly discoverBqi?: boolean;
}

/**
 * A link's capacity in wire bytes per second (the link models: a 10 Mb/s Ethernet segment, 100 ns
 * a bit, emulator/net/ethernet-segment.ts; a 100 Mb/s AN1 link, emulator/net/an1-link.ts), what
 * rate control shares out among a host's channels.
 */
export const NETIO_LINK_BYTES_PER_SECOND = { ethernet: 1_250_000, an1: 12_500_000 } as const;

/**
 * Wire bytes a frame of `length` bytes (destination address .. end of data, as net_send takes it)
 * occupies on its link. Ethernet: padded to 60, + FCS 4 + preamble/SFD 8 + the 96-bit
 * interframe gap 12 (IEEE 802.3; the segment model's PREAMBLE_SFD_BITS and IFG_BITS). AN1: + CRC
 * 4 + the link's per-frame framing, 1 µs = 12.5 byte times at 100 Mb/s, rounded up to 13
 * (an1.wireFramingNs, hw/an1-autonet.md §8.6).
 */
export function netioWireBytes(link: 'ethernet' | 'an1', length: number): number {
  return link === 'ethernet' ? Math.max(length, 60) + 24 : length + 17;
}

/** Limits on a spec (a limit on everything): fields, bytes per field, offset of a field's end. */
export const NETIO_TEMPLATE_FIELDS_MAX = 16;
export const NETIO_TEMPLATE_FIELD_BYTES_MAX = 16;
export const NETIO_TEMPLATE_END_MAX = 128;

const DEMUX_KIND = { none: 0, tcp: 1, raw: 2, udp: 3 } as const;
/** Spec flag: AN1 BQI discovery (the top bit, apart from the low bits other options take). */
const SPEC_FLAG_DISCOVER_BQI = 0x80;

/**
 * Spec wire format (big-endian): u8 version=1, u8 demux kind, u8 flags (bit0 default, bit1 rate, bit2 bqi, bit7 BQI discovery),
 * u8 field count; demux body (tcp: u32 remoteIp, u32 localIp, u16 remotePort, u16 localPort;
 * raw: u16 etherType, 6 bytes MAC); rate (u32 bytes/s, 0 = best effort; u32 burst) when flagged; fields
 * (u16 offset, u8 length, bytes).
 */
export function encodeChannelSpec(s: NetioChannelSpec): Uint8Array {
  const out: number[] = [1, DEMUX_KIND[s.demux.kind], (s.isDefault ? 1 : 0) | (s.rate !== undefined ? 2 : 0) | (s.bqi !== undefined ? 4 : 0) | (s.discoverBqi === true ? SPEC_FLAG_DISCOVER_BQI : 0), s.template.length];
  const u16 = (v: number): void => void out.push((v >>> 8) & 0xff, v & 0xff);
  const u32 = (v: number): void => void out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const d = s.demux;
  if (d.kind === 'tcp' || d.kind === 'udp') {
    u32(d.remoteIp);
    u32(d.localIp);
    u16(d.remotePort);
    u16(d.localPort);
  } else if (d.kind === 'raw') {
    u16(d.etherType);
    for (let i = 0; i < 6; i++) out.push(d.srcMac[i] ?? 0);
  }
  if (s.rate !== undefined) {
    u32(s.rate.bytesPerSecond);
    u32(s.rate.burstBytes);
  }
  if (s.bqi !== undefined) u16(s.bqi);
  for (const f of s.template) {
    u16(f.offset);
    out.push(f.bytes.length & 0xff);
    for (const b of f.bytes) out.push(b);
  }
  return Uint8Array.from(out);
}

/** Decode and validate a spec; undefined for anything malformed (never throws). */
export function decodeChannelSpec(b: Uint8Array): NetioChannelSpec | undefined {
  let at = 0;
  const need = (n: number): boolean => at + n <= b.length;
  const u8 = (): number => b[at++]!;
  const u16 = (): number => (u8() << 8) | u8();
  const u32 = (): number => ((u16() << 16) | u16()) >>> 0;
  if (!need(4) || u8() !== 1) return undefined;
  const kind = u8();
  const flags = u8();
  const nFields = u8();
  if ((flags & ~(7 | SPEC_FLAG_DISCOVER_BQI)) !== 0 || nFields > NETIO_TEMPLATE_FIELDS_MAX) return undefined;
  let demux: NetioDemuxSpec;
  if (kind === DEMUX_KIND.none) demux = { kind: 'none' };
  else if (kind === DEMUX_KIND.tcp) {
    if (!need(12)) return undefined;
    demux = { kind: 'tcp', remoteIp: u32(), localIp: u32(), remotePort: u16(), localPort: u16() };
  } else if (kind === DEMUX_KIND.udp) {
    if (!need(12)) return undefined;
    demux = { kind: 'udp', remoteIp: u32(), localIp: u32(), remotePort: u16(), localPort: u16() };
    if ((demux.remoteIp === 0) !== (demux.remotePort === 0)) return undefined; // bound: both 0; connected: neither
  } else if (kind === DEMUX_KIND.raw) {
    if (!need(8)) return undefined;
    const etherType = u16();
    demux = { kind: 'raw', etherType, srcMac: b.slice(at, at + 6) };
    at += 6;
  } else return undefined;
  let rate: NetioChannelSpec['rate'];
  if ((flags & 2) !== 0) {
    if (!need(8)) return undefined;
    rate = { bytesPerSecond: u32(), burstBytes: u32() };
    if (rate.burstBytes === 0) return undefined;
  }
  let bqi: number | undefined;
  if ((flags & 4) !== 0) {
    if (!need(2)) return undefined;
    bqi = u16();
  }
  const template: { offset: number; bytes: Uint8Array }[] = [];
  const used = new Set<number>();
  for (let i = 0; i < nFields; i++) {
    if (!need(3)) return undefined;
    const offset = u16();
    const len = u8();
    if (len === 0 || len > NETIO_TEMPLATE_FIELD_BYTES_MAX || offset + len > NETIO_TEMPLATE_END_MAX || !need(len)) return undefined;
    for (let k = offset; k < offset + len; k++) {
      if (used.has(k)) return undefined; // a byte constrained twice
      used.add(k);
    }
    template.push({ offset, bytes: b.slice(at, at + len) });
    at += len;
  }
  if (at !== b.length) return undefined;
  return { demux, isDefault: (flags & 1) !== 0, template, ...(rate !== undefined ? { rate } : {}), ...(bqi !== undefined ? { bqi } : {}), ...((flags & SPEC_FLAG_DISCOVER_BQI) !== 0 ? { discoverBqi: true } : {}) };
}
