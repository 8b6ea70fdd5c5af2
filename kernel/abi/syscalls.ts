/**
 * The system-call ABI: ONE table from which the kernel's dispatcher and the user-level stubs are
 * both derived (xv6 kernel/syscall.c + user/usys.pl). A trap is plain data: `{ sys, ...args }`,
 * yielded by a guest thread; the result is plain data too. Pure data and types: userland imports
 * this file.
 *
 * Each argument has a kind that the kernel validates generically before any service runs, so a
 * guest that yields garbage gets KERN_INVALID_ARGUMENT (or is ended), never an emulator throw.
 */
import type { KernReturn } from './errors.ts';
import type { GuestProgram } from './guest.ts';
import type { MachMsg, PortName, ReceivedMsg } from './message.ts';

/** How the kernel validates an argument. */
export type ArgKind =
  /** integer in [0, 2^32) */
  | 'u32'
  /** integer in [-2^31, 2^31) */
  | 'i32'
  /** non-negative safe integer (sizes, counts, ns) */
  | 'count'
  /** Uint8Array (inline data; the kernel copies it, charging the copy) */
  | 'bytes'
  /** boolean */
  | 'bool'
  /** short string (a name in the bootstrap service) */
  | 'string'
  /** a message to send (MachMsg), or null for a receive-only mach_msg; checked by the IPC code */
  | 'msg'
  /** a guest program (the body of a new thread in the caller's task) */
  | 'program';

export interface SyscallSpec {
  /** Trap number, for traces and the dispatcher's dense table. */
  readonly number: number;
  readonly args: Readonly<Record<string, ArgKind>>;
  readonly doc: string;
  /**
   * Served by a kernel module registered at boot (e.g. 'netio'), not by the core kernel: the
   * module calls `kernel.registerService(name, fn)`; until it does, the call fails with
   * KERN_FAILURE.
   */
  readonly module?: string;
}

