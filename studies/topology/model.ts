/**
 * The topology form of a scenario file: hosts (organization, the link each attaches to, its own
 * cost overrides), links (Ethernet segment or AN1 point-to-point link, fault rates) and apps from
 * the catalogue (studies/topology/apps.ts) with their parameters, run limits and what to report.
 * `checkTopology` turns a parsed file (already accepted by the JSON Schema) into a `Topology`,
 * or fails with one line naming the field (`apps[1].params.peer: ...`) before any simulation;
 * `topologyScenario` makes it a Scenario, whose parameters (`APP.PARAM`, `LINK.loss`, `timeMs`)
 * are what `--set` and `ulp sweep` vary.
 *
 * What the builders support, and so what is refused here with a reason (docs/workbench.md):
 * - a host attaches to exactly one link: the stacks have no IP forwarding and one interface each;
 * - an Ethernet segment holds 2..32 stations of any organizations (same TCP/IP/ARP on the wire);
 * - an AN1 link joins exactly two hosts, library or ultrix (the single server drives the LANCE
 *   only), both of the same organization (the library exchanges BQIs in the link header's
 *   SPARE field during the handshake; Ultrix's AN1 driver uses BQI 0 only);
 * - hosts on one link share a /24 (the stacks route nothing else);
 * - a client connects to a host on its own link, not to itself, where a server app listens on
 *   the port, and the connections made to a server are the ones it accepts.
 */
import { decstationCostTable } from '../../emulator/host/costs/decstation-5000-200.ts';
import { checkParamJson, FAULT_PARAMS, ParamError, resolveParams, type ParamSpec, type ParamValue, type ParamValues } from '../scenarios/params.ts';
import type { Scenario } from '../scenarios/types.ts';
import { APPS } from './apps.ts';
import { runTopology } from './build.ts';

export const ORGANIZATIONS = ['library', 'ultrix', 'mach-ux'] as const;
export type Organization = (typeof ORGANIZATIONS)[number];
export const LINK_KINDS = ['ethernet', 'an1'] as const;
export type LinkKind = (typeof LINK_KINDS)[number];
export const REPORT_SECTIONS = ['apps', 'hosts', 'links'] as const;
export const FAULT_NAMES = ['loss', 'corrupt', 'duplicate', 'reorder'] as const;
/** Which link kinds each organization has a driver path for. */
export const ORG_LINKS: Readonly<Record<Organization, readonly LinkKind[]>> = { library: ['ethernet', 'an1'], ultrix: ['ethernet', 'an1'], 'mach-ux': ['ethernet'] };
/** Costs the link reads, not a host (an1-link's framing and propagation): top-level `costs` only. */
export const LINK_COSTS: readonly string[] = ['an1.wireFramingNs', 'an1.linkPropagationNs'];
export const HOSTS_MAX = 32;
export const APPS_MAX = 64;
export const TIME_MS_DEFAULT = 60_000;
export const TIME_MS_MAX = 3_600_000;
export const NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_-]{0,31}$';
export const MAC_PATTERN = '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$';
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
export const IP_PATTERN = `^${OCTET}(\\.${OCTET}){3}$`;

export type FaultRates = { readonly [k in (typeof FAULT_NAMES)[number]]: number };

export interface TopoLinkSpec {
  readonly name: string;
  readonly kind: LinkKind;
  readonly faults: FaultRates;
}
export interface TopoHostSpec {
  readonly name: string;
  readonly organization: Organization;
  readonly link: string;
  readonly ip: number;
  readonly mac: number;
  readonly costs: ReadonlyMap<string, number>;
}
export interface TopoAppSpec {
  readonly name: string;
  readonly app: string;
  readonly host: string;
  /** The host a client connects to. */
  readonly peer?: string;
  /** Every declared parameter of the app (defaults filled in). */
  readonly params: ParamValues;
}
export interface Topology {
  readonly hosts: readonly TopoHostSpec[];
  readonly links: readonly TopoLinkSpec[];
  readonly apps: readonly TopoAppSpec[];
  readonly limits: { readonly timeMs: number; readonly until: readonly string[] };
  readonly report: readonly string[];
}

/** The fields of the topology form (besides description, $schema, costs, seed, seeds). */
export const TOPOLOGY_FIELDS = ['hosts', 'links', 'apps', 'limits', 'report'] as const;

