/**
 * The bootstrap / name service: tasks publish a send right under a service name and others look
 * it up (Mach's bootstrap server / netname service, kept in the kernel here). The registry holds
 * one counted send right per service; a dead port's entry is dropped lazily at look-up and when
 * the registry is full. Names are first come, first served; re-registering a live name fails.
 */
import { BOOTSTRAP, KERN } from './abi/errors.ts';
import type { Ipc, Port } from './ipc/ipc.ts';

export const BOOTSTRAP_SERVICES_MAX = 256;

export class BootstrapRegistry {
  private readonly services = new Map<string, Port>();

  constructor(private readonly ipc: Ipc) {}

  /** Publish `port` (the caller supplies a counted send right the registry now owns). */
  register(service: string, port: Port): number {
    const old = this.services.get(service);
    if (old !== undefined && !old.dead) {
      this.ipc.releaseSend(port);
      return BOOTSTRAP.NAME_IN_USE;
    }
    if (old !== undefined) this.services.delete(service);
    if (this.services.size >= BOOTSTRAP_SERVICES_MAX) this.sweep();
    if (this.services.size >= BOOTSTRAP_SERVICES_MAX) {
      this.ipc.releaseSend(port);
      return KERN.NO_SPACE;
    }
    this.services.set(service, port);
    return KERN.SUCCESS;
  }

  /** The live port published under `service`, or undefined. */
  lookUp(service: string): Port | undefined {
    const p = this.services.get(service);
    if (p === undefined) return undefined;
    if (p.dead) {
      this.services.delete(service);
      return undefined;
    }
    return p;
  }

  private sweep(): void {
    for (const [name, p] of [...this.services]) if (p.dead) this.services.delete(name);
  }
}
