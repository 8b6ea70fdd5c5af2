/**
 * Rerouting (issue 17 item 3, docs/reroute.md): the programs of the `reroute` scenario.
 *
 * - `relayStation`: a store-and-forward station on the Ethernet segment (the "other path"): a
 *   privileged task on its own host that takes, through its network I/O module's default channel,
 *   the IPv4 frames one station (`fromMac`) addresses to it and sends each on to another station
 *   (`toMac`) with its own address as the source — a one-armed gateway at the link level (no IP
 *   processing: TTL and checksum are left alone, so the TCP stream is the same bytes either way).
 * - `rerouteSender`: a library client that writes `phaseBytes` per phase and, between phases,
 *   asks the registry to move its connection to the next hop of `hops` (REROUTE), logging the
 *   switch's result and how long the request took.
 * - `rerouteReceiver`: accepts one connection, reads to the end checking every byte against the
 *   stream the sender writes (a function of the stream offset), and logs the time at which each
 *   phase's last byte arrived.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import { TASK_PORT } from '../../kernel/abi/message.ts';
import { encodeChannelSpec } from '../../kernel/abi/netio.ts';
import { sys } from '../mach/syscalls.ts';
import { RawChannel } from '../netlib/raw-channel.ts';
import { TcpLib } from '../netlib/tcp-lib.ts';
import { num, str } from './params.ts';
import { macFromHex } from './raw-exchange.ts';
import { streamByte } from './ttcp.ts';

/**
 * User cycles the relay spends deciding and rewriting one frame besides its copies (≈ 60
 * instructions at 1.5 cycles: read the ring entry, compare the source, rewrite 12 header bytes).
 * An estimate of the instruction count, not calibrated on any measurement.
 */
const RELAY_FRAME_CYCLES = 90;


/**
 * Privileged: the host's default channel (inbound: every frame the station receives; template:
 * destination `toMac`, source `selfMac`, IPv4), then forward the IPv4 frames from `fromMac` every frame that arrives, until the channel dies.
 * MACs as 12 hex digits. Logs `relay: up kr=...` once.
 */
export const relayStation: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const from = macFromHex(str(p, 'fromMac'));
  const to = macFromHex(str(p, 'toMac'));
  const self = macFromHex(str(p, 'selfMac'));
  const hp = yield* sys.task_get_special_port({ which: TASK_PORT.HOST_PRIV });
  const priv = yield* sys.net_priv_port({ hostPriv: hp.name });
  const spec = encodeChannelSpec({
    // The relay host runs no registry: its default channel (every frame no key claims) is the relay's.
    demux: { kind: 'none' },
    isDefault: true,
    template: [{ offset: 0, bytes: Uint8Array.of(...to, ...self, 0x08, 0x00) }],
  });
  const c = yield* sys.net_channel_create({ priv: priv.name, task: 0, link: 1, rxSlots: num(p, 'rxSlots', 64), txPages: 16, spec });
  yield* sys.debug_log({ text: `relay: up kr=${c.kr}` });
  if (c.kr !== KERN.SUCCESS) return;
  const ch = new RawChannel(ctx, { channel: c.name, address: c.address, sem: c.sem });
  for (;;) {
    const n = yield* ch.wait();
    if (n === 0) return;
    for (let k = 0; k < n; k++) {
      const s = ch.peek();
      const f = s.length >= 14 ? ch.read(s.offset, s.length) : undefined;
      // IPv4 frames from `fromMac` only (anything else on the segment is not the relay's to forward).
      if (f !== undefined && f[12] === 0x08 && f[13] === 0x00 && from.every((b, i) => f[6 + i] === b)) {
        f.set(to, 0);
        f.set(self, 6);
        ctx.spend(RELAY_FRAME_CYCLES);
        yield* ch.transmit(f);
      }
      ch.consume();
    }
  }
};

/**
 * Library client: connect to `peerIp`:`port` (from `localPort`, if given), then write `phases` × `phaseBytes` (in writes of
 * `writeSize`). When phase k ≥ 1 begins, a kernel thread of the task (thread_create) asks the
 * registry to REROUTE the connection to the k-th entry of `hops` (12-hex-digit station addresses,
 * comma-separated) while this thread goes on writing: the switch lands mid-stream, with frames in
 * the ring, in the LANCE and in net_send. Logs `switch k=<phase> kr=<code> ns=<request to reply>
 * at=<clock>` per reroute, then `sent=<n> ns=<t> reroutes=<taken up>`.
 */
