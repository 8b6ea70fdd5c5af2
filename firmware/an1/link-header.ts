/**
 * The AN1 link header as the firmware parses it (hw/an1-autonet.md §8.4): 20 bytes, big-endian
 * fields. The firmware's own constants: it imports nothing from the emulator but port types.
 */
export const HDR_DST_BQI = 2;
export const HDR_SPARE = 18;

/** Completion status codes (the firmware defines what it posts; the port types restrict them). */
export const RX_OK = 0;
export const RX_TRUNCATED = 2;
export const RX_REDIRECTED = 3;
export const RX_BUFFER_ERROR = 4;
export const RX_DMA_ERROR = 5;

export const TX_OK = 0;
export const TX_DMA_ERROR = 1;
export const TX_TOO_LONG = 2;
export const TX_TOO_SHORT = 3;

/** FWREV: bit 31 = BQI firmware present, low bits the revision (1.0). */
export const BQI_FIRMWARE_REVISION = (0x8000_0000 | 0x0100) >>> 0;
