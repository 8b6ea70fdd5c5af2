/**
 * Test worlds for the network I/O module: two Ethernet hosts (A, B) or two AN1 hosts on one
 * link, each with its kernel, driver and module, plus helpers to build frames and channel specs
 * and to watch what leaves a host.
 */
import { KERN } from '../../kernel/abi/errors.ts';
import { encodeChannelSpec, NETIO_LINK, type NetioChannelSpec } from '../../kernel/abi/netio.ts';
import { EthernetSegment } from '../../emulator/net/ethernet-segment.ts';
import type { PcapWriter } from '../../emulator/net/pcap.ts';
import { msToNs } from '../../emulator/sim/time.ts';
import { addNetioAn1Host, addNetioEthernetHost, connectAn1, type NetioAn1Host, type NetioEthernetHost } from '../../studies/scenarios/hosts.ts';
import { World } from '../../studies/world.ts';
import type { Kernel } from '../../kernel/kernel.ts';
import { Puppet } from '../kernel/harness.ts';

export const ET = 0x88b5;
export const MAC_A = Uint8Array.of(8, 0, 0x2b, 0, 0, 0xa);
export const MAC_B = Uint8Array.of(8, 0, 0x2b, 0, 0, 0xb);
export const MAC_C = Uint8Array.of(8, 0, 0x2b, 0, 0, 0xc);

export interface EthWorld {
  readonly world: World;
  readonly segment: EthernetSegment;
  readonly a: NetioEthernetHost;
  readonly b: NetioEthernetHost;
  /** Frames seen leaving each station (DA..data, FCS stripped), in order. */
  readonly sent: Map<string, Uint8Array[]>;
}

export function ethWorld(seed = 1): EthWorld {
  const world = new World({ seed, traceOn: false });
  const segment = new EthernetSegment(world, { name: 'e0' });
  const a = addNetioEthernetHost(world, segment, 'A', MAC_A);
  const b = addNetioEthernetHost(world, segment, 'B', MAC_B);
  const sent = new Map<string, Uint8Array[]>([
    ['A', []],
    ['B', []],
  ]);
  segment.taps.on('frame', (port, dir, _t, frame) => {
    if (dir === 'tx') sent.get(port)?.push(frame.slice(0, frame.length - 4));
  });
  world.sched.runUntil(() => a.up && b.up, { nsMax: msToNs(10) });
  return { world, segment, a, b, sent };
}

export interface An1World {
  readonly world: World;
  readonly a: NetioAn1Host;
  readonly b: NetioAn1Host;
  /** Frames that left A (link header..data, CRC stripped). */
  readonly sentA: Uint8Array[];
}

export function an1World(seed = 1): An1World {
  const world = new World({ seed, traceOn: false });
  const a = addNetioAn1Host(world, 'A', 0x08002b_00000a);
  const b = addNetioAn1Host(world, 'B', 0x08002b_00000b);
  const link = connectAn1(world, a, b);
  const sentA: Uint8Array[] = [];
  link.capture(0, { record: (_t: number, f: Uint8Array) => void sentA.push(f.slice()) } as unknown as PcapWriter);
  world.sched.runUntil(() => a.up && b.up, { nsMax: msToNs(10) });
  return { world, a, b, sentA };
}

/** Raw Ethernet spec: template dst/src/type; inbound key (ET, peer). */
export function rawEthSpec(me: Uint8Array, peer: Uint8Array, extra: Partial<NetioChannelSpec> = {}): NetioChannelSpec {
  return {
    demux: { kind: 'raw', etherType: ET, srcMac: peer },
    isDefault: false,
    template: [
      { offset: 0, bytes: peer },
      { offset: 6, bytes: me },
      { offset: 12, bytes: Uint8Array.of(ET >>> 8, ET & 0xff) },
    ],
    ...extra,
  };
}

export function rawFrame(dst: Uint8Array, src: Uint8Array, length: number, fill = 0x5a, et = ET): Uint8Array {
  const f = new Uint8Array(length).fill(fill);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = et >>> 8;
  f[13] = et & 0xff;
  return f;
}

/** A privileged puppet holding the module's privileged port (`priv`). */
export function registry(world: World, host: { readonly kernel: Kernel }): { p: Puppet; priv: number } {
  const p = new Puppet(world, host.kernel, 'registry', { privileged: true });
  const hp = p.call('task_get_special_port', { which: 5 });
  if (hp === 'blocked' || hp === 'dead' || hp.kr !== KERN.SUCCESS) throw new Error('no host-priv port');
  const r = p.call('net_priv_port', { hostPriv: hp.name });
  if (r === 'blocked' || r === 'dead' || r.kr !== KERN.SUCCESS) throw new Error('no netio port');
  return { p, priv: r.name };
}

export interface Grant {
  readonly kr: number;
  readonly name: number;
  readonly address: number;
  readonly sem: number;
  readonly region: number;
  readonly bqi: number;
}

/** net_channel_create through the registry puppet for owner task port `task` (0 = the registry itself). */
export function createVia(reg: { p: Puppet; priv: number }, spec: NetioChannelSpec, o: { task?: number; link?: 'ethernet' | 'an1'; rxSlots?: number; txPages?: number } = {}): Grant {
  const r = reg.p.call('net_channel_create', {
    priv: reg.priv,
    task: o.task ?? 0,
    link: NETIO_LINK[o.link ?? 'ethernet'],
    rxSlots: o.rxSlots ?? 8,
    txPages: o.txPages ?? 1,
    spec: encodeChannelSpec(spec),
  });
  if (r === 'blocked' || r === 'dead') throw new Error(`net_channel_create ${r}`);
  return r;
}

export const txOffset = (rxSlots: number): number => (1 + rxSlots) * 4096;
