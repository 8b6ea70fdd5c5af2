/**
 * Campaign family `device`: random driver-register sequences against the register models, through
 * the host's physical bus only (the devkit, emulator/devkit), as a buggy or hostile driver would
 * program them. Half the scenarios drive the PMAD-AA's LANCE, half the AN1.
 *
 * LANCE (after test/device/lance/csr0-invariants.test.ts): bring the chip up as the data sheet
 * says, then any mix of CSR0 writes, RAP/RDP writes, board-memory writes over the init block and
 * rings, frames arriving, frames queued and time passing. After every step CSR0's summaries hold
 * (ERR = BABL|CERR|MISS|MERR, INTR = BABL|MISS|MERR|RINT|TINT|IDON), the slot's interrupt line
 * is INTR ∧ INEA, a stopped chip reads exactly STOP.
 *
 * AN1 (after test/device/an1/demux.property.test.ts and misuse.test.ts): rings on random BQIs,
 * enabled or not, with buffers that may be unaligned, empty or outside RAM; frames with any BQI
 * field. Each frame lands in the next slot of the ring its BQI names when enabled (else BQI 0's)
 * with the status the register map defines (OK, REDIRECTED, TRUNCATED, BUFFER_ERROR, DMA_ERROR),
 * full rings drop and count, the error counters and the guest-error count equal the bad
 * descriptors used, RXERR is set exactly when one was, and no byte of RAM outside the reported
 * lengths changes.
 */
import { crc32, writeFcs } from '../../emulator/bits/crc32.ts';
import { AN1_ISR, AN1_RXST, createDevkit, CSR0 } from '../../emulator/devkit/index.ts';
import { createBqiFirmware } from '../../firmware/an1/main.ts';
import type { Checks } from './check.ts';
import type { Draw } from './draw.ts';

const { ERR, BABL, CERR, MISS, MERR, RINT, TINT, IDON, INTR, INEA, STOP, STRT, INIT } = CSR0;
const DUT_MAC = Uint8Array.of(0x08, 0x00, 0x2b, 0x12, 0x34, 0x56);
const PEER_MAC = Uint8Array.of(0x08, 0x00, 0x2b, 0xaa, 0xbb, 0xcc);
// The LANCE buffer layout (test/device/lance/layout.ts): init block at 0, rings at 0x40 / 0x100.
const RX_RING = 0x40, TX_RING = 0x100, RX_BUF = 0x1000, TX_BUF = 0x8000, BUF = 0x600, OWN = 0x8000, STP = 0x0200, ENP = 0x0100;
const bcnt = (n: number): number => 0xf000 | (-n & 0xfff);

function ethFrame(dst: Uint8Array, src: Uint8Array, length: number): Uint8Array {
  const f = new Uint8Array(length);
  f.set(dst.subarray(0, Math.min(6, length)), 0);
  if (length > 6) f.set(src.subarray(0, Math.min(6, length - 6)), 6);
  if (length > 13) {
    f[12] = 0x88;
    f[13] = 0xb5;
  }
  for (let i = 14; i < length; i++) f[i] = (i * 7) & 0xff;
  return f;
}

