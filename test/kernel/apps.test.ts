import { describe, expect, it } from 'vitest';
import { echoClient, echoServer } from '../../userland/apps/message-exchange.ts';
import { findScenario, runScenario } from '../../studies/run.ts';
import { boot } from './harness.ts';

describe('example app and kernel-primitives', () => {
  it('two tasks exchange messages over a port found through the bootstrap service', () => {
    const { world, kernel } = boot(3, true);
    const client = kernel.spawn('echo-client', echoClient, { params: { rounds: 6 } });
    const server = kernel.spawn('echo-server', echoServer);
    world.sched.runUntil(() => !client.alive && !server.alive, { nsMax: 1e9 });
    expect(client.exit).toEqual({ kind: 'exit', code: 0 });
    expect(server.exit).toEqual({ kind: 'exit', code: 0 });
    expect(client.log).toEqual(['echo client: 6/6 replies correct']);
    expect(server.log).toEqual(['echo server: served 6']);
    expect(kernel.ipc.kmsgsLive).toBe(0);
    expect(world.trace.guestErrorsTotal).toBe(0);
  });

  it('kernel-primitives reports every figure, deterministically', () => {
    const s = findScenario('kernel-primitives');
    const a = runScenario(s, { seed: 7 });
    const b = runScenario(s, { seed: 7 });
    expect(a.fingerprint).toBe(b.fingerprint);
    const r = a.results as Record<string, unknown>;
    expect(r['outcome']).toBe('done');
    for (const k of ['nullTrapUs', 'nullRpcUs', 'contextSwitchUs', 'cthreadSwitchUs', 'semaphoreWakeupUs']) {
      expect(typeof r[k]).toBe('number');
      expect(r[k] as number).toBeGreaterThan(0);
    }
    // The orders of magnitude the kernel must keep: user switch << kernel switch << RPC.
    expect(r['cthreadSwitchUs'] as number).toBeLessThan(r['contextSwitchUs'] as number);
    expect(r['nullRpcUs'] as number).toBeGreaterThan(55);
    expect(r['nullRpcUs'] as number).toBeLessThan(100);
    // The RPC switches by stack hand-off, cheaper than a full context switch.
    expect(r['handoffs'] as number).toBeGreaterThan(300);
  });
});
