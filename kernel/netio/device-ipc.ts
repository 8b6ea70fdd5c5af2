/**
 * The device path by Mach IPC (an option beside the default channel): the organization the
 * paper's registry server used (P Table 4 item 1, "using Mach IPC to device"; MB92 §2: frames in
 * from the packet filter as messages, out by a message to the device, device_write).
 *
 * `net_device_open({ priv, link, port })`, for a holder of the module's privileged port:
 * - inbound: the link's default traffic (frames no channel's key matches, SYNs, ARP; on AN1 the
 *   frames of BQI 0) is no longer copied into the default channel's ring but sent, one frame a
 *   message (NETIO_DEVICE_MSG.FRAME_IN, the frame as one inline item), to `port` — the caller
 *   names a receive right (the kernel makes a send right, MAKE_SEND) or a send right (copied).
 *   The message is built and queued at interrupt level: `kernel.msgSendCycles` plus the copy of
 *   the frame into it (Ethernet: the PIO out of the LANCE buffer, which the driver charges; AN1:
 *   `cpu.memcpy*` out of the BQI 0 buffer, as the default channel's copy). The receiver pays the
 *   receive half and the copyout of the inline data in mach_msg (kernel/ipc). A full queue drops
 *   the frame and counts it (`stats.rxDropQueueFull`; in the module's accounting: rxDropRingFull).
 * - outbound: the caller gets a send right to a kernel "device" object; each message sent to it
 *   (NETIO_DEVICE_MSG.FRAME_OUT, exactly one inline item of LINK_FRAME_MIN..MAX bytes) is
 *   transmitted on the link as it is — no template (the registry's default channel is
 *   template-free too). Charged: mach_msg's send half and the copy of the inline data into the
 *   kernel (kernel/ipc; on AN1 that copy is the one into the wired transmit page), then the
 *   driver's output path (the module's kernel-frame transmit: LANCE PIO + driver, or an AN1
 *   descriptor). A malformed message gets MACH_SEND_INVALID_DATA, a full device
 *   MACH_SEND_NO_BUFFER (try again: the frame did not leave); nothing leaves on either.
 *
 * Lifetime: one device per link. It closes when the port it delivers to dies (its receive right
 * destroyed: the holder's death included), when the last send right to the device goes
 * (no-senders), or at a new open after either; inbound traffic then returns to the default
 * channel, if there is one, else it is dropped and counted as before.
 */
import { KERN, MACH_MSG } from '../abi/errors.ts';
import { NETIO_DEVICE_MSG, NETIO_ERR, NETIO_LINK } from '../abi/netio.ts';
import type { SyscallArgs, SyscallResults } from '../abi/syscalls.ts';
import { assert } from '../../emulator/sim/assert.ts';
import type { KMsg, KObject, Port } from '../ipc/ipc.ts';
import type { Kernel, Thread } from '../kernel.ts';

type Link = 'ethernet' | 'an1';

/** What the device path needs of the module (kernel/netio/netio.ts provides it). */
export interface DeviceIpcHost {
  hasDevice(link: Link): boolean;
  /** Frame sizes the link accepts (destination address .. end of data). */
  frameMin(link: Link): number;
  frameMax(link: Link): number;
  /** Transmit a frame held in kernel memory: 'sent', or 'full' (no room now; nothing left). */
  transmitKernelFrame(link: Link, frame: Uint8Array): 'sent' | 'full';
}

export interface DeviceIpcStats {
  opened: number;
  closed: number;
  /** Frames sent as messages to the open port, and frames dropped on its full queue. */
  rxMessages: number;
  rxDropQueueFull: number;
  /** Frame messages transmitted, refused as malformed, refused because the device was full. */
  txMessages: number;
  txRefusedMalformed: number;
  txRefusedNoRoom: number;
}

/** The kernel object behind the send right net_device_open returns. */
export class NetDevice implements KObject {
  readonly kind = 'netio-device';
  port: Port | undefined = undefined;
  closed = false;

  constructor(
    readonly link: Link,
    /** The port frames are delivered to; the kernel holds one counted send right to it. */
    readonly rxPort: Port,
    private readonly owner: DeviceIpc,
  ) {}

  onMessage(kmsg: KMsg): number {
    return this.owner.transmit(this, kmsg);
  }
  onNoSenders(): void {
    this.owner.close(this, 'no senders');
  }
}

export class DeviceIpc {
  readonly stats: DeviceIpcStats = { opened: 0, closed: 0, rxMessages: 0, rxDropQueueFull: 0, txMessages: 0, txRefusedMalformed: 0, txRefusedNoRoom: 0 };
  private readonly open: { ethernet: NetDevice | undefined; an1: NetDevice | undefined } = { ethernet: undefined, an1: undefined };

  constructor(
    private readonly kernel: Kernel,
    private readonly host: DeviceIpcHost,
  ) {
    kernel.registerService('net_device_open', (th, req) => this.svcOpen(th, req));
  }

