/**
 * Live mode without a TAP (issue 17 item 4): the live host (registry + library apps over the LANCE)
 * and its external station, driven in simulated time by an inet engine standing in for Linux
 * (deterministic, no root); the wall-clock pacer with a fake clock; the command's usage errors.
 * The same paths against the real Linux TCP: test/peer/live-linux.test.ts.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EthernetPeer } from '../../emulator/devkit/peers.ts';
import { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import { EXTERNAL_FRAME_MIN, ExternalStation } from '../../emulator/net/external-station.ts';
import { fcsOk } from '../../emulator/bits/crc32.ts';
import { Rng } from '../../emulator/sim/rng.ts';
import { Scheduler } from '../../emulator/sim/scheduler.ts';
import { Trace } from '../../emulator/sim/trace.ts';
import { HostStack, type TcpSocket } from '../../userland/inet/index.ts';
import { buildLiveHost, defaultMac, Pacer, parseApp, parseHostIp, parseMac, readRecord, replayLive, type LiveApp, type LiveHost } from '../../studies/live.ts';
import { LINKTYPE_ETHERNET, PcapWriter } from '../../emulator/net/pcap.ts';
import { main } from '../../studies/cli.ts';

const FAR_IP = 0x0a090001; // 10.9.0.1, "Linux"
const LIVE_IP = 0x0a090002; // 10.9.0.2
const FAR_MAC = 0x02_00_00_09_00_01;

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The far end: an inet engine on the live host's external station, run in simulated time. */
class FarEnd {
  readonly stack: HostStack;
  readonly frames: { dir: 'in' | 'out'; frame: Uint8Array }[] = [];
  constructor(readonly live: LiveHost) {
    let r = 12345;
    this.stack = new HostStack({ mac: FAR_MAC, ip: FAR_IP, random: { nextU32: () => (r = (Math.imul(r, 1664525) + 1013904223) >>> 0) } });
    live.station.onFrame = (frame) => {
      this.frames.push({ dir: 'in', frame });
      this.stack.receiveFrame(live.world.sched.now, frame);
      this.flush();
    };
  }
  flush(): void {
    for (const f of this.stack.takeFrames()) {
      this.frames.push({ dir: 'out', frame: f });
      this.live.station.inject(f);
    }
  }
  /** Run the world in 100 µs steps, the engine's timers and `app` after each, until `done` or `limitNs`. */
  run(app: (now: number) => void, done: () => boolean, limitNs: number): void {
    const sched = this.live.world.sched;
    const end = sched.now + limitNs;
    while (!done() && sched.now < end) {
      sched.runFor(100_000);
      this.stack.poll(sched.now);
      app(sched.now);
      this.flush();
    }
  }
  /** ARP frames of `op` (1 request, 2 reply) in direction `dir`. */
  arps(dir: 'in' | 'out', op: number): number {
    return this.frames.filter((f) => f.dir === dir && f.frame[12] === 0x08 && f.frame[13] === 0x06 && f.frame[21] === op).length;
  }
}

/** Write `tx`, shut down, read to EOF; `rx` holds what came back. */
class Bulk {
  written = 0;
  shut = false;
  readonly rx: Uint8Array[] = [];
  rcvd = 0;
  eof = false;
  constructor(readonly tx: Uint8Array, readonly sock: () => TcpSocket | null) {}
  run(now: number): void {
    const s = this.sock();
    if (s === null || !s.isEstablished) return; // synchronized: ESTABLISHED or any state after it
    while (this.written < this.tx.length) {
      const n = s.write(now, this.tx.subarray(this.written, Math.min(this.tx.length, this.written + 16384)));
      if (typeof n !== 'number' || n === 0) break;
      this.written += n;
    }
    if (this.written === this.tx.length && !this.shut) {
      this.shut = true;
      s.shutdown(now);
    }
    for (;;) {
      const d = s.read(now);
      if (d.length === 0) break;
      this.rx.push(d.slice());
      this.rcvd += d.length;
    }
    if (s.eof) this.eof = true;
  }
  echoed(): boolean {
    const got = new Uint8Array(this.rcvd);
    let at = 0;
    for (const c of this.rx) { got.set(c, at); at += c.length; }
    return this.rcvd === this.tx.length && Buffer.from(got).equals(Buffer.from(this.tx));
  }
}

const host = (apps: LiveApp[], seed = 1): LiveHost => buildLiveHost({ seed, ip: LIVE_IP, mac: defaultMac(LIVE_IP), apps });
const SIZE = 96 * 1024;

