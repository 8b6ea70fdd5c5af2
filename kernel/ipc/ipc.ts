/**
 * Ports, rights, name spaces and mach_msg (../shared/kernel/mach-semantics.md §2–§4).
 *
 * A Port is a kernel-protected queue with one receiver (a task's Space, the kernel itself for a
 * kernel-object port, or nobody while its receive right travels in a message). Tasks name rights
 * through Entries in their own Space: one entry per port for send + receive rights (user
 * references counted), one entry per send-once right, dead names where a port died. A name means
 * nothing in another space; rights enter a space only by creation or by a message.
 *
 * Right accounting, the invariant every operation keeps (checked by the model-based tests):
 *   port.srights  = spaces holding send urefs for the port + send rights carried in messages +
 *                   send rights the kernel holds (bootstrap registry, exception ports);
 *   port.sorights = send-once rights anywhere (entries, messages, kernel notification requests).
 * No-senders fires when srights falls to 0; a send-once right destroyed unused yields a
 * send-once notification; a port's death turns its send/send-once names into dead names and fires
 * dead-name requests.
 *
 * Modelling choices: a message's rights are copied in atomically (everything is validated before
 * anything moves); a sender blocked on a full queue retries its whole trap when room appears, so
 * on timeout nothing has moved (Mach pseudo-receives the message back: same effect); messages
 * carried by a receive right in transit to its own port are not garbage-collected (bounded by
 * PORTS_MAX / KMSGS_MAX). Out-of-line memory is copied into fresh frames at send time (charged as
 * a copy; Mach defers it by copy-on-write) and mapped into the receiver at receive time.
 */
import { assert, bug } from '../../emulator/sim/assert.ts';
import { KERN, MACH_MSG, MACH_MSG_ERR } from '../abi/errors.ts';
import {
  MACH_MSG_OPTION,
  MACH_PORT_DEAD,
  MACH_PORT_NULL,
  MSG_ITEMS_MAX,
  MSG_OOL_BYTES_MAX,
  MSG_SIZE_MAX,
  MSG_TYPE,
  MSGH_BITS_COMPLEX,
  NOTIFY,
  PORT_RIGHT,
  PORT_TYPE,
  QLIMIT_DEFAULT,
  QLIMIT_MAX,
  UREFS_MAX,
  VM_PROT,
  messageSize,
  type MachMsg,
  type MsgItem,
  type ReceivedItem,
  type ReceivedMsg,
} from '../abi/message.ts';
import type { SyscallResults } from '../abi/syscalls.ts';
import type { Task, Thread } from '../task.ts';
import { PAGE_SIZE, type FrameAllocator } from '../vm/frames.ts';

/** Names per space, live ports, queued kernel messages (a limit on everything). */
export const NAMES_MAX = 4096;
export const PORTS_MAX = 65_536;
export const KMSGS_MAX = 16_384;
export const PORT_SET_MEMBERS_MAX = 1024;
export const RECEIVERS_WAITING_MAX = 256;
export const SENDERS_WAITING_MAX = 256;

/** Something the kernel implements behind a port it receives on (task, semaphore, memory object, channel…). */
export interface KObject {
  readonly kind: string;
  /** A message sent to the object's port; the object takes it (and must destroy it). Returns a mach_msg code. */
  onMessage?(kmsg: KMsg): number;
  /** The last send right to the object's port is gone. */
  onNoSenders?(): void;
  /** The object's port was destroyed. */
  onPortDestroyed?(): void;
}

export type Receiver = Space | 'kernel' | undefined;

export class Port {
  receiver: Receiver;
  dead = false;
  readonly queue: KMsg[] = [];
  qlimit = QLIMIT_DEFAULT;
  seqno = 0;
  mscount = 0;
  srights = 0;
  sorights = 0;
  set: PortSet | undefined = undefined;
  /** Entries (in any space) that name this port. */
  readonly entries = new Set<Entry>();
  readonly receivers: RcvWaiter[] = [];
  readonly senders: Thread[] = [];
  nsRequest: { notify: Port; sync: number } | undefined = undefined;
  pdRequest: Port | undefined = undefined;

  constructor(
    readonly id: number,
    receiver: Receiver,
    readonly kobject: KObject | undefined,
  ) {
    this.receiver = receiver;
  }
}

export class PortSet {
  readonly members = new Set<Port>();
  readonly receivers: RcvWaiter[] = [];
  dead = false;
  constructor(readonly id: number) {}
}

export class Entry {
  port: Port | undefined = undefined;
  pset: PortSet | undefined = undefined;
  receive = false;
  sendRefs = 0;
  sendOnce = false;
  deadRefs = 0;
  /** Send-once right (to the notify port) for a dead-name request. */
  dnRequest: Port | undefined = undefined;
  constructor(
    readonly name: number,
    readonly space: Space,
  ) {}

  get type(): number {
    let t = 0;
    if (this.sendRefs > 0) t |= PORT_TYPE.SEND;
    if (this.receive) t |= PORT_TYPE.RECEIVE;
    if (this.sendOnce) t |= PORT_TYPE.SEND_ONCE;
    if (this.pset !== undefined) t |= PORT_TYPE.PORT_SET;
    if (this.deadRefs > 0) t |= PORT_TYPE.DEAD_NAME;
    if (this.dnRequest !== undefined) t |= PORT_TYPE.DNREQUEST;
    return t >>> 0;
  }

  get empty(): boolean {
    return !this.receive && this.sendRefs === 0 && !this.sendOnce && this.deadRefs === 0 && this.pset === undefined;
  }
}

/** A task's port name space: name = (table index << 8) | generation (OM ipc_entry.h). */
export class Space {
  readonly entries = new Map<number, Entry>();
  readonly byPort = new Map<Port, Entry>();
  private readonly freeIndices: number[] = [];
  private freeHead = 0;
  private nextIndex = 1;
  private readonly generations = new Uint8Array(NAMES_MAX + 1);
  alive = true;

  /** Set once, when the task is built around the space. */
  constructor(public task: Task | undefined) {}

  newEntry(): Entry | undefined {
    let index: number;
    if (this.nextIndex <= NAMES_MAX) index = this.nextIndex++;
    else if (this.freeHead < this.freeIndices.length) {
      index = this.freeIndices[this.freeHead++]!;
      if (this.freeHead > 1024 && this.freeHead * 2 > this.freeIndices.length) {
        this.freeIndices.splice(0, this.freeHead);
        this.freeHead = 0;
      }
    } else return undefined;
    const name = ((index << 8) | this.generations[index]!) >>> 0;
    const e = new Entry(name, this);
    this.entries.set(name, e);
    return e;
  }

  /** Forget an empty entry; its index is reused (FIFO, so late) with the next generation. */
  freeEntry(e: Entry): void {
    assert(this.entries.get(e.name) === e, 'freeing an entry not in its space');
    this.entries.delete(e.name);
    const index = e.name >>> 8;
    this.generations[index] = (this.generations[index]! + 1) & 0xff;
    this.freeIndices.push(index);
  }
}

export type CarriedRight = { readonly kind: 'send' | 'send-once' | 'receive'; readonly port: Port };

