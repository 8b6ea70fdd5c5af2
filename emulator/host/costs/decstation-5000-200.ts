/**
 * The DECstation 5000/200 cost table: the union of every component's cost group. Each group file
 * belongs to one component; each constant says where its value comes from.
 */
import { CostTable, type CostGroup } from './cost-table.ts';
import { CPU_COSTS } from './cpu-costs.ts';
import { KERNEL_COSTS } from './kernel-costs.ts';
import { LANCE_COSTS } from './lance-costs.ts';
import { AN1_COSTS } from './an1-costs.ts';
import { NETIO_COSTS } from './netio-costs.ts';
import { LIBRARY_COSTS } from './library-costs.ts';
import { UX_SERVER_COSTS } from './ux-costs.ts';
import { INKERNEL_COSTS } from './inkernel-costs.ts';

export const DECSTATION_5000_200_COST_GROUPS: readonly CostGroup[] = [CPU_COSTS, KERNEL_COSTS, LANCE_COSTS, AN1_COSTS, NETIO_COSTS, LIBRARY_COSTS, INKERNEL_COSTS, UX_SERVER_COSTS];

export function decstationCostTable(): CostTable {
  return new CostTable(DECSTATION_5000_200_COST_GROUPS);
}
