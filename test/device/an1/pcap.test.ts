/**
 * AN1 captures: pcap with LINKTYPE_USER0 (147), frames without CRC; the repo's Lua dissector
 * decodes them in tshark (skipped, saying why, when tshark is not installed).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINKTYPE_USER0, PcapWriter } from '../../../emulator/net/pcap.ts';
import { RAW_AN1_DEFAULTS, runRawAn1 } from '../../../studies/scenarios/raw-an1.ts';
import { World } from '../../../studies/world.ts';
import { makeFrame } from './harness.ts';

const DISSECTOR = resolve(import.meta.dirname, '../../../tools/wireshark/an1.lua');
const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
const haveTshark = tshark.status === 0;
if (!haveTshark) console.warn('test/device/an1/pcap.test.ts: tshark not installed; skipping the dissector checks (apt-get install tshark)');

function runTshark(file: string, extra: string[]): string[] {
  const r = spawnSync('tshark', ['-X', `lua_script:${DISSECTOR}`, '-r', file, ...extra], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n');
}

describe('AN1 pcap capture', () => {
  const dir = mkdtempSync(join(tmpdir(), 'an1-pcap-'));
  const world = new World({ seed: 1, traceOn: false });
  const results = runRawAn1(world, { ...RAW_AN1_DEFAULTS, frames: 12, payloadBytes: 200, pcapDir: dir });

  it('writes one LINKTYPE_USER0 file per interface with every frame, CRC stripped', () => {
    expect(results['pcapFiles']).toEqual(['an1-ws-a.pcap', 'an1-ws-b.pcap']);
    for (const name of ['an1-ws-a.pcap', 'an1-ws-b.pcap']) {
      const bytes = readFileSync(join(dir, name));
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      expect(v.getUint32(0, true)).toBe(0xa1b23c4d);
      expect(v.getUint32(20, true)).toBe(147);
      let at = 24;
      let records = 0;
      while (at < bytes.length) {
        const caplen = v.getUint32(at + 8, true);
        expect(caplen).toBe(220);
        expect(v.getUint32(at + 12, true)).toBe(220);
        at += 16 + caplen;
        records++;
      }
      expect(records).toBe(12);
    }
  });

  it.skipIf(!haveTshark)('tshark decodes the link header with tools/wireshark/an1.lua', () => {
    const rows = runTshark(join(dir, 'an1-ws-b.pcap'), ['-T', 'fields', '-e', 'an1.dst_bqi', '-e', 'an1.type', '-e', 'an1.src_uid', '-e', 'frame.len']);
    expect(rows).toHaveLength(12);
    const bqis = rows.map((r) => Number(r.split('\t')[0]));
    expect(bqis).toEqual(Array.from({ length: 12 }, (_, i) => RAW_AN1_DEFAULTS.bqiPattern[i % 6]));
    expect(rows[0]!.split('\t').slice(1)).toEqual(['0x88b5', '08:00:2b:a1:00:01', '220']);
  });

  it.skipIf(!haveTshark)('hands IPv4 payloads to Wireshark’s IP dissector and shows the spare BQI', () => {
    const ip = Uint8Array.from([
      0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4, UDP
      0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0, // UDP 12345 -> 53
    ]);
    const frame = makeFrame(9, ip, 33);
    frame[16] = 0x08;
    frame[17] = 0x00;
    const w = new PcapWriter(LINKTYPE_USER0);
    w.record(1_000, frame);
    const file = join(dir, 'ipv4.pcap');
    writeFileSync(file, w.bytes());
    const rows = runTshark(file, ['-T', 'fields', '-e', 'an1.dst_bqi', '-e', 'an1.spare', '-e', 'ip.dst', '-e', 'udp.dstport']);
    expect(rows).toEqual(['9\t33\t10.0.0.2\t53']);
  });
});