export const SYSCALL_TABLE = {
  null_trap: { number: 0, args: {}, doc: 'do nothing: measures the trap path' },
  task_exit: { number: 1, args: { code: 'i32' }, doc: 'end the calling task with an exit code' },
  thread_yield: { number: 2, args: {}, doc: 'give the CPU to another runnable thread of equal priority' },
  clock_get_ns: { number: 3, args: {}, doc: 'simulated time in ns (a kernel clock, charged as a trap)' },
  thread_sleep_ns: { number: 4, args: { ns: 'count' }, doc: 'block the calling thread for ns nanoseconds' },
  debug_log: { number: 5, args: { text: 'string' }, doc: 'append a line to the task log (trace record)' },
  // Threads and tasks
  thread_create: { number: 10, args: { program: 'program', priority: 'i32' }, doc: 'start a new thread in the calling task (priority < 0: the caller\'s)' },
  thread_exit: { number: 11, args: {}, doc: 'end the calling thread (the task ends with its last thread)' },
  thread_set_priority: { number: 12, args: { priority: 'i32' }, doc: 'set the calling thread\'s priority (0..24; privileged tasks up to 31)' },
  thread_switch: { number: 13, args: { depress: 'bool' }, doc: 'yield; with depress, run below every other thread until the next trap' },
  task_get_special_port: { number: 14, args: { which: 'u32' }, doc: 'a send right to one of the task\'s special ports (TASK_PORT.*)' },
  task_set_special_port: { number: 15, args: { which: 'u32', name: 'u32' }, doc: 'set the task\'s exception port (a send right or MACH_PORT_NULL)' },
  task_terminate: { number: 16, args: { task: 'u32' }, doc: 'end the task whose task port (send right) is named' },
  task_create: {
    number: 17,
    args: { inheritMemory: 'bool', program: 'program', priority: 'i32' },
    doc: 'a child task: its map empty or inherited page by page per vm_inherit (SHARE / COPY / NONE), its name space empty, its exception port and registered ports inherited; its first thread runs program (priority < 0: the caller\'s); task = a send right to the child\'s task port',
  },
  mach_ports_register: { number: 18, args: { ports: 'bytes' }, doc: 'set the calling task\'s registered ports: 0..TASK_PORT_REGISTER_MAX send-right names (u32 little-endian each, MACH_PORT_NULL allowed), inherited by task_create' },
  mach_ports_lookup: { number: 19, args: {}, doc: 'send rights to the calling task\'s registered ports (MACH_PORT_NULL where none)' },
  // Ports
  mach_reply_port: { number: 26, args: {}, doc: 'allocate a receive right (a reply port)' },
  mach_port_allocate: { number: 30, args: { right: 'u32' }, doc: 'allocate a RECEIVE right, PORT_SET or DEAD_NAME' },
  mach_port_deallocate: { number: 31, args: { name: 'u32' }, doc: 'drop one user reference of a send / send-once right or dead name' },
  mach_port_destroy: { number: 32, args: { name: 'u32' }, doc: 'drop every right under a name' },
  mach_port_mod_refs: { number: 33, args: { name: 'u32', right: 'u32', delta: 'i32' }, doc: 'change the user references of one right' },
  mach_port_get_refs: { number: 34, args: { name: 'u32', right: 'u32' }, doc: 'user references of one right' },
  mach_port_type: { number: 35, args: { name: 'u32' }, doc: 'PORT_TYPE bits of a name' },
  mach_port_insert_right: { number: 36, args: { name: 'u32', disposition: 'u32' }, doc: 'MAKE_SEND / MAKE_SEND_ONCE from the caller\'s own receive right (returns the new name)' },
  mach_port_move_member: { number: 37, args: { member: 'u32', after: 'u32' }, doc: 'move a receive right into a port set (after = MACH_PORT_NULL removes it)' },
  mach_port_set_qlimit: { number: 38, args: { name: 'u32', qlimit: 'u32' }, doc: 'set a port\'s queue limit (1..16)' },
  mach_port_request_notification: {
    number: 39,
    args: { name: 'u32', variant: 'u32', sync: 'u32', notify: 'u32', disposition: 'u32' },
    doc: 'register a dead-name, no-senders or port-destroyed notification (send-once right to notify)',
  },
  mach_msg: {
    number: 25,
    args: { option: 'u32', msg: 'msg', rcvName: 'u32', rcvSize: 'count', timeoutMs: 'count', notify: 'u32' },
    doc: 'send, receive, or send then receive (RPC)',
  },
  // Bootstrap / name service
  bootstrap_register: { number: 40, args: { service: 'string', name: 'u32' }, doc: 'publish a send right under a service name' },
  bootstrap_look_up: { number: 41, args: { service: 'string' }, doc: 'a send right to a published service' },
  // Virtual memory
  vm_allocate: { number: 50, args: { address: 'u32', size: 'count', anywhere: 'bool' }, doc: 'zero-filled pages' },
  vm_deallocate: { number: 51, args: { address: 'u32', size: 'count' }, doc: 'unmap pages' },
  vm_protect: { number: 52, args: { address: 'u32', size: 'count', setMax: 'bool', prot: 'u32' }, doc: 'change current or maximum protection' },
  vm_wire: { number: 53, args: { hostPriv: 'u32', address: 'u32', size: 'count', access: 'u32' }, doc: 'wire (access ≠ NONE) or unwire pages; needs the host-privileged port' },
  memory_object_create: { number: 54, args: { size: 'count' }, doc: 'a zero-filled memory object (send right) that vm_map can map into several tasks' },
  vm_map: {
    number: 55,
    args: { object: 'u32', offset: 'count', size: 'count', address: 'u32', anywhere: 'bool', prot: 'u32' },
    doc: 'map (part of) a memory object, shared with every other mapping of it',
  },
  vm_inherit: { number: 56, args: { address: 'u32', size: 'count', inheritance: 'u32' }, doc: 'set the inheritance (VM_INHERIT.SHARE / COPY / NONE) task_create applies to every page of the range' },
  // Semaphores
  semaphore_create: { number: 60, args: { value: 'count' }, doc: 'a counting semaphore (send right)' },
  semaphore_destroy: { number: 61, args: { sem: 'u32' }, doc: 'destroy a semaphore: waiters return KERN_TERMINATED' },
  semaphore_signal: { number: 62, args: { sem: 'u32' }, doc: 'wake one waiter, or count a pending signal' },
  semaphore_signal_all: { number: 63, args: { sem: 'u32' }, doc: 'wake every waiter and clear pending signals' },
  semaphore_wait: { number: 64, args: { sem: 'u32' }, doc: 'consume a pending signal or block until one' },
  semaphore_timedwait: { number: 65, args: { sem: 'u32', ns: 'count' }, doc: 'semaphore_wait giving up after ns (KERN_OPERATION_TIMED_OUT)' },
  semaphore_wait_any: {
    number: 66,
    args: { sems: 'bytes', timed: 'bool', ns: 'count' },
    doc: 'one waiter, many semaphores: sems = 1..SEMAPHORE_WAIT_ANY_MAX distinct semaphore names (u32 little-endian each); consume the first pending signal in order, else block until any is signalled (or ns passes, when timed); index = that semaphore (or the bad name on an error, -1 on a timeout)',
  },
  // Network I/O module (kernel/netio, P §3.3–3.4; module 'netio')
  net_priv_port: { module: 'netio', number: 70, args: { hostPriv: 'u32' }, doc: 'a send right to the network I/O module\'s privileged port (needs the host-privileged port)' },
  net_channel_create: {
    module: 'netio',
    number: 71,
    args: { priv: 'u32', task: 'u32', link: 'u32', rxSlots: 'u32', txPages: 'u32', spec: 'bytes' },
    doc: 'bind a channel (template, demux key or BQI, wired region mapped into task, semaphore); returns its send right to the caller, and the region\'s address and the semaphore\'s and region\'s send rights in task',
  },
  net_channel_close: { module: 'netio', number: 72, args: { channel: 'u32' }, doc: 'revoke a channel: key, BQI and template removed, region unmapped from every task, its rights (channel, region, semaphore) become dead names' },
  net_send: { module: 'netio', number: 73, args: { channel: 'u32', offset: 'u32', length: 'u32' }, doc: 'send the frame at [offset, offset+length) of the channel\'s region after the template check' },
  net_rx_done: { module: 'netio', number: 74, args: { channel: 'u32' }, doc: 'hand consumed receive slots (up to RX_TAIL) back; on AN1 they are re-posted to the BQI ring' },
  net_bqi_reserve: { module: 'netio', number: 75, args: { priv: 'u32' }, doc: 'reserve a free AN1 BQI (to offer the peer during the handshake); bind it later with the channel spec\'s bqi' },
  net_bqi_release: { module: 'netio', number: 76, args: { priv: 'u32', bqi: 'u32' }, doc: 'give back a reserved BQI that no channel took' },
  net_device_open: {
    module: 'netio',
    number: 77,
    args: { priv: 'u32', link: 'u32', port: 'u32' },
    doc: 'the link\'s default traffic as Mach messages to port (one frame inline each); name = a send right to the device, which sends the one inline frame of each message it gets (privileged: no template)',
  },
  net_channel_reroute: {
    module: 'netio',
    number: 78,
    args: { priv: 'u32', channel: 'u32', route: 'bytes' },
    doc: 'change a live channel\'s route (privileged): the template\'s link-header destination (Ethernet: 6-byte MAC; AN1: DST_SHORT, DST_BQI, DST_UID, 10 bytes) becomes route, atomically between two frames; frames checked against the old route and still waiting in net_send leave with the new one',
  },
  // In-kernel sockets of the monolithic (Ultrix-like) baseline (kernel/inkernel; module 'inkernel'). Results: `n` ≥ 0 or a negative SOCK_ERRNO (kernel/abi/socket.ts)
  socket: { module: 'inkernel', number: 80, args: {}, doc: 'a new TCP socket (a descriptor in the calling task)' },
  bind: { module: 'inkernel', number: 81, args: { fd: 'i32', port: 'u32' }, doc: 'set the local port of an unconnected socket' },
  listen: { module: 'inkernel', number: 82, args: { fd: 'i32', backlog: 'u32' }, doc: 'passive open on the bound port' },
  accept: { module: 'inkernel', number: 83, args: { fd: 'i32' }, doc: 'block until a connection completes on a listening socket; n = its new descriptor' },
  connect: { module: 'inkernel', number: 84, args: { fd: 'i32', ip: 'u32', port: 'u32' }, doc: 'active open; blocks until ESTABLISHED or failure' },
  send: { module: 'inkernel', number: 85, args: { fd: 'i32', address: 'u32', length: 'count' }, doc: 'copy in [address, address+length) of the caller\'s memory and send it (blocks while the send buffer is full); n = bytes sent' },
  recv: { module: 'inkernel', number: 86, args: { fd: 'i32', address: 'u32', length: 'count' }, doc: 'block until data, end of stream or error; copy out up to length bytes; n = bytes (0 = end of stream)' },
  shutdown: { module: 'inkernel', number: 87, args: { fd: 'i32' }, doc: 'no more sends (FIN)' },
  close: { module: 'inkernel', number: 88, args: { fd: 'i32' }, doc: 'close the descriptor (FIN, the kernel finishes the close; a listener drops its queue)' },
  poll: {
    module: 'inkernel',
    number: 92,
    args: { fds: 'bytes', timed: 'bool', ns: 'count' },
    doc: 'poll(2): fds = up to 64 entries of (fd i32, events u32) little-endian; block until one has revents (POLLIN/OUT/ERR/HUP/NVAL) or ns passes (when timed); n = entries ready, revents = one word per entry',
  },
  socket_dgram: { module: 'inkernel', number: 89, args: {}, doc: 'a new UDP socket (bind and connect work on it; close frees its port)' },
  sendto: { module: 'inkernel', number: 90, args: { fd: 'i32', address: 'u32', length: 'count', ip: 'u32', port: 'u32' }, doc: 'UDP: copy in [address, address+length) and send it as one datagram to (ip, port), or to the connected peer when ip = 0; an unbound socket gets an ephemeral port; n = bytes sent' },
  recvfrom: { module: 'inkernel', number: 91, args: { fd: 'i32', address: 'u32', length: 'count', timeoutNs: 'count' }, doc: 'UDP: block until a datagram (at most timeoutNs; 0 = no limit), copy out up to length bytes of it (the rest is discarded); n = bytes (−ETIMEDOUT on timeout), ip and port its source' },
} as const satisfies Readonly<Record<string, SyscallSpec>>;

