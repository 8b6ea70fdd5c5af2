/**
 * Small user-level helpers over mach_msg (what MIG stubs and libmach give a C program): build a
 * message, send it, receive one, make an RPC, reply to an RPC. Plain generators over the stubs.
 */
import { MACH_MSG } from '../../kernel/abi/errors.ts';
import {
  MACH_MSG_OPTION,
  MACH_PORT_NULL,
  MSG_SIZE_MAX,
  MSG_TYPE,
  msghBits,
  type MachMsg,
  type MsgItem,
  type PortName,
  type ReceivedMsg,
} from '../../kernel/abi/message.ts';
import type { TrapRequest, TrapResult } from '../../kernel/abi/syscalls.ts';
import { sys } from './syscalls.ts';

type G<T> = Generator<TrapRequest, T, TrapResult>;

export interface SendOptions {
  /** Disposition of the destination right (default COPY_SEND). */
  readonly remoteDisposition?: number;
  /** A reply right and its disposition (default MAKE_SEND_ONCE when `reply` is given). */
  readonly reply?: PortName;
  readonly replyDisposition?: number;
  /** Give up after this many ms when the queue is full (0 = do not wait). */
  readonly timeoutMs?: number;
}

export function buildMsg(remote: PortName, id: number, items: readonly MsgItem[], o: SendOptions = {}): MachMsg {
  const reply = o.reply ?? MACH_PORT_NULL;
  const ld = reply === MACH_PORT_NULL ? 0 : (o.replyDisposition ?? MSG_TYPE.MAKE_SEND_ONCE);
  return { bits: msghBits(o.remoteDisposition ?? MSG_TYPE.COPY_SEND, ld), remote, local: reply, id, items };
}

/** Send one message; returns the mach_msg code. */
export function* send(remote: PortName, id: number, items: readonly MsgItem[], o: SendOptions = {}): G<number> {
  const option = MACH_MSG_OPTION.SEND_MSG | (o.timeoutMs !== undefined ? MACH_MSG_OPTION.SEND_TIMEOUT : 0);
  const r = yield* sys.mach_msg({ option, msg: buildMsg(remote, id, items, o), rcvName: MACH_PORT_NULL, rcvSize: 0, timeoutMs: o.timeoutMs ?? 0, notify: MACH_PORT_NULL });
  return r.kr;
}

/** Receive one message from a receive right or port set (timeoutMs: give up after that long). */
export function* receive(name: PortName, timeoutMs?: number, rcvSize = MSG_SIZE_MAX): G<{ kr: number; msg: ReceivedMsg | undefined }> {
  const option = MACH_MSG_OPTION.RCV_MSG | (timeoutMs !== undefined ? MACH_MSG_OPTION.RCV_TIMEOUT : 0);
  const r = yield* sys.mach_msg({ option, msg: null, rcvName: name, rcvSize, timeoutMs: timeoutMs ?? 0, notify: MACH_PORT_NULL });
  return { kr: r.kr, msg: r.msg };
}

/** Send a request with a send-once reply right made from `replyPort`, then receive the reply there (one trap). */
export function* rpc(remote: PortName, replyPort: PortName, id: number, items: readonly MsgItem[]): G<{ kr: number; msg: ReceivedMsg | undefined }> {
  const r = yield* sys.mach_msg({
    option: MACH_MSG_OPTION.SEND_MSG | MACH_MSG_OPTION.RCV_MSG,
    msg: buildMsg(remote, id, items, { reply: replyPort }),
    rcvName: replyPort,
    rcvSize: MSG_SIZE_MAX,
    timeoutMs: 0,
    notify: MACH_PORT_NULL,
  });
  return { kr: r.kr, msg: r.msg };
}

/** Reply to a received request through its reply right (MIG convention: id + 100), then wait for the next request on `rcvName` (one trap). */
export function* replyAndReceive(request: ReceivedMsg, items: readonly MsgItem[], rcvName: PortName): G<{ kr: number; msg: ReceivedMsg | undefined }> {
  const r = yield* sys.mach_msg({
    option: MACH_MSG_OPTION.SEND_MSG | MACH_MSG_OPTION.RCV_MSG,
    msg: { bits: msghBits(request.bits & 0xff), remote: request.remote, local: MACH_PORT_NULL, id: request.id + 100, items },
    rcvName,
    rcvSize: MSG_SIZE_MAX,
    timeoutMs: 0,
    notify: MACH_PORT_NULL,
  });
  return { kr: r.kr, msg: r.msg };
}

/** Reply without waiting. */
export function* reply(request: ReceivedMsg, items: readonly MsgItem[]): G<number> {
  const r = yield* sys.mach_msg({
    option: MACH_MSG_OPTION.SEND_MSG,
    msg: { bits: msghBits(request.bits & 0xff), remote: request.remote, local: MACH_PORT_NULL, id: request.id + 100, items },
    rcvName: MACH_PORT_NULL,
    rcvSize: 0,
    timeoutMs: 0,
    notify: MACH_PORT_NULL,
  });
  return r.kr;
}

export const ok = (kr: number): boolean => kr === MACH_MSG.SUCCESS;
