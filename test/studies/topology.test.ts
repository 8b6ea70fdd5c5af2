/**
 * Topology files (studies/topology): hosts of the three organizations on Ethernet and AN1 links,
 * apps from the catalogue. A bad file is one line naming the field (the same in JSON and YAML,
 * with the line in YAML), found before any simulation; a topology of two hosts that a built-in
 * scenario builds is that built-in's run exactly (same fingerprint); the three-host example runs
 * to completion with sane figures, deterministically; per-host cost overrides reach that host
 * only; `ulp run FILE --set/--cost/--seed/--pcap` behave as with the built-ins.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as yamlText } from 'yaml';
import { UsageError } from '../../studies/errors.ts';
import { checkedParams, runScenario } from '../../studies/run.ts';
import { loadScenarioFile } from '../../studies/scenario-file.ts';
import type { RunReport } from '../../studies/scenarios/types.ts';
import { ParamError, type ParamValue } from '../../studies/scenarios/params.ts';
import type { World } from '../../studies/world.ts';
import { SCENARIOS } from '../../studies/scenarios/index.ts';
import type { Scenario } from '../../studies/scenarios/types.ts';

const loadBuiltIn = (name: string): Scenario => SCENARIOS.get(name)!;

const dir = mkdtempSync(join(tmpdir(), 'ulp-topology-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Doc = Record<string, unknown> & { links: Record<string, unknown>[]; hosts: Record<string, unknown>[]; apps: (Record<string, unknown> & { params: Record<string, unknown> })[] };

/** A small valid topology: a library host pings an Ultrix server, a third (Ultrix) host idles. */
const base = (): Doc => ({
  links: [{ name: 'lan', kind: 'ethernet' }],
  hosts: [
    { name: 'alpha', organization: 'library', link: 'lan' },
    { name: 'beta', organization: 'ultrix', link: 'lan' },
    { name: 'gamma', organization: 'ultrix', link: 'lan' },
  ],
  apps: [
    { name: 'echo', app: 'echo-server', host: 'gamma', params: { port: 7 } },
    { name: 'ping', app: 'ping-client', host: 'alpha', params: { peer: 'gamma', size: 64, rounds: 3, warmup: 1 } },
  ],
});

let n = 0;
function write(doc: unknown, ext = 'json'): string {
  const path = join(dir, `t${++n}.${ext}`);
  writeFileSync(path, ext === 'json' ? JSON.stringify(doc, null, 2) : yamlText(doc));
  return path;
}

/** The one-line error loading `path` gives, without the file's name; and the YAML line, if any. */
function loadError(path: string): { message: string; line?: number } {
  try {
    loadScenarioFile(path);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    expect(e.message.split('\n')).toHaveLength(1);
    const m = /^scenario file '[^']*'(?:, line (\d+))?: (.*)$/.exec(e.message)!;
    return { message: m[2]!, ...(m[1] !== undefined ? { line: Number(m[1]) } : {}) };
  }
  throw new Error(`${path} loaded without an error`);
}

function run(path: string, seed = 1, set: Record<string, ParamValue> = {}, onWorld?: (w: World) => void): RunReport {
  const file = loadScenarioFile(path);
  const params = checkedParams(file.scenario, new Map([...file.params, ...Object.entries(set)]));
  return runScenario(file.scenario, { seed, params, costOverrides: file.costs, ...(onWorld !== undefined ? { onWorld } : {}) });
}