export type SyscallName = keyof typeof SYSCALL_TABLE;
/** System calls the core kernel serves itself / that kernel modules register. */
export type CoreSyscallName = { [K in SyscallName]: (typeof SYSCALL_TABLE)[K] extends { readonly module: string } ? never : K }[SyscallName];
export type ModuleSyscallName = Exclude<SyscallName, CoreSyscallName>;

type KindType<K extends ArgKind> = K extends 'bytes'
  ? Uint8Array
  : K extends 'bool'
    ? boolean
    : K extends 'string'
      ? string
      : K extends 'msg'
        ? MachMsg | null
        : K extends 'program'
          ? GuestProgram
          : number;

type ArgsOf<K extends SyscallName> = (typeof SYSCALL_TABLE)[K]['args'];
export type SyscallArgs<K extends SyscallName> = {
  readonly [A in keyof ArgsOf<K>]: ArgsOf<K>[A] extends ArgKind ? KindType<ArgsOf<K>[A]> : never;
};

/** What each system call returns to the guest. */
interface KrOnly {
  readonly kr: KernReturn;
}
interface KrName {
  readonly kr: KernReturn;
  readonly name: PortName;
}
interface KrAddress {
  readonly kr: KernReturn;
  readonly address: number;
}

/** In-kernel socket calls: kr (KERN.SUCCESS, or KERN.INVALID_ADDRESS for a bad user buffer) and n (≥ 0, or a negative SOCK_ERRNO). */
interface KrN {
  readonly kr: KernReturn;
  readonly n: number;
}

