/**
 * Live mode (issue 17 item 4): an emulated DECstation running the paper's organization (network
 * I/O module, registry server, applications linked with the user-level TCP library) on an emulated
 * 10 Mb/s Ethernet whose far end is a Linux TAP device, with simulated time paced to the wall clock,
 * so real tools (nc, curl, a Python socket) reach an application on the emulated library TCP.
 *
 *   apps + library TCP ⇄ LANCE ⇄ emulated segment ⇄ ExternalStation ⇄ dgram 127.0.0.1
 *        ⇄ tools/tapbridge.py ⇄ TAP device ⇄ Linux
 *
 * This file is the layer allowed to use wall time (DESIGN.md): the simulated trees stay
 * deterministic. `buildLiveHost` is deterministic (a test drives it with an engine in simulated
 * time); `Pacer` maps the wall clock onto simulated time: each slice runs the scheduler up to the
 * wall-derived simulated time (within a wall budget, so frames keep flowing), injects each frame
 * from the TAP at the simulated time its wall-clock arrival maps to, and reports when the
 * simulation falls behind (and slips the mapping when it falls too far behind to catch up).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { attachPcap, EthernetSegment, type EthernetPort } from '../emulator/net/ethernet-segment.ts';
import { LINKTYPE_ETHERNET, PCAP_MAGIC_NS, PCAP_SNAPLEN, PcapWriter } from '../emulator/net/pcap.ts';
import { ExternalStation } from '../emulator/net/external-station.ts';
import type { Scheduler } from '../emulator/sim/scheduler.ts';
import { msToNs } from '../emulator/sim/time.ts';
import type { GuestProgram } from '../kernel/abi/guest.ts';
import type { LanceDriver } from '../kernel/dev/lance/lance-driver.ts';
import type { Task } from '../kernel/kernel.ts';
import { echoClient, echoServer } from '../userland/apps/live-apps.ts';
import { librarySockets } from '../userland/netlib/lib-sockets.ts';
import { libMain } from '../userland/netlib/tcp-lib.ts';
import { registryServer } from '../userland/registry/registry-server.ts';
import { UsageError } from './errors.ts';
import { addNetioEthernetHost } from './scenarios/hosts.ts';
import { addClockAn1, libCostParams } from './scenarios/library-hosts.ts';
import { World } from './world.ts';

// ---- the live host (deterministic) ------------------------------------------------------

export type LiveApp =
  | { readonly kind: 'echo'; readonly port: number }
  | { readonly kind: 'connect'; readonly ip: number; readonly port: number };

export const ipText = (ip: number): string => [24, 16, 8, 0].map((s) => (ip >>> s) & 0xff).join('.');
export const macText = (mac: number): string => Array.from({ length: 6 }, (_, i) => Math.floor(mac / 2 ** (8 * (5 - i))) % 256).map((b) => b.toString(16).padStart(2, '0')).join(':');
export const appText = (a: LiveApp): string => (a.kind === 'echo' ? `echo:${a.port}` : `connect:${ipText(a.ip)}:${a.port}`);

function parseIp(text: string, what: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  const b = m === null ? [] : m.slice(1).map(Number);
  if (m === null || b.some((x) => x > 255)) throw new UsageError(`${what} needs an IPv4 address a.b.c.d, got '${text}'`);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function parsePort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new UsageError(`${what} needs a port 1..65535, got '${text}'`);
  return Number(text);
}

/**
 * `--ip A.B.C.D[/24]`: the host's address. Only /24: the engine (userland/inet) of the registry and
 * of the library is built with a /24 subnet and has no gateway, so the TAP's Linux end must be in
 * the same /24.
 */
export function parseHostIp(text: string): number {
  const [addr, prefix, ...more] = text.split('/');
  if (more.length > 0 || (prefix !== undefined && prefix !== '24')) throw new UsageError(`--ip takes A.B.C.D or A.B.C.D/24 (the emulated engine's subnet is a /24), got '${text}'`);
  const ip = parseIp(addr ?? '', '--ip');
  const host = ip & 0xff;
  if (host === 0 || host === 255 || ip >>> 28 >= 0xe || ip >>> 24 === 0 || ip >>> 24 === 127) throw new UsageError(`--ip needs a unicast host address, got '${text}'`);
  return ip;
}

