/**
 * The narrow port between the AN1 controller's hardware and the firmware that runs on its
 * on-board processor (the "BQI firmware" of the paper's acknowledgments). Types only: the
 * firmware (firmware/an1) imports nothing else from the emulator, and the controller is handed a
 * program at construction, so firmware can be swapped as DEC SRC swapped it.
 *
 * Execution model (controller.ts runs it): the board calls one entry point of the program per
 * *step*; the step reads board state through the port, records its cycles with `spend`, and
 * requests effects. Host-visible effects (registers, FIFO entries, interrupt status, DMA starts)
 * are committed together when the step's cycles have elapsed on the controller's 40 ns clock,
 * so a host never sees a decision before the firmware could have made it. Reads inside a step see
 * the board as it was when the step began. One step runs at a time (one processor).
 */

/** Completion status codes (hw/an1-autonet.md §8.2 RXC_POP bits 19..16, plus 4 and 5). */
export type RxStatus = 0 | 1 | 2 | 3 | 4 | 5;
/** TX_STATUS codes: 0 ok, 1 DMA error, 2 too long, 3 too short. */
export type TxStatus = 0 | 1 | 2 | 3;
/** What the transmit hardware reports back for a frame the firmware started. */
export type TxResult = 'sent' | 'dma-error';

/** Interrupt status bits the firmware may raise. */
export type IsrFlag = 'rxDone' | 'txDone' | 'rxDrop' | 'rxErr' | 'txErr';

/** Board counters the firmware may bump; `drops` also bumps the BQI's BQ_DROPS. */
export type BoardCounter = 'drops' | 'rxErrs' | 'dmaErrs' | 'descErrs' | 'overruns' | 'rxFrames';

/** Firmware cycle costs (controller cycles of 40 ns), from the cost table (an1-costs.ts). */
export interface FirmwareCosts {
  readonly rxDispatchCycles: number;
  readonly rxCheckCycles: number;
  readonly rxBqiLookupCycles: number;
  readonly rxDescriptorCycles: number;
  readonly rxDmaSetupCycles: number;
  readonly rxCompleteCycles: number;
  readonly rxDiscardCycles: number;
  readonly txStartCycles: number;
  readonly txDoneCycles: number;
}

/** The frame at the head of the receive staging buffer, as the link receiver hands it over. */
export interface RxFrameView {
  /** Bytes received, including the 4-byte hardware CRC. */
  readonly length: number;
  /** The receiver's CRC check, computed as the bytes arrived (hardware, not firmware). */
  readonly crcOk: boolean;
  /** A big-endian 16-bit field of the link header at byte `offset` (offset + 2 ≤ length). */
  headerU16(offset: number): number;
}

export interface FirmwarePort {
  readonly costs: FirmwareCosts;
  /** NBQI and RINGSLOTS as the board implements them. */
  readonly bqiCount: number;
  readonly ringSlotsMax: number;
  readonly headerBytes: number;
  readonly crcBytes: number;

  /** Account controller cycles to the current step. */
  spend(cycles: number): void;

  // Board state, as of the start of the step.
  maxFrame(): number;
  bqiEnabled(bqi: number): boolean;
  bqiRingLog2(bqi: number): number;
  /** BQ_POSTED and BQ_FILLED (16-bit counts). */
  bqiPosted(bqi: number): number;
  bqiFilled(bqi: number): number;
  descAddr(bqi: number, slot: number): number;
  descLen(bqi: number, slot: number): number;
  /** Free entries of the receive completion FIFO. */
  completionSpace(): number;

  // Receive.
  /** The staged frame the current rxFrame step is about (undefined outside one). */
  rxFrame(): RxFrameView | undefined;
  /** Start the receive DMA of the staged frame's first `length` bytes to host `addr`. */
  rxStartDma(addr: number, length: number): void;
  /** The staged frame is finished with, without DMA (discarded). */
  rxRelease(): void;
  postCompletion(bqi: number, slot: number, status: RxStatus, length: number): void;
  setBqiFilled(bqi: number, filled: number): void;

  // Transmit.
  /** Entries waiting in the transmit queue. */
  txQueued(): number;
  txHeadAddr(): number;
  txHeadLen(): number;
  txPop(): void;
  /** DMA `length` bytes from host `addr` into an on-board buffer, then send (hardware appends CRC). */
  txStartDma(addr: number, length: number): void;
  txComplete(status: TxStatus): void;

  // Both.
  raise(flag: IsrFlag): void;
  count(counter: BoardCounter, bqi?: number): void;
  /** Firmware-detected misuse by the host driver (recorded as a guest error). */
  guestError(text: string): void;
}

/** The program the controller's processor runs. Entry points are called one step at a time. */
export interface FirmwareProgram {
  /** FWREV as the host reads it (bit 31 = BQI firmware present). */
  readonly revision: number;
  /** CSR.RESET: forget every job in progress. */
  reset(): void;
  /** A frame waits in staging and the receive DMA engine is free. */
  rxFrame(port: FirmwarePort): void;
  /** The receive DMA started by the last rxFrame step finished (ok = bytes are in host RAM). */
  rxDmaDone(port: FirmwarePort, ok: boolean): void;
  /** The transmit queue is not empty and an on-board transmit buffer is free. */
  txStart(port: FirmwarePort): void;
  /** A frame started by txStart left the wire, or its DMA failed. */
  txDone(port: FirmwarePort, result: TxResult): void;
}