/** What each system call returns to the guest. */
export interface SyscallResults {
  null_trap: KrOnly;
  task_exit: KrOnly;
  thread_yield: KrOnly;
  clock_get_ns: { readonly kr: KernReturn; readonly ns: number };
  thread_sleep_ns: KrOnly;
  debug_log: KrOnly;
  thread_create: { readonly kr: KernReturn; readonly thread: number };
  thread_exit: KrOnly;
  thread_set_priority: KrOnly;
  thread_switch: KrOnly;
  task_get_special_port: KrName;
  task_set_special_port: KrOnly;
  task_terminate: KrOnly;
  task_create: { readonly kr: KernReturn; readonly task: PortName };
  mach_ports_register: KrOnly;
  mach_ports_lookup: { readonly kr: KernReturn; readonly ports: readonly PortName[] };
  mach_reply_port: KrName;
  mach_port_allocate: KrName;
  mach_port_deallocate: KrOnly;
  mach_port_destroy: KrOnly;
  mach_port_mod_refs: KrOnly;
  mach_port_get_refs: { readonly kr: KernReturn; readonly refs: number };
  mach_port_type: { readonly kr: KernReturn; readonly type: number };
  mach_port_insert_right: KrName;
  mach_port_move_member: KrOnly;
  mach_port_set_qlimit: KrOnly;
  mach_port_request_notification: { readonly kr: KernReturn; readonly previous: PortName };
  /** `msg` is present when a message was received (or, with RCV_TOO_LARGE, only its size). */
  mach_msg: { readonly kr: KernReturn; readonly msg?: ReceivedMsg; readonly tooLargeSize?: number };
  bootstrap_register: KrOnly;
  bootstrap_look_up: KrName;
  vm_allocate: KrAddress;
  vm_deallocate: KrOnly;
  vm_protect: KrOnly;
  vm_wire: KrOnly;
  memory_object_create: KrName;
  vm_map: KrAddress;
  vm_inherit: KrOnly;
  semaphore_create: KrName;
  semaphore_destroy: KrOnly;
  semaphore_signal: KrOnly;
  semaphore_signal_all: KrOnly;
  semaphore_wait: KrOnly;
  semaphore_timedwait: KrOnly;
  semaphore_wait_any: { readonly kr: KernReturn; readonly index: number };
  net_priv_port: KrName;
  /** name: the channel's send right (caller); address and sem: the region and semaphore in the owner task; bqi: the AN1 BQI (0 on Ethernet). */
  net_channel_create: { readonly kr: KernReturn; readonly name: PortName; readonly address: number; readonly sem: PortName; readonly region: PortName; readonly bqi: number };
  net_channel_close: KrOnly;
  net_send: KrOnly;
  net_rx_done: KrOnly;
  net_bqi_reserve: { readonly kr: KernReturn; readonly bqi: number };
  net_bqi_release: KrOnly;
  net_device_open: KrName;
  net_channel_reroute: KrOnly;
  socket: KrN;
  bind: KrN;
  listen: KrN;
  accept: KrN;
  connect: KrN;
  send: KrN;
  recv: KrN;
  shutdown: KrN;
  close: KrN;
  /** revents: one word per entry (empty on an error in n). */
  poll: { readonly kr: KernReturn; readonly n: number; readonly revents: readonly number[] };
  socket_dgram: KrN;
  sendto: KrN;
  recvfrom: { readonly kr: KernReturn; readonly n: number; readonly ip: number; readonly port: number };
}

