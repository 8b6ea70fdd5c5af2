// The worker thread of every pool — `ulp sweep --jobs N`, `ulp paper --jobs N` (studies/pool.ts) and
// `ulp fuzz --jobs N` (studies/campaign/run.ts), started by tinypool: loads the CLI module the main
// thread runs — the precompiled bundle, or the sources through tsx's loader — and runs each task
// it is sent with that module's `poolTask`.
import { workerData } from 'node:worker_threads';

// tinypool's workerData is [its own data, ours].
const data = Array.isArray(workerData) ? workerData[1] : undefined;
if (data === null || typeof data !== 'object' || typeof data.cli !== 'string') throw new Error('ulp pool worker: no CLI module named in workerData');
if (data.tsx === true) {
  const { register } = await import('tsx/esm/api');
  register();
}
const cli = await import(data.cli);
if (typeof cli.poolTask !== 'function') throw new Error(`ulp pool worker: ${data.cli} exports no poolTask`);

export default function run(task) {
  return cli.poolTask(task);
}