export type KItem =
  | { readonly type: 'inline'; readonly data: Uint8Array }
  | { readonly type: 'int32'; readonly values: readonly number[] }
  | { readonly type: 'port'; readonly disposition: number; right: CarriedRight | 'null' | 'dead' }
  | { readonly type: 'name'; readonly value: number }
  | { readonly type: 'ool'; frames: number[]; readonly size: number };

export class KMsg {
  arrival = 0;
  constructor(
    readonly id: number,
    /** The destination right the message was sent through (consumed when dequeued). */
    public dest: CarriedRight | undefined,
    public reply: CarriedRight | 'dead' | undefined,
    readonly items: KItem[],
    readonly size: number,
    /** Sending task id (0 = kernel), for traces. */
    readonly senderTask: number,
  ) {}
}

export interface RcvWaiter {
  readonly thread: Thread;
  readonly rcvSize: number;
  readonly option: number;
  readonly onMessage: (result: SyscallResults['mach_msg']) => void;
}

export interface IpcCosts {
  readonly msgSendCycles: number;
  readonly msgReceiveCycles: number;
  readonly msgRightCycles: number;
  readonly memcpySetupCycles: number;
  readonly memcpyCyclesPerByte: number;
}

export interface IpcEnv {
  charge(cycles: number, category: string): void;
  readonly frames: FrameAllocator;
  readonly costs: IpcCosts;
  trace(kind: string, a: number, b: number): void;
}

type MsgResult = SyscallResults['mach_msg'];

function isSendDisposition(d: number): boolean {
  return d === MSG_TYPE.MOVE_SEND || d === MSG_TYPE.COPY_SEND || d === MSG_TYPE.MAKE_SEND || d === MSG_TYPE.MOVE_SEND_ONCE || d === MSG_TYPE.MAKE_SEND_ONCE;
}
function isRightDisposition(d: number): boolean {
  return isSendDisposition(d) || d === MSG_TYPE.MOVE_RECEIVE;
}

/** What copying in one right would take from a name (validated before anything moves). */
interface Need {
  send: number;
  sendOnce: number;
  receive: number;
}

export class Ipc {
  private nextPortId = 1;
  portsLive = 0;
  kmsgsLive = 0;
  private arrivals = 0;

  constructor(private readonly env: IpcEnv) {}

  // ---- Ports and entries --------------------------------------------------------------------

  /** A new port received by `receiver` (a space, or 'kernel' for a kernel object), or undefined at the limit. */
  newPort(receiver: Space | 'kernel', kobject?: KObject): Port | undefined {
    if (this.portsLive >= PORTS_MAX) return undefined;
    this.portsLive++;
    return new Port(this.nextPortId++, receiver, kobject);
  }

  /** mach_port_allocate(RECEIVE) / mach_reply_port: a new port and its receive right's name. */
  allocateReceive(space: Space): { kr: number; name: number } {
    const e = space.newEntry();
    if (e === undefined) return { kr: KERN.NO_SPACE, name: 0 };
    const port = this.newPort(space);
    if (port === undefined) {
      space.freeEntry(e);
      return { kr: KERN.RESOURCE_SHORTAGE, name: 0 };
    }
    e.port = port;
    e.receive = true;
    port.entries.add(e);
    space.byPort.set(port, e);
    return { kr: KERN.SUCCESS, name: e.name };
  }

  allocatePortSet(space: Space): { kr: number; name: number } {
    const e = space.newEntry();
    if (e === undefined) return { kr: KERN.NO_SPACE, name: 0 };
    e.pset = new PortSet(this.nextPortId++);
    return { kr: KERN.SUCCESS, name: e.name };
  }

  allocateDeadName(space: Space): { kr: number; name: number } {
    const e = space.newEntry();
    if (e === undefined) return { kr: KERN.NO_SPACE, name: 0 };
    e.deadRefs = 1;
    return { kr: KERN.SUCCESS, name: e.name };
  }

  /** Make a new send right to `port` held by the kernel (or about to be carried); counts it. */
  makeSend(port: Port): void {
    if (port.dead) return;
    port.srights++;
    port.mscount++;
  }
  /** A copy of a send right (COPY_SEND, kernel-held copies). */
  copySend(port: Port): void {
    if (!port.dead) port.srights++;
  }
  makeSendOnce(port: Port): void {
    if (!port.dead) port.sorights++;
  }

  /** Drop one counted send right; may fire no-senders. */
  releaseSend(port: Port): void {
    if (port.dead) return;
    if (!(port.srights > 0)) bug(`port ${port.id}: send right count underflow`);
    port.srights--;
    if (port.srights === 0) this.noSenders(port);
  }

  /** Destroy a send-once right unused: the port gets a send-once notification. */
  releaseSendOnce(port: Port): void {
    if (port.dead) return;
    if (!(port.sorights > 0)) bug(`port ${port.id}: send-once right count underflow`);
    this.kernelSend({ kind: 'send-once', port }, NOTIFY.SEND_ONCE, []);
  }

  private noSenders(port: Port): void {
    const req = port.nsRequest;
    if (req !== undefined && port.mscount >= req.sync) {
      port.nsRequest = undefined;
      this.kernelSend({ kind: 'send-once', port: req.notify }, NOTIFY.NO_SENDERS, [{ type: 'int32', values: [port.mscount] }]);
    }
    if (port.receiver === 'kernel') port.kobject?.onNoSenders?.();
  }

  /**
   * Send a kernel-made message through a counted right the kernel holds (notifications,
   * exception messages). Send-once destinations ignore the queue limit, as in Mach; a full queue
   * on a send right drops the message (the kernel never blocks). Returns false when dropped.
   */
  kernelSend(dest: CarriedRight, id: number, items: KItem[], reply?: CarriedRight): boolean {
    const kmsg = new KMsg(id, dest, reply, items, messageSize(items.map(toUserShape)), 0);
    this.kmsgsLive++;
    if (dest.port.dead || (dest.kind === 'send' && dest.port.queue.length >= dest.port.qlimit && !this.hasReceiver(dest.port))) {
      this.destroyKmsg(kmsg);
      return false;
    }
    this.deliver(kmsg, dest.port);
    return true;
  }

  /** Insert a (counted) send right into a space: merges with an existing send/receive entry. */
  copyoutSend(space: Space, port: Port): number | undefined {
    if (port.dead) return MACH_PORT_DEAD;
    const existing = space.byPort.get(port);
    if (existing !== undefined) {
      if (existing.sendRefs > 0) {
        if (existing.sendRefs >= UREFS_MAX) {
          this.releaseSend(port);
          return undefined;
        }
        existing.sendRefs++;
        port.srights--; // the space already counted once
        assert(port.srights > 0, 'merged send right left no count');
      } else existing.sendRefs = 1;
      return existing.name;
    }
    const e = space.newEntry();
    if (e === undefined) {
      this.releaseSend(port);
      return undefined;
    }
    e.port = port;
    e.sendRefs = 1;
    port.entries.add(e);
    space.byPort.set(port, e);
    return e.name;
  }

