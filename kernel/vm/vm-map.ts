/**
 * A task's address map: 4 KB pages of KUSEG, each mapped to a RAM frame (anonymous, shared with
 * a memory object, or carried in from a message) or to a physical device page (read-only I/O
 * pages such as the AN1 clock), with current and maximum protection and a wire count.
 *
 * Page granularity only: ranges are rounded out to pages as Mach does (trunc start, round end).
 * Frames are reference-counted in the FrameAllocator, so a shared or wired frame outlives any one
 * mapping of it. Every operation validates its whole range before it changes anything.
 */
import { assert } from '../../emulator/sim/assert.ts';
import { KERN } from '../abi/errors.ts';
import { VM_INHERIT, VM_PROT } from '../abi/message.ts';
import { PAGE_SHIFT, PAGE_SIZE, type FrameAllocator } from './frames.ts';

/** The first 64 KB stay unmapped (null-pointer guard); KUSEG ends at 2 GB. */
export const USER_BASE = 0x0001_0000;
export const USER_TOP = 0x8000_0000;
/** Pages one task may map at most (16 MB; the host has 32 MB). */
export const PAGES_PER_TASK_MAX = 4096;
export const WIRE_COUNT_MAX = 0xffff;

export class PageMapping {
  constructor(
    /** RAM frame number, or -1 for a device page. */
    readonly frame: number,
    /** Physical address of a device page (RAM pages: frame * PAGE_SIZE). */
    readonly phys: number,
    public prot: number,
    public maxProt: number,
    public wired = 0,
    /** What task_create gives a child of this page (VM_INHERIT; Mach's default is COPY). */
    public inheritance: number = VM_INHERIT.COPY,
  ) {}
  get isDevice(): boolean {
    return this.frame < 0;
  }
}

export type VmResult = { readonly kr: number; readonly address: number };

export interface PageRange {
  readonly firstPage: number;
  readonly pages: number;
}

/** Pages covering [address, address+size), or an error when the range leaves user space. */
export function pageRange(address: number, size: number): PageRange | undefined {
  if (!Number.isSafeInteger(address) || !Number.isSafeInteger(size) || address < 0 || size < 0) return undefined;
  const end = address + size;
  if (end > USER_TOP) return undefined;
  const firstPage = Math.floor(address / PAGE_SIZE);
  const endPage = Math.ceil(end / PAGE_SIZE);
  if (size > 0 && address < USER_BASE) return undefined;
  return { firstPage, pages: size === 0 ? 0 : endPage - firstPage };
}

export class VmMap {
  readonly pages = new Map<number, PageMapping>();

  constructor(private readonly frames: FrameAllocator) {}

  get pageCount(): number {
    return this.pages.size;
  }

  /** The lowest free run of `count` pages in user space, or undefined. */
  findFree(count: number): number | undefined {
    if (count <= 0 || count > PAGES_PER_TASK_MAX) return undefined;
    const top = USER_TOP >>> PAGE_SHIFT;
    let start = USER_BASE >>> PAGE_SHIFT;
    // Each restart skips past a mapped page, so the scan is O(mapped + count).
    while (start + count <= top) {
      let ok = true;
      for (let p = start + count - 1; p >= start; p--) {
        if (this.pages.has(p)) {
          start = p + 1;
          ok = false;
          break;
        }
      }
      if (ok) return start;
    }
    return undefined;
  }

  private isFree(firstPage: number, pages: number): boolean {
    for (let p = firstPage; p < firstPage + pages; p++) if (this.pages.has(p)) return false;
    return true;
  }

  /** Choose where `pages` pages go: anywhere, or exactly at `address` (rounded down). */
  private place(address: number, pages: number, anywhere: boolean): { kr: number; firstPage: number } {
    if (pages === 0) return { kr: KERN.SUCCESS, firstPage: 0 };
    if (this.pages.size + pages > PAGES_PER_TASK_MAX) return { kr: KERN.NO_SPACE, firstPage: 0 };
    if (anywhere) {
      const p = this.findFree(pages);
      return p === undefined ? { kr: KERN.NO_SPACE, firstPage: 0 } : { kr: KERN.SUCCESS, firstPage: p };
    }
    const r = pageRange(address, pages * PAGE_SIZE);
    if (r === undefined) return { kr: KERN.INVALID_ADDRESS, firstPage: 0 };
    if (!this.isFree(r.firstPage, pages)) return { kr: KERN.NO_SPACE, firstPage: 0 };
    return { kr: KERN.SUCCESS, firstPage: r.firstPage };
  }

