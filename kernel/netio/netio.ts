/**
 * The network I/O module (P §3.3–3.4): capability channels between the kernel and user-level
 * protocol code, co-located with the LANCE and AN1 drivers.
 *
 * A channel binds, at creation by a holder of the module's privileged port (the registry server):
 * - a header template, compiled once into a word-compare matcher (template.ts) that every
 *   outbound frame must pass (on AN1 the template includes the peer's BQI);
 * - an inbound demultiplexing key (Ethernet: TCP 4-tuple or raw (EtherType, source MAC), one
 *   hash lookup in the interrupt path) or, on AN1, a BQI whose ring IS the channel's slot pages;
 * - a shared region (kernel/abi/netio.ts layout: control page, receive slots, transmit area),
 *   wired and mapped read-write into the owning task, and named by a port (a memory object): the
 *   owner gets a send right to it, so it can hand the region to another task by Mach message and
 *   that task can `vm_map` it (connection passing, P §3.2: no registry, no call into this module);
 * - a lightweight semaphore (a send right in the owner's space, passable the same way), signalled
 *   once per interrupt batch that delivered frames to the channel;
 * - a send right to the channel's kernel port, returned to the creator, who passes it on.
 *
 * Lifetime: a channel lives while some task holds its region (a send right to the region's port,
 * in a space or in a message in transit) and until it is closed or the last send right to the
 * channel itself goes. The owner's death drops its rights, so a channel nobody else holds closes
 * with its owner; a channel passed to another task lives on with that task.
 *
 * Outbound (`net_send`): the right is looked up in the caller's space, the range checked against
 * the region, the frame's header bytes COPIED into kernel memory and the matcher run on that
 * copy; the copy is what goes out (time of check = time of use: a thread rewriting the header
 * after the check changes nothing). Ethernet: header copy + body by PIO into a LANCE transmit
 * buffer (driver.transmitFrom). AN1: a two-part DMA descriptor — the checked header from a kernel
 * header slot, the body straight from the region (the controller DMAs long after the trap
 * returned, so the header must not come from the user's page; the body is the sender's own
 * business); a body that crosses a physical page falls back to copying the frame into a kernel
 * transmit page (docs/netio.md). When the device has no room the sender blocks until a transmit
 * completes; a closed channel's pages are not reused while a DMA from them is queued. Rate control
 * (P §3.5; rate-limit.ts): a channel created with a rate has a token bucket of wire bytes — a
 * reservation's fixed rate, or best effort's equal share of what the link's reservations leave
 * (reshare) — and a send it cannot cover waits, blocked, until the exact time it can.
 *
 * Inbound, Ethernet: in the LANCE receive upcall the header is read by PIO, classified, looked up
 * once, and the frame PIO-copied into the stock Mach 3.0 driver's net_kmsg (its hand-off charged,
 * `netio.rxKmsgCycles`), which the module copies into the channel's next slot (`cpu.memcpy*`: the
 * paper ran Mach's Ethernet driver unaltered, P §4; docs/calibration.md, "Delivery of a
 * maximum-sized packet"); the default channel, which stands in for the mapped Ethernet device,
 * gets the frame by the PIO copy alone; RX_HEAD bumps; at the end of the driver's drain each touched channel's
 * semaphore is signalled once. Unmatched frames and
 * IP fragments go to the default channel if there is one, else they are dropped and counted.
 * Inbound, AN1: the controller DMAs into the channel's slot pages (its BQI ring); the handler
 * records the length and bumps RX_HEAD; buffers come back by `net_rx_done` (or piggy-backed on
 * `net_send`) and are re-posted. BQI 0 (kernel buffers) feeds the default channel by a copy.
 *
 * Accounting: every frame the module sees goes to exactly one of: a keyed channel, the default
 * channel, or one drop counter (no channel, ring full, receive error). Revocation (close, the
 * region released — its holder's death included —, the last send right to the channel gone)
 * removes key, BQI and template, unmaps the region from every task that mapped it and frees it
 * (AN1: after a quarantine covering a DMA already under way), destroys the semaphore and the
 * region's and channel's ports: every send right to them becomes a dead name.
 */
import { KERN } from '../abi/errors.ts';
import {
  decodeChannelSpec,
  NETIO_CTL,
  NETIO_ERR,
  NETIO_LINK,
  NETIO_LINK_BYTES_PER_SECOND,
  NETIO_MAGIC,
  NETIO_PAGE_SIZE,
  NETIO_ROUTE_BYTES,
  NETIO_RX_SLOTS_MAX,
  netioWireBytes,
  txAreaOffset,
  type NetioChannelSpec,
} from '../abi/netio.ts';
import type { SyscallArgs, SyscallResults } from '../abi/syscalls.ts';
import { assert, bug } from '../../emulator/sim/assert.ts';
import { Priority, type SimEvent } from '../../emulator/sim/scheduler.ts';
import type { An1Driver } from '../dev/an1/an1-driver.ts';
import type { LanceDriver, LanceRxFrame } from '../dev/lance/lance-driver.ts';
import type { KObject, Port } from '../ipc/ipc.ts';
import { BLOCKED, type Kernel, type Task, type Thread } from '../kernel.ts';
import type { Semaphore } from '../sync/semaphore.ts';
import type { MemoryObject } from '../vm/memory-object.ts';
import type { VmMap } from '../vm/vm-map.ts';
import { classify, DEMUX_ICMP_BYTES, DemuxTable, rawKey, tcpKey, udpBoundKey, udpKey } from './demux.ts';
import { DeviceIpc } from './device-ipc.ts';
import { TokenBucket } from './rate-limit.ts';
import { AN1_HEADER_BYTES, compileTemplate, ETHERNET_HEADER_BYTES, makeTemplate, type TemplateMatcher } from './template.ts';
import type { Sync } from '../dev/sync.ts';

export type NetLink = 'ethernet' | 'an1';

/** Frame sizes each link accepts from net_send (destination address .. end of data, no FCS). */
const LINK_FRAME_MIN: Record<NetLink, number> = { ethernet: ETHERNET_HEADER_BYTES, an1: AN1_HEADER_BYTES };
const LINK_FRAME_MAX: Record<NetLink, number> = { ethernet: 1514, an1: 1520 };
/** Transmit pages per channel at most, and the kernel's AN1 transmit pages (= the board's queue). */
export const NETIO_TX_PAGES_MAX = 64;
export const NETIO_AN1_TX_PAGES = 32;
/** Senders blocked on a full device at once, at most. */
export const NETIO_SEND_WAITERS_MAX = 256;
/** Channels per host at most. */
export const NETIO_CHANNELS_MAX = 1024;
/** After an AN1 channel closes, its pages and BQI wait this long (a frame's DMA may be under way: ≤ 1520 B × 40 ns + setup). */
export const NETIO_AN1_QUARANTINE_NS = 1_000_000;
/** Bytes of one AN1 header slot (a template ends by byte 128; + 3 to align the body). */
const AN1_HDR_SLOT_BYTES = 128;
const AN1_BQI_MAX = 63;
/** A BQI's state in the module: free, reserved by the registry (offered to a peer), bound to a channel (or in quarantine). */
const BQI_FREE = 0;
const BQI_RESERVED = 2;
const BQI_BOUND = 1;
const AN1_RING_SLOTS_MAX = 64;
/** Bytes the software demultiplexer reads first: Ethernet + IPv4 without options + TCP ports. */
const DEMUX_FIRST_READ = ETHERNET_HEADER_BYTES + 20 + 4;
/** AN1 BQI discovery: (UID, BQI) pairs a channel remembers at most; the least recently heard from is forgotten first. */
export const NETIO_DISCOVERED_MAX = 64;
const an1DiscoveryKey = (uid: number, bqi: number): string => `${uid}:${bqi}`;

/** The privileged port's object: whoever holds a send right may create channels. */
class NetioPriv implements KObject {
  readonly kind = 'netio-priv';
}

export interface ChannelCounters {
  delivered: number;
  ringFullDrops: number;
  rxErrors: number;
  signals: number;
  sent: number;
  refusedTemplate: number;
  refusedRate: number;
  refusedRange: number;
  refusedLength: number;
  /** AN1 BQI discovery: frames naming a (UID, BQI) this channel has not received from. */
  refusedBqi: number;
  /** Sends that waited for the channel's token bucket (rate control), and wire bytes it let through. */
  rateBlocked: number;
  wireBytesSent: number;
}

