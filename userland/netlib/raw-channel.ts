/**
 * The user side of a network I/O channel (P §3.2–3.3), as a protocol library sees it: the shared
 * region (control page, receive slots, transmit area; kernel/abi/netio.ts), `net_send` with the
 * channel's send right, waiting on the channel's semaphore, and handing receive slots back.
 * Raw frames only: the TCP library (next issue) builds on this.
 *
 * The receive ring is single-producer (kernel) / single-consumer (this object): RX_HEAD is the
 * kernel's, RX_TAIL ours. All region accesses go through the task's map (ctx.mem); user work is
 * accounted with ctx.spend at the instruction-count scale of the kernel's costs.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestContext } from '../../kernel/abi/guest.ts';
import type { PortName } from '../../kernel/abi/message.ts';
import { NETIO_CTL, NETIO_LINK, NETIO_MAGIC, NETIO_PAGE_SIZE, rxSlotOffset } from '../../kernel/abi/netio.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { sys } from '../mach/syscalls.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

/** What the registry server (here: any creator) hands an application for one channel. */
export interface ChannelGrant {
  /** Send right to the channel (the capability net_send names). */
  readonly channel: PortName;
  /** The region's address in this task. */
  readonly address: number;
  /** Send right to the channel's semaphore. */
  readonly sem: PortName;
}

/** User cycles for small library steps (loads/stores of ring words, ≈1.5 cycles an instruction). */
const RING_STEP_CYCLES = 15;
/** How long a sender sleeps when every transmit page still has a frame in flight (≈ one 1500-byte frame's DMA + wire time on AN1). */
export const TX_PAGE_POLL_NS = 50_000;
/** A transmit page being written (between claimTxPage and its net_send). */
const PAGE_BUSY = -1;

/** a ≥ b for counters mod 2^32. */
const seqGe = (a: number, b: number): boolean => ((a - b) | 0) >= 0;

export class RawChannel {
  readonly rxSlots: number;
  readonly txOffset: number;
  readonly txBytes: number;
  readonly link: 'ethernet' | 'an1';
  private tail: number;
  /** Transmit pages: the TX_SENT number of each page's last frame, or PAGE_BUSY while being written. */
  private readonly txPageFrame: number[];
  private txNext = 0;
  /** Times a sender found every transmit page in flight and slept. */
  txPageWaits = 0;

  constructor(
    private readonly ctx: GuestContext,
    readonly grant: ChannelGrant,
  ) {
    const m = ctx.mem;
    const a = grant.address;
    if (m.read32(a + NETIO_CTL.MAGIC) !== NETIO_MAGIC) throw new Error('not a network I/O region');
    this.rxSlots = m.read32(a + NETIO_CTL.RX_SLOTS);
    this.txOffset = m.read32(a + NETIO_CTL.TX_OFFSET);
    this.txBytes = m.read32(a + NETIO_CTL.TX_BYTES);
    this.link = m.read32(a + NETIO_CTL.LINK) === NETIO_LINK.an1 ? 'an1' : 'ethernet';
    this.tail = m.read32(a + NETIO_CTL.RX_TAIL);
    // A region handed over (connection passing) may still have frames in flight from its previous
    // holder's pages: until TX_DONE reaches today's TX_SENT, treat every page as used by that frame.
    const sent = m.read32(a + NETIO_CTL.TX_SENT);
    this.txPageFrame = new Array<number>(Math.floor(this.txBytes / NETIO_PAGE_SIZE)).fill(sent);
  }

  get txPages(): number {
    return this.txPageFrame.length;
  }

  /**
   * A transmit page no frame in flight reads from (region offset), reserved for the caller until
   * its `sendFromPage`; undefined when every page still has one in flight. Pages are tried round
   * robin from the one after the last claimed.
   */
  claimTxPage(): number | undefined {
    const n = this.txPageFrame.length;
    if (n === 0) return undefined;
    this.ctx.spend(RING_STEP_CYCLES);
    const done = this.ctx.mem.read32(this.grant.address + NETIO_CTL.TX_DONE);
    for (let k = 0; k < n; k++) {
      const p = (this.txNext + k) % n;
      const f = this.txPageFrame[p]!;
      if (f !== PAGE_BUSY && seqGe(done, f)) {
        this.txPageFrame[p] = PAGE_BUSY;
        this.txNext = (p + 1) % n;
        return this.txOffset + p * NETIO_PAGE_SIZE;
      }
    }
    return undefined;
  }