describe('the live host in simulated time (an inet engine as the outside world)', () => {
  it('an outside client moves 96 KB each way through echo:7, byte-exact; the outside ARPs the library host', () => {
    const live = host([{ kind: 'echo', port: 7 }]);
    const far = new FarEnd(live);
    far.run(() => {}, () => live.tasks[0]!.log.some((l) => l.includes('listening')), 100e6);
    const s = far.stack.connect(live.world.sched.now, LIVE_IP, 7);
    if (typeof s === 'string') throw new Error(s);
    far.flush();
    const bulk = new Bulk(pattern(SIZE, 3), () => s);
    far.run((now) => bulk.run(now), () => bulk.eof, 20e9);
    expect(bulk.echoed()).toBe(true);
    far.run(() => {}, () => live.tasks[0]!.log.some((l) => l.startsWith('echo: closed')), 2e9);
    expect(live.tasks[0]!.log).toContain(`echo: closed conn=1 bytes=${SIZE} error=0`);
    expect(far.arps('out', 1)).toBeGreaterThanOrEqual(1); // the outside asked for 10.9.0.2
    expect(far.arps('in', 2)).toBeGreaterThanOrEqual(1); // the registry's engine answered
    expect(far.stack.arp.lookup(live.world.sched.now, LIVE_IP)).toBe(defaultMac(LIVE_IP));
    expect(live.station.counters.rejected).toBe(0);
  });

  it('the echo server serves three outside clients at once (poll), each byte-exact', () => {
    const live = host([{ kind: 'echo', port: 7 }]);
    const far = new FarEnd(live);
    far.run(() => {}, () => live.tasks[0]!.log.some((l) => l.includes('listening')), 100e6);
    const bulks = [0, 1, 2].map((i) => {
      const s = far.stack.connect(live.world.sched.now, LIVE_IP, 7);
      if (typeof s === 'string') throw new Error(s);
      return new Bulk(pattern(128 * 1024 + i * 1000, 20 + i), () => s);
    });
    far.flush();
    far.run((now) => bulks.forEach((b) => b.run(now)), () => bulks.every((b) => b.eof), 20e9);
    expect(bulks.map((b) => b.echoed())).toEqual([true, true, true]);
    const log = live.tasks[0]!.log;
    // All three were accepted before the first finished: served together, not one after another.
    const firstClose = log.findIndex((l) => l.startsWith('echo: closed'));
    expect(log.slice(0, firstClose).filter((l) => l.startsWith('echo: accepted'))).toHaveLength(3);
    far.run(() => {}, () => live.tasks[0]!.log.filter((l) => l.startsWith('echo: closed')).length === 3, 2e9);
    expect(live.tasks[0]!.log.filter((l) => / bytes=\d+ error=0$/.test(l))).toHaveLength(3);
  });

  it('connect:10.9.0.1:5001 opens from the library to an outside listener (the library host ARPs the outside) and echoes 96 KB byte-exact', () => {
    const live = host([{ kind: 'connect', ip: FAR_IP, port: 5001 }]);
    const far = new FarEnd(live);
    const l = far.stack.listen(5001);
    if (typeof l === 'string') throw new Error(l);
    let sock: TcpSocket | null = null;
    const bulk = new Bulk(pattern(SIZE, 4), () => sock);
    far.run((now) => { sock ??= l.accept(); bulk.run(now); }, () => bulk.eof, 20e9);
    expect(bulk.echoed()).toBe(true);
    far.run(() => {}, () => !live.tasks[0]!.alive, 3e9);
    expect(live.tasks[0]!.log).toEqual(['connect: connected 10.9.0.1:5001', `connect: closed bytes=${SIZE} error=0`]);
    expect(far.arps('in', 1)).toBeGreaterThanOrEqual(1); // the live host asked for 10.9.0.1
    expect(far.arps('out', 2)).toBeGreaterThanOrEqual(1);
  });

  it('a client started before its listener tries again 1 s later and gets through', () => {
    const live = host([{ kind: 'connect', ip: FAR_IP, port: 5002 }]);
    const far = new FarEnd(live);
    far.run(() => {}, () => false, 1.5e9); // no listener yet: the engine answers the SYN with an RST
    expect(live.tasks[0]!.log[0]).toMatch(/^connect: 10\.9\.0\.1:5002 error=-61, trying again in 1 s$/);
    const l = far.stack.listen(5002);
    if (typeof l === 'string') throw new Error(l);
    let sock: TcpSocket | null = null;
    far.run(() => { sock ??= l.accept(); }, () => sock !== null, 3e9);
    expect(sock).not.toBeNull();
    far.run(() => {}, () => live.tasks[0]!.log.some((l) => l.startsWith('connect: connected')), 1e9);
    const log = live.tasks[0]!.log;
    expect(log.at(-1)).toBe('connect: connected 10.9.0.1:5002');
    expect(log.slice(0, -1).every((l) => l.endsWith('trying again in 1 s'))).toBe(true);
  });

  it('a recorded run replays exactly: the frames handed in at their simulated times give the same frames out at the same times', () => {
    const live = host([{ kind: 'echo', port: 7 }], 11);
    const far = new FarEnd(live);
    const rec = new PcapWriter(LINKTYPE_ETHERNET);
    const inject = live.station.inject.bind(live.station);
    live.station.inject = (f) => { rec.record(live.world.sched.now, f); return inject(f); };
    const outLive: string[] = [];
    const onFrame = live.station.onFrame;
    live.station.onFrame = (f, t) => { outLive.push(`${t} ${Buffer.from(f).toString('hex')}`); onFrame(f, t); };
    far.run(() => {}, () => live.tasks[0]!.log.some((l) => l.includes('listening')), 100e6);
    const s = far.stack.connect(live.world.sched.now, LIVE_IP, 7);
    if (typeof s === 'string') throw new Error(s);
    far.flush();
    const bulk = new Bulk(pattern(16384, 6), () => s);
    far.run((now) => bulk.run(now), () => bulk.eof, 5e9);
    expect(bulk.echoed()).toBe(true);
    const endLive = live.world.sched.now;

    const again = host([{ kind: 'echo', port: 7 }], 11);
    const outReplay: string[] = [];
    again.station.onFrame = (f, t) => { outReplay.push(`${t} ${Buffer.from(f).toString('hex')}`); };
    const frames = readRecord(rec.bytes(), 'test');
    expect(frames.length).toBeGreaterThan(20);
    replayLive(again, frames, endLive - frames.at(-1)!.timeNs);
    expect(outReplay).toEqual(outLive);
    expect(again.tasks[0]!.log).toEqual(live.tasks[0]!.log);

    // A different seed is a different host (ISNs): the replay no longer matches.
    const other = host([{ kind: 'echo', port: 7 }], 12);
    const outOther: string[] = [];
    other.station.onFrame = (f, t) => { outOther.push(`${t} ${Buffer.from(f).toString('hex')}`); };
    replayLive(other, frames, 1e9);
    expect(outOther).not.toEqual(outLive);
  });

  it('refuses a record file that is not whole or goes back in time, with one line', () => {
    const w = new PcapWriter(LINKTYPE_ETHERNET);
    w.record(2e6, pattern(60, 1));
    w.record(1e6, pattern(60, 2));
    expect(() => readRecord(w.bytes(), 'f')).toThrow(/goes back in time/);
    const ok = new PcapWriter(LINKTYPE_ETHERNET);
    ok.record(1e6, pattern(60, 1));
    expect(() => readRecord(ok.bytes().subarray(0, 30), 'f')).toThrow(/cut at byte 24/);
    expect(() => readRecord(new Uint8Array(10), 'f')).toThrow(/not a pcap/);
    expect(readRecord(ok.bytes(), 'f')).toHaveLength(1);
  });

  it('is deterministic: the same seed and the same outside frames at the same times give the same frames', () => {
    const digest = (): string => {
      const live = host([{ kind: 'echo', port: 7 }], 9);
      const far = new FarEnd(live);
      far.run(() => {}, () => live.tasks[0]!.log.some((l) => l.includes('listening')), 100e6);
      const s = far.stack.connect(live.world.sched.now, LIVE_IP, 7);
      if (typeof s === 'string') throw new Error(s);
      far.flush();
      const bulk = new Bulk(pattern(8192, 5), () => s);
      far.run((now) => bulk.run(now), () => bulk.eof, 5e9);
      const h = createHash('sha256');
      for (const f of far.frames) h.update(f.dir).update(f.frame);
      return `${live.world.sched.now} ${h.digest('hex')}`;
    };
    expect(digest()).toBe(digest());
  });
});

