/**
 * The test's own view of the Am7990 and a small buffer layout (constants written from the
 * register descriptions, not imported from the model), and helpers that program the chip the way
 * a driver would — through the bus only.
 */
import { crc32 } from '../../../emulator/bits/crc32.ts';
import type { Rig } from './rig.ts';

export const ERR = 0x8000, BABL = 0x4000, CERR = 0x2000, MISS = 0x1000, MERR = 0x0800, RINT = 0x0400, TINT = 0x0200, IDON = 0x0100;
export const INTR = 0x0080, INEA = 0x0040, RXON = 0x0020, TXON = 0x0010, TDMD = 0x0008, STOP = 0x0004, STRT = 0x0002, INIT = 0x0001;
export const M_PROM = 0x8000, M_INTL = 0x0040, M_DRTY = 0x0020, M_COLL = 0x0010, M_DTCR = 0x0008, M_LOOP = 0x0004, M_DTX = 0x0002, M_DRX = 0x0001;
export const OWN = 0x8000, D_ERR = 0x4000, FRAM = 0x2000, OFLO = 0x1000, CRC = 0x0800, R_BUFF = 0x0400, STP = 0x0200, ENP = 0x0100;
export const T_MORE = 0x1000, T_ONE = 0x0800, T_DEF = 0x0400;
export const T3_BUFF = 0x8000, UFLO = 0x4000, LCOL = 0x1000, LCAR = 0x0800, RTRY = 0x0400;

/** Layout: init block at 0, rings at 0x40 / 0x100, buffers from 0x1000. */
export const IB = 0x0000;
export const RX_RING = 0x0040;
export const TX_RING = 0x0100;
export const RX_BUF = 0x1000;
export const TX_BUF = 0x8000;
export const BUF = 0x600;

export const bcnt = (n: number): number => 0xf000 | (-n & 0xfff);

export interface Setup {
  readonly mode?: number;
  readonly rxLog2?: number;
  readonly txLog2?: number;
  readonly rxBuf?: number;
  readonly ladrf?: readonly number[];
  readonly mac?: Uint8Array;
  /** Raw ring-length words override (misuse tests). */
  readonly rlenWord?: number;
  readonly rdraLo?: number;
  readonly giveRx?: boolean;
}

export function rmd(i: number): number {
  return RX_RING + 8 * i;
}
export function tmd(i: number): number {
  return TX_RING + 8 * i;
}

/** Steps 4-6 of the driver sequence: CSR3, init block, rings, CSR1/2 (chip must be stopped). */
export function buildInit(r: Rig, s: Setup = {}): void {
  const mac = s.mac ?? new Uint8Array([0x08, 0x00, 0x2b, 0x12, 0x34, 0x56]);
  const rxLog2 = s.rxLog2 ?? 2;
  const txLog2 = s.txLog2 ?? 2;
  const rxBuf = s.rxBuf ?? BUF;
  r.wcsr(3, 0);
  r.w16(IB + 0, s.mode ?? 0);
  for (let i = 0; i < 3; i++) r.w16(IB + 2 + 2 * i, mac[2 * i]! | (mac[2 * i + 1]! << 8));
  const ladrf = s.ladrf ?? [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) r.w16(IB + 8 + 2 * i, ladrf[i]!);
  r.w16(IB + 0x10, s.rdraLo ?? RX_RING);
  r.w16(IB + 0x12, s.rlenWord ?? rxLog2 << 13);
  r.w16(IB + 0x14, TX_RING);
  r.w16(IB + 0x16, txLog2 << 13);
  for (let i = 0; i < 1 << rxLog2; i++) {
    r.w16(rmd(i) + 0, (RX_BUF + rxBuf * i) & 0xffff);
    r.w16(rmd(i) + 4, bcnt(rxBuf));
    r.w16(rmd(i) + 6, 0);
    r.w16(rmd(i) + 2, s.giveRx === false ? 0 : OWN);
  }
  for (let i = 0; i < 1 << txLog2; i++) {
    r.w16(tmd(i) + 0, TX_BUF + BUF * i);
    r.w16(tmd(i) + 4, 0xf000);
    r.w16(tmd(i) + 6, 0);
    r.w16(tmd(i) + 2, 0);
  }
  r.wcsr(1, IB & 0xffff);
  r.wcsr(2, 0);
}

/** STOP, build, INIT, wait for IDON, start (NetBSD style). Leaves RAP = 0. */
export function bringUp(r: Rig, s: Setup = {}, start = INEA | STRT | IDON): void {
  r.wcsr(0, STOP);
  buildInit(r, s);
  r.wcsr(0, INIT);
  r.step(r.kit.costs.get('lance.initNs'));
  r.rap(0);
  r.wrdp(start);
}

/** Put a frame in TX descriptor i and hand it over (no TDMD). */
export function queueTx(r: Rig, i: number, data: Uint8Array, flags = STP | ENP): void {
  r.wbytes(TX_BUF + BUF * i, data);
  r.w16(tmd(i) + 4, bcnt(data.length));
  r.w16(tmd(i) + 6, 0);
  r.w16(tmd(i) + 2, OWN | flags);
}

/** Ns on the wire for a frame of `bytes` (DA..FCS) including preamble. */
export const wireNs = (bytes: number): number => (64 + 8 * bytes) * 100;

export function fcsOf(data: Uint8Array): Uint8Array {
  const c = crc32(data);
  return new Uint8Array([c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24]);
}
