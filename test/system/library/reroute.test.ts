/**
 * Rerouting end to end (issue 17 item 3, docs/reroute.md): the `reroute` scenario moves a library
 * TCP connection through a relay station and back mid-transfer, byte-exact on several seeds (and
 * under loss); the registry's REROUTE is authorised — a task cannot reroute another task's
 * connection (its request valid in every field but the ownership proof), nor its own to a hop the
 * registry does not approve (valid in every field but the hop), nor any channel without the
 * registry (the module's trap needs the privileged port).
 */
import { describe, expect, it } from 'vitest';
import { KERN } from '../../../kernel/abi/errors.ts';
import type { GuestProgram } from '../../../kernel/abi/guest.ts';
import { MSG_TYPE, TASK_PORT } from '../../../kernel/abi/message.ts';
import { tcpKey } from '../../../kernel/netio/demux.ts';
import { msToNs } from '../../../emulator/sim/time.ts';
import { rerouteReceiver, rerouteSender } from '../../../userland/apps/reroute.ts';
import { rpc } from '../../../userland/mach/ipc.ts';
import { sys } from '../../../userland/mach/syscalls.ts';
import { macHi, macLo, REG_ERR, REG_MSG, REGISTRY_SERVICE } from '../../../userland/netlib/registry-proto.ts';
import { TcpLib } from '../../../userland/netlib/tcp-lib.ts';
import { registryStatsFromLog } from '../../../userland/registry/registry-server.ts';
import { buildRerouteWorld, REROUTE_RELAY_MAC, rerouteScenario } from '../../../studies/scenarios/reroute.ts';
import { resolveParams } from '../../../studies/scenarios/params.ts';
import { World } from '../../../studies/world.ts';
import { buildLibPair } from '../../../studies/scenarios/library-hosts.ts';

const run = (seed: number, params: Record<string, number> = {}) => {
  const world = new World({ seed, traceOn: false });
  return rerouteScenario.run(world, { params: resolveParams(rerouteScenario.params!, new Map(Object.entries(params))) });
};

describe('reroute scenario', () => {
  it.each([1, 2, 3])('seed %i: direct → relay → direct mid-transfer, byte-exact, the relay carries the middle phase', (seed) => {
    const r = run(seed, { phaseBytes: 128 * 1024 });
    expect(r['byteExact']).toBe(true);
    expect(r['received']).toBe(3 * 128 * 1024);
    expect(r['switchKr']).toEqual([0, 0]);
    expect(r['reroutesTakenUp']).toBe(2);
    // The middle phase's ≈ 90 full segments went through the relay (the stream, not a few stray frames)...
    // (at least 90 % of them: a window's worth may still leave direct before the switch is taken up)
    expect(r['relayForwarded'] as number).toBeGreaterThanOrEqual(Math.floor((0.9 * 128 * 1024) / 1460));
    // ...and it is the slower path: store and forward doubles each frame's wire time.
    expect(r['mbpsViaRelay'] as number).toBeLessThan(r['mbpsDirect'] as number);
    expect(r['mbpsViaRelay'] as number).toBeLessThan(r['mbpsDirectAgain'] as number);
  });

  it('is deterministic by seed', () => {
    expect(run(5, { phaseBytes: 64 * 1024 })).toEqual(run(5, { phaseBytes: 64 * 1024 }));
  });

  it('under 2 % loss on the segment (frames lost on both paths, during the switch too): still byte-exact', () => {
    const r = run(4, { phaseBytes: 96 * 1024, loss: 0.02 });
    expect(r['byteExact']).toBe(true);
    expect(r['switchKr']).toEqual([0, 0]);
  });
});

/**
 * The attacker: a library task with a live connection of its own (to b:5002). Its REROUTE
 * requests are well-formed and carry its own task port and its own live channel right; each one
 * differs from an allowed request in one thing. Logs `attack owner=<kr> route=<kr> trap=<kr> valid=<kr>`.
 */
const attacker: GuestProgram = function* (ctx) {
  const p = ctx.params;
  const lib = yield* TcpLib.init(ctx);
  if (lib === undefined) return;
  yield* sys.thread_sleep_ns({ ns: 20_000_000 }); // the victim is connected and sending
  const fd = lib.socket();
  const kr = yield* lib.connect(fd, p['peerIp'] as number, 5002);
  if (kr < 0) return void (yield* sys.debug_log({ text: `attacker connect failed ${kr}` }));
  const conn = lib.conn(fd)!;
  const own = conn.ch.grant.channel;
  const task = (yield* sys.task_get_special_port({ which: TASK_PORT.KERNEL })).name;
  const registry = (yield* sys.bootstrap_look_up({ service: REGISTRY_SERVICE })).name;
  const { name: reply } = yield* sys.mach_reply_port({});
  const relay = REROUTE_RELAY_MAC;
  const req = function* (localPort: number, remotePort: number, hop: number) {
    const r = yield* rpc(registry, reply, REG_MSG.REROUTE, [
      { type: 'int32', values: [localPort, (p['peerIp'] as number) >>> 0, remotePort, macHi(hop), macLo(hop)] },
      { type: 'port', name: task, disposition: MSG_TYPE.COPY_SEND },
      { type: 'port', name: own, disposition: MSG_TYPE.COPY_SEND },
    ]);
    const it = r.msg?.items[0];
    return it?.type === 'int32' ? (it.values[0] ?? -1) : r.kr;
  };
  // Ownership: the victim's connection (its 4-tuple), an approved hop, our own channel right.
  const owner = yield* req(p['victimPort'] as number, 5001, relay);
  // The hop: our own connection and right, a station the registry never approved.
  const route = yield* req(conn.sock.localPort, 5002, 0x08002b_0000ee);
  // The module directly: our channel right, without the privileged port (our channel's name in its place).
  const trap = (yield* sys.net_channel_reroute({ priv: own, channel: own, route: Uint8Array.of(8, 0, 0x2b, 0, 0, 0x30) })).kr;
  // The control: the same request with everything right (our connection, an approved hop) is granted.
  const valid = yield* req(conn.sock.localPort, 5002, relay);
  yield* sys.debug_log({ text: `attack owner=${owner} route=${route} trap=${trap} valid=${valid}` });
  yield* lib.close(fd);
};

