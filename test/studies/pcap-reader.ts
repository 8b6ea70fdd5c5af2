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
