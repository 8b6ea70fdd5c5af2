#!/usr/bin/env node
// Entry point: runs the CLI from its precompiled bundle (bin/build.js; rebuilt here when a source
// changed since), or, where esbuild cannot run, from the TypeScript sources through tsx's loader.
import { build, freshBundle } from './build.js';
import { pathToFileURL } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';

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
    if (bundle !== undefined) return import(pathToFileURL(bundle).href);
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import('../studies/cli.ts');
}

const cli = await loadCli();
// A `ulp paper` worker thread runs the experiments it is sent (studies/paper/parallel.ts).
if (isMainThread || !cli.workerMain(workerData)) {
  // `ulp fuzz` on worker threads answers with a promise of its exit status.
  const code = cli.main(process.argv.slice(2));
  process.exitCode = typeof code === 'number' ? code : await code;
}