export type TrapRequest = { [K in SyscallName]: { readonly sys: K } & SyscallArgs<K> }[SyscallName];
export type TrapResult = SyscallResults[SyscallName];

/** The longest string argument the kernel accepts (a limit on everything). */
export const STRING_ARG_MAX = 256;
/** The largest inline byte argument the kernel accepts in one trap. */
export const BYTES_ARG_MAX = 64 * 1024;

/** Validate one argument; returns an error phrase or undefined. */
export function checkArg(kind: ArgKind, value: unknown): string | undefined {
  switch (kind) {
    case 'u32':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffff_ffff ? undefined : 'not a u32';
    case 'i32':
      return Number.isInteger(value) && (value as number) >= -0x8000_0000 && (value as number) <= 0x7fff_ffff ? undefined : 'not an i32';
    case 'count':
      return Number.isSafeInteger(value) && (value as number) >= 0 ? undefined : 'not a count';
    case 'bytes':
      return value instanceof Uint8Array && value.length <= BYTES_ARG_MAX ? undefined : 'not bytes (or too long)';
    case 'bool':
      return typeof value === 'boolean' ? undefined : 'not a boolean';
    case 'string':
      return typeof value === 'string' && value.length <= STRING_ARG_MAX ? undefined : 'not a short string';
    case 'msg':
      return value === null || (typeof value === 'object' && value !== undefined) ? undefined : 'not a message or null';
    case 'program':
      return typeof value === 'function' ? undefined : 'not a program';
  }
}