type At = readonly (string | number)[];
/** Fail at the field `at` with `problem` (never returns). */
export type TopoFail = (at: At, problem: string) => never;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nameRe = new RegExp(NAME_PATTERN);
const shown = (v: unknown): string => JSON.stringify(v) ?? String(v);

function parseIp(text: string): number | undefined {
  if (!new RegExp(IP_PATTERN).test(text)) return undefined;
  const parts = text.split('.').map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}
function parseMac(text: string): number | undefined {
  if (!new RegExp(MAC_PATTERN).test(text)) return undefined;
  return text.split(':').reduce((m, b) => m * 256 + parseInt(b, 16), 0);
}
const ipStr = (ip: number): string => [ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff].join('.');

/** A client's default start: after a server's task is created and listening (on Ultrix its creation alone is ≈1.4 ms of page zeroing). */
export const CLIENT_START_MS = 5;

/** The app's parameters as a client or server declares them: `peer` for a client, the catalogue's, and `startMs`. */
export function appParamSpecs(appName: string, hosts: readonly string[]): readonly ParamSpec[] {
  const app = APPS.get(appName)!;
  const peer: ParamSpec = { name: 'peer', type: 'enum', default: hosts[0] ?? '', values: [...hosts], unit: '', doc: 'the host to connect to (on the same link)' };
  const start: ParamSpec = {
    name: 'startMs', type: 'number', default: app.role === 'client' ? CLIENT_START_MS : 0, min: 0, max: TIME_MS_MAX, unit: 'ms',
    doc: `when the app's task is created, after every host and protocol server is up (a client's default ${CLIENT_START_MS} ms lets its server listen first)`,
  };
  return app.role === 'client' ? [peer, ...app.params, start] : [...app.params, start];
}

function checkName(v: unknown, at: At, what: string, fail: TopoFail): string {
  if (typeof v !== 'string') return fail(at, `needs the ${what}'s name (a string), got ${shown(v)}`);
  if (!nameRe.test(v)) return fail(at, `'${v}' is not a name: a letter, then up to 31 letters, digits, '-' or '_'`);
  return v;
}

function checkKeys(o: Record<string, unknown>, at: At, allowed: readonly string[], fail: TopoFail): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail([...at, k], `unknown field (fields: ${allowed.join(', ')})`);
}

