/**
 * The GuestMemory view a task's threads get in their context: every access is translated through
 * the task's VmMap. RAM pages are read and written directly (free: the guest accounts its own
 * cycles with spend); device pages go through the timed bus, after the guest's recorded cycles
 * are charged so that the access happens at the right simulated time. A bad access is reported
 * to the kernel (which raises the exception) and thrown into the guest as a MemoryFault.
 */
import type { PhysicalBus } from '../../emulator/bus/index.ts';
import { MemoryFault, type FaultKind, type GuestMemory } from '../abi/guest.ts';
import { VM_PROT } from '../abi/message.ts';
import { PAGE_MASK, PAGE_SIZE } from './frames.ts';
import type { VmMap } from './vm-map.ts';

/** Largest single readBytes/writeBytes (a limit on everything). */
export const GUEST_BYTES_MAX = 16 * 1024 * 1024;

export interface GuestMemoryHooks {
  /** Record the fault against the running thread (it is then thrown into the guest). */
  fault(f: MemoryFault): void;
  /** Charge the guest's recorded cycles before a timed device access. */
  beforeDeviceAccess(): void;
  /** A store of `length` bytes at physical `phys` is about to land (a DMA must not see it early). */
  beforeStore(phys: number, length: number): void;
}

export function createGuestMemory(map: VmMap, ram: Uint8Array, bus: PhysicalBus, hooks: GuestMemoryHooks): GuestMemory {
  const view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);

  function fail(address: number, fault: FaultKind, write: boolean): never {
    const f = new MemoryFault(address, fault, write);
    hooks.fault(f);
    throw f;
  }

  /** Physical address of [addr, addr+size) within one page; device pages are negative-tagged via isDevice. */
  function translate(addr: number, size: number, write: boolean): { phys: number; device: boolean } {
    if (!Number.isInteger(addr) || addr < 0 || addr > 0xffff_ffff) fail(Number.isFinite(addr) ? addr : 0, 'range', write);
    if ((addr & (size - 1)) !== 0) fail(addr, 'alignment', write);
    const m = map.lookup(addr);
    if (m === undefined) fail(addr, 'unmapped', write);
    const need = write ? VM_PROT.WRITE : VM_PROT.READ;
    if ((m.prot & need) === 0) fail(addr, 'protection', write);
    return { phys: m.phys + (addr & PAGE_MASK), device: m.isDevice };
  }

  function read(addr: number, size: 1 | 2 | 4): number {
    const t = translate(addr, size, false);
    if (t.device) {
      hooks.beforeDeviceAccess();
      return size === 1 ? bus.read8(t.phys) : size === 2 ? bus.read16(t.phys) : bus.read32(t.phys);
    }
    return size === 1 ? ram[t.phys]! : size === 2 ? view.getUint16(t.phys, true) : view.getUint32(t.phys, true);
  }

  function write(addr: number, size: 1 | 2 | 4, value: number): void {
    const t = translate(addr, size, true);
    // Device pages are mapped read-only, so translate() has already refused a write to one.
    const v = Number.isFinite(value) ? value : 0;
    hooks.beforeStore(t.phys, size);
    if (size === 1) ram[t.phys] = v & 0xff;
    else if (size === 2) view.setUint16(t.phys, v & 0xffff, true);
    else view.setUint32(t.phys, v >>> 0, true);
  }

  function checkLength(addr: number, length: number, isWrite: boolean): void {
    if (!Number.isSafeInteger(length) || length < 0 || length > GUEST_BYTES_MAX) fail(addr, 'range', isWrite);
    if (!Number.isSafeInteger(addr) || addr < 0 || addr + length > 0x1_0000_0000) fail(Number.isFinite(addr) ? addr : 0, 'range', isWrite);
  }

  return {
    read8: (a) => read(a, 1),
    read16: (a) => read(a, 2),
    read32: (a) => read(a, 4),
    write8: (a, v) => write(a, 1, v),
    write16: (a, v) => write(a, 2, v),
    write32: (a, v) => write(a, 4, v),
    readBytes(addr, length) {
      checkLength(addr, length, false);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const a = addr + done;
        const n = Math.min(length - done, PAGE_SIZE - (a & PAGE_MASK));
        const t = translate(a, 1, false);
        if (t.device) {
          hooks.beforeDeviceAccess();
          const chunk = new Uint8Array(n);
          bus.readBlock(t.phys, chunk);
          out.set(chunk, done);
        } else out.set(ram.subarray(t.phys, t.phys + n), done);
        done += n;
      }
      return out;
    },
    writeBytes(addr, given) {
      // Copy first: a proxy or subclass must not decide how many bytes land in RAM.
      let bytes: Uint8Array;
      try {
        bytes = Uint8Array.prototype.slice.call(given);
      } catch {
        fail(addr, 'range', true);
      }
      checkLength(addr, bytes.length, true);
      // Check every page first, so a faulting write changes nothing.
      for (let done = 0; done < bytes.length; ) {
        const a = addr + done;
        translate(a, 1, true);
        done += Math.min(bytes.length - done, PAGE_SIZE - (a & PAGE_MASK));
      }
      let done = 0;
      while (done < bytes.length) {
        const a = addr + done;
        const n = Math.min(bytes.length - done, PAGE_SIZE - (a & PAGE_MASK));
        const t = translate(a, 1, true);
        hooks.beforeStore(t.phys, n);
        ram.set(bytes.subarray(done, done + n), t.phys);
        done += n;
      }
    },
  };
}