function ulp(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/ulp.js', ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// Each: a change to the valid base file, and the one-line error it must give (field path first).
const BAD: readonly [string, (d: Doc) => void, RegExp][] = [
  ['link kind', (d) => (d.links[0]!['kind'] = 'token-ring'), /^links\[0\]\.kind: needs one of ethernet, an1, got "token-ring"$/],
  ['host field', (d) => (d.hosts[1]!['ram'] = 64), /^hosts\[1\]\.ram: unknown field \(fields: name, organization, link, ip, mac, costs\)$/],
  ['organization', (d) => (d.hosts[1]!['organization'] = 'vms'), /^hosts\[1\]\.organization: needs one of library .*, ultrix .*, mach-ux .*, got "vms"$/],
  ['unknown link', (d) => (d.hosts[2]!['link'] = 'wan'), /^hosts\[2\]\.link: no link named 'wan' \(links: lan\)$/],
  ['unknown host', (d) => (d.apps[1]!['host'] = 'delta'), /^apps\[1\]\.host: no host named 'delta' \(hosts: alpha, beta, gamma\)$/],
  ['unknown app', (d) => (d.apps[0]!['app'] = 'ttcp'), /^apps\[0\]\.app: unknown app 'ttcp' \(catalogue: ttcp-sender, ttcp-receiver, ping-client, echo-server, setup-timer\)$/],
  ['param range', (d) => (d.apps[1]!.params['size'] = 0), /^apps\[1\]\.params\.size: needs an integer 1\.\.16384, got 0$/],
  ['param type', (d) => (d.apps[1]!.params['rounds'] = '3'), /^apps\[1\]\.params\.rounds: needs an integer 1\.\.100000, got "3"$/],
  ['param name', (d) => (d.apps[1]!.params['sise'] = 1), /^apps\[1\]\.params\.sise: ping-client has no parameter 'sise' \(its parameters: peer, port, size, rounds, warmup, startMs\)$/],
  ['peer missing', (d) => delete d.apps[1]!.params['peer'], /^apps\[1\]\.params\.peer: missing: the host this ping-client connects to/],
  ['peer unknown', (d) => (d.apps[1]!.params['peer'] = 'delta'), /^apps\[1\]\.params\.peer: no host named 'delta'/],
  ['peer itself', (d) => (d.apps[1]!['host'] = 'gamma'), /^apps\[1\]\.params\.peer: ping runs on host 'gamma' itself/],
  [
    'peer on another link',
    (d) => {
      d.links.push({ name: 'lan2', kind: 'ethernet' });
      d.hosts[1]!['link'] = 'lan2';
      d.hosts.push({ name: 'delta', organization: 'ultrix', link: 'lan2' });
      d.apps[0]!['host'] = 'beta';
      d.apps[1]!.params['peer'] = 'beta';
    },
    /^apps\[1\]\.params\.peer: host 'beta' is on link 'lan2', ping's host 'alpha' on 'lan': the stacks route nothing/,
  ],
  ['no listener', (d) => (d.apps[1]!.params['port'] = 8), /^apps\[1\]\.params\.port: no server app listens on port 8 of host 'gamma'$/],
  ['connections', (d) => (d.apps[0]!.params['conns'] = 2), /^apps\[0\]\.params\.conns: echo \(echo-server\) accepts 2 connections but its clients make 1 \(ping 1\)$/],
  ['port clash', (d) => d.apps.push({ name: 'sink', app: 'ttcp-receiver', host: 'gamma', params: { port: 7 } }), /^apps\[2\]\.params\.port: sink and echo both listen on port 7 of host 'gamma'$/],
  [
    'mach-ux on AN1',
    (d) => {
      d.links = [{ name: 'lan', kind: 'an1' }];
      d.hosts = [{ name: 'alpha', organization: 'mach-ux', link: 'lan' }, { name: 'gamma', organization: 'mach-ux', link: 'lan' }];
    },
    /^hosts\[0\]\.link: organization mach-ux has no an1 driver path: the single server drives the LANCE only/,
  ],
  ['AN1 of three', (d) => (d.links[0]!['kind'] = 'an1'), /^links\[0\]: AN1 link 'lan' is point to point: it joins two hosts, not 3 \(alpha, beta, gamma\)$/],
  [
    'AN1 of two organizations',
    (d) => {
      d.links[0]!['kind'] = 'an1';
      d.hosts.splice(1, 1);
    },
    /^links\[0\]: AN1 link 'lan' joins hosts of two organizations \(alpha library, gamma ultrix\): on AN1 the organizations do not interoperate/,
  ],
  ['lonely link', (d) => d.links.push({ name: 'spare', kind: 'ethernet' }), /^links\[1\]: link 'spare' has no host: a link joins at least two$/],
  ['name twice', (d) => (d.hosts[1]!['name'] = 'lan'), /^hosts\[1\]\.name: 'lan' already names link links\[0\]/],
  ['bad name', (d) => (d.hosts[1]!['name'] = 'be ta'), /^hosts\[1\]\.name: 'be ta' is not a name/],
  [
    'ip subnet',
    (d) => {
      d.hosts[0]!['ip'] = '10.1.1.5';
      d.hosts[1]!['ip'] = '10.2.0.1';
    },
    /^hosts\[1\]\.ip: 10\.2\.0\.1 is not in 10\.1\.1\.0\/24 with host 'alpha' on link 'lan'/,
  ],
  [
    'ip twice',
    (d) => {
      d.hosts[0]!['ip'] = '10.1.1.5';
      d.hosts[2]!['ip'] = '10.1.1.5';
    },
    /^hosts\[2\]\.ip: 10\.1\.1\.5 is also host 'alpha's address$/,
  ],
  ['ip text', (d) => (d.hosts[0]!['ip'] = '10.1.1.300'), /^hosts\[0\]\.ip: needs a dotted IPv4 address/],
  ['multicast mac', (d) => (d.hosts[0]!['mac'] = '01:00:5e:00:00:01'), /^hosts\[0\]\.mac: 01:00:5e:00:00:01 is a multicast address/],
  ['host cost of the link', (d) => (d.hosts[0]!['costs'] = { 'an1.wireFramingNs': 10 }), /^hosts\[0\]\.costs\.an1\.wireFramingNs: is read by the AN1 link, not a host: set it in the top-level costs$/],
  ['host cost bound', (d) => (d.hosts[0]!['costs'] = { 'cpu.dcacheLineBytes': 0 }), /^hosts\[0\]\.costs\.cpu\.dcacheLineBytes: cost 'cpu\.dcacheLineBytes' needs a value ≥ 1/],
  ['host cost name', (d) => (d.hosts[0]!['costs'] = { 'no.such': 1 }), /^hosts\[0\]\.costs\.no\.such: unknown cost 'no\.such'/],
  ['link fault range', (d) => (d.links[0]!['faults'] = { loss: 0.9 }), /^links\[0\]\.faults\.loss: needs a number 0\.\.0\.5, got 0\.9$/],
  ['until', (d) => (d['limits'] = { until: ['pong'] }), /^limits\.until\[0\]: no app named "pong" \(apps: echo, ping\)$/],
  ['time limit', (d) => (d['limits'] = { timeMs: 0 }), /^limits\.timeMs: needs an integer 1\.\.3600000, got 0$/],
  ['report', (d) => (d['report'] = ['apps', 'cpu']), /^report\[1\]: needs one of apps, hosts, links, got "cpu"$/],
  ['both forms', (d) => (d['scenario'] = 'hello'), /^hosts: a file names a built-in scenario or describes a topology \(hosts, links, apps\), not both$/],
  ['params', (d) => (d['params'] = {}), /^params: a topology file sets each app's parameters in apps\[i\]\.params/],
  ['apps missing', (d) => delete (d as Partial<Doc>).apps, /^apps: missing \(a topology file gives hosts, links and apps\)$/],
];

describe('topology files: errors name the field, before any simulation', () => {
  it('the base file is valid', () => {
    expect(() => loadScenarioFile(write(base()))).not.toThrow();
  });
  it.each(BAD)('%s: one line naming the field, the same in JSON and YAML (with its line)', (name, change, want) => {
    const d = base();
    change(d);
    const json = loadError(write(d));
    expect(json.message).toMatch(want);
    const yaml = loadError(write(d, 'yaml'));
    expect(yaml.message).toBe(json.message);
    // A missing field has no line of its own.
    if (name !== 'apps missing') expect(yaml.line).toBeGreaterThan(0);
  });
  it('the CLI prints the line and exits 2 without running', () => {
    const d = base();
    d.apps[1]!.params['size'] = 99999;
    const r = ulp('run', write(d));
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^ulp: scenario file '[^']+': apps\[1\]\.params\.size: needs an integer 1\.\.16384, got 99999\n$/);
  });
  it('a maintained validator (Python jsonschema) accepts the topology examples and rejects the schema-level errors (skipped without it)', (ctx) => {
    if (spawnSync('python3', ['-c', 'import jsonschema'], { encoding: 'utf8' }).status !== 0) {
      ctx.skip('python3 -m pip install jsonschema to run this check');
      return;
    }
    const schemaLevel = ['link kind', 'host field', 'organization', 'unknown app', 'param range', 'param type', 'param name', 'peer missing', 'link fault range', 'time limit', 'report', 'both forms', 'params', 'apps missing', 'host cost of the link', 'host cost name', 'bad name', 'ip text', 'multicast mac'];
    const docs: unknown[] = [base(), ...readdirSync('studies/examples').filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(`studies/examples/${f}`, 'utf8')) as unknown)];
    const bad = BAD.filter(([name]) => schemaLevel.includes(name)).map(([, change]) => {
      const d = base();
      change(d);
      return d;
    });
    const script = [
      'import json, sys, jsonschema',
      "schema = json.load(open('studies/scenario-file.schema.json'))",
      'v = jsonschema.Draft202012Validator(schema)',
      'print(json.dumps([len(list(v.iter_errors(d))) for d in json.load(sys.stdin)]))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script], { input: JSON.stringify([...docs, ...bad]), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const counts = JSON.parse(r.stdout) as number[];
    expect(counts.slice(0, docs.length)).toEqual(docs.map(() => 0));
    // The multicast MAC passes the schema's pattern (ulp's own check finds it): every other one fails it.
    counts.slice(docs.length).forEach((c, i) => {
      const name = BAD.filter(([x]) => schemaLevel.includes(x))[i]![0];
      if (name === 'multicast mac') expect(c).toBe(0);
      else expect(c, name).toBeGreaterThan(0);
    });
  });
});