  /** The open device of `link` whose port still lives (a dead port closes it here), if any. */
  receiver(link: Link): NetDevice | undefined {
    const d = this.open[link];
    if (d === undefined) return undefined;
    if (d.rxPort.dead) {
      this.close(d, 'port died');
      return undefined;
    }
    return d;
  }

  /**
   * Send `frame` (a fresh buffer the message keeps) to the device's port, at interrupt level:
   * the send half here, the copy charged by the caller. False when the queue was full (dropped).
   */
  deliver(d: NetDevice, frame: Uint8Array): boolean {
    assert(!d.closed && !d.rxPort.dead, 'device-ipc: delivery to a closed device');
    const ipc = this.kernel.ipc;
    this.kernel.host.cpu.charge(this.kernel.costs.msgSendCycles, 'ipc');
    ipc.copySend(d.rxPort); // the message's destination right (consumed when it is dequeued)
    const ok = ipc.kernelSend({ kind: 'send', port: d.rxPort }, NETIO_DEVICE_MSG.FRAME_IN, [{ type: 'inline', data: frame }]);
    if (ok) this.stats.rxMessages++;
    else this.stats.rxDropQueueFull++;
    return ok;
  }

  /** A message sent to the device's port (kernel/ipc already charged the send half and the copy-in). */
  transmit(d: NetDevice, kmsg: KMsg): number {
    const first = kmsg.items[0];
    let kr: number = MACH_MSG.SUCCESS;
    if (d.closed) kr = MACH_MSG.SEND_INVALID_DEST;
    else if (kmsg.id !== NETIO_DEVICE_MSG.FRAME_OUT || kmsg.items.length !== 1 || first === undefined || first.type !== 'inline') kr = MACH_MSG.SEND_INVALID_DATA;
    else if (first.data.length < this.host.frameMin(d.link) || first.data.length > this.host.frameMax(d.link)) kr = MACH_MSG.SEND_INVALID_DATA;
    else if (this.host.transmitKernelFrame(d.link, first.data) === 'full') kr = MACH_MSG.SEND_NO_BUFFER;
    if (kr === MACH_MSG.SUCCESS) this.stats.txMessages++;
    else if (kr === MACH_MSG.SEND_NO_BUFFER) this.stats.txRefusedNoRoom++;
    else this.stats.txRefusedMalformed++;
    // Last: releasing the destination right may fire no-senders (and close the device).
    this.kernel.ipc.destroyKmsg(kmsg);
    return kr;
  }

  /** Stop delivering (traffic returns to the default channel) and kill the device's port. Idempotent. */
  close(d: NetDevice, reason: string): void {
    if (d.closed) return;
    d.closed = true;
    this.stats.closed++;
    if (this.open[d.link] === d) this.open[d.link] = undefined;
    this.kernel.ipc.releaseSend(d.rxPort);
    if (d.port !== undefined && !d.port.dead) this.kernel.destroyPort(d.port);
    const trace = this.kernel.host.trace;
    if (trace.on) trace.record(`${this.kernel.host.name}.netio`, 'netio.device.close', NETIO_LINK[d.link], 0, reason);
  }

  private svcOpen(t: Thread, req: SyscallArgs<'net_device_open'>): SyscallResults['net_device_open'] {
    const k = this.kernel;
    k.host.cpu.charge(k.costs.portOpCycles, 'netio');
    const p = k.lookupKernelObject(t.task, req.priv, 'netio-priv');
    if (!p.ok) return { kr: p.kr, name: 0 };
    const link: Link | undefined = req.link === NETIO_LINK.ethernet ? 'ethernet' : req.link === NETIO_LINK.an1 ? 'an1' : undefined;
    if (link === undefined) return { kr: KERN.INVALID_ARGUMENT, name: 0 };
    if (!this.host.hasDevice(link)) return { kr: NETIO_ERR.NO_DEVICE, name: 0 };
    const e = t.task.space.entries.get(req.port);
    if (e === undefined) return { kr: KERN.INVALID_NAME, name: 0 };
    const port = e.port;
    if (port === undefined || port.dead) return { kr: KERN.INVALID_CAPABILITY, name: 0 };
    if (e.sendRefs === 0 && !e.receive) return { kr: KERN.INVALID_RIGHT, name: 0 };
    if (port.receiver === 'kernel') return { kr: KERN.INVALID_ARGUMENT, name: 0 };
    if (this.receiver(link) !== undefined) return { kr: NETIO_ERR.KEY_IN_USE, name: 0 };
    if (e.sendRefs > 0) k.ipc.copySend(port);
    else k.ipc.makeSend(port);
    const d = new NetDevice(link, port, this);
    d.port = k.createKernelPort(d);
    const right = k.insertSendRight(t.task, d.port);
    if (right.kr !== KERN.SUCCESS) {
      k.ipc.releaseSend(port);
      d.closed = true;
      k.destroyPort(d.port);
      return { kr: right.kr, name: 0 };
    }
    this.open[link] = d;
    this.stats.opened++;
    return { kr: KERN.SUCCESS, name: right.name };
  }
}
