/**
 * A guest program's parameters (what exec's argv is to a C program): typed reads with defaults.
 * A missing or wrongly typed parameter reads as the default, never throws.
 */
export type Params = Readonly<Record<string, unknown>>;

/** Number parameter `k`, or `d`. */
export const num = (p: Params, k: string, d: number): number => (typeof p[k] === 'number' ? (p[k] as number) : d);

/** String parameter `k`, or ''. */
export const str = (p: Params, k: string): string => (typeof p[k] === 'string' ? (p[k] as string) : '');
