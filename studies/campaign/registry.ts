/**
 * Campaign family `registry`: forged and malformed registry requests (issue 13 item 5;
 * test/system/isolation/requests.property.test.ts runs these scenarios as fast-check properties,
 * with larger batches). 1–3 tasks on host A each send
 * a batch of requests (CONNECT, LISTEN, ACCEPT, UNLISTEN, RELEASE or an unknown id) valid in
 * every field but at most one (a port out of range, zero or negative, a multicast address, a
 * missing word), to a real or an unreachable peer, and live on or die right after sending; on
 * Ethernet or AN1.
 *
 * Invariants: every reply is one of the protocol's codes; another task still connects (the
 * per-task quotas keep the registry serving); once the attackers are dead and 4·MSL has passed,
 * the registry holds no name, BQI or channel more than before.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import type { Task } from '../../kernel/kernel.ts';
import { REG_ERR, REG_MSG } from '../../userland/netlib/registry-proto.ts';
import { logField } from '../scenarios/hosts.ts';
import { buildLibPair } from '../scenarios/library-hosts.ts';
import { World } from '../world.ts';
import { CAMPAIGN_RAM_BYTES, type Checks } from './check.ts';
import type { Draw } from './draw.ts';
import { holdServer, idleClient, regRequests } from './programs.ts';

const MSL_NS = 20_000_000;
const CODES = new Set<number>([KERN.SUCCESS, ...Object.values(REG_ERR)]);

/** One attacker task's batch of requests. */
export interface RegistryBatch {
  readonly msgId: number;
  readonly n: number;
  readonly bad: 'none' | 'port-high' | 'port-zero' | 'port-negative' | 'multicast' | 'short';
  readonly unreachable: boolean;
  readonly dieAfterSend: boolean;
  readonly vary: boolean;
}

/** A whole scenario: the link, the world's seed and the attackers' batches. */
export interface RegistryAttack {
  readonly link: 'ethernet' | 'an1';
  readonly seed: number;
  readonly batches: readonly RegistryBatch[];
}

/** Sizes of a scenario (the campaign's by default; the property tests send larger batches). */
export interface RegistryOptions {
  /** The links to pick from. */
  readonly links?: readonly ('ethernet' | 'an1')[];
  /** The most requests in one batch. */
  readonly requestsMax?: number;
}

/** Draw a scenario. */
export function drawRegistryAttack(d: Draw, o: RegistryOptions = {}): RegistryAttack {
  const link = d.pick(o.links ?? (['ethernet', 'an1'] as const));
  const batches = d.array(1, 3, (): RegistryBatch => ({
    msgId: d.pick([REG_MSG.CONNECT, REG_MSG.CONNECT, REG_MSG.LISTEN, REG_MSG.ACCEPT, REG_MSG.UNLISTEN, REG_MSG.RELEASE, 0x54ff]),
    n: d.int(1, o.requestsMax ?? 40),
    bad: d.pick(['none', 'none', 'port-high', 'port-zero', 'port-negative', 'multicast', 'short'] as const),
    unreachable: d.bool(),
    dieAfterSend: d.bool(),
    vary: d.bool(),
  }));
  return { link, batches, seed: d.int(1, 1 << 20) };
}

export function registryScenario(d: Draw, c: Checks, o: RegistryOptions = {}): void {
  runRegistryAttack(drawRegistryAttack(d, o), c);
}

