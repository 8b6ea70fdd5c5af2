/**
 * Two tasks exchanging messages over a port (the README's example). The server allocates a port,
 * publishes a send right under "echo" in the bootstrap service and answers each request on the
 * send-once reply right that came with it; the client looks the service up, makes `rounds` RPCs
 * carrying inline bytes, checks each reply, and sends "quit".
 *
 *   const server = kernel.spawn('echo-server', echoServer);
 *   const client = kernel.spawn('echo-client', echoClient, { params: { rounds: 5 } });
 */
import { BOOTSTRAP, KERN, MACH_MSG } from '../../kernel/abi/errors.ts';
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { PORT_RIGHT, type ReceivedMsg } from '../../kernel/abi/message.ts';
import { receive, reply, rpc, send } from '../mach/ipc.ts';
import { sys } from '../mach/syscalls.ts';

export const ECHO_SERVICE = 'echo';
export const ECHO_REQUEST_ID = 1000;
export const ECHO_QUIT_ID = 1999;

function inlineOf(m: ReceivedMsg): Uint8Array {
  const it = m.items[0];
  return it !== undefined && it.type === 'inline' ? it.data : new Uint8Array(0);
}

/** Reverses the bytes of every request; exits on ECHO_QUIT_ID. */
export const echoServer: GuestProgram = function* (ctx) {
  const { name: port } = yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE });
  const r = yield* sys.bootstrap_register({ service: ECHO_SERVICE, name: port });
  if (r.kr !== KERN.SUCCESS) {
    yield* sys.task_exit({ code: 2 });
    return;
  }
  let served = 0;
  for (;;) {
    const { kr, msg } = yield* receive(port);
    if (kr !== MACH_MSG.SUCCESS || msg === undefined) continue;
    if (msg.id === ECHO_QUIT_ID) break;
    const data = inlineOf(msg);
    ctx.spend(10 * data.length); // the "work": reverse the bytes
    yield* reply(msg, [{ type: 'inline', data: data.slice().reverse() }]);
    served++;
  }
  yield* sys.debug_log({ text: `echo server: served ${served}` });
  yield* sys.task_exit({ code: 0 });
};

export const echoClient: GuestProgram = function* (ctx) {
  const rounds = typeof ctx.params['rounds'] === 'number' ? ctx.params['rounds'] : 5;
  let server = 0;
  for (let tries = 0; server === 0 && tries < 100; tries++) {
    const l = yield* sys.bootstrap_look_up({ service: ECHO_SERVICE });
    if (l.kr === KERN.SUCCESS) server = l.name;
    else if (l.kr === BOOTSTRAP.UNKNOWN_SERVICE) yield* sys.thread_sleep_ns({ ns: 50_000 });
  }
  if (server === 0) {
    yield* sys.task_exit({ code: 3 });
    return;
  }
  const { name: replyPort } = yield* sys.mach_reply_port({});
  let good = 0;
  for (let i = 0; i < rounds; i++) {
    const data = new Uint8Array([i, i + 1, i + 2, 0x55]);
    const { kr, msg } = yield* rpc(server, replyPort, ECHO_REQUEST_ID, [{ type: 'inline', data }]);
    if (kr === MACH_MSG.SUCCESS && msg !== undefined && msg.id === ECHO_REQUEST_ID + 100) {
      const back = inlineOf(msg);
      if (back.length === 4 && back[0] === 0x55 && back[3] === i) good++;
    }
  }
  yield* send(server, ECHO_QUIT_ID, []);
  yield* sys.debug_log({ text: `echo client: ${good}/${rounds} replies correct` });
  yield* sys.task_exit({ code: good === rounds ? 0 : 1 });
};