export class Channel implements KObject {
  readonly kind = 'netio-channel';
  port: Port | undefined = undefined;
  closed = false;
  /** AN1 frames queued for DMA whose body is read from this region. */
  txInFlight = 0;
  /** Frames the kernel has written (its own copy: the shared RX_HEAD is only a mirror). */
  head = 0;
  /** Frames sent whose transmission finished (mirrored in the control page's TX_DONE). */
  txDone = 0;
  /** AN1: frames whose buffers have been re-posted to the ring. */
  returned = 0;
  semName = 0;
  readonly counters: ChannelCounters = {
    delivered: 0, ringFullDrops: 0, rxErrors: 0, signals: 0, sent: 0, refusedTemplate: 0, refusedRate: 0, refusedRange: 0, refusedLength: 0,
    refusedBqi: 0,
    rateBlocked: 0, wireBytesSent: 0,
  };
  /**
   * AN1 BQI discovery (P §2.2; spec.discoverBqi): DST_BQI is not in the template; a frame may name
   * BQI 0 or a (DST_UID, DST_BQI) in `discovered` — the (SRC_UID, SPARE) of frames this channel
   * received, learned by the module as they arrive. Per channel: it goes with the channel.
   */
  discoverBqi = false;
  readonly discovered = new Map<string, true>();
  /** Senders waiting for the token bucket (FIFO), and the event that runs them when it will hold the first one's frame. */
  readonly rateWaiters: SendWaiter[] = [];
  rateEvent: SimEvent | undefined = undefined;
  /**
   * Rerouting (net_channel_reroute, docs/reroute.md): reroutes so far, the route in force after the
   * last one, and the matcher of the route before it — a frame that fails `matcher` but passes
   * `prevMatcher` was built (or checked, and is waiting in net_send) for the old route, and leaves
   * with the new one written over its destination (`rerouteRewritten`). Undefined until the first
   * reroute: an unrerouted channel's send path is unchanged.
   */
  routeGen = 0;
  route: Uint8Array | undefined = undefined;
  prevMatcher: TemplateMatcher | undefined = undefined;
  rerouteRewritten = 0;

  constructor(
    readonly id: number,
    readonly link: NetLink,
    readonly object: MemoryObject,
    /** Physical address of each region page (kept: the object forgets its frames when freed). */
    readonly phys: readonly number[],
    readonly rxSlots: number,
    /** The compiled template: replaced whole, between two frames, by a reroute (never edited in place). */
    public matcher: TemplateMatcher,
    readonly key: string | undefined,
    readonly bqi: number,
    readonly isDefault: boolean,
    readonly sem: Semaphore,
    readonly bucket: TokenBucket | undefined,
    /** Rate control: a reservation (its bytes/s, fixed), 'share' (best effort: the link's unreserved capacity shared), or none. */
    readonly rateClass: number | 'share' | undefined,
    private readonly onLastRight: (c: Channel) => void,
    /**
     * AN1: the BQI came from net_bqi_reserve (the registry offered it to a peer, whose templates
     * may name it long after this channel is gone): at close it goes back to the reserver, not to
     * the free pool; only net_bqi_release frees it (BQI lifetime, docs/netio.md).
     */
    readonly bqiReserved = false,
  ) {}

  get regionBytes(): number {
    return this.phys.length * NETIO_PAGE_SIZE;
  }
  slotPhys(slot: number): number {
    return this.phys[1 + slot]!;
  }
  /** Where `map` maps the region's control page, if it does (for tests and tools: who holds the region now). */
  regionAddressIn(map: VmMap): number | undefined {
    const ctl = this.phys[0]!;
    for (const [page, m] of map.pages) if (!m.isDevice && m.phys === ctl) return page * NETIO_PAGE_SIZE;
    return undefined;
  }
  onNoSenders(): void {
    this.onLastRight(this);
  }
}

export interface NetIoDevices {
  readonly lance?: LanceDriver;
  readonly an1?: An1Driver;
}

export interface NetIoStats {
  /** Frames the module saw arrive (Ethernet upcalls + AN1 completions on its BQIs and BQI 0). */
  rxArrived: number;
  rxDelivered: number;
  rxToDefault: number;
  rxDropNoChannel: number;
  rxDropRingFull: number;
  rxDropError: number;
  rxFragments: number;
  /** AN1 completions whose buffer was not the one the ring order predicts (should stay 0). */
  rxDesync: number;
  /** Ethernet: PIO cycles reading headers to demultiplex, and copying the rest of the frame. */
  rxHeaderPioCycles: number;
  rxCopyPioCycles: number;
  /** Ethernet: cycles of the stock driver's net_kmsg hand-off, and of the module's copies out of the net_kmsg into slots. */
  rxKmsgCycles: number;
  rxKmsgCopyCycles: number;
  rxBatches: number;
  txSent: number;
  txRefusedRight: number;
  txRefusedTemplate: number;
  txRefusedRange: number;
  txRefusedLength: number;
  txRefusedRate: number;
  /** AN1 BQI discovery: frames naming an undiscovered BQI. */
  txRefusedBqi: number;
  txBlocked: number;
  /** Sends that blocked in a channel's token bucket (rate control). */
  txRateBlocked: number;
  channelsCreated: number;
  channelsClosed: number;
}

interface SendWaiter {
  readonly thread: Thread;
  readonly req: SyscallArgs<'net_send'>;
  readonly link: NetLink;
}

type SendResult = SyscallResults['net_send'] | typeof BLOCKED;

export class NetIo {
  readonly privPort: Port;
  readonly stats: NetIoStats = {
    rxArrived: 0, rxDelivered: 0, rxToDefault: 0, rxDropNoChannel: 0, rxDropRingFull: 0, rxDropError: 0, rxFragments: 0, rxDesync: 0,
    rxHeaderPioCycles: 0, rxCopyPioCycles: 0, rxKmsgCycles: 0, rxKmsgCopyCycles: 0, rxBatches: 0, txSent: 0, txRefusedRight: 0, txRefusedTemplate: 0, txRefusedRange: 0,
    txRefusedLength: 0, txRefusedRate: 0, txRefusedBqi: 0, txBlocked: 0, txRateBlocked: 0, channelsCreated: 0, channelsClosed: 0,
  };
  readonly channels = new Map<number, Channel>();
  /**
   * Rerouting (docs/reroute.md), kept apart from `stats` (whose sums the accounting properties
   * check): reroutes done and refused, frames given the new route in net_send (built or checked
   * for the old one), and the frames already queued in the device at the last switch, which
   * leave with the route they were checked against (AN1: this channel's DMAs, exactly; Ethernet:
   * the LANCE's whole transmit ring, any channel's: an upper bound).
   */
  readonly rerouteStats = { reroutes: 0, refused: 0, rewritten: 0, queuedAtLastSwitch: 0 };
  private nextId = 1;
  private readonly table = new DemuxTable<Channel>();
  private readonly defaults: { ethernet: Channel | undefined; an1: Channel | undefined } = { ethernet: undefined, an1: undefined };
  private readonly touched: Channel[] = [];
  private readonly waiters: SendWaiter[] = [];
  /** Scratch for the checked header copy (send path) and the demultiplexer's header read (interrupt path). */
  private readonly txHeader = new Uint8Array(NETIO_PAGE_SIZE);
  private readonly rxHeader = new Uint8Array(NETIO_PAGE_SIZE);
  /** Where a received frame is staged between its copy out of the board and its slot (lanceReceive). */
  private readonly rxStage = new Uint8Array(NETIO_PAGE_SIZE);
  private readonly bqiInUse = new Uint8Array(AN1_BQI_MAX + 1);
  private readonly quarantine: { atNs: number; readonly ch: Channel }[] = [];
  private readonly quarantineEvent: SimEvent;
  /** AN1 transmit: header slots and fallback copy pages (entry i uses slot i or page i), in-flight FIFO of (channel, body read from its region?). */
  private readonly an1Tx:
    | { readonly pages: readonly number[]; readonly hdrBase: number; next: number; inFlight: number; readonly owners: { readonly ch: Channel | undefined; readonly fromRegion: boolean }[] }
    | undefined;
  /** AN1 frames sent copy-free (two-part) and by the copy fallback. */
  an1TxTwoPart = 0;
  an1TxCopied = 0;
  /** The device path by Mach IPC (net_device_open), when the registry asks for it: device-ipc.ts. */
  readonly deviceIpc: DeviceIpc;
  private readonly c: {
    classify: number; lookup: number; deliver: number; kmsg: number; txFixed: number; txWord: number; rxReturn: number;
    semaphore: number; portOp: number; memcpySetup: number; memcpyPerByte: number;
  };

