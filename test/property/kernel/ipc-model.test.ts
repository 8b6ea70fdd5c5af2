/**
 * Model-based test of IPC rights (fc.commands + fc.modelRun) against a small reference model of
 * the rights each task holds. Three puppet tasks each receive on an "inbox" port to which every
 * task holds a send right (from the bootstrap service). Commands allocate ports, make rights, move
 * rights between tasks in messages (every disposition), deallocate and destroy names, probe other
 * tasks' names, and kill tasks. After every command the kernel's name spaces and right counts
 * must equal the model's:
 *  - a task acts on a port only through a right it was given (its entries are exactly the model's);
 *  - a name valid in task A used in task B fails or means B's own right;
 *  - right counts are conserved across transfers (port.srights / sorights recomputed from the model);
 *  - every right of a dead task is released (its space is empty, its ports are dead).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KERN, MACH_MSG } from '../../../kernel/abi/errors.ts';
import { MACH_MSG_OPTION, MACH_PORT_DEAD, MSG_TYPE, PORT_RIGHT, PORT_TYPE, msghBits } from '../../../kernel/abi/message.ts';
import type { Kernel } from '../../../kernel/kernel.ts';
import type { Port } from '../../../kernel/ipc/ipc.ts';
import { boot, Puppet } from '../../kernel/harness.ts';

const TASKS = 3;
const MSG_ID = 777;

interface MEntry {
  port: number; // model port id, -1 for a dead name
  send: number;
  recv: boolean;
  sendOnce: boolean;
  dead: number;
}
/** A right carried by one of our messages still queued on a port. */
interface Carried {
  kind: 'send' | 'send-once' | 'receive' | 'dead';
  port: number;
}
interface MPort {
  id: number;
  receiver: number | 'dead' | 'transit';
  inboxOf: number | undefined;
  /** Our messages queued on the port, oldest first (each carries one right). */
  queue: Carried[];
}
interface Model {
  alive: boolean[];
  entries: Map<number, MEntry>[];
  ports: MPort[];
  inbox: number[]; // model port id of each task's inbox
}
interface Real {
  kernel: Kernel;
  puppets: Puppet[];
  /** Model port id → kernel Port. */
  ports: Map<number, Port>;
}

const typeOf = (e: MEntry): number =>
  ((e.send > 0 ? PORT_TYPE.SEND : 0) | (e.recv ? PORT_TYPE.RECEIVE : 0) | (e.sendOnce ? PORT_TYPE.SEND_ONCE : 0) | (e.dead > 0 ? PORT_TYPE.DEAD_NAME : 0)) >>> 0;

function sortedNames(m: Model, t: number): number[] {
  return [...m.entries[t]!.keys()].sort((a, b) => a - b);
}

function entryFor(m: Model, t: number, port: number): [number, MEntry] | undefined {
  for (const [n, e] of m.entries[t]!) if (e.port === port && (e.send > 0 || e.recv)) return [n, e];
  return undefined;
}

function killPortInModel(m: Model, id: number): void {
  const p = m.ports[id]!;
  if (p.receiver === 'dead') return;
  p.receiver = 'dead';
  // Queued messages are destroyed with their rights; a receive right among them kills its port.
  for (const c of p.queue.splice(0)) if (c.kind === 'receive') killPortInModel(m, c.port);
  for (let t = 0; t < TASKS; t++) {
    for (const [n, e] of [...m.entries[t]!]) {
      if (e.port !== id) continue;
      e.recv = false;
      const refs = e.send + (e.sendOnce ? 1 : 0);
      e.send = 0;
      e.sendOnce = false;
      e.port = -1;
      e.dead += refs;
      if (e.dead === 0) m.entries[t]!.delete(n);
    }
  }
}

function call<T>(r: T | 'blocked' | 'dead'): T {
  if (r === 'blocked' || r === 'dead') throw new Error(`call ${r}`);
  return r;
}