  copyoutSendOnce(space: Space, port: Port): number | undefined {
    if (port.dead) return MACH_PORT_DEAD;
    const e = space.newEntry();
    if (e === undefined) {
      this.releaseSendOnce(port);
      return undefined;
    }
    e.port = port;
    e.sendOnce = true;
    port.entries.add(e);
    return e.name;
  }

  copyoutReceive(space: Space, port: Port): number | undefined {
    assert(port.receiver === undefined && !port.dead, 'receive right copied out while held');
    const existing = space.byPort.get(port);
    let e = existing;
    if (e === undefined) {
      e = space.newEntry();
      if (e === undefined) {
        this.destroyReceive(port);
        return undefined;
      }
      e.port = port;
      port.entries.add(e);
      space.byPort.set(port, e);
    }
    e.receive = true;
    port.receiver = space;
    port.mscount = 0;
    port.seqno = 0;
    return e.name;
  }

  /** Free an entry that has become empty; a dead-name request on it yields port-deleted. */
  private maybeFree(e: Entry): void {
    // Releasing a right can run a kernel object's no-senders hook, which may already have
    // destroyed the port and freed this entry: then there is nothing left to do.
    if (!e.empty || e.space.entries.get(e.name) !== e) return;
    if (e.port !== undefined) {
      e.port.entries.delete(e);
      if (e.space.byPort.get(e.port) === e) e.space.byPort.delete(e.port);
      e.port = undefined;
    }
    const req = e.dnRequest;
    e.dnRequest = undefined;
    e.space.freeEntry(e);
    if (req !== undefined) this.kernelSend({ kind: 'send-once', port: req }, NOTIFY.PORT_DELETED, [{ type: 'name', value: e.name }]);
  }

  /** Remove the send/send-once/receive rights an entry holds for its port (not dead names). */
  private dropSend(e: Entry): void {
    if (e.sendRefs > 0 && e.port !== undefined) {
      e.sendRefs = 0;
      this.releaseSend(e.port);
    }
  }

  // ---- Port death ---------------------------------------------------------------------------

  /** A receive right is being destroyed: port-destroyed notification if requested, else the port dies. */
  destroyReceive(port: Port): void {
    if (port.dead) return;
    const recv = port.receiver;
    if (recv instanceof Space) {
      const e = recv.byPort.get(port);
      if (e !== undefined) e.receive = false;
    }
    this.leaveReceiver(port);
    const backup = port.pdRequest;
    if (backup !== undefined && !backup.dead && backup !== port) {
      port.pdRequest = undefined;
      port.receiver = undefined;
      this.kernelSend({ kind: 'send-once', port: backup }, NOTIFY.PORT_DESTROYED, [
        { type: 'port', disposition: MSG_TYPE.MOVE_RECEIVE, right: { kind: 'receive', port } },
      ]);
      if (recv instanceof Space) {
        const e = recv.byPort.get(port);
        if (e !== undefined) this.maybeFree(e);
      }
      return;
    }
    this.killPort(port);
  }

  /** The receive right leaves its holder: receivers waiting on it learn it; it leaves its set. */
  private leaveReceiver(port: Port): void {
    if (port.set !== undefined) {
      port.set.members.delete(port);
      port.set = undefined;
    }
    for (const w of port.receivers.splice(0)) w.onMessage({ kr: MACH_MSG.RCV_PORT_DIED });
  }

  private killPort(port: Port): void {
    port.dead = true;
    port.receiver = undefined;
    this.portsLive--;
    this.leaveReceiver(port);
    for (const k of port.queue.splice(0)) this.destroyKmsg(k);
    for (const t of port.senders.splice(0)) {
      t.waitCancel = undefined;
      this.senderWake(t, { kr: MACH_MSG.SEND_INVALID_DEST });
    }
    if (port.nsRequest !== undefined) {
      const n = port.nsRequest.notify;
      port.nsRequest = undefined;
      this.releaseSendOnce(n);
    }
    if (port.pdRequest !== undefined) {
      const n = port.pdRequest;
      port.pdRequest = undefined;
      this.releaseSendOnce(n);
    }
    port.srights = 0;
    port.sorights = 0;
    const fire: Entry[] = [];
    for (const e of [...port.entries]) {
      port.entries.delete(e);
      if (e.space.byPort.get(port) === e) e.space.byPort.delete(port);
      e.port = undefined;
      e.receive = false;
      const refs = e.sendRefs + (e.sendOnce ? 1 : 0);
      e.sendRefs = 0;
      e.sendOnce = false;
      if (refs > 0) {
        e.deadRefs += refs;
        if (e.dnRequest !== undefined) fire.push(e);
      } else this.maybeFree(e);
    }
    for (const e of fire) {
      const req = e.dnRequest!;
      e.dnRequest = undefined;
      if (e.deadRefs < UREFS_MAX) e.deadRefs++;
      this.kernelSend({ kind: 'send-once', port: req }, NOTIFY.DEAD_NAME, [{ type: 'name', value: e.name }]);
    }
    if (port.kobject !== undefined) port.kobject.onPortDestroyed?.();
    this.env.trace('port.dead', port.id, 0);
  }

  /** Destroy a kernel-object port now (its send rights become dead names, dead-name requests fire). */
  destroyKernelPort(port: Port): void {
    assert(port.receiver === 'kernel' || port.dead, 'destroyKernelPort on a task-received port');
    if (!port.dead) this.killPort(port);
  }

  /** Release every right a message carries and the memory it holds. */
  destroyKmsg(k: KMsg): void {
    this.kmsgsLive--;
    const dest = k.dest;
    k.dest = undefined;
    if (dest !== undefined) this.releaseCarried(dest, true);
    const reply = k.reply;
    k.reply = undefined;
    if (reply !== undefined && reply !== 'dead') this.releaseCarried(reply, false);
    for (const it of k.items) {
      if (it.type === 'port') {
        const r = it.right;
        it.right = 'null';
        if (r !== 'null' && r !== 'dead') this.releaseCarried(r, false);
      } else if (it.type === 'ool') {
        for (const f of it.frames) this.env.frames.unref(f);
        it.frames = [];
      }
    }
  }

  /**
   * Release a carried right. A send-once destination right is consumed by delivery (no
   * notification); any other unused send-once right yields a send-once notification.
   */
  private releaseCarried(r: CarriedRight, consumedAsDest: boolean): void {
    switch (r.kind) {
      case 'send':
        this.releaseSend(r.port);
        break;
      case 'send-once':
        if (consumedAsDest) {
          if (!r.port.dead) r.port.sorights--;
        } else this.releaseSendOnce(r.port);
        break;
      case 'receive':
        this.destroyReceive(r.port);
        break;
    }
  }

  // ---- Port operations (mach_port_*) --------------------------------------------------------

  deallocate(space: Space, name: number): number {
    const e = space.entries.get(name);
    if (e === undefined) return KERN.INVALID_NAME;
    if (e.sendRefs > 0) {
      e.sendRefs--;
      if (e.sendRefs === 0) this.releaseSend(e.port!);
    } else if (e.sendOnce) {
      e.sendOnce = false;
      this.releaseSendOnce(e.port!);
    } else if (e.deadRefs > 0) e.deadRefs--;
    else return KERN.INVALID_RIGHT;
    this.maybeFree(e);
    return KERN.SUCCESS;
  }