  constructor(
    readonly kernel: Kernel,
    readonly devices: NetIoDevices,
  ) {
    const k = kernel.costs;
    const t = kernel.host.costs;
    this.c = {
      classify: t.get('netio.rxClassifyCycles'),
      lookup: t.get('netio.rxLookupCycles'),
      deliver: t.get('netio.rxDeliverCycles'),
      kmsg: t.get('netio.rxKmsgCycles'),
      txFixed: t.get('netio.txCheckFixedCycles'),
      txWord: t.get('netio.txCheckWordCycles'),
      rxReturn: t.get('netio.rxReturnCycles'),
      semaphore: k.semaphoreCycles,
      portOp: k.portOpCycles,
      memcpySetup: k.memcpySetupCycles,
      memcpyPerByte: k.memcpyCyclesPerByte,
    };
    this.privPort = kernel.createKernelPort(new NetioPriv());
    this.quarantineEvent = kernel.host.sched.createEvent(`${kernel.host.name}.netio.quarantine`, Priority.timer, () => this.releaseQuarantine());
    kernel.registerService('net_priv_port', (th, req) => this.svcPrivPort(th, req));
    kernel.registerService('net_channel_create', (th, req) => this.svcCreate(th, req));
    kernel.registerService('net_channel_close', (th, req) => this.svcClose(th, req));
    kernel.registerService('net_send', (th, req) => this.send(th, req));
    kernel.registerService('net_rx_done', (th, req) => this.svcRxDone(th, req));
    kernel.registerService('net_bqi_reserve', (th, req) => this.svcBqiReserve(th, req));
    kernel.registerService('net_bqi_release', (th, req) => this.svcBqiRelease(th, req));
    kernel.registerService('net_channel_reroute', (th, req) => this.svcReroute(th, req));
    this.deviceIpc = new DeviceIpc(kernel, {
      hasDevice: (l) => (l === 'ethernet' ? devices.lance !== undefined : devices.an1 !== undefined && this.an1Tx !== undefined),
      frameMin: (l) => LINK_FRAME_MIN[l],
      frameMax: (l) => LINK_FRAME_MAX[l],
      transmitKernelFrame: (l, frame) => this.transmitKernelFrame(l, frame),
    });
    const lance = devices.lance;
    if (lance !== undefined) {
      lance.setReceiveHandler((f) => this.lanceReceive(f));
      lance.onReceiveBatchEnd = () => this.batchEnd();
      lance.onTransmitDone = () => this.retryWaiters('ethernet');
    }
    const an1 = devices.an1;
    if (an1 !== undefined) {
      const pool = kernel.createWiredObject(NETIO_AN1_TX_PAGES + 1);
      this.an1Tx = pool === undefined ? undefined : { pages: pool.physAddrs.slice(1), hdrBase: pool.physAddrs[0]!, next: 0, inFlight: 0, owners: [] };
      an1.setReceiveHandler(0, { frame: (_b, _s, addr, length, status) => this.an1DefaultFrame(addr, length, status), batchEnd: () => this.batchEnd() });
      an1.onTransmitDone((retired) => {
        const pool = this.an1Tx;
        if (pool !== undefined) {
          pool.inFlight = Math.max(0, pool.inFlight - retired);
          for (let k = 0; k < retired; k++) {
            const o = pool.owners.shift();
            if (o === undefined || o.ch === undefined) continue;
            if (o.fromRegion) o.ch.txInFlight--;
            this.txCompleted(o.ch);
          }
        }
        this.retryWaiters('an1');
      });
    } else this.an1Tx = undefined;
  }

  private get cpu() {
    return this.kernel.host.cpu;
  }
  private get ram(): Uint8Array {
    return this.kernel.host.ram;
  }

  // ---- Kernel-internal API (the registry server's traps call these; tests may too) -----------

  /**
   * Create a channel owned by `owner`. `creator` (if any) receives the channel's send right.
   * Returns the channel and the names/addresses as net_channel_create reports them.
   */
  createChannel(
    creator: Task | undefined,
    owner: Task,
    link: NetLink,
    rxSlots: number,
    txPages: number,
    spec: NetioChannelSpec,
  ): { kr: number; channel?: Channel; name: number; address: number; sem: number; region: number; bqi: number } {
    const fail = (kr: number) => ({ kr, name: 0, address: 0, sem: 0, region: 0, bqi: 0 });
    if (!owner.alive || (creator !== undefined && !creator.alive)) return fail(KERN.INVALID_TASK);
    if (link === 'ethernet' && this.devices.lance === undefined) return fail(NETIO_ERR.NO_DEVICE);
    if (link === 'an1' && (this.devices.an1 === undefined || this.an1Tx === undefined)) return fail(NETIO_ERR.NO_DEVICE);
    const slotsOk = link === 'an1' ? rxSlots >= 1 && rxSlots <= AN1_RING_SLOTS_MAX && (rxSlots & (rxSlots - 1)) === 0 : rxSlots >= 1 && rxSlots <= NETIO_RX_SLOTS_MAX;
    if (!Number.isInteger(rxSlots) || !slotsOk || !Number.isInteger(txPages) || txPages < 0 || txPages > NETIO_TX_PAGES_MAX) return fail(KERN.INVALID_ARGUMENT);
    if (this.channels.size >= NETIO_CHANNELS_MAX) return fail(KERN.RESOURCE_SHORTAGE);
    // Inbound binding: a key (Ethernet), a BQI (AN1), the default slot, or nothing (send-only).
    let key: string | undefined;
    if (spec.isDefault) {
      if (this.defaults[link] !== undefined) return fail(NETIO_ERR.KEY_IN_USE);
    } else if (link === 'ethernet') {
      const d = spec.demux;
      if (d.kind === 'tcp') key = tcpKey(d.remoteIp, d.localIp, d.remotePort, d.localPort);
      else if (d.kind === 'raw') key = rawKey(d.etherType, d.srcMac);
      else if (d.kind === 'udp') key = d.remoteIp === 0 ? udpBoundKey(d.localIp, d.localPort) : udpKey(d.remoteIp, d.localIp, d.remotePort, d.localPort);
      if (key !== undefined && this.table.lookup(key) !== undefined) return fail(NETIO_ERR.KEY_IN_USE);
    }
    let bqi = 0;
    const bqiReserved = link === 'an1' && !spec.isDefault && spec.bqi !== undefined;
    if (link === 'an1' && !spec.isDefault) {
      if (spec.bqi !== undefined) {
        if (spec.bqi < 1 || spec.bqi > AN1_BQI_MAX || this.bqiInUse[spec.bqi] !== BQI_RESERVED) return fail(NETIO_ERR.BQI_NOT_RESERVED);
        bqi = spec.bqi;
      } else {
        bqi = this.freeBqi();
        if (bqi === 0) return fail(NETIO_ERR.NO_BQI);
      }
    }
    const template = makeTemplate(link, spec.template.map((f, i) => ({ name: `field${i}@${f.offset}`, offset: f.offset, bytes: f.bytes })));
    const matcher = compileTemplate(template);
    const pages = 1 + rxSlots + txPages;
    const object = this.kernel.createWiredObject(pages);
    if (object === undefined) return fail(KERN.RESOURCE_SHORTAGE);
    const phys = object.physAddrs;
    assert(phys.length === pages, 'wired object with the wrong page count');
    const mapped = this.kernel.mapObject(owner, object);
    if (mapped.kr !== KERN.SUCCESS) {
      this.kernel.freeObject(object);
      return fail(mapped.kr);
    }
    const sem = this.kernel.createSemaphore(0);
    const rateClass = spec.rate === undefined ? undefined : spec.rate.bytesPerSecond === 0 ? 'share' : spec.rate.bytesPerSecond;
    // A best-effort bucket starts at the link's whole capacity; reshare() below sets its share.
    const bucket = spec.rate === undefined ? undefined : new TokenBucket({ bytesPerSecond: spec.rate.bytesPerSecond || NETIO_LINK_BYTES_PER_SECOND[link], burstBytes: spec.rate.burstBytes }, this.cpu.localNow());
    const ch = new Channel(this.nextId++, link, object, phys, rxSlots, matcher, key, bqi, spec.isDefault, sem, bucket, rateClass, (c) =>
      this.close(c, 'no senders'), bqiReserved,
    );
    const semRight = this.kernel.insertSendRight(owner, sem.port!);
    object.port = this.kernel.createKernelPort(object);
    object.onLastSender = () => this.close(ch, 'region released');
    const regionRight = this.kernel.insertSendRight(owner, object.port);
    ch.port = this.kernel.createKernelPort(ch);
    const right = creator === undefined ? { kr: KERN.SUCCESS, name: 0 } : this.kernel.insertSendRight(creator, ch.port);
    if (semRight.kr !== KERN.SUCCESS || regionRight.kr !== KERN.SUCCESS || right.kr !== KERN.SUCCESS) {
      this.channels.set(ch.id, ch);
      this.close(ch, 'creation failed');
      return fail([semRight, regionRight, right].find((x) => x.kr !== KERN.SUCCESS)!.kr);
    }
    ch.semName = semRight.name;
    ch.discoverBqi = link === 'an1' && spec.discoverBqi === true;
    this.channels.set(ch.id, ch);
    this.stats.channelsCreated++;
    // Control page: the layout's constants (the library reads them; the kernel never trusts them back).
    this.ctlWrite(ch, NETIO_CTL.MAGIC, NETIO_MAGIC);
    this.ctlWrite(ch, NETIO_CTL.RX_SLOTS, rxSlots);
    this.ctlWrite(ch, NETIO_CTL.TX_OFFSET, txAreaOffset(rxSlots));
    this.ctlWrite(ch, NETIO_CTL.TX_BYTES, txPages * NETIO_PAGE_SIZE);
    this.ctlWrite(ch, NETIO_CTL.LINK, NETIO_LINK[link]);
    if (spec.isDefault) this.defaults[link] = ch;
    if (key !== undefined) this.table.install(key, ch);
    if (rateClass !== undefined) this.reshare(link);
    if (link === 'an1' && bqi !== 0) {
      const an1 = this.devices.an1!;
      this.bqiInUse[bqi] = BQI_BOUND;
      an1.configureBqi(bqi, rxSlots);
      an1.postBuffers(bqi, phys.slice(1, 1 + rxSlots));
      an1.setReceiveHandler(bqi, { frame: (_b, _s, addr, length, status) => this.an1Frame(ch, addr, length, status), batchEnd: () => this.batchEnd() });
      an1.enableBqi(bqi);
    }
    if (this.kernel.host.trace.on) this.kernel.host.trace.record(this.source, 'netio.create', ch.id, bqi, `${link} owner=${owner.id} key=${key ?? (spec.isDefault ? 'default' : '-')}`);
    return { kr: KERN.SUCCESS, channel: ch, name: right.name, address: mapped.address, sem: semRight.name, region: regionRight.name, bqi };
  }

