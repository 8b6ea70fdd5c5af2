/**
 * User-level system-call stubs, derived from the kernel's one ABI table (kernel/abi): every
 * entry of SYSCALL_TABLE has a stub here, typed by its arguments and result.
 * Use inside a guest generator: `const { ns } = yield* sys.clock_get_ns({});`
 */
import {
  SYSCALL_TABLE,
  type SyscallArgs,
  type SyscallName,
  type SyscallResults,
  type TrapRequest,
  type TrapResult,
} from '../../kernel/abi/syscalls.ts';

export type Stub<K extends SyscallName> = (args: SyscallArgs<K>) => Generator<TrapRequest, SyscallResults[K], TrapResult>;

export function* trap<K extends SyscallName>(sys: K, args: SyscallArgs<K>): Generator<TrapRequest, SyscallResults[K], TrapResult> {
  const result: TrapResult = yield { sys, ...args } as unknown as TrapRequest;
  return result as SyscallResults[K];
}

export const sys = Object.fromEntries(
  (Object.keys(SYSCALL_TABLE) as SyscallName[]).map((name) => [name, (args: SyscallArgs<typeof name>) => trap(name, args)]),
) as { readonly [K in SyscallName]: Stub<K> };
