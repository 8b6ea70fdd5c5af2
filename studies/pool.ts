/**
 * Runs on a pool of worker threads (tinypool): `ulp sweep --jobs N` sends each point × seed, and
 * `ulp paper --jobs N` each experiment × seed, to a worker and gathers the outcomes by index, so
 * the output is the serial run's whatever the completion order. Each run builds a fresh World from its inputs alone, so where it runs cannot
 * change what it reports.
 *
 * A worker loads the same code the main thread runs: bin/pool-worker.js imports the precompiled
 * bundle, or registers tsx and imports the sources, as bin/ulp.js did in the main thread (it
 * leaves a note under `CLI_NOTE`); without that note (a test importing the sources) the workers
 * run the sources through tsx. The worker calls the CLI module's `poolTask` export.
 */
import { Tinypool } from 'tinypool';

/** The worker script of every pool (sweep, paper, the campaign): it loads the CLI and runs its poolTask. */
export const POOL_WORKER = new URL('../bin/pool-worker.js', import.meta.url).href;

/** Where bin/ulp.js records which CLI module it loaded: `{ href, tsx }`. */
export const CLI_NOTE = Symbol.for('ulp-emu.cli');

/** What a worker loads: the CLI module's URL and whether it needs tsx's loader first. */
export interface PoolWorkerData {
  readonly cli: string;
  readonly tsx: boolean;
}

/** The module the workers should load: bin/ulp.js's note, else these sources through tsx. */
export function poolWorkerData(): PoolWorkerData {
  const note = (globalThis as { [CLI_NOTE]?: { href?: unknown; tsx?: unknown } })[CLI_NOTE];
  if (note !== undefined && typeof note.href === 'string') return { cli: note.href, tsx: note.tsx === true };
  return { cli: new URL('./cli.ts', import.meta.url).href, tsx: true };
}

/** A task's settled value: its outcome, or why the worker could not give one. */
export type Settled<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: string };

/**
 * Run every task on `jobs` worker threads; resolve with each one's settled value in task order.
 * `onSettled(index, settled)` is called as each finishes (in completion order: progress only).
 * A task whose worker throws or dies settles as an error; the others still run.
 */
export async function runOnPool<T, R>(tasks: readonly T[], jobs: number, onSettled: (index: number, s: Settled<R>) => void): Promise<Settled<R>[]> {
  const threads = Math.max(1, Math.min(jobs, tasks.length));
  const pool = new Tinypool({
    filename: POOL_WORKER,
    minThreads: threads,
    maxThreads: threads,
    workerData: poolWorkerData(),
  });
  try {
    return await Promise.all(
      tasks.map(async (task, index) => {
        let s: Settled<R>;
        try {
          s = { ok: true, value: (await pool.run(task)) as R };
        } catch (e) {
          s = { ok: false, error: e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e) };
        }
        onSettled(index, s);
        return s;
      }),
    );
  } finally {
    await pool.destroy();
  }
}
