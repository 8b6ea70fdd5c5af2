/**
 * Kernel return codes (Mach 3.0 kern_return_t and mach_msg_return_t values; see
 * ../shared/kernel/mach-semantics.md §3). Pure data: userland imports this file.
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
  INVALID_NAME: 15,
  INVALID_TASK: 16,
  INVALID_RIGHT: 17,
  INVALID_VALUE: 18,
  UREFS_OVERFLOW: 19,
  INVALID_CAPABILITY: 20,
  RIGHT_EXISTS: 21,
  NAME_EXISTS: 13,
  ABORTED: 14,
  OPERATION_TIMED_OUT: 49,
  TERMINATED: 37,
} as const;
export type KernReturn = number;

export function kernReturnName(code: number): string {
  for (const [name, value] of Object.entries(KERN)) if (value === code) return `KERN_${name}`;
  return `kern_return ${code}`;
}
