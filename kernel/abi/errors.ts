/**
 * Kernel return codes (Mach 3.0 kern_return_t, mach_msg_return_t and bootstrap values; see
 * ../shared/kernel/mach-semantics.md §3, §5). Pure data: userland imports this file.
 */
export const KERN = {
  SUCCESS: 0,
  INVALID_ADDRESS: 1,
  PROTECTION_FAILURE: 2,
  NO_SPACE: 3,
  INVALID_ARGUMENT: 4,
  FAILURE: 5,
  RESOURCE_SHORTAGE: 6,
  NOT_RECEIVER: 7,
  NO_ACCESS: 8,
  MEMORY_FAILURE: 9,
  MEMORY_ERROR: 10,
  NOT_IN_SET: 12,
  NAME_EXISTS: 13,
  ABORTED: 14,
  INVALID_NAME: 15,
  INVALID_TASK: 16,
  INVALID_RIGHT: 17,
  INVALID_VALUE: 18,
  UREFS_OVERFLOW: 19,
  INVALID_CAPABILITY: 20,
  RIGHT_EXISTS: 21,
  INVALID_HOST: 22,
  MEMORY_PRESENT: 23,
  TERMINATED: 26,
  OPERATION_TIMED_OUT: 49,
} as const;
export type KernReturn = number;

/** mach_msg return codes (OM include/mach/message.h). */
export const MACH_MSG = {
  SUCCESS: 0,
  SEND_INVALID_DATA: 0x1000_0002,
  SEND_INVALID_DEST: 0x1000_0003,
  SEND_TIMED_OUT: 0x1000_0004,
  SEND_WILL_NOTIFY: 0x1000_0005,
  SEND_NOTIFY_IN_PROGRESS: 0x1000_0006,
  SEND_INTERRUPTED: 0x1000_0007,
  SEND_MSG_TOO_SMALL: 0x1000_0008,
  SEND_INVALID_REPLY: 0x1000_0009,
  SEND_INVALID_RIGHT: 0x1000_000a,
  SEND_INVALID_NOTIFY: 0x1000_000b,
  SEND_INVALID_MEMORY: 0x1000_000c,
  SEND_NO_BUFFER: 0x1000_000d,
  SEND_INVALID_TYPE: 0x1000_000f,
  SEND_INVALID_HEADER: 0x1000_0010,
  RCV_INVALID_NAME: 0x1000_4002,
  RCV_TIMED_OUT: 0x1000_4003,
  RCV_TOO_LARGE: 0x1000_4004,
  RCV_INTERRUPTED: 0x1000_4005,
  RCV_PORT_CHANGED: 0x1000_4006,
  RCV_INVALID_DATA: 0x1000_4008,
  RCV_PORT_DIED: 0x1000_4009,
  RCV_IN_SET: 0x1000_400a,
  RCV_HEADER_ERROR: 0x1000_400b,
  RCV_BODY_ERROR: 0x1000_400c,
} as const;

/** Resource-shortage qualifiers OR-ed into RCV_HEADER_ERROR / RCV_BODY_ERROR. */
export const MACH_MSG_ERR = { IPC_SPACE: 0x2000, VM_SPACE: 0x1000, IPC_KERNEL: 0x800, VM_KERNEL: 0x400 } as const;

/** Bootstrap (name service) codes, as Mach's bootstrap_defs.h. */
export const BOOTSTRAP = {
  NOT_PRIVILEGED: 1100,
  NAME_IN_USE: 1101,
  UNKNOWN_SERVICE: 1102,
} as const;

export function kernReturnName(code: number): string {
  for (const [name, value] of Object.entries(KERN)) if (value === code) return `KERN_${name}`;
  for (const [name, value] of Object.entries(MACH_MSG)) if (value === code && value !== 0) return `MACH_${name}`;
  for (const [name, value] of Object.entries(BOOTSTRAP)) if (value === code) return `BOOTSTRAP_${name}`;
  return `kern_return ${code}`;
}
