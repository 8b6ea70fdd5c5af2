/**
 * The network I/O module's ABI (paper §3.3): the layout of a channel's shared packet region, as
 * the kernel's network I/O module and the user-level library both see it. Pure data.
 *
 * A channel's region is `pages` 4 KB pages, wired, mapped read-write into the owning task:
 *
 *   page 0            control page (below)
 *   pages 1 .. R      receive slots, one page each (on AN1 these pages ARE the BQI ring's
 *                     buffers: the controller DMAs frames into them; on Ethernet the interrupt
 *                     path copies matching frames into them by programmed I/O)
 *   pages R+1 ..      transmit area: the library builds frames here and names them to net_send
 *
 * Receive is a single-producer/single-consumer ring of slots in arrival order: the kernel writes
 * the slot's length word, then bumps RX_HEAD; the library consumes slots in order and bumps
 * RX_TAIL; slots between RX_TAIL and RX_HEAD belong to the library. When the ring is full
 * (RX_HEAD − RX_TAIL = RX_SLOTS) an arriving frame is dropped and RX_DROPS counted. On AN1 the
 * kernel re-posts consumed slots to the controller when the library hands them back
 * (`net_rx_done`, or piggy-backed on `net_send`), reading RX_TAIL.
 */

export const NETIO_MAGIC = 0x4e494f31; // 'NIO1'
export const NETIO_PAGE_SIZE = 4096;

/** Byte offsets of 32-bit words in the control page. */
export const NETIO_CTL = {
  MAGIC: 0x00,
  /** Receive slots (pages 1..RX_SLOTS). */
  RX_SLOTS: 0x04,
  /** Frames written by the kernel (mod 2^32). */
  RX_HEAD: 0x08,
  /** Frames consumed by the library (mod 2^32). */
  RX_TAIL: 0x0c,
  /** Frames dropped because the ring was full. */
  RX_DROPS: 0x10,
  /** First byte offset of the transmit area within the region. */
  TX_OFFSET: 0x14,
  /** Bytes of transmit area. */
  TX_BYTES: 0x18,
  /** The link: 1 Ethernet, 2 AN1. */
  LINK: 0x1c,
  /** Semaphore signals sent (one per batch of frames). */
  SIGNALS: 0x20,
  /** Frames refused by net_send's template check. */
  TX_REFUSED: 0x24,
  /** Per-slot frame lengths: u32 at LENGTHS + 4·slot (bytes of the frame in the slot page). */
  LENGTHS: 0x100,
} as const;

/** Receive slots per channel at most (the length table must fit the control page). */
export const NETIO_RX_SLOTS_MAX = (NETIO_PAGE_SIZE - NETIO_CTL.LENGTHS) / 4;

export const NETIO_LINK = { ethernet: 1, an1: 2 } as const;

/** Byte offset of receive slot `slot` within the region. */
export function rxSlotOffset(slot: number): number {
  return (1 + slot) * NETIO_PAGE_SIZE;
}
