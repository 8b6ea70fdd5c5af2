// The CLI's precompiled JavaScript: studies/cli.ts and everything it imports, bundled by esbuild
// (the transpiler tsx itself uses) into node_modules/.cache/ulp-emu/cli.mjs, so a CLI process
// loads plain JavaScript instead of registering a TypeScript loader. `npm ci` builds it
// (`prepare`); bin/ulp.js checks it against its sources' modification times on every start and
// rebuilds it when any changed, so an edited source is never run stale.
// Usage: node bin/build.js (exit 0 and one line; a failure says why on stderr, exit 1).
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'ulp-emu');
export const BUNDLE = join(CACHE_DIR, 'cli.mjs');
const MANIFEST = join(CACHE_DIR, 'manifest.json');
/** Bump when the way the bundle is made changes. */
const FORMAT = 1;

/** The bundle's path if it is up to date with every source it was built from, else undefined. */
export function freshBundle() {
  let m;
  try {
    m = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return undefined;
  }
  if (m.format !== FORMAT || m.root !== ROOT || m.node !== process.versions.node) return undefined;
  for (const [file, mtimeMs] of Object.entries(m.inputs)) {
    const st = statSync(join(ROOT, file), { throwIfNoEntry: false });
    if (st === undefined || st.mtimeMs !== mtimeMs) return undefined;
  }
  return BUNDLE;
}

/** Build the bundle and its manifest (each written to a temporary name, then renamed). */
export async function build() {
  const esbuild = await import('esbuild');
  const tsconfig = join(ROOT, 'tsconfig.json');
  // import.meta.url in a source names its own file (it reads files beside it), not the bundle's.
  const metaUrl = {
    name: 'import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
      });
    },
  };
  const r = await esbuild.build({
    entryPoints: [join(ROOT, 'studies', 'cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    tsconfig,
    sourcemap: 'linked',
    metafile: true,
    write: false,
    outfile: BUNDLE,
    logLevel: 'silent',
    plugins: [metaUrl],
  });
  const inputs = {};
  for (const file of [...Object.keys(r.metafile.inputs).map((f) => resolve(ROOT, f)), tsconfig, join(ROOT, 'bin', 'build.js')]) {
    inputs[relative(ROOT, file)] = statSync(file).mtimeMs;
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `.${process.pid}.tmp`;
  for (const out of r.outputFiles) {
    writeFileSync(out.path + tmp, out.contents);
    renameSync(out.path + tmp, out.path);
  }
  writeFileSync(MANIFEST + tmp, JSON.stringify({ format: FORMAT, root: ROOT, node: process.versions.node, inputs }));
  renameSync(MANIFEST + tmp, MANIFEST);
  return BUNDLE;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const out = await build();
    process.stdout.write(`ulp: built ${relative(ROOT, out)}\n`);
  } catch (e) {
    process.stderr.write(`ulp: build failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
