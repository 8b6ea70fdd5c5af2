/**
 * What a device driver gets from the kernel: its machine (bus, CPU, costs, trace, clock), a way to
 * hook its interrupt, and a way to run kernel work at interrupt level. Drivers know their device
 * only as registers and memory layout (their own constants), never the model's code.
 */
import type { HostPort } from '../../emulator/bus/index.ts';

export interface DriverEnv {
  readonly host: HostPort;
  /**
   * Attach `handler` to KN02 I/O interrupt bit `bit` (= TURBOchannel slot) and enable it. A
   * handler that reads its device is a generator (kernel/dev/sync.ts).
   */
  registerInterrupt(bit: number, handler: () => unknown): void;
  /** Run kernel code at interrupt level as soon as the CPU can (a software interrupt; may be a generator). */
  postKernelWork(work: () => unknown): void;
}
