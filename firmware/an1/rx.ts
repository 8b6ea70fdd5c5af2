/**
 * The receive program, one frame at a time (P §3.3; hw/an1-autonet.md §8.3):
 * check CRC and length → read DST_BQI → look it up (fallback BQI 0) → pick the ring's next buffer
 * → DMA the whole frame, link header included → post the completion, bump FILLED, raise RXDONE.
 * A full ring drops and counts; it never overwrites a buffer the host has not re-posted.
 * Frames failing CRC or length are discarded, never delivered: their BQI field cannot be trusted
 * to choose a ring.
 */
import type { FirmwarePort, RxStatus } from '../../emulator/devices/an1/firmware-port.ts';
import { lookupBqi, ringOutstanding, type RingChoice } from './bqi-table.ts';
import { HDR_DST_BQI, RX_BUFFER_ERROR, RX_DMA_ERROR, RX_OK, RX_REDIRECTED, RX_TRUNCATED } from './link-header.ts';

/** The firmware's memory of the frame whose DMA is in flight. */
export interface RxJob {
  active: boolean;
  bqi: number;
  slot: number;
  status: RxStatus;
  length: number;
  nextFilled: number;
}

export function newRxJob(): RxJob {
  return { active: false, bqi: 0, slot: 0, status: RX_OK, length: 0, nextFilled: 0 };
}

const choice: RingChoice = { bqi: 0, redirected: false };

export function rxFrame(port: FirmwarePort, job: RxJob): void {
  const c = port.costs;
  port.spend(c.rxDispatchCycles);
  const frame = port.rxFrame();
  if (frame === undefined || job.active) return; // the board calls only with a frame and a free DMA
  port.spend(c.rxCheckCycles);
  const delivered = frame.length - port.crcBytes;
  if (!frame.crcOk || delivered < port.headerBytes || delivered > port.maxFrame()) {
    port.spend(c.rxDiscardCycles);
    port.count('rxErrs');
    port.raise('rxErr');
    port.rxRelease();
    return;
  }
  lookupBqi(port, frame.headerU16(HDR_DST_BQI), choice);
  const bqi = choice.bqi;
  port.spend(c.rxDescriptorCycles);
  if (!port.bqiEnabled(bqi) || ringOutstanding(port, bqi) === 0) {
    port.spend(c.rxDiscardCycles);
    port.count('drops', bqi);
    port.raise('rxDrop');
    port.rxRelease();
    return;
  }
  if (port.completionSpace() === 0) {
    port.spend(c.rxDiscardCycles);
    port.count('overruns');
    port.raise('rxDrop');
    port.rxRelease();
    return;
  }
  const filled = port.bqiFilled(bqi);
  const slot = filled & ((1 << port.bqiRingLog2(bqi)) - 1);
  const addr = port.descAddr(bqi, slot);
  const room = port.descLen(bqi, slot);
  const nextFilled = (filled + 1) & 0xffff;
  if ((addr & 3) !== 0 || room === 0) {
    // Consume the slot so the host gets its buffer back, with an error and nothing written.
    port.spend(c.rxCompleteCycles);
    port.count('descErrs');
    port.guestError(`BQI ${bqi} slot ${slot}: descriptor ${room === 0 ? 'has zero length' : `address 0x${addr.toString(16)} is not 4-byte aligned`}`);
    port.postCompletion(bqi, slot, RX_BUFFER_ERROR, 0);
    port.setBqiFilled(bqi, nextFilled);
    port.raise('rxDone');
    port.raise('rxErr');
    port.rxRelease();
    return;
  }
  let length = delivered;
  let status: RxStatus = choice.redirected ? RX_REDIRECTED : RX_OK;
  if (room < length) {
    length = room;
    status = RX_TRUNCATED;
  }
  port.spend(c.rxDmaSetupCycles);
  job.active = true;
  job.bqi = bqi;
  job.slot = slot;
  job.status = status;
  job.length = length;
  job.nextFilled = nextFilled;
  port.rxStartDma(addr, length);
}

export function rxDmaDone(port: FirmwarePort, job: RxJob, ok: boolean): void {
  port.spend(port.costs.rxCompleteCycles);
  if (!job.active) return;
  job.active = false;
  if (ok) {
    port.count('rxFrames');
    port.postCompletion(job.bqi, job.slot, job.status, job.length);
  } else {
    port.count('dmaErrs');
    port.guestError(`BQI ${job.bqi} slot ${job.slot}: receive buffer is not RAM`);
    port.postCompletion(job.bqi, job.slot, RX_DMA_ERROR, 0);
    port.raise('rxErr');
  }
  port.setBqiFilled(job.bqi, job.nextFilled);
  port.raise('rxDone');
}
