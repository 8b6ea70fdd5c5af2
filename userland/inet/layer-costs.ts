/**
 * Per-layer CPU charges of the BSD protocol code, for the organizations that link this engine
 * (the library, the registry server, the single server). One frame's work is charged layer by
 * layer, each under its own accounting category named after MB93 Table 4's row — 'tcp_output',
 * 'ip_output', 'ether_output' (the link header only: the device path charges the rest),
 * 'mbuf_queue', 'ipintr', 'tcp_input' — so a scenario reads the layers from the CPU's cycles by
 * category (studies/scenarios/mb93-layers.ts). Sans-I/O: the caller passes its `spend`.
 *
 * UDP datagrams are charged 'udp_output' / 'udp_input' instead of the TCP layers (MB93's UDP rows).
 *
 * A layer costs a fixed part plus a part per TCP (UDP) data byte (the checksum and the mbuf work grow
 * with the data; MB93's two sizes give both), in whole cycles. Frames that carry no TCP (ARP) pay the link and IP
 * fixed parts only.
 */

export type LayerCategory = 'tcp_output' | 'udp_output' | 'ip_output' | 'ether_output' | 'mbuf_queue' | 'ipintr' | 'tcp_input' | 'udp_input';

export interface ProtocolLayerCosts {
  readonly tcpOutputCycles: number;
  readonly tcpOutputCyclesPerByte: number;
  readonly ipOutputCycles: number;
  readonly linkCycles: number;
  readonly mbufQueueCycles: number;
  readonly ipintrCycles: number;
  readonly tcpInputCycles: number;
  readonly tcpInputCyclesPerByte: number;
  readonly udpOutputCycles: number;
  readonly udpOutputCyclesPerByte: number;
  readonly udpInputCycles: number;
  readonly udpInputCyclesPerByte: number;
}

export type LayerSpend = (cycles: number, category: LayerCategory) => void;

const IPV4 = 0x0800;
const TCP = 6;
const UDP = 17;

/**
 * What a frame carries above its link header: 'tcp' with its data length, 'ip' (another protocol)
 * or 'other' (ARP, garbage). Reads only what it checks is there; never throws.
 */
export function frameLayers(frame: Uint8Array, linkHeaderBytes: number): { readonly kind: 'tcp' | 'udp' | 'ip' | 'other'; readonly dataBytes: number } {
  const ipAt = linkHeaderBytes;
  if (frame.length < ipAt + 20) return { kind: 'other', dataBytes: 0 };
  if (linkHeaderBytes === 14 && ((frame[12]! << 8) | frame[13]!) !== IPV4) return { kind: 'other', dataBytes: 0 };
  if (frame[ipAt]! >>> 4 !== 4) return { kind: 'other', dataBytes: 0 };
  const ihl = (frame[ipAt]! & 0xf) * 4;
  const total = Math.min((frame[ipAt + 2]! << 8) | frame[ipAt + 3]!, frame.length - ipAt);
  if (frame[ipAt + 9] === UDP && total >= ihl + 8) return { kind: 'udp', dataBytes: total - ihl - 8 };
  if (frame[ipAt + 9] !== TCP || total < ihl + 20) return { kind: 'ip', dataBytes: 0 };
  const doff = (frame[ipAt + ihl + 12]! >>> 4) * 4;
  return { kind: 'tcp', dataBytes: Math.max(0, total - ihl - doff) };
}

/** tcp_output, ip_output and the link header of one frame the engine sent. */
export function chargeOutput(spend: LayerSpend, c: ProtocolLayerCosts, frame: Uint8Array, linkHeaderBytes: number): void {
  const l = frameLayers(frame, linkHeaderBytes);
  if (l.kind === 'tcp') spend(Math.round(c.tcpOutputCycles + c.tcpOutputCyclesPerByte * l.dataBytes), 'tcp_output');
  else if (l.kind === 'udp') spend(Math.round(c.udpOutputCycles + c.udpOutputCyclesPerByte * l.dataBytes), 'udp_output');
  if (l.kind !== 'other') spend(c.ipOutputCycles, 'ip_output');
  spend(c.linkCycles, 'ether_output');
}

/** mbuf/queue, ipintr and tcp_input of one frame taken in. */
export function chargeInput(spend: LayerSpend, c: ProtocolLayerCosts, frame: Uint8Array, linkHeaderBytes: number): void {
  const l = frameLayers(frame, linkHeaderBytes);
  spend(c.mbufQueueCycles, 'mbuf_queue');
  if (l.kind !== 'other') spend(c.ipintrCycles, 'ipintr');
  if (l.kind === 'tcp') spend(Math.round(c.tcpInputCycles + c.tcpInputCyclesPerByte * l.dataBytes), 'tcp_input');
  else if (l.kind === 'udp') spend(Math.round(c.udpInputCycles + c.udpInputCyclesPerByte * l.dataBytes), 'udp_input');
}
