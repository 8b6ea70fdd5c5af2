/**
 * The one bulk-transfer check every organization's suite makes (library, in-kernel, single
 * server): 1 MB each way at once between the pair's two hosts, one sender writing 4096 bytes at a
 * time and the other 1000, each byte checked by the receiver. Returns the tasks for the suite's own
 * further checks.
 */
import { expect } from 'vitest';
import type { GuestParams, GuestProgram } from '../../kernel/abi/guest.ts';
import type { Task } from '../../kernel/kernel.ts';
import { logField } from '../../studies/scenarios/hosts.ts';
import type { World } from '../../studies/world.ts';

export interface BulkPair<H extends { readonly ip: number }> {
  readonly a: H;
  readonly b: H;
  spawn(h: H, name: string, program: GuestProgram, params?: GuestParams): Task;
}

export function bulkBothWays<H extends { readonly ip: number }>(
  w: World,
  pair: BulkPair<H>,
  programs: { readonly sender: GuestProgram; readonly receiver: GuestProgram },
  logs: (...ts: Task[]) => string,
): { ra: Task; rb: Task; ta: Task; tb: Task } {
  const { sender, receiver } = programs;
  const rb = pair.spawn(pair.b, 'rx-b', receiver, { port: 5001 });
  const ra = pair.spawn(pair.a, 'rx-a', receiver, { port: 5002 });
  const ta = pair.spawn(pair.a, 'tx-a', sender, { peerIp: pair.b.ip, port: 5001, bytes: 1 << 20, writeSize: 4096, startDelayNs: 1_000_000 });
  const tb = pair.spawn(pair.b, 'tx-b', sender, { peerIp: pair.a.ip, port: 5002, bytes: 1 << 20, writeSize: 1000, startDelayNs: 1_000_000 });
  w.sched.runUntil(() => !rb.alive && !ra.alive && !ta.alive && !tb.alive, { nsMax: 300e9 });
  for (const r of [ra, rb]) {
    expect(logField(r, 'received'), logs(r, ta, tb)).toBe(1 << 20);
    expect(logField(r, 'bad')).toBe(0);
  }
  return { ra, rb, ta, tb };
}
