/**
 * A small reader of classic pcap files (the format emulator/net/pcap.ts writes: nanosecond
 * magic 0xA1B23C4D, little-endian, version 2.4), strict about what it reads: a test that parses a
 * capture with it knows the file is whole, records in time order, lengths consistent.
 */
export interface PcapRecord {
  readonly timeNs: number;
  readonly data: Uint8Array;
  readonly originalLength: number;
}

export interface PcapFile {
  readonly linkType: number;
  readonly records: readonly PcapRecord[];
}

export function readPcap(bytes: Uint8Array): PcapFile {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24) throw new Error('pcap: shorter than its header');
  const magic = v.getUint32(0, true);
  if (magic !== 0xa1b23c4d) throw new Error(`pcap: magic ${magic.toString(16)} is not little-endian nanosecond pcap`);
  if (v.getUint16(4, true) !== 2 || v.getUint16(6, true) !== 4) throw new Error('pcap: not version 2.4');
  const snaplen = v.getUint32(16, true);
  const linkType = v.getUint32(20, true);
  const records: PcapRecord[] = [];
  let at = 24;
  let last = -1;
  while (at < bytes.length) {
    if (at + 16 > bytes.length) throw new Error(`pcap: record header cut at byte ${at}`);
    const sec = v.getUint32(at, true);
    const ns = v.getUint32(at + 4, true);
    const caplen = v.getUint32(at + 8, true);
    const orig = v.getUint32(at + 12, true);
    if (ns >= 1e9) throw new Error(`pcap: nanoseconds ${ns} ≥ 1e9`);
    if (caplen > snaplen || caplen > orig) throw new Error(`pcap: caplen ${caplen} (snaplen ${snaplen}, original ${orig})`);
    if (at + 16 + caplen > bytes.length) throw new Error(`pcap: record data cut at byte ${at}`);
    const timeNs = sec * 1e9 + ns;
    if (timeNs < last) throw new Error(`pcap: record at ${timeNs} ns before the previous one (${last})`);
    last = timeNs;
    records.push({ timeNs, data: bytes.subarray(at + 16, at + 16 + caplen), originalLength: orig });
    at += 16 + caplen;
  }
  return { linkType, records };
}

export interface PcapngFile extends PcapFile {
  /** if_name of the file's one interface. */
  readonly ifName: string;
  readonly ifDescription: string | undefined;
  /** if_tsresol (9: nanoseconds). */
  readonly tsresol: number;
  /** Per record: epb_flags' direction, 'in' (01) or 'out' (10), undefined without flags. */
  readonly directions: readonly ('in' | 'out' | undefined)[];
  readonly shbComment: string | undefined;
}

/**
 * A strict reader of the pcapng files emulator/net/pcapng.ts writes: little-endian, one section,
 * exactly one interface, every block's two lengths equal and a multiple of 4, options closed by
 * opt_endofopt, EPBs on interface 0 in time order with caplen ≤ original length.
 */
