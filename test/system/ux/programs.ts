/** Guest programs used only by the single server's system tests (written against SocketApi / raw Mach messages). */
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { MSG_TYPE, PORT_RIGHT, TASK_PORT, type MsgItem } from '../../../kernel/abi/message.ts';
import { num } from '../../../userland/apps/params.ts';
import { rpc, send } from '../../../userland/mach/ipc.ts';
import { sys } from '../../../userland/mach/syscalls.ts';
import { UX_MSG, UX_SERVICE } from '../../../userland/ux/ux-proto.ts';
import { UxSockets } from '../../../userland/ux/ux-sockets.ts';

const byteAt = (i: number, salt: number): number => (i * 13 + salt + (i >>> 9)) & 0xff;

/** Server: accept `conns` connections, each served by its own thread (its own UxSockets): read to EOF checking the bytes, answer the count (4 bytes), close. */
export const countServer: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const api = (yield* UxSockets.init(ctx))!;
  const ls = yield* api.socket();
  yield* api.bind(ls, num(p, 'port', 80));
  yield* api.listen(ls, 16);
  let done = 0;
  let bad = 0;
  const conns = num(p, 'conns', 1);
  for (let i = 0; i < conns; i++) {
    const fd = yield* api.accept(ls);
    if (fd < 0) continue;
    yield* sys.thread_create({
      priority: -1,
      program: function* (tctx) {
        const t = (yield* UxSockets.init(tctx))!;
        let got = 0;
        let salt = -1;
        for (;;) {
          const d = yield* t.read(fd, 1 << 14);
          if (typeof d === 'number' || d.length === 0) break;
          for (let k = 0; k < d.length; k++) {
            if (salt < 0) salt = d[0]!;
            if (d[k] !== byteAt(got + k, salt)) bad++;
          }
          got += d.length;
        }
        yield* t.write(fd, Uint8Array.of(got >>> 24, (got >>> 16) & 0xff, (got >>> 8) & 0xff, got & 0xff));
        yield* t.close(fd);
        done++;
      },
    });
  }
  while (done < conns) yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  yield* sys.debug_log({ text: `served=${done} bad=${bad}` });
};

/** Client task: send `bytes` (salt `salt`) in 1000-byte writes, half-close, read the count back. Logs `count=<n>`. */
export const countClient: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const api = (yield* UxSockets.init(ctx))!;
  yield* sys.thread_sleep_ns({ ns: 1_000_000 });
  const fd = yield* api.socket();
  const kr = yield* api.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 80));
  if (kr < 0) {
    yield* sys.debug_log({ text: `connect failed ${kr}` });
    return;
  }
  const bytes = num(p, 'bytes', 10_000);
  const salt = num(p, 'salt', 1);
  const buf = new Uint8Array(bytes);
  buf.forEach((_, k) => (buf[k] = byteAt(k, salt)));
  for (let off = 0; off < bytes; off += 1000) yield* api.write(fd, buf.subarray(off, Math.min(bytes, off + 1000)));
  yield* api.shutdown(fd);
  const d = yield* api.read(fd, 4);
  const got = typeof d === 'number' ? d : d.length === 4 ? (((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0) : -1000 - d.length;
  yield* api.close(fd);
  yield* sys.debug_log({ text: `count=${got}` });
};

/** Connects and then blocks in read for good (its read stays parked in the server). */
export const idleReader: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const api = (yield* UxSockets.init(ctx))!;
  const fd = yield* api.socket();
  const kr = yield* api.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 80));
  yield* sys.debug_log({ text: `idle connected ${kr}` });
  const d = yield* api.read(fd, 100);
  yield* sys.debug_log({ text: `idle read ${typeof d === 'number' ? d : d.length}` });
};

/** Connect to a port nobody listens on; a read with a timeout on a fresh connection. Logs `connect=<code>`. */
export const refusedClient: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const api = (yield* UxSockets.init(ctx))!;
  const fd = yield* api.socket();
  const kr = yield* api.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 81));
  const again = yield* api.connect(fd, num(p, 'peerIp', 0), num(p, 'port', 81));
  const closed = yield* api.close(fd);
  const twice = yield* api.close(fd);
  yield* sys.debug_log({ text: `connect=${kr} again=${again} close=${closed} twice=${twice}` });
};