export function lanceScenario(d: Draw, c: Checks): void {
  const kit = createDevkit({ seed: d.int(1, 1 << 20), lance: { slot: 0, mac: DUT_MAC } });
  const bus = kit.bus;
  const base = kit.lance.base;
  const rap = (n: number): void => bus.write16(base + 0x100004, n);
  const wrdp = (v: number): void => bus.write16(base + 0x100000, v);
  const wcsr = (n: number, v: number): void => {
    rap(n);
    wrdp(v);
  };
  const csr = (n: number): number => {
    rap(n);
    return bus.read16(base + 0x100000);
  };
  const w16 = (a: number, v: number): void => bus.write16(base + a, v);
  // Bring-up (the data sheet's sequence).
  wcsr(0, STOP);
  wcsr(3, 0);
  w16(0, 0);
  for (let i = 0; i < 3; i++) w16(2 + 2 * i, DUT_MAC[2 * i]! | (DUT_MAC[2 * i + 1]! << 8));
  for (let i = 0; i < 4; i++) w16(8 + 2 * i, 0);
  w16(0x10, RX_RING);
  w16(0x12, 2 << 13);
  w16(0x14, TX_RING);
  w16(0x16, 2 << 13);
  for (let i = 0; i < 4; i++) {
    w16(RX_RING + 8 * i, (RX_BUF + BUF * i) & 0xffff);
    w16(RX_RING + 8 * i + 4, bcnt(BUF));
    w16(RX_RING + 8 * i + 6, 0);
    w16(RX_RING + 8 * i + 2, OWN);
    w16(TX_RING + 8 * i, TX_BUF + BUF * i);
    w16(TX_RING + 8 * i + 4, 0xf000);
    w16(TX_RING + 8 * i + 6, 0);
    w16(TX_RING + 8 * i + 2, 0);
  }
  wcsr(1, 0);
  wcsr(2, 0);
  wcsr(0, INIT);
  kit.runFor(kit.costs.get('lance.initNs'));
  rap(0);
  wrdp(INEA | STRT | IDON);

  const steps = d.int(1, 40);
  for (let s = 0; s < steps; s++) {
    const k = d.int(0, 6);
    if (k === 0) wcsr(0, d.int(0, 0xffff));
    else if (k === 1) rap(d.int(0, 3));
    else if (k === 2) wrdp(d.int(0, 0xffff));
    else if (k === 3) w16(d.int(0, 0x17f) * 2, d.int(0, 0xffff));
    else if (k === 4) {
      const len = d.int(20, 1600);
      const mine = d.bool();
      if (kit.ethernetPeer.pending === 0) kit.ethernetPeer.send(ethFrame(mine ? DUT_MAC : PEER_MAC, PEER_MAC, len));
    } else if (k === 5) {
      const i = d.int(0, 3);
      const len = d.int(10, 1700);
      const flags = d.pick([0x0300, 0x0200, 0x0100, 0]);
      bus.writeBlock(base + TX_BUF + BUF * i, ethFrame(PEER_MAC, DUT_MAC, len));
      w16(TX_RING + 8 * i + 4, bcnt(len));
      w16(TX_RING + 8 * i + 6, 0);
      w16(TX_RING + 8 * i + 2, OWN | (flags & (STP | ENP)));
    } else kit.runFor(d.int(0, 3_000_000));
    const v = csr(0);
    c.check('lance.csr0.err-summary', ((v & ERR) !== 0) === ((v & (BABL | CERR | MISS | MERR)) !== 0), () => `CSR0 0x${v.toString(16)} after step ${s}`);
    c.check('lance.csr0.intr-summary', ((v & INTR) !== 0) === ((v & (BABL | MISS | MERR | RINT | TINT | IDON)) !== 0), () => `CSR0 0x${v.toString(16)} after step ${s}`);
    c.check('lance.irq-line', kit.interruptAsserted(0) === ((v & INTR) !== 0 && (v & INEA) !== 0), () => `line ${kit.interruptAsserted(0)} with CSR0 0x${v.toString(16)} after step ${s}`);
    if ((v & STOP) !== 0) c.check('lance.stop-alone', v === STOP, () => `CSR0 0x${v.toString(16)} after step ${s}`);
  }
}

const AN1_RAM = 4 * 1024 * 1024;
const CANARY = 0x5a;
const regionBase = (bqi: number): number => 0x80000 + bqi * 0x8000;
const HDR = 20;

