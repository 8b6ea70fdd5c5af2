/**
 * `--pcap DIR` on every scenario with a network: one file per interface, named
 * <host>-<interface>.pcapng, each a whole pcapng the strict reader parses (one interface named as
 * the file, nanosecond timestamps, every packet's direction); the TCP scenarios' files hold the
 * TCP traffic (SYN, data, FIN); capturing changes nothing in the run. `pcapFormat: 'pcap'` writes
 * the same frames as classic pcap; a host and interface on two networks of a run get one file each.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../studies/run.ts';
import { SCENARIOS } from '../../studies/scenarios/index.ts';
import type { ParamValues } from '../../studies/scenarios/params.ts';
import { ipv4Of, readPcap, readPcapng, tcpFlags } from './pcap-reader.ts';

/** Small runs of each networked scenario (the defaults would take minutes for the whole set). */
const SMALL: readonly [string, ParamValues, boolean][] = [
  ['raw-ethernet', { frames: 30 }, false],
  ['raw-an1', { frames: 30 }, false],
  ['paper-table1', { frames: 20, oneTxBuffer: false }, false],
  ['paper-table5', { frames: 4 }, true],
  ['paper-table2-library', { writeSizes: [1024], bytesEthernet: 16_384, bytesAn1: 16_384 }, true],
  ['paper-table2-ultrix', { writeSizes: [1024], bytesEthernet: 16_384, bytesAn1: 16_384 }, true],
  ['paper-table2-mach-ux', { writeSizes: [1024], bytesEthernet: 16_384 }, true],
  ['paper-table3-library', { messageSizes: [64], rounds: 2, warmup: 0 }, true],
  ['paper-table3-ultrix', { messageSizes: [64], rounds: 2, warmup: 0 }, true],
  ['paper-table3-mach-ux', { messageSizes: [64], rounds: 2, warmup: 0 }, true],
  ['paper-table4-library', { opens: 1, ipcDevice: false }, true],
  ['paper-table4-ultrix', { opens: 1 }, true],
  ['paper-table4-mach-ux', { opens: 1 }, true],
  ['ux-primitives', { rounds: 1 }, true],
  ['mb93-primitives', {}, false],
  ['tcp-throughput', { organization: 'ultrix', writeSizes: [1024], bytesEthernet: 16_384, bytesAn1: 16_384 }, true],
  ['tcp-round-trip', { organization: 'mach-ux', links: ['ethernet'], messageSizes: [64], rounds: 2, warmup: 0 }, true],
  ['tcp-setup', { opens: 1 }, true],
  ['udp-rtt', { messageSizes: [64], rounds: 2, warmup: 0 }, false],
  ['reroute', { phaseBytes: 16_384 }, true],
];

