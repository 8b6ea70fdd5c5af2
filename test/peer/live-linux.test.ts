/**
 * Live mode against Linux (issue 17 item 4): `ulp live` (the CLI, as a user runs it) puts an
 * emulated DECstation (registry + user-level TCP library over the emulated LANCE) on a TAP device
 * in a test-owned namespace, with simulated time paced to the wall clock; the Linux kernel's TCP
 * (test/peer/linux-peer.py) is the other end.
 *
 *   (a) Linux client → `--app echo:7` on the emulated library: 1 MB each way at once, byte-exact
 *       (the echo's bytes are the sent bytes: sha256 compared).
 *   (b) `--app connect:10.9.0.1:5001` (library TCP, active open) → a Linux listener: 1 MB each way.
 *
 * The TAP is made persistent with iproute2 before `ulp live` starts (as docs/live.md tells a user),
 * so the Linux side is configured and listening first; the CLI's bridge attaches to it. ARP runs
 * both ways: Linux resolves the emulated host in (a), the emulated host resolves Linux in (b);
 * the test checks Linux's neighbour entry holds the emulated MAC.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPcap } from '../studies/pcap-reader.ts';
import { hasTshark, LINUX_PEER, PeerLab, PYTHON, waitExit, waitForLine, whyNoPeer } from './harness.ts';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BYTES = Number(process.env['LIVE_PEER_BYTES'] ?? 1 << 20);
const LINUX = '10.9.0.1';
const EMULATED = '10.9.0.2';
const EMULATED_MAC = '08:00:2b:09:00:02';
const NS = `ulpinet-${process.pid}-live`;

const skipReason = whyNoPeer();
if (skipReason !== null) console.log(`SKIP test/peer live mode (real Linux peer): ${skipReason}`);
const tsharkOk = hasTshark();
if (skipReason === null && !tsharkOk) console.log('SKIP live-mode capture checks: tshark not installed (apt-get install tshark)');
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ulp-live-peer-'));

interface CaptureCheck { frames: number; badIp: number; badTcp: number; fromEmulated: number; retransmissions: number; lostFromEmulated: number }

/** tshark over `ulp live --pcap`: checksums validated, per-direction counts. */
async function checkCapture(file: string): Promise<CaptureCheck> {
  const { stdout } = await execFileP('tshark', [
    '-n', '-o', 'tcp.desegment_tcp_streams:FALSE', '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-r', file,
    '-Y', 'tcp', '-T', 'fields', '-E', 'separator=|',
    '-e', 'ip.src', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'tcp.analysis.retransmission', '-e', 'tcp.analysis.lost_segment', '-e', 'tcp.checksum',
  ], { maxBuffer: 256 << 20, timeout: 120_000 });
  const c: CaptureCheck = { frames: 0, badIp: 0, badTcp: 0, fromEmulated: 0, retransmissions: 0, lostFromEmulated: 0 };
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const [src, ipSt, tcpSt, retx, lost, sum] = line.split('|');
    c.frames++;
    if (src === EMULATED) c.fromEmulated++;
    if (ipSt === '0') c.badIp++;
    // Linux's incremental checksum update can give 0xFFFF, which verifies but tshark calls Bad (harness.ts).
    if (tcpSt === '0' && !(src === LINUX && sum === '0xffff')) c.badTcp++;
    if (retx !== undefined && retx !== '') c.retransmissions++;
    if (lost !== undefined && lost !== '' && src === EMULATED) c.lostFromEmulated++;
  }
  return c;
}

async function ip(args: string[], allowFail = false): Promise<string> {
  try {
    return (await execFileP('ip', args, { timeout: 30_000 })).stdout;
  } catch (e) {
    if (allowFail) return '';
    throw e;
  }
}

