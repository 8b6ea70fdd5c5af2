/**
 * What a protocol library (TcpLib, UdpLib) needs to talk to the registry server: its port (found
 * by bootstrap look-up, retried while the registry starts), a reply port, and the task's own
 * kernel port, which every request carries so that the registry knows whose it is.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import { MSG_TYPE, TASK_PORT, type PortName } from '../../kernel/abi/message.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { rpc } from '../mach/ipc.ts';
import { sys } from '../mach/syscalls.ts';
import { REGISTRY_SERVICE } from './registry-proto.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

export interface RegistryLink {
  readonly registry: PortName;
  readonly replyPort: PortName;
  readonly taskPort: PortName;
}

/** Find the registry (up to 200 look-ups 100 µs apart); undefined if there is none. */
export function* openRegistryLink(): G<RegistryLink | undefined> {
  let look = yield* sys.bootstrap_look_up({ service: REGISTRY_SERVICE });
  for (let i = 0; look.kr !== KERN.SUCCESS && i < 200; i++) {
    yield* sys.thread_sleep_ns({ ns: 100_000 });
    look = yield* sys.bootstrap_look_up({ service: REGISTRY_SERVICE });
  }
  if (look.kr !== KERN.SUCCESS) return undefined;
  const rp = yield* sys.mach_reply_port({});
  const tp = yield* sys.task_get_special_port({ which: TASK_PORT.KERNEL });
  return { registry: look.name, replyPort: rp.name, taskPort: tp.name };
}

/** One request `id` to the registry: the int32 words `values` and a copy of the task's port. */
export function* registryRequest(l: RegistryLink, id: number, values: number[]) {
  return yield* rpc(l.registry, l.replyPort, id, [
    { type: 'int32', values },
    { type: 'port', name: l.taskPort, disposition: MSG_TYPE.COPY_SEND },
  ]);
}
