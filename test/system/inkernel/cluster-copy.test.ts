/**
 * P §4: Ultrix avoids a copy only for user writes of 1024 bytes or more (clusters, shared by
 * tcp_output's m_copy); smaller writes sit in small mbufs, which tcp_output copies for every
 * segment. The monolithic kernel's tcp_output cycles per data byte show it, and only because of
 * inkernel.clusterWriteBytes (a what-if at 0 removes the difference).
 */
import { describe, expect, it } from 'vitest';
import { buildKernelPair } from '../../../studies/scenarios/inkernel-hosts.ts';
import { World } from '../../../studies/world.ts';
import { ttcpReceiverWith, ttcpSenderWith } from '../../../userland/apps/ttcp.ts';
import { kernelSockets } from '../../../userland/netlib/kernel-sockets.ts';

const BYTES = 64 * 1024;

/** tcp_output cycles per data byte on the sender, for one bulk transfer in writes of `writeSize`. */
function tcpOutputPerByte(writeSize: number, clusterWriteBytes?: number): number {
  const w = new World({ seed: 5, traceOn: false });
  if (clusterWriteBytes !== undefined) w.costs.override('inkernel.clusterWriteBytes', clusterWriteBytes);
  const pair = buildKernelPair(w, 'ethernet');
  const rx = pair.spawn(pair.b, 'rx', ttcpReceiverWith(kernelSockets), { port: 5001 });
  const tx = pair.spawn(pair.a, 'tx', ttcpSenderWith(kernelSockets), { peerIp: pair.b.ip, port: 5001, bytes: BYTES, writeSize, startDelayNs: 1_000_000 });
  w.sched.runUntil(() => !rx.alive && !tx.alive, { nsMax: 30e9 });
  expect(rx.log.some((l) => l.startsWith(`received=${BYTES} bad=0`)), rx.log.join(' | ')).toBe(true);
  const fixed = w.costs.get('inkernel.tcpOutputCycles');
  const segments = pair.a.net.stats.framesOut;
  return ((pair.a.hostCpu.cyclesByCategory.get('tcp_output') ?? 0) - fixed * segments) / BYTES;
}

describe('monolithic kernel: the copy Ultrix avoids only for writes of 1024 bytes or more', () => {
  it('512-byte writes cost tcp_output about one more copy a byte than 1024-byte writes', () => {
    const small = tcpOutputPerByte(512);
    const large = tcpOutputPerByte(1024);
    expect(small - large).toBeGreaterThan(0.8);
    expect(small - large).toBeLessThan(1.6);
  });

  it('without the threshold (what-if 0) the two write sizes cost the same', () => {
    expect(Math.abs(tcpOutputPerByte(512, 0) - tcpOutputPerByte(1024, 0))).toBeLessThan(0.1);
  });
});