  destroyName(space: Space, name: number): number {
    const e = space.entries.get(name);
    if (e === undefined) return KERN.INVALID_NAME;
    this.destroyEntry(e);
    return KERN.SUCCESS;
  }

  private destroyEntry(e: Entry): void {
    const port = e.port;
    if (e.pset !== undefined) this.destroySet(e.pset);
    e.pset = undefined;
    if (port !== undefined) {
      this.dropSend(e);
      if (e.sendOnce) {
        e.sendOnce = false;
        this.releaseSendOnce(port);
      }
      if (e.receive) {
        e.receive = false;
        this.destroyReceive(port);
      }
    }
    // The port's death may already have freed or re-shaped the entry.
    if (e.space.entries.get(e.name) !== e) return;
    e.deadRefs = 0;
    e.receive = false;
    e.sendRefs = 0;
    e.sendOnce = false;
    this.maybeFree(e);
  }

  private destroySet(s: PortSet): void {
    s.dead = true;
    for (const p of s.members) p.set = undefined;
    s.members.clear();
    for (const w of s.receivers.splice(0)) w.onMessage({ kr: MACH_MSG.RCV_PORT_DIED });
  }

  modRefs(space: Space, name: number, right: number, delta: number): number {
    const e = space.entries.get(name);
    if (e === undefined) return KERN.INVALID_NAME;
    switch (right) {
      case PORT_RIGHT.SEND: {
        if (e.sendRefs === 0) return KERN.INVALID_RIGHT;
        const n = e.sendRefs + delta;
        if (n < 0) return KERN.INVALID_VALUE;
        if (n > UREFS_MAX) return KERN.UREFS_OVERFLOW;
        e.sendRefs = n;
        if (n === 0) this.releaseSend(e.port!);
        break;
      }
      case PORT_RIGHT.RECEIVE:
        if (!e.receive) return KERN.INVALID_RIGHT;
        if (delta > 0 || delta < -1) return KERN.INVALID_VALUE;
        if (delta === -1) {
          e.receive = false;
          this.destroyReceive(e.port!);
        }
        break;
      case PORT_RIGHT.SEND_ONCE:
        if (!e.sendOnce) return KERN.INVALID_RIGHT;
        if (delta > 0 || delta < -1) return KERN.INVALID_VALUE;
        if (delta === -1) {
          e.sendOnce = false;
          this.releaseSendOnce(e.port!);
        }
        break;
      case PORT_RIGHT.PORT_SET:
        if (e.pset === undefined) return KERN.INVALID_RIGHT;
        if (delta > 0 || delta < -1) return KERN.INVALID_VALUE;
        if (delta === -1) {
          this.destroySet(e.pset);
          e.pset = undefined;
        }
        break;
      case PORT_RIGHT.DEAD_NAME: {
        if (e.deadRefs === 0) return KERN.INVALID_RIGHT;
        const n = e.deadRefs + delta;
        if (n < 0) return KERN.INVALID_VALUE;
        if (n > UREFS_MAX) return KERN.UREFS_OVERFLOW;
        e.deadRefs = n;
        break;
      }
      default:
        return KERN.INVALID_VALUE;
    }
    if (space.entries.get(name) === e) this.maybeFree(e);
    return KERN.SUCCESS;
  }

  getRefs(space: Space, name: number, right: number): { kr: number; refs: number } {
    const e = space.entries.get(name);
    if (e === undefined) return { kr: KERN.INVALID_NAME, refs: 0 };
    switch (right) {
      case PORT_RIGHT.SEND:
        return { kr: KERN.SUCCESS, refs: e.sendRefs };
      case PORT_RIGHT.RECEIVE:
        return { kr: KERN.SUCCESS, refs: e.receive ? 1 : 0 };
      case PORT_RIGHT.SEND_ONCE:
        return { kr: KERN.SUCCESS, refs: e.sendOnce ? 1 : 0 };
      case PORT_RIGHT.PORT_SET:
        return { kr: KERN.SUCCESS, refs: e.pset !== undefined ? 1 : 0 };
      case PORT_RIGHT.DEAD_NAME:
        return { kr: KERN.SUCCESS, refs: e.deadRefs };
      default:
        return { kr: KERN.INVALID_VALUE, refs: 0 };
    }
  }

  /** mach_port_insert_right on the caller's own receive right (MAKE_SEND under the same name, or MAKE_SEND_ONCE). */
  insertRight(space: Space, name: number, disposition: number): { kr: number; name: number } {
    const e = space.entries.get(name);
    if (e === undefined) return { kr: KERN.INVALID_NAME, name: 0 };
    if (!e.receive || e.port === undefined) return { kr: KERN.INVALID_RIGHT, name: 0 };
    const port = e.port;
    if (disposition === MSG_TYPE.MAKE_SEND) {
      if (e.sendRefs >= UREFS_MAX) return { kr: KERN.UREFS_OVERFLOW, name: 0 };
      port.mscount++;
      if (e.sendRefs === 0) port.srights++;
      e.sendRefs++;
      return { kr: KERN.SUCCESS, name };
    }
    if (disposition === MSG_TYPE.MAKE_SEND_ONCE) {
      this.makeSendOnce(port);
      const n = this.copyoutSendOnce(space, port);
      return n === undefined ? { kr: KERN.NO_SPACE, name: 0 } : { kr: KERN.SUCCESS, name: n };
    }
    return { kr: KERN.INVALID_VALUE, name: 0 };
  }

  moveMember(space: Space, member: number, after: number): number {
    const e = space.entries.get(member);
    if (e === undefined) return KERN.INVALID_NAME;
    if (!e.receive || e.port === undefined) return KERN.INVALID_RIGHT;
    const port = e.port;
    let target: PortSet | undefined;
    if (after !== MACH_PORT_NULL) {
      const s = space.entries.get(after);
      if (s === undefined) return KERN.INVALID_NAME;
      if (s.pset === undefined) return KERN.INVALID_RIGHT;
      target = s.pset;
      if (target.members.size >= PORT_SET_MEMBERS_MAX && port.set !== target) return KERN.NO_SPACE;
    } else if (port.set === undefined) return KERN.NOT_IN_SET;
    if (port.set !== undefined) port.set.members.delete(port);
    port.set = target;
    // Threads receiving on the port itself now get RCV_PORT_CHANGED.
    for (const w of port.receivers.splice(0)) w.onMessage({ kr: MACH_MSG.RCV_PORT_CHANGED });
    if (target !== undefined) {
      target.members.add(port);
      // Messages already queued become visible to the set's receivers.
      while (port.queue.length > 0 && target.receivers.length > 0) this.handOff(port, target.receivers.shift()!);
    }
    return KERN.SUCCESS;
  }

  setQlimit(space: Space, name: number, qlimit: number): number {
    const e = space.entries.get(name);
    if (e === undefined) return KERN.INVALID_NAME;
    if (!e.receive || e.port === undefined) return KERN.INVALID_RIGHT;
    if (qlimit < 1 || qlimit > QLIMIT_MAX) return KERN.INVALID_VALUE;
    e.port.qlimit = qlimit;
    this.wakeSenders(e.port);
    return KERN.SUCCESS;
  }

