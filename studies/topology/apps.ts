/**
 * The app catalogue of topology files: the paper's benchmark programs (userland/apps/ttcp.ts),
 * which are written once against SocketApi and so run on every organization (the library, the
 * in-kernel Ultrix-like stack, the Mach/UX-like single server). Each entry declares its
 * parameters as data (the same ParamSpec as the built-in scenarios: type, default, range, unit,
 * description), whether it connects to a peer or listens, and how its log line becomes results.
 *
 * A `peer` is not a ParamSpec of the catalogue: it names a host of the file, so its allowed
 * values are the file's hosts (studies/topology/topology.ts adds it per file).
 */
import type { GuestProgram } from '../../kernel/abi/guest.ts';
import type { Task } from '../../kernel/kernel.ts';
import { connSetupTimerWith, echoServerWith, pingClientWith, ttcpReceiverWith, ttcpSenderWith } from '../../userland/apps/ttcp.ts';
import type { SocketOpener } from '../../userland/netlib/socket-api.ts';
import { logFields } from '../scenarios/hosts.ts';
import type { ParamSpec, ParamValues } from '../scenarios/params.ts';
import type { Results, ResultValue } from '../scenarios/types.ts';

export type Role = 'client' | 'server';

export interface CatalogueApp {
  readonly name: string;
  readonly summary: string;
  /** A client connects to `peer:port`; a server listens on `port`. */
  readonly role: Role;
  /** Parameters besides `peer` (a client's), each with its default and range. */
  readonly params: readonly ParamSpec[];
  /** How many connections this app makes (a client) or accepts (a server), given its parameters. */
  connections(p: ParamValues): number;
  /** The program over one organization's sockets. */
  program(open: SocketOpener): GuestProgram;
  /** The task's parameters from the app's (peerIp added by the builder for a client). */
  guestParams(p: ParamValues): Record<string, number>;
  /** The app's figures from its finished task's log (null where the program logged none). */
  results(task: Task): Results;
}

const PORT_DOC = 'TCP port';
const port = (dflt: number, doc: string): ParamSpec => ({ name: 'port', type: 'int', default: dflt, min: 1, max: 65_535, unit: '', doc });

/** The last log line that has `key=`, as fields, or undefined. */
function lastLine(task: Task, key: string): Record<string, number> | undefined {
  for (let i = task.log.length - 1; i >= 0; i--) if (task.log[i]!.split(' ').some((f) => f.startsWith(`${key}=`))) return logFields(task.log[i]!);
  return undefined;
}

/** A finite figure or null. */
const fig = (x: number | undefined, scale = 1, digits = 3): ResultValue => (x === undefined || !Number.isFinite(x) ? null : Math.round((x / scale) * 10 ** digits) / 10 ** digits);

/** The first line of the program's log that reports a failure (`connect failed -61`, ...), if any. */
function errorOf(task: Task): { error?: string } {
  const l = task.log.find((x) => / failed |^read error /.test(x));
  return l === undefined ? {} : { error: l };
}

const num = (p: ParamValues, k: string): number => p[k] as number;

