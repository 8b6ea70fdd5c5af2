/** The driver development kit (docs/devkit.md): one import for a driver test. */
export { Backdoor, createDevkit, Devkit, DEVKIT_DUT_MAC, DEVKIT_PEER_MAC, IRQ_STORM_RUNS } from './devkit.ts';
export type { DevkitAn1Options, DevkitLanceOptions, DevkitOptions, Limit } from './devkit.ts';
export { LanceKit, CSR0, CSR3, MODE, RMD1, TMD1, TMD3, PMAD, bcnt } from './lance-kit.ts';
export type { Descriptor, InitBlock, LanceRegister } from './lance-kit.ts';
export { An1Kit, AN1_REGS, AN1_BQI, AN1_CSR, AN1_ISR, AN1_RXC_EMPTY, AN1_RXST, decodeCompletion } from './an1-kit.ts';
export type { An1Register, An1BqiRegister, Completion } from './an1-kit.ts';
export { AccessLog, formatAccess, type RegisterAccess } from './access-log.ts';
export { EthernetPeer, An1Peer, PEER_QUEUE_MAX, ethernetFrame, type Arrival, type FcsMode } from './peers.ts';
export { DataCache, R3000_DCACHE_BYTES } from './dcache.ts';
export { registerPages, type RegisterPage } from './register-pages.ts';
export { loggedOption, tapHostOptions } from './tap.ts';