/** Compare the kernel with the model. */
function checkInvariants(m: Model, r: Real): void {
  for (let t = 0; t < TASKS; t++) {
    const space = r.puppets[t]!.task.space;
    if (!m.alive[t]) {
      expect(space.entries.size).toBe(0);
      continue;
    }
    expect([...space.entries.keys()].sort((a, b) => a - b)).toEqual(sortedNames(m, t));
    for (const [n, e] of m.entries[t]!) {
      const k = space.entries.get(n)!;
      expect(k.type & ~PORT_TYPE.DNREQUEST).toBe(typeOf(e));
      if (e.send > 0) expect(k.sendRefs).toBe(e.send);
      if (e.dead > 0) expect(k.deadRefs).toBe(e.dead);
      if (e.port >= 0) expect(k.port).toBe(r.ports.get(e.port));
    }
  }
  for (const p of m.ports) {
    const kp = r.ports.get(p.id)!;
    expect(kp.dead).toBe(p.receiver === 'dead');
    if (p.receiver === 'dead') continue;
    let sends = p.inboxOf !== undefined ? 1 : 0; // the bootstrap registry's right
    let sendOnces = 0;
    for (let t = 0; t < TASKS; t++) {
      for (const e of m.entries[t]!.values()) {
        if (e.port !== p.id) continue;
        if (e.send > 0) sends++;
        if (e.sendOnce) sendOnces++;
      }
    }
    for (const q of m.ports) {
      for (const c of q.queue) {
        if (c.port !== p.id) continue;
        if (c.kind === 'send') sends++;
        if (c.kind === 'send-once') sendOnces++;
      }
    }
    // Destination rights of queued messages (ours: send; notifications: send-once).
    for (const k of kp.queue) {
      if (k.dest?.port !== kp) continue;
      if (k.dest.kind === 'send') sends++;
      else sendOnces++;
    }
    expect(kp.srights).toBe(sends);
    expect(kp.sorights).toBe(sendOnces);
    expect(kp.queue.filter((k) => k.id === MSG_ID).length).toBe(p.queue.length);
    const holder = p.receiver;
    expect(kp.receiver).toBe(holder === 'transit' ? undefined : r.puppets[holder]!.task.space);
  }
}

/**
 * Receive from a port through its receiver until one of our messages arrives (notifications are
 * skipped) or the queue is empty; our message's right is checked against the model and copied
 * into the receiver's model space. Returns whether one of ours was received.
 */
function receiveOne(m: Model, r: Real, portId: number): boolean {
  const p = m.ports[portId]!;
  if (typeof p.receiver !== 'number') return false;
  const rcv = p.receiver;
  const name = entryFor(m, rcv, portId)![0];
  for (let i = 0; i < 64; i++) {
    const x = call(r.puppets[rcv]!.call('mach_msg', { option: MACH_MSG_OPTION.RCV_MSG | MACH_MSG_OPTION.RCV_TIMEOUT, msg: null, rcvName: name, rcvSize: 1 << 16, timeoutMs: 0, notify: 0 }));
    if (x.kr === MACH_MSG.RCV_TIMED_OUT) {
      expect(p.queue).toEqual([]);
      return false;
    }
    expect(x.kr).toBe(MACH_MSG.SUCCESS);
    if (x.msg?.id !== MSG_ID) continue;
    const c = p.queue.shift();
    expect(c).toBeDefined();
    const it0 = x.msg.items[0]!;
    if (it0.type !== 'port') throw new Error('not a port item');
    copyoutModel(m, rcv, c!, it0.name);
    return true;
  }
  throw new Error('queue never drained');
}

/** The receiver's side of one carried right, checked against the name the kernel chose. */
function copyoutModel(m: Model, rcv: number, c: Carried, name: number): void {
  const port = c.port;
  if (c.kind === 'dead' || (c.kind !== 'receive' && m.ports[port]!.receiver === 'dead')) {
    expect(name).toBe(MACH_PORT_DEAD);
    return;
  }
  if (c.kind === 'send-once') {
    expect(m.entries[rcv]!.has(name)).toBe(false);
    m.entries[rcv]!.set(name, { port, send: 0, recv: false, sendOnce: true, dead: 0 });
    return;
  }
  const existing = entryFor(m, rcv, port);
  if (existing !== undefined) expect(name).toBe(existing[0]);
  else expect(m.entries[rcv]!.has(name)).toBe(false);
  const e = existing?.[1] ?? { port, send: 0, recv: false, sendOnce: false, dead: 0 };
  if (c.kind === 'receive') {
    e.recv = true;
    m.ports[port]!.receiver = rcv;
  } else e.send++;
  m.entries[rcv]!.set(name, e);
}

function drain(m: Model, r: Real, portId: number): void {
  while (receiveOne(m, r, portId));
}

type Cmd = fc.Command<Model, Real>;
export const STATS = { transfers: 0, moveReceive: 0, kills: 0, destroys: 0, posts: 0 };

