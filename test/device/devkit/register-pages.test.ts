/**
 * The register reference pages in docs/registers/ are generated from the models' register
 * definitions (tools/register-pages.ts → emulator/devkit/register-pages.ts). This test
 * regenerates them in memory and fails when a committed page differs (or one is missing or
 * extra), so a change to a register definition without `npx tsx tools/register-pages.ts` fails CI.
 * It also checks, through the devkit, two claims the pages make that the definitions alone do not
 * carry: CSR1–3 writable only while STOP, and writes to AN1 read-only registers being guest errors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { registerPages } from '../../../emulator/devkit/register-pages.ts';
import { createDevkit, CSR0, RMD1 } from '../../../emulator/devkit/index.ts';
import { createBqiFirmware } from '../../../firmware/an1/main.ts';

const dir = fileURLToPath(new URL('../../../docs/registers/', import.meta.url));

describe('docs/registers: generated pages are in step with the models', () => {
  const pages = registerPages();

  it('the committed pages are exactly the generated ones (run `npx tsx tools/register-pages.ts` after changing a register)', () => {
    expect(readdirSync(dir).filter((f) => f.endsWith('.md')).sort()).toEqual(pages.map((p) => p.file).sort());
    for (const p of pages) expect(readFileSync(dir + p.file, 'utf8'), `docs/registers/${p.file} is stale`).toBe(p.text);
  });

  it('each page names its datasheet and covers its device', () => {
    const byFile = new Map(pages.map((p) => [p.file, p.text]));
    expect(byFile.get('lance.md')).toMatch(/\*\*Datasheet\.\*\* AMD, \*Am7990/);
    expect(byFile.get('pmad-aa.md')).toMatch(/PMAD-AA TURBOchannel Ethernet Module Functional Specification/);
    expect(byFile.get('kn02.md')).toMatch(/KN02 System Module Functional Specification/);
    expect(byFile.get('an1.md')).toMatch(/None public/);
    for (const name of ['CSR0', 'CSR1', 'CSR2', 'CSR3', 'RAP', 'RMD1', 'TMD1', 'TMD3', 'MODE']) expect(byFile.get('lance.md')).toContain(` ${name}`);
    for (const row of ['| 0x1010 | UID_HI |', '| 0x1018 | MAXFRAME |', '| 0x3000 | RXC_POP |', '| 0x0100 | DESC_ADDR[k] |']) expect(byFile.get('an1.md')).toContain(row);
    expect(byFile.get('kn02.md')).toContain('| 0x1FF00000 | CSR |');
    expect(byFile.get('kn02.md')).toContain('| 23:16 | IOINTEN | RW |');
  });

  it('a change to a definition changes the page (the check can fail)', () => {
    const lance = pages.find((p) => p.file === 'lance.md')!.text;
    expect(lance).toContain('| 14 | BABL | W1C |');
    expect(lance).toContain('| 0x3 | CSR3 | 16 | 0x0000 | RW (fields) | writable only while CSR0.STOP = 1');
  });
});

describe('claims on the pages that the model enforces', () => {
  it('LANCE CSR1–3: a write while running is ignored and is a guest error', () => {
    const kit = createDevkit({ lance: true });
    const l = kit.lance;
    l.write('CSR0', CSR0.STOP);
    l.writeInitBlock(0, { padr: l.stationAddress(), rx: { base: 0x40, log2: 0 }, tx: { base: 0x80, log2: 0 } });
    l.writeDescriptor(0x40, 0, { addr: 0x1000, length: 0x600, flags: RMD1.OWN });
    l.write('CSR1', 0);
    l.write('CSR2', 0);
    l.write('CSR0', CSR0.INIT | CSR0.STRT);
    expect(kit.untilCsr0(CSR0.IDON, { nsMax: 1_000_000 })).toBe(true);
    expect(kit.guestErrorCount).toBe(0);
    for (const r of ['CSR1', 'CSR2', 'CSR3'] as const) {
      const before = l.read(r);
      l.write(r, 0x0002);
      expect(l.read(r)).toBe(before);
    }
    expect(kit.guestErrorCount).toBe(3);
  });

  it('AN1: every register the page marks "write: guest error" refuses a write with one', () => {
    const an1Page = registerPages().find((p) => p.file === 'an1.md')!.text;
    const names = an1Page.split('\n').filter((l) => /write: guest error/.test(l)).map((l) => l.split('|')[2]!.trim());
    expect(names.length).toBeGreaterThanOrEqual(21);
    const kit = createDevkit({ an1: { firmware: createBqiFirmware() } });
    let expected = 0;
    for (const n of names) {
      if (n === 'BQ_FILLED' || n === 'BQ_DROPS') kit.an1.writeBqi(3, n, 1);
      else kit.an1.write(n as Parameters<typeof kit.an1.write>[0], 1);
      expect(kit.guestErrorCount, n).toBe(++expected);
    }
  });
});
