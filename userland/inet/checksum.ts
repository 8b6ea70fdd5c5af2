/**
 * The Internet checksum (RFC 1071): ones'-complement sum of 16-bit big-endian words.
 * `sum16` returns the folded, un-complemented partial sum so headers and pseudo-headers combine.
 */
import type { Ipv4Addr } from './result.ts';

export function sum16(b: Uint8Array, start: number, end: number, initial = 0): number {
  let s = initial;
  let i = start;
  // 32-bit accumulators stay exact: a 64 KB buffer adds at most 2^15 words of < 2^16.
  for (; i + 1 < end; i += 2) s += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  if (i < end) s += (b[i] ?? 0) << 8; // odd length: pad with a zero byte (RFC 1071 §1)
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

export function finish(s: number): number {
  return ~s & 0xffff;
}

export function internetChecksum(b: Uint8Array, start = 0, end = b.length): number {
  return finish(sum16(b, start, end));
}

/** RFC 793 §3.1 pseudo-header: src, dst, zero, protocol, TCP length. */
export function pseudoHeaderSum(src: Ipv4Addr, dst: Ipv4Addr, protocol: number, length: number): number {
  let s = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}
