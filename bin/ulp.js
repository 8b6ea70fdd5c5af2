#!/usr/bin/env node
// Entry point: runs the CLI from its precompiled bundle (bin/build.js; rebuilt here when a source
// changed since), or, where esbuild cannot run, from the TypeScript sources through tsx's loader.
import { build, freshBundle } from './build.js';
import { pathToFileURL } from 'node:url';

// A reader that went away (`ulp bench | head -1`) ends the command quietly, never with a trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

async function loadCli() {
  if (process.env.ULP_TSX !== '1') {
    let bundle = freshBundle();
    if (bundle === undefined) {
      try {
        bundle = await build();
      } catch (e) {
        process.stderr.write(`ulp: cannot precompile (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); running the sources through tsx\n`);
      }
    }
    if (bundle !== undefined) return noted(pathToFileURL(bundle).href, false);
  }
  const { register } = await import('tsx/esm/api');
  register();
  return noted(new URL('../studies/cli.ts', import.meta.url).href, true);
}

/** Import the CLI module, noting which (studies/pool.ts: `ulp sweep --jobs` workers load the same). */
function noted(href, tsx) {
  globalThis[Symbol.for('ulp-emu.cli')] = { href, tsx };
  return import(href);
}

const cli = await loadCli();
// `ulp sweep --jobs N` and `ulp paper --jobs N` return a promise (their runs are on a tinypool
// pool of worker threads, studies/pool.ts, each loading the CLI through bin/pool-worker.js).
process.exitCode = await cli.main(process.argv.slice(2));