/** A namespace with a persistent, configured TAP (NO-CARRIER until `ulp live` attaches). */
async function makeNamespace(): Promise<void> {
  await PeerLab.removeStale();
  await ip(['netns', 'del', NS], true);
  await ip(['netns', 'add', NS]);
  await ip(['-n', NS, 'link', 'set', 'lo', 'up']);
  await ip(['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv6.conf.all.disable_ipv6=1']);
  await ip(['-n', NS, 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap']);
  await ip(['-n', NS, 'addr', 'add', `${LINUX}/24`, 'dev', 'tap0']);
  await ip(['-n', NS, 'link', 'set', 'tap0', 'up']);
}

const children = new Set<ChildProcess>();
function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

function startLive(app: string, pcap: string, extra: string[] = []): { proc: ChildProcess; output: () => string } {
  const proc = track(spawn(process.execPath, [path.join(ROOT, 'bin', 'ulp.js'), 'live', '--tap', 'tap0', '--netns', NS, '--ip', `${EMULATED}/24`, '--app', app, '--seconds', '150', '--pcap', pcap, ...extra], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  return { proc, output: () => out };
}

function peer(mode: 'client' | 'server', addr: string, port: number): ChildProcess {
  return track(spawn('ip', ['netns', 'exec', NS, PYTHON, LINUX_PEER, mode, addr, String(port), String(BYTES), '100'], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

interface PeerResult { sentBytes: number; sentSha256: string; rcvdBytes: number; rcvdSha256: string; seconds: number }

function parseResult(stdout: string): PeerResult {
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (line === undefined) throw new Error(`no result line from linux-peer.py: ${stdout}`);
  return JSON.parse(line) as PeerResult;
}

/** Ends `ulp live` with SIGTERM (it prints its summary) and returns everything it printed. */
async function stopLive(live: { proc: ChildProcess; output: () => string }): Promise<string> {
  if (live.proc.exitCode === null) {
    const exited = waitExit(live.proc, 10_000);
    live.proc.kill('SIGTERM');
    await exited;
  }
  return live.output();
}

async function captureChecks(pcap: string, label: string, out: string): Promise<void> {
  if (!tsharkOk) return;
  const c = await checkCapture(pcap);
  console.log(`live (${label}): ${pcap}: ${c.frames} TCP frames (${c.fromEmulated} from the emulated host), ${c.retransmissions} retransmissions, bad checksums IP ${c.badIp} TCP ${c.badTcp}, segments missing before the emulated host's ${c.lostFromEmulated}`);
  expect(c.fromEmulated).toBeGreaterThan(BYTES / 1460);
  expect(c.badIp).toBe(0);
  expect(c.badTcp).toBe(0);
  // The emulated LANCE driver loses no frame: every frame it counts as sent is on the wire, no
  // watchdog reset drops a queue, and no segment of the emulated host's is missing. (Before the
  // driver's transmit ran as a masked section, docs/kernel.md "Masked sections", 2 of 12 echo
  // runs hit the LANCE transmit stall here; the record of one replays clean since.)
  const m = /emulated LANCE: driver sent (\d+), on the wire (\d+), .* dropped on reset (\d+)/.exec(out);
  expect(m, 'the LANCE summary line').not.toBeNull();
  const unsent = Number(m![1]) - Number(m![2]) + Number(m![3]);
  expect(unsent, m![0]).toBe(0);
  expect(c.lostFromEmulated).toBe(0);
}

describe.skipIf(skipReason !== null)('ulp live against the Linux kernel TCP (TAP in a test-owned namespace)', () => {
  beforeAll(makeNamespace);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    const pids = (await ip(['netns', 'pids', NS], true)).split(/\s+/).filter((p) => /^\d+$/.test(p));
    for (const p of pids) {
      try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    }
    await ip(['netns', 'del', NS], true);
  });

  it(`(a) a Linux client moves ${BYTES} bytes each way through an echo server on the emulated library TCP, byte-exact`, async () => {
    const pcap = path.join(outDir, 'echo.pcap');
    const record = path.join(outDir, 'echo-record.pcap');
    const live = startLive('echo:7', pcap, ['--record', record]);
    const proc = live.proc;
    await waitForLine(proc, /echo: listening port=7/, 30_000);
    const client = peer('client', EMULATED, 7);
    const r = await waitExit(client, 110_000);
    // Linux resolved the emulated host by ARP (the registry's engine answered for the library);
    // read before `ulp live` stops: the TAP loses its carrier then and the entry goes.
    const neigh = await ip(['-n', NS, 'neigh', 'show', EMULATED]);
    const out = await stopLive(live);
    console.log(`live (a): ${out.trim().split('\n').join('\n  ')}`);
    expect(r.code, `linux-peer.py: ${r.stderr}`).toBe(0);
    const res = parseResult(r.stdout);
    console.log(`live (a): Linux client ⇄ emulated echo, ${BYTES} bytes each way in ${res.seconds.toFixed(2)} s (${((8 * BYTES) / res.seconds / 1e6).toFixed(2)} Mb/s each way)`);
    expect(res.sentBytes).toBe(BYTES);
    expect(res.rcvdBytes).toBe(BYTES);
    expect(res.rcvdSha256).toBe(res.sentSha256);
    expect(out).toMatch(new RegExp(`echo: closed conn=1 bytes=${BYTES} error=0`));
    expect(out).toMatch(/live: stopped \(SIGTERM\)/);
    expect(neigh).toContain(EMULATED_MAC);
    await captureChecks(pcap, 'a', out);

    // The run replayed from its record, without the TAP or the wall clock: the emulated host sends
    // the same frames at the same simulated times (it is deterministic; only the wall clock was not).
    const replayPcap = path.join(outDir, 'echo-replay.pcap');
    const rp = await waitExit(track(spawn(process.execPath, [path.join(ROOT, 'bin', 'ulp.js'), 'live', '--replay', record, '--ip', `${EMULATED}/24`, '--app', 'echo:7', '--pcap', replayPcap], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    })), 120_000);
    expect(rp.code, rp.stderr).toBe(0);
    const fromEmulated = (file: string): string[] =>
      readPcap(fs.readFileSync(file)).records.filter((x) => x.data[6] === 0x08 && x.data[7] === 0x00 && x.data[8] === 0x2b).map((x) => `${x.timeNs} ${Buffer.from(x.data).toString('hex')}`);
    const a = fromEmulated(pcap);
    const b = fromEmulated(replayPcap);
    const n = Math.min(a.length, b.length);
    console.log(`live (a): replay: ${rp.stdout.trim().split('\n').pop() ?? ''}; ${a.length} frames from the emulated host live, ${b.length} replayed`);
    expect(n).toBeGreaterThan(BYTES / 1460);
    expect(b.slice(0, n)).toEqual(a.slice(0, n));
    expect(rp.stdout).toContain(`echo: closed conn=1 bytes=${BYTES} error=0`);
  });

  it(`(b) an emulated client (library TCP) connects to a Linux listener and moves ${BYTES} bytes each way, byte-exact`, async () => {
    await ip(['-n', NS, 'neigh', 'flush', 'dev', 'tap0'], true); // the emulated host must resolve Linux itself
    const server = peer('server', LINUX, 5001);
    await waitForLine(server, /LISTENING/, 10_000);
    const result = waitExit(server, 110_000);
    const pcap = path.join(outDir, 'connect.pcap');
    const live = startLive(`connect:${LINUX}:5001`, pcap);
    const r = await result;
    const liveExit = await waitExit(live.proc, 20_000); // exits by itself 2 s after its app
    const out = live.output();
    console.log(`live (b): ${out.trim().split('\n').join('\n  ')}`);
    expect(r.code, `linux-peer.py: ${r.stderr}`).toBe(0);
    const res = parseResult(r.stdout);
    console.log(`live (b): emulated client ⇄ Linux listener, ${BYTES} bytes each way in ${res.seconds.toFixed(2)} s (${((8 * BYTES) / res.seconds / 1e6).toFixed(2)} Mb/s each way)`);
    expect(res.sentBytes).toBe(BYTES);
    expect(res.rcvdBytes).toBe(BYTES);
    expect(res.rcvdSha256).toBe(res.sentSha256);
    expect(out).toContain(`connect: connected ${LINUX}:5001`);
    expect(out).toContain(`connect: closed bytes=${BYTES} error=0`);
    expect(out).toMatch(/live: stopped \(every app has exited\)/);
    expect(liveExit.code).toBe(0);
    await captureChecks(pcap, 'b', out);
  });

  it('says when the bridge cannot attach (one line, exit 1)', async () => {
    const proc = track(spawn(process.execPath, [path.join(ROOT, 'bin', 'ulp.js'), 'live', '--tap', 'tap0', '--netns', `${NS}-none`, '--ip', `${EMULATED}/24`, '--app', 'echo:7'], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    }));
    const r = await waitExit(proc, 30_000);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ulp live: the TAP bridge \(tools\/tapbridge\.py\) exited with status 1/);
  });
});

describe.skipIf(skipReason === null)('ulp live against Linux (skipped)', () => {
  it(`skipped: ${skipReason ?? ''}`, () => {
    expect(skipReason).not.toBeNull();
  });
});