describe('--pcap: captures of every interface, every scenario', () => {
  const root = mkdtempSync(join(tmpdir(), 'ulp-captures-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('the list covers every scenario with a network (hello and kernel-primitives have none)', () => {
    // mb93-layers is left out for its length (22 s simulated, no parameters to shorten it); its
    // hosts come from the same builders (hosts.ts, inkernel-hosts.ts, ux-hosts.ts) as the Table 2–4
    // scenarios above, whose captures are checked.
    expect([...SMALL.map(([n]) => n), 'hello', 'kernel-primitives', 'mb93-layers'].sort()).toEqual([...SCENARIOS.keys()].sort());
  });

  it.each(SMALL)('%s', (name, params, tcp) => {
    const dir = join(root, name);
    mkdirSync(dir);
    const s = SCENARIOS.get(name)!;
    const captured = runScenario(s, { seed: 1, params, pcapDir: dir });
    // Capturing observes only: the same run without it has the same fingerprint.
    expect(runScenario(s, { seed: 1, params }).fingerprint).toBe(captured.fingerprint);
    const files = readdirSync(dir).sort();
    expect(files).toEqual([...(captured.captures ?? [])].sort());
    expect(files.length).toBeGreaterThanOrEqual(2);
    let tcpSegments = 0;
    let syns = 0;
    const directions = new Set<string | undefined>();
    for (const f of files) {
      const m = /^([a-z0-9-]+)-(ln0|an0)\.pcapng$/.exec(f);
      expect(m, f).not.toBeNull();
      const pcap = readPcapng(readFileSync(join(dir, f)));
      expect(pcap.linkType).toBe(m![2] === 'ln0' ? 1 : 147);
      expect(pcap.ifName).toBe(f.slice(0, -'.pcapng'.length));
      expect(pcap.tsresol).toBe(9);
      expect(pcap.shbComment).toBe(`ulp-emu: scenario ${name}, seed 1, network ${pcap.ifDescription!.slice(-2)}, fingerprint ${captured.fingerprint}`);
      expect(pcap.records.length, `${f} holds frames`).toBeGreaterThan(0);
      expect(pcap.directions.every((d) => d !== undefined), `${f}: every packet has its direction`).toBe(true);
      for (const d of pcap.directions) directions.add(d);
      for (const r of pcap.records) {
        const ip = ipv4Of(pcap.linkType, r.data);
        const flags = ip === undefined ? undefined : tcpFlags(ip);
        if (flags !== undefined) {
          tcpSegments++;
          if (flags & 0x02) syns++;
        }
      }
    }
    // What one host sends another receives: both directions are in the run's files.
    expect([...directions].sort()).toEqual(['in', 'out']);
    if (tcp) expect(tcpSegments, 'TCP segments in the captures').toBeGreaterThan(0);
    // The TCP tables open connections: their SYNs are on the wire.
    if (tcp && name !== 'paper-table5') expect(syns).toBeGreaterThan(0);
  });
});

describe('--pcap: formats and names', () => {
  const root = mkdtempSync(join(tmpdir(), 'ulp-captures-names-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('pcapFormat pcap writes the same frames at the same times as classic pcap, <host>-<interface>.pcap', () => {
    const s = SCENARIOS.get('paper-table4-ultrix')!;
    const [ng, classic] = [join(root, 'ng'), join(root, 'classic')];
    mkdirSync(ng);
    mkdirSync(classic);
    const a = runScenario(s, { seed: 1, params: { opens: 1 }, pcapDir: ng });
    const b = runScenario(s, { seed: 1, params: { opens: 1 }, pcapDir: classic, pcapFormat: 'pcap' });
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(b.captures).toEqual(a.captures!.map((f) => f.replace(/\.pcapng$/, '.pcap')));
    expect(readdirSync(classic).sort()).toEqual([...b.captures!].sort());
    for (const f of a.captures!) {
      const x = readPcapng(readFileSync(join(ng, f)));
      const y = readPcap(readFileSync(join(classic, f.replace(/\.pcapng$/, '.pcap'))));
      expect(y.linkType).toBe(x.linkType);
      expect(y.records.map((r) => [r.timeNs, Buffer.from(r.data).toString('hex')])).toEqual(x.records.map((r) => [r.timeNs, Buffer.from(r.data).toString('hex')]));
    }
  });

  it('a host and interface on two networks of one run: one file per network, in net-NN/', () => {
    const s = SCENARIOS.get('paper-table2-library')!;
    const dir = join(root, 'twice');
    mkdirSync(dir);
    const r = runScenario(s, { seed: 1, params: { links: ['an1'], writeSizes: [1024, 1024], bytesAn1: 4096 }, pcapDir: dir });
    const names = ['t2-an1-1024-a-an0.pcapng', 't2-an1-1024-b-an0.pcapng'];
    expect(r.captures).toEqual([...names.map((n) => `net-01/${n}`), ...names.map((n) => `net-02/${n}`)]);
    expect(readdirSync(dir).sort()).toEqual(['net-01', 'net-02']);
    for (const f of r.captures!) expect(readPcapng(readFileSync(join(dir, f))).records.length).toBeGreaterThan(0);
  });
});
