/**
 * Costs of the AN1 model and its kernel driver. Each constant says where its value comes from.
 */
import type { CostGroup } from './cost-table.ts';

export const AN1_COSTS = {} as const satisfies CostGroup;
