/**
 * The paper's Table 1 micro-benchmark programs (P §4 "Impact of Mechanisms"): two applications
 * exchange maximum-sized raw frames through network I/O channels, no protocol above the link:
 * shared memory, semaphore waits, the kernel's template check and demultiplexing are all on the
 * path. Plus `channelBroker`, a privileged stand-in for the registry server that creates the
 * channels with the module's privileged port and hands each application its grant (send right,
 * region address, semaphore) in an ordinary Mach message.
 *
 * Parameters are task parameters (numbers/strings), MACs as 12 hex digits.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { MSG_TYPE, PORT_RIGHT, TASK_PORT } from '../../kernel/abi/message.ts';
import { encodeChannelSpec } from '../../kernel/abi/netio.ts';
import { receive, send } from '../mach/ipc.ts';
import { sys } from '../mach/syscalls.ts';
import { RawChannel } from '../netlib/raw-channel.ts';
import { num, str } from './params.ts';

/** Message id of a channel grant: items = [channel send right, int32 [address, sem, bqi]]. */
export const GRANT_MSG_ID = 0x4e10;

export function macFromHex(s: string): Uint8Array {
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16) & 0xff;
  return out;
}

/** A zeroed raw Ethernet frame of `length` bytes with the header the parameters name: `dst`, `src` (hex MACs), `etherType` (default 0x88b5). */
export function rawFrameOf(p: Readonly<Record<string, unknown>>, length: number): Uint8Array {
  const frame = new Uint8Array(length);
  frame.set(macFromHex(str(p, 'dst')), 0);
  frame.set(macFromHex(str(p, 'src')), 6);
  const et = num(p, 'etherType', 0x88b5);
  frame[12] = et >>> 8;
  frame[13] = et & 0xff;
  return frame;
}


/**
 * Privileged: for i < params.apps, create a raw Ethernet channel owned by the task whose task
 * port is params.task<i> (template: dst params.dst<i>, src params.src<i>, EtherType
 * params.etherType; inbound key: frames of that EtherType from params.dst<i>) and send its grant
 * to the bootstrap service params.service<i>.
 */
export const channelBroker: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const hp = yield* sys.task_get_special_port({ which: TASK_PORT.HOST_PRIV });
  const priv = yield* sys.net_priv_port({ hostPriv: hp.name });
  if (priv.kr !== KERN.SUCCESS) {
    yield* sys.debug_log({ text: `broker: no privileged port (${priv.kr})` });
    return;
  }
  const etherType = num(p, 'etherType', 0x88b5);
  for (let i = 0; i < num(p, 'apps', 0); i++) {
    const dst = macFromHex(str(p, `dst${i}`));
    const src = macFromHex(str(p, `src${i}`));
    const spec = encodeChannelSpec({
      demux: { kind: 'raw', etherType, srcMac: dst },
      isDefault: false,
      template: [
        { offset: 0, bytes: dst },
        { offset: 6, bytes: src },
        { offset: 12, bytes: Uint8Array.of(etherType >>> 8, etherType & 0xff) },
      ],
    });
    const c = yield* sys.net_channel_create({ priv: priv.name, task: num(p, `task${i}`, 0), link: 1, rxSlots: num(p, 'rxSlots', 32), txPages: num(p, 'txPages', 4), spec });
    yield* sys.debug_log({ text: `broker: channel ${i} kr=${c.kr} address=${c.address}` });
    if (c.kr !== KERN.SUCCESS) continue;
    let look = yield* sys.bootstrap_look_up({ service: str(p, `service${i}`) });
    for (let tries = 0; look.kr !== KERN.SUCCESS && tries < 1000; tries++) {
      yield* sys.thread_sleep_ns({ ns: 100_000 });
      look = yield* sys.bootstrap_look_up({ service: str(p, `service${i}`) });
    }
    yield* send(look.name, GRANT_MSG_ID, [
      { type: 'port', name: c.name, disposition: MSG_TYPE.MOVE_SEND },
      { type: 'int32', values: [c.address, c.sem, c.bqi] },
    ]);
  }
};

/** Register params.service and wait for the broker's grant. */
function* awaitGrant(service: string) {
  const { name: port } = yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE });
  yield* sys.mach_port_insert_right({ name: port, disposition: MSG_TYPE.MAKE_SEND });
  yield* sys.bootstrap_register({ service, name: port });
  const r = yield* receive(port);
  const items = r.msg?.items ?? [];
  const right = items[0];
  const ints = items[1];
  if (right?.type !== 'port' || ints?.type !== 'int32') return undefined;
  return { channel: right.name, address: ints.values[0] ?? 0, sem: ints.values[1] ?? 0 };
}