describe('REROUTE on AN1', () => {
  it('moves a live connection to an approved DST_SHORT (a switch route) and back, byte-exact; an unapproved one is refused', () => {
    const world = new World({ seed: 7, traceOn: false });
    const pair = buildLibPair(world, 'an1', { prefix: 'rr-an1', registryParams: { an1Routes: '5' } });
    const phaseBytes = 128 * 1024;
    const rx = pair.spawn(pair.b, 'rx', rerouteReceiver, { port: 5001, phaseBytes });
    // hops are parsed as hex station addresses: '5' is DST_SHORT 5, '6' is not approved, '0' is the point-to-point route.
    const tx = pair.spawn(pair.a, 'tx', rerouteSender, { port: 5001, peerIp: pair.b.ip, phaseBytes, hops: '5,6,0' });
    const wire: string[] = [];
    world.sched.runUntil(() => {
      const ch = [...pair.a.netio.channels.values()].find((c) => !c.isDefault);
      if (ch !== undefined && wire.at(-1) !== `${ch.routeGen}`) wire.push(`${ch.routeGen}`);
      return !rx.alive && !tx.alive;
    }, { nsMax: msToNs(30_000) });
    const sw = tx.log.filter((l) => l.startsWith('switch ')).map((l) => Number(/kr=(-?\d+)/.exec(l)![1]));
    expect(sw).toEqual([KERN.SUCCESS, REG_ERR.NO_ROUTE, KERN.SUCCESS]);
    expect(rx.log.find((l) => l.startsWith('received='))).toMatch(new RegExp(`^received=${4 * phaseBytes} bad=0 `));
    expect(wire).toEqual(['0', '1', '2']);
    expect(tx.log.find((l) => l.startsWith('sent='))).toMatch(/ reroutes=2$/);
  });
});

describe('REROUTE protection', () => {
  it('a task cannot reroute another\'s connection, nor its own to an unapproved hop, nor bypass the registry; the victim is untouched', () => {
    const world = new World({ seed: 11, traceOn: false });
    const { pair } = buildRerouteWorld(world, { prefix: 'rr-prot' });
    const phaseBytes = 384 * 1024;
    const victimPort = 40001;
    const rx = pair.spawn(pair.b, 'victim-rx', rerouteReceiver, { port: 5001, phaseBytes });
    const arx = pair.spawn(pair.b, 'attacker-rx', rerouteReceiver, { port: 5002, phaseBytes: 1 << 20 });
    const tx = pair.spawn(pair.a, 'victim-tx', rerouteSender, { port: 5001, peerIp: pair.b.ip, phaseBytes, hops: '', localPort: victimPort });
    const att = pair.spawn(pair.a, 'attacker', attacker, { peerIp: pair.b.ip, victimPort });
    const victimKey = tcpKey(pair.b.ip, pair.a.ip, 5001, victimPort);
    const victimCh = () => [...pair.a.netio.channels.values()].find((c) => c.key === victimKey);
    let victimGenMax = 0;
    world.sched.runUntil(
      () => {
        victimGenMax = Math.max(victimGenMax, victimCh()?.routeGen ?? 0);
        return !rx.alive && !tx.alive && !att.alive && !arx.alive;
      },
      { nsMax: msToNs(30_000) },
    );
    const line = att.log.find((l) => l.startsWith('attack '));
    expect(line, att.log.join('\n')).toBeDefined();
    const f = Object.fromEntries(line!.split(' ').slice(1).map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
    expect(f['owner']).toBe(REG_ERR.NOT_OWNER);
    expect(f['route']).toBe(REG_ERR.NO_ROUTE);
    expect(f['trap']).not.toBe(KERN.SUCCESS);
    expect(f['valid']).toBe(KERN.SUCCESS); // the requests were otherwise valid
    expect(victimGenMax).toBe(0); // the victim's channel was never rerouted
    expect(rx.log.find((l) => l.startsWith('received='))).toMatch(new RegExp(`^received=${phaseBytes} bad=0 `));
    const reg = registryStatsFromLog(pair.a.registry!.log)!;
    expect(reg.reroutes).toBe(1);
    expect(reg.reroutesRefused).toBe(2);
    expect(pair.a.netio.rerouteStats.reroutes).toBe(1);
  });
});
