/**
 * Costs of the AN1 model (firmware, DMA, link) and of its kernel driver. Each constant says where
 * its value comes from. Keys: P = the paper, AN1 = ../shared/hw/an1-autonet.md, A = Autonet (SRC RR 59).
 *
 * None of these is fitted to a table cell. P Table 5's AN1 "hardware BQI" figure (50 µs, device
 * management included, DMA excluded) is a check on the whole host path — interrupt entry
 * (kernel.interruptEntryCycles) + the driver's PIO (tc.io*Cycles per register access) + the
 * an1.drv* bookkeeping below + invalidating the data-cache lines of the DMAed frame
 * (cpu.dcache*) + the network I/O module's signalling and buffer return — and
 * docs/calibration.md says where the emulator's figure differs and why. The firmware's own time
 * (an1.fw*) is controller time: it delays delivery but costs no host cycles.
 */
import type { CostGroup } from './cost-table.ts';

const FW_SOURCE =
  'invented: AN1 §8.6 proposes ~5 µs of firmware demux per frame (no published AN1 firmware figure); split by estimated instruction counts at 1 cycle/instruction';
const DRV_SOURCE =
  'derived: instruction-count estimate at ≈1.5 cycles/instruction (kernel-costs.ts convention), PIO charged separately by the bus';

export const AN1_COSTS = {
  // ---- Firmware (controller cycles of 40 ns: the on-board processor runs on the 25 MHz clock) ----
  'an1.fwRxDispatchCycles': { value: 15, unit: 'cycles', source: FW_SOURCE, what: 'firmware: take the receiver’s frame-complete event' },
  'an1.fwRxCheckCycles': { value: 10, unit: 'cycles', source: FW_SOURCE, what: 'firmware: read the receiver’s CRC and length status' },
  'an1.fwRxBqiLookupCycles': { value: 20, unit: 'cycles', source: FW_SOURCE, what: 'firmware: read DST_BQI, bound it, read BQ_CTRL' },
  'an1.fwRxDescriptorCycles': { value: 25, unit: 'cycles', source: FW_SOURCE, what: 'firmware: POSTED/FILLED, ring index, read and check the descriptor' },
  'an1.fwRxDmaSetupCycles': { value: 20, unit: 'cycles', source: FW_SOURCE, what: 'firmware: program the receive DMA engine' },
  'an1.fwRxCompleteCycles': { value: 30, unit: 'cycles', source: FW_SOURCE, what: 'firmware: push the completion, bump FILLED, raise RXDONE' },
  'an1.fwRxDiscardCycles': { value: 10, unit: 'cycles', source: FW_SOURCE, what: 'firmware: count and discard a frame (bad, ring empty, FIFO full)' },
  'an1.fwTxStartCycles': { value: 40, unit: 'cycles', source: FW_SOURCE, what: 'firmware: pop the transmit queue, check, program the transmit DMA' },
  'an1.fwTxDoneCycles': { value: 20, unit: 'cycles', source: FW_SOURCE, what: 'firmware: post TX_STATUS/TX_DONE, raise TXDONE' },

  // ---- DMA over TURBOchannel ----
  'an1.dmaSetupNs': {
    value: 320,
    unit: 'ns',
    source: 'assumed: TURBOchannel DMA request/grant arbitration plus the address cycle, ~8 bus cycles of 40 ns (no published AN1 figure)',
    what: 'fixed cost of one DMA transfer (arbitration, address)',
  },
  'an1.dmaNsPerByte': {
    value: 40,
    unit: 'ns/byte',
    source: 'invented: AN1 §8.6 starting point (one 32-bit word per 160 ns; the TURBOchannel itself allows ~100 MB/s, so the board’s DMA engine is the bound); not fitted to any table',
    what: 'DMA between the controller and host RAM, per byte',
  },

  // ---- Link (100 Mb/s point to point, 10 ns/bit: P §4, A) ----
  'an1.wireFramingNs': {
    value: 1_000,
    unit: 'ns',
    source: 'invented: AN1 §8.6 "1 µs framing overhead per frame" (Autonet framing not published)',
    what: 'per-frame framing and inter-frame overhead on the AN1 link',
  },
  'an1.linkPropagationNs': {
    value: 500,
    unit: 'ns',
    source: 'derived: coax up to 100 m (A) at ≈5 ns/m',
    what: 'one-way propagation on the switchless AN1 segment',
  },

  // ---- Kernel driver (R3000 cycles; PIO is charged by the bus from tc.io*Cycles) ----
  'an1.drvIntrCycles': { value: 40, unit: 'cycles', source: DRV_SOURCE, what: 'driver interrupt handler body, per interrupt' },
  'an1.drvRxPerFrameCycles': { value: 30, unit: 'cycles', source: DRV_SOURCE, what: 'driver: decode one completion, find its buffer, call the BQI handler' },
  'an1.drvPostPerBufferCycles': { value: 15, unit: 'cycles', source: DRV_SOURCE, what: 'driver: shadow bookkeeping for one posted buffer' },
  'an1.drvTxPerFrameCycles': { value: 25, unit: 'cycles', source: DRV_SOURCE, what: 'driver: queue one frame for transmission' },
  'an1.drvTxDoneCycles': { value: 20, unit: 'cycles', source: DRV_SOURCE, what: 'driver: account transmitted frames, call the done handler' },
} as const satisfies CostGroup;
