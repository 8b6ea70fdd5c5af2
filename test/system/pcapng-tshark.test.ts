/**
 * `ulp run --pcap DIR` read by tshark (issue 14 item 6): one pcapng per interface named
 * <host>-<interface>.pcapng, whose packets tshark counts as the emulator counted the frames (per
 * host: outbound = the frames it sent, inbound = the frames the others sent, on a lossless
 * segment or link, where a station sees every frame), with the interface's name, nanosecond timestamps
 * (the strict reader's to the nanosecond), and the TCP of a TCP scenario dissected with valid
 * checksums, on Ethernet and (with tools/wireshark/an1.lua) on AN1. Skipped, saying why, without
 * tshark.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPcapng } from '../studies/pcap-reader.ts';

const TSHARK = ['/usr/bin/tshark', '/usr/local/bin/tshark'].find((p) => existsSync(p));
if (TSHARK === undefined) console.warn('test/system/pcapng-tshark.test.ts: SKIPPED, tshark is not installed (apt-get install tshark)');
const DISSECTOR = resolve(import.meta.dirname, '../../tools/wireshark/an1.lua');

const dir = mkdtempSync(join(tmpdir(), 'ulp-pcapng-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ulpRun(name: string, args: string[]): { captures: string[]; results: { hosts?: { host: string; sent: number; received: number }[] }; fingerprint: string; out: string } {
  const out = join(dir, name);
  const r = spawnSync(process.execPath, ['bin/ulp.js', 'run', ...args, '--pcap', out, '--json'], { encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  return { ...(JSON.parse(r.stdout) as { captures: string[]; results: { hosts?: { host: string; sent: number; received: number }[] }; fingerprint: string }), out };
}

/** tshark's fields of every packet of `file`, one array per packet. */
function tshark(file: string, fields: string[], extra: string[] = []): string[][] {
  const r = spawnSync(TSHARK!, ['-n', ...extra, '-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

describe.skipIf(TSHARK === undefined)('--pcap files read by tshark', () => {
  it.each([
    ['raw-ethernet', ['raw-ethernet', '--param', 'frames=30', '--param', 'loss=0', '--param', 'hosts=3'], 'ln0', 1],
    ['raw-an1', ['raw-an1', '--param', 'frames=24', '--param', 'bidirectional=true'], 'an0', 147],
  ] as const)('%s: per host, packets out = frames it sent, in = frames the others sent; interface names; ns timestamps', (name, args, iface, linkType) => {
    const run = ulpRun(name, [...args]);
    const hosts = run.results.hosts!;
    expect(run.captures).toEqual(hosts.map((h) => `${h.host}-${iface}.pcapng`));
    expect(readdirSync(run.out).sort()).toEqual([...run.captures].sort());
    let subNs = 0;
    for (const h of hosts) {
      const file = join(run.out, `${h.host}-${iface}.pcapng`);
      const rows = tshark(file, ['frame.interface_name', 'frame.packet_flags_direction', 'frame.time_epoch', 'frame.interface_description']);
      expect(rows.filter((r) => Number(r[1]) === 2)).toHaveLength(h.sent);
      const othersSent = hosts.filter((o) => o !== h).reduce((n, o) => n + o.sent, 0);
      expect(rows.filter((r) => Number(r[1]) === 1)).toHaveLength(othersSent);
      expect(rows).toHaveLength(h.sent + othersSent);
      // Two stations: what one receives is all the other sent.
      if (hosts.length === 2) expect(h.received).toBe(othersSent);
      expect(h.sent).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r[0]))).toEqual(new Set([`${h.host}-${iface}`]));
      expect(rows[0]![3]).toMatch(iface === 'ln0' ? /^PMAD-AA LANCE \(Am7990\) of .+ on Ethernet segment 01$/ : /^AN1 controller of .+ on AN1 link 01$/);
      // tshark prints the nanoseconds the file holds; the strict reader agrees to the nanosecond.
      const file2 = readPcapng(readFileSync(file));
      expect(file2.linkType).toBe(linkType);
      expect(rows.map((r) => r[2])).toEqual(file2.records.map((x) => `${Math.floor(x.timeNs / 1e9)}.${String(x.timeNs % 1e9).padStart(9, '0')}`));
      subNs += file2.records.filter((x) => x.timeNs % 1000 !== 0).length;
    }
    // Nanoseconds matter: some frames fall between microseconds.
    expect(subNs).toBeGreaterThan(0);
    const info = spawnSync(TSHARK!.replace(/tshark$/, 'capinfos'), ['-a', '-T', '-r', join(run.out, run.captures[0]!)], { encoding: 'utf8' });
    if (info.status === 0) expect(info.stdout).toMatch(/pcapng/);
  }, 120_000);

  it('a TCP scenario: tshark dissects the TCP (handshake, data, FIN) with valid checksums on Ethernet and on AN1', () => {
    const run = ulpRun('tcp', ['paper-table4-ultrix', '--param', 'opens=2']);
    expect(run.captures).toEqual(['t4u-ethernet-a-ln0.pcapng', 't4u-ethernet-b-ln0.pcapng', 't4u-an1-a-an0.pcapng', 't4u-an1-b-an0.pcapng']);
    for (const f of run.captures) {
      const extra = ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', ...(f.endsWith('an0.pcapng') ? ['-X', `lua_script:${DISSECTOR}`] : [])];
      const rows = tshark(join(run.out, f), ['frame.protocols', 'tcp.flags.syn', 'tcp.flags.fin', 'tcp.checksum.status', 'ip.checksum.status', '_ws.malformed', 'tcp.stream'], extra);
      const tcp = rows.filter((r) => r[0]!.endsWith(':ip:tcp'));
      expect(tcp.length, f).toBeGreaterThan(0);
      expect(tcp.filter((r) => r[1] === '1').length, `${f}: SYNs of two opens`).toBe(4);
      expect(tcp.filter((r) => r[2] === '1').length, `${f}: FINs`).toBeGreaterThan(0);
      expect(new Set(tcp.map((r) => r[6])).size, `${f}: two connections`).toBe(2);
      // Status 1 is "Good" (0 would be "Bad"); nothing malformed.
      expect(tcp.every((r) => r[3] === '1' && r[4] === '1'), f).toBe(true);
      expect(rows.every((r) => r[5] === ''), f).toBe(true);
    }
  }, 120_000);
});
