/**
 * Registers declared once, as data, with the datasheet's names, widths, reset values and per-bit
 * access kinds; the access semantics are implemented here once (QEMU registerfields.h /
 * register.h), never per device.
 *
 * Access kinds, as seen by a bus write of value v to a bit:
 * - rw:       the bit takes v.
 * - ro:       writes are ignored (the device sets the bit through `set`).
 * - w1c:      writing 1 clears the bit, writing 0 leaves it (status flags).
 * - set-only: writing 1 sets the bit, writing 0 leaves it; only the device clears it (commands).
 * - wo:       the bit takes v but reads back as 0.
 * - reserved: writes are ignored and the bit reads as 0.
 * Bus reads return the stored value with wo and reserved bits masked off.
 */
import { bug } from '../sim/assert.ts';

export type Access = 'rw' | 'ro' | 'w1c' | 'set-only' | 'wo' | 'reserved';

export interface FieldDef {
  readonly name: string;
  readonly lsb: number;
  readonly width: number;
  readonly access: Access;
}

export interface RegisterDef {
  readonly name: string;
  /** Byte offset in the device's register window. */
  readonly offset: number;
  readonly width: 8 | 16 | 32;
  readonly reset: number;
  /** Access of every bit not covered by a field. */
  readonly access: Access;
  readonly fields?: readonly FieldDef[];
}

export function fieldMask(field: Pick<FieldDef, 'lsb' | 'width'>): number {
  return field.width >= 32 ? 0xffff_ffff : (((1 << field.width) - 1) << field.lsb) >>> 0;
}

interface Compiled {
  readonly def: RegisterDef;
  readonly widthMask: number;
  readonly rw: number;
  readonly w1c: number;
  readonly setOnly: number;
  readonly wo: number;
  readonly readable: number;
}

function compile(def: RegisterDef): Compiled {
  const widthMask = def.width === 32 ? 0xffff_ffff : (1 << def.width) - 1;
  const masks: Record<Access, number> = { rw: 0, ro: 0, w1c: 0, 'set-only': 0, wo: 0, reserved: 0 };
  let covered = 0;
  for (const f of def.fields ?? []) {
    const m = fieldMask(f);
    if (!(f.lsb >= 0 && f.width >= 1 && f.lsb + f.width <= def.width)) bug(`${def.name}.${f.name} does not fit`);
    if (!((covered & m) === 0)) bug(`${def.name}.${f.name} overlaps another field`);
    covered |= m;
    masks[f.access] |= m;
  }
  masks[def.access] |= widthMask & ~covered;
  if (!((def.reset & ~widthMask) === 0)) bug(`${def.name} reset value wider than the register`);
  return {
    def,
    widthMask,
    rw: masks.rw >>> 0,
    w1c: masks.w1c >>> 0,
    setOnly: masks['set-only'] >>> 0,
    wo: masks.wo >>> 0,
    readable: (widthMask & ~masks.wo & ~masks.reserved) >>> 0,
  };
}

interface CompiledFile {
  readonly regs: readonly Compiled[];
  readonly byName: ReadonlyMap<string, number>;
  readonly byOffset: ReadonlyMap<number, number>;
}

/**
 * Compiled layouts by their definition array: many files share one layout (the AN1's 64 BQI
 * entries of 132 registers each), and compiling it once per layout instead of per file made
 * building a board several times cheaper. Compiled layouts are immutable; only `raw` is per file.
 */
const COMPILED = new WeakMap<readonly RegisterDef[], CompiledFile>();

function compileFile(name: string, defs: readonly RegisterDef[]): CompiledFile {
  const byName = new Map<string, number>();
  const byOffset = new Map<number, number>();
  defs.forEach((d, i) => {
    if (byName.has(d.name)) bug(`${name}: duplicate register ${d.name}`);
    if (byOffset.has(d.offset)) bug(`${name}: two registers at offset ${d.offset}`);
    byName.set(d.name, i);
    byOffset.set(d.offset, i);
  });
  return { regs: defs.map(compile), byName, byOffset };
}

export class RegisterFile {
  private readonly regs: readonly Compiled[];
  private readonly byName: ReadonlyMap<string, number>;
  private readonly byOffset: ReadonlyMap<number, number>;
  /** Stored values, by register index (device-internal view). */
  readonly raw: number[];
  /** After `write`: the value before the write, and the value the bus presented. */
  lastOld = 0;
  lastWritten = 0;

  constructor(
    readonly name: string,
    defs: readonly RegisterDef[],
  ) {
    let c = COMPILED.get(defs);
    if (c === undefined) COMPILED.set(defs, (c = compileFile(name, defs)));
    this.regs = c.regs;
    this.byName = c.byName;
    this.byOffset = c.byOffset;
    this.raw = defs.map((d) => d.reset);
  }

  reset(): void {
    for (let i = 0; i < this.regs.length; i++) this.raw[i] = this.regs[i]!.def.reset;
  }

  index(name: string): number {
    const i = this.byName.get(name);
    if (!(i !== undefined)) bug(`${this.name}: no register ${name}`);
    return i;
  }

  indexAt(offset: number): number {
    return this.byOffset.get(offset) ?? -1;
  }

  def(index: number): RegisterDef {
    const r = this.regs[index];
    if (!(r !== undefined)) bug(`${this.name}: no register #${index}`);
    return r.def;
  }

  /** Bus read by register index: wo and reserved bits read as 0. */
  readIndex(index: number): number {
    const r = this.regs[index]!;
    return (this.raw[index]! & r.readable) >>> 0;
  }

  /** Bus write by register index with the declared semantics; returns the new stored value. */
  writeIndex(index: number, value: number): number {
    const r = this.regs[index]!;
    const old = this.raw[index]!;
    const v = value & r.widthMask;
    let next = (old & ~r.rw & ~r.wo) | (v & (r.rw | r.wo));
    next &= ~(v & r.w1c);
    next |= v & r.setOnly;
    next = (next & r.widthMask) >>> 0;
    this.lastOld = old;
    this.lastWritten = v >>> 0;
    this.raw[index] = next;
    return next;
  }

  /** Bus read by offset; undefined where no register is declared. */
  read(offset: number): number | undefined {
    const i = this.byOffset.get(offset);
    return i === undefined ? undefined : this.readIndex(i);
  }

  /** Bus write by offset; returns the register index, or -1 where no register is declared. */
  write(offset: number, value: number): number {
    const i = this.byOffset.get(offset);
    if (i === undefined) return -1;
    this.writeIndex(i, value);
    return i;
  }

  /** Device-internal raw access, by name (no access semantics). */
  get(name: string): number {
    return this.raw[this.index(name)]!;
  }
  set(name: string, value: number): void {
    const i = this.index(name);
    this.raw[i] = (value & this.regs[i]!.widthMask) >>> 0;
  }

  field(regName: string, fieldName: string): number {
    const f = this.fieldDef(regName, fieldName);
    return (this.get(regName) & fieldMask(f)) >>> f.lsb;
  }
  setField(regName: string, fieldName: string, value: number): void {
    const f = this.fieldDef(regName, fieldName);
    const m = fieldMask(f);
    this.set(regName, (this.get(regName) & ~m) | ((value << f.lsb) & m));
  }

  fieldDef(regName: string, fieldName: string): FieldDef {
    const f = this.def(this.index(regName)).fields?.find((x) => x.name === fieldName);
    if (!(f !== undefined)) bug(`${this.name}: no field ${regName}.${fieldName}`);
    return f;
  }
}
