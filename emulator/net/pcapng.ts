/**
 * pcapng capture files (draft-ietf-opsawg-pcapng; ../shared/ECOSYSTEM.md §2.2), one interface per
 * file: a Section Header Block, one Interface Description Block naming the interface (`if_name`,
 * `if_description`) with nanosecond timestamps (`if_tsresol` = 9), then one Enhanced Packet Block
 * per frame with its direction (`epb_flags`: inbound or outbound) when known. Little-endian.
 * Built in memory, like pcap.ts: the composition root writes the bytes, nothing here does I/O.
 * Frames are stored without FCS/CRC.
 */
import { PCAP_RECORDS_MAX, PCAP_SNAPLEN, type CaptureDirection, type CaptureSink } from './pcap.ts';

export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 0x00000001;
export const PCAPNG_EPB = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Option codes. */
export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const EPB_FLAGS = 2;

const utf8 = new TextEncoder();
const pad4 = (n: number): number => (n + 3) & ~3;

/** Options as `code, length, value padded to 4`, closed by opt_endofopt (none: no bytes at all). */
function options(list: readonly (readonly [number, Uint8Array])[]): Uint8Array {
  if (list.length === 0) return new Uint8Array(0);
  const out = new Uint8Array(list.reduce((n, [, v]) => n + 4 + pad4(v.length), 0) + 4);
  const dv = new DataView(out.buffer);
  let at = 0;
  for (const [code, value] of list) {
    dv.setUint16(at, code, true);
    dv.setUint16(at + 2, value.length, true);
    out.set(value, at + 4);
    at += 4 + pad4(value.length);
  }
  // opt_endofopt: code 0, length 0 (already zero).
  return out;
}

/** A block: type, total length, body padded to 4, total length again. */
function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + pad4(body.length);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(4, total, true);
  out.set(body, 8);
  dv.setUint32(total - 4, total, true);
  return out;
}

const text = (s: string): Uint8Array => utf8.encode(s);

/** The interface a file describes. */
export interface PcapngInterface {
  readonly linkType: number;
  /** `if_name`: Wireshark shows it as the frame's interface name. */
  readonly name: string;
  /** `if_description`, free text. */
  readonly description?: string;
}

/** What the section header says (`shb_userappl`, a comment). */
export interface PcapngSection {
  readonly userappl?: string;
  readonly comment?: string;
}

export class PcapngWriter implements CaptureSink {
  private readonly chunks: Uint8Array[] = [];
  private bytesTotal = 0;
  recordsTotal = 0;
  recordsDropped = 0;

  constructor(readonly iface: PcapngInterface) {}

  get linkType(): number {
    return this.iface.linkType;
  }

  /** Append one frame seen at simulated time `timeNs` (bytes without FCS), sent ('out') or received ('in'). */
  record(timeNs: number, frame: Uint8Array, originalLength = frame.length, direction?: CaptureDirection): void {
    if (this.recordsTotal >= PCAP_RECORDS_MAX) {
      this.recordsDropped++;
      return;
    }
    const caplen = Math.min(frame.length, PCAP_SNAPLEN);
    const opts = direction === undefined ? new Uint8Array(0) : options([[EPB_FLAGS, flagsWord(direction)]]);
    const body = new Uint8Array(20 + pad4(caplen) + opts.length);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, 0, true); // interface 0: the file's only IDB
    // A 64-bit count of nanoseconds (if_tsresol 9), high word first.
    dv.setUint32(4, Math.floor(timeNs / 2 ** 32), true);
    dv.setUint32(8, timeNs % 2 ** 32, true);
    dv.setUint32(12, caplen, true);
    dv.setUint32(16, originalLength, true);
    body.set(frame.subarray(0, caplen), 20);
    body.set(opts, 20 + pad4(caplen));
    const b = block(PCAPNG_EPB, body);
    this.chunks.push(b);
    this.bytesTotal += b.length;
    this.recordsTotal++;
  }

  /** The whole file: section header, the interface, the packets. */
  bytes(section: PcapngSection = {}): Uint8Array {
    const shbOpts: [number, Uint8Array][] = [];
    if (section.comment !== undefined) shbOpts.push([OPT_COMMENT, text(section.comment)]);
    if (section.userappl !== undefined) shbOpts.push([SHB_USERAPPL, text(section.userappl)]);
    const so = options(shbOpts);
    const shbBody = new Uint8Array(16 + so.length);
    const s = new DataView(shbBody.buffer);
    s.setUint32(0, PCAPNG_BYTE_ORDER_MAGIC, true);
    s.setUint16(4, 1, true);
    s.setUint16(6, 0, true);
    // Section length −1: not given (the packets follow the header directly).
    s.setInt32(8, -1, true);
    s.setInt32(12, -1, true);
    shbBody.set(so, 16);
    const ifOpts: [number, Uint8Array][] = [[IF_NAME, text(this.iface.name)]];
    if (this.iface.description !== undefined) ifOpts.push([IF_DESCRIPTION, text(this.iface.description)]);
    ifOpts.push([IF_TSRESOL, Uint8Array.of(9)]);
    const io = options(ifOpts);
    const idbBody = new Uint8Array(8 + io.length);
    const i = new DataView(idbBody.buffer);
    i.setUint16(0, this.iface.linkType, true);
    i.setUint16(2, 0, true);
    i.setUint32(4, PCAP_SNAPLEN, true);
    idbBody.set(io, 8);
    const head = [block(PCAPNG_SHB, shbBody), block(PCAPNG_IDB, idbBody)];
    const out = new Uint8Array(head.reduce((n, b) => n + b.length, 0) + this.bytesTotal);
    let at = 0;
    for (const c of [...head, ...this.chunks]) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** epb_flags: bits 0–1 the direction, 01 inbound, 10 outbound. */
function flagsWord(direction: CaptureDirection): Uint8Array {
  const w = new Uint8Array(4);
  new DataView(w.buffer).setUint32(0, direction === 'in' ? 1 : 2, true);
  return w;
}
