/**
 * TURBOchannel on the KN02 (DECstation 5000/200): the physical map of option slots, and the
 * standard option-ROM header every option carries (hw/lance-pmad-aa.md §4.1–4.2).
 *
 * Slot k of 0..2 is 4 MB at 0x1E000000 + 4 MB·k; slot 5 is the on-board SCSI, slot 6 the on-board
 * Ethernet (same map as a PMAD-AA), slot 7 the system slot (ROM, CSR, RTC). An empty slot
 * bus-errors on access, which is how software probes.
 */
import { bug } from '../sim/assert.ts';

export const TC_SLOT_SIZE = 0x40_0000;
export const TC_SLOTS_BASE = 0x1e00_0000;
export const TC_SLOT_COUNT = 8;
export const TC_SYSTEM_SLOT = 7;
export const TC_ONBOARD_ETHERNET_SLOT = 6;
export const TC_OPTION_SLOTS = [0, 1, 2] as const;

export function tcSlotBase(slot: number): number {
  if (!(Number.isInteger(slot) && slot >= 0 && slot < TC_SLOT_COUNT)) bug(`no TURBOchannel slot ${slot}`);
  return TC_SLOTS_BASE + slot * TC_SLOT_SIZE;
}

/** Offset of the option-ROM header block from the start of an option's ROM. */
export const TC_ROM_HEADER_OFFSET = 0x3e0;

export interface OptionRomIdentity {
  /** 8 characters, space padded, e.g. "PMAD-AA ". */
  readonly module: string;
  readonly vendor: string;
  readonly firmwareRevision: string;
  /** 4 characters, e.g. "TCF0". */
  readonly firmwareType: string;
  /** ROM size in 8 KB units and slot size in 4 MB units, as the header states them. */
  readonly romSize8k: number;
  readonly slotSize4m: number;
}

/**
 * The bytes of an option ROM as the host sees them, one character per longword in byte lane 0
 * (NBTCR, GXTC): +0x3E0 width, +0x3E4 stride, +0x3E8 ROM size, +0x3EC slot size,
 * +0x3F0..0x3FF test pattern 55 00 AA FF, +0x400 firmware revision (8), +0x420 vendor (8),
 * +0x440 module (8), +0x460 firmware type (4). Returns a `romBytes` array indexed by byte offset
 * from the ROM's start; every other byte reads 0.
 */
export function buildOptionRom(id: OptionRomIdentity, sizeBytes = 0x800): Uint8Array {
  const rom = new Uint8Array(sizeBytes);
  const put = (offset: number, value: number): void => {
    rom[offset] = value & 0xff;
  };
  const putText = (offset: number, text: string, length: number): void => {
    if (!(text.length === length)) bug(`option ROM field '${text}' must be ${length} characters`);
    for (let i = 0; i < length; i++) put(offset + 4 * i, text.charCodeAt(i));
  };
  const h = TC_ROM_HEADER_OFFSET;
  put(h + 0x00, 1); // ROM width: 1 byte per longword
  put(h + 0x04, 4); // stride: 4
  put(h + 0x08, id.romSize8k);
  put(h + 0x0c, id.slotSize4m);
  const pattern = [0x55, 0x00, 0xaa, 0xff];
  for (let i = 0; i < 4; i++) put(h + 0x10 + 4 * i, pattern[i]!);
  putText(0x400, id.firmwareRevision, 8);
  putText(0x420, id.vendor, 8);
  putText(0x440, id.module, 8);
  putText(0x460, id.firmwareType, 4);
  return rom;
}

/** Read an option ROM's 8-character module name back through a longword reader (probing). */
export function readRomModuleName(readLongword: (romOffset: number) => number): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += String.fromCharCode(readLongword(0x440 + 4 * i) & 0xff);
  return s;
}
