#!/usr/bin/env node
/**
 * Mutation check for issue 13 (item 5): applies each mutant of the guarded code in turn, runs
 * the tests named for it, and reports which of them kill it (fail). Every mutant must be killed.
 *
 *   node test/system/isolation/mutants.mjs            # all mutants
 *   node test/system/isolation/mutants.mjs bqi quota  # those whose id contains a word
 *
 * Output: one line per mutant, `KILLED <id> → <failing tests>` or `SURVIVED <id>`; exit status 1
 * if any survived. Each file is restored after its mutant (also on interrupt).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const ISO = 'test/system/isolation';
const T = {
  templates: `${ISO}/templates.test.ts`,
  bqi: `${ISO}/bqi-lifetime.test.ts`,
  bqiModule: 'test/netio/bqi-lifetime.test.ts',
  requests: `${ISO}/registry-requests.test.ts`,
  kills: `${ISO}/kill-points.test.ts`,
  latent: `${ISO}/latent.test.ts`,
  headers: 'test/property/netio/headers.property.test.ts',
  histories: `${ISO}/histories.property.test.ts`,
  requestsProperty: `${ISO}/requests.property.test.ts`,
  rate: `${ISO}/rate-control.test.ts`,
  channel: 'test/netio/channel.test.ts',
  protection: 'test/netio/protection.property.test.ts',
  syscalls: 'test/property/kernel/syscall-fuzz.property.test.ts',
  reroute: 'test/system/library/reroute.test.ts',
  rerouteModule: 'test/netio/reroute.test.ts',
  fork: 'test/system/library/fork.test.ts',
};
const SHARED = 'userland/registry/shared-conns.ts';
const REG = 'userland/registry/registry-server.ts';
const SPEC = 'userland/netlib/conn-spec.ts';
const NETIO = 'kernel/netio/netio.ts';

/** [id, file, find (must occur exactly once), replace, tests]. */
const MUTANTS = [
  // Connections shared across fork (docs/fork.md): the registry's checks on SHARE and on READ/WRITE, and the last close.
  ['fork: READ/WRITE trust the connection id alone (capability not compared)', SHARED, 'return s !== undefined && cap !== undefined && cap !== 0 && cap === s.port ? s : undefined;', 'return s;', [T.fork]],
  ['fork: SHARE does not compare the channel right', SHARED, "r.state !== 'handed' || chName === 0 || chName !== r.channel)", "r.state !== 'handed')", [T.fork]],
  ['fork: last close while a fork ticket still names the connection', SHARED, 'if (s.closed || !s.noSenders || s.tickets > 0) return;', 'if (s.closed || !s.noSenders) return;', [T.fork]],
  // Template fields, each in turn (the registry's connection template).
  ['template: AN1 DST_BQI unchecked', SPEC, '{ offset: 2, bytes: Uint8Array.of(...u16(e.peerBqi ?? 0), ...mac6(e.peerMac), ...mac6(e.localMac)) }', '{ offset: 4, bytes: Uint8Array.of(...mac6(e.peerMac), ...mac6(e.localMac)) }', [T.templates]],
  ['template: AN1 DST_SHORT unchecked', REG, "const dstShort = link === 'an1' ? [{", "const dstShort = link === 'none' ? [{", [T.templates]],
  ['template: Ethernet destination MAC unchecked', SPEC, '{ offset: 0, bytes: Uint8Array.of(...mac6(e.peerMac), ...mac6(e.localMac), 0x08, 0x00) }', '{ offset: 6, bytes: Uint8Array.of(...mac6(e.localMac), 0x08, 0x00) }', [T.templates]],
  ['template: Ethernet type unchecked', SPEC, '{ offset: 0, bytes: Uint8Array.of(...mac6(e.peerMac), ...mac6(e.localMac), 0x08, 0x00) }', '{ offset: 0, bytes: Uint8Array.of(...mac6(e.peerMac), ...mac6(e.localMac)) }', [T.templates]],
  ['template: IP version/IHL unchecked', SPEC, '      { offset: l, bytes: Uint8Array.of(0x45) },\n', '', [T.templates]],
  ['template: IP protocol unchecked', SPEC, '      { offset: l + 9, bytes: Uint8Array.of(6) },\n', '', [T.templates]],
  ['template: TCP ports unchecked', SPEC, '...u32(e.localIp), ...u32(e.peerIp), ...u16(e.localPort), ...u16(e.peerPort))', '...u32(e.localIp), ...u32(e.peerIp))', [T.templates]],
  ['template: all IP/TCP fields unchecked', SPEC, '      { offset: l + 12, bytes: Uint8Array.of(...u32(e.localIp), ...u32(e.peerIp), ...u16(e.localPort), ...u16(e.peerPort)) },\n', '', [T.templates]],
  ['matcher: top byte of each word unchecked', 'kernel/netio/template.ts', 'entry.mask = (entry.mask | (0xff << shift)) >>> 0;', 'entry.mask = ((entry.mask | (0xff << shift)) & 0xffffff) >>> 0;', [T.headers, T.templates, T.protection]],
  ['matcher: last word skipped', 'kernel/netio/template.ts', 'for (let i = 0; i < n; i++) {', 'for (let i = 0; i < n - 1; i++) {', [T.headers, T.templates, T.protection]],
  // Demultiplexing and range checks.
  ['demux ignores IP options', 'kernel/netio/demux.ts', 'const tcp = ip + ihl;', 'const tcp = ip + 20;', [T.headers]],
  ['netio: a frame committed to a channel closed during its copy-out (no re-check)', NETIO, '    if (ch.closed) {\n      this.stats.rxDropNoChannel++;\n      return;\n    }\n    const slot = this.claimSlot(ch);', '    const slot = this.claimSlot(ch);', [T.protection]],
  ['net_send range check on the offset only', NETIO, 'if (offset + length > ch.regionBytes) {', 'if (offset > ch.regionBytes) {', [T.headers]],
  ['CONNECT local port not range-checked (F3)', REG, '!validPort(remotePort) || (localPort !== 0 && !validPort(localPort))', '!validPort(remotePort) || false', [T.requests]],
  ['CONNECT remote port not range-checked', REG, 'validRemoteIp(v[0] ?? 0) || !validPort(remotePort)', 'validRemoteIp(v[0] ?? 0) || false', [T.requests]],
  ['CONNECT remote address not checked', REG, '!validRemoteIp(v[0] ?? 0) ||', '', [T.requests]],
  // Quotas.
  ['quota: BQIs per task (F4, AN1)', REG, "if (what === 'connect' && link === 'an1' && u.bqis >= lim.bqisPerTask) return REG_QUOTA.BQIS;", '', [T.requests]],
  ['quota: pending connects per task (F4, Ethernet)', REG, "if (what === 'connect' && u.pendingConnects >= lim.pendingConnectsPerTask) return REG_QUOTA.PENDING_CONNECTS;", '', [T.requests]],
  ['quota: pending accepts per task (F5)', REG, "if (what === 'accept' && u.accepts >= lim.pendingAcceptsPerTask) return REG_QUOTA.PENDING_ACCEPTS;", '', [T.requests]],
  ['quota: listening ports per task (F9)', REG, "if (what === 'listen' && u.listens >= lim.listenPortsPerTask) return REG_QUOTA.LISTEN_PORTS;", '', [T.requests]],
  // BQI lifetime.
  ['BQI back to the free pool at channel close (F1, F2)', NETIO, 'this.bqiInUse[q.ch.bqi] = q.ch.bqiReserved ? BQI_RESERVED : BQI_FREE;', 'this.bqiInUse[q.ch.bqi] = BQI_FREE;', [T.bqiModule, T.bqi, T.histories]],
  ['registry frees a BQI at once (no 2·MSL hold)', REG, 'bqiHold.set(bqi, Math.max(bqiHold.get(bqi) ?? 0, t + 2 * mslNs));', 'bqiHold.set(bqi, t);', [T.bqi, T.histories]],
  ['registry hold not pushed back by frames naming the BQI', REG, 'if (bqiHold.has(named)) holdBqi(named, t);', '', [T.bqi]],
  ['registry never frees a held BQI', REG, 'if (until > t) continue;', 'continue;', [T.kills]],
  // Resource releases.
  ['reply rights of a dead task kept (F6)', REG, '      yield* dropReply(r.reply);\n      r.reply = undefined;\n    }\n    for (const [bqi, o]', '    }\n    for (const [bqi, o]', [T.kills]],
  ['accept replies of a dead listener kept (F5)', REG, '      for (const a of l.accepts.splice(0)) yield* dropReply(a);\n', '', [T.requests]],
  ['UNLISTEN leaves the pending ACCEPTs unanswered', REG, "        for (const a of l.accepts.splice(0)) yield* sendReply(a, [{ type: 'int32', values: [REG_ERR.NO_LISTENER] }]);\n", '', [T.requests]],
  ['a reply right whose port died kept', REG, '      stats.repliesDropped++;\n      yield* sys.mach_port_destroy({ name: r.name });\n    }\n    return kr;', '    }\n    return kr;', [T.kills, T.requests]],
  ['kernel-object rights leaked on task death', 'kernel/ipc/ipc.ts', '    if (port !== undefined) {\n      this.dropSend(e);', '    if (port !== undefined) {\n      if (port.kobject === undefined) this.dropSend(e);', [T.kills, T.syscalls]],
  ['RELEASE leaves the channel open', REG, '          yield* sys.net_channel_close({ channel: r.channel });\n          holdBqi(r.bqi, t, r.owner);', '          holdBqi(r.bqi, t, r.owner);', [T.templates]],
  ['a request from a task dead in transit acted on', REG, 'if (m.id !== NOTIFY.DEAD_NAME && owner === MACH_PORT_DEAD) return yield* invalid();', '', [T.requests, T.requestsProperty]],
  // Rate control (F8).
  ['rate: token bucket not consulted', NETIO, 'if (ch.bucket !== undefined && ((!retry', 'if (false && ch.bucket !== undefined && ((!retry', [T.rate, T.channel]],
  ['rate: a sender the bucket cannot cover is refused, not blocked', NETIO, "      this.scheduleRate(ch);\n      return this.kernel.block(t, 'net_send');", '      ch.rateWaiters.splice(ch.rateWaiters.indexOf(w), 1);\n      t.waitCancel = undefined;\n      return { kr: NETIO_ERR.RATE_LIMITED };', [T.rate, T.channel]],
  ['rate: refill twice too fast', 'kernel/netio/rate-limit.ts', 'this.tokensScaled + dt * this.rate;', 'this.tokensScaled + 2 * dt * this.rate;', [T.rate, T.channel]],
  ['rate: best effort not re-shared when a channel opens', NETIO, 'if (rateClass !== undefined) this.reshare(link);', '', [T.rate, T.channel]],
  ['rate: best effort shares the whole link, ignoring reservations', NETIO, 'Math.floor((NETIO_LINK_BYTES_PER_SECOND[link] - reserved) / sharing.length)', 'Math.floor(NETIO_LINK_BYTES_PER_SECOND[link] / sharing.length)', [T.rate]],
  ['rate: registry sets no rate on the channel', REG, 'template: [...dstShort, ...base.template], rate });', 'template: [...dstShort, ...base.template] });', [T.rate]],
  ['rate: CONNECT reservation not admitted against the capacity', REG, "        if (!rateFits(rate)) {\n          yield* sendReply(rep, [{ type: 'int32', values: [REG_ERR.NO_BANDWIDTH] }]);\n          return;\n        }\n        if (localPort === 0)", '        if (localPort === 0)', [T.rate]],
  ['rate: ACCEPT reservation ignored', REG, 'r.rate = l.accepts[0]?.rate ?? 0;', 'r.rate = 0;', [T.rate]],
  // Rerouting (issue 17 item 3, docs/reroute.md).
  ['reroute: REROUTE ownership not checked (any live channel right will do)', REG, "r.state === 'handed' && chName !== 0 && chName === r.channel) {\n          // The hop", "r.state === 'handed') {\n          // The hop", [T.reroute]],
  ['reroute: REROUTE hop not checked against the approved ones', REG, 'if (!direct && !hops.has(hop)) kr = REG_ERR.NO_ROUTE;', 'if (false) kr = REG_ERR.NO_ROUTE;', [T.reroute]],
  ['reroute: net_channel_reroute without the privileged port', NETIO, "    const p = this.kernel.lookupKernelObject(t.task, req.priv, 'netio-priv');\n    if (!p.ok) return { kr: p.kr };\n    const r = this.kernel.lookupKernelObject<Channel>(t.task, req.channel, 'netio-channel');\n    if (!r.ok) return { kr: r.kr };\n    return { kr: this.reroute(", "    const r = this.kernel.lookupKernelObject<Channel>(t.task, req.channel, 'netio-channel');\n    if (!r.ok) return { kr: r.kr };\n    return { kr: this.reroute(", [T.rerouteModule, T.reroute]],
  ['reroute: frames for the old route refused, not given the new one', NETIO, 'if (bad !== -1 && ch.prevMatcher !== undefined) {', 'if (false) {', [T.rerouteModule]],
  ['reroute: a route that changes more than the destination', NETIO, 'if (f.offset + i < n) bytes[i] = route[f.offset + i]!;', 'bytes[i] = route[(f.offset + i) % n]!;', [T.rerouteModule]],
  // Latent.
  ['vm_protect(setMax) raises a maximum', 'kernel/vm/vm-map.ts', 'if ((prot & ~m.maxProt) !== 0) return KERN.PROTECTION_FAILURE;', 'if (!setMax && (prot & ~m.maxProt) !== 0) return KERN.PROTECTION_FAILURE;', [T.latent]],
  ['endTask does not check ownership', 'kernel/kernel.ts', 'assert(this.tasks.get(task.id) === task,', 'assert(true,', [T.latent]],
];