function segmentWith(): { sched: Scheduler; station: ExternalStation; peer: EthernetPeer } {
  const sched = new Scheduler();
  const seg = new EthernetSegment({ sched, trace: new Trace(sched, { on: false }), rng: Rng.fromSeed(1) }, { name: 's' });
  const station = new ExternalStation(sched, 'outside', 4);
  station.port = seg.attach('outside', station);
  const peer = new EthernetPeer(sched, 'peer');
  peer.port = seg.attach('peer', peer);
  return { sched, station, peer };
}

describe('ExternalStation', () => {
  it('pads a short frame to 60 bytes and appends a good FCS; a MAC accepts it', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 14, maxLength: 1514 }), (data) => {
      const { sched, station, peer } = segmentWith();
      expect(station.inject(data)).toBe(true);
      sched.runFor(2e6);
      expect(peer.frames).toHaveLength(1);
      const f = peer.frames[0]!;
      expect(f.length).toBe(Math.max(EXTERNAL_FRAME_MIN, data.length) + 4);
      expect(fcsOk(f)).toBe(true);
      expect(Buffer.from(f.subarray(0, data.length)).equals(Buffer.from(data))).toBe(true);
      expect(f.subarray(data.length, f.length - 4).every((b) => b === 0)).toBe(true);
    }));
  });

  it('refuses frames outside 14..1514 bytes and beyond its queue, counting them', () => {
    const { sched, station, peer } = segmentWith();
    expect(station.inject(new Uint8Array(13))).toBe(false);
    expect(station.inject(new Uint8Array(1515))).toBe(false);
    expect(station.counters.droppedBadLength).toBe(2);
    for (let i = 0; i < 6; i++) station.inject(pattern(100, i + 1));
    expect(station.counters.droppedQueueFull).toBe(2); // queue of 4
    sched.runFor(10e6);
    expect(peer.frames).toHaveLength(4);
    expect(station.counters.sent).toBe(4);
  });

  it('hands out good frames without their FCS, and drops runts and FCS errors', () => {
    const { sched, station, peer } = segmentWith();
    const got: Uint8Array[] = [];
    station.onFrame = (f) => got.push(f);
    const good = pattern(80, 7);
    peer.send(good);
    peer.send(pattern(80, 8), { fcs: 'bad' });
    peer.send(pattern(40, 9)); // 44 bytes with FCS: a runt
    sched.runFor(10e6);
    expect(got).toHaveLength(1);
    expect(Buffer.from(got[0]!).equals(Buffer.from(good))).toBe(true);
    expect(station.counters.rejected).toBe(2);
  });
});