export function readPcapng(bytes: Uint8Array): PcapngFile {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder('utf-8', { fatal: true });
  const blocks: { type: number; body: Uint8Array; bodyAt: number }[] = [];
  for (let at = 0; at < bytes.length; ) {
    if (at + 12 > bytes.length) throw new Error(`pcapng: block cut at byte ${at}`);
    const type = v.getUint32(at, true);
    const len = v.getUint32(at + 4, true);
    if (len % 4 !== 0 || len < 12 || at + len > bytes.length) throw new Error(`pcapng: block at ${at} has length ${len}`);
    if (v.getUint32(at + len - 4, true) !== len) throw new Error(`pcapng: block at ${at}: trailing length differs`);
    blocks.push({ type, body: bytes.subarray(at + 8, at + len - 4), bodyAt: at + 8 });
    at += len;
  }
  const opts = (b: Uint8Array, from: number): Map<number, Uint8Array[]> => {
    const m = new Map<number, Uint8Array[]>();
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (from >= b.length) return m;
    for (let at = from; ; ) {
      if (at + 4 > b.length) throw new Error('pcapng: options not closed by opt_endofopt');
      const code = dv.getUint16(at, true);
      const len = dv.getUint16(at + 2, true);
      if (code === 0) {
        if (len !== 0 || at + 4 !== b.length) throw new Error('pcapng: opt_endofopt not last');
        return m;
      }
      if (at + 4 + len > b.length) throw new Error(`pcapng: option ${code} overruns its block`);
      m.set(code, [...(m.get(code) ?? []), b.subarray(at + 4, at + 4 + len)]);
      at += 4 + ((len + 3) & ~3);
    }
  };
  const [shb, idb, ...epbs] = blocks;
  if (shb === undefined || shb.type !== 0x0a0d0d0a) throw new Error('pcapng: no section header first');
  const sv = new DataView(shb.body.buffer, shb.body.byteOffset, shb.body.byteLength);
  if (sv.getUint32(0, true) !== 0x1a2b3c4d) throw new Error('pcapng: not little-endian');
  if (sv.getUint16(4, true) !== 1 || sv.getUint16(6, true) !== 0) throw new Error('pcapng: not version 1.0');
  const shbOpts = opts(shb.body, 16);
  if (idb === undefined || idb.type !== 1) throw new Error('pcapng: no interface description second');
  const iv = new DataView(idb.body.buffer, idb.body.byteOffset, idb.body.byteLength);
  const linkType = iv.getUint16(0, true);
  const snaplen = iv.getUint32(4, true);
  const io = opts(idb.body, 8);
  const name = io.get(2)?.[0];
  if (name === undefined) throw new Error('pcapng: the interface has no if_name');
  const tsresol = io.get(9)?.[0]?.[0] ?? 6;
  const records: PcapRecord[] = [];
  const directions: ('in' | 'out' | undefined)[] = [];
  let last = -1;
  for (const b of epbs) {
    if (b.type !== 6) throw new Error(`pcapng: block type ${b.type} where packets were expected`);
    const ev = new DataView(b.body.buffer, b.body.byteOffset, b.body.byteLength);
    if (ev.getUint32(0, true) !== 0) throw new Error('pcapng: packet on an interface other than 0');
    const ticks = ev.getUint32(4, true) * 2 ** 32 + ev.getUint32(8, true);
    const timeNs = tsresol === 9 ? ticks : tsresol === 6 ? ticks * 1000 : NaN;
    const caplen = ev.getUint32(12, true);
    const orig = ev.getUint32(16, true);
    if (caplen > snaplen || caplen > orig || 20 + caplen > b.body.length) throw new Error(`pcapng: caplen ${caplen} (snaplen ${snaplen}, original ${orig})`);
    if (timeNs < last) throw new Error(`pcapng: packet at ${timeNs} ns before the previous one (${last})`);
    last = timeNs;
    records.push({ timeNs, data: b.body.subarray(20, 20 + caplen), originalLength: orig });
    const flags = opts(b.body, 20 + ((caplen + 3) & ~3)).get(2)?.[0];
    const dir = flags === undefined ? 0 : new DataView(flags.buffer, flags.byteOffset, 4).getUint32(0, true) & 3;
    directions.push(dir === 1 ? 'in' : dir === 2 ? 'out' : undefined);
  }
  const comment = shbOpts.get(1)?.[0];
  const descr = io.get(3)?.[0];
  return { linkType, records, ifName: dec.decode(name), ifDescription: descr === undefined ? undefined : dec.decode(descr), tsresol, directions, shbComment: comment === undefined ? undefined : dec.decode(comment) };
}

/** The IPv4 packet inside a frame of `linkType` (Ethernet type 0x0800, or AN1 TYPE 0x0800 after its 20-byte header). */
export function ipv4Of(linkType: number, frame: Uint8Array): Uint8Array | undefined {
  const header = linkType === 1 ? 14 : linkType === 147 ? 20 : -1;
  if (header < 0 || frame.length < header + 20) return undefined;
  if (frame[header - 2] !== 0x08 || frame[header - 1] !== 0x00) return undefined;
  return frame.subarray(header);
}

/** TCP flags of an IPv4 packet carrying TCP (protocol 6), else undefined. */
export function tcpFlags(ip: Uint8Array): number | undefined {
  if (ip[0]! >> 4 !== 4 || ip[9] !== 6) return undefined;
  const ihl = (ip[0]! & 0x0f) * 4;
  return ip[ihl + 13];
}