class Allocate implements Cmd {
  constructor(readonly t: number) {}
  check = (m: Readonly<Model>) => m.alive[this.t]!;
  run(m: Model, r: Real): void {
    const res = call(r.puppets[this.t]!.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE }));
    expect(res.kr).toBe(KERN.SUCCESS);
    const id = m.ports.length;
    m.ports.push({ id, receiver: this.t, inboxOf: undefined, queue: [] });
    r.ports.set(id, r.puppets[this.t]!.task.space.entries.get(res.name)!.port!);
    m.entries[this.t]!.set(res.name, { port: id, send: 0, recv: true, sendOnce: false, dead: 0 });
    checkInvariants(m, r);
  }
  toString = () => `Allocate(${this.t})`;
}

class Make implements Cmd {
  constructor(
    readonly t: number,
    readonly i: number,
    readonly once: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.alive[this.t]! && m.entries[this.t]!.size > 0;
  run(m: Model, r: Real): void {
    const names = sortedNames(m, this.t);
    const name = names[this.i % names.length]!;
    const e = m.entries[this.t]!.get(name)!;
    const res = call(r.puppets[this.t]!.call('mach_port_insert_right', { name, disposition: this.once ? MSG_TYPE.MAKE_SEND_ONCE : MSG_TYPE.MAKE_SEND }));
    if (!e.recv) {
      expect(res.kr).toBe(KERN.INVALID_RIGHT);
    } else if (this.once) {
      expect(res.kr).toBe(KERN.SUCCESS);
      expect(m.entries[this.t]!.has(res.name)).toBe(false);
      m.entries[this.t]!.set(res.name, { port: e.port, send: 0, recv: false, sendOnce: true, dead: 0 });
    } else {
      expect(res).toEqual({ kr: KERN.SUCCESS, name });
      e.send++;
    }
    checkInvariants(m, r);
  }
  toString = () => `Make(${this.t},${this.i},${this.once})`;
}

const DISPOSITIONS = [MSG_TYPE.MOVE_SEND, MSG_TYPE.COPY_SEND, MSG_TYPE.MAKE_SEND, MSG_TYPE.MAKE_SEND_ONCE, MSG_TYPE.MOVE_SEND_ONCE, MSG_TYPE.MOVE_RECEIVE] as const;

class Transfer implements Cmd {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly i: number,
    readonly d: (typeof DISPOSITIONS)[number],
    /** Leave the message queued (received later, or destroyed with its port). */
    readonly postOnly = false,
  ) {}
  check(m: Readonly<Model>): boolean {
    if (!m.alive[this.from]! || m.entries[this.from]!.size === 0) return false;
    const inbox = m.ports[m.inbox[this.to]!]!;
    if (inbox.receiver === 'dead') return false;
    if (!this.postOnly && (inbox.receiver === 'transit' || !m.alive[inbox.receiver]!)) return false;
    const dest = entryFor(m as Model, this.from, inbox.id);
    if (dest === undefined || dest[1].send === 0) return false;
    const names = sortedNames(m as Model, this.from);
    const item = m.entries[this.from]!.get(names[this.i % names.length]!)!;
    return !(item.port === inbox.id && this.d === MSG_TYPE.MOVE_RECEIVE);
  }
  run(m: Model, r: Real): void {
    const inboxId = m.inbox[this.to]!;
    // Choose the item as check() saw it; draining only adds rights (or merges into names).
    const names = sortedNames(m, this.from);
    const itemName = names[this.i % names.length]!;
    if (!this.postOnly) drain(m, r, inboxId);
    const [destName] = entryFor(m, this.from, inboxId)!;
    const item = m.entries[this.from]!.get(itemName)!;
    const d = this.d;
    // Is the item right available for this disposition (after the destination's COPY_SEND)?
    let ok: boolean;
    let dead = false;
    if (item.port < 0) {
      ok = item.dead > 0 && (d === MSG_TYPE.MOVE_SEND || d === MSG_TYPE.COPY_SEND || d === MSG_TYPE.MOVE_SEND_ONCE);
      dead = true;
    } else if (d === MSG_TYPE.MOVE_SEND || d === MSG_TYPE.COPY_SEND) ok = item.send > 0;
    else if (d === MSG_TYPE.MAKE_SEND || d === MSG_TYPE.MAKE_SEND_ONCE || d === MSG_TYPE.MOVE_RECEIVE) ok = item.recv;
    else ok = item.sendOnce;
    const kp = r.ports.get(inboxId)!;
    const full = kp.queue.length >= kp.qlimit;
    const res = call(
      r.puppets[this.from]!.call('mach_msg', {
        option: MACH_MSG_OPTION.SEND_MSG | MACH_MSG_OPTION.SEND_TIMEOUT,
        msg: { bits: msghBits(MSG_TYPE.COPY_SEND), remote: destName, local: 0, id: MSG_ID, items: [{ type: 'port', name: itemName, disposition: d }] },
        rcvName: 0,
        rcvSize: 0,
        timeoutMs: 0,
        notify: 0,
      }),
    );
    if (!ok) {
      expect(res.kr).toBe(MACH_MSG.SEND_INVALID_RIGHT);
      checkInvariants(m, r);
      return;
    }
    if (full) {
      // Nothing moved.
      expect(res.kr).toBe(MACH_MSG.SEND_TIMED_OUT);
      checkInvariants(m, r);
      return;
    }
    expect(res.kr).toBe(MACH_MSG.SUCCESS);
    STATS.transfers++;
    if (d === MSG_TYPE.MOVE_RECEIVE) STATS.moveReceive++;
    // Sender side.
    const port = item.port;
    let carried: Carried;
    if (dead) {
      if (d !== MSG_TYPE.COPY_SEND) item.dead--;
      carried = { kind: 'dead', port: -1 };
    } else if (d === MSG_TYPE.MOVE_SEND || d === MSG_TYPE.COPY_SEND || d === MSG_TYPE.MAKE_SEND) {
      if (d === MSG_TYPE.MOVE_SEND) item.send--;
      carried = { kind: 'send', port };
    } else if (d === MSG_TYPE.MOVE_SEND_ONCE || d === MSG_TYPE.MAKE_SEND_ONCE) {
      if (d === MSG_TYPE.MOVE_SEND_ONCE) item.sendOnce = false;
      carried = { kind: 'send-once', port };
    } else {
      item.recv = false;
      m.ports[port]!.receiver = 'transit';
      carried = { kind: 'receive', port };
    }
    if (typeOf(item) === 0) m.entries[this.from]!.delete(itemName);
    m.ports[inboxId]!.queue.push(carried);
    if (!this.postOnly) expect(receiveOne(m, r, inboxId)).toBe(true);
    else STATS.posts++;
    checkInvariants(m, r);
  }
  toString = () => `${this.postOnly ? 'Post' : 'Transfer'}(${this.from}->${this.to},${this.i},${this.d})`;
}

