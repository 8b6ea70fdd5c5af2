/**
 * `ulp paper --jobs N|auto` on worker threads: each experiment (scenario × seed) is an
 * independent run in a fresh World, so where it runs cannot change its report; the results are
 * gathered in the serial order. The main thread stays synchronous: it sleeps on a shared counter
 * (Atomics.wait) that a worker bumps after posting a result, and reads the results with
 * receiveMessageOnPort.
 *
 * A worker is the CLI's own entry point (bin/ulp.js) started with `workerData.ulpPaperWorker`:
 * it loads the same code the main thread runs (the precompiled bundle, or the sources via tsx)
 * and calls `paperWorker` instead of `main`.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/** One experiment to run: a scenario by name on one seed, with the run's cost overrides. */
export interface PaperTask {
  readonly index: number;
  readonly scenario: string;
  readonly seed: number;
  readonly costOverrides: readonly (readonly [string, number])[];
}

interface WorkerData {
  readonly ulpPaperWorker: true;
  readonly port: MessagePort;
  readonly signal: Int32Array;
}

type Reply<O> = { readonly index: number; readonly outcome: O } | { readonly index: number; readonly error: string };

/** In a worker: run each task posted on the port with `run`, post its outcome, bump the signal. */
export function paperWorker<O>(data: unknown, run: (task: PaperTask) => O): void {
  const { port, signal } = data as WorkerData;
  port.on('message', (task: PaperTask | 'exit') => {
    if (task === 'exit') {
      port.close();
      return;
    }
    let reply: Reply<O>;
    try {
      reply = { index: task.index, outcome: run(task) };
    } catch (e) {
      reply = { index: task.index, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
    port.postMessage(reply);
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  });
}

/** True in a thread started by `runInWorkers`. */
export function isPaperWorker(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { ulpPaperWorker?: unknown }).ulpPaperWorker === true;
}

/**
 * Run `tasks` on `jobs` worker threads (each started from `entry`, the CLI's script), and return
 * their outcomes in task order. `onDone(index)` is called as each finishes (progress).
 */
export function runInWorkers<O>(entry: string, tasks: readonly PaperTask[], jobs: number, onDone: (index: number) => void): O[] {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const n = Math.max(1, Math.min(jobs, tasks.length));
  const workers: { worker: Worker; port: MessagePort; busy: boolean }[] = [];
  for (let i = 0; i < n; i++) {
    const { port1, port2 } = new MessageChannel();
    const data: WorkerData = { ulpPaperWorker: true, port: port2, signal };
    const worker = new Worker(entry, { workerData: data, transferList: [port2], stdout: false, stderr: false });
    worker.unref();
    workers.push({ worker, port: port1, busy: false });
  }
  const out = new Array<O | undefined>(tasks.length).fill(undefined);
  let next = 0;
  let finished = 0;
  const feed = (w: (typeof workers)[number]): void => {
    if (next < tasks.length) {
      w.port.postMessage(tasks[next++]);
      w.busy = true;
    } else w.busy = false;
  };
  for (const w of workers) feed(w);
  let seen = 0;
  try {
    while (finished < tasks.length) {
      Atomics.wait(signal, 0, seen, 60_000);
      seen = Atomics.load(signal, 0);
      for (const w of workers) {
        for (let m = receiveMessageOnPort(w.port); m !== undefined; m = receiveMessageOnPort(w.port)) {
          const reply = m.message as Reply<O>;
          if ('error' in reply) throw new Error(`ulp paper: a worker failed on ${tasks[reply.index]?.scenario ?? '?'}: ${reply.error}`);
          out[reply.index] = reply.outcome;
          finished++;
          onDone(reply.index);
          feed(w);
        }
      }
    }
  } finally {
    for (const w of workers) {
      w.port.postMessage('exit');
      w.port.close();
    }
  }
  return out as O[];
}