export const APPS: ReadonlyMap<string, CatalogueApp> = new Map<string, CatalogueApp>(
  ([
    {
      name: 'ttcp-sender',
      summary: 'ttcp sender: connect to peer:port, write `bytes` in writes of `writeSize`, close (P Table 2)',
      role: 'client',
      params: [
        port(5001, `${PORT_DOC} of the receiver`),
        { name: 'bytes', type: 'int', default: 1024 * 1024, min: 1, max: 64 * 1024 * 1024, unit: 'bytes', doc: 'user bytes to send' },
        { name: 'writeSize', type: 'int', default: 4096, min: 1, max: 65_536, unit: 'bytes', doc: 'bytes per write' },
        { name: 'startDelayNs', type: 'int', default: 1_000_000, min: 0, max: 10_000_000_000, unit: 'ns', doc: 'pause before connecting (the receiver must be listening)' },
      ],
      connections: () => 1,
      program: ttcpSenderWith,
      guestParams: (p) => ({ port: num(p, 'port'), bytes: num(p, 'bytes'), writeSize: num(p, 'writeSize'), startDelayNs: num(p, 'startDelayNs') }),
      results(task) {
        const l = lastLine(task, 'sent');
        return { sent: fig(l?.['sent'], 1, 0), elapsedMs: fig(l?.['ns'], 1e6), ...errorOf(task) };
      },
    },
    {
      name: 'ttcp-receiver',
      summary: 'ttcp receiver: accept one connection on port, read to EOF checking the byte pattern; throughput over the first-to-last read span (P Table 2)',
      role: 'server',
      params: [port(5001, `${PORT_DOC} to listen on`)],
      connections: () => 1,
      program: ttcpReceiverWith,
      guestParams: (p) => ({ port: num(p, 'port') }),
      results(task) {
        const l = lastLine(task, 'received');
        const span = (l?.['lastNs'] ?? Number.NaN) - (l?.['firstNs'] ?? Number.NaN);
        return {
          received: fig(l?.['received'], 1, 0),
          badBytes: fig(l?.['bad'], 1, 0),
          // As P Table 2 is measured (paper-table2-*): bytes after the first read over the first-to-last read span.
          throughputMbps: fig(((l?.['bytesAfterFirst'] ?? Number.NaN) * 8 * 1000) / Math.max(1, span)),
          ...errorOf(task),
        };
      },
    },
    {
      name: 'ping-client',
      summary: 'ping-pong client: `rounds` exchanges of `size` bytes with an echo server after `warmup` ones; mean round trip (P Table 3)',
      role: 'client',
      params: [
        port(7, `${PORT_DOC} of the echo server`),
        { name: 'size', type: 'int', default: 1, min: 1, max: 16_384, unit: 'bytes', doc: 'message size' },
        { name: 'rounds', type: 'int', default: 20, min: 1, max: 100_000, unit: 'rounds', doc: 'round trips averaged' },
        { name: 'warmup', type: 'int', default: 3, min: 0, max: 10_000, unit: 'rounds', doc: 'round trips before the measured ones' },
      ],
      connections: () => 1,
      program: pingClientWith,
      guestParams: (p) => ({ port: num(p, 'port'), size: num(p, 'size'), rounds: num(p, 'rounds'), warmup: num(p, 'warmup') }),
      results(task) {
        const l = lastLine(task, 'rtts');
        return { rounds: fig(l?.['rtts'], 1, 0), meanRttMs: fig(l?.['meanNs'], 1e6), ...errorOf(task) };
      },
    },
    {
      name: 'echo-server',
      summary: 'echo server: accept `conns` connections one after another on port, echo each until EOF',
      role: 'server',
      params: [
        port(7, `${PORT_DOC} to listen on`),
        { name: 'conns', type: 'int', default: 1, min: 1, max: 10_000, unit: 'connections', doc: 'connections to serve, one after another (each client\'s: a ping-client 1, a setup-timer its opens)' },
      ],
      connections: (p) => num(p, 'conns'),
      program: echoServerWith,
      guestParams: (p) => ({ port: num(p, 'port'), conns: num(p, 'conns') }),
      results(task) {
        return { served: task.log.includes('echo done'), ...errorOf(task) };
      },
    },
    {
      name: 'setup-timer',
      summary: 'connection set-up timer: `opens` active opens to a listener, each closed after; mean time of connect (P Table 4)',
      role: 'client',
      params: [
        port(7, `${PORT_DOC} of the listener`),
        { name: 'opens', type: 'int', default: 5, min: 1, max: 1000, unit: 'opens', doc: 'active opens averaged' },
        { name: 'settleNs', type: 'int', default: 20_000_000, min: 0, max: 1_000_000_000, unit: 'ns', doc: 'pause before each open (lets the previous close finish)' },
      ],
      connections: (p) => num(p, 'opens'),
      program: connSetupTimerWith,
      guestParams: (p) => ({ port: num(p, 'port'), opens: num(p, 'opens'), settleNs: num(p, 'settleNs') }),
      results(task) {
        const l = lastLine(task, 'opens');
        return { opens: fig(l?.['opens'], 1, 0), meanSetupMs: fig(l?.['totalUs'], 1000), ...errorOf(task) };
      },
    },
  ] satisfies CatalogueApp[]).map((a) => [a.name, a]),
);
