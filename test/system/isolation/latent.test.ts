/**
 * Issue 13's latent holes: vm_protect with setMax never raises a maximum protection (Mach:
 * KERN_PROTECTION_FAILURE); Kernel.endTask refuses a task of another kernel. (The AN1 template's
 * DST_SHORT: templates.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { KERN } from '../../../kernel/abi/errors.ts';
import { VM_PROT } from '../../../kernel/abi/message.ts';
import { World } from '../../../studies/world.ts';
import { boot, Puppet } from '../../kernel/harness.ts';

const ok = <T>(r: T | 'blocked' | 'dead'): T => {
  if (r === 'blocked' || r === 'dead') throw new Error(`call ${r}`);
  return r;
};

describe('latent holes', () => {
  it('vm_protect(setMax) lowers a maximum but never raises it; current stays within it', () => {
    const { world, kernel } = boot(71);
    const p = new Puppet(world, kernel, 'p');
    const a = ok(p.call('vm_allocate', { address: 0, size: 8192, anywhere: true })).address;
    expect(ok(p.call('vm_protect', { address: a, size: 8192, setMax: true, prot: VM_PROT.READ })).kr).toBe(KERN.SUCCESS);
    expect(ok(p.call('vm_protect', { address: a, size: 8192, setMax: true, prot: VM_PROT.READ | VM_PROT.WRITE })).kr).toBe(KERN.PROTECTION_FAILURE);
    expect(ok(p.call('vm_protect', { address: a, size: 4096, setMax: true, prot: VM_PROT.ALL })).kr).toBe(KERN.PROTECTION_FAILURE);
    expect(ok(p.call('vm_protect', { address: a, size: 8192, setMax: false, prot: VM_PROT.READ | VM_PROT.WRITE })).kr).toBe(KERN.PROTECTION_FAILURE);
    const m = p.task.map.lookup(a)!;
    expect([m.prot, m.maxProt]).toEqual([VM_PROT.READ, VM_PROT.READ]);
    // A refusal changes nothing on any page of the range (validated before applied).
    expect(ok(p.call('vm_protect', { address: a, size: 8192, setMax: true, prot: VM_PROT.NONE })).kr).toBe(KERN.SUCCESS);
    expect(p.task.map.lookup(a)!.maxProt).toBe(VM_PROT.NONE);
  });

  it('endTask refuses a task that belongs to another kernel', () => {
    const world = new World({ seed: 72, traceOn: false });
    const k1 = world.bootKernel(world.addHost('h1'));
    const k2 = world.bootKernel(world.addHost('h2'));
    const t = new Puppet(world, k2, 'victim').task;
    // Same id on both kernels: ids are per kernel, so only identity tells them apart.
    new Puppet(world, k1, 'other');
    expect(() => k1.endTask(t, { kind: 'killed', by: 'test' })).toThrow(/does not belong/);
    expect(t.alive).toBe(true);
    k2.endTask(t, { kind: 'killed', by: 'test' });
    expect(t.alive).toBe(false);
  });
});
