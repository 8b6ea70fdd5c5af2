/**
 * VM isolation property: whatever sequence of vm_allocate / vm_deallocate / vm_protect / shared
 * mappings two tasks perform, a task reads and writes exactly the pages its own map holds: an
 * address it has not mapped (including the other task's pages and pages it gave back) faults;
 * shared mappings see each other's writes; after deallocation or task death the pages are
 * unreachable, and once both tasks are gone every frame is back in the pool.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KERN } from '../../../kernel/abi/errors.ts';
import { MemoryFault } from '../../../kernel/abi/guest.ts';
import { VM_PROT } from '../../../kernel/abi/message.ts';
import type { Kernel } from '../../../kernel/kernel.ts';
import type { MemoryObject } from '../../../kernel/vm/memory-object.ts';
import { boot, Puppet } from '../../kernel/harness.ts';

const PAGE = 4096;

interface MPage {
  cell: number;
  writable: boolean;
}
interface Model {
  alive: boolean[];
  maps: Map<number, MPage>[]; // vpn → page
  cells: Map<number, Map<number, number>>; // cell → word offset → value
  nextCell: number;
  pool: number[]; // addresses seen anywhere
}
interface Real {
  kernel: Kernel;
  p: Puppet[];
}

function call<T>(r: T | 'blocked' | 'dead'): T {
  if (r === 'blocked' || r === 'dead') throw new Error(`call ${r}`);
  return r;
}

const addrOf = (m: Model, i: number, word: number): number => m.pool[i % m.pool.length]! + word * 4;

type Cmd = fc.Command<Model, Real>;
const STATS = { faults: 0, hits: 0, nonZeroReads: 0 };

class Alloc implements Cmd {
  constructor(
    readonly t: number,
    readonly pages: number,
  ) {}
  check = (m: Readonly<Model>) => m.alive[this.t]!;
  run(m: Model, r: Real): void {
    const res = call(r.p[this.t]!.call('vm_allocate', { address: 0, size: this.pages * PAGE, anywhere: true }));
    expect(res.kr).toBe(KERN.SUCCESS);
    for (let i = 0; i < this.pages; i++) {
      const vpn = res.address / PAGE + i;
      expect(m.maps[this.t]!.has(vpn)).toBe(false);
      m.maps[this.t]!.set(vpn, { cell: m.nextCell++, writable: true });
    }
    m.pool.push(res.address);
  }
  toString = () => `Alloc(${this.t},${this.pages})`;
}

class Dealloc implements Cmd {
  constructor(
    readonly t: number,
    readonly i: number,
    readonly pages: number,
  ) {}
  check = (m: Readonly<Model>) => m.alive[this.t]!;
  run(m: Model, r: Real): void {
    const a = addrOf(m, this.i, 0);
    expect(call(r.p[this.t]!.call('vm_deallocate', { address: a, size: this.pages * PAGE }))).toEqual({ kr: KERN.SUCCESS });
    for (let k = 0; k < this.pages; k++) m.maps[this.t]!.delete(Math.floor(a / PAGE) + k);
  }
  toString = () => `Dealloc(${this.t},${this.i},${this.pages})`;
}

class Protect implements Cmd {
  constructor(
    readonly t: number,
    readonly i: number,
  ) {}
  check = (m: Readonly<Model>) => m.alive[this.t]!;
  run(m: Model, r: Real): void {
    const a = addrOf(m, this.i, 0);
    const res = call(r.p[this.t]!.call('vm_protect', { address: a, size: PAGE, setMax: false, prot: VM_PROT.READ }));
    const pg = m.maps[this.t]!.get(Math.floor(a / PAGE));
    if (pg === undefined) expect(res.kr).toBe(KERN.INVALID_ADDRESS);
    else {
      expect(res.kr).toBe(KERN.SUCCESS);
      pg.writable = false;
    }
  }
  toString = () => `Protect(${this.t},${this.i})`;
}

class Share implements Cmd {
  constructor(readonly pages: number) {}
  check = (m: Readonly<Model>) => m.alive[0]! && m.alive[1]!;
  run(m: Model, r: Real): void {
    const o = call(r.p[0]!.call('memory_object_create', { size: this.pages * PAGE }));
    expect(o.kr).toBe(KERN.SUCCESS);
    const obj = r.kernel.lookupKernelObject<MemoryObject>(r.p[0]!.task, o.name, 'memory-object');
    if (!obj.ok) throw new Error('lookup');
    const ins = r.kernel.insertSendRight(r.p[1]!.task, obj.port);
    const cells = Array.from({ length: this.pages }, () => m.nextCell++);
    for (const [t, name] of [
      [0, o.name],
      [1, ins.name],
    ] as const) {
      const mp = call(r.p[t]!.call('vm_map', { object: name, offset: 0, size: this.pages * PAGE, address: 0, anywhere: true, prot: VM_PROT.DEFAULT }));
      expect(mp.kr).toBe(KERN.SUCCESS);
      cells.forEach((c, k) => m.maps[t]!.set(mp.address / PAGE + k, { cell: c, writable: true }));
      m.pool.push(mp.address);
      // The tasks may drop the object's name: the mappings keep the pages.
      expect(call(r.p[t]!.call('mach_port_deallocate', { name }))).toEqual({ kr: KERN.SUCCESS });
    }
  }
  toString = () => `Share(${this.pages})`;
}

class Access implements Cmd {
  constructor(
    readonly t: number,
    readonly i: number,
    readonly word: number,
    readonly value: number | undefined,
  ) {}
  check = (m: Readonly<Model>) => m.alive[this.t]!;
  run(m: Model, r: Real): void {
    const a = addrOf(m, this.i, this.word);
    const pg = m.maps[this.t]!.get(Math.floor(a / PAGE));
    const off = a % PAGE;
    const v = this.value;
    const res = r.p[this.t]!.mem((ctx) => (v === undefined ? ctx.mem.read32(a) : ctx.mem.write32(a, v)));
    if (pg === undefined || (v !== undefined && !pg.writable)) {
      expect(res).toBeInstanceOf(MemoryFault);
      STATS.faults++;
      return;
    }
    expect(res).not.toBeInstanceOf(MemoryFault);
    STATS.hits++;
    if (v === undefined && res !== 0) STATS.nonZeroReads++;
    let cell = m.cells.get(pg.cell);
    if (cell === undefined) m.cells.set(pg.cell, (cell = new Map()));
    if (v === undefined) expect(res).toBe(cell.get(off) ?? 0);
    else cell.set(off, v >>> 0);
  }
  toString = () => `${this.value === undefined ? 'Read' : 'Write'}(${this.t},${this.i},${this.word})`;
}

/** Write then read back through the other task's mapping of the same page, if it has one. */
class CrossRead implements Cmd {
  constructor(
    readonly i: number,
    readonly word: number,
    readonly value: number,
  ) {}
  check = (m: Readonly<Model>) => m.alive[0]! && m.alive[1]!;
  run(m: Model, r: Real): void {
    new Access(0, this.i, this.word, this.value).run(m, r);
    const a = addrOf(m, this.i, this.word);
    const pg = m.maps[0]!.get(Math.floor(a / PAGE));
    if (pg === undefined) return;
    for (const [vpn, other] of m.maps[1]!) {
      if (other.cell !== pg.cell) continue;
      const b = vpn * PAGE + (a % PAGE);
      const got = r.p[1]!.mem((ctx) => ctx.mem.read32(b));
      const expected = m.cells.get(pg.cell)?.get(a % PAGE) ?? 0;
      expect(got).toBe(expected);
      if (expected !== 0) STATS.nonZeroReads++;
    }
  }
  toString = () => `CrossRead(${this.i},${this.word})`;
}