  /** claimTxPage, sleeping while every page has a frame in flight (the device drains them); -1 without transmit pages. */
  *claimTxPageWait(): G<number> {
    if (this.txPageFrame.length === 0) return -1;
    for (;;) {
      const at = this.claimTxPage();
      if (at !== undefined) return at;
      this.txPageWaits++;
      yield* sys.thread_sleep_ns({ ns: TX_PAGE_POLL_NS });
    }
  }

  /** Copy `frame` into a free transmit page and send it (claimTxPageWait, put, sendFromPage); the kernel's code. */
  *transmit(frame: Uint8Array): G<number> {
    const at = yield* this.claimTxPageWait();
    if (at < 0) return KERN.INVALID_ARGUMENT;
    this.put(frame, at - this.txOffset);
    return yield* this.sendFromPage(at, frame.length);
  }

  /** net_send of a frame in a page from claimTxPage; the page is free again once the frame has left. */
  *sendFromPage(offset: number, length: number): G<number> {
    const kr = yield* this.send(offset, length);
    const p = Math.floor((offset - this.txOffset) / NETIO_PAGE_SIZE);
    const ctl = this.grant.address + (kr === KERN.SUCCESS ? NETIO_CTL.TX_SENT : NETIO_CTL.TX_DONE);
    // Refused: nothing reads the page. Sent: our frame is frame TX_SENT or earlier (another thread
    // of this task may have sent after it, before we run again: waiting for that one too is safe).
    if (p >= 0 && p < this.txPageFrame.length) this.txPageFrame[p] = this.ctx.mem.read32(ctl);
    return kr;
  }

  /** Write `frame` into the transmit area at `txAt` (bytes from the area's start). */
  put(frame: Uint8Array, txAt = 0): number {
    const off = this.txOffset + txAt;
    this.ctx.mem.writeBytes(this.grant.address + off, frame);
    this.ctx.spend(frame.length); // a user-level copy, ≈1 cycle a byte (cpu.memcpyCyclesPerByte)
    return off;
  }

  /** net_send of [offset, offset+length) of the region; returns the kernel's code. */
  *send(offset: number, length: number): G<number> {
    const r = yield* sys.net_send({ channel: this.grant.channel, offset, length });
    return r.kr;
  }

  /**
   * Rerouting (docs/reroute.md): the control page's route generation (0: never rerouted) and the
   * route in force, `bytes` long (NETIO_ROUTE_BYTES of the link). Plain loads of the mapped page.
   */
  routeGen(): number {
    return this.ctx.mem.read32(this.grant.address + NETIO_CTL.ROUTE_GEN);
  }
  route(bytes: number): Uint8Array {
    return this.ctx.mem.readBytes(this.grant.address + NETIO_CTL.ROUTE, bytes);
  }

  /** Frames waiting in the receive ring. */
  available(): number {
    this.ctx.spend(RING_STEP_CYCLES);
    return (this.ctx.mem.read32(this.grant.address + NETIO_CTL.RX_HEAD) - this.tail) >>> 0;
  }

  /** Block on the channel's semaphore until at least one frame waits; returns the count (0: the semaphore died). */
  *wait(timeoutNs?: number): G<number> {
    for (;;) {
      const n = this.available();
      if (n > 0) return n;
      const r = timeoutNs === undefined ? yield* sys.semaphore_wait({ sem: this.grant.sem }) : yield* sys.semaphore_timedwait({ sem: this.grant.sem, ns: timeoutNs });
      if (r.kr !== 0) return 0;
    }
  }

  /** The oldest unconsumed frame: its region offset and length (length 0 = a bad frame to skip). */
  peek(): { readonly offset: number; readonly length: number } {
    const slot = this.tail % this.rxSlots;
    const length = this.ctx.mem.read32(this.grant.address + NETIO_CTL.LENGTHS + 4 * slot);
    return { offset: rxSlotOffset(slot), length };
  }

  /** Read bytes of the region (a received frame, say). */
  read(offset: number, length: number): Uint8Array {
    return this.ctx.mem.readBytes(this.grant.address + offset, length);
  }

  /** Mark `n` frames consumed (RX_TAIL). On AN1 follow with `rxDone` (or a send) to re-post them. */
  consume(n = 1): void {
    this.tail = (this.tail + n) >>> 0;
    this.ctx.mem.write32(this.grant.address + NETIO_CTL.RX_TAIL, this.tail);
    this.ctx.spend(RING_STEP_CYCLES);
  }

  *rxDone(): G<number> {
    const r = yield* sys.net_rx_done({ channel: this.grant.channel });
    return r.kr;
  }
}