  /** mach_port_request_notification: variants DEAD_NAME, NO_SENDERS, PORT_DESTROYED. */
  requestNotification(space: Space, name: number, variant: number, sync: number, notify: number, disposition: number): { kr: number; previous: number } {
    const e = space.entries.get(name);
    if (e === undefined) return { kr: KERN.INVALID_NAME, previous: 0 };
    let notifyPort: Port | undefined;
    if (notify !== MACH_PORT_NULL) {
      const n = space.entries.get(notify);
      if (n === undefined) return { kr: KERN.INVALID_NAME, previous: 0 };
      if (disposition === MSG_TYPE.MAKE_SEND_ONCE) {
        if (!n.receive || n.port === undefined) return { kr: KERN.INVALID_RIGHT, previous: 0 };
      } else if (disposition === MSG_TYPE.MOVE_SEND_ONCE) {
        if (!n.sendOnce || n.port === undefined) return { kr: KERN.INVALID_RIGHT, previous: 0 };
      } else return { kr: KERN.INVALID_VALUE, previous: 0 };
      notifyPort = n.port;
    }
    // Check the target before moving the notify right.
    switch (variant) {
      case NOTIFY.DEAD_NAME:
        if (e.port === undefined && e.deadRefs === 0) return { kr: KERN.INVALID_RIGHT, previous: 0 };
        if (e.port === undefined && notifyPort !== undefined) {
          // Already dead: the notification is sent at once (GM).
          this.takeNotifyRight(space, notify, disposition);
          if (e.deadRefs < UREFS_MAX) e.deadRefs++;
          this.kernelSend({ kind: 'send-once', port: notifyPort }, NOTIFY.DEAD_NAME, [{ type: 'name', value: e.name }]);
          return { kr: KERN.SUCCESS, previous: 0 };
        }
        break;
      case NOTIFY.NO_SENDERS:
      case NOTIFY.PORT_DESTROYED:
        if (!e.receive || e.port === undefined) return { kr: KERN.INVALID_RIGHT, previous: 0 };
        if (variant === NOTIFY.PORT_DESTROYED && sync !== 0) return { kr: KERN.INVALID_VALUE, previous: 0 };
        break;
      default:
        return { kr: KERN.INVALID_VALUE, previous: 0 };
    }
    if (notifyPort !== undefined) this.takeNotifyRight(space, notify, disposition);
    let previous: Port | undefined;
    const port = e.port!;
    if (variant === NOTIFY.DEAD_NAME) {
      previous = e.dnRequest;
      e.dnRequest = notifyPort;
    } else if (variant === NOTIFY.NO_SENDERS) {
      previous = port.nsRequest?.notify;
      port.nsRequest = notifyPort === undefined ? undefined : { notify: notifyPort, sync };
      if (port.nsRequest !== undefined && port.srights === 0 && port.mscount >= sync) this.noSenders(port);
    } else {
      previous = port.pdRequest;
      port.pdRequest = notifyPort;
    }
    let previousName = MACH_PORT_NULL;
    if (previous !== undefined) previousName = this.copyoutSendOnce(space, previous) ?? MACH_PORT_NULL;
    return { kr: KERN.SUCCESS, previous: previousName };
  }

  /** Take the send-once right for a notification request from the caller's entry (counted). */
  private takeNotifyRight(space: Space, notify: number, disposition: number): void {
    const n = space.entries.get(notify)!;
    if (disposition === MSG_TYPE.MAKE_SEND_ONCE) this.makeSendOnce(n.port!);
    else {
      n.sendOnce = false;
      this.maybeFree(n);
    }
  }

  /** Release every right of a dying space. */
  destroySpace(space: Space): void {
    space.alive = false;
    // Receive rights first, so that the space's own send rights to them just become dead names.
    for (const e of [...space.entries.values()]) if (e.receive) this.destroyEntryIfLive(e);
    for (const e of [...space.entries.values()]) this.destroyEntryIfLive(e);
    assert(space.entries.size === 0, 'space not empty after destruction');
  }

  private destroyEntryIfLive(e: Entry): void {
    if (e.space.entries.get(e.name) !== e) return;
    // A dead-name request would send port-deleted to a port the space may itself hold: harmless.
    this.destroyEntry(e);
  }

  // ---- mach_msg ------------------------------------------------------------------------------

  private hasReceiver(port: Port): boolean {
    return port.receivers.length > 0 || (port.set !== undefined && port.set.receivers.length > 0);
  }

