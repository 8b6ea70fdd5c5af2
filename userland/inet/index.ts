/**
 * userland/inet: the sans-I/O TCP/IP/ARP engine (wire formats, ARP, IPv4, TCP, host stack).
 * Imports nothing outside this folder; see docs/tcp-engine.md.
 */
export * from './result.ts';
export * from './checksum.ts';
export { Seq32 } from './seq32.ts';
export * from './ethernet.ts';
export * from './an1.ts';
export * from './arp.ts';
export * from './ipv4.ts';
export {
  TCP_HEADER_LEN, TCP_PROTOCOL, TcpFlag, TcpView, parseTcp, emitTcp, tcpBufferLen, tcpHeaderLen,
  segmentSeqLen, flagsToString,
} from './tcp-wire.ts';
export type { TcpRepr, TcpParseOptions } from './tcp-wire.ts';
export * from './byte-ring.ts';
export * from './udp-wire.ts';
export * from './icmp.ts';
export * from './arp-cache.ts';
export * from './tcp.ts';
export * from './host-stack.ts';
export * from './layer-costs.ts';
