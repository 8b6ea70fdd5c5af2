/**
 * The LANCE driver test of docs/devkit.md, as printed there: written from the Am7990 data sheet's
 * programming sequence (stop, CSR3, init block and rings, CSR1/2, INIT, IDON, STRT; transmit with
 * OWN last and TDMD; receive into an owned buffer). Keep the two in step.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { createDevkit, CSR0, DEVKIT_PEER_MAC, ethernetFrame, RMD1, TMD1 } from '../../../emulator/devkit/index.ts';

it('tutorial: a frame out and a frame in, programmed as the datasheet says', () => {
  const kit = createDevkit({ lance: true });
  const lance = kit.lance;
  const me = lance.stationAddress();
  const RX = 0x40, TX = 0x80; // rings: 8-byte aligned LANCE addresses in the board's buffer
  lance.write('CSR0', CSR0.STOP);
  lance.write('CSR3', 0); // the PMAD-AA requires CSR3 = 0
  lance.writeInitBlock(0, { padr: me, rx: { base: RX, log2: 2 }, tx: { base: TX, log2: 2 } });
  for (let i = 0; i < 4; i++) lance.writeDescriptor(RX, i, { addr: 0x1000 + 0x600 * i, length: 0x600, flags: RMD1.OWN });
  for (let i = 0; i < 4; i++) lance.writeDescriptor(TX, i, { addr: 0x4000 + 0x600 * i, length: 0x600, flags: 0 });
  lance.write('CSR1', 0); // init block at LANCE address 0
  lance.write('CSR2', 0);
  lance.write('CSR0', CSR0.INIT);
  expect(kit.untilCsr0(CSR0.IDON, { nsMax: 1_000_000 })).toBe(true);
  lance.write('CSR0', CSR0.IDON | CSR0.STRT | CSR0.INEA);
  expect(lance.read('CSR0') & (CSR0.TXON | CSR0.RXON)).toBe(CSR0.TXON | CSR0.RXON);

  const out = ethernetFrame(DEVKIT_PEER_MAC, me, 60);
  lance.writeBytes(0x4000, out);
  lance.writeDescriptor(TX, 0, { addr: 0x4000, length: 60, flags: TMD1.OWN | TMD1.STP | TMD1.ENP });
  lance.write('CSR0', CSR0.INEA | CSR0.TDMD);
  expect(kit.untilInterrupt({ nsMax: 2_000_000 })).toBe(true);
  expect(lance.read('CSR0') & (CSR0.TINT | CSR0.INTR)).toBe(CSR0.TINT | CSR0.INTR);
  expect(lance.readDescriptor(TX, 0).flags & (TMD1.OWN | TMD1.ERR)).toBe(0);
  expect(kit.untilPeerReceived(1, { nsMax: 10_000 })).toBe(true); // TINT comes before the last bit reaches the peer
  expect(kit.ethernetPeer.frames[0]!.subarray(0, 60)).toEqual(out);

  lance.write('CSR0', CSR0.TINT | CSR0.INEA);
  kit.ethernetPeer.send(ethernetFrame(me, DEVKIT_PEER_MAC, 100)); // the peer appends the FCS
  expect(kit.untilCsr0(CSR0.RINT, { nsMax: 2_000_000 })).toBe(true);
  const d = lance.readDescriptor(RX, 0);
  expect(d.flags & (RMD1.OWN | RMD1.ERR | RMD1.STP | RMD1.ENP)).toBe(RMD1.STP | RMD1.ENP);
  expect(d.word3 & 0xfff).toBe(104); // MCNT counts the FCS
  expect(lance.readBytes(0x1000, 100)).toEqual(ethernetFrame(me, DEVKIT_PEER_MAC, 100));
  expect(kit.guestErrorCount).toBe(0);
});

it('docs/devkit.md prints this test as it is', () => {
  const self = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const body = self.slice(self.indexOf("it('tutorial"), self.indexOf("\nit('docs/devkit.md")).trimEnd();
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/devkit.md', import.meta.url)), 'utf8');
  expect(body.length).toBeGreaterThan(1000);
  expect(doc).toContain(body);
});