/** Each system call's arguments as a list, built once per call name (the decoder runs per trap). */
const ARG_LISTS = new Map<string, readonly (readonly [string, ArgKind])[]>();
function argList(sys: string, spec: SyscallSpec): readonly (readonly [string, ArgKind])[] {
  let list = ARG_LISTS.get(sys);
  if (list === undefined) {
    list = Object.entries(spec.args);
    ARG_LISTS.set(sys, list);
  }
  return list;
}

/**
 * Validate a yielded value as a trap request: a plain object naming a known system call with
 * every argument of the right kind. Returns a fresh request holding each argument read exactly
 * once (a getter cannot change a value between validation and use), or an error phrase; a
 * request whose reading throws (hostile getters, proxies) is an error too, never a throw.
 */
export function decodeTrap(value: unknown): { ok: true; req: TrapRequest } | { ok: false; error: string } {
  try {
    if (typeof value !== 'object' || value === null) return { ok: false, error: 'trap request is not an object' };
    const sys = (value as { sys?: unknown }).sys;
    if (typeof sys !== 'string' || !Object.hasOwn(SYSCALL_TABLE, sys)) return { ok: false, error: `unknown system call ${String(sys).slice(0, 64)}` };
    const spec: SyscallSpec = SYSCALL_TABLE[sys as SyscallName];
    const req: Record<string, unknown> = { sys };
    const args = argList(sys, spec);
    for (let k = 0; k < args.length; k++) {
      const [name, kind] = args[k]!;
      const arg: unknown = (value as Record<string, unknown>)[name];
      const problem = checkArg(kind, arg);
      if (problem !== undefined) return { ok: false, error: `${sys}: argument ${name} ${problem}` };
      // Inline bytes are copied now (a typed array stays readable by its owner afterwards).
      req[name] = kind === 'bytes' ? Uint8Array.prototype.slice.call(arg as Uint8Array) : arg;
    }
    return { ok: true, req: req as TrapRequest };
  } catch {
    return { ok: false, error: 'trap request unreadable' };
  }
}