  /** vm_allocate: zero-filled private pages, protection READ|WRITE (max ALL). */
  allocate(address: number, size: number, anywhere: boolean): VmResult {
    if (!Number.isSafeInteger(size) || size < 0 || size > PAGES_PER_TASK_MAX * PAGE_SIZE) return { kr: KERN.NO_SPACE, address: 0 };
    let pages = Math.ceil(size / PAGE_SIZE);
    if (!anywhere) {
      const r = pageRange(address, size);
      if (r === undefined) return { kr: KERN.INVALID_ADDRESS, address: 0 };
      pages = r.pages;
      address = r.firstPage * PAGE_SIZE;
    }
    if (pages === 0) return { kr: KERN.SUCCESS, address: anywhere ? 0 : address };
    const where = this.place(address, pages, anywhere);
    if (where.kr !== KERN.SUCCESS) return { kr: where.kr, address: 0 };
    const frames = this.frames.allocMany(pages);
    if (frames === undefined) return { kr: KERN.RESOURCE_SHORTAGE, address: 0 };
    for (let i = 0; i < pages; i++) {
      const f = frames[i]!;
      this.pages.set(where.firstPage + i, new PageMapping(f, f * PAGE_SIZE, VM_PROT.DEFAULT, VM_PROT.ALL));
    }
    return { kr: KERN.SUCCESS, address: where.firstPage * PAGE_SIZE };
  }