function an1Frame(dstBqi: number, len: number, seed: number): Uint8Array {
  const f = new Uint8Array(HDR + len + 4);
  f[0] = 0x12;
  f[1] = 0x34;
  f[2] = (dstBqi >>> 8) & 0xff;
  f[3] = dstBqi & 0xff;
  for (let i = 0; i < 6; i++) {
    f[4 + i] = 0xa0 + i;
    f[10 + i] = 0xb0 + i;
  }
  f[16] = 0x88;
  f[17] = 0xb5;
  for (let i = 0; i < len; i++) f[HDR + i] = (i * 7 + seed) & 0xff;
  writeFcs(f, HDR + len, crc32(f.subarray(0, HDR + len)));
  return f;
}

type Buf = { addr: number; len: number; kind: 'ok' | 'unaligned' | 'empty' | 'outside' };

export function an1Scenario(d: Draw, c: Checks): void {
  const kit = createDevkit({ seed: d.int(1, 1 << 20), ramBytes: AN1_RAM, an1: { firmware: createBqiFirmware(), slot: 1, uid: 0x08002b_000042 } });
  const an1 = kit.an1;
  const peer = kit.linkPeer;
  peer.gapNsMin = 70_000; // longer than the receive path of the largest frame: no overruns
  kit.backdoor.pokeBlock(0, new Uint8Array(AN1_RAM).fill(CANARY));
  an1.write('CSR', 0x2); // RXEN

  const bufOf = (bqi: number, k: number, bufLen: number): Buf => {
    const kind = d.weighted<Buf['kind']>([[12, 'ok'], [1, 'unaligned'], [1, 'empty'], [1, 'outside']]);
    const addr = regionBase(bqi) + k * 0x1000;
    if (kind === 'unaligned') return { addr: addr + d.int(1, 3), len: bufLen, kind };
    if (kind === 'empty') return { addr, len: 0, kind };
    if (kind === 'outside') return { addr: AN1_RAM + d.int(0, 1000) * 0x1000, len: bufLen, kind };
    return { addr, len: bufLen, kind };
  };
  type Ring = { bqi: number; size: number; bufs: Buf[]; enabled: boolean; used: number; drops: number };
  const rings = new Map<number, Ring>();
  const r0: Ring = { bqi: 0, size: 64, bufs: [], enabled: true, used: 0, drops: 0 };
  const n0 = d.int(0, 8);
  for (let k = 0; k < n0; k++) r0.bufs.push(bufOf(0, k, 1600));
  rings.set(0, r0);
  an1.openRing(0, 6, r0.bufs.map((b) => ({ addr: b.addr, length: b.len })), true);
  const nRings = d.int(0, 5);
  for (let i = 0; i < nRings; i++) {
    const bqi = d.int(1, 63);
    if (rings.has(bqi)) continue;
    const log2 = d.int(0, 3);
    const size = 1 << log2;
    const posted = d.int(0, size);
    const bufLen = d.pick([64, 300, 1520, 1600]);
    const r: Ring = { bqi, size, bufs: [], enabled: d.bool(), used: 0, drops: 0 };
    for (let k = 0; k < posted; k++) r.bufs.push(bufOf(bqi, k, bufLen));
    rings.set(bqi, r);
    an1.openRing(bqi, log2, r.bufs.map((b) => ({ addr: b.addr, length: b.len })), r.enabled);
  }
  const frames = d.array(0, 24, () => ({
    bqi: d.weighted([[6, () => d.int(0, 70)], [1, () => 0xffff], [1, () => d.int(0, 0xffff)]])(),
    len: d.int(0, 1500),
    seed: d.int(0, 255),
  }));

  // The model's expectation, frame by frame.
  const expected: { bqi: number; slot: number; status: number; length: number }[] = [];
  const written: { addr: number; bytes: Uint8Array }[] = [];
  let descErrs = 0;
  let dmaErrs = 0;
  const sent = frames.map((f) => an1Frame(f.bqi, f.len, f.seed));
  frames.forEach((f, i) => {
    const named = rings.get(f.bqi);
    const target = named !== undefined && named.enabled ? named : r0;
    if (target.used >= target.bufs.length) {
      target.drops++;
      return;
    }
    const slot = target.used++;
    const buf = target.bufs[slot]!;
    const whole = sent[i]!.subarray(0, sent[i]!.length - 4);
    if (buf.kind === 'unaligned' || buf.kind === 'empty') {
      descErrs++;
      expected.push({ bqi: target.bqi, slot, status: AN1_RXST.BUFFER_ERROR, length: 0 });
    } else if (buf.kind === 'outside') {
      dmaErrs++;
      expected.push({ bqi: target.bqi, slot, status: AN1_RXST.DMA_ERROR, length: 0 });
    } else {
      const length = Math.min(whole.length, buf.len);
      const status = length < whole.length ? AN1_RXST.TRUNCATED : target.bqi !== f.bqi ? AN1_RXST.REDIRECTED : AN1_RXST.OK;
      expected.push({ bqi: target.bqi, slot, status, length });
      written.push({ addr: buf.addr, bytes: whole.subarray(0, length) });
    }
  });
  for (const f of sent) peer.send(f, { crc: 'none' });
  const outcome = kit.sched.runUntil(() => false, { nsMax: 50_000_000 });
  c.check('an1.settles', outcome === 'idle', () => `the bench did not settle in 50 ms (${outcome})`);

  const got = an1.popCompletions(1000);
  c.check('an1.completions', got.length === expected.length && got.every((g, i) => {
    const e = expected[i]!;
    return g.bqi === e.bqi && g.slot === e.slot && g.status === e.status && g.length === e.length;
  }), () => `completions ${JSON.stringify(got)} expected ${JSON.stringify(expected)}`);
  for (const w of written) {
    const ram = kit.backdoor.peekBlock(w.addr, w.bytes.length);
    c.check('an1.dma-bytes', ram.every((x, i) => x === w.bytes[i]), () => `buffer at 0x${w.addr.toString(16)} does not hold the frame`);
  }
  // Nothing outside the reported lengths was written.
  const ram = kit.backdoor.peekBlock(0, AN1_RAM);
  for (const w of written) ram.fill(CANARY, w.addr, w.addr + w.bytes.length);
  const words = new Uint32Array(ram.buffer);
  const canaryWord = CANARY * 0x01010101;
  let firstBad = -1;
  for (let i = 0; i < words.length; i++) {
    if (words[i] !== canaryWord) {
      firstBad = i * 4;
      break;
    }
  }
  c.check('an1.no-stray-dma', firstBad < 0, () => `RAM changed at 0x${firstBad.toString(16)}`);
  let drops = 0;
  for (const r of rings.values()) {
    c.equal('an1.bq-drops', an1.readBqi(r.bqi, 'BQ_DROPS'), r.drops, `BQI ${r.bqi} BQ_DROPS`);
    c.equal('an1.bq-filled', an1.readBqi(r.bqi, 'BQ_FILLED'), r.used, `BQI ${r.bqi} BQ_FILLED`);
    drops += r.drops;
  }
  c.equal('an1.drops', an1.read('DROPS'), drops, 'DROPS');
  c.equal('an1.overruns', an1.read('OVERRUNS'), 0, 'OVERRUNS');
  c.equal('an1.descerrs', an1.read('DESCERRS'), descErrs, 'DESCERRS');
  c.equal('an1.dmaerrs', an1.read('DMAERRS'), dmaErrs, 'DMAERRS');
  c.equal('an1.rxerr-bit', (an1.read('ISR') & AN1_ISR.RXERR) !== 0, descErrs + dmaErrs > 0, 'ISR.RXERR');
  c.equal('an1.guest-errors', kit.guestErrorCount, descErrs + dmaErrs, 'guest errors');
}

export function deviceScenario(d: Draw, c: Checks): void {
  if (d.bool()) lanceScenario(d, c);
  else an1Scenario(d, c);
}
