/**
 * The engine sending to a stalled Linux reader (issue 17 item 5): the reader stops reading, the
 * window closes, the engine probes it; when the reader drains, Linux sends a window update without
 * acknowledging the probe byte. 4.3BSD-Reno then sends one full segment from SND.UNA (the probe
 * byte and new data); the engine used to resend the probe byte alone and wait for its ACK (the
 * retransmission ended at SND.MAX, cwnd was one segment after the idle period, Nagle held the
 * rest), so a loss of that byte cost a retransmission timeout.
 *
 * Checked on the capture at the engine's interface: every time the window reopens after zero-window
 * probes, the engine's next data segment starts at the acknowledgement number of the reopening ACK
 * and is min(MSS, offered window) long. Plus: the stream arrives byte-exact, with and without
 * seeded 2 % loss + reordering. Needs root etc. like tcp-linux.test.ts (else skipped).
 */
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  PeerLab, SeededRandom, whyNoPeer, hasTshark, tsharkReport, waitExit, waitForLine,
  PYTHON, LINUX_PEER, LINUX_IP, LINUX_IP_TEXT, ENGINE_IP, NO_NODE_FAULTS, type NodeSideFaults,
} from './harness.ts';
import type { TcpSocket, TcpConfig } from '../../userland/inet/index.ts';

const SEED = Number(process.env['PEER_SEED'] ?? 7);
const BYTES = 512 * 1024;
const STALLS = 3;
const STALL_S = 1.2;
const CHUNK = 64 * 1024;
const RCVBUF = 8192; // Linux doubles it; the window closes after a few segments
const TIMEOUT_S = 90;
const MSS = 1460;
const ENGINE_TCP: Partial<TcpConfig> = {
  rtoMinNs: Number(process.env['PEER_RTO_MIN_MS'] ?? 200) * 1_000_000,
  // Probe within the stall (4.3BSD's 5 s floor would make every stall a 5 s wait).
  persistMinNs: 300_000_000,
};
const LOSSY: NodeSideFaults = { lossRate: 0.02, reorderRate: 0.02, holdMsMax: 3 };

const skipReason = whyNoPeer();
if (skipReason !== null) console.log(`SKIP test/peer stalled reader: ${skipReason}`);
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ulp-inet-peer-stall-'));

interface Seg { fromEngine: boolean; seq: number; ack: number; window: number; len: number; flags: number }

/** TCP segments of a classic Ethernet pcap between the two test addresses. */
function readSegments(file: string): Seg[] {
  const b = fs.readFileSync(file);
  const out: Seg[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const incl = b.readUInt32LE(off + 8);
    const f = b.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (f.length < 54 || f.readUInt16BE(12) !== 0x0800 || f[23] !== 6) continue;
    const ihl = ((f[14] ?? 0) & 15) * 4;
    const totLen = f.readUInt16BE(16);
    const src = f.readUInt32BE(26);
    const t = 14 + ihl;
    const doff = ((f[t + 12] ?? 0) >> 4) * 4;
    out.push({
      fromEngine: src === ENGINE_IP,
      seq: f.readUInt32BE(t + 4), ack: f.readUInt32BE(t + 8), flags: f[t + 13] ?? 0,
      window: f.readUInt16BE(t + 14), len: totLen - ihl - doff,
    });
  }
  return out;
}

interface Episode { reopenAck: number; window: number; probes: number; first: { seq: number; len: number } | null }

/** Each closed-then-reopened window seen from the engine's side, with the engine's next data segment. */
function episodes(segs: Seg[]): Episode[] {
  const eps: Episode[] = [];
  let closed = false;
  let probes = 0;
  let open: Episode | null = null;
  for (const s of segs) {
    if (!s.fromEngine) {
      if ((s.flags & 0x10) === 0 || (s.flags & 0x02) !== 0) continue; // ACKs only, not the SYN-ACK
      if (s.window === 0) {
        if (!closed) probes = 0;
        closed = true;
        open = null;
      } else if (closed) {
        closed = false;
        open = { reopenAck: s.ack, window: s.window, probes, first: null };
        eps.push(open);
      }
    } else if (s.len > 0) {
      if (closed) probes += 1;
      else if (open !== null && open.first === null) open.first = { seq: s.seq, len: s.len };
    }
  }
  return eps;
}