/** `--mac xx:xx:xx:xx:xx:xx`: a unicast MAC (the group bit of the first byte clear). */
export function parseMac(text: string): number {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(text);
  if (m === null) throw new UsageError(`--mac needs six hex bytes xx:xx:xx:xx:xx:xx, got '${text}'`);
  const b = m.slice(1).map((x) => parseInt(x, 16));
  if ((b[0]! & 1) !== 0 || b.every((x) => x === 0)) throw new UsageError(`--mac needs a unicast address, got '${text}'`);
  return b.reduce((acc, x) => acc * 256 + x, 0);
}

/** The default MAC: DEC's OUI 08:00:2b (the DECstation's) and the low three bytes of the IP. */
export const defaultMac = (ip: number): number => 0x08002b * 2 ** 24 + (ip & 0xffffff);

/** `--app echo:PORT` or `--app connect:A.B.C.D:PORT`. */
export function parseApp(text: string): LiveApp {
  const parts = text.split(':');
  if (parts[0] === 'echo' && parts.length === 2) return { kind: 'echo', port: parsePort(parts[1]!, '--app echo:PORT') };
  if (parts[0] === 'connect' && parts.length === 3) {
    return { kind: 'connect', ip: parseIp(parts[1]!, '--app connect:IP:PORT'), port: parsePort(parts[2]!, '--app connect:IP:PORT') };
  }
  throw new UsageError(`--app takes echo:PORT or connect:A.B.C.D:PORT, got '${text}'`);
}

export interface LiveHostOptions {
  readonly seed: number;
  readonly ip: number;
  readonly mac: number;
  readonly apps: readonly LiveApp[];
  readonly name?: string;
  /** Frames the external station holds waiting for the medium (default EXTERNAL_QUEUE_MAX). */
  readonly queueMax?: number;
}

export interface LiveHost {
  readonly world: World;
  readonly segment: EthernetSegment;
  /** The outside world's port on the segment. */
  readonly station: ExternalStation;
  readonly name: string;
  readonly registry: Task;
  /** One task per app, in the order given. */
  readonly tasks: readonly Task[];
  /** The host's LANCE driver (its counters) and the host's port on the segment. */
  readonly driver: LanceDriver;
  readonly port: EthernetPort;
}

/** The station name of the outside world on the segment. */
export const OUTSIDE = 'outside';

function appProgram(a: LiveApp): GuestProgram {
  return libMain(a.kind === 'echo' ? echoServer(librarySockets) : echoClient(librarySockets));
}

/**
 * One library host on a segment with the outside world's station: booted, registry up, apps
 * started (their first instruction runs once the scheduler runs on). Deterministic.
 */
export function buildLiveHost(o: LiveHostOptions): LiveHost {
  const world = new World({ seed: o.seed, traceOn: false });
  const name = o.name ?? 'live';
  const segment = new EthernetSegment(world, { name: `${name}-seg` });
  const station = new ExternalStation(world.sched, OUTSIDE, o.queueMax);
  station.port = segment.attach(OUTSIDE, station);
  const macBytes = Uint8Array.from({ length: 6 }, (_, i) => Math.floor(o.mac / 2 ** (8 * (5 - i))) % 256);
  const h = addNetioEthernetHost(world, segment, name, macBytes);
  const clockPhys = addClockAn1(world, h.host, name, o.mac % 2 ** 32 | 0);
  world.sched.runUntil(() => h.up, { nsMax: msToNs(20) });
  if (!h.up) throw new Error(`live host ${name}: the LANCE did not come up`);
  const params: Record<string, number | string | boolean> = { link: 'ethernet', mslNs: 30_000_000_000, ...libCostParams(world) };
  const registry = h.kernel.spawn('registry', registryServer, {
    privileged: true,
    params: { ...params, ip: o.ip, macHi: Math.floor(o.mac / 2 ** 32), macLo: o.mac % 2 ** 32 | 0, seed: world.rng.fork(`registry.${name}`).nextU32(), logStats: false },
  });
  world.sched.runUntil(() => registry.log.some((l) => l.startsWith('registry: up')), { nsMax: msToNs(50) });
  if (!registry.log.some((l) => l.startsWith('registry: up'))) throw new Error(`live host ${name}: the registry did not start (${registry.log.join('; ')})`);
  const tasks = o.apps.map((a, i) => {
    const p: Record<string, number | string | boolean> = {
      ...params,
      seed: world.rng.fork(`${name}.app${i}`).nextU32(),
      port: a.port,
      ...(a.kind === 'connect' ? { peerIp: a.ip } : {}),
    };
    const task = h.kernel.spawn(`${a.kind}${i}`, appProgram(a), { params: p });
    p['clockPage'] = h.kernel.mapDevicePage(task, clockPhys).address;
    return task;
  });
  const port = segment.ports.find((p) => p.name === name);
  if (port === undefined) throw new Error(`live host ${name}: not on the segment`);
  return { world, segment, station, name, registry, tasks, driver: h.driver, port };
}

