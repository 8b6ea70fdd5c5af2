/**
 * BQI table lookup: which ring an arriving frame goes to (P §3.3, §3.4). A BQI outside the table
 * or disabled falls back to BQI 0, the kernel's protected default; the caller marks the frame
 * REDIRECTED so the kernel knows the sender named another ring.
 */
import type { FirmwarePort } from '../../emulator/devices/an1/firmware-port.ts';

export interface RingChoice {
  bqi: number;
  redirected: boolean;
}

export function lookupBqi(port: FirmwarePort, requested: number, out: RingChoice): void {
  port.spend(port.costs.rxBqiLookupCycles);
  if (requested < port.bqiCount && port.bqiEnabled(requested)) {
    out.bqi = requested;
    out.redirected = false;
    return;
  }
  out.bqi = 0;
  out.redirected = requested !== 0;
}

/** Buffers posted and not yet filled on `bqi` (16-bit counters, wrapping). */
export function ringOutstanding(port: FirmwarePort, bqi: number): number {
  return (port.bqiPosted(bqi) - port.bqiFilled(bqi)) & 0xffff;
}
