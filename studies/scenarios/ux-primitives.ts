/**
 * `ux-primitives`: the rows of MB93 Table 4's "Mach 3.0 + UX server" column that the single
 * server's costs (emulator/host/costs/ux-costs.ts) are calibrated on, measured on two hosts of
 * the single-server organization (ux-hosts.ts) from simulated clock reads:
 *   send entry (trap + RPC): the application's clock just before write → the server's clock as
 *     protocol output begins (socket layer done), for 1-byte and 1472-byte writes;
 *   wake user thread: the receiving server's clock as it finds data for a parked read → the
 *     application's clock as its read returns (1 byte).
 * Each figure is a mean over `rounds` messages sent one every 250 ms on idle hosts. A clock read is
 * a trap (6.4 µs): each interval holds about half of one (where its sample falls inside the trap).
 */
import type { Task } from '../../kernel/kernel.ts';
import { primitivesReceiverWith, primitivesSenderWith } from '../../userland/apps/ux-primitives.ts';
import { uxSockets } from '../../userland/ux/ux-sockets.ts';
import type { World } from '../world.ts';
import { paramReader, type ParamSpec } from './params.ts';
import type { Results, Scenario } from './types.ts';

const PARAMS: readonly ParamSpec[] = [{ name: 'rounds', type: 'int', default: 10, min: 1, max: 1000, unit: 'messages', doc: 'messages of each size, one every 250 ms' }];
import { buildUxPair } from './ux-hosts.ts';
import { logFields } from './hosts.ts';

const probes = (t: Task, key: string): number[] => t.log.filter((l) => l.startsWith(`ux: probe ${key}=`)).map((l) => logFields(l.slice('ux: probe '.length))[key]!);
const mean = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
const us1 = (ns: number): number => Math.round(ns / 100) / 10;

export interface UxPrimitives {
  readonly sendEntry1Us: number;
  readonly sendEntry1472Us: number;
  readonly wake1Us: number;
}

export function measureUxPrimitives(world: World, rounds = 10): UxPrimitives {
  const pair = buildUxPair(world, { prefix: 'uxp', probe: true });
  const rx = pair.spawn(pair.b, 'rx', primitivesReceiverWith(uxSockets), { port: 9 });
  const tx = pair.spawn(pair.a, 'tx', primitivesSenderWith(uxSockets), { peerIp: pair.b.ip, port: 9, rounds, size0: 1, size1: 1472 });
  world.sched.runUntil(() => !rx.alive && !tx.alive, { nsMax: Math.max(60_000_000_000, rounds * 600_000_000) });
  const writes = tx.log.filter((l) => l.startsWith('w ')).map(logFields);
  const outAt = probes(pair.a.server!, 'tcpOutputAt');
  if (writes.length !== 2 * rounds || outAt.length !== writes.length) throw new Error(`ux-primitives: ${writes.length} writes, ${outAt.length} probes`);
  const entry = (size: number): number => mean(writes.map((w, i) => ({ w, at: outAt[i]! })).filter((x) => x.w['size'] === size).map((x) => x.at - x.w['t0']!));
  // Wake-up: the 1-byte messages (each read returns one of them whole).
  const reads = rx.log.filter((l) => l.startsWith('r ')).map(logFields);
  const readyAt = probes(pair.b.server!, 'readReadyAt');
  const wakes: number[] = [];
  for (let i = 0; i < Math.min(rounds, reads.length, readyAt.length); i++) if (reads[i]!['n'] === 1) wakes.push(reads[i]!['t']! - readyAt[i]!);
  return { sendEntry1Us: us1(entry(1)), sendEntry1472Us: us1(entry(1472)), wake1Us: us1(mean(wakes)) };
}

/**
 * MB93 Table 4, Mach 3.0 + UX server column, TCP (µs; ranges as [low, high]; mb93-table4.json):
 * entry/copyin 254 at 1 B and 579 at 1460 B, so 582 at 1472 B along its slope; the interval from
 * the data found for the read to the read returning is the copyout/exit row, 222 at 1 B (the
 * wake-up of the server thread, 194–213, comes before it: ux.sorwakeupCycles). Scenario
 * mb93-layers measures every row.
 */
export const MB93_UX = { sendEntry1Us: 254, sendEntry1472Us: 582, wake1Us: [194, 274] } as const;

export const uxPrimitivesScenario: Scenario = {
  name: 'ux-primitives',
  summary: 'MB93 Table 4, Mach 3.0 + UX server column: send entry (1 B, 1472 B) and wake user thread, measured on the single-server organization (µs)',
  paper: { sendEntry1Us: MB93_UX.sendEntry1Us, sendEntry1472Us: MB93_UX.sendEntry1472Us, wake1Us: 234 },
  params: PARAMS,
  run(world, options) {
    const m = measureUxPrimitives(world, paramReader(PARAMS, options.params).num('rounds'));
    return { ...m } satisfies Results;
  },
};
