/**
 * The register reference pages are written by hand (docs/lance.md "Register reference",
 * docs/an1.md "Register map"); this test reads them and checks every row against the models'
 * register definitions — offsets, names and access kinds — so the pages cannot drift.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RegisterDef } from '../../../emulator/bits/register-file.ts';
import * as A from '../../../emulator/devices/an1/registers.ts';
import { LANCE_CSRS } from '../../../emulator/devices/lance/registers.ts';

const doc = (name: string): string => readFileSync(fileURLToPath(new URL(`../../../docs/${name}`, import.meta.url)), 'utf8');
const cells = (line: string): string[] => line.split('|').slice(1, -1).map((c) => c.trim());

/** One access word for a register: its own kind, or what its fields add up to. */
function accessOf(r: RegisterDef): string {
  if (r.access !== 'reserved' || r.fields === undefined) return r.access;
  const kinds = new Set(r.fields.map((f) => f.access));
  if (kinds.has('w1c')) return 'w1c';
  if (kinds.size === 1 && kinds.has('ro')) return 'ro';
  return 'rw';
}

describe('register reference pages match the models', () => {
  it('docs/lance.md: the CSR0 table has every bit with the model name and access kind', () => {
    const text = doc('lance.md');
    const table = text.slice(text.indexOf('CSR0 (always accessible):'));
    const rows = table.split('\n').filter((l) => /^\| \d+ \| [A-Z]+ \|/.test(l)).map(cells);
    const csr0 = LANCE_CSRS.find((r) => r.name === 'CSR0')!;
    const kind: Record<string, string> = { ro: 'RO', w1c: 'W1C', rw: 'RW', 'set-only': 'W1S' };
    expect(rows.map((r) => [Number(r[0]), r[1], r[2]])).toEqual(
      [...csr0.fields!].sort((a, b) => b.lsb - a.lsb).map((f) => [f.lsb, f.name, kind[f.access]]),
    );
  });

  it('docs/an1.md: the register map has every register of the model at its offset with its access kind', () => {
    const rows = doc('an1.md').split('\n').filter((l) => /^\| [a-zA-Z]* *\| 0x[0-9A-F]{4} \|/.test(l)).map(cells);
    const byOffset = new Map(rows.map((r) => [Number.parseInt(r[1]!, 16), { name: r[2]!.replace(' *', ''), access: r[3]!.split(',')[0]! }]));
    const pages: [number, readonly RegisterDef[]][] = [
      [A.AN1_PAGE.csr, A.CSR_PAGE_REGS], [A.AN1_PAGE.tx, A.TX_PAGE_REGS], [A.AN1_PAGE.rxc, A.RXC_PAGE_REGS], [A.AN1_PAGE.clock, A.CLOCK_PAGE_REGS],
    ];
    let n = 0;
    for (const [page, regs] of pages) {
      for (const r of regs) {
        const row = byOffset.get(page + r.offset);
        expect([r.name, row]).toEqual([r.name, { name: r.name, access: accessOf(r) }]);
        n++;
      }
    }
    expect(rows.length).toBe(n + 1); // + the option ROM row
  });
});