  /** Revoke a channel (see the header). Idempotent. */
  close(ch: Channel, reason: string): void {
    if (ch.closed) return;
    ch.closed = true;
    this.stats.channelsClosed++;
    if (ch.key !== undefined) this.table.remove(ch.key);
    if (this.defaults[ch.link] === ch) this.defaults[ch.link] = undefined;
    const i = this.touched.indexOf(ch);
    if (i >= 0) this.touched.splice(i, 1);
    for (const w of this.waiters.filter((x) => this.channelOfWaiter(x) === ch)) this.dropWaiter(w, KERN.INVALID_CAPABILITY);
    for (const w of ch.rateWaiters.splice(0)) {
      w.thread.waitCancel = undefined;
      this.kernel.wake(w.thread, { kr: KERN.INVALID_CAPABILITY });
    }
    if (ch.rateEvent?.scheduled === true) this.kernel.host.sched.cancel(ch.rateEvent);
    this.kernel.revokeObject(ch.object);
    ch.object.onLastSender = undefined;
    if (ch.object.port !== undefined && !ch.object.port.dead) this.kernel.destroyPort(ch.object.port);
    if (ch.link === 'an1') {
      if (ch.bqi !== 0) {
        const an1 = this.devices.an1!;
        // A completion for a DMA already under way is dropped, never re-posted.
        an1.setReceiveHandler(ch.bqi, { frame: () => this.closedFrame() });
        // The reclaim reads BQ_FILLED: kernel work at this instant, with its own sync point.
        const bqi = ch.bqi;
        this.kernel.postKernelWork(() => an1.disableBqi(bqi));
      }
      const atNs = this.kernel.host.sched.now + NETIO_AN1_QUARANTINE_NS;
      this.quarantine.push({ atNs, ch });
      if (!this.quarantineEvent.scheduled) this.kernel.host.sched.schedule(this.quarantineEvent, atNs);
    } else this.kernel.freeObject(ch.object);
    ch.sem.destroy();
    if (ch.port !== undefined && !ch.port.dead) this.kernel.destroyPort(ch.port);
    this.channels.delete(ch.id);
    if (ch.rateClass !== undefined) this.reshare(ch.link);
    assert(ch.key === undefined || this.table.lookup(ch.key) !== ch, 'netio: a closed channel still holds its key');
    if (this.kernel.host.trace.on) this.kernel.host.trace.record(this.source, 'netio.close', ch.id, ch.bqi, reason);
  }

  /**
   * Reroute a live channel (P §3.4: "rerouting of packets from a connection might require changes
   * to the template to be done on the fly"): the template's route bytes (NETIO_ROUTE_BYTES: the
   * link header's destination) become `route`; every other field stays as it is, so a reroute
   * cannot change who the channel's frames claim to be or which connection they belong to. The
   * new matcher is compiled aside and replaces the old one in one assignment: a trap or an
   * interrupt runs whole, so each frame is checked against exactly one of them (no frame ever
   * meets a half-updated template). Frames already queued in the device leave as checked (the
   * old route was valid when they were); frames waiting in net_send (device full, rate) and frames
   * the library built before it saw the new route are given it (`rewriteRoute`). The control page
   * gets the route and ROUTE_GEN, from which the library takes the route for its next frames.
   * Refused: the default channel, a route of the wrong length, a template that does not pin every
   * route byte (NOT_ROUTABLE). The inbound binding (key, BQI) is untouched: the route says where
   * frames go, not where they come from.
   */
  reroute(ch: Channel, route: Uint8Array): number {
    const n = NETIO_ROUTE_BYTES[ch.link];
    const t = ch.matcher.template;
    const pinned = new Uint8Array(n);
    for (const f of t.fields) for (let i = 0; i < f.bytes.length; i++) if (f.offset + i < n) pinned[f.offset + i] = 1;
    if (ch.closed || ch.isDefault || route.length !== n || pinned.includes(0)) {
      this.rerouteStats.refused++;
      return ch.closed ? KERN.INVALID_CAPABILITY : NETIO_ERR.NOT_ROUTABLE;
    }
    const fields = t.fields.map((f) => {
      const bytes = f.bytes.slice();
      for (let i = 0; i < bytes.length; i++) if (f.offset + i < n) bytes[i] = route[f.offset + i]!;
      return { name: f.name, offset: f.offset, bytes };
    });
    const matcher = compileTemplate(makeTemplate(ch.link, fields));
    const queued = ch.link === 'an1' ? this.an1Tx!.owners.filter((o) => o.ch === ch).length : this.devices.lance!.txInRing;
    // The switch: one assignment each, nothing in between can send.
    ch.prevMatcher = ch.matcher;
    ch.matcher = matcher;
    ch.route = route.slice();
    ch.routeGen++;
    for (let i = 0; i < n; i++) this.ram[ch.phys[0]! + NETIO_CTL.ROUTE + i] = route[i]!;
    this.ctlWrite(ch, NETIO_CTL.ROUTE_GEN, ch.routeGen);
    this.rerouteStats.reroutes++;
    this.rerouteStats.queuedAtLastSwitch = queued;
    if (this.kernel.host.trace.on) this.kernel.host.trace.record(this.source, 'netio.reroute', ch.id, ch.routeGen, `queued=${queued}`);
    return KERN.SUCCESS;
  }

  /**
   * net_send on a rerouted channel, for a frame the current template refused (field `bad`): if it
   * passes the previous template (built, or checked and waiting, for the old route), write the new
   * route over its destination in the kernel's checked copy and check again. Returns the check's
   * result (−1: send it; counted in `rerouteRewritten` once it has left).
   */
  private rewriteRoute(ch: Channel, hdr: Uint8Array, length: number, bad: number): number {
    const prev = ch.prevMatcher!;
    this.cpu.charge(prev.words * this.c.txWord, 'netio');
    if (prev(hdr, length) !== -1) return bad;
    hdr.set(ch.route!, 0);
    this.cpu.charge(this.c.memcpySetup + ch.route!.length * this.c.memcpyPerByte + ch.matcher.words * this.c.txWord, 'netio');
    return ch.matcher(hdr, length);
  }

