/**
 * What a protocol library (TcpLib, UdpLib; the single server's emulation library, ux-sockets.ts)
 * needs to talk to its server: the server's port (found by bootstrap look-up, retried while the
 * server starts), a reply port, and the task's own kernel port, which every request carries so
 * that the server knows whose it is.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import { MSG_TYPE, TASK_PORT, type PortName } from '../../kernel/abi/message.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { rpc } from '../mach/ipc.ts';
import { sys } from '../mach/syscalls.ts';
import { REGISTRY_SERVICE } from './registry-proto.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

export interface ServiceLink {
  readonly server: PortName;
  readonly replyPort: PortName;
  readonly taskPort: PortName;
}

/** Find `service` (up to 200 look-ups 100 µs apart); undefined if there is none. */
export function* openServiceLink(service: string): G<ServiceLink | undefined> {
  let look = yield* sys.bootstrap_look_up({ service });
  for (let i = 0; look.kr !== KERN.SUCCESS && i < 200; i++) {
    yield* sys.thread_sleep_ns({ ns: 100_000 });
    look = yield* sys.bootstrap_look_up({ service });
  }
  if (look.kr !== KERN.SUCCESS) return undefined;
  const rp = yield* sys.mach_reply_port({});
  const tp = yield* sys.task_get_special_port({ which: TASK_PORT.KERNEL });
  return { server: look.name, replyPort: rp.name, taskPort: tp.name };
}

/** The registry server's link. */
export const openRegistryLink = (): G<ServiceLink | undefined> => openServiceLink(REGISTRY_SERVICE);

/** One request `id` to the server: the int32 words `values` and a copy of the task's port. */
export function* serviceRequest(l: ServiceLink, id: number, values: number[]) {
  return yield* rpc(l.server, l.replyPort, id, [
    { type: 'int32', values },
    { type: 'port', name: l.taskPort, disposition: MSG_TYPE.COPY_SEND },
  ]);
}
