// A `ulp fuzz` worker thread (studies/campaign/run.ts): tinypool loads this module in each worker;
// it loads the CLI's code as bin/ulp.js does (the precompiled bundle when it is up to date, else
// the TypeScript sources through tsx) and runs the chunks of scenarios it is sent.
import { pathToFileURL } from 'node:url';
import { freshBundle } from './build.js';

async function loadCli() {
  if (process.env.ULP_TSX !== '1') {
    const bundle = freshBundle();
    if (bundle !== undefined) return import(pathToFileURL(bundle).href);
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import('../studies/cli.ts');
}

const cli = await loadCli();

export default function campaignChunk(task) {
  return cli.campaignChunk(task);
}