/** Sends malformed requests straight to the server's ports and logs every reply code (`codes=a,b,...`). */
export const malformed: GuestProgram = function* () {
  const look = yield* sys.bootstrap_look_up({ service: UX_SERVICE });
  const rp = (yield* sys.mach_reply_port({})).name;
  const tp = (yield* sys.task_get_special_port({ which: TASK_PORT.KERNEL })).name;
  const code = (r: { kr: number; msg: { items: readonly { type: string; values?: readonly number[] }[] } | undefined }): number => {
    const w = r.msg?.items.find((i) => i.type === 'int32');
    return r.kr !== 0 ? r.kr : (w?.values?.[0] ?? 9999) | 0;
  };
  const codes: number[] = [];
  // On the service port: an unknown id, HELLO without a task port.
  codes.push(code(yield* rpc(look.name, rp, 4242, [{ type: 'int32', values: [1, 2, 3] }])));
  codes.push(code(yield* rpc(look.name, rp, UX_MSG.HELLO, [{ type: 'int32', values: [] }])));
  codes.push(code(yield* rpc(look.name, rp, UX_MSG.WRITE, [{ type: 'inline', data: new Uint8Array(10) }])));
  // A proper HELLO, then garbage on the session port.
  const h = yield* rpc(look.name, rp, UX_MSG.HELLO, [{ type: 'int32', values: [] }, { type: 'port', name: tp, disposition: MSG_TYPE.COPY_SEND }]);
  const sp = h.msg?.items.find((i) => i.type === 'port');
  const session = sp?.type === 'port' ? sp.name : 0;
  const on = function* (id: number, items: MsgItem[]) {
    codes.push(code(yield* rpc(session, rp, id, items)));
  };
  yield* on(9999, []); // unknown call
  yield* on(UX_MSG.READ, []); // no words: fd 0 is not ours
  yield* on(UX_MSG.WRITE, [{ type: 'int32', values: [12345] }, { type: 'inline', data: new Uint8Array(4) }]); // foreign fd
  const fd = code(yield* rpc(session, rp, UX_MSG.SOCKET, [{ type: 'int32', values: [] }]));
  codes.push(fd);
  yield* on(UX_MSG.BIND, [{ type: 'int32', values: [fd, 70000] }]); // port out of range
  yield* on(UX_MSG.CONNECT, [{ type: 'int32', values: [fd, 1, -5] }]); // bad port
  yield* on(UX_MSG.READ, [{ type: 'int32', values: [fd, 100] }]); // not connected
  yield* on(UX_MSG.WRITE, [{ type: 'int32', values: [fd] }, { type: 'inline', data: new Uint8Array(40_000) }]); // too large and not connected
  yield* on(UX_MSG.LISTEN, [{ type: 'int32', values: [fd] }]); // not bound
  yield* on(UX_MSG.ACCEPT, [{ type: 'int32', values: [fd] }]); // not listening
  // Rights and out-of-line memory the server must release.
  const extra = (yield* sys.mach_port_allocate({ right: PORT_RIGHT.RECEIVE })).name;
  const mem = (yield* sys.vm_allocate({ address: 0, size: 8192, anywhere: true })).address;
  yield* on(UX_MSG.SHUTDOWN, [{ type: 'int32', values: [fd] }, { type: 'port', name: extra, disposition: MSG_TYPE.MAKE_SEND }, { type: 'ool', address: mem, size: 8192, deallocate: false }]);
  // No reply port at all: dropped.
  yield* send(session, UX_MSG.SOCKET, [{ type: 'int32', values: [] }]);
  // Still served: a proper call after all that.
  codes.push(code(yield* rpc(session, rp, UX_MSG.SOCKET, [{ type: 'int32', values: [] }])));
  yield* sys.debug_log({ text: `codes=${codes.join(',')}` });
};
