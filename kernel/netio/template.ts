/**
 * Outbound header templates and their "synthesized" checkers (paper §3.4: "the logic required
 * for this needs to be synthesized (or compiled) into the network I/O module").
 *
 * A template is a list of header fields with the exact bytes a channel's packets must carry
 * (link addresses, EtherType, IP version/IHL, protocol and addresses, TCP ports; on AN1 also the
 * destination BQI). `compileTemplate` turns it, once per channel, into a matcher specialised to
 * that template: the fields are merged into aligned 32-bit (offset, mask, value) words, so the
 * per-packet check is a short straight loop of word compares, with no interpretation of field
 * descriptions. The matcher reports the first mismatching field for the error counters.
 *
 * Offsets are from the start of the frame as the library lays it out in the shared region
 * (Ethernet: destination MAC first; AN1: the 20-byte link header of hw/an1-autonet.md §8.4).
 */

export interface TemplateField {
  readonly name: string;
  readonly offset: number;
  readonly bytes: Uint8Array;
}

export interface HeaderTemplate {
  readonly link: 'ethernet' | 'an1';
  readonly fields: readonly TemplateField[];
  /** Shortest frame the template can apply to (the end of its last field). */
  readonly minLength: number;
}

export function makeTemplate(link: HeaderTemplate['link'], fields: readonly TemplateField[]): HeaderTemplate {
  const minLength = fields.reduce((m, f) => Math.max(m, f.offset + f.bytes.length), 0);
  return { link, fields, minLength };
}

const u16 = (v: number): Uint8Array => Uint8Array.of((v >>> 8) & 0xff, v & 0xff);
const u32 = (v: number): Uint8Array => Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);

export const ETHERTYPE_IPV4 = 0x0800;
export const IPPROTO_TCP = 6;
/** Byte offsets of the headers that follow each link header (IPv4 without options). */
export const ETHERNET_HEADER_BYTES = 14;
export const AN1_HEADER_BYTES = 20;

export interface TcpEndpoints {
  readonly srcIp: number;
  readonly dstIp: number;
  readonly srcPort: number;
  readonly dstPort: number;
}

/** IPv4 + TCP fields of a template, after a link header of `l` bytes. */
function ipTcpFields(l: number, e: TcpEndpoints): TemplateField[] {
  return [
    { name: 'ip.version-ihl', offset: l + 0, bytes: Uint8Array.of(0x45) },
    { name: 'ip.protocol', offset: l + 9, bytes: Uint8Array.of(IPPROTO_TCP) },
    { name: 'ip.src', offset: l + 12, bytes: u32(e.srcIp) },
    { name: 'ip.dst', offset: l + 16, bytes: u32(e.dstIp) },
    { name: 'tcp.srcPort', offset: l + 20, bytes: u16(e.srcPort) },
    { name: 'tcp.dstPort', offset: l + 22, bytes: u16(e.dstPort) },
  ];
}

export function ethernetTcpTemplate(dstMac: Uint8Array, srcMac: Uint8Array, e: TcpEndpoints): HeaderTemplate {
  return makeTemplate('ethernet', [
    { name: 'eth.dst', offset: 0, bytes: dstMac.slice(0, 6) },
    { name: 'eth.src', offset: 6, bytes: srcMac.slice(0, 6) },
    { name: 'eth.type', offset: 12, bytes: u16(ETHERTYPE_IPV4) },
    ...ipTcpFields(ETHERNET_HEADER_BYTES, e),
  ]);
}

/** A raw Ethernet channel (Table 1): only the link header is constrained. */
export function ethernetRawTemplate(dstMac: Uint8Array, srcMac: Uint8Array, etherType: number): HeaderTemplate {
  return makeTemplate('ethernet', [
    { name: 'eth.dst', offset: 0, bytes: dstMac.slice(0, 6) },
    { name: 'eth.src', offset: 6, bytes: srcMac.slice(0, 6) },
    { name: 'eth.type', offset: 12, bytes: u16(etherType) },
  ]);
}