class Kill implements Cmd {
  constructor(readonly t: number) {}
  check = (m: Readonly<Model>) => m.alive[this.t]!;
  run(m: Model, r: Real): void {
    r.kernel.endTask(r.p[this.t]!.task, { kind: 'killed', by: 'test' });
    m.alive[this.t] = false;
    m.maps[this.t]!.clear();
    expect(r.p[this.t]!.task.map.pageCount).toBe(0);
  }
  toString = () => `Kill(${this.t})`;
}

const t = fc.integer({ min: 0, max: 1 });
const idx = fc.nat({ max: 40 });
// Mostly a few hot words (so reads meet earlier writes), sometimes anywhere in three pages.
const word = fc.oneof({ arbitrary: fc.constantFrom(0, 1, 1023, 1024), weight: 3 }, { arbitrary: fc.integer({ min: -1, max: 3 * 1024 }), weight: 1 });
const commands = fc.commands(
  [
    fc.tuple(t, fc.integer({ min: 1, max: 3 })).map(([x, n]) => new Alloc(x, n)),
    fc.tuple(t, idx, fc.integer({ min: 1, max: 2 })).map(([x, i, n]) => new Dealloc(x, i, n)),
    fc.tuple(t, idx).map(([x, i]) => new Protect(x, i)),
    fc.integer({ min: 1, max: 2 }).map((n) => new Share(n)),
    fc.tuple(t, idx, word, fc.option(fc.nat(), { nil: undefined })).map(([x, i, w, v]) => new Access(x, i, w, v)),
    fc.tuple(t, idx, word, fc.option(fc.nat(), { nil: undefined })).map(([x, i, w, v]) => new Access(x, i, w, v)),
    fc.tuple(t, idx, word, fc.option(fc.nat(), { nil: undefined })).map(([x, i, w, v]) => new Access(x, i, w, v)),
    fc.tuple(idx, word, fc.integer({ min: 1, max: 0xffff_ffff })).map(([i, w, v]) => new CrossRead(i, w, v)),
    t.map((x) => new Kill(x)),
  ],
  { maxCommands: 40, size: 'medium' },
);

describe('VM isolation', () => {
  it('no call sequence lets a task touch a page it has not mapped; shared pages agree; death frees everything', () => {
    fc.assert(
      fc.property(commands, (cmds) => {
        const { kernel, world } = boot();
        const free0 = kernel.frames.freeCount;
        const p = [new Puppet(world, kernel, 'a', { catchFaults: true }), new Puppet(world, kernel, 'b', { catchFaults: true })];
        const model: Model = { alive: [true, true], maps: [new Map(), new Map()], cells: new Map(), nextCell: 0, pool: [0x10000, 0x7fff_0000] };
        fc.modelRun(() => ({ model, real: { kernel, p } }), cmds);
        for (const x of p) kernel.endTask(x.task, { kind: 'killed', by: 'test' });
        expect(kernel.frames.freeCount).toBe(free0);
        expect(world.trace.guestErrorsTotal).toBe(0);
      }),
      {},
    );
    expect(STATS.faults).toBeGreaterThan(20);
    expect(STATS.hits).toBeGreaterThan(20);
    // Shared pages were read back through the other task (Share + CrossRead reach each other).
    expect(STATS.nonZeroReads).toBeGreaterThan(0);
  });
});
