/**
 * Mach IPC as the guest sees it: port names, right dispositions, mach_msg options, message
 * layout, notification ids, port-type bits (values from OM include/mach/{port,message,notify}.h;
 * ../shared/kernel/mach-semantics.md §2–§4). Pure data and types: userland imports this file.
 *
 * A message crosses the trap as plain data, not as bytes in guest memory: a header plus typed
 * items (inline bytes, 32-bit integers, port rights, out-of-line regions of the sender's memory).
 * The kernel validates every field, as it would a user buffer, and charges the copies it makes.
 */

export type PortName = number;
export const MACH_PORT_NULL = 0;
/** MACH_PORT_DEAD = ~0 (all ones). */
export const MACH_PORT_DEAD = 0xffff_ffff;

/** mach_port_allocate's right argument (and mach_port_mod_refs / get_refs). */
export const PORT_RIGHT = { SEND: 0, RECEIVE: 1, SEND_ONCE: 2, PORT_SET: 3, DEAD_NAME: 4 } as const;

/** Bits returned by mach_port_type. */
export const PORT_TYPE = {
  SEND: 1 << 16,
  RECEIVE: 1 << 17,
  SEND_ONCE: 1 << 18,
  PORT_SET: 1 << 19,
  DEAD_NAME: 1 << 20,
  DNREQUEST: 0x8000_0000,
} as const;

/** Type names used as right dispositions (message.h). */
export const MSG_TYPE = {
  PORT_NAME: 15,
  MOVE_RECEIVE: 16,
  MOVE_SEND: 17,
  MOVE_SEND_ONCE: 18,
  COPY_SEND: 19,
  MAKE_SEND: 20,
  MAKE_SEND_ONCE: 21,
  /** What a receiver sees for a received right (= the MOVE_* value). */
  PORT_RECEIVE: 16,
  PORT_SEND: 17,
  PORT_SEND_ONCE: 18,
} as const;

/** msgh_bits: remote disposition in bits 0–7, local (reply) disposition in bits 8–15. */
export const MSGH_BITS_COMPLEX = 0x8000_0000;
export function msghBits(remote: number, local = 0): number {
  return (remote | (local << 8)) >>> 0;
}

export const MACH_MSG_OPTION = {
  SEND_MSG: 0x1,
  RCV_MSG: 0x2,
  SEND_TIMEOUT: 0x10,
  SEND_NOTIFY: 0x20,
  SEND_INTERRUPT: 0x40,
  SEND_CANCEL: 0x80,
  RCV_TIMEOUT: 0x100,
  RCV_NOTIFY: 0x200,
  RCV_INTERRUPT: 0x400,
  RCV_LARGE: 0x800,
} as const;

/** Notification message ids (octal 0100 + n, notify.h) and request variants. */
export const NOTIFY = {
  PORT_DELETED: 0o101,
  MSG_ACCEPTED: 0o102,
  PORT_DESTROYED: 0o105,
  NO_SENDERS: 0o106,
  SEND_ONCE: 0o107,
  DEAD_NAME: 0o110,
} as const;

/** Exception message (exception_raise, MIG id 2400; reply id 2500) and exception types. */
export const EXC_MSG_ID = 2400;
export const EXC_REPLY_ID = 2500;
export const EXC = { BAD_ACCESS: 1, BAD_INSTRUCTION: 2, ARITHMETIC: 3, EMULATION: 4, SOFTWARE: 5, BREAKPOINT: 6 } as const;

/** Task special ports (task_get_special_port / task_set_special_port). */
export const TASK_PORT = { KERNEL: 1, HOST: 2, EXCEPTION: 3, BOOTSTRAP: 4, HOST_PRIV: 5 } as const;

/** One item of a message being sent. */
export type MsgItem =
  | { readonly type: 'inline'; readonly data: Uint8Array }
  | { readonly type: 'int32'; readonly values: readonly number[] }
  | { readonly type: 'port'; readonly name: PortName; readonly disposition: number }
  | { readonly type: 'ool'; readonly address: number; readonly size: number; readonly deallocate: boolean };

/** A message as sent: header fields plus typed items. */
export interface MachMsg {
  readonly bits: number;
  readonly remote: PortName;
  readonly local: PortName;
  readonly id: number;
  readonly items?: readonly MsgItem[];
}

/** One item of a received message. */
export type ReceivedItem =
  | { readonly type: 'inline'; readonly data: Uint8Array }
  | { readonly type: 'int32'; readonly values: readonly number[] }
  | { readonly type: 'port'; readonly name: PortName; readonly disposition: number }
  | { readonly type: 'ool'; readonly address: number; readonly size: number };

/** A message as received: the header is reversed (local = the port received from). */
export interface ReceivedMsg {
  readonly bits: number;
  /** The reply right (name in the receiver's space), MACH_PORT_NULL or MACH_PORT_DEAD. */
  readonly remote: PortName;
  /** The receive right the message was taken from. */
  readonly local: PortName;
  readonly id: number;
  readonly seqno: number;
  /** msgh_size: header + descriptors + inline data (out-of-line regions count one address word). */
  readonly size: number;
  readonly items: readonly ReceivedItem[];
}

/** Header bytes (6 words) and per-item descriptor bytes, for msgh_size. */
export const MSG_HEADER_BYTES = 24;
export const MSG_DESCRIPTOR_BYTES = 4;

/** Limits (a limit on everything): items per message, inline bytes, one OOL region. */
export const MSG_ITEMS_MAX = 64;
export const MSG_SIZE_MAX = 64 * 1024 + 1024;
export const MSG_OOL_BYTES_MAX = 4 * 1024 * 1024;
/** Port queue limits: default 5, at most 16 (OM port.h). */
export const QLIMIT_DEFAULT = 5;
export const QLIMIT_MAX = 16;
/** User references per right (OM kernel/ipc/port.h: 2^16 − 1). */
export const UREFS_MAX = 0xffff;

/** msgh_size of a message with these items (inline data padded to a word). */
export function messageSize(items: readonly (MsgItem | ReceivedItem)[]): number {
  let size = MSG_HEADER_BYTES;
  for (const it of items) {
    switch (it.type) {
      case 'inline':
        size += MSG_DESCRIPTOR_BYTES + ((it.data.length + 3) & ~3);
        break;
      case 'int32':
        size += MSG_DESCRIPTOR_BYTES + 4 * it.values.length;
        break;
      case 'port':
      case 'ool':
        size += MSG_DESCRIPTOR_BYTES + 4;
        break;
    }
  }
  return size;
}

/** VM protections and the page size exported to tasks. */
export const VM_PROT = { NONE: 0, READ: 1, WRITE: 2, EXECUTE: 4, DEFAULT: 3, ALL: 7 } as const;
export const VM_PAGE_SIZE = 4096;
/** vm_inherit values (Mach vm_inherit.h): what task_create gives the child of each page. COPY is every page's default. */
export const VM_INHERIT = { SHARE: 0, COPY: 1, NONE: 2 } as const;
/** Registered ports a task may hold (Mach TASK_PORT_REGISTER_MAX). */
export const TASK_PORT_REGISTER_MAX = 3;
