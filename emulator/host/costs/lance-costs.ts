/**
 * Costs of the LANCE model and its kernel driver. Each constant says where its value comes from.
 * Keys in sources: see ../shared/hw/lance-pmad-aa.md table S (MAME, MAMEO, DS90, ...).
 *
 * The Am7990 moves memory in bus cycles of 600 ns (six 100 ns CLK periods). That figure is from
 * the AMD Am7990 data sheet's bus timing as the author remembers it; hw/lance-pmad-aa.md does not
 * carry it, so every constant derived from it says "[U]".
 */
import type { CostGroup } from './cost-table.ts';

export const LANCE_COSTS = {
  'lance.initNs': {
    value: 7_200,
    unit: 'ns',
    source: 'derived [U]: init block = 12 single-word DMA reads (MAME reads 12 words, hw doc §2) × 600 ns Am7990 bus cycle; the doc lists init duration as not found (§6.2)',
    what: 'from INIT written to IDON set (the chip reads the 24-byte init block)',
  },
  'lance.tdmdLatencyNs': {
    value: 600,
    unit: 'ns',
    source: 'derived [U]: one DMA word read of TMD1 (600 ns bus cycle) after TDMD/STRT; the doc lists the latency as not found (§6.2)',
    what: 'from TDMD (or STRT) written to the chip polling the transmit ring',
  },
  'lance.txPollPeriodNs': {
    value: 1_600_000,
    unit: 'ns',
    source: 'MAME TX_POLL_PERIOD 1600 µs (hw doc §6.2 [S])',
    what: 'idle transmit-ring poll interval without TDMD',
    min: 1000, // 0 would poll for ever at one instant; below 1 µs the polls alone swamp a run
  },
  'lance.rxFifoBytes': {
    value: 64,
    unit: 'bytes',
    source: 'MAMEO receive FIFO of 16 longwords (hw doc §6.2 [U]); sets when a BUFF error also reports OFLO',
    what: 'receive FIFO size: frame bytes the chip can hold while it has no buffer',
  },
  'lance.driverInterruptCycles': {
    value: 120,
    unit: 'cycles',
    source: 'derived: NetBSD am7990_intr path excluding the ring loops and register PIO, ≈80 instructions at 1.5 cycles each (PIO charged separately by the bus)',
    what: 'LANCE interrupt handler fixed path (decode CSR0, dispatch, bookkeeping)',
  },
  'lance.driverRxFrameCycles': {
    value: 150,
    unit: 'cycles',
    source: 'derived: NetBSD am7990_rint per-frame path excluding PIO (descriptor checks, length, handoff, ring index), ≈100 instructions at 1.5 cycles each',
    what: 'driver work per received frame besides programmed I/O',
  },
  'lance.driverTxFrameCycles': {
    value: 1603,
    unit: 'cycles',
    source:
      'calibrated on MB93 Table 4, TCP, kernel column, ether_output 75 µs at 1 B (DECstation 5000/200): the kernel’s output routine copies straight from the wired mbuf chain into the board, so that row is the driver path alone; the remainder after what the emulator charges apart on it — the link header (lib.linkCycles) and the PIO of frame and descriptor (tc.io*) — which mb93-layers measured at 92.5 µs with the earlier value 2040 (calibrated on the library column’s 98 µs, which also holds a trap and a copy into a wired kernel buffer; that part is now netio.txCheckFixedCycles): 2040 − (92.5 − 75) × 25 = 1603. It stands for ether_output, the interface queue, spl and the start routine; NetBSD am7990_start + am7990_tint alone count ≈ 100 instructions (150 cycles)',
    what: 'driver output path per transmitted frame besides programmed I/O (output routine, queueing, start, transmit-done bookkeeping)',
  },
  'lance.driverPollDelayNs': {
    value: 10_000,
    unit: 'ns',
    source: 'Linux declance init: polls CSR0 up to 100 × 10 µs for IDON (LXD, hw doc §5 step 8)',
    what: 'busy-wait between two CSR0 reads while waiting for IDON',
  },
  'lance.driverStopDelayNs': {
    value: 100_000,
    unit: 'ns',
    source: 'NetBSD/FreeBSD wait ≈100 µs after STOP before touching CSR1–3 (NBAM, FBL; hw doc §5 step 3)',
    what: 'busy-wait after writing STOP during (re)initialization',
  },
} as const satisfies CostGroup;
