/**
 * Classic libpcap savefiles with nanosecond timestamps (magic 0xA1B23C4D, version 2.4,
 * little-endian; ../shared/ECOSYSTEM.md §2.1). Built in memory: the composition root writes the
 * bytes to disk, so nothing in the simulated trees does I/O. Frames are stored without FCS.
 */
import { NS_PER_S } from '../sim/time.ts';

export const LINKTYPE_ETHERNET = 1;
/** LINKTYPE_USER0: the AN1 link (no registered link type exists; ECOSYSTEM.md §2.3). */
export const LINKTYPE_USER0 = 147;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Bytes kept per record at most, and records kept per file at most (bounded volume). */
export const PCAP_SNAPLEN = 65535;
export const PCAP_RECORDS_MAX = 2_000_000;

/** Whether a captured frame was received by the interface ('in') or sent by it ('out'). */
export type CaptureDirection = 'in' | 'out';

/** Where a capture tap puts the frames it sees (a pcap or a pcapng writer). */
export interface CaptureSink {
  record(timeNs: number, frame: Uint8Array, originalLength?: number, direction?: CaptureDirection): void;
}

/** Classic pcap has no field for the direction: it is dropped. */
export class PcapWriter implements CaptureSink {
  private readonly chunks: Uint8Array[] = [];
  private bytesTotal = 0;
  recordsTotal = 0;
  recordsDropped = 0;

  constructor(readonly linkType: number) {
    const h = new DataView(new ArrayBuffer(24));
    h.setUint32(0, PCAP_MAGIC_NS, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setUint32(8, 0, true);
    h.setUint32(12, 0, true);
    h.setUint32(16, PCAP_SNAPLEN, true);
    h.setUint32(20, linkType, true);
    this.push(new Uint8Array(h.buffer));
  }

  /** Append one frame seen at simulated time `timeNs` (bytes without FCS). */
  record(timeNs: number, frame: Uint8Array, originalLength = frame.length): void {
    if (this.recordsTotal >= PCAP_RECORDS_MAX) {
      this.recordsDropped++;
      return;
    }
    const caplen = Math.min(frame.length, PCAP_SNAPLEN);
    const rec = new Uint8Array(16 + caplen);
    const v = new DataView(rec.buffer);
    v.setUint32(0, Math.floor(timeNs / NS_PER_S), true);
    v.setUint32(4, timeNs % NS_PER_S, true);
    v.setUint32(8, caplen, true);
    v.setUint32(12, originalLength, true);
    rec.set(frame.subarray(0, caplen), 16);
    this.push(rec);
    this.recordsTotal++;
  }

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.bytesTotal += chunk.length;
  }

  /** The whole file. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.bytesTotal);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