  /**
   * Map existing frames (a memory object's, or a message's out-of-line pages); each mapping
   * takes its own reference. `address` is used when `anywhere` is false.
   */
  mapFrames(address: number, anywhere: boolean, frames: readonly number[], prot: number, maxProt: number): VmResult {
    const where = this.place(address, frames.length, anywhere);
    if (where.kr !== KERN.SUCCESS) return { kr: where.kr, address: 0 };
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (!this.frames.ref(f)) {
        this.unmapPages(where.firstPage, i);
        return { kr: KERN.RESOURCE_SHORTAGE, address: 0 };
      }
      this.pages.set(where.firstPage + i, new PageMapping(f, f * PAGE_SIZE, prot, maxProt));
    }
    return { kr: KERN.SUCCESS, address: where.firstPage * PAGE_SIZE };
  }

  /** Map one physical device page, read-only at most. */
  mapDevice(physPage: number): VmResult {
    assert(physPage % PAGE_SIZE === 0, 'device page not page-aligned');
    const where = this.place(0, 1, true);
    if (where.kr !== KERN.SUCCESS) return { kr: where.kr, address: 0 };
    this.pages.set(where.firstPage, new PageMapping(-1, physPage, VM_PROT.READ, VM_PROT.READ));
    return { kr: KERN.SUCCESS, address: where.firstPage * PAGE_SIZE };
  }

  private unmapPages(firstPage: number, pages: number): void {
    for (let p = firstPage; p < firstPage + pages; p++) {
      const m = this.pages.get(p);
      if (m === undefined) continue;
      this.pages.delete(p);
      if (!m.isDevice) this.frames.unref(m.frame);
    }
  }

  /** vm_deallocate: holes in the range are fine; wired pages are unwired (their frames live on in whoever else holds them). */
  deallocate(address: number, size: number): number {
    const r = pageRange(address, size);
    if (r === undefined) return KERN.INVALID_ADDRESS;
    if (r.pages > USER_TOP >>> PAGE_SHIFT) return KERN.INVALID_ADDRESS;
    if (r.pages > this.pages.size) {
      // Sparse map, huge range: walk the map instead of the range.
      for (const p of [...this.pages.keys()]) if (p >= r.firstPage && p < r.firstPage + r.pages) this.unmapPages(p, 1);
    } else this.unmapPages(r.firstPage, r.pages);
    return KERN.SUCCESS;
  }

  /** Revocation: unmap every page that maps one of `frames` (wherever the task put it). Returns the pages removed. */
  revokeFrames(frames: ReadonlySet<number>): number {
    let n = 0;
    for (const [p, m] of [...this.pages]) {
      if (m.isDevice || !frames.has(m.frame)) continue;
      this.unmapPages(p, 1);
      n++;
    }
    return n;
  }

  /** Every page of the range mapped? */
  private allMapped(r: PageRange): boolean {
    if (r.pages > this.pages.size) return false;
    for (let p = r.firstPage; p < r.firstPage + r.pages; p++) if (!this.pages.has(p)) return false;
    return true;
  }

  /**
   * vm_protect: neither the current nor (setMax) the maximum protection can be raised above the
   * maximum — Mach returns KERN_PROTECTION_FAILURE for both; lowering the maximum lowers current.
   */
  protect(address: number, size: number, setMax: boolean, prot: number): number {
    if ((prot & ~VM_PROT.ALL) !== 0) return KERN.INVALID_ARGUMENT;
    const r = pageRange(address, size);
    if (r === undefined || !this.allMapped(r)) return KERN.INVALID_ADDRESS;
    for (let p = r.firstPage; p < r.firstPage + r.pages; p++) {
      const m = this.pages.get(p)!;
      if ((prot & ~m.maxProt) !== 0) return KERN.PROTECTION_FAILURE;
    }
    for (let p = r.firstPage; p < r.firstPage + r.pages; p++) {
      const m = this.pages.get(p)!;
      if (setMax) {
        m.maxProt = prot;
        m.prot &= m.maxProt;
      } else m.prot = prot;
    }
    return KERN.SUCCESS;
  }

  /** Wire (or unwire) every page of the range; device pages cannot be wired. */
  wire(address: number, size: number, wire: boolean): number {
    const r = pageRange(address, size);
    if (r === undefined || !this.allMapped(r)) return KERN.INVALID_ADDRESS;
    for (let p = r.firstPage; p < r.firstPage + r.pages; p++) {
      const m = this.pages.get(p)!;
      if (m.isDevice) return KERN.INVALID_ARGUMENT;
      if (wire && m.wired >= WIRE_COUNT_MAX) return KERN.RESOURCE_SHORTAGE;
      if (!wire && m.wired === 0) return KERN.INVALID_ARGUMENT;
    }
    for (let p = r.firstPage; p < r.firstPage + r.pages; p++) this.pages.get(p)!.wired += wire ? 1 : -1;
    return KERN.SUCCESS;
  }

  /** vm_inherit: set the inheritance of every page of the range (all mapped). */
  setInheritance(address: number, size: number, inheritance: number): number {
    if (inheritance !== VM_INHERIT.SHARE && inheritance !== VM_INHERIT.COPY && inheritance !== VM_INHERIT.NONE) return KERN.INVALID_ARGUMENT;
    const r = pageRange(address, size);
    if (r === undefined || !this.allMapped(r)) return KERN.INVALID_ADDRESS;
    for (let p = r.firstPage; p < r.firstPage + r.pages; p++) this.pages.get(p)!.inheritance = inheritance;
    return KERN.SUCCESS;
  }

  /**
   * task_create(inherit_memory): give `child` (an empty map) this map's pages per their
   * inheritance. SHARE: the same frame (both maps see every store); COPY: a fresh frame with the
   * page's bytes (Mach defers the copy by copy-on-write; it is made at once here and charged as a
   * copy); NONE: nothing. Device pages (read-only I/O pages) are mapped to the same physical page
   * unless NONE. A wired page is never shared (its frames belong to a kernel object whose
   * revocation reaches only the maps that mapped it): SHARE degrades to COPY for it, and the
   * child's page is not wired (wiring is not inherited). Protections are kept. Returns the pages
   * shared and copied, or RESOURCE_SHORTAGE (the child is then left to be destroyed).
   */
  inheritInto(child: VmMap, copyPage: (fromFrame: number, toFrame: number) => void): { kr: number; shared: number; copied: number } {
    let shared = 0;
    let copied = 0;
    for (const [p, m] of this.pages) {
      if (m.inheritance === VM_INHERIT.NONE) continue;
      if (m.isDevice) {
        child.pages.set(p, new PageMapping(-1, m.phys, m.prot, m.maxProt, 0, m.inheritance));
        shared++;
        continue;
      }
      if (m.inheritance === VM_INHERIT.SHARE && m.wired === 0) {
        if (!this.frames.ref(m.frame)) return { kr: KERN.RESOURCE_SHORTAGE, shared, copied };
        child.pages.set(p, new PageMapping(m.frame, m.phys, m.prot, m.maxProt, 0, VM_INHERIT.SHARE));
        shared++;
        continue;
      }
      const f = this.frames.alloc();
      if (f === undefined) return { kr: KERN.RESOURCE_SHORTAGE, shared, copied };
      copyPage(m.frame, f);
      child.pages.set(p, new PageMapping(f, f * PAGE_SIZE, m.prot, m.maxProt, 0, VM_INHERIT.COPY));
      copied++;
    }
    return { kr: KERN.SUCCESS, shared, copied };
  }

  /** The mapping of a user address, if any. */
  lookup(address: number): PageMapping | undefined {
    return this.pages.get(Math.floor(address / PAGE_SIZE));
  }

  /** Frames of the pages covering a range (all RAM-mapped with `need` protection), or undefined. */
  framesOf(address: number, size: number, need: number): number[] | undefined {
    const r = pageRange(address, size);
    if (r === undefined || !this.allMapped(r)) return undefined;
    const out: number[] = [];
    for (let p = r.firstPage; p < r.firstPage + r.pages; p++) {
      const m = this.pages.get(p)!;
      if (m.isDevice || (m.prot & need) !== need) return undefined;
      out.push(m.frame);
    }
    return out;
  }

  /** Release every mapping (task death). */
  destroy(): void {
    for (const m of this.pages.values()) if (!m.isDevice) this.frames.unref(m.frame);
    this.pages.clear();
  }
}