/** Run one scenario and check its invariants. */
export function runRegistryAttack({ link, seed, batches }: RegistryAttack, c: Checks): void {
  const w = new World({ seed, traceOn: false, ramBytes: CAMPAIGN_RAM_BYTES });
  const pair = buildLibPair(w, link, { mslNs: MSL_NS, logStats: false });
  const { a, b } = pair;
  pair.spawn(b, 'srv', holdServer, { port: 82, conns: 4, holdNs: 100e9 });
  pair.spawn(b, 'srv2', holdServer, { port: 83, conns: 1, holdNs: 100e9 }); // the honest client's own server
  w.sched.runFor(2_000_000);
  const reg = a.registry!;
  const bqis = (): number => [...(a.netio as unknown as { bqiInUse: Uint8Array }).bqiInUse].filter((x) => x !== 0).length;
  const base = { names: reg.space.entries.size, bqis: bqis(), channels: a.netio.channels.size };
  const atks: Task[] = batches.map((x, i) => {
    const peer = x.unreachable ? ((10 << 24) | (9 << 8) | 99) >>> 0 : b.ip;
    let w0 = x.msgId === REG_MSG.CONNECT ? peer | 0 : 82;
    let w1 = x.msgId === REG_MSG.CONNECT ? 82 : 5;
    let w2 = 0;
    if (x.bad === 'port-high') x.msgId === REG_MSG.CONNECT ? (w2 = 65536 + 82) : (w0 = 70000);
    if (x.bad === 'port-zero') x.msgId === REG_MSG.CONNECT ? (w1 = 0) : (w0 = 0);
    if (x.bad === 'port-negative') x.msgId === REG_MSG.CONNECT ? (w2 = -5) : (w0 = -5);
    if (x.bad === 'multicast' && x.msgId === REG_MSG.CONNECT) w0 = (224 << 24) | 1 | 0;
    if (x.msgId === REG_MSG.LISTEN || x.msgId === REG_MSG.ACCEPT || x.msgId === REG_MSG.UNLISTEN) w0 = w0 === 82 ? 7000 + i : w0;
    const words = x.bad === 'short' ? 0 : x.msgId === REG_MSG.RELEASE ? 4 : x.msgId === REG_MSG.CONNECT ? 3 : 2;
    return pair.spawn(a, `atk${i}`, regRequests, {
      msgId: x.msgId, n: x.n, w0, w1, w2, w3: 0, words, varyIndex: x.vary ? (x.msgId === REG_MSG.CONNECT ? 2 : 0) : -1,
      ...(x.msgId === REG_MSG.ACCEPT && x.bad === 'none' ? { listenFirst: 7000 + i } : {}),
      dieAfterSend: x.dieAfterSend, waitNs: 30_000_000, holdNs: 50_000_000,
    });
  });
  w.sched.runUntil(() => atks.every((t) => !t.alive || t.log.some((l) => l.startsWith('replies='))), { nsMax: 20e9 });
  for (const t of atks) {
    const line = t.log.find((l) => l.startsWith('replies='));
    if (line === undefined) continue;
    const codes = (line.split('codes=')[1] ?? '').split(',').filter((s) => s !== '').map((s) => Number(s.split(':')[0]));
    for (const code of codes) c.check('registry.reply-code', CODES.has(code), () => `${t.name}: reply code ${code} (${line})`);
  }
  const honest = pair.spawn(a, 'honest', idleClient, { peerIp: b.ip, port: 83, idleNs: 1_000_000 });
  w.sched.runUntil(() => honest.log.some((l) => l.startsWith('connected=')) || !honest.alive, { nsMax: 5e9 });
  c.check('registry.still-serves', honest.log.some((l) => l.startsWith('connected=')) && logField(honest, 'connected') === 0, () => `another task could not connect: ${honest.log.join(' | ')}`);
  for (const t of atks) if (t.alive) a.kernel.endTask(t, { kind: 'killed', by: 'campaign' });
  w.sched.runUntil(() => !honest.alive, { nsMax: 5e9 });
  w.sched.runFor(4 * MSL_NS + 50_000_000);
  const after = { names: reg.space.entries.size, bqis: bqis(), channels: a.netio.channels.size };
  c.equal('registry.no-leak.names', after.names, base.names, 'registry names');
  c.equal('registry.no-leak.bqis', after.bqis, base.bqis, 'BQIs in use');
  c.equal('registry.no-leak.channels', after.channels, base.channels, 'channels');
  c.check('registry.alive', reg.alive, () => 'the registry died');
}
