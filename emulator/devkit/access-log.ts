/**
 * The register access log: every host access to a device's registers, with its time (the
 * CPU-local time of the access), the initiator, the register's datasheet name, the value and its
 * bits decoded. A `LoggedTarget` sits between the system bus and a device; when the log is off an
 * access costs one boolean test more, nothing else (DESIGN.md: "tracing costs a boolean test when
 * off"). Functional peeks and pokes are never logged: they are not accesses a driver makes.
 */
import type { AccessSize, BusTarget } from '../bus/index.ts';
import type { Ns } from '../sim/time.ts';

/** Entries kept at most (a limit on everything); later ones are counted in `dropped`. */
export const ACCESS_LOG_ENTRIES_MAX = 100_000;

export interface RegisterAccess {
  readonly timeNs: number;
  /** Who made the access: the host CPU (devices' own DMA is not a register access). */
  readonly initiator: 'cpu';
  /** Device, e.g. `dut.lance`. */
  readonly device: string;
  /** Datasheet name, e.g. `CSR0`, `RAP`, `BQ[3].POSTED`. */
  readonly register: string;
  readonly kind: 'read' | 'write';
  readonly size: AccessSize;
  readonly value: number;
  /** Set bits by name (`INIT|IDON|INTR`), or '' when the register has no named bits. */
  readonly decoded: string;
}

/**
 * How a device names its registers. `name` returns undefined for offsets that are not registers
 * (buffer memory, ROM): those are logged only when the log asks for memory too.
 */
export interface RegisterNamer {
  name(offset: number, size: AccessSize, kind: 'read' | 'write'): string | undefined;
  decode(register: string, value: number): string;
}

export class AccessLog {
  on: boolean;
  /** Also log accesses to board memory (named `MEM+0x…`), not only registers. */
  memory = false;
  readonly entries: RegisterAccess[] = [];
  dropped = 0;
  /** Keep entries (false: only the listener sees them, e.g. a timeline that writes as it goes). */
  keep = true;
  /** Called with every entry as it is made (observers only: must not touch the simulation). */
  listener: ((e: RegisterAccess) => void) | undefined = undefined;

  constructor(on = false) {
    this.on = on;
  }

  add(e: RegisterAccess): void {
    this.listener?.(e);
    if (!this.keep) return;
    if (this.entries.length < ACCESS_LOG_ENTRIES_MAX) this.entries.push(e);
    else this.dropped++;
  }

  clear(): void {
    this.entries.length = 0;
    this.dropped = 0;
  }

  /** Entries for one register (by name), in order. */
  of(register: string, kind?: 'read' | 'write'): RegisterAccess[] {
    return this.entries.filter((e) => e.register === register && (kind === undefined || e.kind === kind));
  }

  /** One line per access: `    12.345 us  cpu  W dut.lance CSR0 = 0x0041  INEA|INIT`. */
  text(): string {
    return this.entries.map(formatAccess).join('\n');
  }
}

export function formatAccess(e: RegisterAccess): string {
  const t = (e.timeNs / 1000).toFixed(3).padStart(12);
  const digits = e.size === 4 ? 8 : e.size === 2 ? 4 : 2;
  const v = `0x${(e.value >>> 0).toString(16).padStart(digits, '0')}`;
  const dir = e.kind === 'read' ? 'R' : 'W';
  const op = e.kind === 'read' ? '->' : '=';
  return `${t} us  ${e.initiator}  ${dir} ${e.device} ${e.register} ${op} ${v}${e.decoded === '' ? '' : `  ${e.decoded}`}`;
}

/** Names of the set bits of `value`, most significant first, from a `{ NAME: mask }` table. */
export function decodeBits(bits: Readonly<Record<string, number>>, value: number): string {
  const names: string[] = [];
  for (const [name, mask] of Object.entries(bits)) if ((value & mask) === mask && mask !== 0) names.push(name);
  return names.join('|');
}

/** A bus target that forwards every access to `inner` and logs the register ones. */
export class LoggedTarget implements BusTarget {
  readonly name: string;
  readonly readBlock?: (offset: number, dst: Uint8Array, atNs: Ns) => void;
  readonly writeBlock?: (offset: number, src: Uint8Array, atNs: Ns) => void;
  readonly blockCycles?: (offset: number, length: number, isWrite: boolean) => number;
  readonly timeDetermined?: (offset: number, size: AccessSize) => boolean;

  constructor(
    readonly inner: BusTarget,
    private readonly device: string,
    private readonly namer: RegisterNamer,
    private readonly log: AccessLog,
  ) {
    this.name = inner.name;
    const rb = inner.readBlock;
    const wb = inner.writeBlock;
    const bc = inner.blockCycles;
    // The bus asks the target whether a read is a function of its time alone (the AN1 clock
    // page): the tap must answer as the device does, or the run would not be the same run.
    const td = inner.timeDetermined;
    if (td !== undefined) this.timeDetermined = (offset, size) => td.call(inner, offset, size);
    if (rb !== undefined && wb !== undefined && bc !== undefined) {
      this.readBlock = (offset, dst, atNs) => {
        rb.call(inner, offset, dst, atNs);
        if (this.log.on && this.log.memory) this.block(offset, dst.length, 'read', atNs);
      };
      this.writeBlock = (offset, src, atNs) => {
        if (this.log.on && this.log.memory) this.block(offset, src.length, 'write', atNs);
        wb.call(inner, offset, src, atNs);
      };
      this.blockCycles = (offset, length, isWrite) => bc.call(inner, offset, length, isWrite);
    }
  }

  read(offset: number, size: AccessSize, atNs: Ns): number {
    if (!this.log.on) return this.inner.read(offset, size, atNs);
    // Name before the access: a read may pop a FIFO, but never changes which register it is.
    const register = this.registerName(offset, size, 'read');
    const value = this.inner.read(offset, size, atNs);
    if (register !== undefined) this.record(register, 'read', size, value, atNs);
    return value;
  }

  write(offset: number, size: AccessSize, value: number, atNs: Ns): void {
    if (this.log.on) {
      // Named before the write takes effect (a RAP write changes what RDP means afterwards).
      const register = this.registerName(offset, size, 'write');
      if (register !== undefined) this.record(register, 'write', size, value, atNs);
    }
    this.inner.write(offset, size, value, atNs);
  }

  peek(offset: number, size: AccessSize): number {
    return this.inner.peek(offset, size);
  }
  poke(offset: number, size: AccessSize, value: number): void {
    this.inner.poke(offset, size, value);
  }
  accessCycles(offset: number, size: AccessSize, isWrite: boolean): number {
    return this.inner.accessCycles(offset, size, isWrite);
  }

  private registerName(offset: number, size: AccessSize, kind: 'read' | 'write'): string | undefined {
    const n = this.namer.name(offset, size, kind);
    if (n !== undefined) return n;
    return this.log.memory ? `MEM+0x${offset.toString(16)}` : undefined;
  }

  private record(register: string, kind: 'read' | 'write', size: AccessSize, value: number, atNs: Ns): void {
    const v = size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff);
    this.log.add({ timeNs: atNs, initiator: 'cpu', device: this.device, register, kind, size, value: v, decoded: this.namer.decode(register, v) });
  }

  private block(offset: number, length: number, kind: 'read' | 'write', atNs: Ns): void {
    this.log.add({
      timeNs: atNs, initiator: 'cpu', device: this.device, register: `MEM+0x${offset.toString(16)}[${length}]`,
      kind, size: 4, value: length, decoded: '',
    });
  }
}
