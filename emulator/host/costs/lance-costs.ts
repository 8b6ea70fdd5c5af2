/**
 * Costs of the LANCE model and its kernel driver. Each constant says where its value comes from.
 */
import type { CostGroup } from './cost-table.ts';

export const LANCE_COSTS = {} as const satisfies CostGroup;