  private svcReroute(t: Thread, req: SyscallArgs<'net_channel_reroute'>): SyscallResults['net_channel_reroute'] {
    this.cpu.charge(this.c.portOp, 'netio');
    const p = this.kernel.lookupKernelObject(t.task, req.priv, 'netio-priv');
    if (!p.ok) return { kr: p.kr };
    const r = this.kernel.lookupKernelObject<Channel>(t.task, req.channel, 'netio-channel');
    if (!r.ok) return { kr: r.kr };
    return { kr: this.reroute(r.object, req.route) };
  }

  /** The default channel of a link (the registry server's), if any. */
  defaultChannel(link: NetLink): Channel | undefined {
    return this.defaults[link];
  }

  private get source(): string {
    return `${this.kernel.host.name}.netio`;
  }

  // ---- Traps ---------------------------------------------------------------------------------

  private svcPrivPort(t: Thread, req: SyscallArgs<'net_priv_port'>): SyscallResults['net_priv_port'] {
    this.cpu.charge(this.c.portOp, 'netio');
    const kr = this.kernel.checkHostPriv(t.task, req.hostPriv);
    if (kr !== KERN.SUCCESS) return { kr, name: 0 };
    return this.kernel.insertSendRight(t.task, this.privPort);
  }

  private svcCreate(t: Thread, req: SyscallArgs<'net_channel_create'>): SyscallResults['net_channel_create'] {
    this.cpu.charge(this.c.portOp, 'netio');
    const fail = (kr: number) => ({ kr, name: 0, address: 0, sem: 0, region: 0, bqi: 0 });
    const p = this.kernel.lookupKernelObject(t.task, req.priv, 'netio-priv');
    if (!p.ok) return fail(p.kr);
    let owner = t.task;
    if (req.task !== 0) {
      const o = this.kernel.lookupTask(t.task, req.task);
      if (!o.ok) return fail(o.kr);
      owner = o.task;
    }
    const link: NetLink | undefined = req.link === NETIO_LINK.ethernet ? 'ethernet' : req.link === NETIO_LINK.an1 ? 'an1' : undefined;
    if (link === undefined) return fail(KERN.INVALID_ARGUMENT);
    const spec = decodeChannelSpec(req.spec);
    if (spec === undefined) return fail(KERN.INVALID_ARGUMENT);
    const r = this.createChannel(t.task, owner, link, req.rxSlots, req.txPages, spec);
    return { kr: r.kr, name: r.name, address: r.address, sem: r.sem, region: r.region, bqi: r.bqi };
  }

  private svcClose(t: Thread, req: SyscallArgs<'net_channel_close'>): SyscallResults['net_channel_close'] {
    this.cpu.charge(this.c.portOp, 'netio');
    const r = this.kernel.lookupKernelObject<Channel>(t.task, req.channel, 'netio-channel');
    if (!r.ok) return { kr: r.kr };
    this.close(r.object, `closed by task ${t.task.id}`);
    return { kr: KERN.SUCCESS };
  }

  private svcRxDone(t: Thread, req: SyscallArgs<'net_rx_done'>): SyscallResults['net_rx_done'] {
    this.cpu.charge(this.c.portOp, 'netio');
    const r = this.kernel.lookupKernelObject<Channel>(t.task, req.channel, 'netio-channel');
    if (!r.ok) return { kr: r.kr };
    if (r.object.link === 'an1') this.repost(r.object);
    return { kr: KERN.SUCCESS };
  }

  /**
   * net_send. Order: right, length, range, header copy + template check, device room, rate,
   * transmit. Refusals are counted per reason; nothing leaves on any refusal. A full device or
   * an empty bucket blocks the sender instead. `retry` marks a run for a blocked sender from the
   * transmit-done path or the bucket's event (no new trap, same checks).
   */
  private send(t: Thread, req: SyscallArgs<'net_send'>, retry = false): SendResult {
    const cpu = this.cpu;
    cpu.charge(this.c.txFixed, 'netio');
    const r = this.kernel.lookupKernelObject<Channel>(t.task, req.channel, 'netio-channel');
    if (!r.ok) {
      this.stats.txRefusedRight++;
      return { kr: r.kr };
    }
    const ch = r.object;
    if (ch.link === 'an1' && !retry) this.repost(ch); // buffers handed back ride on the send
    const { offset, length } = req;
    if (length < Math.max(LINK_FRAME_MIN[ch.link], ch.matcher.template.minLength) || length > LINK_FRAME_MAX[ch.link]) {
      ch.counters.refusedLength++;
      this.stats.txRefusedLength++;
      return { kr: NETIO_ERR.BAD_LENGTH };
    }
    if (offset + length > ch.regionBytes) {
      ch.counters.refusedRange++;
      this.stats.txRefusedRange++;
      return { kr: KERN.INVALID_ADDRESS };
    }
    // Copy the header into kernel memory, then check the copy: that copy is what is sent.
    const hlen = Math.min(length, Math.max(ch.matcher.template.minLength, LINK_FRAME_MIN[ch.link]));
    const hdr = this.txHeader.subarray(0, hlen);
    this.gather(ch, offset, hdr);
    cpu.charge(this.c.memcpySetup + hlen * this.c.memcpyPerByte + ch.matcher.words * this.c.txWord, 'netio');
    let bad = ch.matcher(hdr, length);
    // Rerouted (cold path, never taken by a channel that was not): a frame for the route before the
    // last reroute gets the new route over its destination bytes, in the checked copy.
    let rewritten = false;
    if (bad !== -1 && ch.prevMatcher !== undefined) {
      bad = this.rewriteRoute(ch, hdr, length, bad);
      rewritten = bad === -1;
    }
    if (bad !== -1) {
      ch.counters.refusedTemplate++;
      this.stats.txRefusedTemplate++;
      this.ctlWrite(ch, NETIO_CTL.TX_REFUSED, ch.counters.refusedTemplate);
      if (this.kernel.host.trace.on) this.kernel.host.trace.record(this.source, 'netio.refused', ch.id, bad, ch.matcher.template.fields[bad]?.name ?? '?');
      return { kr: NETIO_ERR.TEMPLATE_MISMATCH };
    }
    if (ch.discoverBqi) {
      // AN1 BQI discovery, on the checked kernel copy: BQI 0, or a (DST_UID, DST_BQI) this channel received from.
      cpu.charge(this.c.lookup, 'netio');
      const bqi = (hdr[2]! << 8) | hdr[3]!;
      let uid = 0;
      for (let i = 0; i < 6; i++) uid = uid * 256 + hdr[4 + i]!;
      if (bqi !== 0 && !ch.discovered.has(an1DiscoveryKey(uid, bqi))) {
        ch.counters.refusedBqi++;
        this.stats.txRefusedBqi++;
        if (this.kernel.host.trace.on) this.kernel.host.trace.record(this.source, 'netio.refused', ch.id, bqi, 'an1.dstBqi undiscovered');
        return { kr: NETIO_ERR.BQI_UNDISCOVERED };
      }
    }
    if (!this.deviceHasRoom(ch.link)) {
      if (this.waiters.length >= NETIO_SEND_WAITERS_MAX) return { kr: KERN.RESOURCE_SHORTAGE };
      const w: SendWaiter = { thread: t, req, link: ch.link };
      if (retry) this.waiters.unshift(w);
      else this.waiters.push(w);
      t.waitCancel = () => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      this.stats.txBlocked++;
      return this.kernel.block(t, 'net_send');
    }
    const wire = netioWireBytes(ch.link, length);
    if (ch.bucket !== undefined && ((!retry && ch.rateWaiters.length > 0) || !ch.bucket.take(wire, cpu.localNow()))) {
      // Rate control: wait in the kernel until the bucket holds the frame (FIFO per channel).
      const w: SendWaiter = { thread: t, req, link: ch.link };
      if (retry) ch.rateWaiters.unshift(w);
      else ch.rateWaiters.push(w);
      t.waitCancel = () => {
        const i = ch.rateWaiters.indexOf(w);
        if (i >= 0) ch.rateWaiters.splice(i, 1);
        if (ch.rateWaiters.length === 0 && ch.rateEvent?.scheduled === true) this.kernel.host.sched.cancel(ch.rateEvent);
      };
      ch.counters.rateBlocked++;
      this.stats.txRateBlocked++;
      this.scheduleRate(ch);
      return this.kernel.block(t, 'net_send');
    }
    ch.counters.wireBytesSent += wire;
    const ok = ch.link === 'ethernet' ? this.lanceSend(ch, offset, length, hdr) : this.an1Send(ch, offset, length, hdr);
    if (!ok) return { kr: KERN.FAILURE };
    ch.counters.sent++;
    this.stats.txSent++;
    if (rewritten) {
      ch.rerouteRewritten++;
      this.rerouteStats.rewritten++;
    }
    // Transmit accounting in the control page: the library reuses a transmit page once TX_DONE has
    // reached the TX_SENT its frame got. Ethernet copied the frame into the board by PIO already.
    this.ctlWrite(ch, NETIO_CTL.TX_SENT, ch.counters.sent);
    if (ch.link === 'ethernet') this.txCompleted(ch);
    return { kr: KERN.SUCCESS };
  }

