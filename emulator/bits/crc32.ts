/**
 * CRC-32 (AUTODIN-II / IEEE 802.3 FCS): polynomial 0x04C11DB7, reflected 0xEDB88320, preset
 * ~0, complemented, sent least significant bit first (hw/lance-pmad-aa.md §6.1).
 * Check value of "123456789" is 0xCBF43926; running the CRC over a frame followed by its FCS
 * leaves the residue 0xDEBB20E3 (before the final complement: 0x2144DF1C after it).
 */
/**
 * Slicing-by-8 tables (Intel's method, as in zlib): T[0] is the byte-at-a-time table; T[k][n] is
 * the CRC of byte n followed by k zero bytes, so eight bytes are folded in with eight lookups.
 * The result is the same function as the byte loop; only faster.
 */
const T = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = T;
  let c = 0xffffffff;
  let i = start;
  for (const stop = end - 8; i <= stop; i += 8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    const hi = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    c =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + (hi & 0xff)]! ^
      t[512 + ((hi >>> 8) & 0xff)]! ^
      t[256 + ((hi >>> 16) & 0xff)]! ^
      t[hi >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Append the FCS little-end first (the order it goes on the wire) at `at`. */
export function writeFcs(frame: Uint8Array, at: number, fcs: number): void {
  frame[at] = fcs & 0xff;
  frame[at + 1] = (fcs >>> 8) & 0xff;
  frame[at + 2] = (fcs >>> 16) & 0xff;
  frame[at + 3] = (fcs >>> 24) & 0xff;
}

/** True when the last 4 bytes of `frame[0, length)` are the correct FCS of the rest. */
export function fcsOk(frame: Uint8Array, length = frame.length): boolean {
  if (length < 4) return false;
  const want = crc32(frame, 0, length - 4);
  const got =
    (frame[length - 4]! | (frame[length - 3]! << 8) | (frame[length - 2]! << 16) | (frame[length - 1]! << 24)) >>> 0;
  return want === got;
}