/** A built-in's two hosts and programs as a topology file (names, addresses, programs and order as the built-in builds them). */
function twin(o: { link: 'ethernet' | 'an1'; org: 'library' | 'ultrix' | 'mach-ux'; prefix: string; linkName: string; macs: [string, string]; ips: [string, string]; apps: Doc['apps']; until: string }): string {
  return write({
    links: [{ name: o.linkName, kind: o.link }],
    hosts: [0, 1].map((i) => ({ name: `${o.prefix}-${'ab'[i]}`, organization: o.org, link: o.linkName, ip: o.ips[i], mac: o.macs[i] })),
    apps: o.apps,
    limits: { until: [o.until] },
  });
}

const pingApps = (prefix: string): Doc['apps'] => [
  { name: 'echo', app: 'echo-server', host: `${prefix}-b`, params: { port: 7 } },
  { name: 'ping', app: 'ping-client', host: `${prefix}-a`, params: { peer: `${prefix}-b`, port: 7, size: 1, rounds: 20, warmup: 3, startMs: 0 } },
];

describe('a topology of two hosts that a built-in builds is that built-in, event for event', () => {
  it('the example paper-table4-ultrix-ethernet-topology.json = paper-table4-ultrix --set links=ethernet (same fingerprint, same figure)', () => {
    const fromFile = run('studies/examples/paper-table4-ultrix-ethernet-topology.json');
    const builtIn = runScenario(loadBuiltIn('paper-table4-ultrix'), { seed: 1, params: { links: ['ethernet'] } });
    expect(fromFile.fingerprint).toBe(builtIn.fingerprint);
    expect(fromFile.simTimeNs).toBe(builtIn.simTimeNs);
    const apps = fromFile.results['apps'] as Record<string, Record<string, unknown>>;
    expect(apps['setup']!['meanSetupMs']).toBe((builtIn.results['ethernet'] as Record<string, number>)['ultrix']);
    expect(fromFile.cpuUs).toEqual(builtIn.cpuUs);
  });
  it.each([
    ['paper-table3-library', 'library', 'an1', 't3-an1-1', 'an1', ['08:00:2b:00:01:20', '08:00:2b:00:01:21'], ['10.0.1.1', '10.0.1.2']],
    ['paper-table3-ultrix', 'ultrix', 'an1', 't3u-an1-1', 'an1', ['08:00:2b:00:01:30', '08:00:2b:00:01:31'], ['10.0.3.1', '10.0.3.2']],
    ['paper-table3-library', 'library', 'ethernet', 't3-ethernet-1', 't3-ethernet-1-seg', ['08:00:2b:00:00:20', '08:00:2b:00:00:21'], ['10.0.0.1', '10.0.0.2']],
    ['paper-table3-mach-ux', 'mach-ux', 'ethernet', 't3-ux-1', 't3-ux-1-seg', ['08:00:2b:00:00:30', '08:00:2b:00:00:31'], ['10.0.2.1', '10.0.2.2']],
  ] as const)('%s (%s on %s, 1-byte messages) as a topology', (scenario, org, link, prefix, linkName, macs, ips) => {
    const fromFile = run(twin({ link, org, prefix, linkName, macs: [...macs], ips: [...ips], apps: pingApps(prefix), until: 'ping' }));
    const builtIn = runScenario(loadBuiltIn(scenario), { seed: 1, params: { ...(scenario === 'paper-table3-mach-ux' ? {} : { links: [link] }), messageSizes: [1] } });
    expect(fromFile.fingerprint).toBe(builtIn.fingerprint);
    const apps = fromFile.results['apps'] as Record<string, Record<string, unknown>>;
    expect(apps['ping']!['meanRttMs']).toBe((builtIn.results[link] as Record<string, number[]>)[org]![0]);
  });
});