describe('Pacer (fake wall clock)', () => {
  /** A scheduler with a 1 µs heartbeat (a busy host) and a station; `cost` ns of fake wall per clock read. */
  function rig(cost: number): { sched: Scheduler; station: ExternalStation; peer: EthernetPeer; wall: { t: number }; lines: string[]; pacer: Pacer } {
    const { sched, station, peer } = segmentWith();
    const beat = sched.createEvent('beat', 5, () => sched.schedule(beat, sched.now + 1000));
    sched.schedule(beat, 1000);
    const wall = { t: 0 };
    const lines: string[] = [];
    const pacer = new Pacer(sched, station, () => (wall.t += cost), { sliceWallNs: 5e6, lagReportNs: 50e6, slipNs: 1e9 }, (l) => lines.push(l));
    return { sched, station, peer, wall, lines, pacer };
  }

  it('runs simulated time up to the wall clock and no further', () => {
    const { sched, wall, pacer } = rig(0);
    wall.t = 7_000_000;
    expect(pacer.step()).toBe(0);
    expect(sched.now).toBe(7_000_000);
    expect(pacer.step()).toBe(0);
    expect(sched.now).toBe(7_000_000);
  });

  it('injects each outside frame at the simulated time its wall-clock arrival maps to', () => {
    const { sched, peer, wall, pacer } = rig(0);
    wall.t = 3e6;
    pacer.receive(pattern(100, 1));
    wall.t = 9e6;
    pacer.receive(pattern(100, 2));
    wall.t = 20e6;
    pacer.step();
    expect(sched.now).toBe(20e6);
    expect(peer.arrivals.map((a) => a.timeNs)).toEqual([
      3e6 + EthernetSegment.wireNs(104) + 500,
      9e6 + EthernetSegment.wireNs(104) + 500,
    ]);
  });

  it('says when it falls behind the wall clock, when it catches up, and slips beyond 1 s', () => {
    // Every clock read costs 10 ms of fake wall time (the pacer reads it every 64 events, 64 µs of
    // simulated time here): the simulation cannot keep up.
    const { sched, wall, lines, pacer } = rig(10e6);
    for (let i = 0; i < 200 && pacer.stats.slips === 0; i++) pacer.step();
    expect(lines.some((l) => /^live: simulation \d+ ms behind the wall clock \(simulated/.test(l))).toBe(true);
    expect(pacer.stats.behindEpisodes).toBe(1);
    expect(pacer.stats.slips).toBe(1);
    expect(lines.at(-1)).toMatch(/slipped/);
    expect(pacer.lagNs()).toBeLessThan(50e6); // after the slip the wall clock maps to where the simulation is
    expect(pacer.stats.slippedNs).toBeGreaterThan(1e9);
    expect(sched.now).toBeGreaterThan(0);
    expect(wall.t).toBeGreaterThan(pacer.stats.slippedNs);
  });

  it('reports catching up once the simulation is back within half the threshold', () => {
    const { sched, wall, lines, pacer } = rig(0);
    wall.t = 60e6; // 60 ms passed before the first slice: behind by 60 ms
    (pacer as unknown as { account(l: number): void }).account(pacer.lagNs());
    expect(lines).toEqual([`live: simulation 60 ms behind the wall clock (simulated ${(sched.now / 1e9).toFixed(3)} s)`]);
    pacer.step();
    expect(lines.at(-1)).toBe('live: caught up with the wall clock (simulated 0.060 s)');
  });
});

describe('ulp live: arguments', () => {
  it('parses addresses, MACs and apps', () => {
    expect(parseHostIp('10.9.0.2/24')).toBe(LIVE_IP);
    expect(parseHostIp('10.9.0.2')).toBe(LIVE_IP);
    expect(parseMac('08:00:2b:09:00:02')).toBe(defaultMac(LIVE_IP));
    expect(parseApp('echo:7')).toEqual({ kind: 'echo', port: 7 });
    expect(parseApp('connect:10.9.0.1:5001')).toEqual({ kind: 'connect', ip: FAR_IP, port: 5001 });
  });

  it.each([
    [['live', '--ip', '10.9.0.2', '--app', 'echo:7'], /needs --tap/],
    [['live', '--tap', 'tap0', '--app', 'echo:7'], /needs --ip/],
    [['live', '--tap', 'tap0', '--ip', '10.9.0.2'], /at least one --app/],
    [['live', '--tap', 'tap0', '--ip', '10.9.0.2/16', '--app', 'echo:7'], /\/24/],
    [['live', '--tap', 'tap0', '--ip', '10.9.0.255', '--app', 'echo:7'], /unicast host/],
    [['live', '--tap', 'tap0', '--ip', '10.9.0.300', '--app', 'echo:7'], /IPv4 address/],
    [['live', '--tap', 'tap0', '--ip', '10.9.0.2', '--app', 'echo:0'], /port 1\.\.65535/],
    [['live', '--tap', 'tap0', '--ip', '10.9.0.2', '--app', 'ftp:21'], /echo:PORT or connect/],
    [['live', '--tap', 'tap0', '--ip', '10.9.0.2', '--app', 'echo:7', '--app', 'echo:7'], /two echo apps/],
    [['live', '--tap', 'tap0', '--ip', '10.9.0.2', '--app', 'echo:7', '--mac', '01:00:00:00:00:01'], /unicast/],
    [['live', '--tap', 'bad/name', '--ip', '10.9.0.2', '--app', 'echo:7'], /interface name/],
    [['live', '--tap', 'tap0', '--ip', '10.9.0.2', '--app', 'echo:7', '--seconds', 'x'], /--seconds/],
    [['live', '--tap', 'tap0', '--ip', '10.9.0.2', '--app', 'echo:7', '--frobnicate'], /Unknown option/],
    [['live', '--replay', '/nonexistent/x.pcap', '--ip', '10.9.0.2', '--app', 'echo:7'], /--replay \/nonexistent\/x\.pcap: ENOENT/],
    [['live', '--replay', 'x.pcap', '--tap', 'tap0', '--ip', '10.9.0.2', '--app', 'echo:7'], /--tap does not apply/],
  ])('%j: one line, exit 2', async (argv, re) => {
    const errs: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => { errs.push(String(s)); return true; }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(argv);
    } finally {
      process.stderr.write = orig;
    }
    expect(code).toBe(2);
    const text = errs.join('');
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(text).toMatch(re);
  });
});
