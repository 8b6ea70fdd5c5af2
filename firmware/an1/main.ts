/**
 * The AN1 BQI firmware: the program the controller's on-board processor runs (P Ack.: Hal Murray
 * "added the BQI firmware"). Receive demultiplexing by BQI into on-board descriptor rings, and
 * the transmit path. Imports only the firmware port's types; its cycle costs come through the
 * port from the cost table (emulator/host/costs/an1-costs.ts).
 */
import type { FirmwarePort, FirmwareProgram, TxResult } from '../../emulator/devices/an1/firmware-port.ts';
import { BQI_FIRMWARE_REVISION } from './link-header.ts';
import { newRxJob, rxDmaDone, rxFrame } from './rx.ts';
import { txDone, txStart } from './tx.ts';

export function createBqiFirmware(): FirmwareProgram {
  const job = newRxJob();
  return {
    revision: BQI_FIRMWARE_REVISION,
    reset() {
      job.active = false;
    },
    rxFrame(port: FirmwarePort) {
      rxFrame(port, job);
    },
    rxDmaDone(port: FirmwarePort, ok: boolean) {
      rxDmaDone(port, job, ok);
    },
    txStart(port: FirmwarePort) {
      txStart(port);
    },
    txDone(port: FirmwarePort, result: TxResult) {
      txDone(port, result);
    },
  };
}