describe('the three-host example', () => {
  const path = 'studies/examples/three-hosts-two-orgs.json';
  const small = { 'bulk.bytes': 65536, 'ping.rounds': 20 };
  it('runs to completion with sane figures, and deterministically (same seed: same fingerprint; another: another)', () => {
    const r = run(path, 1, small);
    const apps = r.results['apps'] as Record<string, Record<string, unknown>>;
    for (const a of Object.values(apps)) expect(a['outcome']).toBe('done');
    expect(apps['sink']!['received']).toBe(65536);
    expect(apps['sink']!['badBytes']).toBe(0);
    expect(apps['bulk']!['sent']).toBe(65536);
    expect(apps['sink']!['throughputMbps']).toBeGreaterThan(1);
    expect(apps['sink']!['throughputMbps']).toBeLessThan(10); // a 10 Mb/s segment
    expect(apps['ping']!['rounds']).toBe(20);
    // Three stations on one segment: every host is busy, the segment carried frames of each.
    const hosts = r.results['hosts'] as Record<string, Record<string, number | string>>;
    expect(Object.keys(hosts)).toEqual(['alpha', 'beta', 'gamma']);
    expect(hosts['alpha']!['organization']).toBe('library');
    for (const h of Object.values(hosts)) expect(h['cpuBusyMs']).toBeGreaterThan(0);
    expect(Object.keys(r.cpuUs)).toEqual(['alpha', 'beta', 'gamma']);
    const st = ((r.results['links'] as Record<string, Record<string, unknown>>)['lan']!['stations']) as Record<string, Record<string, number>>;
    for (const s of Object.values(st)) expect(s['framesSent']).toBeGreaterThan(0);
    // The bulk transfer shares the segment and gamma's CPU with the ping: the round trip is longer than alone.
    const alone = run(path, 1, { ...small, 'bulk.startMs': 2000, timeMs: 60_000 });
    const aloneRtt = ((alone.results['apps'] as Record<string, Record<string, number>>)['ping']!)['meanRttMs']!;
    expect(apps['ping']!['meanRttMs']).toBeGreaterThan(aloneRtt);
    const again = run(path, 1, small);
    expect(again.fingerprint).toBe(r.fingerprint);
    expect(again.results).toEqual(r.results);
    expect(run(path, 2, small).fingerprint).not.toBe(r.fingerprint);
  });
  it('the YAML twin gives the same run', () => {
    expect(run('studies/examples/three-hosts-two-orgs.yaml', 1, small).fingerprint).toBe(run(path, 1, small).fingerprint);
  });
  it('--set is checked against the topology: a peer without a listener is one line', () => {
    const file = loadScenarioFile(path);
    expect(() => checkedParams(file.scenario, new Map([['ping.peer', 'beta']]))).toThrow(ParamError);
    expect(() => checkedParams(file.scenario, new Map([['ping.peer', 'beta']]))).toThrow(/ping\.port: no server app listens on port 7 of host 'beta'/);
  });
});