  /** One of the channel's frames left the host (no DMA reads its transmit page any more). */
  private txCompleted(ch: Channel): void {
    ch.txDone++;
    if (!ch.closed) this.ctlWrite(ch, NETIO_CTL.TX_DONE, ch.txDone);
  }

  /**
   * Rate control: a link's best-effort channels each get an equal share of the capacity the open
   * reservations leave (at least 1 byte/s: the registry admits reservations only up to a part of
   * the capacity, userland/registry/limits.ts). Run when a rated channel opens or closes; each
   * bucket settles what it earned at the old rate, and its waiting sender is rescheduled.
   */
  private reshare(link: NetLink): void {
    let reserved = 0;
    const sharing: Channel[] = [];
    for (const c of this.channels.values()) {
      if (c.link !== link || c.closed) continue;
      if (c.rateClass === 'share') sharing.push(c);
      else if (c.rateClass !== undefined) reserved += c.rateClass;
    }
    if (sharing.length === 0) return;
    const share = Math.max(1, Math.floor((NETIO_LINK_BYTES_PER_SECOND[link] - reserved) / sharing.length));
    const now = this.cpu.localNow();
    for (const c of sharing) {
      if (c.bucket!.bytesPerSecond === share) continue;
      c.bucket!.setRate(share, now);
      if (c.rateWaiters.length > 0) this.scheduleRate(c);
    }
  }

  /** (Re)schedule the run of `ch`'s first rate waiter for when its frame's bytes will be in the bucket. */
  private scheduleRate(ch: Channel): void {
    const w = ch.rateWaiters[0];
    if (w === undefined) return;
    const sched = this.kernel.host.sched;
    ch.rateEvent ??= sched.createEvent(`${this.source}.rate${ch.id}`, Priority.timer, () => this.kernel.postKernelWork(() => this.retryRate(ch)));
    const at = Math.max(sched.now, ch.bucket!.readyAt(netioWireBytes(ch.link, w.req.length), this.cpu.localNow()));
    if (ch.rateEvent.scheduled) sched.reschedule(ch.rateEvent, at);
    else sched.schedule(ch.rateEvent, at);
  }

  /** The bucket now holds the first waiter's frame: run its send again (same checks); it may block on the device or the bucket again. */
  private retryRate(ch: Channel): void {
    const w = ch.rateWaiters.shift();
    if (w === undefined || ch.closed) return;
    const t = w.thread;
    t.waitCancel = undefined;
    if (t.state.kind === 'blocked') {
      t.state = { kind: 'runnable' }; // the retry runs in the kernel on its behalf
      const r = this.send(t, w.req, true);
      if (r !== BLOCKED) {
        t.state = { kind: 'blocked', on: 'net_send' };
        this.kernel.wake(t, r);
      }
    }
    this.scheduleRate(ch);
  }

  private deviceHasRoom(link: NetLink): boolean {
    if (link === 'ethernet') {
      const d = this.devices.lance!;
      return !d.isRunning || (d.txSlotsFree > 0 && d.txQueueLength === 0);
    }
    const pool = this.an1Tx!;
    return pool.inFlight < pool.pages.length;
  }

  /**
   * Transmit a frame already in kernel memory (the device path by IPC: a message's inline data):
   * Ethernet by PIO into a LANCE buffer, AN1 from a wired kernel transmit page (the message's
   * copy-in, charged by kernel/ipc, is the copy into that page). 'full': no room, nothing sent.
   */
  private transmitKernelFrame(link: NetLink, frame: Uint8Array): 'sent' | 'full' {
    if (!(frame.length >= LINK_FRAME_MIN[link] && frame.length <= LINK_FRAME_MAX[link])) bug(`netio: kernel frame of ${frame.length} bytes`);
    if (!this.deviceHasRoom(link)) return 'full';
    if (link === 'ethernet') return this.devices.lance!.transmitFrom(frame.length, (w) => w.write(0, frame)) ? 'sent' : 'full';
    const pool = this.an1Tx!;
    const i = pool.next;
    const page = pool.pages[i]!;
    this.ram.set(frame, page);
    if (!this.devices.an1!.transmit(page, frame.length)) return 'full';
    pool.owners.push({ ch: undefined, fromRegion: false });
    pool.next = (i + 1) % pool.pages.length;
    pool.inFlight++;
    return 'sent';
  }

  /** Header from the checked kernel copy, the rest by PIO from the region, into a LANCE buffer. */
  private lanceSend(ch: Channel, offset: number, length: number, hdr: Uint8Array): boolean {
    return this.devices.lance!.transmitFrom(length, (w) => {
      w.write(0, hdr);
      this.forEachChunk(ch, offset + hdr.length, length - hdr.length, (phys, at, n) => w.write(hdr.length + at, this.ram.subarray(phys, phys + n)));
    });
  }

  /**
   * AN1: the checked header (plus up to 3 body bytes, so the body starts 4-byte aligned) goes in
   * a kernel header slot; the body is DMAed from the region (two-part descriptor). A body that
   * crosses a physical page (the region's pages are not contiguous) is copied into a kernel page.
   */
  private an1Send(ch: Channel, offset: number, length: number, hdr: Uint8Array): boolean {
    const pool = this.an1Tx!;
    const ram = this.ram;
    const i = pool.next;
    const physOf = (o: number): number => ch.phys[Math.floor(o / NETIO_PAGE_SIZE)]! + (o % NETIO_PAGE_SIZE);
    const align = (4 - (physOf(offset + hdr.length) & 3)) & 3;
    const h = Math.min(length, hdr.length + align);
    const bodyStart = offset + h;
    const bodyLen = length - h;
    const onePage = bodyLen === 0 || Math.floor(bodyStart / NETIO_PAGE_SIZE) === Math.floor((bodyStart + bodyLen - 1) / NETIO_PAGE_SIZE);
    let ok: boolean;
    if (onePage && h <= AN1_HDR_SLOT_BYTES) {
      const slot = pool.hdrBase + i * AN1_HDR_SLOT_BYTES;
      ram.set(hdr, slot);
      if (h > hdr.length) this.forEachChunk(ch, offset + hdr.length, h - hdr.length, (phys, at, n) => ram.copyWithin(slot + hdr.length + at, phys, phys + n));
      ok = this.devices.an1!.transmit(bodyLen === 0 ? slot : physOf(bodyStart), length, { addr: slot, length: h });
      if (ok) {
        this.an1TxTwoPart++;
        ch.txInFlight++;
        pool.owners.push({ ch, fromRegion: true });
      }
    } else {
      const page = pool.pages[i]!;
      ram.set(hdr, page);
      this.forEachChunk(ch, offset + hdr.length, length - hdr.length, (phys, at, n) => ram.copyWithin(page + hdr.length + at, phys, phys + n));
      this.cpu.charge(this.c.memcpySetup + (length - hdr.length) * this.c.memcpyPerByte, 'copy');
      ok = this.devices.an1!.transmit(page, length);
      if (ok) {
        this.an1TxCopied++;
        pool.owners.push({ ch, fromRegion: false });
      }
    }
    if (!ok) return false;
    pool.next = (i + 1) % pool.pages.length;
    pool.inFlight++;
    return true;
  }

  /** A transmit completed: run blocked senders (FIFO) while the device has room. */
  private retryWaiters(link: NetLink): void {
    for (let guard = 0; guard < NETIO_SEND_WAITERS_MAX && this.deviceHasRoom(link); guard++) {
      const i = this.waiters.findIndex((w) => w.link === link);
      if (i < 0) return;
      const [w] = this.waiters.splice(i, 1);
      const t = w!.thread;
      t.waitCancel = undefined;
      if (t.state.kind !== 'blocked') continue;
      t.state = { kind: 'runnable' }; // the retry runs in the kernel on its behalf
      const r = this.send(t, w!.req, true);
      if (r === BLOCKED) {
        if (this.waiters[0]?.thread === t) return; // the device is full again: queued again at the front
        continue; // waiting for its channel's token bucket now: the next device waiter may go
      }
      t.state = { kind: 'blocked', on: 'net_send' };
      this.kernel.wake(t, r);
    }
  }