  /**
   * The send half of mach_msg. Returns a code, or 'full' when the destination queue is full and
   * the caller should block (nothing has moved then).
   */
  send(task: Task, msg: unknown): number | 'full' {
    const space = task.space;
    const c = this.env.costs;
    this.env.charge(c.msgSendCycles, 'ipc');
    const m = snapshotMessage(msg);
    if (typeof m === 'number') return m;
    const bits = m.bits;
    const remote = m.remote;
    const local = m.local;
    const id = m.id;
    if (!isU32(bits) || !isU32(remote) || !isU32(local) || !Number.isInteger(id) || Math.abs(id as number) > 0x7fff_ffff) return MACH_MSG.SEND_INVALID_HEADER;
    if ((bits & ~(MSGH_BITS_COMPLEX | 0xffff)) !== 0) return MACH_MSG.SEND_INVALID_HEADER;
    const rd = bits & 0xff;
    const ld = (bits >>> 8) & 0xff;
    if (!isSendDisposition(rd)) return MACH_MSG.SEND_INVALID_HEADER;
    if (local !== MACH_PORT_NULL && !isSendDisposition(ld)) return MACH_MSG.SEND_INVALID_HEADER;
    const items = m.items;

    // Validate everything first: destination, reply, body rights, memory. Nothing moves yet.
    const needs = new Map<number, Need>();
    const need = (name: number): Need => {
      let n = needs.get(name);
      if (n === undefined) needs.set(name, (n = { send: 0, sendOnce: 0, receive: 0 }));
      return n;
    };
    const destEntry = space.entries.get(remote);
    if (destEntry === undefined || destEntry.port === undefined) return MACH_MSG.SEND_INVALID_DEST;
    if (!this.canSupply(destEntry, rd, need(remote))) return MACH_MSG.SEND_INVALID_DEST;
    const destPort = destEntry.port;
    if (local !== MACH_PORT_NULL) {
      const re = space.entries.get(local);
      if (re === undefined) return MACH_MSG.SEND_INVALID_REPLY;
      if (re.port === undefined) {
        if (!(re.deadRefs > 0 && (ld === MSG_TYPE.MOVE_SEND || ld === MSG_TYPE.COPY_SEND || ld === MSG_TYPE.MOVE_SEND_ONCE))) return MACH_MSG.SEND_INVALID_REPLY;
      } else if (!this.canSupply(re, ld, need(local))) return MACH_MSG.SEND_INVALID_REPLY;
    }
    let inlineBytes = 0;
    for (const raw of items as unknown[]) {
      if (typeof raw !== 'object' || raw === null) return MACH_MSG.SEND_INVALID_TYPE;
      const it = raw as Record<string, unknown>;
      switch (it['type']) {
        case 'inline':
          if (!(it['data'] instanceof Uint8Array)) return MACH_MSG.SEND_INVALID_TYPE;
          inlineBytes += it['data'].length;
          break;
        case 'int32': {
          const v = it['values'];
          if (!Array.isArray(v) || v.length > MSG_SIZE_MAX / 4 || !v.every((x) => Number.isInteger(x) && x >= -0x8000_0000 && x <= 0xffff_ffff)) return MACH_MSG.SEND_INVALID_TYPE;
          inlineBytes += 4 * v.length;
          break;
        }
        case 'port': {
          const name = it['name'];
          const d = it['disposition'];
          if (!isU32(name) || !isU32(d)) return MACH_MSG.SEND_INVALID_TYPE;
          if (d === MSG_TYPE.PORT_NAME) break;
          if (!isRightDisposition(d)) return MACH_MSG.SEND_INVALID_TYPE;
          if (name === MACH_PORT_NULL || name === MACH_PORT_DEAD) break;
          const e = space.entries.get(name);
          if (e === undefined) return MACH_MSG.SEND_INVALID_RIGHT;
          if (e.port === undefined) {
            if (e.deadRefs > 0 && (d === MSG_TYPE.MOVE_SEND || d === MSG_TYPE.COPY_SEND || d === MSG_TYPE.MOVE_SEND_ONCE)) break;
            return MACH_MSG.SEND_INVALID_RIGHT;
          }
          if (!this.canSupply(e, d, need(name))) return MACH_MSG.SEND_INVALID_RIGHT;
          break;
        }
        case 'ool': {
          const a = it['address'];
          const size = it['size'];
          if (!isU32(a) || !Number.isSafeInteger(size) || (size as number) < 0 || typeof it['deallocate'] !== 'boolean') return MACH_MSG.SEND_INVALID_TYPE;
          if ((size as number) > MSG_OOL_BYTES_MAX) return MACH_MSG.SEND_NO_BUFFER;
          if ((size as number) > 0 && task.map.framesOf(a, size as number, VM_PROT.READ) === undefined) return MACH_MSG.SEND_INVALID_MEMORY;
          break;
        }
        default:
          return MACH_MSG.SEND_INVALID_TYPE;
      }
    }
    const typedItems = items as readonly MsgItem[];
    const size = messageSize(typedItems);
    if (size > MSG_SIZE_MAX) return MACH_MSG.SEND_NO_BUFFER;
    if (this.kmsgsLive >= KMSGS_MAX) return MACH_MSG.SEND_NO_BUFFER;

    // A full queue blocks senders on send rights (send-once ignores the limit); nothing moved yet.
    const toKernel = destPort.receiver === 'kernel';
    if (!toKernel && rd !== MSG_TYPE.MOVE_SEND_ONCE && rd !== MSG_TYPE.MAKE_SEND_ONCE && destPort.queue.length >= destPort.qlimit && !this.hasReceiver(destPort)) {
      return 'full';
    }

    // Copy in: from here on the message exists.
    const dest = this.copyinRight(space, remote, rd) as CarriedRight;
    const reply = local === MACH_PORT_NULL ? undefined : this.copyinRight(space, local, ld);
    const kitems: KItem[] = [];
    for (const raw of typedItems) {
      switch (raw.type) {
        case 'inline':
          kitems.push({ type: 'inline', data: raw.data });
          break;
        case 'int32':
          kitems.push({ type: 'int32', values: raw.values.map((v) => v >>> 0) });
          break;
        case 'port':
          if (raw.disposition === MSG_TYPE.PORT_NAME) kitems.push({ type: 'name', value: raw.name });
          else if (raw.name === MACH_PORT_NULL) kitems.push({ type: 'port', disposition: raw.disposition, right: 'null' });
          else if (raw.name === MACH_PORT_DEAD) kitems.push({ type: 'port', disposition: raw.disposition, right: 'dead' });
          else {
            const r = this.copyinRight(space, raw.name, raw.disposition);
            kitems.push({ type: 'port', disposition: raw.disposition, right: r ?? 'dead' });
          }
          this.env.charge(c.msgRightCycles, 'ipc');
          break;
        case 'ool': {
          const frames = this.copyinOol(task, raw.address, raw.size);
          if (frames === undefined) {
            const k = new KMsg(id as number, dest, reply ?? undefined, kitems, size, task.id);
            this.kmsgsLive++;
            this.destroyKmsg(k);
            return MACH_MSG.SEND_NO_BUFFER;
          }
          kitems.push({ type: 'ool', frames, size: raw.size });
          if (raw.deallocate && raw.size > 0) task.map.deallocate(raw.address, raw.size);
          break;
        }
      }
    }
    if (inlineBytes > 0) this.env.charge(c.memcpySetupCycles + inlineBytes * c.memcpyCyclesPerByte, 'copy');
    const kmsg = new KMsg(id as number, dest, reply ?? undefined, kitems, size, task.id);
    this.kmsgsLive++;
    if (toKernel) {
      const handler = destPort.kobject?.onMessage;
      if (handler === undefined) {
        this.destroyKmsg(kmsg);
        return MACH_MSG.SEND_INVALID_DEST;
      }
      return handler.call(destPort.kobject, kmsg);
    }
    this.deliver(kmsg, destPort);
    return MACH_MSG.SUCCESS;
  }

  /** Can entry `e` supply disposition `d` given what earlier parts of the message already take? */
  private canSupply(e: Entry, d: number, n: Need): boolean {
    switch (d) {
      case MSG_TYPE.MOVE_SEND:
        if (e.sendRefs - n.send < 1) return false;
        n.send++;
        return true;
      case MSG_TYPE.COPY_SEND:
        return e.sendRefs - n.send >= 1;
      case MSG_TYPE.MAKE_SEND:
      case MSG_TYPE.MAKE_SEND_ONCE:
        return e.receive && n.receive === 0;
      case MSG_TYPE.MOVE_SEND_ONCE:
        if (!e.sendOnce || n.sendOnce > 0) return false;
        n.sendOnce++;
        return true;
      case MSG_TYPE.MOVE_RECEIVE:
        if (!e.receive || n.receive > 0) return false;
        n.receive++;
        return true;
      default:
        return false;
    }
  }