class Receive implements Cmd {
  constructor(readonly to: number) {}
  check = (m: Readonly<Model>) => {
    const p = m.ports[m.inbox[this.to]!]!;
    return typeof p.receiver === 'number' && m.alive[p.receiver]!;
  };
  run(m: Model, r: Real): void {
    receiveOne(m, r, m.inbox[this.to]!);
    checkInvariants(m, r);
  }
  toString = () => `Receive(inbox ${this.to})`;
}

class Deallocate implements Cmd {
  constructor(
    readonly t: number,
    readonly i: number,
    readonly destroy: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.alive[this.t]! && m.entries[this.t]!.size > 0;
  run(m: Model, r: Real): void {
    const names = sortedNames(m, this.t);
    const name = names[this.i % names.length]!;
    const e = m.entries[this.t]!.get(name)!;
    const p = r.puppets[this.t]!;
    if (this.destroy) {
      expect(call(p.call('mach_port_destroy', { name }))).toEqual({ kr: KERN.SUCCESS });
      m.entries[this.t]!.delete(name);
      if (e.recv) {
        STATS.destroys++;
        killPortInModel(m, e.port);
      }
    } else {
      const res = call(p.call('mach_port_deallocate', { name }));
      if (e.send > 0) e.send--;
      else if (e.sendOnce) e.sendOnce = false;
      else if (e.dead > 0) e.dead--;
      else {
        expect(res.kr).toBe(KERN.INVALID_RIGHT);
        checkInvariants(m, r);
        return;
      }
      expect(res.kr).toBe(KERN.SUCCESS);
      if (typeOf(e) === 0) m.entries[this.t]!.delete(name);
    }
    checkInvariants(m, r);
  }
  toString = () => `${this.destroy ? 'Destroy' : 'Deallocate'}(${this.t},${this.i})`;
}

class Probe implements Cmd {
  constructor(
    readonly t: number,
    readonly other: number,
    readonly i: number,
  ) {}
  check = (m: Readonly<Model>) => m.alive[this.t]! && this.other !== this.t && m.entries[this.other]!.size > 0;
  run(m: Model, r: Real): void {
    const names = sortedNames(m, this.other);
    const name = names[this.i % names.length]!;
    const res = call(r.puppets[this.t]!.call('mach_port_type', { name }));
    const mine = m.entries[this.t]!.get(name);
    if (mine === undefined) expect(res).toEqual({ kr: KERN.INVALID_NAME, type: 0 });
    else expect(res.type & ~PORT_TYPE.DNREQUEST).toBe(typeOf(mine));
    // Sending to it works only if it is the prober's own send right.
    checkInvariants(m, r);
  }
  toString = () => `Probe(${this.t} uses a name of ${this.other})`;
}

class Kill implements Cmd {
  constructor(readonly t: number) {}
  check = (m: Readonly<Model>) => m.alive[this.t]! && m.alive.filter((x) => x).length > 1;
  run(m: Model, r: Real): void {
    STATS.kills++;
    r.kernel.endTask(r.puppets[this.t]!.task, { kind: 'killed', by: 'test' });
    m.alive[this.t] = false;
    const mine = [...m.entries[this.t]!.values()];
    m.entries[this.t]!.clear();
    for (const e of mine) if (e.recv) killPortInModel(m, e.port);
    checkInvariants(m, r);
  }
  toString = () => `Kill(${this.t})`;
}

const task = fc.integer({ min: 0, max: TASKS - 1 });
const idx = fc.nat({ max: 50 });
const transfer = fc.tuple(task, task, idx, fc.constantFrom(...DISPOSITIONS)).map(([f, t, i, d]) => new Transfer(f, t, i, d));
const post = fc.tuple(task, task, idx, fc.constantFrom(...DISPOSITIONS)).map(([f, t, i, d]) => new Transfer(f, t, i, d, true));
const commands = fc.commands(
  [
    task.map((t) => new Allocate(t)),
    fc.tuple(task, idx, fc.boolean()).map(([t, i, o]) => new Make(t, i, o)),
    transfer,
    transfer,
    post,
    post,
    task.map((t) => new Receive(t)),
    fc.tuple(task, idx, fc.boolean()).map(([t, i, d]) => new Deallocate(t, i, d)),
    fc.tuple(task, task, idx).map(([t, o, i]) => new Probe(t, o, i)),
    task.map((t) => new Kill(t)),
  ],
  { maxCommands: 40, size: 'medium' },
);

describe('IPC rights against a reference model', () => {
  it('names, right counts and dead tasks agree with the model after every command', () => {
    fc.assert(
      fc.property(commands, (cmds) => {
        const { world, kernel } = boot();
        const puppets = Array.from({ length: TASKS }, (_, t) => new Puppet(world, kernel, `t${t}`));
        const model: Model = { alive: puppets.map(() => true), entries: puppets.map(() => new Map()), ports: [], inbox: [] };
        const real: Real = { kernel, puppets, ports: new Map() };
        // Inboxes: each task receives on one; every task looks all of them up.
        for (let t = 0; t < TASKS; t++) {
          const p = call(puppets[t]!.call('mach_port_allocate', { right: PORT_RIGHT.RECEIVE }));
          expect(call(puppets[t]!.call('bootstrap_register', { service: `inbox${t}`, name: p.name })).kr).toBe(0);
          model.ports.push({ id: t, receiver: t, inboxOf: t, queue: [] });
          model.inbox.push(t);
          model.entries[t]!.set(p.name, { port: t, send: 0, recv: true, sendOnce: false, dead: 0 });
          real.ports.set(t, puppets[t]!.task.space.entries.get(p.name)!.port!);
        }
        for (let t = 0; t < TASKS; t++) {
          for (let k = 0; k < TASKS; k++) {
            const l = call(puppets[t]!.call('bootstrap_look_up', { service: `inbox${k}` }));
            const e = entryFor(model, t, k);
            if (e !== undefined) {
              expect(l.name).toBe(e[0]);
              e[1].send++;
            } else model.entries[t]!.set(l.name, { port: k, send: 1, recv: false, sendOnce: false, dead: 0 });
          }
        }
        checkInvariants(model, real);
        fc.modelRun(() => ({ model, real }), cmds);
        // Finally every task dies: every right is released, every port is dead.
        for (const p of puppets) kernel.endTask(p.task, { kind: 'killed', by: 'test' });
        for (const p of real.ports.values()) if (p.receiver !== undefined) expect(p.dead).toBe(true);
        expect(world.trace.guestErrorsTotal).toBe(0);
      }),
      {},
    );
    // The generator must reach the interesting paths, not only skip commands.
    expect(STATS.transfers).toBeGreaterThan(50);
    expect(STATS.moveReceive).toBeGreaterThan(3);
    expect(STATS.posts).toBeGreaterThan(20);
    expect(STATS.kills + STATS.destroys).toBeGreaterThan(10);
  });
});
