import { describe, expect, it } from 'vitest';
import { LIBRARY_COSTS } from '../../../emulator/host/costs/library-costs.ts';
import { LIB_COSTS } from '../../../userland/netlib/costs.ts';

describe('library costs', () => {
  it('the userland mirror equals the cost table', () => {
    for (const [k, v] of Object.entries(LIB_COSTS)) expect(LIBRARY_COSTS[`lib.${k}` as keyof typeof LIBRARY_COSTS]?.value, k).toBe(v);
    expect(Object.keys(LIBRARY_COSTS).length).toBe(Object.keys(LIB_COSTS).length);
  });
});
