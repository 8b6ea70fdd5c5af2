/**
 * Mutants of the guarded code, for testing the campaign itself (`ulp fuzz --mutant NAME`): each
 * breaks one protection in the running process, the way test/system/isolation/mutants.mjs does
 * in the sources, so a test can check that the campaign reports the violation and that its replay
 * line reproduces it. Never applied unless asked for.
 */
import { NetIo } from '../../kernel/netio/netio.ts';
import type { TemplateMatcher } from '../../kernel/netio/template.ts';

type NetIoWithCreate = { createChannel: (...args: unknown[]) => { channel?: { matcher: TemplateMatcher } } };

export const MUTANTS: Readonly<Record<string, { readonly what: string; apply(): void }>> = {
  'netio-template-unchecked': {
    what: "net_send's header template check always passes (any header leaves the host)",
    apply(): void {
      const proto = NetIo.prototype as unknown as NetIoWithCreate;
      const create = proto.createChannel;
      proto.createChannel = function (this: unknown, ...args: unknown[]) {
        const r = create.apply(this, args);
        const m = r.channel?.matcher;
        if (r.channel !== undefined && m !== undefined) {
          r.channel.matcher = Object.assign((_f: Uint8Array, _n: number) => -1, { template: m.template, words: m.words }) as unknown as TemplateMatcher;
        }
        return r;
      };
    },
  },
};

const applied = new Set<string>();

/** Apply mutant `name` in this thread (once). */
export function applyMutant(name: string): void {
  const m = MUTANTS[name];
  if (m === undefined) throw new Error(`unknown mutant '${name}'`);
  if (applied.has(name)) return;
  applied.add(name);
  m.apply();
}
