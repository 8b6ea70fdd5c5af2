/**
 * A memory object: a list of RAM frames that several task maps (and devices, when wired) share.
 * Created by a task (memory_object_create, named by a send right and released when the last
 * send right goes) or by a kernel module (a wired packet region: the module holds it and frees
 * it explicitly). The object holds one reference per frame; each mapping holds its own, so
 * freeing the object never pulls a page out from under a task that still maps it.
 */
import type { KObject, Port } from '../ipc/ipc.ts';
import { PAGE_SIZE, type FrameAllocator } from './frames.ts';
import type { VmMap } from './vm-map.ts';

export class MemoryObject implements KObject {
  readonly kind = 'memory-object';
  port: Port | undefined = undefined;
  freed = false;
  /** Maps this object was mapped into (kernel.mapObject, vm_map): where `kernel.revokeObject` looks. */
  readonly mappedInto = new Set<VmMap>();
  /**
   * What the last send right's going does. Default: free the object (a task-created object lives
   * while someone can name it). A module that names its object (a network I/O channel's region)
   * installs its own: for a region, the channel closes.
   */
  onLastSender: (() => void) | undefined = undefined;

  constructor(
    readonly id: number,
    public frames: number[],
    /** Wired objects' frames are pinned for DMA for the object's life. */
    readonly wired: boolean,
    private readonly allocator: FrameAllocator,
    /** Installed by the kernel: drop the object's port when it is freed. */
    private readonly onFree: (o: MemoryObject) => void,
  ) {}

  get size(): number {
    return this.frames.length * PAGE_SIZE;
  }

  /** Physical address of each page. */
  get physAddrs(): number[] {
    return this.frames.map((f) => f * PAGE_SIZE);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const f of this.frames) this.allocator.unref(f);
    this.frames = [];
    this.onFree(this);
  }

  onNoSenders(): void {
    if (this.onLastSender !== undefined) this.onLastSender();
    else this.free();
  }
}