/** A parsed topology file's fields as a Topology, or one line naming the field. */
export function checkTopology(doc: Record<string, unknown>, fail: TopoFail): Topology {
  for (const k of ['hosts', 'links', 'apps'] as const) if (doc[k] === undefined) fail([k], `missing (a topology file gives hosts, links and apps)`);
  const arr = (k: string, max: number): unknown[] => {
    const v = doc[k];
    if (!Array.isArray(v) || v.length === 0) return fail([k], `needs a non-empty array, got ${shown(v)}`);
    if (v.length > max) return fail([k], `at most ${max} entries, got ${v.length}`);
    return v;
  };
  const names = new Map<string, string>(); // every name → what it names (hosts, links, apps share one namespace)
  const claim = (name: string, what: string, at: At): void => {
    const prior = names.get(name);
    if (prior !== undefined) fail([...at, 'name'], `'${name}' already names ${prior} (hosts, links and apps need distinct names)`);
    names.set(name, `${what} ${at.slice(0, 2).map((x, i) => (i === 0 ? x : `[${String(x)}]`)).join('')}`);
  };

  // Links.
  const links: TopoLinkSpec[] = arr('links', HOSTS_MAX).map((l, i) => {
    const at = ['links', i];
    if (!isObject(l)) return fail(at, `needs an object {name, kind, faults}, got ${shown(l)}`);
    checkKeys(l, at, ['name', 'kind', 'faults'], fail);
    const name = checkName(l['name'], [...at, 'name'], 'link', fail);
    claim(name, 'link', at);
    const kind = l['kind'];
    if (typeof kind !== 'string' || !(LINK_KINDS as readonly string[]).includes(kind)) return fail([...at, 'kind'], `needs one of ${LINK_KINDS.join(', ')}, got ${shown(kind)}`);
    const faults: Record<string, number> = { loss: 0, corrupt: 0, duplicate: 0, reorder: 0 };
    if (l['faults'] !== undefined) {
      const f = l['faults'];
      if (!isObject(f)) return fail([...at, 'faults'], `needs an object of fault: probability, got ${shown(f)}`);
      checkKeys(f, [...at, 'faults'], FAULT_NAMES, fail);
      for (const spec of FAULT_PARAMS) if (f[spec.name] !== undefined) faults[spec.name] = paramJson(spec, f[spec.name], [...at, 'faults', spec.name], fail) as number;
    }
    return { name, kind: kind as LinkKind, faults: faults as FaultRates };
  });
  const linkByName = new Map(links.map((l) => [l.name, l]));

  // Hosts.
  const table = decstationCostTable();
  const rawHosts = arr('hosts', HOSTS_MAX).map((h, i) => {
    const at = ['hosts', i];
    if (!isObject(h)) return fail(at, `needs an object {name, organization, link, ...}, got ${shown(h)}`);
    checkKeys(h, at, ['name', 'organization', 'link', 'ip', 'mac', 'costs'], fail);
    const name = checkName(h['name'], [...at, 'name'], 'host', fail);
    claim(name, 'host', at);
    const org = h['organization'];
    if (typeof org !== 'string' || !(ORGANIZATIONS as readonly string[]).includes(org)) {
      return fail([...at, 'organization'], `needs one of library (TCP linked into the application, the paper's), ultrix (TCP in the kernel), mach-ux (one trusted server), got ${shown(org)}`);
    }
    const linkName = h['link'];
    if (h['link'] === undefined) fail([...at, 'link'], `missing: the link the host attaches to (links: ${links.map((l) => l.name).join(', ')})`);
    if (typeof linkName !== 'string') return fail([...at, 'link'], `needs a link's name, got ${shown(linkName)}`);
    const link = linkByName.get(linkName);
    if (link === undefined) return fail([...at, 'link'], `no link named '${linkName}' (links: ${links.map((l) => l.name).join(', ')})`);
    if (!ORG_LINKS[org as Organization].includes(link.kind)) fail([...at, 'link'], `organization ${org} has no ${link.kind} driver path: the single server drives the LANCE only (link '${linkName}' is ${link.kind})`);
    let ip: number | undefined;
    if (h['ip'] !== undefined) {
      ip = typeof h['ip'] === 'string' ? parseIp(h['ip']) : undefined;
      if (ip === undefined) fail([...at, 'ip'], `needs a dotted IPv4 address ("10.0.1.2"), got ${shown(h['ip'])}`);
    }
    let mac: number | undefined;
    if (h['mac'] !== undefined) {
      mac = typeof h['mac'] === 'string' ? parseMac(h['mac']) : undefined;
      if (mac === undefined) fail([...at, 'mac'], `needs a MAC address ("08:00:2b:00:00:30"), got ${shown(h['mac'])}`);
      if (Math.floor(mac! / 2 ** 40) & 1) fail([...at, 'mac'], `${String(h['mac'])} is a multicast address (its first octet is odd): a station needs a unicast one`);
    }
    const costs = new Map<string, number>();
    if (h['costs'] !== undefined) {
      const c = h['costs'];
      if (!isObject(c)) return fail([...at, 'costs'], `needs an object of cost name: number, got ${shown(c)}`);
      for (const [k, v] of Object.entries(c)) {
        const cat = [...at, 'costs', k];
        if (typeof v !== 'number' || !Number.isFinite(v)) fail(cat, `needs a number, got ${shown(v)}`);
        if (LINK_COSTS.includes(k)) fail(cat, `is read by the AN1 link, not a host: set it in the top-level costs`);
        try {
          table.override(k, v as number);
        } catch (e) {
          fail(cat, (e as Error).message.split('\n')[0]!);
        }
        costs.set(k, v as number);
      }
    }
    return { name, organization: org as Organization, link: link.name, ip, mac, costs, at };
  });

  // Who is on each link, and what the link builders can join.
  links.forEach((l, i) => {
    const members = rawHosts.filter((h) => h.link === l.name);
    if (members.length < 2) fail(['links', i], `link '${l.name}' has ${members.length === 0 ? 'no host' : `one host (${members[0]!.name})`}: a link joins at least two`);
    if (l.kind === 'an1' && members.length > 2) fail(['links', i], `AN1 link '${l.name}' is point to point: it joins two hosts, not ${members.length} (${members.map((m) => m.name).join(', ')})`);
    if (l.kind === 'an1' && members[0]!.organization !== members[1]!.organization) {
      fail(['links', i], `AN1 link '${l.name}' joins hosts of two organizations (${members[0]!.name} ${members[0]!.organization}, ${members[1]!.name} ${members[1]!.organization}): on AN1 the organizations do not interoperate (the library exchanges BQIs in the link header, Ultrix's driver uses BQI 0 only); use an Ethernet link or one organization`);
    }
  });

  // Addresses: given, or the next free one; one /24 per link; all distinct.
  const macs = new Map<number, string>();
  const ips = new Map<number, string>();
  for (const h of rawHosts) {
    if (h.mac !== undefined) {
      const other = macs.get(h.mac);
      if (other !== undefined) fail([...h.at, 'mac'], `${String((h as { mac: number }).mac.toString(16))} is also host '${other}'s MAC address`);
      macs.set(h.mac, h.name);
    }
    if (h.ip !== undefined) {
      const other = ips.get(h.ip);
      if (other !== undefined) fail([...h.at, 'ip'], `${ipStr(h.ip)} is also host '${other}'s address`);
      ips.set(h.ip, h.name);
    }
  }
  const hosts: TopoHostSpec[] = [];
  let nextMac = 0x08002b_010001;
  links.forEach((l, li) => {
    const members = rawHosts.filter((h) => h.link === l.name);
    const given = members.find((h) => h.ip !== undefined);
    const net = given !== undefined ? (given.ip! & 0xffffff00) >>> 0 : ((10 << 24) | (1 << 16) | ((li + 1) << 8)) >>> 0;
    for (const h of members) {
      if (h.ip === undefined) continue;
      if ((h.ip & 0xffffff00) >>> 0 !== net) fail([...h.at, 'ip'], `${ipStr(h.ip)} is not in ${ipStr(net)}/24 with host '${given!.name}' on link '${l.name}': the stacks route nothing, hosts on one link share a /24`);
      if ((h.ip & 0xff) === 0 || (h.ip & 0xff) === 255) fail([...h.at, 'ip'], `${ipStr(h.ip)} is the subnet's ${(h.ip & 0xff) === 0 ? 'network' : 'broadcast'} address`);
    }
  });
  for (const h of rawHosts) {
    const li = links.findIndex((l) => l.name === h.link);
    const members = rawHosts.filter((m) => m.link === h.link);
    const given = members.find((m) => m.ip !== undefined);
    const net = given !== undefined ? (given.ip! & 0xffffff00) >>> 0 : ((10 << 24) | (1 << 16) | ((li + 1) << 8)) >>> 0;
    let ip = h.ip;
    for (let n = 1; ip === undefined; n++) if (!ips.has((net | n) >>> 0)) ips.set((ip = (net | n) >>> 0), h.name);
    let mac = h.mac;
    for (; mac === undefined; nextMac++) if (!macs.has(nextMac)) macs.set((mac = nextMac), h.name);
    hosts.push({ name: h.name, organization: h.organization, link: h.link, ip, mac, costs: h.costs });
  }
  const hostByName = new Map(hosts.map((h) => [h.name, h]));
  const hostNames = hosts.map((h) => h.name);

  // Apps.
  const apps: TopoAppSpec[] = arr('apps', APPS_MAX).map((a, i) => {
    const at = ['apps', i];
    if (!isObject(a)) return fail(at, `needs an object {name, app, host, params}, got ${shown(a)}`);
    checkKeys(a, at, ['name', 'app', 'host', 'params'], fail);
    const name = checkName(a['name'], [...at, 'name'], 'app', fail);
    claim(name, 'app', at);
    const appName = a['app'];
    if (typeof appName !== 'string' || !APPS.has(appName)) return fail([...at, 'app'], `${typeof appName === 'string' ? `unknown app '${appName}'` : `needs an app's name, got ${shown(appName)}`} (catalogue: ${[...APPS.keys()].join(', ')})`);
    const hostName = a['host'];
    if (typeof hostName !== 'string') return fail([...at, 'host'], `needs the name of the host it runs on, got ${shown(hostName)}`);
    if (!hostByName.has(hostName)) return fail([...at, 'host'], `no host named '${hostName}' (hosts: ${hostNames.join(', ')})`);
    const specs = appParamSpecs(appName, hostNames);
    const given = new Map<string, ParamValue>();
    const p = a['params'] ?? {};
    if (!isObject(p)) return fail([...at, 'params'], `needs an object of parameter: value, got ${shown(p)}`);
    for (const [k, v] of Object.entries(p)) {
      const spec = specs.find((s) => s.name === k);
      if (spec === undefined) fail([...at, 'params', k], `${appName} has no parameter '${k}' (its parameters: ${specs.map((s) => s.name).join(', ')})`);
      if (k === 'peer' && typeof v === 'string' && !hostByName.has(v)) fail([...at, 'params', k], `no host named '${v}' (hosts: ${hostNames.join(', ')})`);
      given.set(k, paramJson(spec!, v, [...at, 'params', k], fail));
    }
    if (APPS.get(appName)!.role === 'client' && !given.has('peer')) fail([...at, 'params', 'peer'], `missing: the host this ${appName} connects to (hosts: ${hostNames.join(', ')})`);
    const params = resolveParams(specs, given);
    return { name, app: appName, host: hostName, ...(params['peer'] !== undefined ? { peer: params['peer'] as string } : {}), params };
  });

  // Limits and report.
  let timeMs = TIME_MS_DEFAULT;
  let until = apps.map((a) => a.name);
  if (doc['limits'] !== undefined) {
    const l = doc['limits'];
    if (!isObject(l)) return fail(['limits'], `needs an object {timeMs, until}, got ${shown(l)}`);
    checkKeys(l, ['limits'], ['timeMs', 'until'], fail);
    if (l['timeMs'] !== undefined) timeMs = paramJson(TIME_SPEC, l['timeMs'], ['limits', 'timeMs'], fail) as number;
    if (l['until'] !== undefined) {
      const u = l['until'];
      if (!Array.isArray(u) || u.length === 0) return fail(['limits', 'until'], `needs a non-empty array of app names, got ${shown(u)}`);
      u.forEach((n, i) => {
        if (typeof n !== 'string' || !apps.some((a) => a.name === n)) fail(['limits', 'until', i], `no app named ${shown(n)} (apps: ${apps.map((a) => a.name).join(', ')})`);
      });
      if (new Set(u).size !== u.length) fail(['limits', 'until'], 'names an app twice');
      until = u as string[];
    }
  }
  let report: string[] = [...REPORT_SECTIONS];
  if (doc['report'] !== undefined) report = [...(paramJson(REPORT_SPEC, doc['report'], ['report'], fail) as readonly string[])];

  const topo: Topology = { hosts, links, apps, limits: { timeMs, until }, report };
  const problem = checkConnections(topo);
  if (problem !== undefined) fail(['apps', problem.app, ...(problem.param !== undefined ? ['params', problem.param] : [])], problem.text);
  return topo;
}

const TIME_SPEC: ParamSpec = { name: 'timeMs', type: 'int', default: TIME_MS_DEFAULT, min: 1, max: TIME_MS_MAX, unit: 'ms', doc: 'simulated time the apps may run; an awaited app still running then fails the run' };
const REPORT_SPEC: ParamSpec = { name: 'report', type: 'enum-list', default: [...REPORT_SECTIONS], values: [...REPORT_SECTIONS], unit: '', doc: 'what the results hold: each app\'s figures, per-host CPU, per-link counters' };

/** A JSON value checked against `spec`, or one line at `at`. */
function paramJson(spec: ParamSpec, v: unknown, at: At, fail: TopoFail): ParamValue {
  try {
    return checkParamJson(spec, v, '@');
  } catch (e) {
    if (!(e instanceof ParamError)) throw e;
    const m = /^@(?:\[(\d+)\])? (.*)$/.exec(e.message);
    if (m === null) return fail(at, e.message);
    return fail(m[1] !== undefined ? [...at, Number(m[1])] : at, m[2]!);
  }
}

/**
 * The checks that depend on parameter values (and so run again after `--set`): a client's peer is
 * another host on its link where a server app listens on the port, each server accepts exactly the
 * connections its clients make, and no two servers share a host and port.
 */
export function checkConnections(topo: Topology): { app: number; param?: string; text: string } | undefined {
  const hostOf = new Map(topo.hosts.map((h) => [h.name, h]));
  const servers = topo.apps.map((a, i) => ({ a, i })).filter(({ a }) => APPS.get(a.app)!.role === 'server');
  for (const [k, { a, i }] of servers.entries()) {
    const clash = servers.slice(0, k).find((s) => s.a.host === a.host && s.a.params['port'] === a.params['port']);
    if (clash !== undefined) return { app: i, param: 'port', text: `${a.name} and ${clash.a.name} both listen on port ${String(a.params['port'])} of host '${a.host}'` };
  }
  const made = new Map<string, { name: string; n: number }[]>();
  for (const [i, a] of topo.apps.entries()) {
    const app = APPS.get(a.app)!;
    if (app.role !== 'client') continue;
    const self = hostOf.get(a.host)!;
    const peer = hostOf.get(a.peer!)!;
    if (peer.name === self.name) return { app: i, param: 'peer', text: `${a.name} runs on host '${a.host}' itself: a client connects to another host (the stacks have no loopback path)` };
    if (peer.link !== self.link) return { app: i, param: 'peer', text: `host '${peer.name}' is on link '${peer.link}', ${a.name}'s host '${a.host}' on '${self.link}': the stacks route nothing, a client's peer shares its link` };
    const srv = servers.find((s) => s.a.host === peer.name && s.a.params['port'] === a.params['port']);
    if (srv === undefined) return { app: i, param: 'port', text: `no server app listens on port ${String(a.params['port'])} of host '${peer.name}'` };
    const list = made.get(srv.a.name) ?? [];
    list.push({ name: a.name, n: app.connections(a.params) });
    made.set(srv.a.name, list);
  }
  for (const { a, i } of servers) {
    const accepts = APPS.get(a.app)!.connections(a.params);
    const clients = made.get(a.name) ?? [];
    const total = clients.reduce((s, c) => s + c.n, 0);
    if (total !== accepts) {
      const param = a.app === 'echo-server' ? 'conns' : 'port';
      const who = clients.length === 0 ? 'no client connects to it' : `its clients make ${total} (${clients.map((c) => `${c.name} ${c.n}`).join(', ')})`;
      return { app: i, param, text: `${a.name} (${a.app}) accepts ${accepts} connection${accepts === 1 ? '' : 's'} but ${who}` };
    }
  }
  return undefined;
}

/** The topology with `values` (the scenario's parameters: `APP.PARAM`, `LINK.FAULT`, `timeMs`) applied. */
export function withValues(topo: Topology, values: ParamValues | undefined): Topology {
  if (values === undefined) return topo;
  const v = (k: string): ParamValue | undefined => values[k];
  return {
    ...topo,
    links: topo.links.map((l) => ({ ...l, faults: Object.fromEntries(FAULT_NAMES.map((f) => [f, (v(`${l.name}.${f}`) as number | undefined) ?? l.faults[f]])) as FaultRates })),
    apps: topo.apps.map((a) => {
      const params = Object.fromEntries(Object.entries(a.params).map(([k, x]) => [k, v(`${a.name}.${k}`) ?? x]));
      return { ...a, params, ...(params['peer'] !== undefined ? { peer: params['peer'] as string } : {}) };
    }),
    limits: { ...topo.limits, timeMs: (v('timeMs') as number | undefined) ?? topo.limits.timeMs },
  };
}

/** The scenario's parameters: every app parameter, every link fault rate and the time limit, defaulting to the file's values. */
export function topologyParams(topo: Topology): ParamSpec[] {
  const hostNames = topo.hosts.map((h) => h.name);
  const out: ParamSpec[] = [];
  for (const a of topo.apps) {
    for (const s of appParamSpecs(a.app, hostNames)) out.push({ ...s, name: `${a.name}.${s.name}`, default: a.params[s.name] ?? s.default, doc: `${a.name} (${a.app} on ${a.host}): ${s.doc}` });
  }
  for (const l of topo.links) for (const s of FAULT_PARAMS) out.push({ ...s, name: `${l.name}.${s.name}`, default: l.faults[s.name as keyof FaultRates], doc: `link ${l.name} (${l.kind}): ${s.doc}` });
  out.push({ ...TIME_SPEC, default: topo.limits.timeMs });
  return out;
}

/** A topology file as a scenario named `name`: `ulp run`, `--set`, `ulp sweep` treat it as a built-in. */
export function topologyScenario(name: string, topo: Topology, description?: string): Scenario {
  const params = topologyParams(topo);
  const orgs = [...new Set(topo.hosts.map((h) => h.organization))].join(', ');
  return {
    name,
    summary: description ?? `topology: ${topo.hosts.length} hosts (${orgs}) on ${topo.links.length} link${topo.links.length === 1 ? '' : 's'}, ${topo.apps.length} apps`,
    params,
    checkParams(values) {
      const p = checkConnections(withValues(topo, values));
      if (p === undefined) return undefined;
      const a = topo.apps[p.app]!;
      return `${p.param !== undefined ? `${a.name}.${p.param}` : a.name}: ${p.text}`;
    },
    run(world, options) {
      return runTopology(world, withValues(topo, options.params));
    },
  };
}