describe('two networks in one file', () => {
  it('a Mach/UX client and a library server on one segment, an Ultrix pair on a lossy AN1 link: both complete', () => {
    const r = run(write({
      links: [{ name: 'lan1', kind: 'ethernet' }, { name: 'fast', kind: 'an1', faults: { loss: 0.02 } }],
      hosts: [
        { name: 'a', organization: 'mach-ux', link: 'lan1' },
        { name: 'b', organization: 'library', link: 'lan1' },
        { name: 'c', organization: 'ultrix', link: 'fast' },
        { name: 'd', organization: 'ultrix', link: 'fast' },
      ],
      apps: [
        { name: 's1', app: 'echo-server', host: 'b', params: { conns: 3 } },
        { name: 't1', app: 'setup-timer', host: 'a', params: { peer: 'b', opens: 3 } },
        { name: 'r2', app: 'ttcp-receiver', host: 'd', params: {} },
        { name: 't2', app: 'ttcp-sender', host: 'c', params: { peer: 'd', bytes: 200_000 } },
      ],
    }));
    const apps = r.results['apps'] as Record<string, Record<string, unknown>>;
    for (const a of Object.values(apps)) expect(a['outcome']).toBe('done');
    expect(apps['t1']!['opens']).toBe(3);
    expect(apps['t1']!['meanSetupMs']).toBeGreaterThan(0);
    expect(apps['r2']!['received']).toBe(200_000);
    expect(apps['r2']!['badBytes']).toBe(0);
    const hosts = r.results['hosts'] as Record<string, Record<string, string>>;
    expect(Object.values(hosts).map((h) => h['ip'])).toEqual(['10.1.1.1', '10.1.1.2', '10.1.2.1', '10.1.2.2']);
    const fast = (r.results['links'] as Record<string, { kind: string; stations: Record<string, Record<string, number>> }>)['fast']!;
    expect(fast.kind).toBe('an1');
    // 2 % loss on ~150 data frames: some were lost, and TCP recovered (every byte arrived, checked).
    expect(fast.stations['c']!['framesDropped']! + fast.stations['d']!['framesDropped']!).toBeGreaterThan(0);
  });
});