  /** Take one right out of a name (already validated). Dead names yield undefined (= DEAD). */
  private copyinRight(space: Space, name: number, d: number): CarriedRight | undefined {
    const e = space.entries.get(name);
    if (e === undefined) return undefined; // a dead name consumed by an earlier item

    const port = e.port;
    if (port === undefined) {
      // Moving a dead name's reference (MOVE_SEND / MOVE_SEND_ONCE) consumes it.
      if (d !== MSG_TYPE.COPY_SEND && e.deadRefs > 0) {
        e.deadRefs--;
        this.maybeFree(e);
      }
      return undefined;
    }
    switch (d) {
      case MSG_TYPE.MOVE_SEND:
        e.sendRefs--;
        if (e.sendRefs > 0) port.srights++;
        this.maybeFree(e);
        return { kind: 'send', port };
      case MSG_TYPE.COPY_SEND:
        port.srights++;
        return { kind: 'send', port };
      case MSG_TYPE.MAKE_SEND:
        port.srights++;
        port.mscount++;
        return { kind: 'send', port };
      case MSG_TYPE.MAKE_SEND_ONCE:
        port.sorights++;
        return { kind: 'send-once', port };
      case MSG_TYPE.MOVE_SEND_ONCE:
        e.sendOnce = false;
        this.maybeFree(e);
        return { kind: 'send-once', port };
      case MSG_TYPE.MOVE_RECEIVE:
        e.receive = false;
        this.leaveReceiver(port);
        port.receiver = undefined;
        if (space.byPort.get(port) === e && e.sendRefs === 0) space.byPort.delete(port);
        this.maybeFree(e);
        return { kind: 'receive', port };
      default:
        bug(`copyin of disposition ${d}`);
    }
  }

  /** Copy an out-of-line region into fresh frames (charged as a copy). */
  private copyinOol(task: Task, address: number, size: number): number[] | undefined {
    if (size === 0) return [];
    const pages = Math.ceil(size / PAGE_SIZE);
    const frames = this.env.frames.allocMany(pages);
    if (frames === undefined) return undefined;
    const ram = this.ramOf();
    let done = 0;
    while (done < size) {
      // Each step stays inside one source page and one destination frame.
      const a = address + done;
      const m = task.map.lookup(a)!;
      const srcOff = a % PAGE_SIZE;
      const dstOff = done % PAGE_SIZE;
      const n = Math.min(size - done, PAGE_SIZE - srcOff, PAGE_SIZE - dstOff);
      const dst = frames[Math.floor(done / PAGE_SIZE)]! * PAGE_SIZE + dstOff;
      ram.copyWithin(dst, m.phys + srcOff, m.phys + srcOff + n);
      done += n;
    }
    this.env.charge(this.env.costs.memcpySetupCycles + size * this.env.costs.memcpyCyclesPerByte, 'copy');
    return frames;
  }

  /** RAM (set by the kernel: the frames' bytes). */
  ramOf: () => Uint8Array = () => new Uint8Array(0);

  /** Queue a message on its destination, or hand it straight to a waiting receiver. */
  deliver(kmsg: KMsg, port: Port): void {
    kmsg.arrival = this.arrivals++;
    if (port.receiver === 'kernel') {
      const handler = port.kobject?.onMessage;
      if (handler === undefined) this.destroyKmsg(kmsg);
      else handler.call(port.kobject, kmsg);
      return;
    }
    port.queue.push(kmsg);
    this.env.trace('msg.queued', port.id, kmsg.id);
    const waiters = port.receivers.length > 0 ? port.receivers : port.set !== undefined ? port.set.receivers : undefined;
    if (waiters !== undefined && waiters.length > 0) this.handOff(port, waiters.shift()!);
  }

  /** Give the head of `port`'s queue to a waiting receiver. */
  private handOff(port: Port, w: RcvWaiter): void {
    const result = this.take(port, w.thread.task.space, w.rcvSize, w.option);
    if (result === undefined) return;
    w.onMessage(result);
  }

  /**
   * The receive half: a message now, 'block' when nothing is queued, or an error. `name` is a
   * receive right or a port set in the receiver's space.
   */
  receive(task: Task, name: number, rcvSize: number, option: number): MsgResult | 'block' {
    this.env.charge(this.env.costs.msgReceiveCycles, 'ipc');
    const e = task.space.entries.get(name);
    if (e === undefined) return { kr: MACH_MSG.RCV_INVALID_NAME };
    if (e.pset !== undefined) {
      let best: Port | undefined;
      for (const p of e.pset.members) if (p.queue.length > 0 && (best === undefined || p.queue[0]!.arrival < best.queue[0]!.arrival)) best = p;
      if (best === undefined) return 'block';
      return this.take(best, task.space, rcvSize, option) ?? 'block';
    }
    if (!e.receive || e.port === undefined) return { kr: MACH_MSG.RCV_INVALID_NAME };
    if (e.port.set !== undefined) return { kr: MACH_MSG.RCV_IN_SET };
    if (e.port.queue.length === 0) return 'block';
    return this.take(e.port, task.space, rcvSize, option) ?? 'block';
  }

  /** Queue a receiver (bounded). */
  waitReceive(task: Task, name: number, w: RcvWaiter): boolean {
    const e = task.space.entries.get(name);
    const list = e?.pset !== undefined ? e.pset.receivers : e?.port?.receivers;
    if (list === undefined || list.length >= RECEIVERS_WAITING_MAX) return false;
    list.push(w);
    w.thread.waitCancel = () => {
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
    };
    return true;
  }

  /** Take the head message of `port` for a receiver in `space`. */
  private take(port: Port, space: Space, rcvSize: number, option: number): MsgResult | undefined {
    const kmsg = port.queue[0];
    if (kmsg === undefined) return undefined;
    if (kmsg.size > rcvSize) {
      if ((option & MACH_MSG_OPTION.RCV_LARGE) !== 0) return { kr: MACH_MSG.RCV_TOO_LARGE, tooLargeSize: kmsg.size };
      port.queue.shift();
      port.seqno++;
      this.destroyKmsg(kmsg);
      this.wakeSenders(port);
      return { kr: MACH_MSG.RCV_TOO_LARGE, tooLargeSize: kmsg.size };
    }
    port.queue.shift();
    const seqno = port.seqno++;
    const result = this.copyout(kmsg, port, space, seqno);
    this.wakeSenders(port);
    return result;
  }

  /** One blocked sender retries whenever the queue has room. */
  private wakeSenders(port: Port): void {
    while (port.senders.length > 0 && port.queue.length < port.qlimit) {
      const t = port.senders.shift()!;
      t.waitCancel = undefined;
      this.senderRetry(t);
    }
  }

  /** Park a sender on a full queue (bounded). */
  waitSend(task: Task, remote: number, t: Thread): boolean {
    const port = task.space.entries.get(remote)?.port;
    if (port === undefined || port.senders.length >= SENDERS_WAITING_MAX) return false;
    port.senders.push(t);
    t.waitCancel = () => {
      const i = port.senders.indexOf(t);
      if (i >= 0) port.senders.splice(i, 1);
    };
    return true;
  }

  /** Installed by the kernel: a parked sender runs its trap again / learns its port died. */
  senderRetry: (t: Thread) => void = () => {};
  senderWake: (t: Thread, r: MsgResult) => void = () => {};

