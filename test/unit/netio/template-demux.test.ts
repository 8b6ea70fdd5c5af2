import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify, DemuxTable, rawKey, tcpKey } from '../../../kernel/netio/demux.ts';
import { TokenBucket } from '../../../kernel/netio/rate-limit.ts';
import { compileTemplate, ethernetTcpTemplate, makeTemplate, type TemplateField } from '../../../kernel/netio/template.ts';

const fieldArb: fc.Arbitrary<TemplateField> = fc
  .record({ offset: fc.integer({ min: 0, max: 60 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }) })
  .map(({ offset, bytes }) => ({ name: `f${offset}`, offset, bytes }));

/** Fields that do not overlap (a template never constrains one byte twice). */
const templateArb = fc.array(fieldArb, { minLength: 1, maxLength: 8 }).map((fs) => {
  const used = new Set<number>();
  const kept = fs.filter((f) => {
    for (let i = 0; i < f.bytes.length; i++) if (used.has(f.offset + i)) return false;
    for (let i = 0; i < f.bytes.length; i++) used.add(f.offset + i);
    return true;
  });
  return makeTemplate('ethernet', kept);
});

function reference(fields: readonly TemplateField[], frame: Uint8Array, length: number): boolean {
  return fields.every((f) => f.offset + f.bytes.length <= length && f.bytes.every((b, i) => frame[f.offset + i] === b));
}

describe('compiled header templates', () => {
  it('accept exactly the frames whose constrained bytes all match (against a field-by-field reference)', () => {
    fc.assert(
      fc.property(templateArb, fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.boolean(), (t, raw, conform) => {
        const frame = raw.slice();
        if (conform) for (const f of t.fields) for (let i = 0; i < f.bytes.length; i++) if (f.offset + i < frame.length) frame[f.offset + i] = f.bytes[i]!;
        const m = compileTemplate(t);
        const ok = reference(t.fields, frame, frame.length);
        const r = m(frame, frame.length);
        expect(r === -1).toBe(ok);
        if (r !== -1) expect(r).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('names the rewritten field of a TCP template', () => {
    const a = Uint8Array.of(8, 0, 0x2b, 1, 2, 3);
    const b = Uint8Array.of(8, 0, 0x2b, 4, 5, 6);
    const t = ethernetTcpTemplate(b, a, { srcIp: 0x0a000001, dstIp: 0x0a000002, srcPort: 1024, dstPort: 80 });
    const m = compileTemplate(t);
    const frame = new Uint8Array(60);
    for (const f of t.fields) frame.set(f.bytes, f.offset);
    expect(m(frame, 60)).toBe(-1);
    frame[34] = 0x99; // tcp source port high byte
    expect(t.fields[m(frame, 60)]!.name).toBe('tcp.srcPort');
    expect(m(frame, 20)).not.toBe(-1); // too short for the template
  });
});

function tcpFrame(src: number, dst: number, sport: number, dport: number, fragment = 0): Uint8Array {
  const f = new Uint8Array(60);
  f[12] = 0x08;
  f[13] = 0x00;
  f[14] = 0x45;
  f[20] = fragment >>> 8;
  f[21] = fragment & 0xff;
  f[23] = 6;
  new DataView(f.buffer).setUint32(26, src);
  new DataView(f.buffer).setUint32(30, dst);
  new DataView(f.buffer).setUint16(34, sport);
  new DataView(f.buffer).setUint16(36, dport);
  return f;
}

describe('software demultiplexing', () => {
  it('keys TCP by (remote IP, local IP, remote port, local port) and finds it with one lookup', () => {
    const table = new DemuxTable<number>();
    table.install(tcpKey(0x0a000002, 0x0a000001, 80, 1024), 7);
    expect(table.lookup(classify(tcpFrame(0x0a000002, 0x0a000001, 80, 1024), 60).key)).toBe(7);
    expect(table.lookup(classify(tcpFrame(0x0a000002, 0x0a000001, 81, 1024), 60).key)).toBeUndefined();
    expect(table.install(tcpKey(0x0a000002, 0x0a000001, 80, 1024), 8)).toBe(false);
  });

  it('does not demultiplex IP fragments (first fragment with MF, or a non-zero offset)', () => {
    expect(classify(tcpFrame(1, 2, 3, 4, 0x2000), 60).cls).toBe('ip-fragment');
    expect(classify(tcpFrame(1, 2, 3, 4, 0x0010), 60).cls).toBe('ip-fragment');
    expect(classify(tcpFrame(1, 2, 3, 4, 0x4000), 60).cls).toBe('tcp'); // DF alone is fine
  });

  it('keys raw frames by EtherType and source MAC; short frames get no key', () => {
    const f = new Uint8Array(60);
    f.set([1, 2, 3, 4, 5, 6], 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    expect(classify(f, 60)).toEqual({ cls: 'raw', key: rawKey(0x88b5, f.subarray(6, 12)) });
    expect(classify(f, 10).cls).toBe('short');
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat({ max: 2000 }), (b, len) => void classify(b, Math.min(len, b.length))));
  });
});

describe('token bucket', () => {
  it('passes a burst, then the sustained rate exactly', () => {
    const tb = new TokenBucket({ bytesPerSecond: 1_000_000, burstBytes: 3_000 }, 0);
    expect(tb.take(1500, 0)).toBe(true);
    expect(tb.take(1500, 0)).toBe(true);
    expect(tb.take(1500, 0)).toBe(false);
    expect(tb.take(1500, 1_499_999)).toBe(false); // 1.5 ms at 1 MB/s refills 1499.999 B
    expect(tb.take(1500, 1_500_000)).toBe(true);
  });
});
