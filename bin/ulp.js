#!/usr/bin/env node
// Entry point: registers tsx's loader (TypeScript sources run as they are) and starts the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../studies/cli.ts');
process.exitCode = main(process.argv.slice(2));