// ---- pacing simulated time to the wall clock ----------------------------------------------

export interface PacerOptions {
  /** Wall time one slice may take before the pacer returns to the event loop (ns). */
  readonly sliceWallNs: number;
  /** Report when the simulation is further behind the wall clock than this (ns). */
  readonly lagReportNs: number;
  /** Slip the mapping (give up catching up) when further behind than this (ns). */
  readonly slipNs: number;
}

export const DEFAULT_PACER: PacerOptions = { sliceWallNs: 10_000_000, lagReportNs: 50_000_000, slipNs: 1_000_000_000 };

export interface PacerStats {
  slices: number;
  framesIn: number;
  maxLagNs: number;
  /** Times the simulation fell behind by more than lagReportNs (each episode counted once). */
  behindEpisodes: number;
  slips: number;
  slippedNs: number;
}

/**
 * Simulated time = sim0 + (wall − wall0) − slipped. `clock` is the wall clock in ns (any origin);
 * tests give a fake one. `say` receives the falling-behind lines.
 */
export class Pacer {
  readonly stats: PacerStats = { slices: 0, framesIn: 0, maxLagNs: 0, behindEpisodes: 0, slips: 0, slippedNs: 0 };
  private readonly inbox: { readonly frame: Uint8Array; readonly atNs: number }[] = [];
  /** Called with each frame from outside as it enters the segment, and its simulated time (`--record`). */
  onInject: (timeNs: number, frame: Uint8Array) => void = () => {};
  private wall0: number;
  private sim0: number;
  private behind = false;
  private lastReportWall = -Infinity;

  constructor(
    private readonly sched: Scheduler,
    private readonly station: ExternalStation,
    private readonly clock: () => number,
    private readonly o: PacerOptions = DEFAULT_PACER,
    private readonly say: (line: string) => void = () => {},
  ) {
    this.wall0 = clock();
    this.sim0 = sched.now;
  }

  /** The simulated time the wall clock says it is now. */
  target(): number {
    return Math.floor(this.sim0 + (this.clock() - this.wall0));
  }

  /** How far simulated time is behind the wall clock (ns, ≥ 0). */
  lagNs(): number {
    return Math.max(0, this.target() - this.sched.now);
  }

  /** A frame from outside, arrived now: it enters the segment at the simulated time now maps to. */
  receive(frame: Uint8Array): void {
    this.inbox.push({ frame, atNs: this.target() });
    this.stats.framesIn++;
  }

  get waiting(): number {
    return this.inbox.length;
  }

  /** Run the scheduler up to simulated time `t` unless the wall deadline passes first: true when it got there. */
  private runTo(t: number, wallDeadline: number): boolean {
    if (t <= this.sched.now) return true;
    let n = 0;
    const r = this.sched.runUntil(() => (++n & 63) === 0 && this.clock() > wallDeadline, { nsMax: t - this.sched.now });
    if (r === 'idle') this.sched.runFor(t - this.sched.now); // nothing pending: the clock just moves
    return r !== 'done';
  }

  /** One slice: frames in at their times, then on toward the wall clock. Returns the lag left (ns). */
  step(): number {
    this.stats.slices++;
    const wallDeadline = this.clock() + this.o.sliceWallNs;
    const goal = this.target();
    let reached = true;
    while (this.inbox.length > 0) {
      const f = this.inbox[0]!;
      if (!this.runTo(Math.min(f.atNs, goal), wallDeadline)) {
        reached = false;
        break;
      }
      if (f.atNs > goal) break;
      this.onInject(this.sched.now, f.frame);
      this.station.inject(f.frame);
      this.inbox.shift();
    }
    if (reached) this.runTo(goal, wallDeadline);
    const lag = this.lagNs();
    this.account(lag);
    return this.lagNs();
  }