async function stalledReader(faults: NodeSideFaults, label: string): Promise<void> {
  const lab = new PeerLab(label);
  try {
    await lab.start({ tcp: ENGINE_TCP }, SEED);
    lab.setFaults(faults, SEED * 31 + 5);
    const r = new SeededRandom(SEED);
    const tx = new Uint8Array(BYTES).map(() => r.nextU32() & 0xff);
    const txSha = createHash('sha256').update(tx).digest('hex');
    const port = 5103;
    const peer = lab.spawnInNs(PYTHON, [LINUX_PEER, 'stalled-server', LINUX_IP_TEXT, String(port), '0', String(TIMEOUT_S),
      String(STALLS), String(STALL_S), String(CHUNK), String(RCVBUF)]);
    const peerExit = waitExit(peer, TIMEOUT_S * 1000 + 5000);
    await waitForLine(peer, /LISTENING/, 10_000);
    const s = lab.engine.connect(lab.now(), LINUX_IP, port) as TcpSocket;
    expect(typeof s).toBe('object');
    let written = 0;
    let shut = false;
    let done!: () => void;
    const finished = new Promise<void>((res) => { done = res; });
    lab.app = (now) => {
      if (s.state === 'CLOSED') { done(); return; }
      if (!s.isEstablished && !shut) return;
      while (written < tx.length) {
        const n = s.write(now, tx.subarray(written));
        if (typeof n !== 'number' || n === 0) break;
        written += n;
      }
      if (written === tx.length && !shut) { shut = true; s.shutdown(now); }
      while (s.read(now).length > 0) { /* Linux sends nothing */ }
      if (s.eof && shut) { s.close(now); done(); }
    };
    lab.kick();
    const timeout = new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), TIMEOUT_S * 1000));
    const [peerOut] = await Promise.all([Promise.race([peerExit, timeout]), Promise.race([finished, timeout])]);
    const ctx = `${label}: state=${s.state} err=${s.error} wrote=${written} faults=${JSON.stringify(lab.counts)} conn=${JSON.stringify(s.conn.counters)}`;
    expect(peerOut, ctx).not.toBe('timeout');
    if (peerOut === 'timeout') return;
    const line = peerOut.stdout.trim().split('\n').filter((x) => x.startsWith('{')).pop() ?? '';
    const pr = JSON.parse(line) as { rcvdBytes: number; rcvdSha256: string; seconds: number };
    expect(pr.rcvdBytes, ctx).toBe(BYTES);
    expect(pr.rcvdSha256, ctx).toBe(txSha);
    expect(s.error ?? null, ctx).toBeNull();
    await new Promise((res) => setTimeout(res, 300));
    const pcapFile = path.join(outDir, `${label}.pcap`);
    lab.writeCapture(pcapFile);

    const eps = episodes(readSegments(pcapFile));
    const probed = eps.filter((e) => e.probes > 0);
    console.log(`${label}: ${BYTES} B to a reader stalled ${STALLS}×${STALL_S} s in ${pr.seconds} s; ` +
      `${eps.length} window reopenings (${probed.length} after probes); first segments ${JSON.stringify(eps.map((e) => e.first?.len ?? null))}; ` +
      `engine counters ${JSON.stringify(s.conn.counters)}; faults ${JSON.stringify(lab.counts)}; pcap ${pcapFile}`);
    expect(s.conn.counters.persistProbes, ctx).toBeGreaterThanOrEqual(STALLS);
    expect(probed.length, ctx).toBeGreaterThanOrEqual(faults.lossRate === 0 ? STALLS : 1);
    for (const e of probed) {
      if (e.first === null) continue; // the connection ended (or the capture did) before more data
      // BSD: one segment from SND.UNA, as long as the window and cwnd allow (cwnd is one segment after
      // the idle period), probe byte included.
      expect(e.first.seq, `${ctx} ${JSON.stringify(e)}`).toBe(e.reopenAck);
      expect(e.first.len, `${ctx} ${JSON.stringify(e)}`).toBe(Math.min(MSS, e.window));
    }
    if (hasTshark()) {
      // The merged segment (old probe byte + new data) must not confuse the analysis the
      // SND.MAX rule protects: no "ACKed unseen segment", no gap from the engine.
      const rep = await tsharkReport(pcapFile);
      console.log(`${label}: tshark ${JSON.stringify(rep)}`);
      expect(rep.badIpChecksums + rep.badTcpChecksums, ctx).toBe(0);
      expect(rep.ackedUnseen, ctx).toBe(0);
      expect(rep.lostSegmentFromEngine, ctx).toBe(0);
    }
  } finally {
    await lab.stop();
  }
}

describe.skipIf(skipReason !== null)('inet engine vs a stalled Linux reader (zero window, issue 17 item 5)', () => {
  it('after every zero-window episode the engine sends one full segment from SND.UNA, no faults', async () => {
    await stalledReader(NO_NODE_FAULTS, 'stall-clean');
  });
  it('the same with 2 % loss + reordering; the stream arrives byte-exact', async () => {
    await stalledReader(LOSSY, 'stall-lossy');
  });
});

describe.skipIf(skipReason === null)('stalled Linux reader — unavailable', () => {
  it(`skipped: ${skipReason ?? ''}`, () => { console.log(`SKIP: ${skipReason ?? ''}`); });
});
