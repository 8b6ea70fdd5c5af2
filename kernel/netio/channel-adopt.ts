/**
 * Connection passing (P §3.2: an application hands an established connection to another, as inetd
 * does to a daemon), an addition to the network I/O module made for issue 8 and kept in its own
 * file. Mach ports carry the channel's send right and the library carries the TCB in the same
 * message; what ports cannot carry is the region, which is memory mapped in the owner's task only.
 * `net_channel_adopt({ channel })`: the caller, holding a send right to a live channel, becomes
 * its owner — the region (the same wired pages, ring state intact) is mapped into the caller and
 * unmapped from the previous owner, and the channel gets a fresh semaphore whose only send right
 * is the caller's (the old one is destroyed, so the previous owner can neither wait on it nor
 * steal wake-ups). The owner's death then closes the channel as for any channel. The registry
 * server is not involved. Installed by the builder that wires the module (`installChannelAdopt`).
 */
import { KERN } from '../abi/errors.ts';
import type { Kernel } from '../kernel.ts';
import type { Semaphore } from '../sync/semaphore.ts';
import type { Channel } from './netio.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function installChannelAdopt(kernel: Kernel): void {
  kernel.registerService('net_channel_adopt', (t, req) => {
    const fail = (kr: number) => ({ kr, address: 0, sem: 0 });
    const r = kernel.lookupKernelObject<Channel>(t.task, req.channel, 'netio-channel');
    if (!r.ok) return fail(r.kr);
    const ch = r.object as Mutable<Channel>;
    if (ch.closed) return fail(KERN.INVALID_CAPABILITY);
    if (ch.owner === t.task) return { kr: KERN.SUCCESS, address: ch.address, sem: ch.semName };
    const m = kernel.mapObject(t.task, ch.object);
    if (m.kr !== KERN.SUCCESS) return fail(m.kr);
    const sem: Semaphore = kernel.createSemaphore(0);
    const s = kernel.insertSendRight(t.task, sem.port!);
    if (s.kr !== KERN.SUCCESS) {
      kernel.unmapObject(t.task, m.address, ch.phys.length);
      sem.destroy();
      return fail(s.kr);
    }
    kernel.unmapObject(ch.owner, ch.address, ch.phys.length);
    ch.sem.destroy();
    ch.owner = t.task;
    ch.address = m.address;
    ch.sem = sem;
    ch.semName = s.name;
    if (kernel.host.trace.on) kernel.host.trace.record(`${kernel.host.name}.netio`, 'netio.adopt', ch.id, ch.bqi, `owner=${t.task.id}`);
    return { kr: KERN.SUCCESS, address: m.address, sem: s.name };
  });
}
