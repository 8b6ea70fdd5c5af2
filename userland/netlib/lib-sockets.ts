/**
 * The linked library (TcpLib) as a SocketApi. The adapter adds no trap and no cycle: `socket` and
 * `bind` stay plain library calls, so an application runs exactly as it did on TcpLib directly.
 */
import type { GuestContext } from '../../kernel/abi/guest.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import type { SetupPhases, SocketApi } from './socket-api.ts';
import { TcpLib } from './tcp-lib.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

export function libSocketApi(lib: TcpLib): SocketApi {
  return {
    *socket() { return lib.socket(); },
    *bind(fd, port) { return lib.bind(fd, port); },
    listen: (fd, backlog) => lib.listen(fd, backlog),
    accept: (fd) => lib.accept(fd),
    connect: (fd, ip, port) => lib.connect(fd, ip, port),
    read: (fd, max, timeoutNs) => lib.read(fd, max, timeoutNs),
    write: (fd, data) => lib.write(fd, data),
    shutdown: (fd) => lib.shutdown(fd),
    close: (fd, lingerNs) => lib.close(fd, lingerNs),
    poll: (fds, timeoutNs) => lib.poll(fds, timeoutNs),
    now: () => lib.now(),
    logFields: (kind) => (kind === 'sender' ? `frames=${lib.framesSent} txPageWaits=${lib.txPageWaits}` : `badFrames=${lib.badFramesIn}`),
    setupPhases(): SetupPhases | undefined {
      const s = lib.lastSetup;
      const w = s.registry;
      if (w === undefined) return undefined;
      return { totalUs: s.totalUs, outboundUs: w.outboundUs, peerRttUs: w.peerRttUs, channelUs: w.channelUs, tcbUs: w.tcbUs, registryTotalUs: w.registryTotalUs, importUs: s.importUs };
    },
  };
}

/** SocketOpener for the library: finds the registry server (TcpLib.init). */
export function* librarySockets(ctx: GuestContext): G<SocketApi | undefined> {
  const lib = yield* TcpLib.init(ctx);
  return lib === undefined ? undefined : libSocketApi(lib);
}