describe('per-host cost overrides', () => {
  it("reach that host's components only; an override nothing on the host read is reported", () => {
    const d = base();
    // Read by the kernel, the PMAD-AA board, the (clock) AN1 controller; and by nothing on a library host.
    d.hosts[0]!['costs'] = { 'kernel.trapCycles': 1500, 'tc.ioReadNsPerByte': 300, 'an1.fwRxDispatchCycles': 20, 'ux.serverDispatchCycles': 10 };
    let world: World | undefined;
    const r = run(write(d), 1, {}, (w) => (world = w));
    const costs = (name: string): number => world!.hosts.find((h) => h.name === name)!.ctx.costs.get('kernel.trapCycles');
    expect(costs('alpha')).toBe(1500);
    expect(costs('gamma')).toBe(world!.costs.get('kernel.trapCycles'));
    const base1 = run(write(base()));
    const trap = (rep: RunReport, h: string): number => rep.cpuUs[h]!['trap']!;
    expect(trap(r, 'alpha')).toBeGreaterThan(5 * trap(base1, 'alpha'));
    const hosts = r.results['hosts'] as Record<string, Record<string, unknown>>;
    expect(hosts['alpha']!['costOverridesUnread']).toEqual(['ux.serverDispatchCycles']);
    expect(hosts['gamma']!['costOverridesUnread']).toBeUndefined();
  });
});

describe('ulp run FILE with --set, --cost, --seed and --pcap', () => {
  it('behave as with a built-in scenario', () => {
    const path = 'studies/examples/three-hosts-two-orgs.json';
    const set = ['--set', 'bulk.bytes=32768', '--set', 'ping.rounds=5'];
    const pcap = join(dir, 'pcap');
    const a = ulp('run', path, ...set, '--json', '--pcap', pcap);
    expect(a.code, a.err).toBe(0);
    const ra = JSON.parse(a.out) as RunReport & { scenarioFile: string };
    expect(ra.scenario).toBe('topology-three-hosts-two-orgs');
    expect(ra.scenarioFile).toBe(path);
    expect(ra.params).toMatchObject({ 'bulk.bytes': 32768, 'ping.rounds': 5, 'ping.peer': 'gamma' });
    expect(readdirSync(pcap).sort()).toEqual(['alpha', 'beta', 'gamma'].map((h) => `${h}-ln0.pcapng`));
    const b = JSON.parse(ulp('run', path, ...set, '--json', '--cost', 'kernel.trapCycles=300', '--seed', '3').out) as RunReport;
    expect(b.seed).toBe(3);
    expect(b.costOverrides).toEqual({ 'kernel.trapCycles': 300 });
    expect(b.fingerprint).not.toBe(ra.fingerprint);
    const bad = ulp('run', path, '--set', 'ping.size=0');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^ulp: parameter ping\.size needs an integer 1\.\.16384, got '0'\n$/);
  });
});