  private account(lag: number): void {
    if (lag > this.stats.maxLagNs) this.stats.maxLagNs = lag;
    const wall = this.clock();
    const ms = (ns: number): string => (ns / 1e6).toFixed(0);
    if (lag > this.o.slipNs) {
      this.stats.slips++;
      this.stats.slippedNs += lag;
      this.sim0 -= lag; // from here on the wall clock maps to the simulated time reached
      this.say(`live: simulation ${ms(lag)} ms behind the wall clock: slipped (simulated time now runs ${ms(this.stats.slippedNs)} ms behind in all)`);
      this.lastReportWall = wall;
      return;
    }
    if (lag > this.o.lagReportNs) {
      if (!this.behind) this.stats.behindEpisodes++;
      if (!this.behind || wall - this.lastReportWall >= 1e9) {
        this.say(`live: simulation ${ms(lag)} ms behind the wall clock (simulated ${(this.sched.now / 1e9).toFixed(3)} s)`);
        this.lastReportWall = wall;
      }
      this.behind = true;
    } else if (this.behind && lag < this.o.lagReportNs / 2) {
      this.behind = false;
      this.say(`live: caught up with the wall clock (simulated ${(this.sched.now / 1e9).toFixed(3)} s)`);
    }
  }
}

// ---- record and replay -------------------------------------------------------------------

/**
 * The frames of a `--record` file: classic pcap, nanosecond (the format PcapWriter writes), each
 * record a frame from outside and the simulated time it entered the segment. Strict: a file that
 * is not whole, or whose times go backwards, is refused with one line.
 */
export function readRecord(bytes: Uint8Array, name: string): { timeNs: number; frame: Uint8Array }[] {
  const bad = (why: string): never => {
    throw new UsageError(`--replay ${name}: ${why}`);
  };
  if (bytes.length < 24) bad('not a pcap file (shorter than its header)');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== PCAP_MAGIC_NS) bad('not a nanosecond pcap written by ulp live --record');
  if (v.getUint32(20, true) !== LINKTYPE_ETHERNET) bad('not an Ethernet capture');
  const out: { timeNs: number; frame: Uint8Array }[] = [];
  let last = 0;
  for (let at = 24; at < bytes.length; ) {
    if (at + 16 > bytes.length) bad(`record header cut at byte ${at}`);
    const timeNs = v.getUint32(at, true) * 1e9 + v.getUint32(at + 4, true);
    const caplen = v.getUint32(at + 8, true);
    if (v.getUint32(at + 4, true) >= 1e9 || caplen > PCAP_SNAPLEN) bad(`malformed record at byte ${at}`);
    if (at + 16 + caplen > bytes.length) bad(`record data cut at byte ${at}`);
    if (timeNs < last) bad(`record at byte ${at} goes back in time`);
    last = timeNs;
    out.push({ timeNs, frame: bytes.slice(at + 16, at + 16 + caplen) });
    at += 16 + caplen;
  }
  return out;
}

/**
 * Replay a recorded run without a TAP or the wall clock: the same host (same options and seed),
 * every recorded frame handed to the external station at its recorded simulated time, then
 * `afterNs` more. Deterministic: the host sends exactly what it sent in the live run.
 */
export function replayLive(host: LiveHost, frames: readonly { timeNs: number; frame: Uint8Array }[], afterNs: number): void {
  const sched = host.world.sched;
  for (const f of frames) {
    if (f.timeNs > sched.now) sched.runFor(f.timeNs - sched.now);
    host.station.inject(f.frame);
  }
  sched.runFor(afterNs);
}

// ---- the command ------------------------------------------------------------------------

export const LIVE_USAGE = `  ulp live --tap NAME [--netns NS] --ip A.B.C.D[/24] --app echo:PORT|connect:A.B.C.D:PORT ...
          [--mac XX:XX:XX:XX:XX:XX] [--seconds S] [--seed N] [--lag-report-ms MS] [--pcap FILE]
          [--record FILE]
  ulp live --replay FILE --ip A.B.C.D[/24] --app ... [--mac ...] [--seed N] [--seconds S] [--pcap FILE]
                                 an emulated DECstation (library TCP over its LANCE) on an
                                 Ethernet whose far end is the TAP device NAME, simulated time
                                 paced to the wall clock; says when it falls behind. Needs root
                                 (or the TAP's owner), /dev/net/tun and python3 (tools/tapbridge.py)
                                 apps: echo:PORT (echo server), connect:IP:PORT (connects, echoes)
                                 ends on SIGINT/SIGTERM, after --seconds, or 2 s after every
                                 app has exited; --pcap: the frames between the TAP and the
                                 emulated segment (classic pcap, simulated time); --record: the
                                 frames from the TAP with the simulated time each entered, which
                                 --replay hands to the same host again, deterministically, without
                                 a TAP or the wall clock (--seconds: simulated time after the last
                                 frame, default 5); docs/live.md`;