  private channelOfWaiter(w: SendWaiter): Channel | undefined {
    const e = w.thread.task.space.entries.get(w.req.channel);
    const k = e?.port?.kobject;
    return k instanceof Channel ? k : undefined;
  }

  private dropWaiter(w: SendWaiter, kr: number): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
    w.thread.waitCancel = undefined;
    this.kernel.wake(w.thread, { kr });
  }

  // ---- Inbound -------------------------------------------------------------------------------

  /**
   * LANCE receive upcall (interrupt level): header by PIO, classify, one lookup, PIO into the
   * driver's net_kmsg, the net_kmsg hand-off, then a memory copy into the slot.
   * A generator: each PIO read of the board waits for the clock (kernel/dev/sync.ts).
   */
  private *lanceReceive(f: LanceRxFrame): Sync {
    const cpu = this.cpu;
    this.stats.rxArrived++;
    const pio = (): number => cpu.cyclesByCategory.get('pio') ?? 0;
    const p0 = pio();
    let n = Math.min(f.length, DEMUX_FIRST_READ);
    let h = yield* f.readHeader(n, this.rxHeader.subarray(0, n));
    // IPv4 with options: read on to the TCP ports (at most 40 more bytes).
    if (n >= ETHERNET_HEADER_BYTES + 20 && h[12] === 0x08 && h[13] === 0x00) {
      // ICMP: on to the quoted datagram's ports (a destination unreachable about UDP: demux.ts).
      const want = h[23] === 1 ? Math.min(f.length, Math.max(DEMUX_ICMP_BYTES, ETHERNET_HEADER_BYTES + (h[14]! & 0x0f) * 4 + 32)) : Math.min(f.length, ETHERNET_HEADER_BYTES + (h[14]! & 0x0f) * 4 + 4);
      if (want > n) {
        yield* f.copyTo(this.rxHeader, n, n, want - n);
        n = want;
        h = this.rxHeader.subarray(0, n);
      }
    }
    this.stats.rxHeaderPioCycles += pio() - p0;
    cpu.charge(this.c.classify + this.c.lookup, 'netio');
    const k = classify(h, f.length);
    if (k.cls === 'ip-fragment') this.stats.rxFragments++;
    let ch = this.table.lookup(k.key);
    if (ch === undefined && k.key2 !== undefined) {
      // UDP: no connected socket's channel; a bound socket's (a second hash lookup).
      cpu.charge(this.c.lookup, 'netio');
      ch = this.table.lookup(k.key2);
    }
    const toDefault = ch === undefined;
    const dev = toDefault ? this.deviceIpc.receiver('ethernet') : undefined;
    if (dev !== undefined) {
      // The device path by IPC: the frame (header already read) PIO-copied into a message.
      const data = new Uint8Array(f.length);
      data.set(h, 0);
      const p1 = pio();
      yield* f.copyTo(data, n, n, f.length - n);
      this.stats.rxCopyPioCycles += pio() - p1;
      // Stock Mach 3.0: the frame is a net_kmsg, queued and delivered by AST (the message itself).
      cpu.charge(this.c.kmsg, 'net_kmsg');
      this.stats.rxKmsgCycles += this.c.kmsg;
      if (this.deviceIpc.deliver(dev, data)) this.stats.rxToDefault++;
      else this.stats.rxDropRingFull++;
      return;
    }
    if (ch === undefined) ch = this.defaults.ethernet;
    if (ch === undefined) {
      this.stats.rxDropNoChannel++;
      return;
    }
    cpu.charge(this.c.deliver, 'netio');
    // The copy out of the board reads it at its time (sync points inside copyTo), so the world
    // moves on while it runs: a task may die and its channel close, its pages go back to the
    // allocator. The bytes are copied (PIO, charged) into the kernel's staging buffer, and land in
    // the slot only if the channel is still open then — never in pages that are no longer its.
    const stage = this.rxStage.subarray(0, f.length);
    stage.set(h, 0);
    const p1 = pio();
    yield* f.copyTo(stage, n, n, f.length - n);
    this.stats.rxCopyPioCycles += pio() - p1;
    // A keyed channel is the paper's module behind Mach's unaltered Ethernet driver (P §4): the
    // staging buffer is the driver's net_kmsg, its hand-off (get, queue, AST delivery, put back)
    // charged here and the module's copy out of it below. The default channel stands in for the
    // mapped Ethernet device (UX, docs/ux.md; the registry without the IPC device path): one copy
    // from the board into the ring, no net_kmsg.
    const viaKmsg = !toDefault;
    if (viaKmsg) {
      cpu.charge(this.c.kmsg, 'net_kmsg');
      this.stats.rxKmsgCycles += this.c.kmsg;
    }
    if (ch.closed) {
      this.stats.rxDropNoChannel++;
      return;
    }
    const slot = this.claimSlot(ch);
    if (slot < 0) return;
    this.ram.set(stage, ch.slotPhys(slot));
    if (viaKmsg) {
      const copy = this.c.memcpySetup + f.length * this.c.memcpyPerByte;
      cpu.charge(copy, 'copy');
      this.stats.rxKmsgCopyCycles += copy;
    }
    this.commit(ch, slot, f.length, toDefault);
  }

  /** The next free slot of `ch`'s ring, or −1 (counted) when the library has not freed one. */
  private claimSlot(ch: Channel): number {
    const tail = this.ctlRead(ch, NETIO_CTL.RX_TAIL);
    const used = (ch.head - tail) >>> 0;
    if (used >= ch.rxSlots) {
      // Full, or a RX_TAIL the library scribbled: either way the frame has no slot.
      ch.counters.ringFullDrops++;
      this.stats.rxDropRingFull++;
      this.ctlWrite(ch, NETIO_CTL.RX_DROPS, ch.counters.ringFullDrops);
      return -1;
    }
    return ch.head % ch.rxSlots;
  }

  private commit(ch: Channel, slot: number, length: number, toDefault: boolean): void {
    if (!(!ch.closed && slot >= 0 && slot < ch.rxSlots)) bug(`netio: commit to slot ${slot} of a ${ch.closed ? 'closed ' : ''}channel`);
    if (!(length > 0 && length <= NETIO_PAGE_SIZE)) bug(`netio: frame of ${length} bytes in a slot`);
    this.ctlWrite(ch, NETIO_CTL.LENGTHS + 4 * slot, length);
    ch.head = (ch.head + 1) >>> 0;
    this.ctlWrite(ch, NETIO_CTL.RX_HEAD, ch.head);
    ch.counters.delivered++;
    if (toDefault) this.stats.rxToDefault++;
    else this.stats.rxDelivered++;
    if (!this.touched.includes(ch)) this.touched.push(ch);
  }

  /** End of a driver's interrupt drain: one semaphore signal per channel that got frames. */
  private batchEnd(): void {
    if (this.touched.length === 0) return;
    this.stats.rxBatches++;
    for (const ch of this.touched) {
      this.cpu.charge(this.c.semaphore, 'netio');
      ch.sem.signal();
      ch.counters.signals++;
      this.ctlWrite(ch, NETIO_CTL.SIGNALS, ch.counters.signals);
    }
    this.touched.length = 0;
  }

  /** AN1: the controller DMAed a frame into `ch`'s next slot page. */
  private an1Frame(ch: Channel, addr: number, length: number, status: number): void {
    assert(!ch.closed, 'netio: AN1 frame for a closed channel (its BQI handler should be the closed one)');
    this.stats.rxArrived++;
    this.cpu.charge(this.c.deliver, 'netio');
    const slot = ch.head % ch.rxSlots;
    if (ch.slotPhys(slot) !== addr) this.stats.rxDesync++;
    const ok = status === 0;
    if (!ok) {
      ch.counters.rxErrors++;
      this.stats.rxDropError++;
    }
    // A bad frame keeps its slot (length 0) so ring order = buffer order.
    this.ctlWrite(ch, NETIO_CTL.LENGTHS + 4 * slot, ok ? length : 0);
    ch.head = (ch.head + 1) >>> 0;
    this.ctlWrite(ch, NETIO_CTL.RX_HEAD, ch.head);
    if (ok) {
      ch.counters.delivered++;
      this.stats.rxDelivered++;
      if (ch.discoverBqi) this.learnBqi(ch, addr, length);
    }
    if (!this.touched.includes(ch)) this.touched.push(ch);
  }

  /**
   * AN1 BQI discovery: remember the (SRC_UID, SPARE) of a frame delivered to `ch` (at physical
   * `addr`): the sender's UID and the BQI it receives on (its kernel's template checked both).
   * SPARE 0 (kernel buffers) needs no discovery.
   */
  private learnBqi(ch: Channel, addr: number, length: number): void {
    if (length < AN1_HEADER_BYTES) return;
    const ram = this.ram;
    const spare = (ram[addr + 18]! << 8) | ram[addr + 19]!;
    if (spare === 0) return;
    let uid = 0;
    for (let i = 0; i < 6; i++) uid = uid * 256 + ram[addr + 10 + i]!;
    this.cpu.charge(this.c.lookup, 'netio');
    const k = an1DiscoveryKey(uid, spare);
    const d = ch.discovered;
    d.delete(k);
    d.set(k, true);
    if (d.size > NETIO_DISCOVERED_MAX) d.delete(d.keys().next().value!);
  }

  /** AN1 BQI 0 (kernel buffers): copy into the default channel, or drop; re-post the buffer. */
  private an1DefaultFrame(addr: number, length: number, status: number): void {
    this.stats.rxArrived++;
    const ch = this.defaults.an1;
    const dev = status !== 0 && status !== 3 ? undefined : this.deviceIpc.receiver('an1');
    if (status !== 0 && status !== 3) this.stats.rxDropError++;
    else if (dev !== undefined) {
      // The device path by IPC: the frame copied out of the kernel buffer into a message.
      const n = Math.min(length, NETIO_PAGE_SIZE);
      const data = this.ram.slice(addr, addr + n);
      this.cpu.charge(this.c.memcpySetup + n * this.c.memcpyPerByte, 'copy');
      if (this.deviceIpc.deliver(dev, data)) this.stats.rxToDefault++;
      else this.stats.rxDropRingFull++;
    } else if (ch === undefined) this.stats.rxDropNoChannel++;
    else {
      this.cpu.charge(this.c.deliver, 'netio');
      const slot = this.claimSlot(ch);
      if (slot >= 0) {
        const n = Math.min(length, NETIO_PAGE_SIZE);
        this.ram.copyWithin(ch.slotPhys(slot), addr, addr + n);
        this.cpu.charge(this.c.memcpySetup + n * this.c.memcpyPerByte, 'copy');
        this.commit(ch, slot, n, true);
      }
    }
    this.devices.an1!.postBuffers(0, [addr]);
  }

  private closedFrame(): void {
    this.stats.rxArrived++;
    this.stats.rxDropNoChannel++;
  }

  /** AN1: re-post the buffers of slots the library has consumed (RX_TAIL, clamped to what was delivered). */
  private repost(ch: Channel): void {
    if (ch.closed || ch.bqi === 0) return;
    this.cpu.charge(this.c.rxReturn, 'netio');
    const tail = this.ctlRead(ch, NETIO_CTL.RX_TAIL);
    const n = Math.min((tail - ch.returned) >>> 0, (ch.head - ch.returned) >>> 0);
    if (n === 0) return;
    const pages: number[] = [];
    for (let k = 0; k < n; k++) pages.push(ch.slotPhys((ch.returned + k) % ch.rxSlots));
    const posted = this.devices.an1!.postBuffers(ch.bqi, pages);
    ch.returned = (ch.returned + posted) >>> 0;
  }

  private freeBqi(): number {
    for (let b = 1; b <= AN1_BQI_MAX; b++) if (this.bqiInUse[b] === BQI_FREE) return b;
    return 0;
  }

  /** Reserve a BQI for a channel the caller will create later (the registry offers it to the peer first: P §3.4). */
  reserveBqi(): number {
    if (this.devices.an1 === undefined) return 0;
    const b = this.freeBqi();
    if (b !== 0) this.bqiInUse[b] = BQI_RESERVED;
    return b;
  }

  /**
   * Free a reserved BQI that no channel holds (never bound, or its channel closed and its
   * quarantine passed). A BQI still bound to a channel, or in its close quarantine, is refused:
   * the caller (the registry) tries again later.
   */
  releaseBqi(bqi: number): boolean {
    if (!Number.isInteger(bqi) || bqi < 1 || bqi > AN1_BQI_MAX || this.bqiInUse[bqi] !== BQI_RESERVED) return false;
    this.bqiInUse[bqi] = BQI_FREE;
    return true;
  }

  private svcBqiReserve(t: Thread, req: SyscallArgs<'net_bqi_reserve'>): SyscallResults['net_bqi_reserve'] {
    this.cpu.charge(this.c.portOp, 'netio');
    const p = this.kernel.lookupKernelObject(t.task, req.priv, 'netio-priv');
    if (!p.ok) return { kr: p.kr, bqi: 0 };
    if (this.devices.an1 === undefined) return { kr: NETIO_ERR.NO_DEVICE, bqi: 0 };
    const bqi = this.reserveBqi();
    return bqi === 0 ? { kr: NETIO_ERR.NO_BQI, bqi: 0 } : { kr: KERN.SUCCESS, bqi };
  }

  private svcBqiRelease(t: Thread, req: SyscallArgs<'net_bqi_release'>): SyscallResults['net_bqi_release'] {
    this.cpu.charge(this.c.portOp, 'netio');
    const p = this.kernel.lookupKernelObject(t.task, req.priv, 'netio-priv');
    if (!p.ok) return { kr: p.kr };
    return { kr: this.releaseBqi(req.bqi) ? KERN.SUCCESS : NETIO_ERR.BQI_NOT_RESERVED };
  }

  private releaseQuarantine(): void {
    const now = this.kernel.host.sched.now;
    for (let k = this.quarantine.length - 1; k >= 0; k--) {
      const q = this.quarantine[k]!;
      if (q.atNs > now) continue;
      // A queued DMA still reads the region: wait for it (bounded by the board's 32 entries).
      if (q.ch.txInFlight > 0) {
        q.atNs = now + NETIO_AN1_QUARANTINE_NS;
        continue;
      }
      this.quarantine.splice(k, 1);
      if (q.ch.bqi !== 0) {
        // The BQI stays disabled (frames naming it fall back to BQI 0: the registry's default
        // channel). A reserved one goes back to its reserver, who frees it after the peer's
        // templates can no longer name it; a module-picked one is free again.
        this.devices.an1?.setReceiveHandler(q.ch.bqi, undefined);
        this.bqiInUse[q.ch.bqi] = q.ch.bqiReserved ? BQI_RESERVED : BQI_FREE;
      }
      this.kernel.freeObject(q.ch.object);
    }
    if (this.quarantine.length > 0) this.kernel.host.sched.schedule(this.quarantineEvent, Math.min(...this.quarantine.map((q) => q.atNs)));
  }

  // ---- Region access (kernel side: physical pages, never through the task's map) ------------

  private ctlWrite(ch: Channel, off: number, v: number): void {
    const a = ch.phys[0]! + off;
    const ram = this.ram;
    ram[a] = v & 0xff;
    ram[a + 1] = (v >>> 8) & 0xff;
    ram[a + 2] = (v >>> 16) & 0xff;
    ram[a + 3] = (v >>> 24) & 0xff;
  }
  private ctlRead(ch: Channel, off: number): number {
    const a = ch.phys[0]! + off;
    const ram = this.ram;
    return (ram[a]! | (ram[a + 1]! << 8) | (ram[a + 2]! << 16) | (ram[a + 3]! << 24)) >>> 0;
  }

  /** Visit [offset, offset+length) of the region as physically contiguous chunks. */
  private forEachChunk(ch: Channel, offset: number, length: number, step: (phys: number, at: number, n: number) => void): void {
    let done = 0;
    while (done < length) {
      const o = offset + done;
      const inPage = o % NETIO_PAGE_SIZE;
      const n = Math.min(length - done, NETIO_PAGE_SIZE - inPage);
      step(ch.phys[Math.floor(o / NETIO_PAGE_SIZE)]! + inPage, done, n);
      done += n;
    }
  }

  private gather(ch: Channel, offset: number, dst: Uint8Array): void {
    this.forEachChunk(ch, offset, dst.length, (phys, at, n) => dst.set(this.ram.subarray(phys, phys + n), at));
  }
}
