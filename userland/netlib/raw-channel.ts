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
import type { GuestContext } from '../../kernel/abi/guest.ts';
import type { PortName } from '../../kernel/abi/message.ts';
import { NETIO_CTL, NETIO_LINK, NETIO_MAGIC, rxSlotOffset } from '../../kernel/abi/netio.ts';
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

export class RawChannel {
  readonly rxSlots: number;
  readonly txOffset: number;
  readonly txBytes: number;
  readonly link: 'ethernet' | 'an1';
  private tail: number;

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