  /** Move a dequeued message into the receiver's space. */
  private copyout(kmsg: KMsg, port: Port, space: Space, seqno: number): MsgResult {
    const c = this.env.costs;
    let headerError = 0;
    let bodyError = 0;
    const dest = kmsg.dest;
    kmsg.dest = undefined;
    if (dest !== undefined) this.releaseCarried(dest, true);
    let remote = MACH_PORT_NULL;
    let replyBits = 0;
    const reply = kmsg.reply;
    kmsg.reply = undefined;
    if (reply === 'dead') {
      remote = MACH_PORT_DEAD;
      replyBits = MSG_TYPE.PORT_SEND;
    } else if (reply !== undefined) {
      const n = reply.kind === 'send' ? this.copyoutSend(space, reply.port) : reply.kind === 'send-once' ? this.copyoutSendOnce(space, reply.port) : undefined;
      replyBits = reply.kind === 'send' ? MSG_TYPE.PORT_SEND : MSG_TYPE.PORT_SEND_ONCE;
      if (n === undefined) headerError = MACH_MSG.RCV_HEADER_ERROR | MACH_MSG_ERR.IPC_SPACE;
      else remote = n;
    }
    const items: ReceivedItem[] = [];
    let inlineBytes = 0;
    for (const it of kmsg.items) {
      switch (it.type) {
        case 'inline':
          inlineBytes += it.data.length;
          items.push({ type: 'inline', data: it.data });
          break;
        case 'int32':
          inlineBytes += 4 * it.values.length;
          items.push({ type: 'int32', values: it.values });
          break;
        case 'name':
          items.push({ type: 'port', name: it.value, disposition: MSG_TYPE.PORT_NAME });
          break;
        case 'port': {
          const r = it.right;
          it.right = 'null';
          this.env.charge(c.msgRightCycles, 'ipc');
          if (r === 'null') items.push({ type: 'port', name: MACH_PORT_NULL, disposition: receivedDisposition(it.disposition) });
          else if (r === 'dead') items.push({ type: 'port', name: MACH_PORT_DEAD, disposition: receivedDisposition(it.disposition) });
          else {
            const n = r.kind === 'send' ? this.copyoutSend(space, r.port) : r.kind === 'send-once' ? this.copyoutSendOnce(space, r.port) : r.port.dead ? MACH_PORT_DEAD : this.copyoutReceive(space, r.port);
            if (n === undefined) bodyError = MACH_MSG.RCV_BODY_ERROR | MACH_MSG_ERR.IPC_SPACE;
            items.push({ type: 'port', name: n ?? MACH_PORT_NULL, disposition: receivedDisposition(it.disposition) });
          }
          break;
        }
        case 'ool': {
          const frames = it.frames;
          it.frames = [];
          if (frames.length === 0) {
            items.push({ type: 'ool', address: 0, size: 0 });
            break;
          }
          const task = space.task;
          const r = task === undefined ? { kr: KERN.NO_SPACE, address: 0 } : task.map.mapFrames(0, true, frames, VM_PROT.DEFAULT, VM_PROT.ALL);
          for (const f of frames) this.env.frames.unref(f); // the mapping holds its own references now
          if (r.kr !== KERN.SUCCESS) {
            bodyError = MACH_MSG.RCV_BODY_ERROR | MACH_MSG_ERR.VM_SPACE;
            items.push({ type: 'ool', address: 0, size: 0 });
          } else items.push({ type: 'ool', address: r.address, size: it.size });
          break;
        }
      }
    }
    if (inlineBytes > 0) this.env.charge(c.memcpySetupCycles + inlineBytes * c.memcpyCyclesPerByte, 'copy');
    this.kmsgsLive--;
    const localName = space.byPort.get(port)?.name ?? MACH_PORT_NULL;
    const bits = (replyBits | ((dest?.kind === 'send-once' ? MSG_TYPE.PORT_SEND_ONCE : MSG_TYPE.PORT_SEND) << 8)) >>> 0;
    const msg: ReceivedMsg = { bits, remote, local: localName, id: kmsg.id, seqno, size: kmsg.size, items };
    const kr = headerError !== 0 ? headerError : bodyError;
    return { kr, msg };
  }
}

/**
 * Read a guest's message exactly once into a fresh plain structure (the kernel's copyin of the
 * header and descriptors): every later check and use sees these values, so getters, proxies or
 * another thread of the task changing the object cannot slip unvalidated data past the checks.
 * Reading that throws is MACH_SEND_INVALID_DATA (the send buffer is unreadable).
 */
function snapshotMessage(msg: unknown): Partial<MachMsg> & { items: unknown[] } | number {
  try {
    if (typeof msg !== 'object' || msg === null) return MACH_MSG.SEND_INVALID_DATA;
    const m = msg as Record<string, unknown>;
    const out = { bits: m['bits'], remote: m['remote'], local: m['local'], id: m['id'], items: [] as unknown[] };
    const items = m['items'];
    if (items === undefined) return out as Partial<MachMsg> & { items: unknown[] };
    if (!Array.isArray(items)) return MACH_MSG.SEND_INVALID_TYPE;
    const n = items.length;
    if (!Number.isSafeInteger(n) || n > MSG_ITEMS_MAX) return MACH_MSG.SEND_INVALID_TYPE;
    for (let i = 0; i < n; i++) {
      const raw: unknown = items[i];
      if (typeof raw !== 'object' || raw === null) return MACH_MSG.SEND_INVALID_TYPE;
      const it = raw as Record<string, unknown>;
      const type = it['type'];
      switch (type) {
        case 'inline': {
          const data = it['data'];
          if (!(data instanceof Uint8Array) || data.length > MSG_SIZE_MAX) return data instanceof Uint8Array ? MACH_MSG.SEND_NO_BUFFER : MACH_MSG.SEND_INVALID_TYPE;
          out.items.push({ type, data: Uint8Array.prototype.slice.call(data) });
          break;
        }
        case 'int32': {
          const v = it['values'];
          if (!Array.isArray(v) || v.length > MSG_SIZE_MAX / 4) return MACH_MSG.SEND_INVALID_TYPE;
          out.items.push({ type, values: Array.from(v as unknown[]) });
          break;
        }
        case 'port':
          out.items.push({ type, name: it['name'], disposition: it['disposition'] });
          break;
        case 'ool':
          out.items.push({ type, address: it['address'], size: it['size'], deallocate: it['deallocate'] });
          break;
        default:
          return MACH_MSG.SEND_INVALID_TYPE;
      }
    }
    return out as Partial<MachMsg> & { items: unknown[] };
  } catch {
    return MACH_MSG.SEND_INVALID_DATA;
  }
}

function receivedDisposition(d: number): number {
  switch (d) {
    case MSG_TYPE.MOVE_RECEIVE:
      return MSG_TYPE.PORT_RECEIVE;
    case MSG_TYPE.MOVE_SEND:
    case MSG_TYPE.COPY_SEND:
    case MSG_TYPE.MAKE_SEND:
      return MSG_TYPE.PORT_SEND;
    default:
      return MSG_TYPE.PORT_SEND_ONCE;
  }
}

function isU32(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff_ffff;
}

/** A kernel item in the shape messageSize() measures. */
function toUserShape(it: KItem): ReceivedItem {
  switch (it.type) {
    case 'inline':
      return { type: 'inline', data: it.data };
    case 'int32':
      return { type: 'int32', values: it.values };
    case 'port':
      return { type: 'port', name: 0, disposition: it.disposition };
    case 'name':
      return { type: 'port', name: it.value, disposition: MSG_TYPE.PORT_NAME };
    case 'ool':
      return { type: 'ool', address: 0, size: it.size };
  }
}
