/**
 * The TCP registry server (P §3.1, §3.4): a privileged task started at boot that holds the network
 * I/O module's privileged port. It allocates TCP ports (unique per host: listeners, active opens,
 * TIME-WAIT), runs the three-way handshake for active and passive opens with its own copy of the
 * engine (userland/inet) over the link's default channel (SYNs and everything unmatched arrive
 * there), exchanges BQIs in the AN1 link header's SPARE field during the handshake (a BQI
 * reserved with net_bqi_reserve before our SYN or SYN-ACK leaves), asks the module for the
 * connection's channel (template + 4-tuple key; on AN1 the reserved BQI and the peer's BQI as
 * DST_BQI) and hands the library the channel's send right, its region and semaphore (mapped in
 * the library's task) and the TCB snapshot.
 *
 * Overlap (P §4 "Connection Setup Cost"): the SYN leaves before anything else is done for the
 * connection, and the final ACK of an active open leaves before the channel is set up, so the
 * channel set-up overlaps the peer's processing of the ACK.
 *
 * Inheritance: the registry asks for a dead-name notification on every client's task port and on
 * every channel it created; a channel dies when nobody holds its region any more (its owner died,
 * and had not passed it on); the registry reserves
 * the connection's port for 2·MSL (TIME-WAIT), and for connections the library had not closed it
 * elicits an ACK from the peer with an out-of-window probe so that its engine answers with an RST
 * carrying exactly the peer's RCV.NXT (RFC 5961 accepts only that).
 *
 * Two kernel threads share this task's state: the request thread (Mach messages and
 * notifications) and the network thread (the default channel's semaphore, with the engine's
 * timers as the wait's timeout). They interleave only at traps.
 *
 * Device path (parameter `devicePath`): 'channel' (the default) reaches the device through the
 * module's default channel (shared memory + net_send), a departure from the paper, whose registry
 * reached it by Mach IPC (P Table 4 item 1); 'ipc' models the paper's path (net_device_open,
 * kernel/netio/device-ipc.ts): frames arrive as messages on a port of the registry's (the network
 * thread waits in mach_msg with the engine's deadline as the timeout) and leave as messages to the
 * device's port. Everything else is the same on both.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestContext, GuestProgram } from '../../kernel/abi/guest.ts';
import { MACH_MSG } from '../../kernel/abi/errors.ts';
import { MACH_PORT_DEAD, MSG_TYPE, NOTIFY, PORT_RIGHT, TASK_PORT, type PortName, type ReceivedMsg } from '../../kernel/abi/message.ts';
import { encodeChannelSpec, NETIO_DEVICE_MSG, NETIO_ERR, NETIO_LINK_BYTES_PER_SECOND, NETIO_PAGE_SIZE } from '../../kernel/abi/netio.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { HostStack, TcpFlag, chargeInput, chargeOutput, type TcpListener, type TcpSnapshot, type TcpSocket, type UdpSocket } from '../inet/index.ts';
import type { Seq32 } from '../inet/seq32.ts';
import { receive, send } from '../mach/ipc.ts';
import { sys } from '../mach/syscalls.ts';
import { connSpec, udpSpec } from '../netlib/conn-spec.ts';
import { libCosts } from '../netlib/costs.ts';
import { tcpFrame, tcpTuple, xorshift } from '../netlib/frames.ts';
import { RawChannel, TX_PAGE_POLL_NS } from '../netlib/raw-channel.ts';
import { decodeSnapshot, grantItems, macHi, macJoin, macLo, REG_ERR, REG_MSG, REG_QUOTA, REGISTRY_SERVICE, BINDER_ANSWER, BINDER_QUERY, REGISTRY_BINDER_PORT, udpGrantItems, type GrantWords } from '../netlib/registry-proto.ts';
import { registryLimits, validPort, validRemoteIp } from './limits.ts';
import { sharedConnections } from './shared-conns.ts';
import { SHARED_MSG } from '../netlib/shared-proto.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;
/** Transmit pages of the default channel, used round robin: an AN1 DMA reads a page after net_send returns. */
const DEFAULT_TX_PAGES = 16;
const key4 = (rip: number, rport: number, lport: number): string => `${rip >>> 0}:${rport}:${lport}`;
/** devicePath 'ipc': the message the request thread sends its own device port so the network thread re-reads the engine's deadline. */
const DEVICE_KICK_MSG = 2799;
/** devicePath 'ipc': tries of a frame while the device has no room (MACH_SEND_NO_BUFFER), TX_PAGE_POLL_NS apart. */
const DEVICE_TX_TRIES_MAX = 1000;
/** AN1 DST_SHORT of every frame on the point-to-point link (hw/an1-autonet.md §8.4; the engine and library emit 0). */
const AN1_DST_SHORT_P2P = 0;

interface Reply {
  readonly name: PortName;
  readonly id: number;
  /** ACCEPT: the rate reservation asked for the connection it will get (wire bytes/s, 0 = best effort). */
  readonly rate?: number;
}

interface ConnRec {
  readonly key: string;
  readonly owner: PortName;
  readonly active: boolean;
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
  sock: TcpSocket | undefined;
  /** 'completing': channel set-up under way (the other thread must not complete it again). */
  state: 'handshake' | 'completing' | 'handed' | 'released' | 'dead';
  reply: Reply | undefined;
  bqi: number;
  peerBqi: number;
  tRequest: number;
  tSynSent: number;
  tEstablished: number;
  snap: TcpSnapshot | undefined;
  peerMac: number;
  /** The registry's own send right to the connection's channel (0 before hand-off): its death is the connection's end. */
  channel: PortName;
  /** Rate reservation of the connection's channel, wire bytes/s (0: best effort). Counted against the link while the connection lives. */
  rate: number;
  /** Rerouting: the next hop the connection's frames go to after its last REROUTE (undefined: as granted, straight to the peer). */
  hop?: number;
}

/**
 * Rerouting (docs/reroute.md): the next hops the registry approves besides the peer itself, from
 * its parameters — `gateways` (Ethernet: station addresses, 12 hex digits each, comma-separated:
 * the routers of the segment, as an administrator's route table names them) and `an1Routes` (AN1:
 * DST_SHORT values, decimal, comma-separated: switch routes to the peer). Malformed entries are
 * ignored.
 */
export function approvedHops(p: GuestContext['params'], link: 'ethernet' | 'an1'): Set<number> {
  const raw = p[link === 'ethernet' ? 'gateways' : 'an1Routes'];
  const out = new Set<number>();
  if (typeof raw !== 'string') return out;
  for (const x of raw.split(',')) {
    const t = x.trim().replace(/:/g, '');
    const ok = link === 'ethernet' ? /^[0-9a-fA-F]{12}$/.test(t) : /^[0-9]{1,5}$/.test(t);
    const v = ok ? (link === 'ethernet' ? parseInt(t, 16) : parseInt(t, 10)) : -1;
    if (v > 0 && (link === 'ethernet' || v <= 0xffff)) out.add(v);
  }
  return out;
}

/** A UDP port granted to a task (issue 17): its channel, and the engine's socket that keeps the port (datagrams reaching the default channel for it are dropped, not answered by ICMP). */
interface UdpRec {
  readonly port: number;
  readonly owner: PortName;
  readonly remoteIp: number;
  readonly remotePort: number;
  readonly channel: PortName;
  readonly bqi: number;
  readonly sock: UdpSocket | undefined;
}
/** ARP on behalf of a library (UDP_BIND connected, RESOLVE): tries, 1 ms apart, a request every 25. */
const RESOLVE_TRIES = 100;

interface ListenRec {
  readonly port: number;
  readonly owner: PortName;
  readonly listener: TcpListener;
  readonly accepts: Reply[];
  readonly ready: { channel: PortName; w: GrantWords; snap: TcpSnapshot }[];
}