export const rerouteSender: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = yield* TcpLib.init(ctx);
  if (lib === undefined) return;
  const hops = str(p, 'hops').split(',').filter((x) => x !== '').map((x) => parseInt(x, 16));
  const phaseBytes = num(p, 'phaseBytes', 256 * 1024);
  const ws = num(p, 'writeSize', 4096);
  const fd = lib.socket();
  if (num(p, 'localPort', 0) !== 0) lib.bind(fd, num(p, 'localPort', 0));
  const kr = yield* lib.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 5001));
  if (kr < 0) {
    yield* sys.debug_log({ text: `connect failed ${kr}` });
    return;
  }
  let switchesDone = 0;
  const switcher = (k: number): GuestProgram =>
    function* () {
      const a = yield* lib.now();
      const r = yield* lib.reroute(fd, hops[k - 1]!);
      const b = yield* lib.now();
      yield* sys.debug_log({ text: `switch k=${k} kr=${r} ns=${b - a} at=${a}` });
      switchesDone++;
    };
  const buf = new Uint8Array(ws);
  const t0 = yield* lib.now();
  let sent = 0;
  for (let phase = 0; phase <= hops.length; phase++) {
    // One switch at a time: the previous one has answered (the library's reply port is shared).
    while (switchesDone < phase - 1) yield* sys.thread_sleep_ns({ ns: 100_000 });
    if (phase > 0) yield* sys.thread_create({ program: switcher(phase), priority: 0 });
    const end = (phase + 1) * phaseBytes;
    while (sent < end) {
      const n = Math.min(ws, end - sent);
      for (let i = 0; i < n; i++) buf[i] = streamByte(sent + i);
      const w = yield* lib.write(fd, n === ws ? buf : buf.subarray(0, n));
      if (typeof w !== 'number' || w < 0) {
        yield* sys.debug_log({ text: `write failed ${String(w)} sent=${sent}` });
        return;
      }
      sent += w;
    }
  }
  while (switchesDone < hops.length) yield* sys.thread_sleep_ns({ ns: 100_000 });
  const t1 = yield* lib.now();
  const seen = lib.reroutesSeen(fd);
  yield* lib.close(fd);
  yield* sys.debug_log({ text: `sent=${sent} ns=${t1 - t0} reroutes=${seen}` });
};

/**
 * Library server: accept one connection on `port`, read to end of stream checking every byte, and
 * log `received=<n> bad=<n> t0=<first byte> t1=... tN=<phase N's last byte>` (clock ns), phases of
 * `phaseBytes` each.
 */
export const rerouteReceiver: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = yield* TcpLib.init(ctx);
  if (lib === undefined) return;
  const phaseBytes = num(p, 'phaseBytes', 256 * 1024);
  const ls = lib.socket();
  lib.bind(ls, num(p, 'port', 5001));
  yield* lib.listen(ls, 1);
  const fd = yield* lib.accept(ls);
  if (fd < 0) {
    yield* sys.debug_log({ text: `accept failed ${fd}` });
    return;
  }
  let received = 0;
  let bad = 0;
  const marks: number[] = [];
  for (;;) {
    const d = yield* lib.read(fd, 1 << 16);
    if (typeof d === 'number') {
      yield* sys.debug_log({ text: `read error ${d}` });
      break;
    }
    if (d.length === 0) break;
    const t = yield* lib.now();
    if (marks.length === 0) marks.push(t);
    for (let i = 0; i < d.length; i++) if (d[i] !== streamByte(received + i)) bad++;
    ctx.spend(d.length); // the check touches every byte
    received += d.length;
    while (received >= marks.length * phaseBytes) marks.push(t);
  }
  yield* lib.close(fd);
  yield* sys.debug_log({ text: `received=${received} bad=${bad} ${marks.map((m, i) => `t${i}=${m}`).join(' ')}` });
};