const only = process.argv.slice(2);
const todo = MUTANTS.filter(([id]) => only.length === 0 || only.some((w) => id.toLowerCase().includes(w.toLowerCase())));
const restore = new Map();
const putBack = () => {
  for (const [f, text] of restore) writeFileSync(f, text);
  restore.clear();
};
process.on('SIGINT', () => {
  putBack();
  process.exit(130);
});
let survived = 0;
for (const [id, file, find, replace, tests] of todo) {
  const text = readFileSync(file, 'utf8');
  const n = text.split(find).length - 1;
  if (n !== 1) {
    console.log(`STALE ${id}: the mutated text occurs ${n} times in ${file}`);
    survived++;
    continue;
  }
  restore.set(file, text);
  writeFileSync(file, text.replace(find, replace));
  const killers = [];
  try {
    for (const t of tests) {
      try {
        execFileSync('npx', ['vitest', 'run', t, '--reporter=dot'], { stdio: 'pipe', env: { ...process.env, FC_NUM_RUNS: process.env['FC_NUM_RUNS'] ?? '100' } });
      } catch {
        killers.push(t);
      }
    }
  } finally {
    putBack();
  }
  if (killers.length > 0) console.log(`KILLED ${id} → ${killers.join(', ')}`);
  else {
    console.log(`SURVIVED ${id} (ran ${tests.join(', ')})`);
    survived++;
  }
}
console.log(`${todo.length - survived} of ${todo.length} mutants killed`);
process.exit(survived === 0 ? 0 : 1);
