#!/usr/bin/env node
// Entry point: registers tsx's loader (TypeScript sources run as they are) and starts the CLI.
import { register } from 'tsx/esm/api';

// A reader that went away (`ulp bench | head -1`) ends the command quietly, never with a trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
register();
const { main } = await import('../studies/cli.ts');
process.exitCode = main(process.argv.slice(2));
