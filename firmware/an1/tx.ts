/**
 * The transmit program (hw/an1-autonet.md §8.3): take the head of the on-board transmit queue,
 * check its length and alignment, DMA it from host memory; the hardware appends the CRC and
 * sends. The controller does not check headers: template checking is the kernel network I/O
 * module's job (P §3.4).
 */
import type { FirmwarePort, TxResult } from '../../emulator/devices/an1/firmware-port.ts';
import { TX_DMA_ERROR, TX_OK, TX_TOO_LONG, TX_TOO_SHORT } from './link-header.ts';

export function txStart(port: FirmwarePort): void {
  port.spend(port.costs.txStartCycles);
  if (port.txQueued() === 0) return;
  const addr = port.txHeadAddr();
  const length = port.txHeadLen();
  port.txPop();
  if (length < port.headerBytes) return refuse(port, TX_TOO_SHORT, `transmit of ${length} bytes is shorter than the link header`);
  if (length > port.maxFrame()) return refuse(port, TX_TOO_LONG, `transmit of ${length} bytes exceeds MAXFRAME ${port.maxFrame()}`);
  if ((addr & 3) !== 0) return refuse(port, TX_DMA_ERROR, `TX_ADDR 0x${addr.toString(16)} is not 4-byte aligned`);
  port.txStartDma(addr, length);
}

function refuse(port: FirmwarePort, status: 1 | 2 | 3, text: string): void {
  port.guestError(text);
  port.txComplete(status);
  port.raise('txErr');
}

export function txDone(port: FirmwarePort, result: TxResult): void {
  port.spend(port.costs.txDoneCycles);
  if (result === 'sent') {
    port.txComplete(TX_OK);
    port.raise('txDone');
    return;
  }
  port.count('dmaErrs');
  refuse(port, TX_DMA_ERROR, 'transmit buffer is not RAM');
}