/** Counters a scenario or test reads from the task log (`registry: ...`). */
export interface RegistryStats {
  connects: number;
  accepts: number;
  handoffs: number;
  refused: number;
  inherited: number;
  /** Closes the library could not finish in its linger time, taken over with their TCB and finished by the engine. */
  finishing: number;
  probes: number;
  released: number;
  channelsCreated: number;
  bqisReserved: number;
  bqisReleased: number;
  listenOverflows: number;
  rstsForUnmatched: number;
  /** UDP ports granted (issue 17) and freed (their channel died). */
  udpBinds?: number;
  udpReleased?: number;
  /** Rerouting (issue 17 item 3): REROUTEs done, and refused (not the owner, no approved route, the module's refusal); present once one came. */
  reroutes?: number;
  reroutesRefused?: number;
  /** Requests refused as malformed or out of range (REG_ERR.INVALID), and for a quota (REG_ERR.QUOTA). */
  invalid: number;
  quota: number;
  /** Reply rights given up because their task died or their port did (nobody left to answer). */
  repliesDropped: number;
}

export const registryServer: GuestProgram = function* (ctx: GuestContext) {
  const p = ctx.params;
  const num = (k: string, d: number): number => (typeof p[k] === 'number' ? (p[k] as number) : d);
  const link: 'ethernet' | 'an1' = p['link'] === 'an1' ? 'an1' : 'ethernet';
  const linkNo = link === 'an1' ? 2 : 1;
  const ip = num('ip', 0) >>> 0;
  const mac = macJoin(num('macHi', 0), num('macLo', 0));
  const mslNs = num('mslNs', 30_000_000_000);
  const rxSlots = num('connRxSlots', 32);
  const txPages = num('connTxPages', 16);
  const c = libCosts(p);
  const stats: RegistryStats = { connects: 0, accepts: 0, handoffs: 0, refused: 0, inherited: 0, finishing: 0, probes: 0, released: 0, channelsCreated: 0, bqisReserved: 0, bqisReleased: 0, listenOverflows: 0, rstsForUnmatched: 0, invalid: 0, quota: 0, repliesDropped: 0 };
  const lim = registryLimits(p);
  const hops = approvedHops(p, link);
  let reroutes = 0;
  let reroutesRefused = 0;

  const hp = yield* sys.task_get_special_port({ which: TASK_PORT.HOST_PRIV });
  const pr = yield* sys.net_priv_port({ hostPriv: hp.name });
  if (pr.kr !== KERN.SUCCESS) {
    yield* sys.debug_log({ text: `registry: no privileged port (${pr.kr})` });
    return;
  }
  const priv = pr.name;
  const devicePath: 'channel' | 'ipc' = p['devicePath'] === 'ipc' ? 'ipc' : 'channel';
  // 'channel': the default channel and its semaphore. 'ipc': a port the frames arrive on, a send
  // right to it (the kick), and the device's send right (frames out).
  let ch: RawChannel | undefined;
  let defSem: PortName = 0;
  let devRx: PortName = 0;
  let devKick: PortName = 0;
  let devTx: PortName = 0;
  /** 'ipc': frames received by the network thread's wait, not yet fed to the engine. */
  const devPending: Uint8Array[] = [];
  if (devicePath === 'channel') {
    const def = yield* sys.net_channel_create({
      priv, task: 0, link: linkNo, rxSlots: 32, txPages: DEFAULT_TX_PAGES,
      spec: encodeChannelSpec({ demux: { kind: 'none' }, isDefault: true, template: [] }),
    });
    if (def.kr !== KERN.SUCCESS) {
      yield* sys.debug_log({ text: `registry: no default channel (${def.kr})` });
      return;
    }
    ch = new RawChannel(ctx, { channel: def.name, address: def.address, sem: def.sem });
    defSem = def.sem;
  } else {
    devRx = (yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE })).name;
    yield* sys.mach_port_set_qlimit({ name: devRx, qlimit: 16 });
    devKick = (yield* sys.mach_port_insert_right({ name: devRx, disposition: MSG_TYPE.MAKE_SEND })).name;
    const dv = yield* sys.net_device_open({ priv, link: linkNo, port: devRx });
    if (dv.kr !== KERN.SUCCESS) {
      yield* sys.debug_log({ text: `registry: no device port (${dv.kr})` });
      return;
    }
    devTx = dv.name;
  }
  const { name: reqPort } = yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE });
  yield* sys.mach_port_insert_right({ name: reqPort, disposition: MSG_TYPE.MAKE_SEND });
  yield* sys.mach_port_set_qlimit({ name: reqPort, qlimit: 16 });
  const reg = yield* sys.bootstrap_register({ service: REGISTRY_SERVICE, name: reqPort });
  const stack = new HostStack({ link, mac, ip, random: xorshift(num('seed', 1) ^ ip), tcp: { mslNs } });

  const conns = new Map<string, ConnRec>();
  const udpBinds = new Map<number, UdpRec>();
  let udpBound = 0;
  let udpReleased = 0;
  let nextUdpEphemeral = 49152 + ((num('seed', 1) >>> 10) % 1000);
  /** AN1: the BQI binder (REGISTRY_BINDER_PORT), and the answers it got: `ip:port` → the peer port's BQI (0: nobody has it). */
  const binderSock = link === 'an1' ? stack.udpBind(REGISTRY_BINDER_PORT) : undefined;
  const binder = typeof binderSock === 'string' ? undefined : binderSock;
  const binderAnswers = new Map<string, number>();
  const u32be = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  const listeners = new Map<number, ListenRec>();
  /** Ports held in TIME-WAIT: key → until (ns). */
  const timeWait = new Map<string, number>();
  const watched = new Set<PortName>();
  /** AN1: the peer's BQI of inherited connections, so our probe and the engine's RST reach the peer's library. */
  const deadPeerBqi = new Map<string, number>();
  let nextEphemeral = 49152 + (num('seed', 1) % 1000);
  /**
   * BQI lifetime (AN1): a BQI we offered a peer is never freed while the peer's templates may
   * still name it. When its connection ends it is held here (bqi → the time it may be freed):
   * 2·MSL after the end, pushed back by every frame that still names it (those fall back to BQI 0
   * and reach our engine, which answers them). Only then does net_bqi_release free it.
   */
  const bqiHold = new Map<number, number>();
  /** The task a held BQI is charged to (its last connection's owner, until that task dies). */
  const bqiHoldOwner = new Map<number, PortName>();
  /** A hold was added (by the request thread): the network thread must re-read its deadline. */
  let holdsChanged = false;
  const holdBqi = (bqi: number, t: number, owner?: PortName): void => {
    if (bqi === 0) return;
    holdsChanged = true;
    bqiHold.set(bqi, Math.max(bqiHold.get(bqi) ?? 0, t + 2 * mslNs));
    if (owner !== undefined && watched.has(owner)) bqiHoldOwner.set(bqi, owner);
  };
  /** Free the held BQIs whose time has come (a BQI still bound to a closing channel waits another 2·MSL). */
  function* expireBqiHolds(t: number): G<void> {
    for (const [bqi, until] of [...bqiHold]) {
      if (until > t) continue;
      const kr = (yield* sys.net_bqi_release({ priv, bqi })).kr;
      if (kr === KERN.SUCCESS) {
        bqiHold.delete(bqi);
        bqiHoldOwner.delete(bqi);
        stats.bqisReleased++;
      } else bqiHold.set(bqi, t + 2 * mslNs);
    }
  }
  const nextBqiDeadline = (): number | null => (bqiHold.size === 0 ? null : Math.min(...bqiHold.values()));

  const now = function* (): G<number> {
    return (yield* sys.clock_get_ns({})).ns;
  };

  /** One frame out: the default channel, or a message to the device (tried again while it has no room). */
  function* transmit(f: Uint8Array): G<number> {
    if (ch !== undefined) return yield* ch.transmit(f);
    for (let k = 0; ; k++) {
      const kr = yield* send(devTx, NETIO_DEVICE_MSG.FRAME_OUT, [{ type: 'inline', data: f }]);
      if (kr !== MACH_MSG.SEND_NO_BUFFER || k >= DEVICE_TX_TRIES_MAX) return kr;
      yield* sys.thread_sleep_ns({ ns: TX_PAGE_POLL_NS });
    }
  }

  /** 'ipc': a frame from a received message (undefined for a kick or anything else). */
  const frameOf = (m: ReceivedMsg | undefined): Uint8Array | undefined => {
    const it = m?.items[0];
    return m?.id === NETIO_DEVICE_MSG.FRAME_IN && it?.type === 'inline' ? it.data : undefined;
  };

  /** The next waiting frame: the default channel's ring, or (ipc) a frame already received, else with `poll` one taken without waiting. */
  function* nextFrame(poll: boolean): G<Uint8Array | undefined> {
    if (ch !== undefined) {
      // Re-read the ring before every frame: the other thread may drain it while this one is in a trap.
      if (ch.available() <= 0) return undefined;
      const s = ch.peek();
      const f = ch.read(s.offset, s.length);
      ch.consume();
      return f;
    }
    for (;;) {
      const f = devPending.shift();
      if (f !== undefined) return f;
      if (!poll) return undefined;
      const r = yield* receive(devRx, 0);
      if (r.kr !== KERN.SUCCESS) return undefined;
      const g = frameOf(r.msg);
      if (g !== undefined) devPending.push(g);
    }
  }
  const portBusy = (port: number, t: number): boolean => {
    if (listeners.has(port)) return true;
    for (const r of conns.values()) if (r.localPort === port && (r.state === 'handshake' || r.state === 'completing' || r.state === 'handed')) return true;
    for (const [k, until] of timeWait) {
      if (until <= t) {
        timeWait.delete(k);
        deadPeerBqi.delete(k);
      }
      else if (k.endsWith(`:${port}`)) return true;
    }
    return false;
  };

  /** Transmit every frame the engine produced through the default channel (patching our BQI into SYNs on AN1). */
  function* flushOut(): G<void> {
    for (const f of stack.takeFrames()) {
      if (link === 'an1') {
        const t = tcpTuple(link, f);
        // After the SYNs, segments of a connection the engine still holds (a passive one waiting for
        // accept, or an inherited one) go to the peer's connection BQI: its library has it by then
        // (or, before its channel exists, the BQI falls back to the peer registry's BQI 0).
        const rk = t === undefined ? undefined : key4(t.dstIp, t.dstPort, t.srcPort);
        const live = rk === undefined ? undefined : conns.get(rk);
        const pb = rk === undefined ? undefined : deadPeerBqi.get(rk) ?? (live !== undefined && live.peerBqi !== 0 && (t!.flags & TcpFlag.SYN) === 0 ? live.peerBqi : undefined);
        if (pb !== undefined) {
          f[2] = pb >>> 8;
          f[3] = pb & 0xff;
        }
        if (t !== undefined && (t.flags & TcpFlag.SYN) !== 0) {
          const r = conns.get(key4(t.dstIp, t.dstPort, t.srcPort));
          if (r !== undefined && r.bqi !== 0) {
            f[18] = r.bqi >>> 8;
            f[19] = r.bqi & 0xff;
          }
        }
      }
      chargeOutput((n, k) => ctx.spend(n, k), c, f, link === 'an1' ? 20 : 14);
      yield* transmit(f);
    }
  }

  /** Feed every frame waiting on the default channel (ipc: received, and with `poll` queued) to the engine. */
  function* drain(t: number, poll = true): G<number> {
    let n = 0;
    for (let f = yield* nextFrame(poll); f !== undefined; f = yield* nextFrame(poll)) {
      n++;
      if (f.length === 0) continue;
      chargeInput((n, k) => ctx.spend(n, k), c, f, link === 'an1' ? 20 : 14);
      if (link === 'an1' && f.length >= 4) {
        // A frame naming a held BQI (it fell back to BQI 0): some template still names it.
        const named = (f[2]! << 8) | f[3]!;
        if (bqiHold.has(named)) holdBqi(named, t);
      }
      const tu = tcpTuple(link, f);
      if (link === 'an1' && tu !== undefined && (tu.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) {
        // A SYN for a listener: reserve the BQI we offer in our SYN-ACK (P §3.4).
        const k = key4(tu.srcIp, tu.srcPort, tu.dstPort);
        const l = listeners.get(tu.dstPort);
        if (l !== undefined && !conns.has(k)) {
          // Within the listener's owner's BQI quota; beyond it the SYN-ACK offers none (the channel then gets one at accept, if any is free).
          const b = usage(l.owner).bqis >= lim.bqisPerTask ? { kr: NETIO_ERR.NO_BQI, bqi: 0 } : yield* sys.net_bqi_reserve({ priv });
          if (b.kr === KERN.SUCCESS) stats.bqisReserved++;
          conns.set(k, {
            key: k, owner: l.owner, active: false, localPort: tu.dstPort, remoteIp: tu.srcIp, remotePort: tu.srcPort, sock: undefined,
            state: 'handshake', reply: undefined, bqi: b.kr === KERN.SUCCESS ? b.bqi : 0, peerBqi: tu.spare, tRequest: t, tSynSent: t, tEstablished: 0, snap: undefined, peerMac: 0, channel: 0, rate: 0,
          });
        }
      } else if (link === 'an1' && tu !== undefined && (tu.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) {
        const r = conns.get(key4(tu.srcIp, tu.srcPort, tu.dstPort));
        if (r !== undefined) r.peerBqi = tu.spare;
      }
      stack.receiveFrame(t, f);
    }
    // Datagrams for a granted UDP port that reached the default channel (before its key was installed): dropped.
    for (const u of udpBinds.values()) while (u.sock !== undefined && u.sock.recvFrom() !== null);
    // AN1 BQI binder: answer queries about our ports, keep the answers to ours.
    let answered = false;
    for (let d = binder?.recvFrom() ?? null; d !== null && typeof d !== 'string'; d = binder?.recvFrom() ?? null) {
      const b = d.data;
      if (b.length < 6) continue;
      const magic = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
      const port = (b[4]! << 8) | b[5]!;
      if (magic === BINDER_QUERY) {
        const bqi = udpBinds.get(port)?.bqi ?? 0;
        binder!.sendTo(t, Uint8Array.of(...u32be(BINDER_ANSWER), port >>> 8, port & 0xff, bqi >>> 8, bqi & 0xff), d.srcIp, d.srcPort);
        answered = true;
      } else if (magic === BINDER_ANSWER && b.length >= 8) binderAnswers.set(`${d.srcIp}:${port}`, (b[6]! << 8) | b[7]!);
    }
    if (answered) yield* flushOut();
    if (n > 0 && link === 'an1' && ch !== undefined) yield* ch.rxDone();
    return n;
  }

  /** Answer a request; a reply right that can no longer be used (its port died) is given up, never kept. */
  function* sendReply(r: Reply, items: Parameters<typeof send>[2]): G<number> {
    if (r.name === 0 || r.name === MACH_PORT_DEAD) return MACH_MSG.SEND_INVALID_DEST;
    const kr = yield* send(r.name, r.id + 100, items, { remoteDisposition: MSG_TYPE.MOVE_SEND_ONCE });
    if (kr !== KERN.SUCCESS) {
      stats.repliesDropped++;
      yield* sys.mach_port_destroy({ name: r.name });
    }
    return kr;
  }
  /** A reply right nobody will answer any more (its task died): destroyed, not kept. */
  function* dropReply(r: Reply | undefined): G<void> {
    if (r === undefined || r.name === 0 || r.name === MACH_PORT_DEAD) return;
    stats.repliesDropped++;
    yield* sys.mach_port_destroy({ name: r.name });
  }

  /** What one task holds of the registry's resources (the quotas of limits.ts are checked against it). */
  const usage = (owner: PortName) => {
    let pendingConnects = 0;
    let channels = 0;
    let bqis = 0;
    let replies = 0;
    for (const r of conns.values()) {
      if (r.owner !== owner) continue;
      const live = r.state === 'handshake' || r.state === 'completing' || r.state === 'handed';
      if (r.active && (r.state === 'handshake' || r.state === 'completing')) pendingConnects++;
      if (r.state === 'handed') channels++;
      if (live && r.bqi !== 0) bqis++;
      if (r.reply !== undefined) replies++;
    }
    for (const o of bqiHoldOwner.values()) if (o === owner) bqis++;
    bqis += shared.bqisOf(owner); // connections it shared across fork keep their BQI
    for (const u of udpBinds.values()) {
      if (u.owner !== owner) continue;
      channels++;
      if (u.bqi !== 0) bqis++;
    }
    let accepts = 0;
    let listens = 0;
    for (const l of listeners.values()) {
      if (l.owner !== owner) continue;
      listens++;
      accepts += l.accepts.length;
      channels += l.ready.length;
    }
    return { pendingConnects, channels, bqis, accepts, listens, names: 1 + replies + accepts + channels };
  };
  /** The first quota `owner` would exceed by one more of `what`, or 0. */
  const overQuota = (owner: PortName, what: 'connect' | 'accept' | 'listen' | 'udp'): number => {
    const u = usage(owner);
    if (u.names >= lim.namesPerTask) return REG_QUOTA.NAMES;
    if (what === 'connect' && u.pendingConnects >= lim.pendingConnectsPerTask) return REG_QUOTA.PENDING_CONNECTS;
    if (what === 'connect' && u.channels >= lim.channelsPerTask) return REG_QUOTA.CHANNELS;
    if (what === 'connect' && link === 'an1' && u.bqis >= lim.bqisPerTask) return REG_QUOTA.BQIS;
    if (what === 'accept' && u.accepts >= lim.pendingAcceptsPerTask) return REG_QUOTA.PENDING_ACCEPTS;
    if (what === 'accept' && u.channels >= lim.channelsPerTask) return REG_QUOTA.CHANNELS;
    if (what === 'listen' && u.listens >= lim.listenPortsPerTask) return REG_QUOTA.LISTEN_PORTS;
    if (what === 'udp' && u.channels >= lim.channelsPerTask) return REG_QUOTA.CHANNELS;
    if (what === 'udp' && link === 'an1' && u.bqis >= lim.bqisPerTask) return REG_QUOTA.BQIS;
    return 0;
  };

  /**
   * The channel spec of a connection: conn-spec's template and binding, plus on AN1 DST_SHORT
   * (the switch route: 0 on the point-to-point link; unchecked, a library could route its frames
   * anywhere on a switched network).
   */
  const connChannelSpec = (r: ConnRec): Uint8Array => {
    const base = connSpec({
      link, localMac: mac, peerMac: r.peerMac, localIp: ip, peerIp: r.remoteIp, localPort: r.localPort, peerPort: r.remotePort,
      ...(link === 'an1' ? { bqi: r.bqi, peerBqi: r.peerBqi } : {}),
    });
    const dstShort = link === 'an1' ? [{ offset: 0, bytes: Uint8Array.of(AN1_DST_SHORT_P2P >>> 8, AN1_DST_SHORT_P2P & 0xff) }] : [];
    // Rate control: the reservation, or best effort (0: the module shares what is unreserved).
    const rate = { bytesPerSecond: r.rate, burstBytes: link === 'an1' ? lim.rateBurstAn1 : lim.rateBurstEthernet };
    return encodeChannelSpec({ ...base, template: [...dstShort, ...base.template], rate });
  };

  /**
   * Rate admission (P §3.5: pre-arranged rates): a reservation of `rate` wire bytes/s fits if the
   * reservations of live connections (set-up, handed) and of waiting ACCEPTs leave it room within
   * the link's reservable capacity. 0 (best effort) always fits.
   */
  const rateFits = (rate: number): boolean => {
    if (rate === 0) return true;
    let held = 0;
    for (const r of conns.values()) if (r.state === 'handshake' || r.state === 'completing' || r.state === 'handed') held += r.rate;
    for (const l of listeners.values()) for (const a of l.accepts) held += a.rate ?? 0;
    return held + rate <= Math.floor((NETIO_LINK_BYTES_PER_SECOND[link] * lim.reservablePercent) / 100);
  };
  /** A rate word as a request carries it: absent = 0; an integer ≥ 0, else undefined (invalid). */
  const rateWord = (x: number | undefined): number | undefined => (x === undefined ? 0 : Number.isInteger(x) && x >= 0 ? x : undefined);

  /** A connection reached ESTABLISHED in the engine: channel, TCB export, hand-off. */
  function* complete(r: ConnRec, s: TcpSocket): G<void> {
    r.state = 'completing';
    const t0 = yield* now();
    r.tEstablished = t0;
    r.peerMac = stack.arp.lookup(t0, r.remoteIp) ?? 0;
    const spec = connChannelSpec(r);
    const cr = yield* sys.net_channel_create({ priv, task: r.owner, link: linkNo, rxSlots, txPages, spec });
    const t1 = yield* now();
    if (cr.kr !== KERN.SUCCESS) {
      yield* sys.debug_log({ text: `registry: channel for ${r.key} failed kr=${cr.kr}` });
      s.abort(t1);
      yield* flushOut();
      r.state = 'dead';
      holdBqi(r.bqi, t1, r.owner);
      if (r.reply !== undefined) yield* sendReply(r.reply, [{ type: 'int32', values: [cr.kr] }]);
      return;
    }
    stats.channelsCreated++;
    // The registry keeps a send right to the channel and watches it: the channel dies with its
    // owner (whoever that is by then: connections can be passed between tasks, P §3.2).
    r.channel = cr.name;
    yield* sys.mach_port_request_notification({ name: cr.name, variant: NOTIFY.DEAD_NAME, sync: 0, notify: reqPort, disposition: MSG_TYPE.MAKE_SEND_ONCE });
    // Frames that reached the default channel before the key was installed belong to the engine's copy.
    yield* drain(t1);
    ctx.spend(c.tcbTransferCycles);
    const snap = stack.exportConnection(s);
    r.snap = snap;
    r.sock = undefined;
    r.state = 'handed';
    stats.handoffs++;
    const t2 = yield* now();
    const w: GrantWords = {
      kr: KERN.SUCCESS, address: cr.address, sem: cr.sem, region: cr.region, regionBytes: (1 + rxSlots + txPages) * NETIO_PAGE_SIZE, bqi: r.bqi, peerBqi: r.peerBqi, localIp: ip, localMacHi: macHi(mac), localMacLo: macLo(mac),
      peerMacHi: macHi(r.peerMac), peerMacLo: macLo(r.peerMac),
      outboundUs: Math.round((r.tSynSent - r.tRequest) / 1000), peerRttUs: Math.round((r.tEstablished - r.tSynSent) / 1000),
      channelUs: Math.round((t1 - t0) / 1000), tcbUs: Math.round((t2 - t1) / 1000), registryTotalUs: Math.round((t2 - r.tRequest) / 1000),
    };
    if (r.active) {
      if (r.reply !== undefined) yield* sendReply(r.reply, grantItems(cr.name, w, snap, MSG_TYPE.COPY_SEND));
      r.reply = undefined;
      return;
    }
    const l = listeners.get(r.localPort);
    const a = l?.accepts.shift();
    if (a !== undefined) yield* sendReply(a, grantItems(cr.name, w, snap, MSG_TYPE.COPY_SEND));
    else if (l !== undefined) l.ready.push({ channel: cr.name, w, snap });
  }

  /** Look for handshakes that finished (either way) after input or timers. */
  function* progress(): G<void> {
    for (const r of [...conns.values()]) {
      if (r.state !== 'handshake' || !r.active || r.sock === undefined) continue;
      const s = r.sock;
      if (s.state === 'ESTABLISHED' || s.state === 'CLOSE-WAIT') {
        r.state = 'completing'; // before any trap: the other thread runs this loop too
        yield* flushOut(); // the final ACK leaves before the channel is set up (overlap)
        yield* complete(r, s);
      } else if (s.state === 'CLOSED') {
        r.state = 'dead';
        stats.refused++;
        holdBqi(r.bqi, yield* now(), r.owner); // offered in our SYN: the peer may have bound it
        if (r.reply !== undefined) yield* sendReply(r.reply, [{ type: 'int32', values: [s.error === 'ETIMEDOUT' ? REG_ERR.TIMED_OUT : REG_ERR.CONN_REFUSED] }]);
        r.reply = undefined;
      }
    }
    for (const l of listeners.values()) {
      // Connections stay in the engine's accept queue (counted against the backlog) until the
      // application asks for one: the channel is set up at accept time.
      for (let s = l.accepts.length > 0 ? l.listener.accept() : null; s !== null; s = l.accepts.length > 0 ? l.listener.accept() : null) {
        const k = key4(s.remoteIp, s.remotePort, s.localPort);
        let r = conns.get(k);
        if (r === undefined || r.state !== 'handshake') {
          r = {
            key: k, owner: l.owner, active: false, localPort: s.localPort, remoteIp: s.remoteIp, remotePort: s.remotePort, sock: s,
            state: 'handshake', reply: undefined, bqi: 0, peerBqi: 0, tRequest: 0, tSynSent: 0, tEstablished: 0, snap: undefined, peerMac: 0, channel: 0, rate: 0,
          };
          conns.set(k, r);
        }
        r.rate = l.accepts[0]?.rate ?? 0; // the ACCEPT this connection answers (complete() hands it over)
        stats.accepts++;
        yield* complete(r, s);
      }
    }
    // Embryonic passive connections that died: give their reserved BQI back.
    for (const r of [...conns.values()]) {
      if (r.state === 'handshake' && !r.active && stack.findSocket(r.remoteIp, r.remotePort, r.localPort) === null && r.sock === undefined) {
        const l = listeners.get(r.localPort);
        const pending = l !== undefined && l.listener.pendingCount > 0;
        if (pending) continue;
        r.state = 'dead';
        conns.delete(r.key);
        holdBqi(r.bqi, yield* now(), r.owner); // offered in our SYN-ACK
      }
    }
  }

  function* watch(owner: PortName): G<void> {
    if (watched.has(owner)) return;
    watched.add(owner);
    yield* sys.mach_port_request_notification({ name: owner, variant: NOTIFY.DEAD_NAME, sync: 0, notify: reqPort, disposition: MSG_TYPE.MAKE_SEND_ONCE });
  }

  /**
   * A connection's channel died without a RELEASE (its owner task died, or it revoked the channel
   * without closing): inherit the connection (P §3.4) — TIME-WAIT for 2·MSL, and an RST for the peer.
   */
  function* inheritConn(r: ConnRec): G<void> {
    const t = yield* now();
    stats.inherited++;
    timeWait.set(r.key, t + 2 * mslNs);
    holdBqi(r.bqi, t, r.owner);
    if (link === 'an1') deadPeerBqi.set(r.key, r.peerBqi);
    r.state = 'dead';
    const snap = r.snap;
    if (snap !== undefined) {
      // Out-of-window ACK: the peer answers with an ACK whose ack field is its RCV.NXT; the
      // engine, which no longer knows the connection, answers that with an acceptable RST.
      stats.probes++;
      const f = tcpFrame(
        { link, srcMac: mac, dstMac: r.peerMac, srcIp: ip, dstIp: r.remoteIp, dstBqi: r.peerBqi },
        { srcPort: r.localPort, dstPort: r.remotePort, seq: snap.iss as Seq32, ack: (snap.irs + 1) as Seq32, flags: TcpFlag.ACK, window: 0, urgentPtr: 0, mss: null, payload: new Uint8Array(0) } as never,
      );
      chargeOutput((n, k) => ctx.spend(n, k), c, f, link === 'an1' ? 20 : 14);
      yield* transmit(f);
    }
    conns.delete(r.key);
    yield* flushOut();
  }

  /** A client task died: its listeners and unfinished handshakes go (its channels die with it and are inherited one by one). */
  function* inherit(owner: PortName): G<void> {
    const t = yield* now();
    for (const r of conns.values()) {
      if (r.owner !== owner) continue;
      if (r.state === 'handshake' || r.state === 'completing') {
        r.sock?.abort(t);
        r.state = 'dead';
        holdBqi(r.bqi, t);
      }
      yield* dropReply(r.reply);
      r.reply = undefined;
    }
    for (const [bqi, o] of [...bqiHoldOwner]) if (o === owner) bqiHoldOwner.delete(bqi); // still held, no longer charged
    for (const [port, l] of [...listeners]) {
      if (l.owner !== owner) continue;
      l.listener.close(t);
      listeners.delete(port);
      for (const x of l.ready) yield* sys.net_channel_close({ channel: x.channel });
      for (const a of l.accepts.splice(0)) yield* dropReply(a);
    }
    for (const [k, r] of [...conns]) if (r.state === 'dead' || r.state === 'released') conns.delete(k);
    yield* flushOut();
    watched.delete(owner);
    yield* sys.mach_port_destroy({ name: owner }); // the dead name and every reference on it
  }

  /** Connections shared across fork (issue 17 item 2; shared-conns.ts): the registry runs them for their holders. */
  const shared = sharedConnections({
    ctx, c, link, mslNs, stack, conns, timeWait, deadPeerBqi, flushOut, kickNetThread, sendReply, now, logStats: p['logStats'] === true, sharedPerTask: lim.channelsPerTask,
    holdBqiUntil: (bqi, until) => {
      if (bqi === 0) return;
      holdsChanged = true;
      bqiHold.set(bqi, until);
    },
  });

  /** Keep exactly one user reference on a watched client's task-port name (each request brings one). */
  /** The engine has a new deadline (a connection started or taken over): the network thread re-reads it. */
  function* kickNetThread(): G<void> {
    if (ch !== undefined) yield* sys.semaphore_signal({ sem: defSem });
    else yield* send(devKick, DEVICE_KICK_MSG, [], { timeoutMs: 0 });
  }

  /** The link address of an on-link host by the engine's ARP (the network thread takes the reply in), or −1. */
  function* resolveMac(ipAddr: number): G<number> {
    for (let k = 0; k < RESOLVE_TRIES; k++) {
      const t = yield* now();
      const m = k % 25 === 0 ? stack.resolve(t, ipAddr) : stack.arp.lookup(t, ipAddr);
      if (m !== null) return m;
      if (k % 25 === 0) {
        yield* flushOut();
        yield* kickNetThread();
      }
      yield* sys.thread_sleep_ns({ ns: 1_000_000 });
    }
    return -1;
  }

  /** AN1: the BQI the peer host's `port` receives on, from its registry's binder (0: nobody has the port; −1: no answer). */
  function* bindPeerBqi(peerIp: number, port: number): G<number> {
    const k = `${peerIp}:${port}`;
    binderAnswers.delete(k);
    for (let i = 0; i < RESOLVE_TRIES && binder !== undefined; i++) {
      if (i % 25 === 0) {
        binder.sendTo(yield* now(), Uint8Array.of(...u32be(BINDER_QUERY), port >>> 8, port & 0xff), peerIp, REGISTRY_BINDER_PORT);
        yield* flushOut();
        yield* kickNetThread();
      }
      yield* sys.thread_sleep_ns({ ns: 1_000_000 });
      const a = binderAnswers.get(k);
      if (a !== undefined) return a;
    }
    return -1;
  }

  /** A UDP channel died (closed by its owner, or with it): the port is free, the BQI held as a TCP connection's. */
  function* releaseUdp(u: UdpRec): G<void> {
    udpBinds.delete(u.port);
    udpReleased++;
    u.sock?.close();
    holdBqi(u.bqi, yield* now());
    yield* sys.mach_port_destroy({ name: u.channel });
  }

  /** On AN1, reserve a BQI for a new endpoint (0 on Ethernet); undefined after answering NO_BQI. */
  function* reserveBqi(rep: Reply): G<number | undefined> {
    if (link !== 'an1') return 0;
    const b = yield* sys.net_bqi_reserve({ priv });
    if (b.kr !== KERN.SUCCESS) {
      yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.NO_BQI] }]);
      return undefined;
    }
    stats.bqisReserved++;
    return b.bqi;
  }

  function* handle(m: ReceivedMsg): G<void> {
    const taskItem = m.items.find((i) => i.type === 'port');
    const owner = taskItem?.type === 'port' ? taskItem.name : 0;
    const wasWatched = watched.has(owner);
    yield* handleRequest(m);
    if (m.id !== NOTIFY.DEAD_NAME && owner !== 0 && (wasWatched || !watched.has(owner))) yield* sys.mach_port_deallocate({ name: owner });
  }

  function* handleRequest(m: ReceivedMsg): G<void> {
    const t = yield* now();
    ctx.spend(c.registryRequestCycles);
    const ints = m.items.find((i) => i.type === 'int32');
    const v = ints?.type === 'int32' ? ints.values : [];
    const taskItem = m.items.find((i) => i.type === 'port');
    const owner = taskItem?.type === 'port' ? taskItem.name : 0;
    const rep: Reply = { name: m.remote, id: m.id };
    const ints32 = m.items.filter((i) => i.type === 'int32').length;
    /** Refuse: malformed or out of range. */
    const invalid = function* (): G<void> {
      stats.invalid++;
      yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.INVALID] }]);
    };
    /** Refuse: a quota of limits.ts (which one in the second word). */
    const quota = function* (which: number): G<void> {
      stats.quota++;
      yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.QUOTA, which] }]);
    };
    // Every request: one int32 item, the caller's task port (a send right), and nothing it does not expect.
    const shapeOk = (words: number, ports: number, inline: number): boolean =>
      ints32 === 1 && v.length >= words && m.items.filter((i) => i.type === 'port').length === ports && m.items.filter((i) => i.type === 'inline').length <= inline && m.items.length <= 1 + ports + inline;
    // The caller's task port died in transit (MACH_PORT_DEAD): nobody to act for.
    if (m.id !== NOTIFY.DEAD_NAME && owner === MACH_PORT_DEAD) return yield* invalid();
    switch (m.id) {
      case NOTIFY.DEAD_NAME: {
        // The dead name arrives as a PORT_NAME item: a connection's channel, or a client task.
        const u = [...udpBinds.values()].find((x) => x.channel === owner);
        if (u !== undefined) return yield* releaseUdp(u);
        const r = [...conns.values()].find((x) => x.channel === owner && x.channel !== 0);
        if (r !== undefined) {
          if (r.state === 'handed') yield* inheritConn(r);
          yield* sys.mach_port_destroy({ name: owner });
        } else if (watched.has(owner)) yield* inherit(owner);
        else yield* sys.mach_port_destroy({ name: owner });
        return;
      }
      case SHARED_MSG.SHARE:
        return yield* shared.share(m, rep, t);
      case REG_MSG.LISTEN: {
        const port = v[0] ?? 0;
        const backlog = v[1] ?? 5;
        if (!shapeOk(1, 1, 0) || owner === 0 || !validPort(port) || !Number.isInteger(backlog) || backlog < 0) return yield* invalid();
        const q = overQuota(owner, 'listen');
        if (q !== 0) return yield* quota(q);
        if (portBusy(port, t)) {
          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.ADDR_IN_USE, port] }]);
          return;
        }
        const l = stack.listen(port, Math.max(1, Math.min(lim.backlogMax, backlog)));
        if (typeof l === 'string') {
          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.ADDR_IN_USE, port] }]);
          return;
        }
        yield* watch(owner);
        listeners.set(port, { port, owner, listener: l, accepts: [], ready: [] });
        yield* sendReply(rep, [{ type: 'int32', values: [KERN.SUCCESS, port] }]);
        return;
      }
      case REG_MSG.UNLISTEN: {
        if (!shapeOk(1, 1, 0) || owner === 0 || !validPort(v[0] ?? 0)) return yield* invalid();
        const l = listeners.get(v[0] ?? 0);
        if (l === undefined || l.owner !== owner) {
          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.NOT_OWNER] }]);
          return;
        }
        l.listener.close(t);
        listeners.delete(l.port);
        // Accepts still waiting get their answer (the right is used, not leaked); connections ready but not accepted go.
        for (const a of l.accepts.splice(0)) yield* sendReply(a, [{ type: 'int32', values: [REG_ERR.NO_LISTENER] }]);
        for (const x of l.ready.splice(0)) yield* sys.net_channel_close({ channel: x.channel });
        yield* flushOut();
        yield* sendReply(rep, [{ type: 'int32', values: [KERN.SUCCESS] }]);
        return;
      }
      case REG_MSG.ACCEPT: {
        const rate = rateWord(v[1]);
        if (!shapeOk(1, 1, 0) || owner === 0 || !validPort(v[0] ?? 0) || rate === undefined) return yield* invalid();
        const l = listeners.get(v[0] ?? 0);
        if (l === undefined || l.owner !== owner) {
          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.NO_LISTENER] }]);
          return;
        }
        const ready = l.ready.shift();
        if (ready !== undefined) yield* sendReply(rep, grantItems(ready.channel, ready.w, ready.snap, MSG_TYPE.COPY_SEND));
        else {
          const q = overQuota(owner, 'accept');
          if (q !== 0) return yield* quota(q);
          if (!rateFits(rate)) {
            yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.NO_BANDWIDTH] }]);
            return;
          }
          l.accepts.push(rate !== 0 ? { ...rep, rate } : rep);
        }
        return;
      }
      case REG_MSG.CONNECT: {
        stats.connects++;
        const remoteIp = (v[0] ?? 0) >>> 0;
        const remotePort = v[1] ?? 0;
        let localPort = v[2] ?? 0;
        const rate = rateWord(v[3]);
        // F3: a local port outside 1..65535 (65536 + P would become P, a live connection's port) is refused, not wrapped.
        if (!shapeOk(3, 1, 0) || owner === 0 || !validRemoteIp(v[0] ?? 0) || !validPort(remotePort) || (localPort !== 0 && !validPort(localPort)) || rate === undefined) return yield* invalid();
        const q = overQuota(owner, 'connect');
        if (q !== 0) return yield* quota(q);
        if (!rateFits(rate)) {
          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.NO_BANDWIDTH] }]);
          return;
        }
        if (localPort === 0) {
          for (let i = 0; i < 16384 && portBusy(nextEphemeral, t); i++) nextEphemeral = nextEphemeral >= 65535 ? 49152 : nextEphemeral + 1;
          localPort = nextEphemeral;
          nextEphemeral = nextEphemeral >= 65535 ? 49152 : nextEphemeral + 1;
        }
        const k = key4(remoteIp, remotePort, localPort);
        if (owner === 0 || portBusy(localPort, t) || timeWait.has(k)) {
          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.ADDR_IN_USE] }]);
          return;
        }
        const bqi = yield* reserveBqi(rep);
        if (bqi === undefined) return;
        const s = stack.connect(t, remoteIp, remotePort, { localPort, ...(bqi !== 0 ? { an1TxSpare: bqi } : {}) });
        if (typeof s === 'string') {
          if (bqi !== 0) yield* sys.net_bqi_release({ priv, bqi });
          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.ADDR_IN_USE] }]);
          return;
        }
        const r: ConnRec = {
          key: k, owner, active: true, localPort, remoteIp, remotePort, sock: s, state: 'handshake', reply: rep, bqi, peerBqi: 0,
          tRequest: t, tSynSent: 0, tEstablished: 0, snap: undefined, peerMac: 0, channel: 0, rate,
        };
        conns.set(k, r);
        yield* flushOut(); // the SYN (or the ARP request before it) leaves first
        r.tSynSent = yield* now();
        yield* watch(owner);
        yield* kickNetThread();
        return;
      }
      case REG_MSG.RELEASE: {
        const tcbItem = m.items.find((i) => i.type === 'inline');
        if (!shapeOk(4, 2, 1) || !validPort(v[0] ?? 0) || !validPort(v[2] ?? 0) || ((v[3] ?? 0) !== 0 && (v[3] ?? 0) !== 1) || (tcbItem?.type === 'inline' && tcbItem.data.length > lim.tcbBytesMax)) {
          const rights = m.items.filter((i) => i.type === 'port');
          for (const x of rights.slice(1)) if (x.type === 'port' && x.name !== 0) yield* sys.mach_port_deallocate({ name: x.name });
          if (m.remote !== 0) return yield* invalid();
          stats.invalid++;
          return;
        }
        const k = key4((v[1] ?? 0) >>> 0, v[2] ?? 0, v[0] ?? 0);
        const r = conns.get(k);
        // Proof of ownership: the sender holds the connection's channel right (it merges with ours).
        const rights = m.items.filter((i) => i.type === 'port');
        const chItem = rights[1];
        const chName = chItem?.type === 'port' ? chItem.name : 0;
        // An unfinished close carries the TCB (and is an RPC): the engine takes the connection over.
        const tcb = m.items.find((i) => i.type === 'inline');
        let kr: number = REG_ERR.NOT_OWNER;
        if (r !== undefined && r.state === 'handed' && chName === r.channel && chName !== 0) {
          r.state = 'released';
          stats.released++;
          if ((v[3] ?? 0) !== 0) timeWait.set(k, t + 2 * mslNs);
          kr = KERN.SUCCESS;
          if (tcb?.type === 'inline') {
            ctx.spend(c.tcbTransferCycles);
            const snap = decodeSnapshot(tcb.data);
            const s = snap === undefined ? 'EINVAL' : stack.importConnection(t, snap);
            if (typeof s === 'string') kr = KERN.INVALID_ARGUMENT;
            else {
              stats.finishing++;
              if (link === 'an1') deadPeerBqi.set(k, r.peerBqi); // its segments go to the peer library's BQI
              yield* flushOut();
              yield* kickNetThread(); // its retransmission timer
            }
          }
          conns.delete(k);
          // The channel goes now, whoever else still holds a right to it: a released connection
          // has no channel (a library that kept a copy of the right cannot send through it).
          yield* sys.net_channel_close({ channel: r.channel });
          holdBqi(r.bqi, t, r.owner);
          yield* sys.mach_port_destroy({ name: r.channel }); // our right, the reference just received, and the dead-name request
        } else if (chName !== 0) yield* sys.mach_port_deallocate({ name: chName });
        if (m.remote !== 0) yield* sendReply(rep, [{ type: 'int32', values: [kr] }]);
        return;
      }
      case REG_MSG.REROUTE: {
        // int32 [localPort, remoteIp, remotePort, hopHi, hopLo], task port, channel right (the proof).
        const rights = m.items.filter((i) => i.type === 'port');
        const chItem = rights[1];
        const chName = chItem?.type === 'port' ? chItem.name : 0;
        const hopHi = v[3] ?? -1;
        const hopLo = v[4] ?? 0;
        const hop = macJoin(hopHi, hopLo);
        if (!shapeOk(5, 2, 0) || owner === 0 || !validPort(v[0] ?? 0) || !validRemoteIp(v[1] ?? 0) || !validPort(v[2] ?? 0) || hopHi < 0 || hopHi > 0xffff || (link === 'ethernet' ? hop === 0 : hop > 0xffff)) {
          // Every right it brought besides the task port is given back (a malformed request keeps nothing).
          for (const x of rights.slice(1)) if (x.type === 'port' && x.name !== 0 && x.name !== MACH_PORT_DEAD) yield* sys.mach_port_deallocate({ name: x.name });
          reroutesRefused++;
          return yield* invalid();
        }
        const r = conns.get(key4((v[1] ?? 0) >>> 0, v[2] ?? 0, v[0] ?? 0));
        let kr: number = REG_ERR.NOT_OWNER;
        // Ownership: only the holder of the connection's channel right may reroute it (a task's own
        // live channel right is not enough: it must be this connection's).
        if (r !== undefined && r.state === 'handed' && chName !== 0 && chName === r.channel) {
          // The hop: the peer itself (its address from ARP; AN1: the point-to-point route) or one the registry was configured with.
          const direct = link === 'ethernet' ? stack.arp.lookup(t, r.remoteIp) === hop : hop === AN1_DST_SHORT_P2P;
          if (!direct && !hops.has(hop)) kr = REG_ERR.NO_ROUTE;
          else {
            const route =
              link === 'ethernet'
                ? Uint8Array.from({ length: 6 }, (_, i) => Math.floor(hop / 2 ** (8 * (5 - i))) % 256)
                : Uint8Array.of(hop >>> 8, hop & 0xff, r.peerBqi >>> 8, r.peerBqi & 0xff, ...Uint8Array.from({ length: 6 }, (_, i) => Math.floor(r.peerMac / 2 ** (8 * (5 - i))) % 256));
            kr = (yield* sys.net_channel_reroute({ priv, channel: r.channel, route })).kr;
            if (kr === KERN.SUCCESS) r.hop = hop;
          }
        }
        if (kr === KERN.SUCCESS) reroutes++;
        else reroutesRefused++;
        // The reference the request brought (merged with ours when it is the connection's): ours stays.
        if (chName !== 0 && chName !== MACH_PORT_DEAD) yield* sys.mach_port_deallocate({ name: chName });
        if (m.remote !== 0) yield* sendReply(rep, [{ type: 'int32', values: [kr] }]);
        return;
      }
      case REG_MSG.UDP_BIND: {
        let localPort = v[0] ?? 0;
        const remoteIp = (v[1] ?? 0) >>> 0;
        const remotePort = v[2] ?? 0;
        const connected = remoteIp !== 0 || remotePort !== 0;
        if (!shapeOk(3, 1, 0) || owner === 0 || (localPort !== 0 && !validPort(localPort)) || (connected && (!validRemoteIp(v[1] ?? 0) || !validPort(remotePort)))) return yield* invalid();
        const q = overQuota(owner, 'udp');
        if (q !== 0) return yield* quota(q);
        if (localPort === 0) {
          for (let i = 0; i < 16384 && udpBinds.has(nextUdpEphemeral); i++) nextUdpEphemeral = nextUdpEphemeral >= 65535 ? 49152 : nextUdpEphemeral + 1;
          localPort = nextUdpEphemeral;
          nextUdpEphemeral = nextUdpEphemeral >= 65535 ? 49152 : nextUdpEphemeral + 1;
        }
        if (udpBinds.has(localPort)) {
          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.ADDR_IN_USE, localPort] }]);
          return;
        }
        const peerMac = connected ? yield* resolveMac(remoteIp) : 0;
        if (peerMac < 0) {
          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.TIMED_OUT] }]);
          return;
        }
        if (udpBinds.has(localPort)) {
          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.ADDR_IN_USE, localPort] }]);
          return;
        }
        // AN1, connected: the peer port's BQI from the peer's registry (the binding step).
        const peerBqi = link === 'an1' && connected ? yield* bindPeerBqi(remoteIp, remotePort) : 0;
        if (peerBqi <= 0 && link === 'an1' && connected) {
          yield* sendReply(rep, [{ type: 'int32', values: [peerBqi < 0 ? REG_ERR.TIMED_OUT : REG_ERR.CONN_REFUSED] }]);
          return;
        }
        if (udpBinds.has(localPort)) {
          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.ADDR_IN_USE, localPort] }]);
          return;
        }
        const bqi = yield* reserveBqi(rep);
        if (bqi === undefined) return;
        const spec = encodeChannelSpec(udpSpec({
          link, localMac: mac, localIp: ip, localPort, ...(connected ? { peerMac, peerIp: remoteIp, peerPort: remotePort, peerBqi } : {}), ...(bqi !== 0 ? { bqi } : {}),
        }));
        const t0 = yield* now();
        const cr = yield* sys.net_channel_create({ priv, task: owner, link: linkNo, rxSlots, txPages, spec });
        if (cr.kr !== KERN.SUCCESS) {
          if (bqi !== 0) yield* sys.net_bqi_release({ priv, bqi });
          yield* sendReply(rep, [{ type: 'int32', values: [cr.kr] }]);
          return;
        }
        stats.channelsCreated++;
        udpBound++;
        const placeholder = stack.udpBind(localPort);
        udpBinds.set(localPort, { port: localPort, owner, remoteIp, remotePort, channel: cr.name, bqi, sock: typeof placeholder === 'string' ? undefined : placeholder });
        yield* sys.mach_port_request_notification({ name: cr.name, variant: NOTIFY.DEAD_NAME, sync: 0, notify: reqPort, disposition: MSG_TYPE.MAKE_SEND_ONCE });
        yield* watch(owner);
        const t1 = yield* now();
        const w: GrantWords = {
          kr: KERN.SUCCESS, address: cr.address, sem: cr.sem, region: cr.region, regionBytes: (1 + rxSlots + txPages) * NETIO_PAGE_SIZE, bqi, peerBqi, localIp: ip,
          localMacHi: macHi(mac), localMacLo: macLo(mac), peerMacHi: macHi(peerMac), peerMacLo: macLo(peerMac),
          outboundUs: 0, peerRttUs: 0, channelUs: Math.round((t1 - t0) / 1000), tcbUs: 0, registryTotalUs: Math.round((t1 - t) / 1000),
        };
        yield* sendReply(rep, udpGrantItems(cr.name, w, localPort));
        return;
      }
      case REG_MSG.RESOLVE: {
        if (!shapeOk(1, 1, 0) || owner === 0 || !validRemoteIp(v[0] ?? 0)) return yield* invalid();
        const m = yield* resolveMac((v[0] ?? 0) >>> 0);
        yield* sendReply(rep, [{ type: 'int32', values: m < 0 ? [REG_ERR.TIMED_OUT, 0, 0] : [KERN.SUCCESS, macHi(m), macLo(m)] }]);
        return;
      }
      default: {
        // An unknown request: its rights are not kept (a reply right is answered, any other given up).
        for (const x of m.items) if (x.type === 'port' && x.name !== 0 && x.name !== owner) yield* sys.mach_port_deallocate({ name: x.name });
        if (m.remote !== 0) yield* invalid();
        else stats.invalid++;
        return;
      }
    }
  }

  const netThread: GuestProgram = function* () {
    for (;;) {
      const t = yield* now();
      const due = stack.pollAt();
      if (due !== null && due <= t) stack.poll(t);
      yield* drain(t, false);
      yield* flushOut();
      yield* progress();
      yield* flushOut();
      yield* shared.progress();
      yield* expireBqiHolds(t);
      const pollAt = stack.pollAt();
      const holdAt = nextBqiDeadline();
      const next = pollAt === null ? holdAt : holdAt === null ? pollAt : Math.min(pollAt, holdAt);
      const t2 = yield* now();
      if (ch !== undefined) {
        if (ch.available() > 0) continue;
        const r = next === null ? yield* sys.semaphore_wait({ sem: defSem }) : yield* sys.semaphore_timedwait({ sem: defSem, ns: Math.max(1000, next - t2) });
        if (r.kr !== KERN.SUCCESS && r.kr !== KERN.OPERATION_TIMED_OUT) return;
      } else {
        if (devPending.length > 0) continue;
        // mach_msg's timeout is in ms: wake at or just after the engine's deadline.
        const r = yield* receive(devRx, next === null ? undefined : Math.max(1, Math.ceil((next - t2) / 1_000_000)));
        if (r.kr === KERN.SUCCESS) {
          const f = frameOf(r.msg);
          if (f !== undefined) devPending.push(f);
        } else if (r.kr !== MACH_MSG.RCV_TIMED_OUT) return;
      }
      ctx.spend(c.upcallCycles);
    }
  };
  yield* sys.thread_create({ program: netThread, priority: -1 });
  yield* sys.debug_log({ text: `registry: up link=${link} register=${reg.kr}` });
  for (;;) {
    const r = yield* receive(reqPort);
    if (r.kr !== KERN.SUCCESS || r.msg === undefined) continue;
    yield* handle(r.msg);
    yield* progress();
    yield* flushOut();
    if (holdsChanged) {
      holdsChanged = false;
      yield* kickNetThread(); // its wait's deadline must cover the new hold
    }
    stats.listenOverflows = stack.counters.tcpListenOverflow;
    stats.rstsForUnmatched = stack.counters.tcpRstsForUnmatched;
    if (udpBound > 0) {
      stats.udpBinds = udpBound;
      stats.udpReleased = udpReleased;
    }
    if (reroutes + reroutesRefused > 0) {
      stats.reroutes = reroutes;
      stats.reroutesRefused = reroutesRefused;
    }
    if (p['logStats'] === true) {
      // Two lines: one debug_log string is short (kernel/abi STRING_ARG_MAX).
      const { invalid, quota, repliesDropped, ...rest } = stats;
      yield* sys.debug_log({ text: `registry: ${JSON.stringify(rest)}` });
      yield* sys.debug_log({ text: `registry+: ${JSON.stringify({ invalid, quota, repliesDropped, bqisHeld: bqiHold.size })}` });
    }
  }
};

/** Read the registry's counters from the last `registry: {...}` and `registry+: {...}` lines of a task log. */
export function registryStatsFromLog(log: readonly string[]): (RegistryStats & { bqisHeld: number }) | undefined {
  let main: Omit<RegistryStats, 'invalid' | 'quota' | 'repliesDropped'> | undefined;
  let extra: { invalid: number; quota: number; repliesDropped: number; bqisHeld: number } | undefined;
  for (let i = log.length - 1; i >= 0 && (main === undefined || extra === undefined); i--) {
    const l = log[i]!;
    if (main === undefined && l.startsWith('registry: {')) main = JSON.parse(l.slice('registry: '.length)) as typeof main;
    if (extra === undefined && l.startsWith('registry+: {')) extra = JSON.parse(l.slice('registry+: '.length)) as typeof extra;
  }
  return main === undefined ? undefined : { invalid: 0, quota: 0, repliesDropped: 0, bqisHeld: 0, ...main, ...extra };
}