const TAPBRIDGE = fileURLToPath(new URL('../tools/tapbridge.py', import.meta.url));

function pythonPath(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

const say = (line: string): void => {
  process.stdout.write(line + '\n');
};

/** `ulp live ...`: resolves with the exit status (0 done, 1 the bridge failed, 2 usage). */
export function cmdLive(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      tap: { type: 'string' },
      netns: { type: 'string' },
      ip: { type: 'string' },
      mac: { type: 'string' },
      app: { type: 'string', multiple: true },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      'lag-report-ms': { type: 'string' },
      pcap: { type: 'string' },
      record: { type: 'string' },
      replay: { type: 'string' },
    },
  });
  if (values.replay !== undefined) {
    for (const o of ['tap', 'netns', 'record', 'lag-report-ms'] as const) if (values[o] !== undefined) throw new UsageError(`--replay runs without a TAP or the wall clock: --${o} does not apply`);
  } else {
    if (values.tap === undefined) throw new UsageError('ulp live needs --tap NAME (the TAP device the emulated Ethernet is attached to), or --replay FILE');
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(values.tap)) throw new UsageError(`--tap needs an interface name (1..15 of A-Z a-z 0-9 _ . -), got '${values.tap}'`);
  }
  if (values.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(values.netns)) throw new UsageError(`--netns needs a namespace name, got '${values.netns}'`);
  if (values.ip === undefined) throw new UsageError('ulp live needs --ip A.B.C.D/24 (the emulated host\'s address)');
  const ip = parseHostIp(values.ip);
  const mac = values.mac !== undefined ? parseMac(values.mac) : defaultMac(ip);
  const apps = (values.app ?? []).map(parseApp);
  if (apps.length === 0) throw new UsageError('ulp live needs at least one --app (echo:PORT or connect:A.B.C.D:PORT)');
  const ports = apps.filter((a) => a.kind === 'echo').map((a) => a.port);
  if (new Set(ports).size !== ports.length) throw new UsageError('two echo apps on one port');
  const num = (text: string | undefined, what: string, min: number, max: number, d: number): number => {
    if (text === undefined) return d;
    const v = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || v < min || v > max) throw new UsageError(`${what} needs a number ${min}..${max}, got '${text}'`);
    return v;
  };
  const seconds = num(values.seconds, '--seconds', 0.1, 1e6, Infinity);
  const seed = num(values.seed, '--seed', 0, 2 ** 31 - 1, 1);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed needs an integer, got '${values.seed}'`);
  const lagReportMs = num(values['lag-report-ms'], '--lag-report-ms', 1, 60_000, DEFAULT_PACER.lagReportNs / 1e6);
  if (values.pcap === '' || values.record === '' || values.replay === '') throw new UsageError('--pcap, --record and --replay need a file name');
  if (values.replay !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(values.replay);
    } catch (e) {
      throw new UsageError(`--replay ${values.replay}: ${(e as Error).message.split('\n')[0]}`);
    }
    const frames = readRecord(bytes, values.replay);
    return Promise.resolve(runReplay({ ip, mac, apps, seed, pcap: values.pcap, frames, afterNs: Math.round((Number.isFinite(seconds) ? seconds : 5) * 1e9) }));
  }
  return runLive({ tap: values.tap!, netns: values.netns, ip, mac, apps, seconds, seed, lagReportNs: lagReportMs * 1e6, pcap: values.pcap, record: values.record });
}

interface LiveRun {
  readonly tap: string;
  readonly netns: string | undefined;
  readonly ip: number;
  readonly mac: number;
  readonly apps: readonly LiveApp[];
  readonly seconds: number;
  readonly seed: number;
  readonly lagReportNs: number;
  readonly pcap: string | undefined;
  readonly record: string | undefined;
}

/** Print each app's new log lines. */
function appLogPrinter(host: LiveHost, apps: readonly LiveApp[]): () => void {
  const logged = host.tasks.map(() => 0);
  return () => {
    host.tasks.forEach((t, i) => {
      while (logged[i]! < t.log.length) say(`[${appText(apps[i]!)}] ${t.log[logged[i]!++]}`);
    });
  };
}

function lanceLine(host: LiveHost): string {
  const d = host.driver.counters;
  return `live: emulated LANCE: driver sent ${d.framesSent}, on the wire ${host.port.counters.framesSent}, received ${d.framesReceived}, missed ${d.rxMissed}, watchdog resets ${d.watchdogResets}, dropped on reset ${d.txDroppedOnReset}`;
}

/** Write `w` to `file`: true, or one line on stderr and false. */
function writeCapture(w: PcapWriter, file: string, what: string): boolean {
  try {
    writeFileSync(file, w.bytes());
    say(`live: wrote ${w.recordsTotal} ${what} to ${file}${w.recordsDropped > 0 ? ` (${w.recordsDropped} beyond the capture's limit not kept)` : ''}`);
    return true;
  } catch (e) {
    process.stderr.write(`ulp live: cannot write ${file}: ${(e as Error).message.split('\n')[0]}\n`);
    return false;
  }
}

function runReplay(r: { ip: number; mac: number; apps: readonly LiveApp[]; seed: number; pcap: string | undefined; frames: readonly { timeNs: number; frame: Uint8Array }[]; afterNs: number }): number {
  const host = buildLiveHost({ seed: r.seed, ip: r.ip, mac: r.mac, apps: r.apps });
  const capture = r.pcap !== undefined ? new PcapWriter(LINKTYPE_ETHERNET) : undefined;
  if (capture !== undefined) attachPcap(host.segment, OUTSIDE, capture);
  let framesOut = 0;
  host.station.onFrame = () => { framesOut++; };
  say(`live: replaying ${r.frames.length} frames ip=${ipText(r.ip)}/24 mac=${macText(r.mac)} apps=${r.apps.map(appText).join(',')} seed=${r.seed}`);
  replayLive(host, r.frames, r.afterNs);
  appLogPrinter(host, r.apps)();
  const c = host.station.counters;
  say(`live: replayed: simulated ${(host.world.sched.now / 1e9).toFixed(3)} s; frames in ${r.frames.length} (sent on the segment ${c.sent}, dropped ${c.droppedQueueFull + c.droppedBadLength}), out ${framesOut}`);
  say(lanceLine(host));
  if (capture !== undefined && r.pcap !== undefined && !writeCapture(capture, r.pcap, 'frames')) return 1;
  return 0;
}

async function runLive(r: LiveRun): Promise<number> {
  const host = buildLiveHost({ seed: r.seed, ip: r.ip, mac: r.mac, apps: r.apps });
  const { world, station } = host;
  // The outside station's view: frames from the TAP as they leave it, frames to the TAP as they reach it.
  const capture = r.pcap !== undefined ? new PcapWriter(LINKTYPE_ETHERNET) : undefined;
  if (capture !== undefined) attachPcap(host.segment, OUTSIDE, capture);
  const hr = (): number => Number(process.hrtime.bigint());

  // Bind first, then start the bridge: frames sent to an unbound port are lost (REAL-PEER.md pitfall 1).
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, '127.0.0.1', () => resolve());
  });
  udp.setRecvBufferSize(4 << 20);
  udp.setSendBufferSize(4 << 20);
  const bridgeArgs = [TAPBRIDGE, '--tap', r.tap, '--listen', '127.0.0.1:0', '--peer', `127.0.0.1:${udp.address().port}`, '--die-with-parent', '--lifetime', '31536000'];
  if (r.netns !== undefined) bridgeArgs.push('--netns', r.netns);
  const bridge: ChildProcess = spawn(pythonPath(), bridgeArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let bridgeOut = '';
  const bridgePort = await new Promise<number | string>((resolve) => {
    const to = setTimeout(() => resolve('did not start within 10 s'), 10_000);
    bridge.stdout?.on('data', (d: Buffer) => {
      bridgeOut += d.toString();
      const m = /READY (\d+)/.exec(bridgeOut);
      if (m !== null) {
        clearTimeout(to);
        resolve(Number(m[1]));
      }
    });
    bridge.stderr?.on('data', (d: Buffer) => { bridgeOut += d.toString(); });
    bridge.once('error', (e) => { clearTimeout(to); resolve(e.message); });
    bridge.once('exit', (code) => { clearTimeout(to); resolve(`exited with status ${code}`); });
  });
  if (typeof bridgePort === 'string') {
    const last = bridgeOut.trim().split('\n').filter((l) => l !== '').pop() ?? '';
    process.stderr.write(`ulp live: the TAP bridge (tools/tapbridge.py) ${bridgePort}${last !== '' ? `: ${last}` : ''} (needs root or the TAP's owner, /dev/net/tun, python3)\n`);
    if (bridge.exitCode === null) bridge.kill('SIGKILL');
    udp.close();
    return 1;
  }

  const pacer = new Pacer(world.sched, station, hr, { ...DEFAULT_PACER, lagReportNs: r.lagReportNs }, say);
  let framesOut = 0;
  station.onFrame = (frame) => {
    framesOut++;
    udp.send(frame, bridgePort, '127.0.0.1');
  };
  udp.on('message', (msg) => {
    pacer.receive(new Uint8Array(msg.buffer, msg.byteOffset, msg.length).slice());
    wake();
  });
  const printLogs = appLogPrinter(host, r.apps);
  const recording = r.record !== undefined ? new PcapWriter(LINKTYPE_ETHERNET) : undefined;
  if (recording !== undefined) pacer.onInject = (t, f) => recording.record(t, f);

  say(`live: ready ip=${ipText(r.ip)}/24 mac=${macText(r.mac)} tap=${r.tap}${r.netns !== undefined ? ` netns=${r.netns}` : ''} apps=${r.apps.map(appText).join(',')} (simulated ${(world.sched.now / 1e9).toFixed(3)} s at start)`);
  const wall0 = hr();
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => { finish = resolve; });
  let stopping = false;
  let appsDoneAt = -1;

  function wake(): void {
    if (stopping || immediate !== undefined) return;
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    immediate = setImmediate(tick);
  }

  function tick(): void {
    immediate = undefined;
    timer = undefined;
    if (stopping) return;
    const lag = pacer.step();
    printLogs();
    const wall = hr() - wall0;
    if (wall >= r.seconds * 1e9) return stop('after --seconds', 0);
    if (host.tasks.every((t) => !t.alive)) {
      if (appsDoneAt < 0) appsDoneAt = wall;
      else if (wall - appsDoneAt >= 2e9) return stop('every app has exited', 0);
    }
    if (bridge.exitCode !== null) return stop(`the TAP bridge exited: ${bridgeOut.trim().split('\n').pop() ?? ''}`, 1);
    if (lag > 1_000_000 || pacer.waiting > 0) {
      immediate = setImmediate(tick);
      return;
    }
    const next = world.sched.peekTime();
    const aheadMs = next === undefined ? 20 : Math.floor((next - pacer.target()) / 1e6);
    timer = setTimeout(tick, Math.max(0, Math.min(20, aheadMs)));
  }

  function stop(why: string, exitCode: number): void {
    let code = exitCode;
    if (stopping) return;
    stopping = true;
    if (timer !== undefined) clearTimeout(timer);
    if (immediate !== undefined) clearImmediate(immediate);
    printLogs();
    const s = pacer.stats;
    const c = station.counters;
    const wallS = (hr() - wall0) / 1e9;
    say(
      `live: stopped (${why}): wall ${wallS.toFixed(1)} s, simulated ${(world.sched.now / 1e9).toFixed(3)} s; frames from the TAP ${s.framesIn} ` +
      `(sent on the segment ${c.sent}, dropped ${c.droppedQueueFull + c.droppedBadLength}), to the TAP ${framesOut}; ` +
      `max lag ${(s.maxLagNs / 1e6).toFixed(0)} ms, fell behind ${s.behindEpisodes} times, slipped ${s.slips} times (${(s.slippedNs / 1e6).toFixed(0)} ms)`,
    );
    say(lanceLine(host));
    if (capture !== undefined && r.pcap !== undefined && !writeCapture(capture, r.pcap, 'frames')) code = code === 0 ? 1 : code;
    if (recording !== undefined && r.record !== undefined && !writeCapture(recording, r.record, 'frames from the TAP (with their simulated times)')) code = code === 0 ? 1 : code;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (bridge.exitCode === null) bridge.kill('SIGTERM');
    udp.close();
    finish(code);
  }
  const onSignal = (sig: NodeJS.Signals): void => stop(`${sig}`, 0);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  tick();
  return done;
}