export interface An1LinkAddress {
  readonly dstShort: number;
  /** The BQI the receiving controller uses (the peer's BQI). */
  readonly dstBqi: number;
  readonly dstUid: Uint8Array;
  readonly srcUid: Uint8Array;
}

/** AN1 link header fields (§8.4): DST_SHORT, DST_BQI, DST_UID, SRC_UID, TYPE (SPARE is free). */
function an1LinkFields(a: An1LinkAddress, type: number): TemplateField[] {
  return [
    { name: 'an1.dstShort', offset: 0, bytes: u16(a.dstShort) },
    { name: 'an1.dstBqi', offset: 2, bytes: u16(a.dstBqi) },
    { name: 'an1.dstUid', offset: 4, bytes: a.dstUid.slice(0, 6) },
    { name: 'an1.srcUid', offset: 10, bytes: a.srcUid.slice(0, 6) },
    { name: 'an1.type', offset: 16, bytes: u16(type) },
  ];
}

export function an1TcpTemplate(a: An1LinkAddress, e: TcpEndpoints): HeaderTemplate {
  return makeTemplate('an1', [...an1LinkFields(a, ETHERTYPE_IPV4), ...ipTcpFields(AN1_HEADER_BYTES, e)]);
}

export function an1RawTemplate(a: An1LinkAddress, type: number): HeaderTemplate {
  return makeTemplate('an1', an1LinkFields(a, type));
}

/** A compiled checker: returns -1 when `frame[0, length)` matches, else the mismatching field's index. */
export interface TemplateMatcher {
  (frame: Uint8Array, length: number): number;
  /** 32-bit words compared per check: what the per-packet cost is charged on. */
  readonly words: number;
  readonly template: HeaderTemplate;
}

/** Cold path after a word mismatch: which field (at or after `from`) actually differs. */
function firstBadField(t: HeaderTemplate, frame: Uint8Array, from: number): number {
  for (let fi = from; fi < t.fields.length; fi++) {
    const f = t.fields[fi]!;
    for (let i = 0; i < f.bytes.length; i++) if (frame[f.offset + i] !== f.bytes[i]) return fi;
  }
  return from;
}

export function compileTemplate(t: HeaderTemplate): TemplateMatcher {
  // Merge field bytes into aligned words: word index -> [mask, value, first field index].
  const words = new Map<number, { mask: number; value: number; field: number }>();
  t.fields.forEach((f, fi) => {
    for (let i = 0; i < f.bytes.length; i++) {
      const at = f.offset + i;
      const w = at >>> 2;
      const shift = (at & 3) * 8;
      const entry = words.get(w) ?? { mask: 0, value: 0, field: fi };
      entry.mask = (entry.mask | (0xff << shift)) >>> 0;
      entry.value = (entry.value | (f.bytes[i]! << shift)) >>> 0;
      entry.field = Math.min(entry.field, fi);
      words.set(w, entry);
    }
  });
  const order = [...words.keys()].sort((a, b) => a - b);
  const offsets = Int32Array.from(order, (w) => w * 4);
  const masks = Uint32Array.from(order, (w) => words.get(w)!.mask);
  const values = Uint32Array.from(order, (w) => words.get(w)!.value);
  const fieldOf = Int32Array.from(order, (w) => words.get(w)!.field);
  const n = order.length;
  const minLength = t.minLength;
  const matcher = (frame: Uint8Array, length: number): number => {
    if (length < minLength || frame.length < minLength) return fieldOf[n - 1] ?? 0;
    for (let i = 0; i < n; i++) {
      const o = offsets[i]!;
      // Little-endian word load: byte k of the word at bits 8k (bytes past the frame read 0).
      const word = (frame[o]! | ((frame[o + 1] ?? 0) << 8) | ((frame[o + 2] ?? 0) << 16) | ((frame[o + 3] ?? 0) << 24)) >>> 0;
      if (((word & masks[i]!) >>> 0) !== values[i]!) return firstBadField(t, frame, fieldOf[i]!);
    }
    return -1;
  };
  return Object.assign(matcher, { words: n, template: t });
}
