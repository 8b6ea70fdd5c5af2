/**
 * The layering of DESIGN.md, enforced by reading imports, and the determinism rule: no wall time,
 * Math.random, timers or promises in the simulated trees.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SIMULATED = ['emulator', 'kernel', 'userland', 'firmware'];

function walk(dir: string): string[] {
  const abs = join(ROOT, dir);
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch {
    return [];
  }
  for (const n of names) {
    const p = join(abs, n);
    if (statSync(p).isDirectory()) out = out.concat(walk(relative(ROOT, p)));
    else if (n.endsWith('.ts') && !n.endsWith('.d.ts')) out.push(relative(ROOT, p));
  }
  return out;
}

/** Source text with comments and string/template contents blanked (keeps import specifiers). */
function stripComments(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const n = src[i + 1];
    if (c === '/' && n === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && n === '*') {
      i += 2;
      while (i < src.length && !(src[i] === '*' && src[i + 1] === '/')) i++;
      i += 2;
    } else if (c === "'" || c === '"' || c === '`') {
      const q = c;
      out += q;
      i++;
      while (i < src.length && src[i] !== q) {
        if (src[i] === '\\') i++;
        i++;
      }
      out += q;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function importsOf(src: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of src.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

/** Where an import lands, as a repo-relative path, or the bare package name. */
function target(file: string, spec: string): string {
  if (spec.startsWith('.')) return relative(ROOT, resolve(ROOT, dirname(file), spec));
  return spec;
}

type Rule = (from: string, to: string) => boolean;
const under = (p: string, ...dirs: string[]): boolean => dirs.some((d) => p === d || p.startsWith(d + '/'));

/** Who may import whom (DESIGN.md "Layers and who may import whom"). */
const RULES: readonly { readonly tree: string; readonly allowed: Rule; readonly says: string }[] = [
  {
    tree: 'userland/inet',
    allowed: (_f, to) => under(to, 'userland/inet'),
    says: 'userland/inet imports nothing outside itself',
  },
  {
    tree: 'userland',
    allowed: (_f, to) => under(to, 'userland', 'kernel/abi'),
    says: 'userland imports only kernel/abi and userland',
  },
  {
    tree: 'kernel/abi',
    allowed: (_f, to) => under(to, 'kernel/abi'),
    says: 'kernel/abi is pure data: it imports only itself',
  },
  {
    tree: 'kernel',
    allowed: (_f, to) => under(to, 'kernel', 'emulator/bus', 'emulator/sim', 'emulator/bits', 'emulator/memory'),
    says: 'kernel imports only emulator/{bus,sim,bits,memory} and kernel',
  },
  {
    tree: 'firmware',
    allowed: (_f, to) => under(to, 'firmware', 'emulator/bits') || /^emulator\/devices\/[^/]+\/firmware-port\.ts$/.test(to) || to === 'emulator/sim/assert.ts',
    says: "firmware imports only firmware, emulator/bits, and a device's firmware-port",
  },
  {
    tree: 'emulator',
    allowed: (_f, to) => under(to, 'emulator') || to === 'node:events' || to === 'typed-emitter',
    says: 'emulator imports only emulator (and node:events / typed-emitter for taps)',
  },
];

const BANNED: readonly [RegExp, string][] = [
  [/\bDate\b/, 'Date (wall time)'],
  [/\bperformance\b/, 'performance (wall time)'],
  [/\bMath\.random\b/, 'Math.random'],
  [/\bset(?:Timeout|Interval|Immediate)\b/, 'host timers'],
  [/\bPromise\b/, 'Promise'],
  [/\basync\b/, 'async'],
  [/\bawait\b/, 'await'],
  [/\bprocess\.hrtime\b/, 'process.hrtime'],
  [/\bqueueMicrotask\b/, 'queueMicrotask'],
];

describe('architecture', () => {
  const files = SIMULATED.flatMap(walk).filter((f) => !f.endsWith('.test.ts'));

  it('finds the simulated trees', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it('keeps the import directions of DESIGN.md', () => {
    const violations: string[] = [];
    for (const file of files) {
      const rule = RULES.find((r) => under(file, r.tree));
      if (rule === undefined) continue;
      for (const spec of importsOf(readFileSync(join(ROOT, file), 'utf8'))) {
        const to = target(file, spec);
        if (!rule.allowed(file, to)) violations.push(`${file} imports ${spec}: ${rule.says}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('uses no wall time, randomness, host timers or promises in emulator/ kernel/ userland/ firmware/', () => {
    const violations: string[] = [];
    for (const file of files) {
      const code = stripComments(readFileSync(join(ROOT, file), 'utf8'));
      for (const [re, what] of BANNED) if (re.test(code)) violations.push(`${file}: ${what}`);
    }
    expect(violations).toEqual([]);
  });

  it('the import scanner sees every import form (self-test)', () => {
    const src = "import a from './a.ts';\nimport type { B } from '../b.ts';\nexport { c } from './c.ts';\nimport './d.ts';\nconst e = import('./e.ts');";
    expect(importsOf(src)).toEqual(['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts']);
    expect(stripComments("// Date\nconst x = 'Math.random'; /* await */ y")).not.toMatch(/Date|random|await/);
  });
});