/** Fill bytes 14.. of a frame with a pattern the receiver can spot-check. */
function payload(frame: Uint8Array): void {
  for (let k = 18; k < frame.length; k++) frame[k] = (k * 7 + 3) & 0xff;
}

/**
 * Sender: params.frames frames of params.frameBytes (≤ 1514) to params.dst from params.src,
 * sequence number (big-endian) at bytes 14..17. The frame sits in the transmit area; each round
 * rewrites the sequence number and traps. Logs `sent=<n> refused=<n>`.
 */
export const rawSender: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const grant = yield* awaitGrant(str(p, 'service'));
  if (grant === undefined) return;
  const ch = new RawChannel(ctx, grant);
  const length = num(p, 'frameBytes', 1514);
  const frame = rawFrameOf(p, length);
  payload(frame);
  const at = ch.put(frame);
  const seqAddr = grant.address + at + 14;
  let sent = 0;
  let refused = 0;
  const n = num(p, 'frames', 1000);
  const t0 = yield* sys.clock_get_ns({});
  for (let seq = 0; seq < n; seq++) {
    ctx.mem.write8(seqAddr, seq >>> 24);
    ctx.mem.write8(seqAddr + 1, (seq >>> 16) & 0xff);
    ctx.mem.write8(seqAddr + 2, (seq >>> 8) & 0xff);
    ctx.mem.write8(seqAddr + 3, seq & 0xff);
    ctx.spend(10);
    const kr = yield* ch.send(at, length);
    if (kr === KERN.SUCCESS) sent++;
    else refused++;
  }
  const t1 = yield* sys.clock_get_ns({});
  yield* sys.debug_log({ text: `sent=${sent} refused=${refused} sendNs=${t1.ns - t0.ns}` });
};

/**
 * Receiver: wait on the semaphore, consume every frame in the ring (check sequence order and the
 * pattern at one byte), hand slots back; stop after params.frames frames or params.idleNs
 * without one. Logs `received=<n> bad=<n> firstNs=<t> lastNs=<t> bytes=<user data bytes after the first frame>`.
 */
export const rawReceiver: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const grant = yield* awaitGrant(str(p, 'service'));
  if (grant === undefined) return;
  const ch = new RawChannel(ctx, grant);
  const n = num(p, 'frames', 1000);
  const idleNs = num(p, 'idleNs', 50_000_000);
  let received = 0;
  let bad = 0;
  let next = 0;
  let firstNs = -1;
  let lastNs = -1;
  let bytesAfterFirst = 0;
  yield* sys.debug_log({ text: 'ready' });
  while (received < n) {
    const waiting = yield* ch.wait(idleNs);
    if (waiting === 0) break;
    const now = yield* sys.clock_get_ns({});
    for (let k = 0; k < waiting; k++) {
      const f = ch.peek();
      const h = ch.read(f.offset + 14, 8);
      const seq = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
      if (seq !== next || f.length < 22 || h[4] !== ((18 * 7 + 3) & 0xff)) bad++;
      next = seq + 1;
      ctx.spend(30);
      ch.consume();
      received++;
      if (firstNs < 0) firstNs = now.ns;
      else bytesAfterFirst += f.length - 14;
    }
    lastNs = now.ns;
    if (ch.link === 'an1') yield* ch.rxDone();
  }
  yield* sys.debug_log({ text: `received=${received} bad=${bad} firstNs=${firstNs} lastNs=${lastNs} bytes=${bytesAfterFirst}` });
};

/**
 * A sink for one channel granted through parameters (channel, address, sem — names and address
 * in this task, set by whoever created the channel before the task ran): consume every frame,
 * hand slots back once per wake-up (RX_TAIL; on AN1 also net_rx_done, which re-posts them), until params.frames
 * frames or params.idleNs without one. Logs `received=<n>`.
 */
export const rawSink: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const ch = new RawChannel(ctx, { channel: num(p, 'channel', 0), address: num(p, 'address', 0), sem: num(p, 'sem', 0) });
  const n = num(p, 'frames', 1000);
  const idleNs = num(p, 'idleNs', 50_000_000);
  let received = 0;
  while (received < n) {
    const waiting = yield* ch.wait(idleNs);
    if (waiting === 0) break;
    for (let k = 0; k < waiting; k++) {
      ch.peek();
      ctx.spend(30);
      ch.consume();
      received++;
    }
    if (ch.link === 'an1') yield* ch.rxDone(); // Ethernet slots are free once RX_TAIL moves
  }
  yield* sys.debug_log({ text: `received=${received}` });
};
